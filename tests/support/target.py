"""Helpers for the target tests: Singer input, target-mautic in-process or as a CLI, what the simulator
stored."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mautic_sim import Simulator
from target_mautic.sinks import StreamSetupError
from target_mautic.target import MirrorLimitError, RecordsFailedError, TargetMautic, UnknownStreamError
from tests.support.config import basic_config

CONTACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        "email": {"type": ["string", "null"]},
        "firstname": {"type": ["string", "null"]},
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


@dataclass
class Run:
    """What one target run produced."""

    states: list[dict[str, Any]]
    results: list[dict[str, Any]]
    error: Exception | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def outcomes(self, stream: str | None = None) -> Counter[str]:
        return Counter(r["outcome"] for r in self.results if stream is None or r["stream"] == stream)

    def result_for(self, **key: Any) -> dict[str, Any]:
        matches = [r for r in self.results if all(r["key"].get(k) == v for k, v in key.items())]
        assert len(matches) == 1, (key, self.results)
        return matches[0]


def messages(stream: str, schema: dict, records: list[dict], state: dict | None = None) -> str:
    lines = [json.dumps({"type": "SCHEMA", "stream": stream, "key_properties": [], "schema": schema})]
    lines += [json.dumps({"type": "RECORD", "stream": stream, "record": rec}) for rec in records]
    if state is not None:
        lines.append(json.dumps({"type": "STATE", "value": state}))
    return "\n".join(lines) + "\n"


def versioned(stream: str, schema: dict, key: list[str], records: list[dict], *, version: int,
              activate: bool = True) -> str:
    """A full snapshot of one stream: SCHEMA, the ACTIVATE_VERSION that begins ``version``, its RECORDs, then
    (``activate``) the ACTIVATE_VERSION that completes it (sync_mode mirror acts only on a completed
    snapshot)."""
    lines = [json.dumps({"type": "SCHEMA", "stream": stream, "key_properties": key, "schema": schema}),
             json.dumps({"type": "ACTIVATE_VERSION", "stream": stream, "version": version})]
    lines += [json.dumps({"type": "RECORD", "stream": stream, "version": version, "record": r})
              for r in records]
    if activate:
        lines.append(json.dumps({"type": "ACTIVATE_VERSION", "stream": stream, "version": version}))
    return "\n".join(lines) + "\n"


def run_target(sim: Simulator, tmp_path: Path, source: str | Path, **settings: Any) -> Run:
    """Feed ``source`` (a fixture path or Singer text) through a fresh target; never raises."""
    results_path = tmp_path / f"results-{len(list(tmp_path.glob('results-*')))}.jsonl"
    config = basic_config(sim, results_path=str(results_path), **settings)
    text = source.read_text() if isinstance(source, Path) else source
    sim.clear_log()
    out = io.StringIO()
    error: Exception | None = None
    target = TargetMautic(config=config, parse_env_config=False)
    try:
        with contextlib.redirect_stdout(out):
            target.listen(io.StringIO(text))
    except (RecordsFailedError, UnknownStreamError, StreamSetupError, MirrorLimitError) as exc:
        error = exc
    states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    results = (
        [json.loads(line) for line in results_path.read_text().splitlines()] if results_path.exists() else []
    )
    return Run(states=states, results=results, error=error, requests=settled_log(sim))


def settled_log(sim: Simulator) -> list[dict[str, Any]]:
    """The simulator logs a request just after answering it: wait until the log stops growing."""
    log = sim.request_log
    for _ in range(40):
        time.sleep(0.02)
        again = sim.request_log
        if len(again) == len(log):
            return again
        log = again
    return log


def lead(sim: Simulator, **where: Any) -> dict[str, Any] | None:
    clause = " AND ".join(f"{k} = ?" for k in where)
    rows = sim.query(f"SELECT * FROM leads WHERE {clause}", tuple(where.values()))
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def lead_row(sim: Simulator, **where: Any) -> dict[str, Any]:
    """The one contact matching ``where``, for a test that reads its fields: none fails the test here."""
    row = lead(sim, **where)
    assert row is not None, f"no contact where {where}"
    return row


def count(sim: Simulator, table: str) -> int:
    return sim.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]


COMPANY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"companyname": {"type": "string"}, "companycity": {"type": ["string", "null"]}},
}


BIN = Path(sys.executable).parent


def contact_lines(records: list[dict[str, Any]], key_properties: list[str] | None = None) -> list[str]:
    schema = {"type": "SCHEMA", "stream": "contacts", "key_properties": key_properties or [],
              "schema": CONTACT_SCHEMA}
    return [json.dumps(schema)] + [json.dumps({"type": "RECORD", "stream": "contacts", "record": r})
                                   for r in records]


def cli(sim: Simulator, tmp_path: Path, stdin: str | bytes, **settings: Any) -> subprocess.CompletedProcess:
    """target-mautic as a subprocess; results in tmp_path/results.jsonl."""
    config = basic_config(sim, results_path=str(tmp_path / "results.jsonl"), **settings)
    (tmp_path / "config.json").write_text(json.dumps(config))
    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = subprocess.run([str(BIN / "target-mautic"), "--config", str(tmp_path / "config.json")],
                          input=data, capture_output=True, timeout=180, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def results(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def emails(n: int, prefix: str) -> list[dict[str, Any]]:
    return [{"email": f"{prefix}.{i}@example.org", "firstname": f"F{i}"} for i in range(n)]
