"""Compare before write: a rerun writes nothing, a changed record sends only its changed aliases.

The simulator's request log counts the calls; the writes are the POST/PATCH batch calls."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from mautic_sim import Simulator
from target_mautic.compare import changed_values, comparable
from target_mautic.values import FieldSpec
from tests.support.target import count, lead_row, messages, run_target

TYPED_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        "email": {"type": ["string", "null"]},
        "firstname": {"type": ["string", "null"]},
        "city": {"type": ["string", "null"]},
        "shoe_size": {"type": ["number", "null"]},
        "is_vip": {"type": ["boolean", "null"]},
        "birthday_date": {"type": ["string", "null"], "format": "date"},
        "last_purchase_at": {"type": ["string", "null"], "format": "date-time"},
        "plan": {"type": ["string", "null"]},
        "interests": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}


def typed(n: int) -> dict[str, Any]:
    """A contact carrying one value of each kind the comparison normalizes."""
    return {
        "email": f"compare.{n}@example.org",
        "firstname": f"Cmp{n}",
        "city": "Oslo",
        "shoe_size": 42.5,
        "is_vip": n % 2 == 0,
        "birthday_date": "1990-05-17",
        # an offset: Mautic stores UTC, so the comparison must convert before it compares
        "last_purchase_at": "2024-03-01T14:34:00+02:00",
        "plan": "Pro",  # a label: Mautic holds the value "pro"
        "interests": ["tech", "music"],  # Mautic answers "music|tech" or "tech|music": a set
    }


def writes(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]


def test_rerun_is_unchanged_with_no_write_and_one_change_sends_one_alias(sim: Simulator, tmp_path: Path):
    records = [typed(n) for n in range(5)]
    first = run_target(sim, tmp_path, messages("contacts", TYPED_SCHEMA, records))
    assert first.error is None and first.outcomes() == Counter({"created": 5})
    created = count(sim, "leads")

    rerun = run_target(sim, tmp_path, messages("contacts", TYPED_SCHEMA, records))
    assert rerun.error is None
    assert rerun.outcomes() == Counter({"unchanged": 5}), rerun.results
    assert writes(rerun.requests) == []
    # the one added read: contacts matched by email are looked up (one list call for the batch)
    reads = Counter((r["method"], r["path"]) for r in rerun.requests)
    assert reads == Counter({("GET", "/api/fields/contact"): 1, ("GET", "/api/contacts"): 1})

    records[2] = {**records[2], "city": "Bergen"}
    changed = run_target(sim, tmp_path, messages("contacts", TYPED_SCHEMA, records))
    assert changed.outcomes() == Counter({"unchanged": 4, "updated": 1})
    sent = writes(changed.requests)
    assert [(r["method"], r["path"]) for r in sent] == [("PATCH", "/api/contacts/batch/edit")]
    body = sent[0]["body"]
    assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"id", "city"}
    line = changed.result_for(email="compare.2@example.org")
    assert line["outcome"] == "updated" and line["changes"] == {"city": ["Oslo", "Bergen"]}
    assert lead_row(sim, email="compare.2@example.org")["city"] == "Bergen"
    assert count(sim, "leads") == created


def test_by_id_reads_once_per_batch_and_compare_off_writes_everything(sim: Simulator, tmp_path: Path):
    rows = sim.query("SELECT id, email, firstname FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 30")
    records = [{"id": r["id"], "email": r["email"], "firstname": r["firstname"]} for r in rows]
    records[0] = {**records[0], "firstname": "Renamed"}
    run = run_target(sim, tmp_path, messages("contacts", TYPED_SCHEMA, records), batch_size=20)
    assert run.outcomes() == Counter({"unchanged": 29, "updated": 1}), run.results
    calls = Counter((r["method"], r["path"]) for r in run.requests)
    # 30 ids in batches of 20: two reads, one write holding only the changed alias
    assert calls == Counter({("GET", "/api/fields/contact"): 1, ("GET", "/api/contacts"): 2,
                             ("PATCH", "/api/contacts/batch/edit"): 1})
    assert writes(run.requests)[0]["body"] == [{"id": rows[0]["id"], "firstname": "Renamed"}]

    off = run_target(sim, tmp_path, messages("contacts", TYPED_SCHEMA, records), batch_size=20,
                     compare_before_write=False)
    assert off.outcomes() == Counter({"updated": 30})
    assert Counter((r["method"], r["path"]) for r in off.requests) == Counter(
        {("GET", "/api/fields/contact"): 1, ("PATCH", "/api/contacts/batch/edit"): 2})


def test_blank_under_overwrite_with_blank_is_a_change_only_when_mautic_has_a_value(
    sim: Simulator, tmp_path: Path
):
    schema = messages("contacts", TYPED_SCHEMA, [{"email": "blank.one@example.org", "city": "Oslo"},
                                                 {"email": "blank.two@example.org"}])
    run_target(sim, tmp_path, schema)
    records: list[dict[str, Any]] = [{"email": "blank.one@example.org", "city": None},
                                     {"email": "blank.two@example.org", "city": ""}]
    run = run_target(sim, tmp_path, messages("contacts", TYPED_SCHEMA, records), overwrite_with_blank=True)
    assert run.result_for(email="blank.one@example.org")["changes"] == {"city": ["Oslo", None]}
    assert run.result_for(email="blank.two@example.org")["outcome"] == "unchanged"
    body = writes(run.requests)[0]["body"]
    assert len(body) == 1 and body[0]["city"] is None and body[0]["overwriteWithBlank"] is True
    assert lead_row(sim, email="blank.one@example.org")["city"] in (None, "")


def test_companies_matched_by_name_compare_on_the_lookup_they_already_make(sim: Simulator, tmp_path: Path):
    schema = {"type": "object", "properties": {"companyname": {"type": "string"},
                                               "companycity": {"type": ["string", "null"]}}}
    records = [{"companyname": f"Compare Co {n}", "companycity": "Oslo"} for n in range(3)]
    run_target(sim, tmp_path, messages("companies", schema, records))
    rerun = run_target(sim, tmp_path, messages("companies", schema, records))
    assert rerun.outcomes() == Counter({"unchanged": 3})
    assert Counter((r["method"], r["path"]) for r in rerun.requests) == Counter(
        {("GET", "/api/fields/company"): 1, ("GET", "/api/companies"): 1})


def test_comparable_forms() -> None:
    """Each kind in the form Mautic stores it: what the list answer says equals what the target sends."""
    number = FieldSpec("shoe_size", "number", scale=1)
    assert comparable(number, "42.50") == comparable(number, 42.5) == 42.5
    assert comparable(number, 42.54) == comparable(number, "42.5")
    assert comparable(FieldSpec("b", "boolean"), "1") is comparable(FieldSpec("b", "boolean"), True) is True
    day = FieldSpec("d", "date")
    assert comparable(day, "1990-05-17") == comparable(day, dt.date(1990, 5, 17))
    assert comparable(day, "1990-05-17") != comparable(day, "1990-05-18")
    stamp = FieldSpec("t", "datetime")
    assert comparable(stamp, "2024-03-01 12:34:00") == comparable(stamp, "2024-03-01T14:34:00+02:00")
    # Mautic drops the seconds (real 5.1.0 stored 12:34:56 as 12:34:00): compared to the minute
    assert comparable(stamp, "2024-03-01 12:34:00") == comparable(stamp, "2024-03-01T12:34:56Z")
    assert comparable(stamp, "2024-03-01 12:34:00") != comparable(stamp, "2024-03-01T12:35:00Z")
    multi = FieldSpec("m", "multiselect")
    assert comparable(multi, "music|tech") == comparable(multi, ["tech", "music"])
    assert comparable(FieldSpec("x", "text"), "") is None and comparable(FieldSpec("x", "text"), None) is None
    # tags are added by Mautic, never replaced: only a missing tag (or a removal of a held one) differs
    held = {"tags": [{"id": 1, "tag": "VIP"}, {"id": 2, "tag": "beta"}], "owner": {"id": 1}, "stage": None}
    assert changed_values({"tags": ["vip"], "owner": 1}, held, {}) == ({}, {})
    assert changed_values({"tags": ["-beta"]}, held, {})[0] == {"tags": ["-beta"]}
    assert changed_values({"tags": ["new"], "stage": 2}, held, {})[1] == {"tags": [["beta", "vip"], ["new"]],
                                                                           "stage": [None, 2]}
    send, changes = changed_values({"shoe_size": 43, "tags": ["vip"]},
                                   {"fields": {"all": {"shoe_size": "42.5"}}}, {"shoe_size": number})
    assert send == {"shoe_size": 43, "tags": ["vip"]} and changes == {"shoe_size": [42.5, 43]}


def test_a_segment_membership_the_contact_has_is_unchanged_without_a_write(sim: Simulator, tmp_path: Path):
    seg_schema = {"type": "object", "properties": {"contact_id": {"type": "integer"},
                                                   "segment_id": {"type": "integer"}}}
    ids = [r["id"] for r in sim.query("SELECT id FROM leads ORDER BY id LIMIT 4")]
    segment = sim.query("SELECT id FROM lead_lists ORDER BY id LIMIT 1")[0]["id"]
    sim.execute("DELETE FROM lead_lists_leads WHERE leadlist_id = ? AND lead_id IN (?, ?, ?, ?)",
                (segment, *ids))
    first = [{"contact_id": i, "segment_id": segment} for i in ids[:2]]
    run_target(sim, tmp_path, messages("segment_memberships", seg_schema, first))
    every = [{"contact_id": i, "segment_id": segment} for i in ids]
    run = run_target(sim, tmp_path, messages("segment_memberships", seg_schema, every))
    assert [r["outcome"] for r in run.results] == ["unchanged", "unchanged", "created", "created"]
    adds = [r for r in run.requests if r["method"] == "POST"]
    assert len(adds) == 1 and sorted(adds[0]["body"]["ids"]) == ids[2:]  # only the two new members sent
    members = sim.query("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = ? AND manually_removed = 0",
                        (segment,))
    assert set(ids) <= {m["lead_id"] for m in members}
