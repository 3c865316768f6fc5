# ruff: noqa: E501
"""Merges through the real pipeline: `meltano run tap-mautic target-duckdb` (hard_delete) against the
simulator, merges between two incremental runs and one during a run; afterwards DuckDB holds, table by table,
exactly the simulator's rows (keys and lead_id, no row of a merged contact), merges and deletions carry
their reasons, and the field-change history replayed from creation gives each contact's current values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from scripts.pipeline import DUCKDB_PYTHON, MELTANO, duckdb_query, meltano, meltano_env
from tests.support.config import SIM_PASSWORD, SIM_USER

pytestmark = pytest.mark.e2e

# table -> its key columns besides lead_id
EVENT_TABLES = {"page_hits": ("id",), "form_submissions": ("id",), "lead_points_change_log": ("id",),
                "lead_event_log": ("id",), "email_stats": ("id",)}
MEMBERSHIP_TABLES = {"lead_lists_leads": ("leadlist_id",), "campaign_leads": ("campaign_id",)}
STREAMS = ["contacts", "deletions", "contact_merges", "contact_field_changes", *EVENT_TABLES, *MEMBERSHIP_TABLES]
TEXT_TYPES = ("text", "email", "tel", "url", "select", "lookup", "country", "region", "timezone", "locale")


@pytest.fixture(scope="module", autouse=True)
def _meltano_installed() -> None:
    assert MELTANO.exists() and DUCKDB_PYTHON.exists(), (
        "Meltano and its plugins are not installed: run `make meltano` (make test does)")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(contacts=30, seed=31, username=SIM_USER, password=SIM_PASSWORD) as fresh:
        yield fresh


def _activity(sim: Simulator, lead: int, group: int) -> None:
    """A page hit, a form submission, points, an event, an email stat, a segment and a campaign membership."""
    for sql in (
        "INSERT INTO page_hits (lead_id, page_id, url, date_hit, code) VALUES (?, 1, 'http://x/a', '2024-01-01 00:00:00', 200)",
        "INSERT INTO form_submissions (lead_id, form_id, date_submitted) VALUES (?, 1, '2024-01-01 00:00:00')",
        "INSERT INTO lead_points_change_log (lead_id, type, event_name, action_name, delta, date_added) "
        "VALUES (?, 'API', 'add', 'API', 3, '2024-01-01 00:00:00')",
        "INSERT INTO lead_event_log (lead_id, bundle, object, action, date_added) "
        "VALUES (?, 'lead', 'api-single', 'identified_contact', '2024-01-01 00:00:00')",
        "INSERT INTO email_stats (lead_id, email_id, email_address, date_sent, is_read, is_failed, viewed_in_browser, "
        "retry_count, open_count, tracking_hash) VALUES (?, 1, 'x@example.org', '2024-01-01 00:00:00', 0, 0, 0, 0, 0, "
        "lower(hex(randomblob(8))))",
    ):
        sim.execute(sql, (lead,))
    sim.execute("INSERT OR IGNORE INTO lead_lists_leads (leadlist_id, lead_id, date_added, manually_added, "
                "manually_removed) VALUES (?, ?, '2024-01-01 00:00:00', 1, 0)", (group, lead))
    sim.execute("INSERT OR IGNORE INTO campaign_leads (campaign_id, lead_id, date_added, manually_added, "
                "manually_removed, rotation) VALUES (?, ?, '2024-01-01 00:00:00', 1, 0, 1)", (group, lead))


def _run(env: dict[str, str]) -> str:
    return meltano("--environment", "sim", "run", "tap-mautic", "target-duckdb", env=env).stdout


def _rows(database: Path, table: str, columns: tuple[str, ...]) -> set[tuple[Any, ...]]:
    cols = ", ".join((*columns, "lead_id"))
    return {tuple(None if v is None else int(v) for v in r.values())
            for r in duckdb_query(database, f"SELECT {cols} FROM mautic.{table}")}


def _truth(sim: Simulator, table: str, columns: tuple[str, ...]) -> set[tuple[Any, ...]]:
    cols = ", ".join((*columns, "lead_id"))
    return {tuple(None if v is None else int(v) for v in r.values()) for r in sim.query(f"SELECT {cols} FROM {table}")}


def test_merges_between_and_during_runs_leave_duckdb_equal_to_mautic(tmp_path: Path, sim: Simulator) -> None:
    env = meltano_env(tmp_path, {
        "MAUTIC_SIM_URL": sim.url, "MAUTIC_SIM_PASSWORD": SIM_PASSWORD, "TARGET_DUCKDB_HARD_DELETE": "true",
        "TAP_MAUTIC__SELECT": json.dumps([f"{s}.*" for s in STREAMS])})
    database = tmp_path / "warehouse.duckdb"
    a, b, c, d, e, f = sim.create_contacts(6)
    for lead, group in ((a, 1), (b, 1), (c, 2), (d, 1), (e, 2), (f, 2)):
        _activity(sim, lead, group)
    _run(env)

    sim.merge_contacts(loser=a, victor=b)  # both in segment/campaign 1: the loser's duplicate is dropped
    sim.merge_contacts(loser=c, victor=d)  # c's segment/campaign 2 moves to d
    merged = {"done": False}

    def merge_during_the_run(method: str, path: str, query: str) -> None:
        if path.endswith("/stats/page_hits") and not merged["done"]:
            merged["done"] = True
            sim.merge_contacts(loser=e, victor=f)

    sim.add_hook(merge_during_the_run)
    _run(env)
    assert merged["done"]
    _run(env)  # a merge during a run is reflected by the end of the next run

    for table, columns in {**EVENT_TABLES, **MEMBERSHIP_TABLES}.items():
        truth = _truth(sim, table, columns)
        assert not {row for row in truth if row[-1] in (a, c, e)}, table
        assert _rows(database, table, columns) == truth, table

    merges = {(r["loser_id"], r["victor_id"]) for r in duckdb_query(
        database, "SELECT loser_id, victor_id FROM mautic.contact_merges")}
    seeded = {(int(r["object_id"]), int(r["details"].split("i:")[-1].rstrip(";}"))) for r in sim.query(
        "SELECT object_id, details FROM audit_log WHERE action = 'merge'")} - {(a, b), (c, d), (e, f)}
    assert merges == {(a, b), (c, d), (e, f)} | seeded  # the simulator's seed holds merges of its own
    reasons = {r["object_id"]: (r["reason"], r["merged_into"]) for r in duckdb_query(
        database, "SELECT object_id, reason, merged_into FROM mautic.deletions WHERE object = 'lead'")}
    assert {k: reasons[k] for k in (a, c, e)} == {a: ("merge", b), c: ("merge", d), e: ("merge", f)}
    assert {k: v for k, v in reasons.items() if v[0] == "merge"} == {loser: ("merge", victor) for loser, victor in merges}
    contacts = {r["id"] for r in duckdb_query(database, "SELECT id FROM mautic.contacts")}
    assert contacts == {r["id"] for r in sim.query("SELECT id FROM leads")}  # losers hard-deleted

    # replay every contact's text fields from its creation: the last new_value is the current value
    replayed: dict[tuple[int, str], Any] = {}
    for r in duckdb_query(database, "SELECT object_id, alias, new_value, field_type FROM mautic.contact_field_changes "
                                    "ORDER BY audit_id"):
        if r["field_type"] in TEXT_TYPES:
            replayed[(int(r["object_id"]), r["alias"])] = r["new_value"]
    leads = {int(r["id"]): r for r in sim.query("SELECT * FROM leads")}
    checked = 0
    for (lead, alias), value in replayed.items():
        if lead in leads:
            assert (leads[lead].get(alias) or None) == value, (lead, alias)
            checked += 1
    assert checked >= 3 * len(leads)  # firstname, lastname, email at least, for every contact
    assert {lead for lead, _ in replayed} >= set(leads)
