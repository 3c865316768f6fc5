"""mautic_api inside singer-sdk's own request loop (MauticStreamMixin), against the simulator.

A minimal RESTStream proves the glue the tap relies on: our pooled session and authenticator, the retry
policy plugged into singer-sdk's backoff (server waits honoured), the 401 re-authentication through
``session.send``, and configuration errors surfacing as one-line ``ConfigValidationError``.
"""

from __future__ import annotations

import time
import types
from typing import Any, cast

import backoff._sync
import pytest
from singer_sdk import RESTStream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from mautic_api.client import as_records
from mautic_api.http import php_query, response_json
from mautic_singer.config_schema import MAUTIC_SETTINGS
from mautic_singer.sdk import MauticPluginMixin, MauticStreamMixin
from tests.support.config import basic_config


# [misc]: MauticStreamMixin.timeout is float seconds (mautic_api's request_timeout); singer-sdk declares int
class _Contacts(MauticStreamMixin, RESTStream):  # type: ignore[misc]
    name = "contacts"
    path = "/contacts"
    primary_keys = ("id",)
    schema = th.PropertiesList(th.Property("id", th.IntegerType)).to_dict()

    def get_url_params(self, context: Any, next_page_token: Any) -> dict[str, str]:
        where = [{"col": "id", "expr": "gt", "val": 0}]
        return dict(php_query({"limit": 1000, "orderBy": "id", "where": where}))

    def parse_response(self, response):
        for rec in as_records(response_json(response)[1].get("contacts")):
            yield {"id": rec["id"]}


class _Tap(MauticPluginMixin, Tap):
    name = "tap-mautic-sdk-glue-test"
    config_jsonschema = th.PropertiesList(*MAUTIC_SETTINGS).to_dict()

    def discover_streams(self):
        return [_Contacts(self)]


@pytest.fixture(autouse=True)
def backoff_sleeps(monkeypatch):
    """singer-sdk's backoff decorator sleeps through backoff._sync.time: record instead of waiting."""
    recorded: list[float] = []
    fake_time = types.SimpleNamespace(sleep=recorded.append, monotonic=time.monotonic, time=time.time)
    monkeypatch.setattr(backoff._sync, "time", fake_time)
    yield recorded


def _ids(tap: _Tap) -> list[int]:
    stream = tap.streams["contacts"]
    return [cast(dict[str, Any], rec)["id"] for rec in stream.get_records(None)]  # no child contexts: records


def test_stream_reads_through_our_session_and_retries_with_server_wait(sim, backoff_sleeps):
    tap = _Tap(config=basic_config(sim))
    stream = cast(_Contacts, tap.streams["contacts"])
    assert stream.requests_session is stream.mautic_client.session
    sim.schedule_fault("429", nth=1, path="/api/contacts")
    sim.schedule_fault("malformed", nth=2, path="/api/contacts")
    ids = _ids(tap)
    assert ids == [r["id"] for r in sim.query("SELECT id FROM leads ORDER BY id")]
    assert len(backoff_sleeps) == 2
    assert 1.0 <= backoff_sleeps[0] < 1.5  # Retry-After: 1, not singer-sdk's default expo


def test_stream_reauthenticates_on_401(sim):
    config = {"base_url": sim.url, "client_id": sim.client_id, "client_secret": sim.client_secret}
    tap = _Tap(config=config)
    assert len(_ids(tap)) == 60
    sim.expire_tokens()
    assert len(_ids(tap)) == 60  # the 401 was absorbed by the authenticator's response hook


def test_stream_config_errors_are_one_line(sim):
    tap = _Tap(config=basic_config(sim, password="not-the-password"))
    with pytest.raises(ConfigValidationError) as info:
        _ids(tap)
    assert info.value.errors == [str(info.value)]
    assert "check settings 'username' and 'password'" in str(info.value)
    assert "not-the-password" not in str(info.value)
