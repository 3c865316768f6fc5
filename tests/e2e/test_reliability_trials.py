"""Reliability trials (issue 11): the accounting invariant under faults, the fault matrix and kill -9 trials.

The invariant test runs always; the fault matrix and the kill trials are marked ``slow`` (``make test`` runs
them; ``pytest -m 'not slow'`` skips them while developing). Retry waits are recorded instead of slept
(in-process runs) so the trials measure behaviour, not patience; kill moments are drawn from a seeded random
generator over request or record counts, never over wall-clock time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mautic_sim import Simulator
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config
from tests.support.tap import catalog_for, make_tap, run_until, sync
from tests.support.target import run_target

BIN = Path(sys.executable).parent
KINDS = ["429", "502", "reset", "timeout", "malformed"]
MIXED = "429:0.05,502:0.04,reset:0.04,timeout:0.03,malformed:0.04"


# -- input and snapshots ------------------------------------------------------------------------------------
def mixed_input(sim: Simulator, n_contacts: int, n_companies: int, n_notes: int, *, bad: int = 5) -> tuple[
        str, list[tuple[str, dict[str, Any]]]]:
    """Singer text of new and existing contacts (by id and by email), new companies, notes and a few bad
    records; the records in input order."""
    seeded = sim.query("SELECT id, email FROM leads WHERE email IS NOT NULL ORDER BY id")
    rng = random.Random(n_contacts)
    records: list[tuple[str, dict[str, Any]]] = []
    for i in range(n_contacts):
        roll = rng.random()
        if roll < 0.1 and seeded:
            row = seeded[i % len(seeded)]
            rec = {"id": row["id"], "firstname": f"ById{i}"}
        elif roll < 0.15 and seeded:
            row = seeded[(i * 7) % len(seeded)]
            rec = {"email": row["email"], "firstname": f"ByEmail{i}"}
        else:
            rec = {"email": f"trial.{i}@example.org", "firstname": f"New{i}"}
        records.append(("contacts", rec))
    for i in range(bad):
        records.append(("contacts", {"email": f"bad-{i}-not-an-email"}))
    records += [("companies", {"companyname": f"Trial Company {i} Ltd"}) for i in range(n_companies)]
    records += [("notes", {"contact_id": seeded[i % len(seeded)]["id"], "text": f"Trial note {i}"})
                for i in range(n_notes)]
    schemas = {
        "contacts": {"id": {"type": ["integer", "null"]}, "email": {"type": ["string", "null"]},
                     "firstname": {"type": ["string", "null"]}},
        "companies": {"companyname": {"type": "string"}},
        "notes": {"contact_id": {"type": "integer"}, "text": {"type": "string"}},
    }
    lines = [json.dumps({"type": "SCHEMA", "stream": s, "key_properties": [],
                         "schema": {"type": "object", "properties": p}}) for s, p in schemas.items()]
    lines += [json.dumps({"type": "RECORD", "stream": s, "record": r}) for s, r in records]
    lines.append(json.dumps({"type": "STATE", "value": {"loaded": len(records)}}))
    return "\n".join(lines) + "\n", records


def snapshot(sim: Simulator) -> dict[str, Any]:
    """What Mautic holds, by natural keys (ids of new rows differ between runs)."""
    return {
        "contacts": sorted((r["email"] or "", r["firstname"] or "") for r in
                           sim.query("SELECT email, firstname FROM leads")),
        "companies": sorted(r["companyname"] for r in sim.query("SELECT companyname FROM companies")),
        "notes": sorted((r["lead"], r["text"]) for r in sim.query(
            "SELECT json_extract(data, '$.lead.id') AS lead, json_extract(data, '$.text') AS text "
            "FROM lead_notes")),
    }


def no_duplicates(sim: Simulator) -> None:
    assert not sim.query("SELECT email FROM leads WHERE email IS NOT NULL GROUP BY email HAVING COUNT(*) > 1")
    assert not sim.query("SELECT companyname FROM companies WHERE companyname LIKE 'Trial Company %' "
                         "GROUP BY companyname HAVING COUNT(*) > 1")
    assert not sim.query("SELECT data FROM lead_notes WHERE json_extract(data, '$.text') LIKE 'Trial note %' "
                         "GROUP BY json_extract(data, '$.lead.id'), json_extract(data, '$.text') "
                         "HAVING COUNT(*) > 1")


def outcomes(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["stream"], r["outcome"]) for r in results]


# -- the accounting invariant ---------------------------------------------------------------------------
def test_accounting_invariant_under_faults_and_exhausted_retries(tmp_path: Path, retry_waits) -> None:
    """Bad values, faults and retries exhausted (max_retries 1): every record ends as one result line, and
    what failed is exactly what is not in Mautic."""
    with Simulator(contacts=40, seed=9, username=SIM_USER, password=SIM_PASSWORD, timeout_fault_s=1.5) as sim:
        source, records = mixed_input(sim, 400, 60, 30)
        existing = {r["email"] for r in sim.query("SELECT email FROM leads WHERE email IS NOT NULL")}
        sim.set_faults("429:0.15,502:0.15,reset:0.1,malformed:0.1", seed=3)
        run = run_target(sim, tmp_path, source, max_retries=1, batch_size=50, on_record_error="report",
                         request_timeout=1, max_concurrency=1)  # one lane: see test_target_fault_matrix
        sim.set_faults(None)
        assert run.error is None
        assert len(run.results) == len(records)
        assert Counter(r["stream"] for r in run.results) == Counter(s for s, _ in records)
        no_duplicates(sim)
        emails = {r["email"] for r in sim.query("SELECT email FROM leads")}
        for result in run.results:
            # a contact Mautic held before the run is there whatever its outcome: only new ones tell
            if result["stream"] == "contacts" and "@" in result["key"].get("email", "") \
                    and result["key"]["email"] not in existing:
                landed = result["key"]["email"] in emails
                assert landed == (result["outcome"] != "failed"), result
        assert run.outcomes()["failed"] >= 5  # the bad emails, at least


# -- fault matrix: target -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_loads(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[dict[str, Any], list]]:
    """The clean load of the mixed input per seed: what Mautic holds after it, and each record's outcome."""
    out = {}
    for seed in (1, 2):
        with Simulator(contacts=60, seed=seed, username=SIM_USER, password=SIM_PASSWORD) as sim:
            source, _ = mixed_input(sim, 2000, 300, 195)
            run = run_target(sim, tmp_path_factory.mktemp("clean"), source, on_record_error="report",
                             max_concurrency=1)  # as the faulted loads (same drains, same merges)
            out[seed] = (snapshot(sim), outcomes(run.results))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", [*KINDS, "mixed"])
def test_target_fault_matrix(tmp_path: Path, retry_waits, clean_loads, kind: str, seed: int) -> None:
    """2,500 mixed records under 20 % faults leave Mautic exactly as a clean load, every outcome the same."""
    spec = MIXED if kind == "mixed" else f"{kind}:0.2"
    with Simulator(contacts=60, seed=seed, username=SIM_USER, password=SIM_PASSWORD,
                   timeout_fault_s=1.1) as sim:
        source, records = mixed_input(sim, 2000, 300, 195)
        sim.set_faults(spec, seed=seed * 11)
        # One lane: the simulator runs in this process (same GIL), so four concurrent 200-row batches answer
        # in more than request_timeout = 1 s on a loaded machine and every attempt times out. Lanes under
        # lost answers are tested in tests/target/test_target_lanes.py.
        run = run_target(sim, tmp_path, source, on_record_error="report", request_timeout=1, max_retries=8,
                         max_concurrency=1)
        sim.set_faults(None)
        assert retry_waits  # the faults were met (and retried)
        assert len(records) == 2500 and len(run.results) == 2500
        expected_snapshot, expected_outcomes = clean_loads[seed]
        assert outcomes(run.results) == expected_outcomes
        assert snapshot(sim) == expected_snapshot
        no_duplicates(sim)


# -- fault matrix: tap --------------------------------------------------------------------------------------
TAP_STREAMS = ["contacts", "companies", "lead_event_log"]


@pytest.fixture
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch, retry_waits):
    """singer-sdk's retries (backoff) recorded, not slept, like mautic_api's."""
    import backoff._sync

    waits: list[float] = []
    monkeypatch.setattr(backoff._sync, "time", SimpleNamespace(sleep=waits.append))
    return waits


def by_stream(result: Any) -> dict[str, dict[int, dict[str, Any]]]:
    return {s: {r["id"]: r for r in result.records.get(s, [])} for s in TAP_STREAMS}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", [*KINDS, "mixed"])
def test_tap_fault_matrix(no_backoff_sleep, kind: str, seed: int) -> None:
    """Full and incremental syncs under 20 % faults deliver exactly the server's records."""
    spec = MIXED if kind == "mixed" else f"{kind}:0.2"
    with Simulator(contacts=300, seed=seed, username=SIM_USER, password=SIM_PASSWORD,
                   timeout_fault_s=1.5) as sim:
        config = basic_config(sim, page_size=40, request_timeout=1, max_retries=10)
        clean = sync(config, streams=TAP_STREAMS)
        sim.set_faults(spec, seed=seed * 7)
        faulty = sync(config, streams=TAP_STREAMS)
        sim.set_faults(None)
        assert no_backoff_sleep  # the faults were met (and retried)
        assert by_stream(faulty) == by_stream(clean)
        for stream in TAP_STREAMS:
            ids = [r["id"] for r in faulty.records.get(stream, [])]
            assert len(ids) == len(set(ids)), stream  # nothing twice within one run

        touched = [r["id"] for r in sim.query("SELECT id FROM leads ORDER BY id LIMIT 25")]
        sim.touch_contacts(touched)
        created = sim.create_contacts(10)
        sim.set_faults(spec, seed=seed * 13)
        incremental = sync(config, state=faulty.last_state, streams=TAP_STREAMS)
        sim.set_faults(None)
        changed = {r["id"] for r in incremental.records.get("contacts", [])}
        assert set(touched) | set(created) <= changed
        server = {r["id"] for r in sim.query("SELECT id FROM leads")}
        assert {*by_stream(clean)["contacts"], *changed} == server


# -- kill -9 trials -------------------------------------------------------------------------------------
def kill_and_resume(tmp: Path, config: dict[str, Any], catalog: dict[str, Any], stream: str, at: int
                    ) -> dict[str, dict[int, dict[str, Any]]]:
    """SIGKILL the tap once ``at`` records of ``stream`` are out, then resume from the last STATE until a
    run ends by itself; the records as a loader that upserts would hold them."""
    tmp.mkdir(parents=True, exist_ok=True)
    held: dict[str, dict[int, dict[str, Any]]] = {"contacts": {}, "lead_event_log": {}}
    state = None
    for attempt in range(4):
        kill_when = (lambda n: n[stream] >= at) if attempt == 0 else None
        result, killed = run_until(tmp, config, catalog, state, kill_when)
        for name in held:
            for record in result.records.get(name, []):
                held[name][record["id"]] = record
        state = result.last_state or state
        if not killed:
            return held
    raise AssertionError("the tap did not finish after a kill")


@pytest.mark.slow
def test_tap_kill_trials(tmp_path: Path) -> None:
    """Ten kills at random record counts; resuming from the last STATE ends with the clean run's data."""
    with Simulator(contacts=400, seed=21, username=SIM_USER, password=SIM_PASSWORD) as sim:
        config = basic_config(sim, page_size=40)
        catalog = catalog_for(config, ["contacts", "lead_event_log"])
        clean = sync(config, streams=["contacts", "lead_event_log"], tap=make_tap(config, streams=[
            "contacts", "lead_event_log"]))
        expected = {s: {r["id"]: r for r in clean.records[s]} for s in ("contacts", "lead_event_log")}
        rng = random.Random(5)
        for trial in range(10):
            stream = rng.choice(["contacts", "lead_event_log"])
            at = rng.randint(1, len(expected[stream]) - 1)
            final = kill_and_resume(tmp_path / f"trial{trial}", config, catalog, stream, at)
            for name, records in expected.items():
                assert final[name] == records, (trial, stream, at)


@pytest.mark.slow
def test_target_kill_trials(tmp_path: Path) -> None:
    """Ten kill -9 at random batch calls; a rerun of the same input leaves Mautic as a clean load,
    with nothing twice, and reports every record."""
    with Simulator(contacts=40, seed=4, username=SIM_USER, password=SIM_PASSWORD) as clean_sim:
        source, records = mixed_input(clean_sim, 600, 100, 39)
        run_target(clean_sim, tmp_path / "clean", source, on_record_error="report", batch_size=50)
        expected = snapshot(clean_sim)
    (tmp_path / "input.singer").write_text(source)
    rng = random.Random(8)
    for trial in range(10):
        work = tmp_path / f"trial{trial}"
        work.mkdir()
        with Simulator(contacts=40, seed=4, username=SIM_USER, password=SIM_PASSWORD) as sim:
            config = basic_config(sim, batch_size=50, on_record_error="report",
                                  results_path=str(work / "results.jsonl"))
            (work / "config.json").write_text(json.dumps(config))
            command = [str(BIN / "target-mautic"), "--config", str(work / "config.json"), "--input",
                       str(tmp_path / "input.singer")]
            kill_at = rng.randint(1, 14)
            calls: list[str] = []
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            def kill(method: str, path: str, query: str, proc=proc, calls=calls, kill_at=kill_at) -> None:
                if method != "GET":
                    calls.append(path)
                    if len(calls) == kill_at:
                        os.kill(proc.pid, signal.SIGKILL)

            sim.add_hook(kill)
            proc.wait(timeout=120)
            assert proc.returncode == -signal.SIGKILL, (trial, kill_at, calls)
            lines = (work / "results.jsonl").read_text().splitlines()
            complete = [json.loads(line) for line in lines[:-1]] + (
                [json.loads(lines[-1])] if lines and lines[-1].endswith("}") else [])
            assert len(complete) <= len(records)

            assert sim._server is not None  # started by the with block
            sim._server.hooks.clear()  # the rerun goes to the end
            rerun = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
            assert rerun.returncode == 0, rerun.stderr[-2000:]
            again = [json.loads(line) for line in (work / "results.jsonl").read_text().splitlines()]
            assert len(again) == len(records)
            assert snapshot(sim) == expected, (trial, kill_at)
            no_duplicates(sim)
