"""tap-mautic against a real Mautic 5.1.0, every record checked against MariaDB (not against the API).

Full sync, an incremental run after edits, creates and deletes, and a sample of stats streams compared with
the tables behind them.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from tests.real.conftest import RealMautic
from tests.real.support import client, seed
from tests.support.tap import SyncResult, sync

STREAMS = ["contacts", "companies", "segments", "lead_lists_leads", "companies_leads", "notes",
           "lead_points_change_log", "audit_log", "deletions", "contact_fields"]


def _num(value: Any) -> float | None:
    return None if value is None else float(Decimal(str(value)))


def _by_id(rows: list[dict[str, Any]], key: str = "id") -> dict[int, dict[str, Any]]:
    return {int(r[key]): r for r in rows}


def _check_contacts(real: RealMautic, out: SyncResult) -> None:
    rows = _by_id(real.sql("SELECT id, email, firstname, lastname, city, acc_ratio, is_vip, renewal_on, plan "
                           "FROM leads"))
    emitted = _by_id([r for r in out.records["contacts"] if r.get("_sdc_deleted_at") is None])
    assert set(emitted) == set(rows)
    for contact_id, row in rows.items():
        rec = emitted[contact_id]
        assert (rec["email"], rec["firstname"], rec["lastname"], rec["city"]) == (
            row["email"], row["firstname"], row["lastname"], row["city"]), contact_id
        assert _num(rec["acc_ratio"]) == _num(row["acc_ratio"]), contact_id
        assert rec["is_vip"] == (None if row["is_vip"] is None else bool(int(row["is_vip"]))), contact_id
        assert rec["renewal_on"] == (row["renewal_on"] and row["renewal_on"].isoformat()), contact_id
        assert rec["plan"] == row["plan"], contact_id


def test_full_sync_equals_the_database(real: RealMautic) -> None:
    seeded = seed(real)
    out = sync(real.config(page_size=100), streams=STREAMS)
    assert len(seeded.contacts) == 230
    _check_contacts(real, out)
    # custom fields are typed columns of the contacts schema
    props = out.schemas["contacts"]["properties"]
    assert "number" in props["acc_ratio"]["type"] and "boolean" in props["is_vip"]["type"]
    assert props["renewal_on"].get("format") == "date"
    assert {int(r["id"]) for r in out.records["companies"]} == {
        int(r["id"]) for r in real.sql("SELECT id FROM companies")}
    assert {(int(r["leadlist_id"]), int(r["lead_id"])) for r in out.records["lead_lists_leads"]} == {
        (int(r["leadlist_id"]), int(r["lead_id"])) for r in real.sql("SELECT leadlist_id, lead_id FROM "
                                                                     "lead_lists_leads")}
    assert {(int(r["company_id"]), int(r["lead_id"])) for r in out.records["companies_leads"]} == {
        (int(r["company_id"]), int(r["lead_id"])) for r in real.sql("SELECT company_id, lead_id FROM "
                                                                    "companies_leads")}
    notes = _by_id(real.sql("SELECT id, lead_id, text FROM lead_notes"))
    assert {int(r["id"]): r["text"] for r in out.records["notes"]} == {i: r["text"] for i, r in notes.items()}
    points = _by_id(real.sql("SELECT id, lead_id, delta FROM lead_points_change_log"))
    assert len(points) == 5
    assert {int(r["id"]): (int(r["lead_id"]), int(r["delta"])) for r in
            out.records["lead_points_change_log"]} == {
        i: (int(r["lead_id"]), int(r["delta"])) for i, r in points.items()}
    assert {int(r["id"]) for r in out.records["audit_log"]} == {
        int(r["id"]) for r in real.sql("SELECT id FROM audit_log")}
    assert {r["alias"] for r in out.records["contact_fields"]} == {
        r["alias"] for r in real.sql("SELECT alias FROM lead_fields WHERE object = 'lead'")}
    assert out.last_state and "bookmarks" in out.last_state


def test_incremental_run_carries_exactly_the_edits_creates_and_deletes(real: RealMautic) -> None:
    seeded = seed(real, contacts=150)
    first = sync(real.config(page_size=100), streams=STREAMS)
    assert len(first.ids("contacts")) == 150
    time.sleep(1.1)  # Mautic stores seconds
    api = client(real)
    edited, deleted = seeded.contacts[10:13], seeded.contacts[20:22]
    try:
        for contact_id in edited:
            api.edit("contacts", contact_id, {"city": f"Edited {contact_id}", "acc_ratio": 9.5})
        _, created = api.create("contacts", {"email": "real.new@example.org", "firstname": "New"})
        for contact_id in deleted:
            api.delete("contacts", contact_id)
        api.request("POST", f"/api/contacts/{seeded.contacts[30]}/points/plus/3")
    finally:
        api.close()
    time.sleep(1.1)
    second = sync(real.config(page_size=100), streams=STREAMS, state=first.last_state)
    # a points change moves the contact's dateModified on a real 5.1.0 (seen 2026-12-06): it is re-read too
    assert second.ids("contacts") == {*edited, int(created["id"]), seeded.contacts[30]}
    assert second.ids("contacts", deleted=True) == set(deleted)
    _check_contacts(real, _merged(first, second))
    # the deletions stream names the deleted contacts, as the audit log does
    logged = {int(r["object_id"]) for r in real.sql(
        "SELECT object_id FROM audit_log WHERE bundle = 'lead' AND object = 'lead' AND action = 'delete'")}
    assert logged == set(deleted)
    assert {int(r["object_id"]) for r in second.records["deletions"] if r["object"] == "lead"} == logged
    # an id-incremental stats stream carries only the new row
    new_points = real.sql("SELECT id FROM lead_points_change_log WHERE lead_id = %s AND delta = 3",
                          seeded.contacts[30])
    assert {int(r["id"]) for r in second.records["lead_points_change_log"]} == {int(new_points[0]["id"])}
    # a third run with no change carries no contact
    third = sync(real.config(page_size=100), streams=["contacts"], state=second.last_state)
    assert third.ids("contacts", deleted=None) == set()


def _merged(first: SyncResult, second: SyncResult) -> SyncResult:
    """What an upserting loader holds after both runs: the later record of an id wins, deletes remove."""
    rows = {int(r["id"]): r for r in first.records["contacts"]}
    for rec in second.records["contacts"]:
        if rec.get("_sdc_deleted_at") is not None:
            rows.pop(int(rec["id"]), None)
        else:
            rows[int(rec["id"])] = rec
    merged = SyncResult([])
    merged.records["contacts"] = list(rows.values())
    return merged
