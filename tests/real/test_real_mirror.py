"""sync_mode mirror on a real Mautic 5.1.0: a completed snapshot takes the member it lacks out of the segment
(MariaDB shows it), and a refusal above mirror_max_removals leaves every member in."""

from __future__ import annotations

from pathlib import Path

from target_mautic.tracking import PACKED, unpack_ids
from tests.real.conftest import RealMautic
from tests.real.support import campaign, client, run_target, seed, snapshot

SCHEMA = {"type": "object",
          "properties": {"contact_id": {"type": "integer"}, "segment_id": {"type": "integer"}}}
MIRROR = {"sync_mode": "mirror", "stream_contexts": {"members": "segment_memberships"}}


def _members(real: RealMautic, segment: int) -> set[int]:
    rows = real.sql("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = %s AND manually_removed = 0",
                    segment)
    return {int(r["lead_id"]) for r in rows}


def _snapshot(segment: int, ids: list[int]) -> list[dict]:
    return snapshot("members", SCHEMA, [{"contact_id": i, "segment_id": segment} for i in ids], 11)


def test_mirror_removes_the_member_missing_from_the_snapshot_and_refuses_above_the_limit(
    real: RealMautic, tmp_path: Path
):
    seeded = seed(real, contacts=10)
    ids = sorted(seeded.contacts)
    before = _members(real, seeded.segment)
    assert set(ids) <= before
    code, _, err = run_target(real, tmp_path, _snapshot(seeded.segment, ids[3:]), mirror_max_removals=1,
                              **MIRROR)
    assert code == 1 and "nothing removed" in err
    assert _members(real, seeded.segment) == before
    kept = sorted(before - {ids[0]})
    code, results, err = run_target(real, tmp_path, _snapshot(seeded.segment, kept), mirror_max_removals=1,
                                    **MIRROR)
    assert code == 0, err[-2000:]
    assert [r["key"] for r in results if r["outcome"] == "removed"] == [
        {"contact_id": ids[0], "segment_id": seeded.segment}]
    assert _members(real, seeded.segment) == set(kept)


LINKS = {  # stream -> (target column, its JSON type, the MariaDB query of a target's members)
    "campaign_memberships": ("campaign_id", "integer",
                             "SELECT lead_id FROM campaign_leads WHERE campaign_id = %s "
                             "AND manually_removed = 0"),
    "company_memberships": ("company_id", "integer",
                            "SELECT lead_id FROM companies_leads WHERE company_id = %s"),
    "contact_tags": ("tag", "string",
                     "SELECT x.lead_id FROM lead_tags_xref x JOIN lead_tags t ON t.id = x.tag_id "
                     "WHERE t.tag = %s"),
}


def _link_members(real: RealMautic, stream: str, target: object) -> set[int]:
    return {int(r["lead_id"]) for r in real.sql(LINKS[stream][2], target)}


def _link_snapshot(stream: str, target: object, ids: list[int]) -> list[dict]:
    column, kind, _ = LINKS[stream]
    schema = {"type": "object", "properties": {"contact_id": {"type": "integer"}, column: {"type": kind}}}
    return snapshot("links", schema, [{"contact_id": i, column: target} for i in ids], 12)


def test_mirror_of_campaign_company_and_tag_links_removes_the_contact_missing_from_each(
    real: RealMautic, tmp_path: Path
):
    """The removal calls of target_mautic.mirror and its member reads (/api/stats with eq filters, the tag:
    search kept only where the contact carries the tag) on the real server."""
    seeded = seed(real, contacts=10)
    ids = sorted(seeded.contacts)
    api = client(real)
    try:
        campaign_id = campaign(api, seeded.segment, "Real mirror")
        for cid in ids[:5]:
            api.request("POST", f"/api/campaigns/{campaign_id}/contact/{cid}/add")
        for cid in ids[:5]:
            api.request("PATCH", f"/api/contacts/{cid}/edit", json={"tags": ["mirror-vip"]})
        for cid in ids[5:7]:
            api.request("PATCH", f"/api/contacts/{cid}/edit", json={"tags": ["mirror-vip-gold"]})
    finally:
        api.close()
    targets = {"campaign_memberships": campaign_id, "company_memberships": seeded.companies[0],
               "contact_tags": "mirror-vip"}
    for stream, target in targets.items():
        assert _link_members(real, stream, target) == set(ids[:5]), stream
        code, results, err = run_target(real, tmp_path, _link_snapshot(stream, target, ids[1:5]),
                                        mirror_max_removals=1, sync_mode="mirror",
                                        stream_contexts={"links": stream})
        assert code == 0, err[-2000:]
        column = LINKS[stream][0]
        assert [r["key"] for r in results if r["outcome"] == "removed"] == [
            {"contact_id": ids[0], column: target}], stream
        assert _link_members(real, stream, target) == set(ids[1:5]), stream
    assert _link_members(real, "contact_tags", "mirror-vip-gold") == set(ids[5:7])


def _audience(emails: list[str], version: int) -> list[dict]:
    schema = {"type": "object", "properties": {"email": {"type": "string"}, "firstname": {"type": "string"}}}
    records = [{"email": e, "firstname": "Mirror"} for e in emails]
    return snapshot("audience", schema, records, version, key=["email"])


def test_contacts_mirror_tracks_written_contacts_without_moving_date_modified_and_acts_on_the_absent(
    real: RealMautic, tmp_path: Path
):
    """mirror_action on a real 5.1.0: the tracking segment is created and filled, the contacts'
    date_modified stays as the write left it (the segment join does not touch the contact row), then a
    contact absent from the next snapshot is deleted (delete) or put on the email do-not-contact list."""
    emails = [f"mirror{i}@example.org" for i in range(4)]
    settings = {"sync_mode": "mirror", "stream_contexts": {"audience": "contacts"}, "mirror_max_removals": 1}
    code, results, err = run_target(real, tmp_path, _audience(emails, 1), mirror_action="delete", **settings)
    assert code == 0, err[-2000:]
    ids = {r["key"]["email"]: r["mautic_id"] for r in results}
    segment = real.sql("SELECT id, is_published FROM lead_lists WHERE alias = 'target-mautic-audience'")
    assert len(segment) == 1 and segment[0]["is_published"]  # 5.1.0 refuses members of an unpublished one
    members = real.sql("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = %s AND manually_removed = 0",
                       segment[0]["id"])
    assert {int(r["lead_id"]) for r in members} == set(ids.values())
    modified = real.sql("SELECT id, date_modified FROM leads WHERE id IN %s", tuple(ids.values()))
    assert all(r["date_modified"] is None for r in modified)  # created, never modified since: the join
    # into the tracking segment did not write the contact row
    code, results, err = run_target(real, tmp_path, _audience(emails[1:], 2), mirror_action="delete",
                                    **settings)
    assert code == 0, err[-2000:]
    assert [(r["outcome"], r["mautic_id"]) for r in results if r["outcome"] == "removed"] == [
        ("removed", ids[emails[0]])]
    assert not real.sql("SELECT id FROM leads WHERE id = %s", ids[emails[0]])
    code, results, err = run_target(real, tmp_path, _audience(emails[2:], 3), mirror_action="do_not_contact",
                                    **settings)
    assert code == 0, err[-2000:]
    assert real.sql("SELECT channel, reason FROM lead_donotcontact WHERE lead_id = %s", ids[emails[1]]) == [
        {"channel": "email", "reason": 3}]
    assert real.sql("SELECT id FROM leads WHERE id = %s", ids[emails[1]])


def _accounts(names: list[str], version: int) -> list[dict]:
    schema = {"type": "object", "properties": {"companyname": {"type": "string"}}}
    return snapshot("accounts", schema, [{"companyname": n} for n in names], version, key=["companyname"])


def test_companies_mirror_tracks_written_companies_in_a_segment_description_and_deletes_the_absent(
    real: RealMautic, tmp_path: Path
):
    """mirror_action delete on companies on a real 5.1.0: the written companies' ids go into the description
    of an unpublished segment, read back whole (LONGTEXT); no company row is written by the tracking
    (date_modified stays NULL after the creates); the company absent from the next snapshot is deleted and
    leaves the tracking; a company the stream did not write is never deleted."""
    _, item = client(real).create("companies", {"companyname": "Not written by the stream"})
    outsider = int(item["id"])
    names = [f"Mirror Co {i}" for i in range(4)]
    settings = {"sync_mode": "mirror", "stream_contexts": {"accounts": "companies"}, "mirror_max_removals": 1,
                "mirror_action": "delete"}
    code, results, err = run_target(real, tmp_path, _accounts(names, 1), **settings)
    assert code == 0, err[-2000:]
    ids = {r["key"]["companyname"]: r["mautic_id"] for r in results}
    segment = real.sql("SELECT id, is_published, description FROM lead_lists "
                       "WHERE alias = 'target-mautic-accounts'")
    assert len(segment) == 1 and not segment[0]["is_published"]
    match = PACKED.search(segment[0]["description"])
    assert match is not None and unpack_ids(match.group(1)) == set(ids.values())
    modified = real.sql("SELECT id, date_modified FROM companies WHERE id IN %s", tuple(ids.values()))
    assert all(r["date_modified"] is None for r in modified)
    code, results, err = run_target(real, tmp_path, _accounts(names[1:], 2), **settings)
    assert code == 0, err[-2000:]
    assert [(r["outcome"], r["mautic_id"]) for r in results if r["outcome"] == "removed"] == [
        ("removed", ids[names[0]])]
    assert not real.sql("SELECT id FROM companies WHERE id = %s", ids[names[0]])
    assert real.sql("SELECT id FROM companies WHERE id = %s", outsider)
    description = real.sql("SELECT description FROM lead_lists WHERE id = %s", segment[0]["id"])[0]
    match = PACKED.search(description["description"])
    assert match is not None and unpack_ids(match.group(1)) == set(ids.values()) - {ids[names[0]]}
