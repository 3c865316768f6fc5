"""Merges through the real pipeline: `meltano run tap-mautic target-duckdb` (hard_delete) against the
simulator on every simulated Mautic version, merges of each kind Mautic makes them (a tracked visitor's form
submission naming a known contact's email, the UI merge, ``mautic:contacts:deduplicate``) between two
incremental runs and one (a form identification) during a run; afterwards DuckDB holds, table by table,
exactly the simulator's rows (keys and lead_id, no row of a merged contact), merges and deletions carry
their reasons, and the field-change history replayed from creation gives each contact's current values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mautic_sim import Simulator
from mautic_sim.versions import VERSIONS
from scripts.pipeline import DUCKDB_PYTHON, MELTANO, duckdb_query, meltano, meltano_env
from tests.support.config import SIM_PASSWORD, SIM_USER

pytestmark = pytest.mark.e2e

# table -> its key columns besides lead_id
EVENT_TABLES = {"page_hits": ("id",), "form_submissions": ("id",), "lead_points_change_log": ("id",),
                "lead_event_log": ("id",), "email_stats": ("id",)}
# id-keyed tables read in full: the loser's rows are deleted with it (tombstones by id, tap_mautic.retract)
EVENT_TABLES.update({"lead_donotcontact": ("id",), "lead_utmtags": ("id",)})
# id-incremental, the loser's rows deleted with it (ids kept and counted, tap_mautic.retract.cascade_tombstones)
EVENT_TABLES.update({"lead_stages_change_log": ("id",)})
MEMBERSHIP_TABLES = {"lead_lists_leads": ("leadlist_id",), "campaign_leads": ("campaign_id",)}
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"}
STREAMS = ["contacts", "deletions", "contact_merges", "contact_field_changes", *EVENT_TABLES, *MEMBERSHIP_TABLES]
TEXT_TYPES = ("text", "email", "tel", "url", "select", "lookup", "country", "region", "timezone", "locale")


@pytest.fixture(scope="module", autouse=True)
def _meltano_installed() -> None:
    assert MELTANO.exists() and DUCKDB_PYTHON.exists(), (
        "Meltano and its plugins are not installed: run `make meltano` (make test does)")


@pytest.fixture(params=sorted(VERSIONS))
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(contacts=30, seed=31, username=SIM_USER, password=SIM_PASSWORD,
                   mautic_version=request.param) as fresh:
        yield fresh


def _identify(sim: Simulator, form: int, known_email: str) -> int:
    """A browser visits a page (an anonymous contact, tracked by its device cookie), then submits ``form``
    with a known contact's email: Mautic merges the known contact into the visitor. Returns the visitor."""
    visit = requests.get(f"{sim.url}/mtracking.gif", params={"page_url": "http://x/p"}, headers=BROWSER, timeout=10)
    device = visit.cookies["mautic_device_id"]
    assert device is not None  # the tracking pixel sets it on every visit
    requests.post(f"{sim.url}/form/submit", params={"formId": form}, headers=BROWSER, timeout=10,
                  cookies={"mautic_device_id": device}, data={"mauticform[email]": known_email})
    return int(sim.query("SELECT lead_id FROM lead_devices WHERE tracking_id = ?", (device,))[0]["lead_id"])


def _activity(sim: Simulator, lead: int, group: int) -> None:
    """A page hit, a form submission, points, an event, an email stat, a do-not-contact, a UTM tag, a stage
    change, a segment and a campaign membership."""
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
    sim.execute("INSERT INTO lead_donotcontact (lead_id, date_added, reason, channel, comments) "
                "VALUES (?, '2024-01-01 00:00:00', 1, 'email', '')", (lead,))
    sim.execute("INSERT INTO lead_utmtags (lead_id, date_added, utm_source) VALUES (?, '2024-01-01 00:00:00', 'x')",
                (lead,))
    sim.execute("INSERT INTO lead_stages_change_log (lead_id, stage_id, event_name, action_name, date_added) "
                "VALUES (?, NULL, 'Manually Added', 'Manually Added', '2024-01-01 00:00:00')", (lead,))
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
    auth = (SIM_USER, SIM_PASSWORD)
    form = requests.post(f"{sim.url}/api/forms/new", json={"name": "Signup"}, auth=auth, timeout=10).json()["form"]["id"]
    a, c, d, e, f, g = sim.create_contacts(6)
    for lead, group in ((a, 1), (c, 2), (d, 1), (e, 2), (f, 2), (g, 1)):
        _activity(sim, lead, group)
    emails = {r["id"]: r["email"] for r in sim.query("SELECT id, email FROM leads")}
    _run(env)

    b = _identify(sim, form, emails[a])  # form identification: known contact a merged into the visitor b
    requests.post(f"{sim.url}/s/contacts/merge/{d}", data={"lead_merge[lead_to_merge]": str(c)}, auth=auth,
                  timeout=10).raise_for_status()  # UI merge: c into d (on screen)
    sim.execute("UPDATE leads SET email = ?, date_added = '2030-01-01 00:00:00' WHERE id = ?", (emails[e], f))
    dedup = requests.post(f"{sim.url}/_sim/console/mautic:contacts:deduplicate", auth=auth, timeout=10).json()
    assert dedup["merged"] == [[e, f]]  # older (e) into newer (f)
    merged: dict[str, Any] = {"done": False}

    def merge_during_the_run(method: str, path: str, query: str) -> None:
        if path.endswith("/stats/page_hits") and not merged["done"]:
            merged["done"] = True
            merged["visitor"] = _identify(sim, form, emails[g])

    sim.add_hook(merge_during_the_run)
    _run(env)
    assert merged["done"]
    _run(env)  # a merge during a run is reflected by the end of the next run
    h = merged["visitor"]
    pairs = {(a, b), (c, d), (e, f), (g, h)}
    losers = {loser for loser, _ in pairs}

    for table, columns in {**EVENT_TABLES, **MEMBERSHIP_TABLES}.items():
        truth = _truth(sim, table, columns)
        assert not {row for row in truth if row[-1] in losers}, table
        assert _rows(database, table, columns) == truth, table

    merges = {(r["loser_id"], r["victor_id"]) for r in duckdb_query(
        database, "SELECT loser_id, victor_id FROM mautic.contact_merges")}
    seeded = {(int(r["object_id"]), int(r["details"].split("i:")[-1].rstrip(";}"))) for r in sim.query(
        "SELECT object_id, details FROM audit_log WHERE action = 'merge'")} - pairs
    assert merges == pairs | seeded  # the simulator's seed holds merges of its own
    reasons = {r["object_id"]: (r["reason"], r["merged_into"]) for r in duckdb_query(
        database, "SELECT object_id, reason, merged_into FROM mautic.deletions WHERE object = 'lead'")}
    assert {k: reasons[k] for k in losers} == {loser: ("merge", victor) for loser, victor in pairs}
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
        if lead in leads and (lead, alias) != (f, "email"):  # f's email was set in SQL: no audit row holds it
            assert (leads[lead].get(alias) or None) == value, (lead, alias)
            checked += 1
    assert checked >= 3 * len(leads)  # firstname, lastname, email at least, for every contact
    assert {lead for lead, _ in replayed} >= set(leads)
