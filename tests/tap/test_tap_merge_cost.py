"""What merge handling costs a run without merges: no call beyond the ones made with it switched off."""

from __future__ import annotations

from mautic_sim import Simulator
from tests.support.config import basic_config
from tests.support.tap import sync

STREAMS = ["contact_merges", "lead_event_log", "lead_points_change_log", "page_hits", "form_submissions",
           "lead_lists_leads", "campaign_leads", "companies_leads"]


def _calls(sim: Simulator) -> list[tuple[str, str]]:
    return sorted((r["method"], r["path"]) for r in sim.request_log)


def test_a_run_without_merges_makes_no_extra_call(sim: Simulator) -> None:
    cfg = basic_config(sim, lookback_seconds=0)
    first = sync(cfg, streams=STREAMS)
    sim.clear_log()
    sync({**cfg, "include_merges": False}, streams=STREAMS, state=first.last_state)
    without = _calls(sim)
    sim.clear_log()
    second = sync(cfg, streams=STREAMS, state=first.last_state)
    with_merges = _calls(sim)
    assert with_merges == without  # the merge lookup is contact_merges' own walk, shared
    assert with_merges.count(("GET", "/api/stats/audit_log")) == 1
    assert not any(r.get("_sdc_deleted_at") for s in STREAMS for r in second.records.get(s, []))
