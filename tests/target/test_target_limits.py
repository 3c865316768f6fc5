"""Rejection limits: once too many records failed, nothing further is written, the rest are not_written, no
STATE follows, one line says why and the run exits non-zero."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from target_mautic.target import RejectionLimitError, TargetMautic
from tests.support.config import basic_config
from tests.support.paths import README
from tests.support.target import settled_log

SCHEMA = {"type": "object", "properties": {"email": {"type": "string"},
                                           "firstname": {"type": ["string", "null"]},
                                           "plan": {"type": ["string", "null"]}}}


def feed(blocks: list[list[dict[str, Any]]]) -> str:
    """SCHEMA, then each block of records followed by a STATE naming the block."""
    lines = [json.dumps({"type": "SCHEMA", "stream": "contacts", "key_properties": [], "schema": SCHEMA})]
    for n, block in enumerate(blocks, start=1):
        lines += [json.dumps({"type": "RECORD", "stream": "contacts", "record": r}) for r in block]
        lines.append(json.dumps({"type": "STATE", "value": {"block": n}}))
    return "\n".join(lines) + "\n"


def good(block: int, size: int = 10) -> list[dict[str, Any]]:
    return [{"email": f"limit.{block}.{i}@example.org", "firstname": "Ok"} for i in range(size)]


def bad(block: int, size: int = 10) -> list[dict[str, Any]]:
    # a select value that is not an option: failed by the target, per record
    return [{"email": f"limit.{block}.{i}@example.org", "plan": "platinum"} for i in range(size)]


def run(sim: Simulator, tmp_path: Path, text: str, **settings: Any) -> tuple[Exception | None, list, list]:
    results = tmp_path / "results.jsonl"
    config = basic_config(sim, results_path=str(results), batch_size_rows=10, max_concurrency=1, **settings)
    sim.clear_log()
    out = io.StringIO()
    error: Exception | None = None
    with contextlib.redirect_stdout(out):
        try:
            TargetMautic(config=config, parse_env_config=False).listen(io.StringIO(text))
        except RejectionLimitError as exc:
            error = exc
    # a target writes the STATE values themselves
    states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return error, states, [json.loads(line) for line in results.read_text().splitlines()]


@pytest.mark.parametrize("on_record_error", ["report", "fail"])
def test_max_failed_records_stops_the_run(sim: Simulator, tmp_path: Path, on_record_error: str,
                                          monkeypatch: pytest.MonkeyPatch):
    # the SDK emits STATE when it drains every sink (at the latest every 5 minutes): here after each record,
    # so that the STATE of block 1 is out before the limit and the absence of later ones means something
    monkeypatch.setattr(TargetMautic, "_MAX_RECORD_AGE_IN_MINUTES", 0.0)
    text = feed([good(1), bad(2), good(3), good(4)])
    error, states, results = run(sim, tmp_path, text, max_failed_records=5, on_record_error=on_record_error)
    assert isinstance(error, RejectionLimitError)
    # a drain per record here: the run stops at the 6th failure
    assert "6 records failed, more than max_failed_records (5)" in str(error)
    outcomes = Counter(r["outcome"] for r in results)
    assert outcomes == Counter({"created": 10, "failed": 6, "not_written": 24})
    assert all(str(error) in r["message"] for r in results if r["outcome"] == "not_written")
    assert not any(s.get("block", 0) >= 2 for s in states)  # no STATE after the limit
    # (under on_record_error fail, the first failure already withholds STATE: block 1's never went out)
    assert ({"block": 1} in states) is (on_record_error == "report")
    # nothing was written after it: the only writes are block 1's
    sent = [r for r in settled_log(sim) if r["method"] != "GET"]
    assert sent and {item["email"].split(".")[1] for r in sent for item in r["body"]} == {"1"}
    assert sim.query("SELECT COUNT(*) AS n FROM leads WHERE email LIKE 'limit.3.%'")[0]["n"] == 0


def test_max_failed_percent_waits_for_min_records(sim: Simulator, tmp_path: Path):
    # 10 of 10 failed (100 %) but fewer than min_records_for_limit (20): the run goes on until 10 of 20 > 40 %
    text = feed([bad(1), good(2), good(3)])
    error, _, results = run(sim, tmp_path, text, max_failed_percent=40, min_records_for_limit=20,
                            on_record_error="report")
    assert error is not None and "10 of 20 records failed (50.0%)" in str(error)
    assert Counter(r["outcome"] for r in results) == Counter({"failed": 10, "created": 10, "not_written": 10})

    within = run(sim, tmp_path, feed([bad(1, 2), good(4), good(5)]), max_failed_percent=40,
                 on_record_error="report", min_records_for_limit=0)
    assert within[0] is None and Counter(r["outcome"] for r in within[2])["not_written"] == 0


def test_the_command_ends_with_one_line_and_exit_1(sim: Simulator, tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(basic_config(sim, max_failed_records=0, on_record_error="report",
                                              batch_size_rows=10)))
    done = subprocess.run([sys.executable, "-m", "target_mautic", "--config", str(config)],
                          input=feed([bad(1, 1), good(2)]), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "1 records failed, more than max_failed_records (0)" in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr and '"block"' not in done.stdout


def test_the_readme_example_limits(sim: Simulator, tmp_path: Path):
    text = README.read_text()
    start = text.index("```json\n", text.index("### Rejection limits")) + 8
    config = json.loads(text[start: text.index("```", start)])
    error, _, results = run(sim, tmp_path, feed([good(1, 10), bad(2, 60), good(3, 10)]), **config)
    # 51 failures are more than max_failed_records 50: found after the drain that holds the 51st (10 rows)
    assert error is not None and "60 records failed, more than max_failed_records (50)" in str(error)
    assert Counter(r["outcome"] for r in results) == Counter({"created": 10, "failed": 60, "not_written": 10})
