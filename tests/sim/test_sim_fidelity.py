"""Simulator fidelity to Mautic's MariaDB and PHP: case-insensitive text comparisons (utf8mb4_unicode_ci) in
where, search and de-duplication; ``in``/``notIn`` values read by ``str_getcsv``; seeded notes; stats rows
without their null columns. Plain HTTP with ``requests`` (the client package is deliberately not used)."""

from __future__ import annotations

import json
from typing import Any

import requests

from mautic_sim import Simulator

AUTH = ("admin", "mautic")


def _get(sim: Simulator, path: str, **params: Any) -> Any:
    r = requests.get(f"{sim.url}/api{path}", params=params, auth=AUTH, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _post(sim: Simulator, path: str, body: Any = None) -> requests.Response:
    return requests.post(f"{sim.url}/api{path}", json=body, auth=AUTH, timeout=10)


def _where(sim: Simulator, col: str, expr: str, val: str, path: str = "/contacts") -> set[str]:
    body = _get(sim, path, limit=0, **{"where[0][col]": col, "where[0][expr]": expr, "where[0][val]": val})
    items = body[next(k for k in body if k != "total")]
    return set(items) if isinstance(items, dict) else {str(e["id"]) for e in items}


# -- 1. case-insensitive comparisons ---------------------------------------------------------------------
def test_where_on_text_columns_ignores_case_accents_and_trailing_spaces(sim: Simulator) -> None:
    r = _post(sim, "/contacts/new", {"email": "Ada@Example.org", "lastname": "Müller", "city": "Zürich"})
    assert r.status_code == 201
    cid = str(r.json()["contact"]["id"])
    assert cid in _where(sim, "email", "eq", "ada@example.org")
    assert cid not in _where(sim, "email", "neq", "ADA@EXAMPLE.ORG")
    assert cid in _where(sim, "email", "in", "nobody@example.org,ADA@example.ORG")
    assert cid not in _where(sim, "email", "notIn", "ada@example.org")
    assert cid in _where(sim, "lastname", "like", "%MÜLLER%")  # non-ASCII case: SQLite's own LIKE misses it
    assert cid in _where(sim, "lastname", "eq", "muller")  # unicode_ci ignores accents
    assert cid in _where(sim, "city", "eq", "zurich   ")  # PAD SPACE: trailing spaces do not count
    assert cid not in _where(sim, "city", "like", "zurich ")  # ... but LIKE does not pad
    # custom field columns and stats tables compare the same way
    sim.execute("UPDATE leads SET favorite_color = 'Dark Blue' WHERE id = ?", (int(cid),))
    assert cid in _where(sim, "favorite_color", "eq", "DARK BLUE")
    lower = _get(sim, "/stats/audit_log", **{"where[0][col]": "action", "where[0][expr]": "eq", "where[0][val]": "create"})
    upper = _get(sim, "/stats/audit_log", **{"where[0][col]": "action", "where[0][expr]": "eq", "where[0][val]": "CREATE"})
    assert int(upper["total"]) == int(lower["total"]) > 0
    # an ORM context (entity JSON) too
    seg = _post(sim, "/segments/new", {"name": "Großkunden"}).json()["list"]["id"]
    assert str(seg) in _where(sim, "name", "eq", "GROSSKUNDEN", path="/segments")


def test_order_by_text_ignores_case(sim: Simulator) -> None:
    for name in ("alpha", "Bravo", "charlie"):
        assert _post(sim, "/contacts/new", {"email": f"{name.lower()}@order.example.org", "lastname": name}).status_code == 201
    body = _get(sim, "/contacts", orderBy="lastname", limit=0, search="order.example.org")
    assert [c["fields"]["all"]["lastname"] for c in body["contacts"].values()] == ["alpha", "Bravo", "charlie"]  # bytes would put B first


def test_search_ignores_case(sim: Simulator) -> None:
    # the email is ASCII: Mautic keeps only ASCII letters in an email (real 5.1.0: "ünï@…" stored as "n@…")
    cid = str(_post(sim, "/contacts/new", {"email": "Emile.Zola@Example.org", "firstname": "Émile", "lastname": "Zölà"}).json()["contact"]["id"])
    assert cid in _get(sim, "/contacts", search="email:emile.zola@example.org")["contacts"]
    assert cid in _get(sim, "/contacts", search="ZÖLÀ")["contacts"]
    assert cid in _get(sim, "/contacts", search="zola")["contacts"]
    assert cid in _get(sim, "/contacts", search="name:ÉMILE")["contacts"]


def test_new_contact_with_other_case_email_merges(sim: Simulator) -> None:
    before = sim.query("SELECT COUNT(*) AS n FROM leads")[0]["n"]
    first = _post(sim, "/contacts/new", {"email": "Ada@Example.org", "firstname": "Ada"})
    assert first.status_code == 201
    cid = first.json()["contact"]["id"]
    # the email is stored as sent, not lowercased (InputHelper::email only trims and sanitizes)
    assert sim.query("SELECT email FROM leads WHERE id = ?", (cid,))[0]["email"] == "Ada@Example.org"
    again = _post(sim, "/contacts/new", {"email": "ada@example.org", "lastname": "Lovelace"})
    assert again.status_code == 200 and again.json()["contact"]["id"] == cid
    row = sim.query("SELECT email, firstname, lastname FROM leads WHERE id = ?", (cid,))[0]
    assert row == {"email": "ada@example.org", "firstname": "Ada", "lastname": "Lovelace"}  # the new value is written
    batch = _post(sim, "/contacts/batch/new", [{"email": "ADA@EXAMPLE.ORG", "city": "London"}, {"email": "babbage@example.org"}])
    body = batch.json()
    assert batch.status_code == 201 and body["statusCodes"] == [200, 201]
    assert body["contacts"][0]["id"] == cid
    assert sim.query("SELECT COUNT(*) AS n FROM leads")[0]["n"] == before + 2
    # an edit that only changes the case of the contact's own email is no merge
    r = requests.patch(f"{sim.url}/api/contacts/{cid}/edit", json={"email": "ADA@example.org"}, auth=AUTH, timeout=10)
    assert r.status_code == 200 and sim.query("SELECT COUNT(*) AS n FROM leads")[0]["n"] == before + 2


UNIQUE_422 = {"errors": [{"code": 422, "message": "email: This field must be unique.",
                           "details": {"email": ["This field must be unique."]}}]}


def test_edit_to_other_case_of_another_email_is_refused_not_merged(sim: Simulator) -> None:
    """Real 5.1.0 (2026-12-06): PATCH /api/contacts/1/edit {"email": "U2@Example.ORG "} while contact 2 holds
    u2@example.org -> 422 with exactly UNIQUE_422; nothing merged, nothing deleted (UniqueCustomField runs before
    LeadApiController::preSaveEntity's ContactMerger, so the merge code is never reached)."""
    keep = _post(sim, "/contacts/new", {"email": "keep@example.org", "city": "Oslo"}).json()["contact"]["id"]
    other = _post(sim, "/contacts/new", {"email": "Other@Example.org", "city": "Turin"}).json()["contact"]["id"]
    r = requests.patch(f"{sim.url}/api/contacts/{keep}/edit", json={"email": "other@example.org ", "city": "Rome"},
                       auth=AUTH, timeout=10)
    assert r.status_code == 422 and r.json() == UNIQUE_422
    rows = sim.query("SELECT id, email, city FROM leads WHERE id IN (?, ?) ORDER BY id", (keep, other))
    assert rows == [{"id": keep, "email": "keep@example.org", "city": "Oslo"},
                    {"id": other, "email": "Other@Example.org", "city": "Turin"}]
    assert not sim.query("SELECT 1 FROM audit_log WHERE object = 'lead' AND action IN ('delete', 'merge') "
                         "AND object_id IN (?, ?)", (keep, other))  # the seed logs deletes of its own


def test_company_name_matching_ignores_case(sim: Simulator) -> None:
    first = _post(sim, "/companies/new", {"companyname": "Acme GmbH"})
    assert first.status_code == 201
    comp = first.json()["company"]["id"]
    again = _post(sim, "/companies/new", {"companyname": "ACME gmbh", "companycity": "Berlin"})
    assert again.status_code == 200 and again.json()["company"]["id"] == comp
    before = sim.query("SELECT COUNT(*) AS n FROM companies")[0]["n"]
    cid = _post(sim, "/contacts/new", {"email": "worker@acme.example.org", "company": "acme GMBH"}).json()["contact"]["id"]
    assert sim.query("SELECT COUNT(*) AS n FROM companies")[0]["n"] == before  # linked, not created
    assert sim.query("SELECT company_id FROM companies_leads WHERE lead_id = ?", (cid,)) == [{"company_id": comp}]


# -- 2. in / notIn values read by str_getcsv(html_entity_decode(value)) ------------------------------------
def test_str_getcsv_reads_like_php() -> None:
    from mautic_sim.mariadb import str_getcsv

    assert str_getcsv('"Acme, Inc.",Globex') == ["Acme, Inc.", "Globex"]
    assert str_getcsv('"Say ""hi""",x') == ['Say "hi"', "x"]
    assert str_getcsv('Globex, "Acme, Inc."') == ["Globex", "Acme, Inc."]  # spaces before a quote are skipped
    assert str_getcsv("a, b ,c") == ["a", " b ", "c"]  # other spaces are kept
    assert str_getcsv('"ab"cd,e') == ["abcd", "e"]  # text after the closing quote is kept
    assert str_getcsv("a,") == ["a", ""]
    assert str_getcsv("") == [None]


def test_where_in_values_are_csv_with_quotes(sim: Simulator) -> None:
    ids: dict[str, str] = {}
    for name in ("Acme, Inc.", "Acme", "Inc.", "Globex", 'Say "hi"', "AT&T", "Initech"):
        body = {"email": f"c{len(ids)}@in.example.org", "company": name}
        ids[name] = str(_post(sim, "/contacts/new", body).json()["contact"]["id"])
    mine = set(ids.values())

    def found(expr: str, val: str) -> set[str]:
        return _where(sim, "company", expr, val) & mine

    assert found("in", '"Acme, Inc.",Globex') == {ids["Acme, Inc."], ids["Globex"]}
    assert found("in", 'Globex, "Acme, Inc."') == {ids["Acme, Inc."], ids["Globex"]}
    assert found("in", '"Say ""hi""",AT&T') == {ids['Say "hi"'], ids["AT&T"]}
    assert found("in", "Globex, Initech") == {ids["Globex"]}  # ' Initech' keeps its leading space: no match
    assert found("notIn", '"Acme, Inc.",Globex') == mine - {ids["Acme, Inc."], ids["Globex"]}
    assert found("eq", "AT&T") == set()  # eq compares the entity-encoded value AT&#38;T
    assert found("eq", "Acme, Inc.") == {ids["Acme, Inc."]}
    # the same parsing in an ORM context
    seg = str(_post(sim, "/segments/new", {"name": "North, East"}).json()["list"]["id"])
    assert seg in _where(sim, "name", "in", '"North, East",South', path="/segments")


# -- 3. seeded notes -------------------------------------------------------------------------------------
def test_notes_are_seeded_with_the_recorded_shape() -> None:
    with Simulator(contacts=120, seed=7) as a, Simulator(contacts=120, seed=7) as b:
        rows = a.query("SELECT id, data FROM lead_notes ORDER BY id")

        def clockless(sim: Simulator) -> list[dict]:  # seeded dates follow the clock, the rest is fixed
            notes = [json.loads(r["data"]) for r in sim.query("SELECT data FROM lead_notes ORDER BY id")]
            return [{**n, "dateTime": n["dateTime"] is None} for n in notes]

        assert rows and clockless(a) == clockless(b)  # deterministic
        body = _get(a, "/notes", limit=100)
        assert body["total"] == len(rows) >= 3
        note = body["notes"][0]
        assert list(note) == ["id", "text", "type", "dateTime", "lead"]
        assert list(note["lead"]) == ["id", "points", "color", "fields"] and note["lead"]["fields"] == []
        assert any(n["dateTime"] is None for n in body["notes"]) and any(n["dateTime"] for n in body["notes"])
        lead = note["lead"]["id"]
        mine = _get(a, f"/contacts/{lead}/notes")
        assert mine["total"] == sum(1 for n in body["notes"] if n["lead"]["id"] == lead)
        assert sim_email(a, lead)  # notes belong to identified contacts


def sim_email(sim: Simulator, lead_id: int) -> str | None:
    return sim.query("SELECT email FROM leads WHERE id = ?", (lead_id,))[0]["email"]


def test_deleting_a_contact_deletes_its_notes(sim: Simulator) -> None:
    cid = _post(sim, "/contacts/new", {"email": "noted@example.org"}).json()["contact"]["id"]
    assert _post(sim, "/notes/new", {"lead": cid, "text": "hello", "type": "general"}).status_code == 201
    assert requests.delete(f"{sim.url}/api/contacts/{cid}/delete", auth=AUTH, timeout=10).status_code == 200
    assert all(n["lead"] is not None and n["lead"]["id"] != cid for n in _get(sim, "/notes", limit=0)["notes"])


# -- 4. stats rows leave out their null columns (recorded: 634, 641) -------------------------------------
def test_stats_rows_leave_out_null_columns(sim: Simulator) -> None:
    cid = _post(sim, "/contacts/new", {"email": "dnc@example.org"}).json()["contact"]["id"]
    assert _post(sim, f"/contacts/{cid}/dnc/email/add", {"reason": 3}).status_code == 200
    rows = _get(sim, "/stats/lead_donotcontact", **{"where[0][col]": "lead_id", "where[0][expr]": "eq", "where[0][val]": cid})["stats"]
    assert len(rows) == 1 and "channel_id" not in rows[0]  # channel_id is NULL: not sent, as recorded (641)
    events = _get(sim, "/stats/lead_event_log", **{"where[0][col]": "lead_id", "where[0][expr]": "eq", "where[0][val]": cid})["stats"]
    identified = [e for e in events if e["action"] == "identified_contact"]
    assert identified and "user_id" not in identified[0] and "object_id" not in identified[0]  # as recorded (634)


def test_batch_edit_refuses_another_contacts_email_per_item(sim: Simulator) -> None:
    """Real 5.1.0 (2026-12-06): PATCH /api/contacts/batch/edit [{id: 1, email: <u3's>, firstname: B1}, {id: 2,
    email: new@example.org}, {id: 3, email: NEW@example.org, firstname: B3}] -> 200, statusCodes [422, 200, 422],
    errors {"0": {code 422, message "email: This field must be unique.", details {email: [...]}, type null},
    "2": ...}; the refused items are in the list unchanged; nothing merged (the notes stay where they were)."""
    ids = [_post(sim, "/contacts/new", {"email": f"u{n}@example.org", "firstname": f"u{n}"}).json()["contact"]["id"]
           for n in (1, 2, 3)]
    note = _post(sim, "/notes/new", {"lead": ids[2], "text": "stays", "type": "general"}).json()["note"]["id"]
    r = requests.patch(f"{sim.url}/api/contacts/batch/edit", auth=AUTH, timeout=10, json=[
        {"id": ids[0], "email": "u3@example.org", "firstname": "B1"}, {"id": ids[1], "email": "new@example.org"},
        {"id": ids[2], "email": "NEW@example.org", "firstname": "B3"}])
    body = r.json()
    assert r.status_code == 200 and body["statusCodes"] == [422, 200, 422]
    item_error = {"code": 422, "message": "email: This field must be unique.",
                  "details": {"email": ["This field must be unique."]}, "type": None}
    assert body["errors"] == {"0": item_error, "2": item_error}
    assert [c["id"] for c in body["contacts"]] == ids
    assert body["contacts"][0]["fields"]["core"]["email"]["value"] == "u1@example.org"
    rows = sim.query("SELECT email, firstname FROM leads WHERE id IN (?, ?, ?) ORDER BY id", tuple(ids))
    assert rows == [{"email": "u1@example.org", "firstname": "u1"}, {"email": "new@example.org", "firstname": "u2"},
                    {"email": "u3@example.org", "firstname": "u3"}]
    assert _get(sim, f"/notes/{note}")["note"]["lead"]["id"] == ids[2]


def test_company_names_are_unique_on_batch_new_and_edits(sim: Simulator) -> None:
    """Real 5.1.0 (2026-12-06): companyname is a unique identifier. POST /api/companies/batch/new [{companyname:
    "uni a "}, {companyname: "Uni N"}] with "Uni A" existing -> 201, statusCodes [422, 201], errors [{code 422,
    message "companyname: This field must be unique.", details, type null}], no entity for item 0; PATCH
    /api/companies/1/edit {"companyname": "Uni B"} -> 422; POST /api/companies/new with force=1 -> 422; batch/edit
    -> the item 422 with the company unchanged in the list. POST /new without force matches by name (200)."""
    a = _post(sim, "/companies/new", {"companyname": "Uni A"}).json()["company"]["id"]
    b = _post(sim, "/companies/new", {"companyname": "Uni B"}).json()["company"]["id"]
    before = sim.query("SELECT COUNT(*) AS n FROM companies")[0]["n"]
    r = _post(sim, "/companies/batch/new", [{"companyname": "uni a ", "companycity": "Dup"}, {"companyname": "Uni N"}])
    body = r.json()
    error = {"code": 422, "message": "companyname: This field must be unique.",
             "details": {"companyname": ["This field must be unique."]}, "type": None}
    assert r.status_code == 201 and body["statusCodes"] == [422, 201] and body["errors"] == [error]
    assert list(body["companies"]) == ["1"]
    assert sim.query("SELECT COUNT(*) AS n FROM companies")[0]["n"] == before + 1
    r = requests.patch(f"{sim.url}/api/companies/{a}/edit", json={"companyname": "Uni B"}, auth=AUTH, timeout=10)
    assert r.status_code == 422 and r.json()["errors"][0]["message"] == "companyname: This field must be unique."
    assert _post(sim, "/companies/new", {"companyname": "Uni B", "force": 1}).status_code == 422
    r = requests.patch(f"{sim.url}/api/companies/batch/edit", auth=AUTH, timeout=10,
                       json=[{"id": a, "companyname": "uni b", "companycity": "Z"}, {"id": b, "companycity": "Y"}])
    assert r.json()["statusCodes"] == [422, 200] and r.json()["errors"] == [error]
    assert r.json()["companies"][0]["fields"]["core"]["companyname"]["value"] == "Uni A"
    assert sim.query("SELECT companyname, companycity FROM companies WHERE id IN (?, ?) ORDER BY id", (a, b)) == [
        {"companyname": "Uni A", "companycity": None}, {"companyname": "Uni B", "companycity": "Y"}]


def test_a_points_change_moves_the_contacts_date_modified(sim: Simulator) -> None:
    # Real Mautic 5.1.0 (2026-12-06): POST /api/contacts/{id}/points/plus/3 -> 200 {"success":1}, and
    # leads.date_modified moved, so an incremental tap run re-reads the contact (tests/real/test_real_tap.py).
    before = _get(sim, "/contacts/1")["contact"]["dateModified"]
    # (the seeded contact's dateModified lies in the past: no wait is needed for it to move)
    assert _post(sim, "/contacts/1/points/plus/3").json() == {"success": 1}
    after = _get(sim, "/contacts/1")["contact"]["dateModified"]
    assert after != before
