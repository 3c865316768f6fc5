"""Membership rows keyed on a merged contact leave the warehouse: tombstones after the full read.

The membership tables are read in full every run and keyed on (x, lead_id); a merge moves the loser's rows to
the victor (or deletes them), so a loader upserting by key would keep the loser's rows beside the victor's.
"""

from __future__ import annotations

from typing import Any

from mautic_sim import Simulator
from tests.support.config import basic_config
from tests.support.tap import sync

MEMBERSHIPS = {"lead_lists_leads": "leadlist_id", "campaign_leads": "campaign_id",
               "companies_leads": "company_id"}


def _member(sim: Simulator, lead: int, group: int) -> None:
    """``lead`` in segment, campaign and company ``group``."""
    sim.execute("INSERT INTO lead_lists_leads (leadlist_id, lead_id, date_added, manually_added, manually_removed) "
                "VALUES (?, ?, '2024-01-01 00:00:00', 1, 0)", (group, lead))
    sim.execute("INSERT INTO campaign_leads (campaign_id, lead_id, date_added, manually_added, manually_removed, "
                "rotation) VALUES (?, ?, '2024-01-01 00:00:00', 1, 0, 1)", (group, lead))
    sim.execute("INSERT INTO companies_leads (company_id, lead_id, date_added, is_primary) "
                "VALUES (?, ?, '2024-01-01 00:00:00', 0)", (group, lead))


def _warehouse(*runs: Any, stream: str, first: str) -> set[tuple[int, int]]:
    """Keys left after upserting every run's records by key, tombstones deleting (``hard_delete``)."""
    rows: dict[tuple[int, int], bool] = {}
    for run in runs:
        for rec in run.records.get(stream, []):
            key = (rec[first], rec["lead_id"])
            rows[key] = rec.get("_sdc_deleted_at") is None
            if not rows[key]:
                del rows[key]
    return set(rows)


def _truth(sim: Simulator, table: str, first: str) -> set[tuple[int, int]]:
    return {(int(r[first]), int(r["lead_id"])) for r in sim.query(f"SELECT {first}, lead_id FROM {table}")}


def test_loser_memberships_are_retracted_after_a_merge(sim: Simulator) -> None:
    cfg = basic_config(sim, lookback_seconds=0)
    streams = list(MEMBERSHIPS)
    a, b, c, d = sim.create_contacts(4)
    _member(sim, a, 1)
    _member(sim, a, 2)  # b is in group 2 too: the loser's duplicate is deleted (or re-pointed)
    _member(sim, b, 2)
    _member(sim, c, 3)
    _member(sim, d, 3)
    first = sync(cfg, streams=streams)
    assert not any(r.get("_sdc_deleted_at") for s in streams for r in first.records.get(s, []))

    sim.merge_contacts(loser=a, victor=b)
    sim.merge_contacts(loser=c, victor=d)
    second = sync(cfg, streams=streams, state=first.last_state)
    for table, column in MEMBERSHIPS.items():
        truth = _truth(sim, table, column)
        assert not any(lead in (a, c) for _, lead in truth), table
        assert _warehouse(first, second, stream=table, first=column) == truth, table
        tombstones = [r for r in second.records[table] if r.get("_sdc_deleted_at")]
        assert {r["lead_id"] for r in tombstones} == {a, c}, table
        assert all(set(r) == {column, "lead_id", "_sdc_deleted_at"} for r in tombstones), table

    third = sync(cfg, streams=streams, state=second.last_state)  # each merge is retracted once
    assert not any(r.get("_sdc_deleted_at") for s in streams for r in third.records.get(s, []))


def test_without_merges_no_tombstone(sim: Simulator) -> None:
    cfg = basic_config(sim, lookback_seconds=0)
    (a,) = sim.create_contacts(1)
    _member(sim, a, 1)
    first = sync(cfg, streams=["lead_lists_leads"])
    second = sync(cfg, streams=["lead_lists_leads"], state=first.last_state)
    records = second.records["lead_lists_leads"]
    assert {(r["leadlist_id"], r["lead_id"]) for r in records} == _truth(sim, "lead_lists_leads", "leadlist_id")
    assert (1, a) in {(r["leadlist_id"], r["lead_id"]) for r in records}
    assert not any(r.get("_sdc_deleted_at") for r in records)


def test_include_merges_false_emits_no_tombstone(sim: Simulator) -> None:
    cfg = basic_config(sim, lookback_seconds=0, include_merges=False)
    a, b = sim.create_contacts(2)
    _member(sim, a, 1)
    first = sync(cfg, streams=["lead_lists_leads"])
    sim.merge_contacts(loser=a, victor=b)
    second = sync(cfg, streams=["lead_lists_leads"], state=first.last_state)
    assert not any(r.get("_sdc_deleted_at") for r in second.records["lead_lists_leads"])


def test_a_company_whose_only_member_was_the_loser_is_retracted_too(sim: Simulator) -> None:
    """The loser's companies_leads rows go with it; a company it alone belonged to has no row left to meet,
    so the tombstones also cover the companies the previous read met (``groups_read``)."""
    cfg = basic_config(sim, lookback_seconds=0)
    a, b = sim.create_contacts(2)
    company = int(sim.query("SELECT MAX(company_id) AS m FROM companies_leads")[0]["m"] or 0) + 1000
    sim.execute("INSERT INTO companies_leads (company_id, lead_id, date_added, is_primary) "
                "VALUES (?, ?, '2024-01-01 00:00:00', 0)", (company, a))
    first = sync(cfg, streams=["companies_leads"])
    assert (company, a) in {(r["company_id"], r["lead_id"]) for r in first.records["companies_leads"]}

    sim.merge_contacts(loser=a, victor=b)
    assert not sim.query("SELECT 1 FROM companies_leads WHERE company_id = ?", (company,))
    second = sync(cfg, streams=["companies_leads"], state=first.last_state)
    assert _warehouse(first, second, stream="companies_leads", first="company_id") == _truth(
        sim, "companies_leads", "company_id")
