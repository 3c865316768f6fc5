"""Rows of id-keyed full-read tables that a merge deleted with the loser leave the warehouse (tombstones by id).

Real 5.1.0 (2026-12-06, ``mautic:contacts:deduplicate``, MariaDB read before and after): the loser's
``lead_donotcontact``, ``lead_utmtags``, ``lead_frequencyrules``, ``lead_categories`` rows are deleted with it
(foreign keys ON DELETE CASCADE), not re-pointed; a full read simply no longer meets them.
"""

from __future__ import annotations

from mautic_sim import Simulator
from tap_mautic.retract import IDS_READ, id_runs
from tests.support.config import basic_config
from tests.support.tap import sync, warehouse_by_id

TABLES = ("lead_donotcontact", "lead_utmtags", "email_stats")


def _rows(sim: Simulator, lead: int) -> None:
    sim.execute("INSERT INTO lead_donotcontact (lead_id, date_added, reason, channel, channel_id, comments) "
                "VALUES (?, '2024-01-01 00:00:00', 1, 'email', NULL, '')", (lead,))
    sim.execute("INSERT INTO lead_utmtags (lead_id, date_added, utm_source) VALUES (?, '2024-01-01 00:00:00', 'news')", (lead,))
    sim.execute("INSERT INTO email_stats (lead_id, email_id, email_address, date_sent, is_read, is_failed, viewed_in_browser, "
                "retry_count, open_count, tracking_hash) VALUES (?, 1, 'x@example.org', '2024-01-01 00:00:00', 0, 0, 0, 0, 0, "
                "lower(hex(randomblob(8))))", (lead,))


def test_rows_deleted_with_the_loser_are_retracted(sim: Simulator) -> None:
    cfg = basic_config(sim, lookback_seconds=0)
    a, b = sim.create_contacts(2)
    _rows(sim, a)
    _rows(sim, b)
    first = sync(cfg, streams=TABLES)
    assert not any(r.get("_sdc_deleted_at") for t in TABLES for r in first.records.get(t, []))
    gone = {t: [r["id"] for r in sim.query(f"SELECT id FROM {t} WHERE lead_id = ?", (a,))] for t in TABLES}

    sim.merge_contacts(loser=a, victor=b)
    second = sync(cfg, streams=TABLES, state=first.last_state)
    for table in TABLES:
        truth = {int(r["id"]): r["lead_id"] for r in sim.query(f"SELECT id, lead_id FROM {table}")}
        assert warehouse_by_id(first, second, stream=table) == truth, table
        tombstones = [r["id"] for r in second.records[table] if r.get("_sdc_deleted_at")]
        # email_stats rows are re-pointed to the victor (kept), the others go with the loser
        assert tombstones == ([] if table == "email_stats" else gone[table]), table
    third = sync(cfg, streams=TABLES, state=second.last_state)
    assert not any(r.get("_sdc_deleted_at") for t in TABLES for r in third.records.get(t, []))


def test_a_resumed_read_keeps_the_previous_ids(sim: Simulator) -> None:
    """A read resumed after a crash did not meet the ids before its resume point: no tombstones for them."""
    cfg = basic_config(sim, lookback_seconds=0, page_size=2)
    for lead in sim.create_contacts(3):
        _rows(sim, lead)
    first = sync(cfg, streams=["lead_utmtags"])
    state = first.final_state
    stream_state = state["bookmarks"]["lead_utmtags"]
    ids = sorted(int(r["id"]) for r in sim.query("SELECT id FROM lead_utmtags"))
    assert stream_state[IDS_READ]["runs"] == id_runs(ids)
    stream_state["progress"] = next(  # the checkpoint a run killed after its first page leaves
        r for r in first.states if r.get("bookmarks", {}).get("lead_utmtags", {}).get("progress")
    )["bookmarks"]["lead_utmtags"]["progress"]
    sim.execute("DELETE FROM lead_utmtags WHERE id = ?", (ids[0],))  # before the resume point: not re-read
    resumed = sync(cfg, streams=["lead_utmtags"], state=state)
    assert ids[0] not in {r["id"] for r in resumed.records["lead_utmtags"]}  # it did resume
    assert ids[0] not in {r["id"] for r in resumed.records["lead_utmtags"]}  # it did resume
    assert not [r for r in resumed.records["lead_utmtags"] if r.get("_sdc_deleted_at")]
    assert resumed.final_state["bookmarks"]["lead_utmtags"][IDS_READ]["runs"] == id_runs(ids)


def test_id_runs() -> None:
    assert id_runs([1, 2, 3, 5, 7, 8]) == [[1, 3], [5, 5], [7, 8]]
    assert id_runs([]) == []
