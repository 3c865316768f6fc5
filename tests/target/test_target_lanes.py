"""Parallel writes: lanes never share a key, results do not depend on the number of lanes.

Most tests run the target in-process against a fresh simulator (``sim``) with a small ``batch_size`` so that
a few records make several chunks, hence several lanes at the default ``max_concurrency``.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from target_mautic.background import BackgroundDrain
from target_mautic.connector import DEFAULT_MAX_CONCURRENCY, lanes
from target_mautic.rows import norm
from target_mautic.upserts import ContactsSink
from tests.support.config import SIM_PASSWORD, SIM_USER
from tests.support.target import CONTACT_SCHEMA, count, messages, run_target

# the tests of lanes ask for them: `make test` also runs this file with MAUTIC_TEST_MAX_CONCURRENCY=1
LANES = DEFAULT_MAX_CONCURRENCY

CONTACTS = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        "email": {"type": ["string", "null"]},
        "lastname": {"type": ["string", "null"]},
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
COMPANIES = {"type": "object", "properties": {"companyname": {"type": "string"}}}


def test_default_is_more_than_one_lane():
    assert DEFAULT_MAX_CONCURRENCY > 1  # else the parametrized suites would test one lane twice


def test_items_sharing_a_key_share_a_lane_and_chunks_stay_full():
    # keys: a, b, c, ... ; item 0 and 9 share "k0"; 9 and 17 share "k9" (a chain), the rest are single
    keys = {n: {f"own{n}"} for n in range(20)}
    keys[9].add("k0")
    keys[0].add("k0")
    keys[17].update({"k9", "own9"})
    items: list[tuple[dict[str, Any], int]] = [({}, n) for n in range(20)]
    parts = lanes(items, lambda n: keys[n], batch_size=4, concurrency=4)
    assert 2 <= len(parts) <= 4 and sorted(p for part in parts for p in part) == list(range(20))
    assert all(part == sorted(part) for part in parts)  # input order within a lane
    lane_of = {pos: i for i, part in enumerate(parts) for pos in part}
    assert lane_of[0] == lane_of[9] == lane_of[17]
    # 20 items in chunks of 4 are 5 calls with one lane; the lanes add at most one more
    assert sum(-(-len(part) // 4) for part in parts) <= 6
    assert lanes(items, lambda n: keys[n], batch_size=4, concurrency=1) == [list(range(20))]


def test_same_email_in_other_case_across_lanes_makes_no_duplicate(sim: Simulator, tmp_path: Path):
    """match_on lastname, email unique: rows with other lastnames but one email (in three spellings, far
    apart in the input) would each create a contact if sent in two batches at once."""
    spellings = ("dup{n}@example.org", "DUP{n}@Example.org", " Dup{n}@EXAMPLE.ORG")
    records = [
        {"email": spellings[i // 10 % 3].format(n=i % 10), "lastname": f"Lane {i}"} for i in range(30)
    ]
    text = messages("contacts", CONTACTS, records, {"done": 1})
    run = run_target(sim, tmp_path, text, match_on=["lastname"], batch_size=2, max_concurrency=LANES)
    assert run.error is None and run.states == [{"done": 1}]
    assert count(sim, "leads WHERE lower(trim(email)) LIKE 'dup%'") == 10  # one contact per email
    assert run.outcomes() == Counter({"created": 10, "updated": 20})
    by_email: dict[str, set[int]] = {}
    for record, result in zip(records, run.results, strict=True):  # results in input order
        by_email.setdefault(norm(record["email"]), set()).add(result["mautic_id"])
    assert all(len(ids) == 1 for ids in by_email.values()), by_email
    # the batches went out in more than one lane at once (else this test proves nothing)
    batch_calls = [r for r in run.requests if r["path"] == "/api/contacts/batch/new"]
    assert len(batch_calls) == 15


def test_lost_answer_in_one_lane_is_recovered_within_it(sim: Simulator, tmp_path: Path):
    before = count(sim, "companies")
    names = [f"Lane Recovered {n} SA" for n in range(6)]
    sim.schedule_fault("malformed", nth=2, path="/api/companies/batch/new")  # one lane's answer garbled
    run = run_target(sim, tmp_path, messages("companies", COMPANIES, [{"companyname": n} for n in names]),
                     batch_size=2, max_concurrency=LANES)
    assert run.error is None
    assert run.outcomes() == {"created": 6}
    assert count(sim, "companies") == before + 6  # each exactly once
    creates = [r for r in run.requests if r["path"] == "/api/companies/batch/new"]
    assert len(creates) == 3  # the garbled one was checked by a look-up, not resent


def _mixed(sim: Simulator) -> str:
    seeded = sim.query("SELECT id, email FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 6")
    contacts: list[dict[str, Any]] = []
    for i in range(24):
        if i % 6 == 0:
            contacts.append({"id": seeded[i // 6]["id"], "lastname": f"ById {i}"})  # update by id
        elif i % 6 == 1:
            contacts.append({"email": seeded[i // 6]["email"].upper(), "lastname": f"ByMail {i}"})  # update
        elif i % 6 == 2:
            contacts.append({"email": f"mixed{i % 4}@example.org", "lastname": f"Repeat {i}"})  # merged
        elif i % 6 == 3:
            contacts.append({"lastname": f"NoKey {i}"})  # fails: nothing to match on
        elif i % 6 == 4:
            contacts.append({"id": 987654 + i, "email": f"stale{i}@example.org"})  # unknown id: created
        else:
            contacts.append({"email": f"mixed.new{i}@example.org", "_sdc_deleted_at": "2024-01-01T00:00:00Z"})
    companies = [{"companyname": f"Mixed {i % 5} Ltd" if i % 2 else f"MIXED {i % 5} LTD"} for i in range(12)]
    return messages("contacts", CONTACTS, contacts) + messages("companies", COMPANIES, companies, {"n": 1})


def test_results_identical_at_one_lane_and_at_the_default(tmp_path: Path):
    runs = []
    for concurrency in (1, DEFAULT_MAX_CONCURRENCY):
        with Simulator(contacts=30, seed=3, username=SIM_USER, password=SIM_PASSWORD) as fresh:
            run = run_target(fresh, tmp_path, _mixed(fresh), batch_size=2, max_concurrency=concurrency,
                             on_record_error="report")
            assert run.error is None and run.states == [{"n": 1}]
            runs.append((run, count(fresh, "leads"), count(fresh, "companies")))
    (one, leads_one, companies_one), (many, leads_many, companies_many) = runs
    assert (leads_one, companies_one) == (leads_many, companies_many)
    assert len(one.results) == 36 and len(set(Counter(r["outcome"] for r in one.results))) >= 4

    def comparable(result: dict[str, Any]) -> tuple:
        # ids given to created records depend on which lane Mautic served first
        created = result["outcome"] == "created"
        return (result["stream"], result["key"], result["outcome"], result["message"],
                None if created else result["mautic_id"])

    assert [comparable(r) for r in one.results] == [comparable(r) for r in many.results]


def test_contact_schema_default_lanes_still_write_each_email_once(sim: Simulator, tmp_path: Path):
    """The default match (email, which batch/new de-duplicates by itself) across many lanes."""
    records = [{"email": f"Many{i % 40}@Example.org" if i % 2 else f"many{i % 40}@example.org",
                "firstname": f"M{i}"} for i in range(400)]
    run = run_target(sim, tmp_path, messages("contacts", CONTACT_SCHEMA, records), batch_size=10,
                     max_concurrency=LANES)
    assert run.error is None
    assert count(sim, "leads WHERE lower(email) LIKE 'many%'") == 40


def _background_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each drain started in the background (by stream)."""
    started: list[str] = []
    original = BackgroundDrain.start

    def start(self: BackgroundDrain, sink: Any, context: dict[str, Any]) -> None:
        started.append(sink.stream_name)
        original(self, sink, context)

    monkeypatch.setattr(BackgroundDrain, "start", start)
    return started


def test_full_batches_drain_in_the_background_as_in_a_sequential_run(
    sim: Simulator, tmp_path: Path, lanes: dict[str, int], monkeypatch: pytest.MonkeyPatch
):
    """Batches of 6 while the next records are read: 12 emails recur (other case) in later batches, so each
    batch must see what the one before it wrote; memberships of the contacts created by the batch still in
    flight fill up their sink, which must wait for that batch."""
    started = _background_starts(monkeypatch)
    recurring = [{"email": f"BG{i % 12}@example.org" if i % 2 else f"bg{i % 12}@example.org",
                  "firstname": f"BG {i}"} for i in range(36)]
    late = [{"email": f"late{n}@example.org", "firstname": f"Late {n}"} for n in range(6)]
    records = recurring[:12] + late + recurring[12:]
    seg_schema = {"type": "object",
                  "properties": {"email": {"type": "string"}, "segment_id": {"type": "integer"}}}
    members = [{"email": f"late{n}@example.org", "segment_id": 1} for n in range(6)]
    text = (messages("contacts", CONTACT_SCHEMA, records[:18], {"n": 1})
            + messages("segment_memberships", seg_schema, members)
            + messages("contacts", CONTACT_SCHEMA, records[18:], {"n": 2}))
    def slow_writes(method: str, path: str, query: str) -> None:
        if path == "/api/contacts/batch/new":
            time.sleep(0.1)  # a batch is still in flight when the memberships fill up

    sim.add_hook(slow_writes)
    run = run_target(sim, tmp_path, text, batch_size=2, batch_size_rows=6, **lanes)
    assert run.error is None and run.states == [{"n": 2}]
    assert bool(started) == (lanes["max_concurrency"] > 1)
    if started:
        assert started.count("contacts") >= 4 and "segment_memberships" not in started
    assert count(sim, "leads WHERE lower(email) LIKE 'bg%'") == 12
    contacts = [r for r in run.results if r["stream"] == "contacts"]
    assert [r["key"]["email"] for r in contacts] == [r["email"] for r in records]  # input order
    assert Counter(r["outcome"] for r in contacts) == Counter({"created": 18, "updated": 24})
    for n in range(12):  # the last record of each email won
        assert sim.query("SELECT firstname FROM leads WHERE lower(email) = ?",
                         (f"bg{n}@example.org",))[0]["firstname"] == f"BG {24 + n}"
    assert run.outcomes("segment_memberships") == Counter({"created": 6}), run.results
    members_now = sim.query("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = 1")
    member_ids = {row["lead_id"] for row in members_now}
    for n in range(6):
        lead_id = sim.query("SELECT id FROM leads WHERE email = ?", (f"late{n}@example.org",))[0]["id"]
        assert lead_id in member_ids


def test_a_background_drain_failing_as_a_whole_fails_only_its_rows(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    started = _background_starts(monkeypatch)
    original = ContactsSink.upsert
    calls: list[int] = []

    def upsert(self: ContactsSink, rows: list[Any]) -> None:
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("boom in the second batch")
        original(self, rows)

    monkeypatch.setattr(ContactsSink, "upsert", upsert)
    records = [{"email": f"whole{i}@example.org", "firstname": f"W{i}"} for i in range(18)]
    run = run_target(sim, tmp_path, messages("contacts", CONTACT_SCHEMA, records, {"n": 1}), batch_size=2,
                     batch_size_rows=6, on_record_error="report", max_concurrency=LANES)
    assert run.error is None and len(started) >= 2
    outcomes = [r["outcome"] for r in run.results]
    assert outcomes == ["created"] * 6 + ["failed"] * 6 + ["created"] * 6
    assert all("not written: boom in the second batch" in r["message"] for r in run.results[6:12])
    assert count(sim, "leads WHERE email LIKE 'whole%'") == 12
