"""Compare before write on contact_tags and do_not_contact: the batch's contacts are read once (full records:
their ``tags`` and ``doNotContact``); a tag the contact carries, a removal of one it lacks, a do-not-contact
entry it has with the same reason, a removal from a list it is not on: ``unchanged``, nothing sent."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from mautic_sim import Simulator
from tests.support.target import messages, run_target

TAG_SCHEMA = {"type": "object", "properties": {
    "contact_id": {"type": "integer"}, "tag": {"type": "string"},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"}}}
DNC_SCHEMA = {"type": "object", "properties": {
    "contact_id": {"type": "integer"}, "channel": {"type": "string"}, "reason": {"type": "string"},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"}}}
GONE = "2026-12-06T00:00:00Z"


def contacts(sim: Simulator, n: int) -> list[int]:
    return [r["id"] for r in sim.query("SELECT id FROM leads ORDER BY id LIMIT ?", (n,))]


def tags_of(sim: Simulator, cid: int) -> set[str]:
    return {r["t"] for r in sim.query(
        "SELECT json_extract(t.data, '$.tag') AS t FROM lead_tags_xref x JOIN lead_tags t ON t.id = x.tag_id "
        "WHERE x.lead_id = ?", (cid,))}


def writes(run: Any) -> list[dict[str, Any]]:
    return [r for r in run.requests if r["method"] != "GET"]


def test_tags_a_contact_carries_are_unchanged_and_only_new_ones_are_sent(sim: Simulator, tmp_path: Path):
    ids = contacts(sim, 3)
    sim.execute("DELETE FROM lead_tags_xref WHERE lead_id IN (?, ?, ?)", ids)
    load = messages("contact_tags", TAG_SCHEMA, [{"contact_id": i, "tag": "Mirror-VIP"} for i in ids])
    first = run_target(sim, tmp_path, load)
    assert Counter(r["outcome"] for r in first.results) == Counter({"created": 3}) and len(writes(first)) == 1
    again = run_target(sim, tmp_path, load)
    assert Counter(r["outcome"] for r in again.results) == Counter({"unchanged": 3}) and writes(again) == []
    assert "carries tag 'Mirror-VIP' already" in again.results[0]["message"]

    mixed = messages("contact_tags", TAG_SCHEMA, [
        {"contact_id": ids[0], "tag": "mirror-vip"},  # the same tag, other case: Mautic's tags ignore case
        {"contact_id": ids[0], "tag": "gold"},
        {"contact_id": ids[1], "tag": "never-had", "_sdc_deleted_at": GONE},
        {"contact_id": ids[2], "tag": "Mirror-VIP", "_sdc_deleted_at": GONE}])
    run = run_target(sim, tmp_path, mixed, delete_records=True)
    assert [r["outcome"] for r in run.results] == ["unchanged", "created", "unchanged", "deleted"]
    sent = [r["body"] for r in writes(run)]
    assert len(sent) == 1  # one batch/edit: only contact 0 (+gold) and contact 2 (-Mirror-VIP)
    assert sorted((item["id"], item["tags"]) for item in sent[0]) == sorted(
        [(ids[0], ["gold"]), (ids[2], ["-Mirror-VIP"])])
    assert tags_of(sim, ids[0]) >= {"Mirror-VIP", "gold"} and "Mirror-VIP" not in tags_of(sim, ids[2])


def test_do_not_contact_with_the_same_reason_is_unchanged_and_another_reason_is_sent(
    sim: Simulator, tmp_path: Path
):
    ids = contacts(sim, 2)
    sim.execute("DELETE FROM lead_donotcontact WHERE lead_id IN (?, ?)", ids)
    load = messages("do_not_contact", DNC_SCHEMA, [{"contact_id": i, "channel": "email", "reason": "manual"}
                                                   for i in ids])
    first = run_target(sim, tmp_path, load)
    assert [r["outcome"] for r in first.results] == ["created", "created"] and len(writes(first)) == 2
    again = run_target(sim, tmp_path, load)
    assert [r["outcome"] for r in again.results] == ["unchanged", "unchanged"] and writes(again) == []
    assert "with reason 3 already" in again.results[0]["message"]
    other = messages("do_not_contact", DNC_SCHEMA, [
        {"contact_id": ids[0], "channel": "email", "reason": "bounced"},
        {"contact_id": ids[1], "channel": "sms", "reason": "manual", "_sdc_deleted_at": GONE}])
    run = run_target(sim, tmp_path, other, delete_records=True)
    assert [r["outcome"] for r in run.results] == ["created", "unchanged"]
    assert [(r["method"], r["path"]) for r in writes(run)] == [
        ("POST", f"/api/contacts/{ids[0]}/dnc/email/add")]


def test_compare_off_sends_every_row_and_a_dry_run_plans_with_the_read(sim: Simulator, tmp_path: Path):
    ids = contacts(sim, 2)
    load = messages("contact_tags", TAG_SCHEMA, [{"contact_id": i, "tag": "plan-tag"} for i in ids])
    run_target(sim, tmp_path, load)
    off = run_target(sim, tmp_path, load, compare_before_write=False)
    assert Counter(r["outcome"] for r in off.results) == Counter({"created": 2}) and len(writes(off)) == 1
    plan = messages("contact_tags", TAG_SCHEMA, [{"contact_id": ids[0], "tag": "plan-tag"},
                                                 {"contact_id": ids[1], "tag": "plan-new"}])
    dry = run_target(sim, tmp_path, plan, dry_run=True)
    assert [r["outcome"] for r in dry.results] == ["unchanged", "would_create"] and writes(dry) == []
