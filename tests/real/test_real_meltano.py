"""The main job on a real Mautic 5.1.0: `meltano run tap-mautic target-duckdb`, then an incremental run.

Real Meltano (the project's meltano.yml, its `sim` environment pointed at the real server), real
target-duckdb; the warehouse is compared with MariaDB, not with the tap's own output.
"""

from __future__ import annotations

import time
from pathlib import Path

from scripts.pipeline import duckdb_query, duckdb_table_counts, meltano, meltano_env, tap_record_counts
from tests.real.conftest import RealMautic
from tests.real.support import client, seed


def test_main_job_into_duckdb_then_incremental(real: RealMautic, tmp_path: Path) -> None:
    seeded = seed(real, contacts=120)
    env = meltano_env(tmp_path, {"MAUTIC_SIM_URL": real.url, "MAUTIC_SIM_PASSWORD": real.password})
    database = tmp_path / "warehouse.duckdb"
    done = meltano("--environment", "sim", "run", "tap-mautic", "target-duckdb", env=env)
    emitted = tap_record_counts(done.stdout)
    tables = duckdb_table_counts(database)
    assert {t: n for t, n in tables.items() if n} == {s: n for s, n in emitted.items() if n}
    leads = {int(r["id"]): r for r in real.sql("SELECT id, email, city, acc_ratio FROM leads")}
    warehouse = {r["id"]: r for r in duckdb_query(database, "SELECT id, email, city, acc_ratio "
                                                            "FROM mautic.contacts")}
    assert set(warehouse) == set(leads)
    assert all(warehouse[i]["email"] == r["email"] and warehouse[i]["city"] == r["city"]
               and float(warehouse[i]["acc_ratio"]) == float(r["acc_ratio"]) for i, r in leads.items())
    members = real.sql("SELECT leadlist_id, lead_id FROM lead_lists_leads")
    assert tables["lead_lists_leads"] == len(members) == 40

    time.sleep(1.1)
    api = client(real)
    edited, deleted = seeded.contacts[:3], seeded.contacts[5:7]
    try:
        for contact_id in edited:
            api.edit("contacts", contact_id, {"city": f"Meltano {contact_id}"})
        for contact_id in deleted:
            api.delete("contacts", contact_id)
    finally:
        api.close()
    time.sleep(1.1)
    done = meltano("--environment", "sim", "run", "tap-mautic", "target-duckdb", env=env)
    assert tap_record_counts(done.stdout)["contacts"] == len(edited) + len(deleted)
    rows = {r["id"]: r for r in duckdb_query(database, "SELECT id, city, _sdc_deleted_at "
                                                       "FROM mautic.contacts")}
    assert all(rows[i]["city"] == f"Meltano {i}" for i in edited)
    assert all(rows[i]["_sdc_deleted_at"] is not None for i in deleted)
    live = {i for i, r in rows.items() if r["_sdc_deleted_at"] is None}
    assert live == {int(r["id"]) for r in real.sql("SELECT id FROM leads")}
    gone = duckdb_query(database, "SELECT object_id FROM mautic.deletions WHERE object = 'lead'")
    assert {r["object_id"] for r in gone} == set(deleted)
