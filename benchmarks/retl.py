"""Reverse ETL reruns (row (f) of ``make bench``): what compare before write saves when Mautic already holds
the values.

Why: a warehouse model is synced every hour and most of its rows have not changed since the last run. Mautic
makes writes dear (a real 5.1.0 takes ~2.3 s of server time for a ``batch/edit`` of 200 contacts whose values
are already the same, ~0.6 s to read the same 200 by id), so the simulator runs with ``--row-ms`` (3 ms per
contact read, 3.8x that per contact written: ``mautic_sim/server.py``).

The runs, on one simulator process seeded with N contacts; the input is those N contacts by ``id`` with the
values Mautic holds (``email``, ``firstname``, ``lastname``, ``city``, read from its SQLite file), loaded
once before the runs below (not reported):

1. the unchanged rerun with ``compare_before_write`` on, then off;
2. 1 % of the records with a new ``city``, with compare on (a fresh 1 %), then off (another fresh 1 %);
3. the audience with 1 % churn: 1 % of the rows dropped and as many new contacts (by email), compare on;
4. that audience mirrored into a segment (``sync_mode: mirror`` on ``segment_memberships``, contacts named
   by id, the new ones by email; ACTIVATE_VERSION after the records): the segment held the audience before
   the churn (loaded once, not reported); the run adds the new 1 % and removes the dropped 1 %.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from benchmarks import bench_target
from benchmarks.bench_target import singer
from mautic_sim.process import SimProcess

ROW_MS = 3.0  # a real 5.1.0 read 200 contacts by id in ~0.6 s of server time: 3 ms a contact
WRITES = ("POST", "PATCH", "PUT", "DELETE")
SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        "email": {"type": ["string", "null"]},
        "firstname": {"type": ["string", "null"]},
        "lastname": {"type": ["string", "null"]},
        "city": {"type": ["string", "null"]},
    },
}
Calls = Callable[[], tuple[int, int]]  # (API calls, write calls) the simulator has served so far


@dataclass
class RetlRun:
    """One target run: what it cost and what it reported."""

    label: str
    records: int
    calls: int
    write_calls: int
    seconds: float
    outcomes: dict[str, int]


@dataclass
class Retl:
    """Row (f): every run of one benchmark."""

    contacts: int
    row_ms: float
    unchanged_on: RetlRun
    unchanged_off: RetlRun
    changed_on: RetlRun
    changed_off: RetlRun
    audience: RetlRun
    mirror: RetlRun  # the churned audience mirrored into a segment that held the audience before
    changed: int  # records changed in each 1 % run
    churn: int  # rows dropped from (and added to) the audience

    @property
    def speedup(self) -> float:
        """Unchanged rerun: time with compare off / time with it on."""
        return self.unchanged_off.seconds / self.unchanged_on.seconds if self.unchanged_on.seconds else 0.0


def existing_contacts(db_path: str | Path) -> list[dict[str, Any]]:
    """The simulator's contacts as the warehouse holds them after a sync: id and the values Mautic has."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT id, email, firstname, lastname, city FROM leads ORDER BY id").fetchall()
    return [dict(r) for r in rows]


def change(records: list[dict[str, Any]], pct: float, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A copy of ``records`` with a new ``city`` on every (100/pct)-th record from ``offset``; how many."""
    step = max(1, round(100 / pct))
    out = [dict(r) for r in records]
    changed = 0
    for i in range(offset % step, len(out), step):
        out[i]["city"] = f"Moved {offset}-{i}"
        changed += 1
    return out, changed


def churn(records: list[dict[str, Any]], pct: float) -> tuple[list[dict[str, Any]], int]:
    """The audience a model computes an hour later: 1 % of its rows gone, as many new contacts (by email)."""
    step = max(1, round(100 / pct))
    kept = [r for i, r in enumerate(records) if i % step != step // 2]
    dropped = len(records) - len(kept)
    new = [{"email": f"audience.new.{k}@example.org", "firstname": "New", "lastname": f"Audience {k}",
            "city": "Oslo"} for k in range(dropped)]
    return kept + new, dropped


def load(url: str, records: list[dict[str, Any]], label: str, calls: Calls, **settings: Any) -> RetlRun:
    """One in-process target-mautic run of ``records`` (contacts); calls counted by the simulator."""
    return load_text(url, singer("contacts", SCHEMA, records), len(records), label, calls, **settings)


def create_segment(url: str, alias: str) -> int:
    """A new, empty segment (the audience's): its id."""
    body: dict[str, Any] = {"name": alias, "alias": alias, "isPublished": True}
    answer = requests.post(f"{url}/api/segments/new", json=body,
                           auth=(SimProcess.username, SimProcess.password), timeout=60)
    answer.raise_for_status()
    return int(answer.json()["list"]["id"])


def segment_snapshot(records: list[dict[str, Any]], segment: int, version: int) -> str:
    """The audience as a full snapshot of segment memberships: ACTIVATE_VERSION before and after its
    records."""
    schema = {"type": "object",
              "properties": {"contact_id": {"type": ["integer", "null"]},
                             "email": {"type": ["string", "null"]}, "segment_id": {"type": "integer"}}}
    lines = [json.dumps({"type": "SCHEMA", "stream": "audience", "key_properties": [], "schema": schema}),
             json.dumps({"type": "ACTIVATE_VERSION", "stream": "audience", "version": version})]
    lines += [json.dumps({"type": "RECORD", "stream": "audience", "version": version,
                          "record": {"contact_id": r.get("id"), "email": r.get("email"),
                                     "segment_id": segment}}) for r in records]
    lines.append(json.dumps({"type": "ACTIVATE_VERSION", "stream": "audience", "version": version}))
    return "\n".join(lines) + "\n"


MIRROR = {"stream_contexts": {"audience": "segment_memberships"}, "sync_mode": "mirror",
          "mirror_max_removals": "2%"}


def load_text(url: str, text: str, records: int, label: str, calls: Calls, **settings: Any) -> RetlRun:
    """One in-process target-mautic run of the Singer ``text``; calls counted by the simulator."""
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        config = {"base_url": url, "username": SimProcess.username, "password": SimProcess.password,
                  "results_path": str(results), **settings}
        before, before_writes = calls()
        seconds, outcomes = bench_target.listen(config, text)
    after, after_writes = calls()
    return RetlRun(label, records, after - before, after_writes - before_writes, seconds, dict(outcomes))


def runs(url: str, records: list[dict[str, Any]], calls: Calls, pct: float = 1.0) -> dict[str, Any]:
    """The six runs of the module docstring, in order, against Mautic holding ``records``."""
    on, off = {"compare_before_write": True}, {"compare_before_write": False}
    # not reported: the seeded values as Mautic would store them (a seeded email Mautic's filter would have
    # cleaned is written once), so that "unchanged" below is what an hourly rerun of an unchanged model sees
    load(url, records, "first sync", calls, **on)
    out: dict[str, Any] = {
        "unchanged_on": load(url, records, "unchanged, compare on", calls, **on),
        "unchanged_off": load(url, records, "unchanged, compare off", calls, **off),
    }
    changed, out["changed"] = change(records, pct, offset=0)
    out["changed_on"] = load(url, changed, "1 % changed, compare on", calls, **on)
    changed, _ = change(changed, pct, offset=1)  # a fresh 1 %, so that compare off writes as many changes
    out["changed_off"] = load(url, changed, "1 % changed, compare off", calls, **off)
    audience, out["churn"] = churn(changed, pct)
    out["audience"] = load(url, audience, "audience, 1 % churn", calls, **on)
    segment = create_segment(url, "bench-audience")
    load_text(url, segment_snapshot(changed, segment, 1), len(changed), "audience into its segment", calls,
              **MIRROR)  # not reported: the segment holds the audience before the churn
    out["mirror"] = load_text(url, segment_snapshot(audience, segment, 2), len(audience), "audience mirror",
                              calls, **MIRROR)
    return out


def measure_retl(contacts: int, row_ms: float = ROW_MS, pct: float = 1.0) -> Retl:
    """Row (f) on a simulator process with ``--row-ms``."""
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "mautic.sqlite")
        with SimProcess(contacts=contacts, seed=8, row_ms=row_ms, db=db) as sim:
            records = existing_contacts(db)

            def calls() -> tuple[int, int]:
                return sim.requests(), sum(sim.requests(method=m) for m in WRITES)

            measured = runs(sim.url, records, calls, pct)
    return Retl(contacts, row_ms, **measured)


__all__ = ["ROW_MS", "Retl", "RetlRun", "change", "churn", "create_segment", "existing_contacts", "load",
           "load_text", "measure_retl", "runs", "segment_snapshot"]
