"""Resumption after kill -9, and retries through the simulator's faults with the exact record set."""

from __future__ import annotations

import json

from mautic_sim import Simulator
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config
from tests.support.tap import SyncResult, catalog_for, make_tap, run_until, sync

STREAMS = ["contacts", "lead_event_log"]


def test_kill_minus_nine_and_resume_loses_nothing(tmp_path):
    with Simulator(contacts=1000, seed=9, username=SIM_USER, password=SIM_PASSWORD) as sim:
        config = basic_config(sim, page_size=50)
        catalog = catalog_for(config, STREAMS)
        kills = [
            lambda n: n["contacts"] >= 300,        # mid-contacts (unsorted stream)
            lambda n: n["lead_event_log"] >= 350,  # mid-stats (id-sorted, resumable)
        ]
        runs: list[SyncResult] = []
        inputs: list[dict | None] = []
        state = None
        for attempt in range(5):
            kill_when = kills[attempt] if attempt < len(kills) else None
            result, killed = run_until(tmp_path, config, catalog, state, kill_when)
            runs.append(result)
            inputs.append(state)
            state = result.last_state or state
            if not killed:
                break
        assert len(runs) == 3, "two interrupted runs, then one that completes"
        for stream, table in (("contacts", "leads"), ("lead_event_log", "lead_event_log")):
            expected = {r["id"] for r in sim.query(f"SELECT id FROM {table}")}
            got = set().union(*(r.ids(stream) for r in runs))
            assert got == expected, stream
        # The stats stream resumed from the STATE of the killed run instead of starting over.
        resumed_from = runs[1].final_state["bookmarks"]["lead_event_log"]["replication_key_value"]
        assert resumed_from >= 200
        assert min(runs[2].ids("lead_event_log")) > resumed_from
        # STATE never runs ahead of the records it covers.
        for result, given in zip(runs, inputs, strict=True):
            prior = _event_mark(given)
            emitted: set[int] = set()
            for msg in result.messages:
                if msg["type"] == "RECORD" and msg["stream"] == "lead_event_log":
                    emitted.add(msg["record"]["id"])
                elif msg["type"] == "STATE":
                    mark = _event_mark(msg["value"])
                    assert mark is None or mark == prior or mark in emitted


def _event_mark(state: dict | None) -> int | None:
    return ((state or {}).get("bookmarks", {}).get("lead_event_log") or {}).get("replication_key_value")


def test_exact_records_through_faults():
    """429, 502, resets, timeouts and malformed JSON at ~18 %: every record delivered exactly once."""
    with Simulator(contacts=300, seed=4, username=SIM_USER, password=SIM_PASSWORD,
                   timeout_fault_s=1.5) as sim:
        config = basic_config(sim, page_size=25, request_timeout=0.5, max_retries=12, backoff_factor=0.01)
        streams = ["contacts", "lead_event_log", "lead_lists_leads", "segments"]
        tap = make_tap(config, streams=streams)
        sim.clear_log()
        sim.set_faults("429:0.03,502:0.06,reset:0.04,timeout:0.02,malformed:0.03", seed=3)
        result = sync(config, tap=tap)
        sim.set_faults(None)
        statuses = [e["status"] for e in sim.request_log]
        assert {429, 502, 0} <= set(statuses), "rate limits, bad gateways and resets/timeouts were injected"
        assert result.ids("contacts") == {r["id"] for r in sim.query("SELECT id FROM leads")}
        assert len(result.records["contacts"]) == len(result.ids("contacts"))
        events = [r["id"] for r in result.records["lead_event_log"]]
        assert sorted(events) == sorted(r["id"] for r in sim.query("SELECT id FROM lead_event_log"))
        members = [(r["leadlist_id"], r["lead_id"]) for r in result.records["lead_lists_leads"]]
        assert sorted(members) == sorted((r["leadlist_id"], r["lead_id"]) for r in sim.query(
            "SELECT leadlist_id, lead_id FROM lead_lists_leads"))
        assert result.ids("segments") == {r["id"] for r in sim.query("SELECT id FROM lead_lists")}
        json.dumps(result.last_state)
