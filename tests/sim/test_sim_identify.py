"""Merges through Mautic's own paths in the simulator (mautic_sim.identify): a tracked visitor's form
submission, the UI merge, the deduplicate stand-in.

Real run (2026-12-06, Mautic 5.1.0 on loopback, rows read in MariaDB): contact 1 {Known Person,
known@example.com, Paris, points 4} via the API; a form "Signup" (email, firstname mapped); anonymous contact 2
{Lyon, points 2} tracked by a device; ``POST /form/submit?formId=1`` from a browser with 2's
``mautic_device_id`` cookie and ``mauticform[email]=known@example.com``: contact 1 is merged *into* 2 (2 keeps
its id; email, firstname, lastname, city Paris, points 6, 1's dateIdentified), the audit log gets (2 update by
System), (2 identified), (1 merge {merged_into: 2}), (1 delete), (2 update by System, manipulated_by "Signup",
manipulator_key "form:submission:1"); 1's form_submissions and lead_devices rows are under 2.
"""

from __future__ import annotations

import requests

from mautic_api.php_serial import loads as php_loads
from mautic_api.php_serial import plain
from mautic_sim import Simulator

AUTH = ("admin", "mautic")
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"}


def _sim() -> Simulator:
    return Simulator(contacts=0, seed=3)


def _new(sim: Simulator, body: dict) -> int:
    r = requests.post(f"{sim.url}/api/contacts/new", json=body, auth=AUTH, timeout=10)
    assert r.status_code == 201, r.text
    return int(r.json()["contact"]["id"])


def _visit(sim: Simulator) -> tuple[int, str]:
    """A browser's first page visit: the anonymous contact it makes and its device cookie."""
    r = requests.get(f"{sim.url}/mtracking.gif", params={"page_url": "http://x/a"}, headers=BROWSER, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/gif")
    device = r.cookies["mautic_device_id"]
    assert device is not None  # the tracking pixel sets it on every visit
    lead = sim.query("SELECT lead_id FROM lead_devices WHERE tracking_id = ?", (device,))[0]["lead_id"]
    return int(lead), device


def _audit(sim: Simulator, since: int) -> list[tuple[int, str, str]]:
    return [(r["object_id"], r["action"], r["user_name"]) for r in sim.query(
        "SELECT * FROM audit_log WHERE id > ? AND object = 'lead' ORDER BY id", (since,))]


def test_form_submission_merges_the_known_contact_into_the_tracked_visitor() -> None:
    with _sim() as sim:
        form = requests.post(f"{sim.url}/api/forms/new", json={"name": "Signup", "formType": "standalone"},
                             auth=AUTH, timeout=10).json()["form"]["id"]
        known = _new(sim, {"firstname": "Known", "lastname": "Person", "email": "known@example.com",
                           "city": "Paris", "points": 4})
        visitor, device = _visit(sim)
        # as in the real run, the known contact was modified after the visitor appeared: its values are newer
        sim.execute("UPDATE leads SET city = 'Lyon', points = 2, date_added = '2026-01-01 00:00:00' WHERE id = ?",
                    (visitor,))
        before = sim.query("SELECT MAX(id) AS m FROM audit_log")[0]["m"]
        requests.post(f"{sim.url}/form/submit", params={"formId": form}, headers=BROWSER, timeout=10,
                      data={"mauticform[email]": "known@example.com", "mauticform[firstname]": "Knownd",
                            "mauticform[formId]": str(form)}, cookies={"mautic_device_id": device})
        assert not sim.query("SELECT id FROM leads WHERE id = ?", (known,))
        row = sim.query("SELECT * FROM leads WHERE id = ?", (visitor,))[0]
        assert (row["email"], row["firstname"], row["lastname"], row["city"], row["points"]) == (
            "known@example.com", "Knownd", "Person", "Paris", 6)
        assert row["date_identified"] is not None
        assert _audit(sim, before) == [(visitor, "update", "System"), (visitor, "identified", "System"),
                                       (known, "merge", "System"), (known, "delete", "System"),
                                       (visitor, "update", "System")]
        last = plain(php_loads(sim.query("SELECT details FROM audit_log ORDER BY id DESC LIMIT 1")[0]["details"]))
        assert last["manipulated_by"] == "Signup" and last["manipulator_key"] == f"form:submission:{form}"
        assert last["fields"] == {"firstname": ["Known", "Knownd"]}
        first = plain(php_loads(sim.query("SELECT details FROM audit_log WHERE object_id = ? AND action = 'update' "
                                          "ORDER BY id LIMIT 1", (visitor,))[0]["details"]))
        assert first["dateIdentified"][0] is None and first["points"] == [2, 6]
        assert {r["lead_id"] for r in sim.query("SELECT lead_id FROM form_submissions")} == {visitor}
        assert {r["lead_id"] for r in sim.query("SELECT lead_id FROM lead_devices")} == {visitor}


def test_form_submission_without_a_tracked_visitor() -> None:
    with _sim() as sim:
        form = requests.post(f"{sim.url}/api/forms/new", json={"name": "Signup"}, auth=AUTH, timeout=10).json()
        known = _new(sim, {"firstname": "Known", "email": "known@example.com"})
        r = requests.post(f"{sim.url}/form/submit", params={"formId": form["form"]["id"]}, timeout=10,
                          data={"mauticform[email]": "known@example.com"})
        assert r.status_code == 200
        assert not sim.query("SELECT id FROM audit_log WHERE action = 'merge'")  # a bot's User-Agent
        assert {r["lead_id"] for r in sim.query("SELECT lead_id FROM form_submissions")} == {known}
        requests.post(f"{sim.url}/form/submit", params={"formId": form["form"]["id"]}, timeout=10,
                      headers=BROWSER, data={"mauticform[email]": "known@example.com"})
        merged = sim.query("SELECT object_id FROM audit_log WHERE action = 'merge'")
        assert [r["object_id"] for r in merged] == [known]  # an untracked browser: a new contact, merged into
        assert not sim.query("SELECT id FROM leads WHERE id = ?", (known,))


def test_ui_merge_keeps_the_contact_on_screen_as_the_signed_in_user() -> None:
    with _sim() as sim:
        main, other = _new(sim, {"firstname": "Main"}), _new(sim, {"lastname": "Other", "points": 3})
        r = requests.post(f"{sim.url}/s/contacts/merge/{main}", data={"lead_merge[lead_to_merge]": str(other)},
                          auth=AUTH, timeout=10)
        assert r.status_code == 200, r.text
        assert requests.post(f"{sim.url}/s/contacts/merge/{main}", data={"lead_merge[lead_to_merge]": "1"},
                             timeout=10).status_code == 401
        assert [(a[0], a[1]) for a in _audit(sim, 0) if a[1] in ("merge", "delete")] == [
            (other, "merge"), (other, "delete")]
        assert {a[2] for a in _audit(sim, 0) if a[0] == other and a[1] == "merge"} == {"Admin User"}
        assert sim.query("SELECT lastname, points FROM leads WHERE id = ?", (main,)) == [
            {"lastname": "Other", "points": 3}]


def test_deduplicate_merges_older_into_newer() -> None:
    with _sim() as sim:
        older = _new(sim, {"email": "a@example.com", "city": "Berlin"})
        newer = _new(sim, {"email": "b@example.com"})
        sim.execute("UPDATE leads SET email = 'a@example.com', date_added = '2030-01-01 00:00:00' WHERE id = ?",
                    (newer,))
        r = requests.post(f"{sim.url}/_sim/console/mautic:contacts:deduplicate", auth=AUTH, timeout=10)
        assert r.json() == {"merged": [[older, newer]]}
        assert sim.query("SELECT id, city FROM leads") == [{"id": newer, "city": "Berlin"}]
