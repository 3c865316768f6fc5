"""Tables of bad records for both plugins, and a property test of the target's record path.

target-mautic: each bad record fails alone (one result line naming the property or what is missing), the good
records around it are written, the run goes on. All rows go through one run (one simulator), then each row is
checked by itself.

tap-mautic: bad values stored in Mautic (what a broken import or an old plugin leaves behind) never stop the
sync: every contact is emitted once, the value typed or null, no traceback.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mautic_sim import Simulator
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config
from tests.support.tap import SyncResult, catalog_for, run_cli
from tests.support.target import run_target

NULLABLE = {"type": ["string", "null"]}
CONTACTS = {
    "id": {"type": ["integer", "null"]}, "email": NULLABLE, "firstname": NULLABLE, "plan": NULLABLE,
    "is_vip": {"type": ["boolean", "string", "null"]}, "birthday_date": NULLABLE,
    "last_purchase_at": NULLABLE, "interests": {"type": ["array", "string", "null"]},
    "points": {"type": ["number", "string", "null"]}, "shoe_size": {"type": ["number", "string", "null"]},
    "favorite_color": NULLABLE, "bio": NULLABLE, "backup_email": NULLABLE,
    "_sdc_deleted_at": {"type": ["string", "null"]},
}
COMPANIES = {"id": {"type": ["integer", "null"]}, "companyname": NULLABLE, "companyemail": NULLABLE}
LINK = {"contact_id": {"type": ["integer", "null"]}, "email": NULLABLE}
SCHEMAS: dict[str, dict[str, Any]] = {
    "contacts": CONTACTS,
    "companies": COMPANIES,
    "segment_memberships": {**LINK, "segment_id": {"type": ["integer", "null"]}, "segment_alias": NULLABLE},
    "campaign_memberships": {**LINK, "campaign_id": {"type": ["integer", "null"]}},
    "company_memberships": {**LINK, "company_id": {"type": ["integer", "null"]}, "companyname": NULLABLE},
    "do_not_contact": {**LINK, "channel": NULLABLE, "reason": NULLABLE, "comments": NULLABLE},
    "notes": {**LINK, "id": {"type": ["integer", "null"]}, "text": NULLABLE, "type": NULLABLE,
              "dateTime": NULLABLE, "_sdc_deleted_at": {"type": ["string", "null"]}},
    "contact_tags": {**LINK, "tag": NULLABLE, "_sdc_deleted_at": {"type": ["string", "null"]}},
}
GOOD = "good.{n}@example.org"
X = "x" * 300

# (stream, record, expected outcome, text the message holds)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("contacts", {"email": "not-an-email"}, "failed", "email"),
    ("contacts", {"email": None, "firstname": "Nobody"}, "failed", "cannot be matched"),
    ("contacts", {"firstname": "No key at all"}, "failed", "cannot be matched"),
    ("contacts", {"email": "   "}, "failed", "cannot be matched"),
    ("contacts", {"email": "plan@example.org", "plan": "platinum"}, "failed", "'plan'"),
    ("contacts", {"email": "vip@example.org", "is_vip": "maybe"}, "failed", "is_vip"),
    ("contacts", {"email": "bday@example.org", "birthday_date": "not a date"}, "failed", "birthday_date"),
    ("contacts", {"email": "bday2@example.org", "birthday_date": "2024-13-45"}, "failed", "birthday_date"),
    ("contacts", {"email": "lp@example.org", "last_purchase_at": "13:00"}, "failed", "last_purchase_at"),
    ("contacts", {"email": "lp2@example.org", "last_purchase_at": "2024-02-30T10:00:00Z"}, "failed",
     "last_purchase_at"),
    ("contacts", {"email": "int@example.org", "interests": ["sports", "knitting"]}, "failed", "interests"),
    ("contacts", {"email": "int2@example.org", "interests": "nothing-like-it"}, "failed", "interests"),
    ("contacts", {"email": "shoe@example.org", "shoe_size": "huge"}, "failed", "shoe_size"),
    ("contacts", {"email": "shoe2@example.org", "shoe_size": float("nan")}, "failed", "shoe_size"),
    ("contacts", {"email": "shoe3@example.org", "shoe_size": float("inf")}, "failed", "shoe_size"),
    ("contacts", {"email": "shoe4@example.org", "shoe_size": float("-inf")}, "failed", "shoe_size"),
    ("contacts", {"email": "long.name@example.org", "firstname": "N" * 100_000}, "failed", "firstname"),
    ("contacts", {"email": X + "@example.org"}, "failed", "is invalid"),  # cut at 254 (real 5.1.0)
    ("contacts", {"email": "color@example.org", "favorite_color": "c" * 65}, "failed", "favorite_color"),
    ("contacts", {"email": "obj@example.org", "firstname": {"nested": True}}, "failed", "schema"),
    ("contacts", {"email": "arr@example.org", "firstname": ["a", "b"]}, "failed", "schema"),
    ("contacts", {"id": "seven", "email": "idstr@example.org"}, "failed", "schema"),
    ("contacts", {"id": 3, "email": "merge.guard@example.org", "_sdc_deleted_at": "not-a-date"},
     "skipped", "delete_records"),
    ("contacts", {"email": "backup@example.org", "backup_email": "nope"}, "failed", "backup_email"),
    ("contacts", {"email": "two@@example.org"}, "failed", "email"),
    ("companies", {"companyname": None}, "failed", "cannot be matched"),
    ("companies", {"companyname": "  "}, "failed", "cannot be matched"),
    ("companies", {"companyname": "Long Co " + X}, "failed", "too long"),
    ("companies", {"id": "abc", "companyname": "Bad Id GmbH"}, "failed", "schema"),
    ("segment_memberships", {"contact_id": 3}, "failed", "segment_id"),
    ("segment_memberships", {"contact_id": 3, "segment_alias": "no-such-segment"}, "failed",
     "no-such-segment"),
    ("segment_memberships", {"email": "nobody@example.org", "segment_id": 1}, "failed", "nobody@example.org"),
    ("segment_memberships", {"segment_id": 1}, "failed", "contact_id"),
    ("segment_memberships", {"contact_id": 3, "segment_id": 999999}, "failed", "999999"),
    ("campaign_memberships", {"contact_id": 3, "campaign_id": 999999}, "failed", "not found"),
    ("campaign_memberships", {"contact_id": 3}, "failed", "campaign_id"),
    ("company_memberships", {"contact_id": 3, "companyname": "No Such Company Ltd"}, "failed",
     "No Such Company Ltd"),
    ("company_memberships", {"contact_id": 999999, "company_id": 1}, "failed", "not found"),
    ("do_not_contact", {"contact_id": 3, "reason": "angry"}, "failed", "'reason'"),
    ("do_not_contact", {"email": "nobody@example.org"}, "failed", "nobody@example.org"),
    ("do_not_contact", {"contact_id": 999999}, "failed", "999999"),
    ("notes", {"contact_id": 3, "text": None}, "failed", "text"),
    ("notes", {"contact_id": 3, "text": "Dated", "dateTime": "garbage"}, "failed", "dateTime"),
    ("notes", {"contact_id": 3, "_sdc_deleted_at": "2024-01-01T00:00:00Z"}, "failed", "'id'"),
    ("notes", {"email": "nobody@example.org", "text": "x"}, "failed", "nobody@example.org"),
    ("contact_tags", {"contact_id": 3, "tag": "  "}, "failed", "tag"),
    ("contact_tags", {"contact_id": 3, "tag": None}, "failed", "tag"),
    ("contact_tags", {"email": "nobody@example.org", "tag": "vip"}, "failed", "nobody@example.org"),
]


def source_for(cases: list[tuple[str, dict[str, Any]]]) -> str:
    """Singer text: one SCHEMA per stream, the records in order (NaN/Infinity as JSON allows them)."""
    lines, seen = [], set()
    for stream, record in cases:
        if stream not in seen:
            seen.add(stream)
            lines.append(json.dumps({"type": "SCHEMA", "stream": stream, "key_properties": [],
                                     "schema": {"type": "object", "properties": SCHEMAS[stream]}}))
        lines.append(json.dumps({"type": "RECORD", "stream": stream, "record": record}))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def table_run(tmp_path_factory: pytest.TempPathFactory):
    """Every bad record, each between two good contacts, through one target run."""
    cases: list[tuple[str, dict[str, Any]]] = []
    for n, (stream, record, _, _) in enumerate(BAD):
        cases += [("contacts", {"email": GOOD.format(n=f"{n}a")}), (stream, record),
                  ("contacts", {"email": GOOD.format(n=f"{n}b")})]
    with Simulator(contacts=20, seed=11, username=SIM_USER, password=SIM_PASSWORD) as sim:
        run = run_target(sim, tmp_path_factory.mktemp("bad-records"), source_for(cases),
                         on_record_error="report")
        by_stream: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for result in run.results:
            by_stream[result["stream"]].append(result)
        yield run, cases, by_stream, sim


def test_every_record_has_exactly_one_result_line(table_run) -> None:
    run, cases, by_stream, _ = table_run
    assert run.error is None
    assert len(run.results) == len(cases)
    for stream in SCHEMAS:
        assert len(by_stream[stream]) == sum(1 for s, _ in cases if s == stream)


def test_good_records_around_the_bad_ones_are_written(table_run) -> None:
    _, _, by_stream, sim = table_run
    good = [r for r in by_stream["contacts"] if str(r["key"].get("email", "")).startswith("good.")]
    assert len(good) == 2 * len(BAD)
    assert {r["outcome"] for r in good} == {"created"}
    stored = {row["email"] for row in sim.query("SELECT email FROM leads WHERE email LIKE 'good.%'")}
    assert stored == {r["key"]["email"] for r in good}


@pytest.mark.parametrize(("n", "case"), list(enumerate(BAD)), ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD)])
def test_bad_record(table_run, n: int, case: tuple[str, dict[str, Any], str, str]) -> None:
    stream, _, outcome, text = case
    _, cases, by_stream, _ = table_run
    position = sum(1 for s, _ in cases[: 3 * n + 1] if s == stream)  # this record's place in its stream
    result = by_stream[stream][position]
    assert (result["outcome"], result["message"] and text in result["message"]) == (outcome, True), result
    assert "Traceback" not in (result["message"] or "")


def test_the_table_has_at_least_forty_bad_records() -> None:
    assert len(BAD) >= 40


# -- property test: whatever a record holds, it ends as exactly one result line -------------------------
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=80),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
RECORDS = st.lists(
    st.fixed_dictionaries({}, optional={name: VALUES for name in CONTACTS if name != "_sdc_deleted_at"}),
    min_size=1, max_size=12,
)


@pytest.fixture(scope="module")
def property_sim():
    with Simulator(contacts=10, seed=13, username=SIM_USER, password=SIM_PASSWORD) as sim:
        yield sim


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=RECORDS)
def test_any_record_ends_as_exactly_one_result_line(property_sim: Simulator, tmp_path_factory,
                                                    records: list[dict[str, Any]]) -> None:
    source = source_for([("contacts", r) for r in records])
    run = run_target(property_sim, tmp_path_factory.mktemp("prop"), source, on_record_error="report",
                     max_retries=0)
    assert run.error is None
    assert len(run.results) == len(records)
    assert all(r["outcome"] in ("created", "updated", "unchanged", "skipped", "failed") for r in run.results)
    assert all(r["message"] for r in run.results if r["outcome"] == "failed")


# -- tap-mautic: bad values stored in Mautic never stop the sync -------------------------------------------
# (column, stored value): what a broken import, a direct SQL edit or an old plugin can leave in the table
# (only values the column types of a real Mautic can hold: no text in points or is_vip).
TAP_BAD: list[tuple[str, Any]] = [
    ("date_added", "not a date"), ("date_added", "0000-00-00 00:00:00"), ("date_added", ""),
    ("date_modified", "2024-02-30 10:00:00"), ("date_modified", "yesterday"),
    ("date_identified", "31/12/2024"), ("last_active", "garbage"),
    ("points", 2147483647), ("points", 1e308), ("points", -1e308), ("points", -2147483648), ("points", None),
    ("shoe_size", "forty-two"), ("shoe_size", "1e999"), ("shoe_size", ""), ("seats", "3.5.1"),
    ("is_vip", None), ("is_vip", "2"), ("is_vip", ""),
    ("birthday_date", "not a date"), ("birthday_date", "2024-13-45"), ("birthday_date", "0000-00-00"),
    ("last_purchase_at", "soon"), ("last_purchase_at", "2024-01-01T25:61:00"),
    ("plan", "an option that was deleted"), ("interests", "a|b|c|not-an-option"), ("interests", "|||"),
    ("firstname", "N" * 5000), ("firstname", "\u0000nul"), ("firstname", "emoji \U0001f600"),
    ("firstname", "caf\xe9 \u202e rtl"), ("email", "not-an-email"), ("email", ""),
    ("favorite_color", "<script>alert(1)</script>"), ("bio", "x" * 70000),
    ("home_country", "Atlantis"), ("home_timezone", "Mars/Olympus"), ("spoken_locale", "xx_YY"),
    ("website", "not a url"), ("office_phone", "☎☎☎"), ("stage_id", 999999), ("owner_id", 999999),
]


@pytest.fixture(scope="module")
def tap_bad_run(tmp_path_factory: pytest.TempPathFactory):
    with Simulator(contacts=len(TAP_BAD) + 5, seed=17, username=SIM_USER, password=SIM_PASSWORD) as sim:
        ids = [row["id"] for row in sim.query("SELECT id FROM leads ORDER BY id")]
        for contact_id, (column, value) in zip(ids, TAP_BAD, strict=False):
            sim.execute(f'UPDATE leads SET "{column}" = ? WHERE id = ?', (value, contact_id))
        config = basic_config(sim)
        tmp = tmp_path_factory.mktemp("tap-bad")
        done = run_cli(tmp, config, catalog=catalog_for(config, ["contacts"]))
        assert done.returncode == 0, done.stderr[-3000:]
        yield sim, ids, SyncResult.from_lines(done.stdout.splitlines()).messages, done.stderr


def test_the_tap_emits_every_contact_once_whatever_its_values(tap_bad_run) -> None:
    _, ids, messages, _ = tap_bad_run
    emitted = [m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == "contacts"]
    assert sorted(emitted) == sorted(ids) and len(set(emitted)) == len(emitted)


@pytest.mark.parametrize(("n", "case"), list(enumerate(TAP_BAD)), ids=[f"{c[0]}-{i}" for i, c in
                                                                        enumerate(TAP_BAD)])
def test_a_bad_stored_value_is_typed_or_null(tap_bad_run, n: int, case: tuple[str, Any]) -> None:
    _, ids, messages, log = tap_bad_run
    record = next(m["record"] for m in messages if m["type"] == "RECORD" and m.get("stream") == "contacts"
                  and m["record"]["id"] == ids[n])
    assert record["id"] == ids[n]
    assert json.loads(json.dumps(record, allow_nan=False)) == record  # valid JSON: no NaN/Infinity
    assert "Traceback" not in log


def test_the_tap_table_has_at_least_forty_bad_values() -> None:
    assert len(TAP_BAD) >= 40

