"""target-mautic on a real Mautic 5.1.0: one bad row never fails its batch, what Mautic saved before failing a
batch is reported as written, values Mautic alters on save carry a warning. MariaDB is the oracle.

What the server did (measured 2026-12-06 on this suite's instance):
* POST contacts/batch/new, 50 items, firstname "a\\0b" at index 26 -> 500, items 0-26 saved (the audit log
  row of item 26 fails: "Serialized array includes null-byte");
* batch/new with firstname "bad\\ud800x" -> 400, nothing saved;
* PATCH contacts/batch/edit of 6 whose 4th contact has last_active 0000-00-00 (set with SQL) -> 500, items
  0-2 saved;
* POST contacts/new: "ünï@ex.com" stored "n@ex.com", website "javascript:alert(1)" stored
  "http://javascript:alert(1)", firstname "x\\u202e" stored "x".
"""

from __future__ import annotations

from pathlib import Path

import requests

from tests.real.conftest import RealMautic
from tests.real.support import run_target, singer

SCHEMA = {"type": "object", "properties": {
    "id": {"type": ["integer", "null"]}, "email": {"type": ["string", "null"]},
    "firstname": {"type": ["string", "null"]}, "lastname": {"type": ["string", "null"]},
    "website": {"type": ["string", "null"]}}}


def _create(real: RealMautic, emails: list[str]) -> list[int]:
    answer = requests.post(f"{real.url}/api/contacts/batch/new", auth=(real.username, real.password),
                           json=[{"email": e, "firstname": "Seed"} for e in emails], timeout=120)
    assert answer.status_code == 201, answer.text[:300]
    rows = real.sql("SELECT id, email FROM leads")
    by_email = {r["email"]: int(r["id"]) for r in rows}
    return [by_email[e] for e in emails]


def _zero_date(real: RealMautic, contact_id: int) -> None:
    """Mautic's own bad data: a date MariaDB holds only outside strict mode."""
    real.execute("SET STATEMENT sql_mode='' FOR UPDATE leads SET last_active = '0000-00-00 00:00:00' "
                 "WHERE id = %s", contact_id)


def test_values_mautic_cannot_store_fail_their_record_only(real: RealMautic, tmp_path: Path):
    records = [{"email": f"good{i}@example.org", "firstname": "Good"} for i in range(50)]
    records[26]["firstname"] = "a\x00b"
    records[30]["lastname"] = "bad\ud800x"
    code, results, err = run_target(real, tmp_path, singer("contacts", SCHEMA, records, ["email"]))
    outcomes = {r["key"]["email"]: r for r in results}
    assert [outcomes[r["email"]]["outcome"] for r in records].count("created") == 48, err[-2000:]
    assert outcomes["good26@example.org"]["outcome"] == "failed"
    assert "property 'firstname'" in outcomes["good26@example.org"]["message"]
    assert "property 'lastname'" in outcomes["good30@example.org"]["message"]
    stored = {r["email"]: int(r["id"]) for r in real.sql("SELECT id, email FROM leads")}
    assert set(stored) == {r["email"] for r in records} - {"good26@example.org", "good30@example.org"}
    assert all(outcomes[e]["mautic_id"] == i for e, i in stored.items())
    assert code != 0  # failed records make the run fail (README "Exit codes")


def test_edit_batch_failing_as_a_whole_is_split_to_its_bad_rows(real: RealMautic, tmp_path: Path):
    ids = _create(real, [f"zero{i}@example.org" for i in range(60)])
    bad = {ids[17], ids[44]}
    for contact_id in bad:
        _zero_date(real, contact_id)
    records = [{"id": i, "firstname": "Edited"} for i in ids]
    _code, results, err = run_target(real, tmp_path, singer("contacts", SCHEMA, records, ["id"]),
                                    max_concurrency=1)
    outcomes = {r["key"]["id"]: r["outcome"] for r in results}
    assert {i for i, o in outcomes.items() if o == "failed"} == bad, err[-2000:]
    assert {i for i, o in outcomes.items() if o == "updated"} == set(ids) - bad
    edited = {int(r["id"]) for r in real.sql("SELECT id FROM leads WHERE firstname = 'Edited'")}
    assert edited == set(ids) - bad  # the oracle agrees with every result line


def test_create_batch_partly_saved_reports_the_saved_rows_created(real: RealMautic, tmp_path: Path):
    [stuck] = _create(real, ["stuck0@example.org"])
    _zero_date(real, stuck)  # batch/new matches it by email and must edit it: 500 after the items before
    records = [{"email": f"part{i}@example.org", "firstname": "New"} for i in range(30)]
    records[12] = {"email": "stuck0@example.org", "firstname": "New"}
    _code, results, err = run_target(real, tmp_path, singer("contacts", SCHEMA, records, ["email"]),
                                    max_concurrency=1)
    outcomes = {r["key"]["email"]: r for r in results}
    assert outcomes["stuck0@example.org"]["outcome"] == "failed", err[-2000:]
    rows = real.sql("SELECT id, email FROM leads WHERE email LIKE 'part%%'")
    stored = {r["email"]: int(r["id"]) for r in rows}
    assert len(stored) == 29  # each once: the 12 saved before the 500 were read back, not sent again
    for email, contact_id in stored.items():
        assert (outcomes[email]["outcome"], outcomes[email]["mautic_id"]) == ("created", contact_id)


def test_values_mautic_alters_carry_a_warning_and_are_stored_as_warned(real: RealMautic, tmp_path: Path):
    records = [
        {"email": "ünï@warn.example.org", "firstname": "Uni"},
        {"email": "web@warn.example.org", "website": "javascript:alert(1)"},
        {"email": "rtl@warn.example.org", "firstname": "Evil\u202e"},
    ]
    code, results, err = run_target(real, tmp_path, singer("contacts", SCHEMA, records, ["email"]))
    assert code == 0, err[-2000:]
    by_email = {r["key"]["email"]: r for r in results}
    assert all(r["outcome"] == "created" and r["warnings"] for r in results), results
    rows = {int(r["id"]): r for r in real.sql("SELECT id, email, website, firstname FROM leads")}
    assert rows[by_email["ünï@warn.example.org"]["mautic_id"]]["email"] == "n@warn.example.org"
    assert rows[by_email["web@warn.example.org"]["mautic_id"]]["website"] == "http://javascript:alert(1)"
    assert rows[by_email["rtl@warn.example.org"]["mautic_id"]]["firstname"] == "Evil"
    assert "'n@warn.example.org'" in by_email["ünï@warn.example.org"]["warnings"][0]


def test_edit_to_an_email_whose_clean_form_belongs_to_another_contact_is_refused(
    real: RealMautic, tmp_path: Path
):
    holder, edited = _create(real, ["n@own.example.org", "edited@own.example.org"])
    records = [{"id": edited, "email": "ünï@own.example.org"}]
    _code, results, err = run_target(real, tmp_path, singer("contacts", SCHEMA, records, ["id"]))
    assert results[0]["outcome"] == "failed", (results, err[-2000:])
    assert str(holder) in results[0]["message"]
    assert real.sql("SELECT email FROM leads WHERE id = %s", holder) == [{"email": "n@own.example.org"}]
    assert real.sql("SELECT email FROM leads WHERE id = %s", edited) == [{"email": "edited@own.example.org"}]


def test_create_whose_clean_email_another_contact_holds_is_refused(real: RealMautic, tmp_path: Path):
    # without the refusal, batch/new matches the holder by "n@taken…" and overwrites its firstname
    (holder,) = _create(real, ["n@taken.example.org"])
    records = [{"email": "ünï@taken.example.org", "firstname": "Intruder"},
               {"email": "plain@taken.example.org", "firstname": "Plain"}]
    _code, results, err = run_target(real, tmp_path, singer("contacts", SCHEMA, records, ["email"]))
    by_email = {r["key"]["email"]: r for r in results}
    assert by_email["ünï@taken.example.org"]["outcome"] == "failed", (results, err[-2000:])
    assert f"contact {holder} already holds it" in by_email["ünï@taken.example.org"]["message"]
    assert by_email["plain@taken.example.org"]["outcome"] == "created"
    assert real.sql("SELECT firstname FROM leads WHERE id = %s", holder) == [{"firstname": "Seed"}]
