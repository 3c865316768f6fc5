"""target-mautic against a real Mautic 5.1.0: every result line checked against the rows in MariaDB.

Upserts of contacts (created and updated in one run, custom fields of each kind) and companies, then the
link streams (segment, company and campaign-free memberships, tags, do-not-contact, notes).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.real.conftest import RealMautic
from tests.real.support import run_target, seed, singer

CONTACT_SCHEMA = {"type": "object", "properties": {
    "email": {"type": "string"}, "firstname": {"type": ["string", "null"]},
    "city": {"type": ["string", "null"]}, "acc_ratio": {"type": ["number", "null"]},
    "is_vip": {"type": ["boolean", "null"]}, "renewal_on": {"type": ["string", "null"], "format": "date"},
    "plan": {"type": ["string", "null"]}}}


def test_contact_upserts_create_and_update_exactly_what_the_results_say(real: RealMautic, tmp_path: Path):
    seeded = seed(real, contacts=60)
    existing = {int(r["id"]): r["email"] for r in real.sql("SELECT id, email FROM leads")}
    records: list[dict[str, Any]] = []
    for i, (contact_id, email) in enumerate(sorted(existing.items())[:20]):
        records.append({"email": email, "city": f"Updated {contact_id}", "acc_ratio": 12.5 + i,
                        "is_vip": True, "renewal_on": "2028-02-29", "plan": "pro"})
    for i in range(30):
        records.append({"email": f"target{i}@example.org", "firstname": f"T{i}", "city": "Created",
                        "acc_ratio": 3.25, "is_vip": False, "renewal_on": "2027-12-31", "plan": "free"})
    code, results, err = run_target(real, tmp_path, singer("contacts", CONTACT_SCHEMA, records, ["email"]))
    assert code == 0, err[-2000:]
    assert len(results) == len(records)  # one outcome per input record
    outcomes = {r["key"]["email"]: r for r in results}
    assert [outcomes[r["email"]]["outcome"] for r in records] == ["updated"] * 20 + ["created"] * 30
    rows = {r["email"]: r for r in real.sql(
        "SELECT id, email, firstname, city, acc_ratio, is_vip, renewal_on, plan FROM leads")}
    assert len(rows) == 60 + 30  # nothing created twice
    for rec in records:
        row = rows[rec["email"]]
        assert outcomes[rec["email"]]["mautic_id"] == int(row["id"])
        assert row["city"] == rec["city"]
        assert Decimal(str(row["acc_ratio"])) == Decimal(str(rec["acc_ratio"]))
        assert bool(int(row["is_vip"])) is rec["is_vip"]
        assert row["renewal_on"].isoformat() == rec["renewal_on"]
        assert row["plan"] == rec["plan"]
    assert seeded.contacts  # the seed ran
    # a rerun of the same input matches every record: still 90 contacts
    code, results, err = run_target(real, tmp_path, singer("contacts", CONTACT_SCHEMA, records, ["email"]))
    assert code == 0, err[-2000:]
    assert {r["outcome"] for r in results} <= {"updated", "unchanged"}
    assert real.sql("SELECT COUNT(*) AS n FROM leads")[0]["n"] == 90


def test_company_upserts_match_by_name(real: RealMautic, tmp_path: Path):
    seed(real, contacts=5)
    schema = {"type": "object", "properties": {"companyname": {"type": "string"},
                                               "companycity": {"type": ["string", "null"]}}}
    records = [{"companyname": "Acme Real", "companycity": "Paris"},
               {"companyname": "Umbrella Real", "companycity": "Raccoon City"}]
    code, results, err = run_target(real, tmp_path, singer("companies", schema, records, ["companyname"]))
    assert code == 0, err[-2000:]
    assert [r["outcome"] for r in results] == ["updated", "created"]
    rows = {r["companyname"]: r for r in real.sql("SELECT id, companyname, companycity FROM companies")}
    assert rows["Acme Real"]["companycity"] == "Paris"
    assert rows["Umbrella Real"]["companycity"] == "Raccoon City"
    assert [r["mautic_id"] for r in results] == [int(rows[n]["id"]) for n in ("Acme Real", "Umbrella Real")]
    assert len(rows) == 4


def test_link_streams_write_the_memberships_the_results_report(real: RealMautic, tmp_path: Path):
    seeded = seed(real, contacts=30)
    emails = {int(r["id"]): r["email"] for r in real.sql("SELECT id, email FROM leads")}
    picked = sorted(emails)[20:26]
    lines: list[dict[str, Any]] = []
    lines += singer("segment_memberships", {"type": "object", "properties": {
        "email": {"type": "string"}, "segment_id": {"type": "integer"}}},
        [{"email": emails[i], "segment_id": seeded.segment} for i in picked]
        + [{"email": "nobody@example.org", "segment_id": seeded.segment}])
    lines += singer("company_memberships", {"type": "object", "properties": {
        "email": {"type": "string"}, "companyname": {"type": "string"}}},
        [{"email": emails[i], "companyname": "Globex Real"} for i in picked[:3]])
    lines += singer("contact_tags", {"type": "object", "properties": {
        "email": {"type": "string"}, "tag": {"type": "string"}}},
        [{"email": emails[i], "tag": "real-vip"} for i in picked[:4]])
    lines += singer("do_not_contact", {"type": "object", "properties": {
        "email": {"type": "string"}, "reason": {"type": "string"}, "comments": {"type": "string"}}},
        [{"email": emails[picked[0]], "reason": "unsubscribed", "comments": "asked by phone"}])
    lines += singer("notes", {"type": "object", "properties": {
        "email": {"type": "string"}, "text": {"type": "string"}}},
        [{"email": emails[picked[1]], "text": "written by target-mautic"}])
    code, results, err = run_target(real, tmp_path, lines, on_record_error="report")
    assert code == 0, err[-2000:]
    assert len(results) == len([x for x in lines if x["type"] == "RECORD"])
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for line in results:
        by_stream.setdefault(line["stream"], []).append(line)
    failed = [r for r in results if r["outcome"] == "failed"]
    assert [r["key"].get("email") for r in failed] == ["nobody@example.org"]
    assert "nobody@example.org" in failed[0]["message"]

    members = {int(r["lead_id"]) for r in real.sql(
        "SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = %s AND manually_removed = 0",
        seeded.segment)}
    assert set(picked) <= members
    globex = real.sql("SELECT id FROM companies WHERE companyname = 'Globex Real'")[0]["id"]
    assert {int(r["lead_id"]) for r in real.sql(
        "SELECT lead_id FROM companies_leads WHERE company_id = %s", globex)} == set(picked[:3])
    assert {int(r["lead_id"]) for r in real.sql(
        "SELECT x.lead_id FROM lead_tags_xref x JOIN lead_tags t ON t.id = x.tag_id WHERE t.tag = 'real-vip'"
    )} == set(picked[:4])
    dnc = real.sql("SELECT lead_id, reason, channel, comments FROM lead_donotcontact")
    assert [(int(r["lead_id"]), int(r["reason"]), r["channel"]) for r in dnc] == [(picked[0], 1, "email")]
    notes = real.sql("SELECT lead_id FROM lead_notes WHERE text LIKE %s", "%written by target-mautic%")
    assert [int(r["lead_id"]) for r in notes] == [picked[1]]
    ok = [r for r in results if r["outcome"] != "failed"]
    # the seed put the first 40 contacts in the segment: compare before write finds them there (unchanged,
    # nothing sent); every other link is written
    assert all(r["outcome"] == ("unchanged" if r["stream"] == "segment_memberships" else "created")
               or r["outcome"] == "updated" for r in ok), ok
    assert [r["outcome"] for r in by_stream["segment_memberships"]][:6] == ["unchanged"] * 6
