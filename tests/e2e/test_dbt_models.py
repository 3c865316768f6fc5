"""The warehouse models (transform/) on real data: the main job `mautic-to-duckdb` (tap-mautic ->
target-duckdb -> dbt-duckdb:build, models and their dbt tests) run by Meltano against a simulator, the marts
then checked against the simulator's own tables (its SQLite, the oracle), across merges (a chain, and one
after the first load), a deletion and a second, incremental run over the views the first one built.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mautic_api.client import MauticClient
from mautic_sim import Simulator
from scripts.pipeline import DUCKDB_PYTHON, MELTANO, duckdb_query, meltano, meltano_env
from tests.support.config import SIM_PASSWORD, SIM_USER

pytestmark = pytest.mark.e2e

TEXT_FIELDS = ("email", "firstname", "lastname", "city", "plan")


@pytest.fixture(scope="module", autouse=True)
def _meltano_installed() -> None:
    assert MELTANO.exists() and DUCKDB_PYTHON.exists(), (
        "Meltano and its plugins are not installed: run `make meltano` (make test does)"
    )


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(contacts=120, seed=31, username=SIM_USER, password=SIM_PASSWORD) as fresh:
        yield fresh


def engaged(sim: Simulator) -> list[int]:
    """Live contacts with email stats, in id order."""
    return [r["lead_id"] for r in sim.query(
        "SELECT DISTINCT s.lead_id FROM email_stats s JOIN leads l ON l.id = s.lead_id ORDER BY s.lead_id")]


def give_engagement(sim: Simulator) -> None:
    """The seed has no clicks, no per-email do-not-contact: name an email the contact got in some of each."""
    sim.execute("UPDATE page_hits SET email_id = (SELECT MIN(s.email_id) FROM email_stats s "
                "WHERE s.lead_id = page_hits.lead_id) WHERE id % 2 = 0")
    sim.execute("UPDATE lead_donotcontact SET channel_id = (SELECT MIN(s.email_id) FROM email_stats s "
                "WHERE s.lead_id = lead_donotcontact.lead_id) WHERE reason IN (1, 2)")
    assert sim.query("SELECT COUNT(*) AS n FROM page_hits WHERE email_id IS NOT NULL")[0]["n"] > 0
    assert sim.query("SELECT COUNT(*) AS n FROM lead_donotcontact WHERE channel_id IS NOT NULL "
                     "AND reason IN (1, 2)")[0]["n"] > 0


def run_main_job(env: dict[str, str]) -> str:
    done = meltano("--environment", "sim", "run", "mautic-to-duckdb", env=env, timeout=900)
    return done.stdout


def expected_engagement(sim: Simulator) -> dict[tuple[int, int], dict[str, int]]:
    """Per (email, live contact): sent, read, clicked, bounced, unsubscribed, counted in the simulator."""
    out: dict[tuple[int, int], Counter[str]] = {}
    for row in sim.query("SELECT s.email_id, s.lead_id, COUNT(*) AS sent, SUM(s.is_read) AS read "
                         "FROM email_stats s JOIN leads l ON l.id = s.lead_id "
                         "WHERE s.email_id IS NOT NULL GROUP BY 1, 2"):
        pair = (row["email_id"], row["lead_id"])
        out.setdefault(pair, Counter()).update(sent=row["sent"], read=row["read"])
    for row in sim.query("SELECT h.email_id, h.lead_id, COUNT(*) AS n FROM page_hits h "
                         "JOIN leads l ON l.id = h.lead_id WHERE h.email_id IS NOT NULL GROUP BY 1, 2"):
        out.setdefault((row["email_id"], row["lead_id"]), Counter()).update(clicked=row["n"])
    for row in sim.query("SELECT d.channel_id, d.lead_id, d.reason, COUNT(*) AS n FROM lead_donotcontact d "
                         "JOIN leads l ON l.id = d.lead_id WHERE d.channel = 'email' "
                         "AND d.channel_id IS NOT NULL AND d.reason IN (1, 2) GROUP BY 1, 2, 3"):
        kind = "unsubscribed" if row["reason"] == 1 else "bounced"
        out.setdefault((row["channel_id"], row["lead_id"]), Counter()).update({kind: row["n"]})
    keys = ("sent", "read", "clicked", "bounced", "unsubscribed")
    return {pair: {k: int(c[k]) for k in keys} for pair, c in out.items()}


def check_marts(sim: Simulator, database: Path) -> None:
    live = {r["id"] for r in sim.query("SELECT id FROM leads")}
    mart = {r["contact_id"] for r in duckdb_query(database, "SELECT contact_id FROM analytics.contacts")}
    assert mart == live

    got = {(r["email_id"], r["contact_id"]): {k: r[k] for k in ("sent", "read", "clicked", "bounced",
                                                                   "unsubscribed")}
           for r in duckdb_query(database, "SELECT * FROM analytics.email_engagement")}
    assert got == expected_engagement(sim)

    # the field history replayed to today gives every contact's current values (all were created in the log)
    current = {r["contact_id"]: r for r in duckdb_query(
        database, f"SELECT contact_id, {', '.join(TEXT_FIELDS)} FROM analytics.contact_history "
                  "WHERE valid_to IS NULL")}
    now = {r["id"]: r for r in sim.query(f"SELECT id, {', '.join(TEXT_FIELDS)} FROM leads")}
    assert set(current) == live
    differing = {i: (current[i], now[i]) for i in live
                 if any((current[i][f] or None) != (now[i][f] or None) for f in TEXT_FIELDS)}
    assert differing == {}


def test_main_job_builds_marts_that_agree_with_mautic(tmp_path, sim):
    give_engagement(sim)
    ids = engaged(sim)
    members = {r["lead_id"] for r in sim.query("SELECT lead_id FROM lead_lists_leads")}
    late_loser = next(i for i in ids[3:] if i in members)  # its membership rows stay under its id
    ids = [i for i in ids if i != late_loser]
    first, middle, last, late_victor = ids[0], ids[1], ids[2], ids[3]
    sim.merge_contacts(first, middle)  # a chain: first -> middle -> last
    sim.merge_contacts(middle, last)
    env = meltano_env(tmp_path, {"MAUTIC_SIM_URL": sim.url, "MAUTIC_SIM_PASSWORD": SIM_PASSWORD})
    database = tmp_path / "warehouse.duckdb"

    output = run_main_job(env)
    assert "dbt-duckdb" in output and "Completed successfully" in output  # models built, dbt tests passed
    chain = {r["loser_id"]: r["contact_id"] for r in duckdb_query(
        database, "SELECT loser_id, contact_id FROM analytics_staging.stg_mautic__merge_map")}
    assert chain[first] == last and chain[middle] == last
    check_marts(sim, database)

    # after the load: a late merge (rows Mautic re-pointed still sit under the loser in the membership
    # tables), a deletion through the API and an edit; the next run loads over the views dbt built
    sim.merge_contacts(late_loser, late_victor)
    client = MauticClient({"base_url": sim.url, "username": SIM_USER, "password": SIM_PASSWORD})
    deleted = ids[5]
    client.delete("contacts", deleted)
    client.edit("contacts", ids[6], {"city": "After The Load"})
    output = run_main_job(env)
    assert "Completed successfully" in output
    check_marts(sim, database)
    memberships = duckdb_query(database, "SELECT DISTINCT contact_id FROM "
                                         "analytics_staging.stg_mautic__lead_lists_leads")
    assert late_loser not in {r["contact_id"] for r in memberships} and deleted not in {
        r["contact_id"] for r in duckdb_query(database, "SELECT contact_id FROM analytics.contacts")}
    history = duckdb_query(database, f"SELECT city, valid_to FROM analytics.contact_history "
                                     f"WHERE contact_id = {ids[6]} ORDER BY version")
    assert history[-1] == {"city": "After The Load", "valid_to": None} and len(history) >= 2


def test_main_job_into_postgres_builds_the_same_marts(tmp_path, sim, pg):
    give_engagement(sim)
    ids = engaged(sim)
    sim.merge_contacts(ids[0], ids[1])
    pg.psql("CREATE DATABASE warehouse")
    env = meltano_env(tmp_path, {"MAUTIC_SIM_URL": sim.url, "MAUTIC_SIM_PASSWORD": SIM_PASSWORD,
                                 "PG_HOST": pg.host, "PG_PORT": str(pg.port), "PG_USER": pg.user,
                                 "PG_PASSWORD": pg.password, "PG_DATABASE": "warehouse"})
    output = meltano("--environment", "sim", "run", "mautic-to-postgres", env=env, timeout=900).stdout
    assert "Completed successfully" in output
    live = {r["id"] for r in sim.query("SELECT id FROM leads")}
    mart = {int(i) for i in pg.psql("SELECT contact_id FROM analytics.contacts", "warehouse").split()}
    assert mart == live
    rows = pg.psql("SELECT json_agg(json_build_object('e', email_id, 'c', contact_id, 'sent', sent, 'read', "
                   "read, 'clicked', clicked, 'bounced', bounced, 'unsubscribed', unsubscribed)) "
                   "FROM analytics.email_engagement", "warehouse")
    got = {(r["e"], r["c"]): {k: r[k] for k in ("sent", "read", "clicked", "bounced", "unsubscribed")}
           for r in json.loads(rows)}
    assert got == expected_engagement(sim)
    pairs = ", ".join(f"'{f}', {f}" for f in TEXT_FIELDS)
    history = pg.psql(f"SELECT json_agg(json_build_object('id', contact_id, {pairs})) "
                      "FROM analytics.contact_history WHERE valid_to IS NULL", "warehouse")
    current = {r["id"]: r for r in json.loads(history)}
    now = {r["id"]: r for r in sim.query(f"SELECT id, {', '.join(TEXT_FIELDS)} FROM leads")}
    assert set(current) == live
    assert [i for i in live if any((current[i][f] or None) != (now[i][f] or None) for f in TEXT_FIELDS)] == []
