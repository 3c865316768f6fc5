"""The tap's parsing and schemas against the answers of a real Mautic 5.1.0 (../shared/mautic-5.1.0).

Why: the simulator imitates those recordings, but where anything disagrees the recording wins; every
recorded list answer goes through the stream's own parsing and post-processing and must validate against
the stream's schema with no property left outside it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, cast

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from mautic_sim import Simulator
from mautic_sim.recording import Exchange, load_all
from tap_mautic.base_stream import MauticStream
from tests.support.config import basic_config
from tests.support.tap import ROOT, make_tap

RECORDINGS = ROOT.parent / "shared" / "mautic-5.1.0"


def _recorded_lists() -> list[Exchange]:
    if not RECORDINGS.is_dir():
        return []
    return [ex for ex in load_all(Path(RECORDINGS)) if ex.method == "GET" and ex.status == 200
            and isinstance(ex.resp_json(), dict) and "total" in ex.resp_json()]


EXCHANGES = _recorded_lists()
# Recorded lists that no stream reads: per-contact and per-campaign sub-lists (a path with an id in it, but
# the form submissions, which a stream walks form by form), and three lists without a stream.
NO_STREAM = ("/api/contacts/activity", "/api/points/groups", "/api/tweets")
STREAMED = [ex for ex in EXCHANGES if ex.path == "/api/forms/1/submissions" or (
    ex.path not in NO_STREAM and not re.search(r"/\d+(/|$)", ex.path))]


@pytest.fixture(scope="module")
def by_path(session_sim: Simulator) -> dict[str, Any]:
    """Each stream of a tap discovered on the session simulator, by the API path it reads."""
    tap = make_tap(basic_config(session_sim))
    streams = [cast(MauticStream, stream) for stream in tap.streams.values()]  # every tap stream is one
    paths = {"/api" + stream.path: stream for stream in streams if "{" not in stream.path}
    paths["/api/forms/1/submissions"] = cast(MauticStream, tap.streams["form_submissions_results"])
    return paths


@pytest.mark.skipif(not EXCHANGES, reason="the recorded exchanges are not next to the repository")
def test_every_recorded_list_context_has_a_stream(by_path: dict[str, Any]):
    paths = {ex.path for ex in EXCHANGES}
    unmapped = sorted(p for p in paths if p not in by_path and not p.startswith(
        ("/api/contacts/", "/api/campaigns/", "/api/points/groups", "/api/tweets", "/api/forms/")))
    assert not unmapped
    # the recordings this module parses are exactly those a stream reads
    assert sorted({ex.path for ex in STREAMED}) == sorted(p for p in paths if p in by_path)


@pytest.mark.parametrize("exchange", STREAMED, ids=lambda ex: ex.name)
def test_recorded_answer_parses_and_validates(exchange: Exchange, caplog, by_path: dict[str, Any]):
    stream = by_path[exchange.path]
    rows = stream.extract_rows(exchange.resp_json())
    properties = stream.schema["properties"]
    validator = Draft202012Validator(stream.schema, format_checker=FormatChecker())
    caplog.set_level(logging.WARNING)
    for row in rows:
        record = stream.post_process(dict(row), {"form_id": 1})
        assert record is not None
        outside = set(record) - set(properties)
        assert not outside, f"{stream.name}: properties missing from the schema: {sorted(outside)}"
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(record)]
        assert not errors, f"{stream.name} record {record.get('id')}: {errors[:5]}"
        for key in stream.primary_keys:
            assert record[key] is not None
    # post_process leaves undeclared properties out with a warning: a recorded answer must cause none.
    left_out = [r.getMessage() for r in caplog.records if "not in the schema" in r.getMessage()]
    assert not left_out


def test_undeclared_properties_are_left_out_with_one_warning(session_sim: Simulator, caplog):
    stream = make_tap(basic_config(session_sim)).streams["tags"]
    caplog.set_level(logging.WARNING)
    for tag_id in (1, 2):
        record = stream.post_process({"id": tag_id, "tag": "vip", "description": None, "surprise": 1})
        assert record == {"id": tag_id, "tag": "vip", "description": None}
    warnings = [r.getMessage() for r in caplog.records if "not in the schema" in r.getMessage()]
    assert len(warnings) == 1 and "surprise" in warnings[0]
