"""Simulator merges (``Simulator.merge_contacts``, the stand-in for ``mautic:contacts:deduplicate``) and the
audit_log details of field changes, as a real Mautic 5.1.0 wrote them.

Real run (2026-12-06, Mautic 5.1.0 on loopback): contact 1 {Ada, Older, dup@example.com, city Berlin, phone 111,
points 3}, contact 2 {Adá, dup2@example.com, mobile "+49 30 1", points 2}, both added to segment 1, points +5 on 1
and +4 on 2, a note on 1, then PATCH 2 {lastname Newer, country France, points 9}; 2's email set to 1's in SQL and
``php bin/console mautic:contacts:deduplicate`` (older into newer). MariaDB afterwards: contact 2 {Adá, Newer,
Berlin, 111, +49 30 1, France, points 17, date_identified = 1's}; 1's lead_points_change_log, lead_event_log and
note rows under 2, 1's lead_lists_leads row deleted (2 was already a member); audit_log: (lead 2 update by
System, user_id 0: dateIdentified, phone, city, points [9, 17]), (lead 2 identified), (lead 1 merge
{merged_into: 2}), (lead 1 delete {name: "Ada Older"}).
"""

from __future__ import annotations

from typing import Any

import requests

from mautic_api.php_serial import PhpObject, plain
from mautic_api.php_serial import loads as php_loads
from mautic_sim import Simulator

AUTH = ("admin", "mautic")


def loads(text: str) -> Any:
    return plain(php_loads(text))


def _post(sim: Simulator, path: str, body: Any = None, method: str = "POST") -> requests.Response:
    return requests.request(method, f"{sim.url}/api{path}", json=body, auth=AUTH, timeout=10)


def _audit(sim: Simulator, since: int) -> list[dict]:
    return sim.query("SELECT * FROM audit_log WHERE id > ? AND object = 'lead' ORDER BY id", (since,))


def _scenario(sim: Simulator) -> tuple[int, int, int, int]:
    """The real run's contacts: (older, newer, segment, audit id before)."""
    before = sim.query("SELECT COALESCE(MAX(id), 0) AS m FROM audit_log")[0]["m"]
    a = _post(sim, "/contacts/new", {"firstname": "Ada", "lastname": "Older", "email": "dup@example.com",
                                     "points": 3, "city": "Berlin", "phone": "111"}).json()["contact"]["id"]
    b = _post(sim, "/contacts/new", {"firstname": "Adá", "email": "dup2@example.com", "mobile": "+49 30 1",
                                     "points": 2}).json()["contact"]["id"]
    seg = _post(sim, "/segments/new", {"name": "Seg A"}).json()["list"]["id"]
    for cid, delta in ((a, 5), (b, 4)):
        assert _post(sim, f"/segments/{seg}/contact/{cid}/add").status_code == 200
        assert _post(sim, f"/contacts/{cid}/points/plus/{delta}").status_code == 200
    # the simulator's clock ticks in seconds: make 1 older, as it was on the real server (identified 2 s before)
    sim.execute("UPDATE leads SET date_modified = '2020-01-01 00:00:00', date_identified = '2020-01-01 00:00:00' "
                "WHERE id = ?", (a,))
    r = _post(sim, f"/contacts/{b}/edit", {"lastname": "Newer", "country": "France", "points": 9}, "PATCH")
    assert r.status_code == 200, r.text
    return a, b, seg, before


def test_create_and_update_details_have_the_real_shape(sim: Simulator) -> None:
    a, b, _, before = _scenario(sim)
    rows = _audit(sim, before)
    create = loads(next(r for r in rows if r["object_id"] == a and r["action"] == "create")["details"])
    # as the real row: fields typed (points 0 -> 3.0), core fields also at the top level, dateIdentified a
    # DateTime, the manipulator of a single API call
    assert create["fields"]["firstname"] == [None, "Ada"] and create["firstname"] == [None, "Ada"]
    assert create["fields"]["points"] == [0, 3.0] and create["points"] == [0, 3.0]
    assert create["fields"]["city"] == [None, "Berlin"]
    assert create["dateIdentified"][0] == "" and isinstance(create["dateIdentified"][1], PhpObject)
    assert create["manipulated_by"] == "Admin User" and create["manipulator_key"] == "lead:api-single"
    edit = loads([r for r in rows if r["object_id"] == b and r["action"] == "update"][-1]["details"])
    assert edit["fields"] == {"lastname": [None, "Newer"], "country": [None, "France"], "points": [6.0, 9.0]}
    assert edit["points"] == [6, 9.0]


def test_merge_as_the_deduplicate_command(sim: Simulator) -> None:
    a, b, seg, before = _scenario(sim)
    sim.execute("INSERT INTO page_hits (lead_id, page_id, url, date_hit) VALUES (?, 1, 'http://x/', "
                "'2024-01-01 00:00:00')", (a,))
    hit = sim.query("SELECT MAX(id) AS m FROM page_hits")[0]["m"]
    points_rows = [r["id"] for r in sim.query("SELECT id FROM lead_points_change_log WHERE lead_id = ?", (a,))]
    assert points_rows
    victor = sim.merge_contacts(loser=a, victor=b)

    assert not sim.query("SELECT 1 FROM leads WHERE id = ?", (a,))
    assert (victor["firstname"], victor["lastname"], victor["city"], victor["phone"], victor["mobile"],
            victor["country"], victor["points"]) == ("Adá", "Newer", "Berlin", "111", "+49 30 1", "France", 17)
    # re-pointed in place, as the updateLead methods do
    assert {r["lead_id"] for r in sim.query("SELECT lead_id FROM lead_points_change_log WHERE id IN ({})".format(",".join(map(str, points_rows))))} == {b}
    assert sim.query("SELECT lead_id FROM page_hits WHERE id = ?", (hit,))[0]["lead_id"] == b
    assert [r["lead_id"] for r in sim.query("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = ?",
                                            (seg,))] == [b]
    assert not sim.query("SELECT 1 FROM lead_event_log WHERE lead_id = ?", (a,))
    tail = [(r["object_id"], r["action"], r["user_id"], r["user_name"]) for r in _audit(sim, before)][-4:]
    assert tail == [(b, "update", 0, "System"), (b, "identified", 0, "System"), (a, "merge", 0, "System"),
                    (a, "delete", 0, "System")]
    rows = _audit(sim, before)
    update = loads(rows[-4]["details"])
    assert update["fields"] == {"phone": [None, "111"], "city": [None, "Berlin"]}
    assert update["points"] == [9, 17] and "manipulator_key" not in update
    assert loads(rows[-2]["details"]) == {"merged_into": b}
    assert loads(rows[-1]["details"]) == {"name": "Ada Older"}


def test_delete_cascades_as_mariadb_foreign_keys(sim: Simulator) -> None:
    """A deleted contact's rows go as on MariaDB (5.1.0 foreign keys: lead_points_change_log CASCADE,
    page_hits SET NULL)."""
    cid = _post(sim, "/contacts/new", {"email": "gone@example.com"}).json()["contact"]["id"]
    assert _post(sim, f"/contacts/{cid}/points/plus/2").status_code == 200
    sim.execute("INSERT INTO page_hits (lead_id, page_id, url, date_hit) VALUES (?, 1, 'http://x/', "
                "'2024-01-01 00:00:00')", (cid,))
    assert _post(sim, f"/contacts/{cid}/delete", method="DELETE").status_code == 200
    assert not sim.query("SELECT 1 FROM lead_points_change_log WHERE lead_id = ?", (cid,))
    assert sim.query("SELECT lead_id FROM page_hits ORDER BY id DESC LIMIT 1")[0]["lead_id"] is None


def test_company_details_have_every_change_at_the_top_level(sim: Simulator) -> None:
    before = sim.query("SELECT COALESCE(MAX(id), 0) AS m FROM audit_log")[0]["m"]
    cid = _post(sim, "/companies/new", {"companyname": "Acme Real", "companycity": "Lyon"}).json()["company"]["id"]
    row = sim.query("SELECT details FROM audit_log WHERE id > ? AND object = 'company' AND object_id = ?",
                    (before, cid))[0]
    details = loads(row["details"])
    # real (2026-12-06): {companycity: [null, Lyon], fields: {...}, companyname: [null, "Acme Real"]}
    assert details["fields"] == {"companyname": [None, "Acme Real"], "companycity": [None, "Lyon"]}
    assert details["companycity"] == [None, "Lyon"] and "manipulator_key" not in details
