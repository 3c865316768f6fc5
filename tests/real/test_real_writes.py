"""Write rules of a real Mautic 5.1.0 that the simulator and target-mautic rely on (issue 18, point 4).

Two groups: the raw exchanges (what Mautic stores for a number between -1 and 1 or 0 on a create and on an edit;
what it answers to an edit that gives a record another record's unique value), and target-mautic run into the
real server, its results file compared with the rows in MariaDB (the oracle; never the API under test).

First run against the instance built by scripts/real_mautic.sh on 2026-12-06 (Mautic-Version 5.1.0): every
figure cited in mautic_sim/contacts.py, target_mautic/unwritable.py and the simulator/target tests comes from
these exchanges.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from target_mautic.target import RecordsFailedError, TargetMautic
from tests.real.conftest import RealMautic

UNIQUE_EMAIL = {"email": ["This field must be unique."]}
UNIQUE_NAME = {"companyname": ["This field must be unique."]}


class Api:
    """Plain HTTP to the real server (Basic auth), so the raw tests do not go through the client package."""

    def __init__(self, real: RealMautic) -> None:
        self.url = real.url
        self.session = requests.Session()
        self.session.auth = (real.username, real.password)

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.session.request(method, f"{self.url}/api{path}", json=body, timeout=60)


@pytest.fixture
def api(real: RealMautic) -> Api:
    """The fresh instance with two number fields of scale 2: contact ``acc_ratio``, company ``co_ratio``."""
    client = Api(real)
    for obj, alias in (("contact", "acc_ratio"), ("company", "co_ratio")):
        answer = client.call("POST", f"/fields/{obj}/new", {
            "label": alias, "alias": alias, "type": "number", "properties": {"roundmode": 4, "scale": 2}})
        assert answer.status_code == 201, answer.text
    return client


def contact_id(api: Api, email: str, **fields: Any) -> int:
    answer = api.call("POST", "/contacts/new", {"email": email, **fields})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["contact"]["id"])


def ratio(real: RealMautic, email: str) -> Any:
    return real.sql("SELECT acc_ratio FROM leads WHERE email = %s", email)[0]["acc_ratio"]


# -- raw exchanges ------------------------------------------------------------------------------------------
def test_contact_creates_store_fractions_edits_do_not(real: RealMautic, api: Api) -> None:
    assert api.call("POST", "/contacts/new", {"email": "f1@example.org", "acc_ratio": 0.55}).status_code == 201
    assert api.call("POST", "/contacts/new", {"email": "f2@example.org", "acc_ratio": 0}).status_code == 201
    assert api.call("POST", "/contacts/new", {"email": "f3@example.org", "acc_ratio": -0.25}).status_code == 201
    assert (ratio(real, "f1@example.org"), ratio(real, "f2@example.org"), ratio(real, "f3@example.org")) == (
        0.55, None, -0.25)
    cid = contact_id(api, "f5@example.org", acc_ratio=2.5)
    for value in (0.37, 0, -0.5):
        assert api.call("PATCH", f"/contacts/{cid}/edit", {"acc_ratio": value}).status_code == 200
        assert ratio(real, "f5@example.org") == 2.5
    # a value >= 1 is stored by an edit; a fraction is not, on a NULL field either
    assert api.call("PATCH", f"/contacts/{cid}/edit", {"acc_ratio": 1.5}).status_code == 200
    assert ratio(real, "f5@example.org") == 1.5
    null_id = real.sql("SELECT id FROM leads WHERE email = 'f2@example.org'")[0]["id"]
    assert api.call("PATCH", f"/contacts/{null_id}/edit", {"acc_ratio": 0.37}).status_code == 200
    assert ratio(real, "f2@example.org") is None
    # POST /new matching by email is an edit: 200 and unchanged
    assert api.call("POST", "/contacts/new", {"email": "f5@example.org", "acc_ratio": 0.37}).status_code == 200
    assert ratio(real, "f5@example.org") == 1.5
    answer = api.call("POST", "/contacts/batch/new", [
        {"email": "f5@example.org", "acc_ratio": 0.61}, {"email": "b1@example.org", "acc_ratio": 0.61},
        {"email": "b2@example.org", "acc_ratio": 0}, {"email": "b3@example.org", "acc_ratio": 7.25}])
    assert answer.status_code == 201 and answer.json()["statusCodes"] == [200, 201, 201, 201]
    assert [ratio(real, e) for e in ("f5@example.org", "b1@example.org", "b2@example.org", "b3@example.org")] == [
        1.5, 0.61, None, 7.25]
    b3 = real.sql("SELECT id FROM leads WHERE email = 'b3@example.org'")[0]["id"]
    answer = api.call("PATCH", "/contacts/batch/edit", [{"id": cid, "acc_ratio": 0.9}, {"id": b3, "acc_ratio": 0}])
    assert answer.json()["statusCodes"] == [200, 200]
    assert (ratio(real, "f5@example.org"), ratio(real, "b3@example.org")) == (1.5, 7.25)


def test_company_writes_store_zero_and_fractions(real: RealMautic, api: Api) -> None:
    def stored(name: str) -> Any:
        return real.sql("SELECT co_ratio FROM companies WHERE companyname = %s", name)[0]["co_ratio"]

    assert api.call("POST", "/companies/new", {"companyname": "Frac A", "co_ratio": 0.55}).status_code == 201
    assert api.call("POST", "/companies/new", {"companyname": "Frac B", "co_ratio": 0}).status_code == 201
    assert (stored("Frac A"), stored("Frac B")) == (0.55, 0.0)
    comp = api.call("POST", "/companies/new", {"companyname": "Frac C", "co_ratio": 3.5}).json()["company"]["id"]
    for value in (0.37, 0):
        assert api.call("PATCH", f"/companies/{comp}/edit", {"co_ratio": value}).status_code == 200
        assert stored("Frac C") == value
    answer = api.call("POST", "/companies/batch/new", [{"companyname": "Frac D", "co_ratio": 0.66},
                                                       {"companyname": "Frac E", "co_ratio": 0}])
    assert answer.json()["statusCodes"] == [201, 201] and (stored("Frac D"), stored("Frac E")) == (0.66, 0.0)
    assert api.call("PATCH", "/companies/batch/edit", [{"id": comp, "co_ratio": 0.9}]).json()["statusCodes"] == [200]
    assert stored("Frac C") == 0.9


def test_an_edit_to_another_contacts_email_is_refused_not_merged(real: RealMautic, api: Api) -> None:
    u1, u2, u3 = (contact_id(api, f"u{n}@example.org", firstname=f"u{n}") for n in (1, 2, 3))
    for body in ({"email": "u2@example.org", "firstname": "Changed"}, {"email": "U2@Example.ORG "}):
        answer = api.call("PATCH", f"/contacts/{u1}/edit", body)
        assert answer.status_code == 422
        assert answer.json() == {"errors": [{"code": 422, "message": "email: This field must be unique.",
                                             "details": UNIQUE_EMAIL}]}
    assert api.call("PUT", f"/contacts/{u1}/edit", {"email": "u2@example.org"}).status_code == 422
    answer = api.call("PATCH", "/contacts/batch/edit", [
        {"id": u1, "email": "u3@example.org", "firstname": "B1"}, {"id": u2, "email": "new@example.org"},
        {"id": u3, "email": "NEW@example.org", "firstname": "B3"}])
    body = answer.json()
    item = {"code": 422, "message": "email: This field must be unique.", "details": UNIQUE_EMAIL, "type": None}
    assert answer.status_code == 200 and body["statusCodes"] == [422, 200, 422]
    assert body["errors"] == {"0": item, "2": item}
    assert [c["id"] for c in body["contacts"]] == [u1, u2, u3]  # the refused ones unchanged in the list
    assert real.sql("SELECT id, email, firstname FROM leads ORDER BY id") == [
        {"id": u1, "email": "u1@example.org", "firstname": "u1"},
        {"id": u2, "email": "new@example.org", "firstname": "u2"},
        {"id": u3, "email": "u3@example.org", "firstname": "u3"}]
    assert not real.sql("SELECT 1 FROM audit_log WHERE object = 'lead' AND action = 'delete'")


def test_company_names_are_unique_on_batch_new_and_edits(real: RealMautic, api: Api) -> None:
    a = api.call("POST", "/companies/new", {"companyname": "Uni A"}).json()["company"]["id"]
    b = api.call("POST", "/companies/new", {"companyname": "Uni B"}).json()["company"]["id"]
    answer = api.call("PATCH", f"/companies/{a}/edit", {"companyname": "Uni B", "companycity": "X"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["details"] == UNIQUE_NAME
    assert api.call("POST", "/companies/new", {"companyname": "Uni B", "force": 1}).status_code == 422
    answer = api.call("POST", "/companies/batch/new", [{"companyname": "uni a "}, {"companyname": "Uni N"}])
    body = answer.json()
    item = {"code": 422, "message": "companyname: This field must be unique.", "details": UNIQUE_NAME, "type": None}
    assert body["statusCodes"] == [422, 201] and body["errors"] == [item] and list(body["companies"]) == ["1"]
    answer = api.call("PATCH", "/companies/batch/edit", [{"id": a, "companyname": "uni b", "companycity": "Z"},
                                                         {"id": b, "companycity": "Y"}])
    assert answer.json()["statusCodes"] == [422, 200] and answer.json()["errors"] == [item]
    assert real.sql("SELECT id, companyname, companycity FROM companies ORDER BY id") == [
        {"id": a, "companyname": "Uni A", "companycity": None}, {"id": b, "companyname": "Uni B", "companycity": "Y"},
        {"id": b + 1, "companyname": "Uni N", "companycity": None}]


# -- target-mautic into the real server ------------------------------------------------------------------
def run_target(real: RealMautic, tmp_path: Path, stream: str, properties: dict[str, Any],
               records: list[dict[str, Any]], **settings: Any) -> list[dict[str, Any]]:
    """The records through a fresh target-mautic into the real server; the results file's lines."""
    results = tmp_path / f"results-{len(list(tmp_path.glob('results-*')))}.jsonl"
    schema = {"type": "object", "properties": properties}
    lines = [json.dumps({"type": "SCHEMA", "stream": stream, "key_properties": [], "schema": schema})]
    lines += [json.dumps({"type": "RECORD", "stream": stream, "record": r}) for r in records]
    target = TargetMautic(config=real.config(results_path=str(results), on_record_error="report", **settings),
                          parse_env_config=False)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(RecordsFailedError):
        target.listen(io.StringIO("\n".join(lines) + "\n"))
    return [json.loads(line) for line in results.read_text().splitlines()]


CONTACT = {"id": {"type": ["integer", "null"]}, "email": {"type": ["string", "null"]},
           "firstname": {"type": ["string", "null"]}, "acc_ratio": {"type": ["number", "null"]}}


def test_target_sends_fractions_on_creates_and_reports_what_was_not_stored(
    real: RealMautic, api: Api, tmp_path: Path
) -> None:
    """Every result line agrees with MariaDB: created with a fraction -> stored, no note; created with 0 ->
    NULL, noted; batch/new matching an existing email (an edit) -> unchanged, noted; an edit by id with a
    fraction -> not sent, unchanged, noted."""
    kept = contact_id(api, "kept@example.org", acc_ratio=2.5)
    by_id = contact_id(api, "byid@example.org", acc_ratio=4.5)
    records = [{"email": "new.frac@example.org", "acc_ratio": 0.55},
               {"email": "new.zero@example.org", "firstname": "Zero", "acc_ratio": 0},
               {"email": "new.neg@example.org", "acc_ratio": -0.25},
               {"email": "kept@example.org", "firstname": "Kept", "acc_ratio": 0.37},
               {"id": by_id, "firstname": "ById", "acc_ratio": 0.5}]
    # the batch/new path: compare_before_write would look kept@example.org up first and edit it instead
    lines = {json.dumps(r["key"], sort_keys=True): r for r in run_target(real, tmp_path, "contacts", CONTACT,
                                                                        records, compare_before_write=False)}
    rows = {r["email"]: r for r in real.sql("SELECT id, email, firstname, acc_ratio FROM leads")}

    def line(**key: Any) -> dict[str, Any]:
        return lines[json.dumps(key, sort_keys=True)]

    def warned(result: dict[str, Any]) -> str:
        return " ".join(result["warnings"])  # a value Mautic will not store is a warning of the line

    for email, value in (("new.frac@example.org", 0.55), ("new.neg@example.org", -0.25)):
        assert (line(email=email)["outcome"], line(email=email)["message"]) == ("created", None)
        assert rows[email]["acc_ratio"] == value and line(email=email)["mautic_id"] == rows[email]["id"]
    zero = line(email="new.zero@example.org")
    assert zero["outcome"] == "created" and "acc_ratio=0" in warned(zero) and "left empty" in warned(zero)
    assert rows["new.zero@example.org"]["acc_ratio"] is None and rows["new.zero@example.org"]["firstname"] == "Zero"
    matched = line(email="kept@example.org")
    assert matched["outcome"] == "updated" and matched["mautic_id"] == kept
    assert "batch/new matched an existing contact by email" in warned(matched)
    assert "acc_ratio=0.37" in warned(matched)
    assert rows["kept@example.org"]["acc_ratio"] == 2.5 and rows["kept@example.org"]["firstname"] == "Kept"
    edit = line(id=by_id)
    assert edit["outcome"] == "updated" and "acc_ratio=0.5" in warned(edit) and "left unchanged" in warned(edit)
    assert rows["byid@example.org"]["acc_ratio"] == 4.5 and rows["byid@example.org"]["firstname"] == "ById"


def test_target_reports_an_edit_to_another_contacts_email_per_record(
    real: RealMautic, api: Api, tmp_path: Path
) -> None:
    """The 422 is the record's failure, naming the value and its holder; the batch's other rows are written and
    nothing is merged or deleted (allow_merge, deprecated, changes nothing)."""
    a = contact_id(api, "a@example.org", firstname="A")
    b = contact_id(api, "b@example.org", firstname="B")
    records = [{"id": a, "email": "B@example.org", "firstname": "A2"}, {"id": b, "firstname": "B2"}]
    results = run_target(real, tmp_path, "contacts", CONTACT, records, allow_merge=True)
    refused = next(r for r in results if r["key"] == {"id": a, "email": "B@example.org"})
    assert refused["outcome"] == "failed" and "HTTP 422" in refused["message"]
    assert f"email 'B@example.org' is already held by contact {b}" in refused["message"]
    assert [r["outcome"] for r in results if r["key"] == {"id": b}] == ["updated"]
    assert real.sql("SELECT id, email, firstname FROM leads ORDER BY id") == [
        {"id": a, "email": "a@example.org", "firstname": "A"}, {"id": b, "email": "b@example.org", "firstname": "B2"}]
    assert not real.sql("SELECT 1 FROM audit_log WHERE object = 'lead' AND action = 'delete'")


COMPANY = {"id": {"type": ["integer", "null"]}, "companyname": {"type": ["string", "null"]},
           "co_ratio": {"type": ["number", "null"]}}


def test_target_writes_company_zero_and_fractions_and_reports_a_taken_name(
    real: RealMautic, api: Api, tmp_path: Path
) -> None:
    results = run_target(real, tmp_path, "companies", COMPANY, [
        {"companyname": "Fraction Ltd", "co_ratio": 0.55}, {"companyname": "Zero Ltd", "co_ratio": 0}])
    assert [(r["outcome"], r["message"]) for r in results] == [("created", None), ("created", None)]
    rows = {r["companyname"]: r for r in real.sql("SELECT id, companyname, co_ratio FROM companies")}
    assert (rows["Fraction Ltd"]["co_ratio"], rows["Zero Ltd"]["co_ratio"]) == (0.55, 0.0)
    assert [r["mautic_id"] for r in results] == [rows["Fraction Ltd"]["id"], rows["Zero Ltd"]["id"]]
    fraction, zero = rows["Fraction Ltd"]["id"], rows["Zero Ltd"]["id"]
    results = run_target(real, tmp_path, "companies", COMPANY, [
        {"id": fraction, "co_ratio": 0}, {"id": zero, "companyname": "fraction ltd", "co_ratio": 0.25}])
    assert results[0]["outcome"] == "updated" and results[0]["message"] is None
    assert results[1]["outcome"] == "failed" and "HTTP 422" in results[1]["message"]
    assert f"companyname 'fraction ltd' is already held by company {fraction}" in results[1]["message"]
    assert real.sql("SELECT id, companyname, co_ratio FROM companies ORDER BY id") == [
        {"id": fraction, "companyname": "Fraction Ltd", "co_ratio": 0.0},
        {"id": zero, "companyname": "Zero Ltd", "co_ratio": 0.0}]
