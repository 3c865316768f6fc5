"""Simulator writes and their side effects: memberships, contact actions, batches, validation, where/search
quirks. Plain HTTP with ``requests`` (the client package is deliberately not used)."""

from __future__ import annotations

from typing import Any

import requests

from mautic_sim import Simulator

AUTH = ("admin", "mautic")


def _get(sim: Simulator, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sim.url}/api{path}", params=params, auth=AUTH, timeout=10)


def _post(sim: Simulator, path: str, body: Any = None) -> requests.Response:
    return requests.post(f"{sim.url}/api{path}", json=body, auth=AUTH, timeout=10)


def _new_contact(sim: Simulator, **fields: object) -> int:
    r = _post(sim, "/contacts/new", {"email": f"w{len(sim.query('SELECT id FROM leads'))}@example.com", **fields})
    assert r.status_code == 201, r.text
    return r.json()["contact"]["id"]


def test_members_of_an_unpublished_segment_are_refused_with_403_but_searchable(sim: Simulator) -> None:
    """As a real 5.1.0 answered (2026-12-06): add and remove, single or batch, 403; the segment: search reads."""
    seg = _post(sim, "/segments/new", {"name": "Hidden", "alias": "hidden", "isPublished": True}).json()["list"]["id"]
    a = _new_contact(sim)
    assert _post(sim, f"/segments/{seg}/contact/{a}/add").status_code == 200
    requests.patch(f"{sim.url}/api/segments/{seg}/edit", json={"isPublished": False}, auth=AUTH, timeout=10)
    denied = "You do not have access to the requested area/action."
    for path, body in ((f"/segments/{seg}/contact/{a}/remove", None), (f"/segments/{seg}/contacts/add", {"ids": [a]}),
                       (f"/segments/{seg}/contact/{a}/add", None)):
        r = _post(sim, path, body)
        assert r.status_code == 403 and r.json()["errors"][0]["message"] == denied, path
    assert [c["id"] for c in _get(sim, "/contacts", search="segment:hidden").json()["contacts"].values()] == [a]


def test_segment_membership_single_and_batch(sim: Simulator) -> None:
    seg = _post(sim, "/segments/new", {"name": "Writers"}).json()["list"]["id"]
    a, b = _new_contact(sim), _new_contact(sim)
    assert _post(sim, f"/segments/{seg}/contact/{a}/add").json() == {"success": 1}
    r = _post(sim, f"/segments/{seg}/contacts/add", {"ids": [b, 999999]})
    assert r.json() == {"success": 1, "details": {str(b): {"success": True}, "999999": {"success": False}}}
    assert _post(sim, f"/segments/{seg}/contact/999999/add").status_code == 404
    rows = sim.query("SELECT lead_id, manually_added FROM lead_lists_leads WHERE leadlist_id = ? ORDER BY lead_id", (seg,))
    assert [(r["lead_id"], r["manually_added"]) for r in rows] == [(a, 1), (b, 1)]
    stats = _get(sim, "/stats/lead_lists_leads", **{"where[0][col]": "leadlist_id", "where[0][expr]": "eq", "where[0][val]": seg,
                                                   "where[1][col]": "lead_id", "where[1][expr]": "gt", "where[1][val]": a}).json()
    assert [r["lead_id"] for r in stats["stats"]] == [str(b)]
    assert _post(sim, f"/segments/{seg}/contact/{a}/remove").json() == {"success": 1}
    assert not sim.query("SELECT 1 FROM lead_lists_leads WHERE leadlist_id = ? AND lead_id = ?", (seg, a))
    assert _get(sim, f"/contacts/{b}/segments").json()["lists"][str(seg)]["manuallyAdded"] is True
    found = _get(sim, "/contacts", search=f"segment:{_get(sim, f'/segments/{seg}').json()['list']['alias']}").json()
    assert set(found["contacts"]) == {str(b)}


def test_campaign_company_stage_membership(sim: Simulator) -> None:
    cid = _new_contact(sim, firstname="Cam")
    camp = _get(sim, "/campaigns", limit=1).json()["campaigns"]
    camp_id = int(next(iter(camp)))
    assert _post(sim, f"/campaigns/{camp_id}/contact/{cid}/add").json() == {"success": 1}
    rows = _get(sim, f"/campaigns/{camp_id}/contacts", **{"where[0][col]": "lead_id", "where[0][expr]": "eq", "where[0][val]": cid}).json()
    assert rows["total"] == "1" and rows["contacts"][0]["manually_added"] == "1"
    assert _post(sim, f"/campaigns/{camp_id}/contact/{cid}/remove").json() == {"success": 1}
    assert sim.query("SELECT manually_removed FROM campaign_leads WHERE campaign_id = ? AND lead_id = ?", (camp_id, cid))[0]["manually_removed"] == 1
    comp = _post(sim, "/companies/new", {"companyname": "Joiners Ltd"}).json()["company"]["id"]
    assert _post(sim, f"/companies/{comp}/contact/{cid}/add").json() == {"success": 1}
    assert _get(sim, f"/contacts/{cid}/companies").json()["companies"][0]["company_id"] == str(comp)
    assert _post(sim, f"/companies/{comp}/contact/{cid}/remove").json() == {"success": 1}
    assert not sim.query("SELECT 1 FROM companies_leads WHERE company_id = ? AND lead_id = ?", (comp, cid))
    stage = _post(sim, "/stages/new", {"name": "Won", "weight": 50}).json()["stage"]["id"]
    assert _post(sim, f"/stages/{stage}/contact/{cid}/add").json() == {"success": 1}
    assert _get(sim, f"/contacts/{cid}").json()["contact"]["stage"]["id"] == stage
    assert sim.query("SELECT COUNT(*) AS n FROM lead_stages_change_log WHERE lead_id = ? AND stage_id = ?", (cid, stage))[0]["n"] == 1


def test_dnc_points_tags_notes(sim: Simulator) -> None:
    cid = _new_contact(sim, firstname="Dee", tags=["alpha"])
    r = _post(sim, f"/contacts/{cid}/dnc/email/add", {"reason": 1, "comments": "asked"})
    assert r.status_code == 200 and r.json()["contact"]["doNotContact"][0]["reason"] == 1
    assert _post(sim, f"/contacts/{cid}/dnc/email/add").status_code == 200  # adding again is fine
    assert _post(sim, f"/contacts/{cid}/dnc/email/remove").json()["recordFound"] is True
    assert _post(sim, f"/contacts/{cid}/dnc/email/remove").json()["recordFound"] is False
    assert _post(sim, "/contacts/999999/dnc/email/add").status_code == 404
    assert _post(sim, f"/contacts/{cid}/points/plus/5", {"eventName": "bonus", "actionName": "test"}).json() == {"success": 1}
    assert _post(sim, f"/contacts/{cid}/points/minus/2").json() == {"success": 1}
    assert _get(sim, f"/contacts/{cid}").json()["contact"]["points"] == 3
    log = sim.query("SELECT event_name, action_name, delta FROM lead_points_change_log WHERE lead_id = ? ORDER BY id", (cid,))
    assert [(r["event_name"], r["delta"]) for r in log] == [("bonus", 5), ("subtract (-)", 2)]
    assert _post(sim, "/contacts/999999/points/plus/1").status_code == 404
    r = requests.patch(f"{sim.url}/api/contacts/{cid}/edit", json={"tags": ["beta", "-alpha"]}, auth=AUTH, timeout=10)
    assert sorted(t["tag"] for t in r.json()["contact"]["tags"]) == ["beta"]
    note = _post(sim, "/notes/new", {"lead": cid, "text": "called", "type": "call"})
    assert note.status_code == 201
    notes = _get(sim, f"/contacts/{cid}/notes").json()
    assert notes["total"] == 1 and isinstance(notes["total"], int)


def test_batch_edit_partial_and_put_semantics(sim: Simulator) -> None:
    a, b = _new_contact(sim, firstname="A", city="Rome"), _new_contact(sim, firstname="B")
    r = requests.patch(f"{sim.url}/api/contacts/batch/edit", auth=AUTH, timeout=10,
                       json=[{"id": a, "lastname": "Ok"}, {"id": 999999, "firstname": "x"}, {"id": b, "email": "bad"}])
    body = r.json()
    assert r.status_code == 200 and body["statusCodes"] == [200, 404, 400]
    assert body["errors"]["1"]["code"] == 404 and body["errors"]["2"]["details"] == {"email": ["bad is invalid."]}
    assert set(body["contacts"]) == {"0", "2"}
    r = requests.put(f"{sim.url}/api/contacts/{a}/edit", json={"email": "put@example.com"}, auth=AUTH, timeout=10)
    assert r.status_code == 200 and r.json()["contact"]["fields"]["all"]["city"] in ("", None)
    before = sim.query("SELECT MAX(id) AS m FROM leads")[0]["m"]
    r = requests.put(f"{sim.url}/api/contacts/999999/edit", json={"email": "new-put@example.com"}, auth=AUTH, timeout=10)
    assert r.status_code == 201 and r.json()["contact"]["id"] == before + 1
    r = requests.delete(f"{sim.url}/api/contacts/batch/delete", params={"ids": f"{a},{b},999999"}, auth=AUTH, timeout=10)
    assert sorted(c["id"] for c in r.json()["contacts"]) == [a, b]
    assert len(sim.query("SELECT 1 FROM audit_log WHERE action = 'delete' AND object = 'lead' AND object_id IN (?, ?)", (a, b))) == 2


def test_field_types_and_validation(sim: Simulator) -> None:
    cid = _new_contact(sim, is_vip="yes", shoe_size="39", interests=["sports", "music"], plan="pro",
                       last_purchase_at="2024-03-01 12:34:56", birthday_date="1990-05-17")
    all_ = _get(sim, f"/contacts/{cid}").json()["contact"]["fields"]["all"]
    assert all_["is_vip"] == 1 and all_["shoe_size"] == 39.0 and all_["interests"] == "sports|music"
    assert all_["last_purchase_at"] == "2024-03-01 12:34:00" and all_["birthday_date"] == "1990-05-17"
    r = _post(sim, "/contacts/new", {"email": "sel@example.com", "plan": "platinum"})
    assert r.status_code == 400 and "plan" in r.json()["errors"][0]["details"]
    r = _post(sim, "/contacts/new", {"email": "st@example.com", "state": "Lombardy"})
    assert r.status_code == 400 and r.json()["errors"][0]["message"] == "state: This value is not valid."
    r = requests.post(f"{sim.url}/api/contacts/new", data=b"{not json", headers={"Content-Type": "application/json"}, auth=AUTH, timeout=10)
    assert r.status_code == 400
    r = _post(sim, "/fields/contact/new", {"label": "Loyalty Tier", "type": "select",
                                           "properties": {"list": [{"label": "Gold", "value": "gold"}]}})
    assert r.status_code == 201 and r.json()["field"]["alias"] == "loyalty_tier"
    assert "loyalty_tier" in [c["name"] for c in sim.query("PRAGMA table_info(leads)")]
    r = _post(sim, "/contacts/new", {"email": "tier@example.com", "loyalty_tier": "gold"})
    assert r.json()["contact"]["fields"]["all"]["loyalty_tier"] == "gold"


def test_list_quirks(session_sim: Simulator) -> None:
    assert _get(session_sim, "/contacts", orderBy="dateModified").status_code == 500
    assert _get(session_sim, "/contacts", limit=-1).status_code == 500
    assert _get(session_sim, "/contacts", **{"where[0][col]": "id", "where[0][expr]": "in", "where[0][val][]": ["1", "2"]}).status_code == 500
    assert _get(session_sim, "/contacts", **{"where[0][col]": "nosuch", "where[0][expr]": "eq", "where[0][val]": "1"}).status_code == 500
    nested = {"where[0][expr]": "orX", "where[0][val][0][col]": "dateModified", "where[0][val][0][expr]": "isNull"}
    assert _get(session_sim, "/contacts", **nested).status_code == 500
    total = int(_get(session_sim, "/contacts", limit=1).json()["total"])
    dropped = _get(session_sim, "/contacts", limit=1, **{"where[0][col]": "id", "where[0][expr]": "bogus", "where[0][val]": "1"}).json()
    assert int(dropped["total"]) == total
    null_mod = int(_get(session_sim, "/contacts", limit=1, **{"where[0][col]": "date_modified", "where[0][expr]": "isNull"}).json()["total"])
    assert 0 < null_mod < total
    anon = int(_get(session_sim, "/contacts", limit=1, search="is:anonymous").json()["total"])
    named = int(_get(session_sim, "/contacts", limit=1, search="!is:anonymous").json()["total"])
    assert anon > 0 and anon + named == total
    csv = _get(session_sim, "/contacts", orderBy="id", **{"where[0][col]": "id", "where[0][expr]": "in", "where[0][val]": "3,5"}).json()
    assert set(csv["contacts"]) == {"3", "5"}
    empty = _get(session_sim, "/contacts", **{"where[0][col]": "id", "where[0][expr]": "lt", "where[0][val]": "0"}).json()
    assert empty == {"total": "0", "contacts": {}}
    assert _get(session_sim, "/emails", limit=2, start=9999).json()["emails"] == []
    assert isinstance(_get(session_sim, "/emails").json()["total"], int)
    assert isinstance(_get(session_sim, "/users").json()["users"], list)
    assert _get(session_sim, "/contacts", limit=0).json()["total"] == str(len(_get(session_sim, "/contacts", limit=0).json()["contacts"]))
    assert requests.delete(f"{session_sim.url}/api/contacts", auth=AUTH, timeout=10).status_code == 404


def test_concurrent_reads_and_writes(sim: Simulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    before = len(sim.query("SELECT id FROM leads"))

    def write(i: int) -> int:
        return _post(sim, "/contacts/new", {"email": f"conc{i}@example.com", "tags": ["conc"]}).status_code

    def read(i: int) -> int:
        return _get(sim, "/contacts", limit=20, start=i, orderBy="id").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        writes = list(pool.map(write, range(24)))
        reads = list(pool.map(read, range(24)))
    assert writes == [201] * 24 and reads == [200] * 24
    assert len(sim.query("SELECT id FROM leads")) == before + 24
    assert len({r["id"] for r in sim.query("SELECT id FROM leads WHERE email LIKE 'conc%'")}) == 24


def test_edit_to_existing_email_is_refused_and_entities_in_where(sim: Simulator) -> None:
    # real 5.1.0 (2026-12-06): PATCH /api/contacts/{a}/edit with b's email -> 422 "email: This field must be
    # unique.", no merge (tests/sim/test_sim_fidelity.py has the body)
    a = _new_contact(sim, email="keep@example.com", firstname="Keep", tags=["k"])
    b = _new_contact(sim, email="lose@example.com", lastname="O'Brien", tags=["l"])
    r = requests.patch(f"{sim.url}/api/contacts/{a}/edit", json={"email": "lose@example.com"}, auth=AUTH, timeout=10)
    assert r.status_code == 422 and r.json()["errors"][0]["details"] == {"email": ["This field must be unique."]}
    assert _get(sim, f"/contacts/{b}").status_code == 200
    assert sorted(t["tag"] for t in _get(sim, f"/contacts/{a}").json()["contact"]["tags"]) == ["k"]
    assert not sim.query("SELECT 1 FROM audit_log WHERE action = 'delete' AND object_id = ?", (b,))
    eq = {"where[0][col]": "lastname", "where[0][expr]": "eq", "where[0][val]": "O'Brien"}
    assert _get(sim, "/contacts", **eq).json()["total"] == "0"  # the quote becomes &#39; before the query
    assert _get(sim, "/contacts", **{**eq, "where[0][expr]": "in"}).json()["total"] == "1"


def test_date_where_values_read_like_mariadb(sim: Simulator) -> None:
    cid = _new_contact(sim, firstname="Dated")
    sim.execute("UPDATE leads SET date_modified = '2026-01-02 00:00:00', last_purchase_at = '2026-01-02 10:30:00' WHERE id = ?", (cid,))

    def ids(col: str, expr: str, val: str) -> set[str]:
        body = _get(sim, "/contacts", limit=0, **{"where[0][col]": col, "where[0][expr]": expr, "where[0][val]": val}).json()
        return set(body["contacts"])
    assert str(cid) not in ids("date_modified", "gt", "2026-01-02")  # the date is midnight, as MariaDB reads it
    assert str(cid) in ids("date_modified", "gte", "2026-01-02")
    assert str(cid) in ids("date_modified", "gte", "2026-01-01T23:00:00+00:00")  # T accepted, offset ignored
    assert str(cid) in ids("last_purchase_at", "eq", "2026-01-02T10:30:00")
