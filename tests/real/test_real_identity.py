"""Identity and history on a real Mautic 5.1.0: a ``mautic:contacts:deduplicate`` merge between two
incremental runs, and field changes replayed from creation, every result checked against MariaDB.
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any

from tests.real.conftest import RealMautic
from tests.real.support import client, seed
from tests.support.tap import SyncResult, sync

STREAMS = ["contacts", "deletions", "contact_merges", "contact_field_changes", "company_field_changes",
           "lead_points_change_log", "lead_event_log"]
REPLAYED = ("firstname", "lastname", "email", "city", "phone", "country", "points", "acc_ratio", "is_vip",
            "renewal_on", "plan")


def _upserted(stream: str, *runs: SyncResult) -> dict[int, int | None]:
    """id -> lead_id after upserting the runs' records by id, as a loader does."""
    out: dict[int, int | None] = {}
    for run in runs:
        for rec in run.records.get(stream, []):
            out[int(rec["id"])] = rec["lead_id"]
    return out


def _db_value(alias: str, value: Any) -> Any:
    """A MariaDB column value as the change stream types it."""
    if value is None or value == "":
        return None
    if alias in ("acc_ratio", "points"):
        return float(Decimal(str(value)))
    if alias == "is_vip":
        return bool(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _replayed(alias: str, value: str | None) -> Any:
    """A change record's text value as the field's type reads it."""
    if value is None:
        return 0.0 if alias == "points" else None  # a contact created without points has 0, and no change
    if alias in ("acc_ratio", "points"):
        return float(value)
    if alias == "is_vip":
        return {"true": True, "false": False}[value]
    return value


def test_deduplicate_merge_between_incremental_runs(real: RealMautic, tmp_path: Any) -> None:
    seeded = seed(real, contacts=12)
    api = client(real)
    try:
        _, older = api.create("contacts", {"firstname": "Ada", "lastname": "Older", "city": "Berlin",
                                           "email": "dup@example.com", "phone": "111", "points": 3})
        time.sleep(1.1)  # Mautic stores seconds: the newer contact must be newer
        _, newer = api.create("contacts", {"firstname": "Adá", "email": "dup2@example.com",
                                           "country": "France", "points": 2})
        loser, victor = int(older["id"]), int(newer["id"])
        for contact_id, delta in ((loser, 5), (victor, 4)):
            api.request("POST", f"/api/segments/{seeded.segment}/contact/{contact_id}/add")
            api.request("POST", f"/api/contacts/{contact_id}/points/plus/{delta}")
        api.request("PATCH", f"/api/contacts/{victor}/edit", json={"lastname": "Newer"})
    finally:
        api.close()
    first = sync(real.config(page_size=100, lookback_seconds=0), streams=STREAMS)
    assert {r["lead_id"] for r in first.records["lead_points_change_log"]} >= {loser, victor}

    # Two contacts with one email (set in the database: the API refuses it), merged by Mautic's console
    # command: by default the older contact is merged into the newer one.
    time.sleep(1.1)
    real.execute("UPDATE leads SET email = 'dup@example.com' WHERE id = %s", victor)
    real.console("mautic:contacts:deduplicate")
    assert not real.sql("SELECT id FROM leads WHERE id = %s", loser)
    second = sync(real.config(page_size=100, lookback_seconds=0), streams=STREAMS, state=first.last_state)

    merge_rows = real.sql("SELECT id, object_id, user_name FROM audit_log WHERE action = 'merge'")
    assert [(r["loser_id"], r["victor_id"], r["user_name"]) for r in second.records["contact_merges"]] == [
        (loser, victor, "System")] == [(int(r["object_id"]), victor, r["user_name"]) for r in merge_rows]
    gone = [r for r in second.records["deletions"] if r["object"] == "lead"]
    assert [(r["object_id"], r["reason"], r["merged_into"], r["name"]) for r in gone] == [
        (loser, "merge", victor, "Ada Older")]
    # the rows Mautic re-pointed in place reach the warehouse: upserted by id, it equals MariaDB
    for table in ("lead_points_change_log", "lead_event_log"):
        truth = {int(r["id"]): int(r["lead_id"]) for r in real.sql(f"SELECT id, lead_id FROM {table}")}
        assert _upserted(table, first, second) == truth, table
        assert loser not in set(truth.values())

    # field changes replayed from creation give every contact's current values (the victor's email excepted:
    # it was set in SQL above, outside Mautic, so no audit row holds it)
    state: dict[int, dict[str, Any]] = {}
    for run in (first, second):
        for rec in sorted(run.records["contact_field_changes"], key=lambda r: (r["audit_id"], r["alias"])):
            state.setdefault(rec["object_id"], {})[rec["alias"]] = rec["new_value"]
    rows = real.sql(f"SELECT id, {', '.join(REPLAYED)} FROM leads")
    assert len(rows) == 13
    for row in rows:
        for alias in REPLAYED:
            if (row["id"], alias) == (victor, "email"):
                continue
            assert _replayed(alias, state.get(row["id"], {}).get(alias)) == _db_value(alias, row[alias]), (
                row["id"], alias)
    # the merge's own update (System, no manipulator) carries the values the victor took from the loser
    merged = [r for r in second.records["contact_field_changes"] if r["object_id"] == victor]
    assert {(r["alias"], r["new_value"]) for r in merged} >= {("phone", "111"), ("city", "Berlin")}
    assert {r["user_name"] for r in merged} == {"System"} and {r["manipulator"] for r in merged} == {None}
    companies = {r["object_id"]: r for r in first.records["company_field_changes"]
                 if r["alias"] == "companyname"}
    assert {k: v["new_value"] for k, v in companies.items()} == {
        int(r["id"]): r["companyname"] for r in real.sql("SELECT id, companyname FROM companies")}

    third = sync(real.config(page_size=100, lookback_seconds=0), streams=STREAMS, state=second.last_state)
    for stream in ("contact_merges", "deletions", "lead_points_change_log", "contact_field_changes"):
        assert not third.records.get(stream), stream


BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
           "X-Forwarded-For": "93.184.216.34"}  # a browser at a trackable address (curl and loopback are not)


def test_form_identification_merge_between_incremental_runs(real: RealMautic) -> None:
    """A tracked anonymous visitor submits a form with a known contact's email: Mautic merges the known
    contact *into the visitor* (SubmissionModel::createLeadFromSubmit); the known contact's do-not-contact
    and UTM rows are deleted with it, its form submissions re-pointed."""
    import requests

    streams = ["contacts", "deletions", "contact_merges", "form_submissions", "lead_donotcontact",
               "lead_utmtags"]
    api = client(real)
    try:
        _, known = api.create("contacts", {"firstname": "Known", "lastname": "Person",
                                           "email": "known@example.com", "city": "Paris"})
        form = api.request("POST", "/api/forms/new", json={
            "name": "Signup", "alias": "signup", "formType": "standalone", "isPublished": True,
            "postAction": "message", "postActionProperty": "thanks",
            "fields": [{"label": "Email", "alias": "email", "type": "email", "mappedObject": "contact",
                        "mappedField": "email"},
                       {"label": "Submit", "alias": "submit", "type": "button"}]})
        form_id = int(form["form"]["id"])
        known_id = int(known["id"])
        api.request("POST", f"/api/contacts/{known_id}/dnc/email/add")
        api.request("POST", f"/api/contacts/{known_id}/utm/add", json={"utm_source": "news", "url": "http://x"})
    finally:
        api.close()
    data = {"mauticform[email]": "known@example.com", "mauticform[formId]": str(form_id),
            "mauticform[return]": "", "mauticform[formName]": "signup", "mauticform[messenger]": "1"}
    visit = requests.get(f"{real.url}/mtracking.gif", params={"page_url": "http://x/a"}, headers=BROWSER,
                         timeout=60)
    device = visit.cookies["mautic_device_id"]
    assert device is not None  # the tracking pixel sets it on every visit
    visitor = int(real.sql("SELECT lead_id FROM lead_devices WHERE tracking_id = %s", device)[0]["lead_id"])
    assert visitor != known_id
    first = sync(real.config(page_size=100, lookback_seconds=0), streams=streams)
    gone = {t: {int(r["id"]) for r in real.sql(f"SELECT id FROM {t} WHERE lead_id = %s", known_id)}
            for t in ("lead_donotcontact", "lead_utmtags")}
    assert all(gone.values())

    time.sleep(1.1)
    requests.post(f"{real.url}/form/submit", params={"formId": form_id}, headers=BROWSER, data=data,
                  cookies={"mautic_device_id": device}, timeout=60)
    assert not real.sql("SELECT id FROM leads WHERE id = %s", known_id)
    second = sync(real.config(page_size=100, lookback_seconds=0), streams=streams, state=first.last_state)
    assert [(r["loser_id"], r["victor_id"], r["user_name"]) for r in second.records["contact_merges"]] == [
        (known_id, visitor, "System")]
    assert [(r["object_id"], r["reason"], r["merged_into"]) for r in second.records["deletions"]
            if r["object"] == "lead"] == [(known_id, "merge", visitor)]
    assert _upserted("form_submissions", first, second) == {
        int(r["id"]): int(r["lead_id"]) for r in real.sql("SELECT id, lead_id FROM form_submissions")}
    for table, ids in gone.items():
        assert {int(r["id"]) for r in second.records[table] if r.get("_sdc_deleted_at")} == ids, table
        kept: dict[int, Any] = {}
        for run in (first, second):
            for rec in run.records[table]:
                if rec.get("_sdc_deleted_at"):
                    kept.pop(int(rec["id"]), None)
                else:
                    kept[int(rec["id"])] = rec["lead_id"]
        truth = {int(r["id"]): r["lead_id"] for r in real.sql(f"SELECT id, lead_id FROM {table}")}
        assert kept == truth, table
    row = real.sql("SELECT email, city FROM leads WHERE id = %s", visitor)[0]
    assert (row["email"], row["city"]) == ("known@example.com", "Paris")
