"""``processes``: the simulator's app in worker processes sharing one SQLite file (correctness only)."""

from __future__ import annotations

import concurrent.futures as cf
import subprocess
import sys
from typing import Any

import pytest
import requests

from mautic_sim import Simulator

AUTH = ("admin", "mautic")


def test_concurrent_batches_with_one_email_make_one_contact_each() -> None:
    """Six batches of one 50 emails at once over 3 processes: 50 contacts, unique ids, each item answered."""
    with Simulator(contacts=0, processes=3) as sim:
        def batch(k: int) -> list[int]:
            body = [{"email": f"p{i}@example.org", "firstname": f"k{k}"} for i in range(50)]
            r = requests.post(sim.url + "/api/contacts/batch/new", json=body, auth=AUTH, timeout=60)
            assert r.status_code == 201
            codes: list[int] = r.json()["statusCodes"]
            return codes

        with cf.ThreadPoolExecutor(6) as ex:
            codes = [c for cs in ex.map(batch, range(6)) for c in cs]
        rows = sim.query("SELECT id, email FROM leads")
    assert len(codes) == 300 and set(codes) <= {200, 201}
    assert codes.count(201) == 50  # each email created once, the other five times updated
    assert len(rows) == 50 and len({r["id"] for r in rows}) == 50 and len({r["email"] for r in rows}) == 50


def test_a_field_made_through_one_worker_is_known_to_all() -> None:
    with Simulator(contacts=0, processes=2) as sim:
        r = requests.post(sim.url + "/api/fields/contact/new", auth=AUTH, timeout=30,
                          json={"label": "Shoe size", "alias": "shoesize", "type": "text"})
        assert r.status_code == 201
        for i in range(6):  # new connections: the requests land on both workers
            r = requests.post(sim.url + "/api/contacts/new", auth=AUTH, timeout=30,
                              json={"email": f"s{i}@example.org", "shoesize": "42"})
            assert r.json()["contact"]["fields"]["all"]["shoesize"] == "42"


def test_a_batch_item_error_stays_per_item() -> None:
    """A refused item inside a batch on a worker: the others are saved, as in one process."""
    with Simulator(contacts=0, processes=2) as sim:
        body = [{"email": "ok1@example.org"}, {"email": "ok2@example.org", "points": "x" * 3},
                {"email": "ok3@example.org"}]
        r = requests.post(sim.url + "/api/contacts/batch/new", json=body, auth=AUTH, timeout=30)
        with Simulator(contacts=0) as one:
            r1 = requests.post(one.url + "/api/contacts/batch/new", json=body, auth=AUTH, timeout=30)
            assert r.status_code == r1.status_code
            assert r.json()["statusCodes"] == r1.json()["statusCodes"]
            emails = "SELECT email FROM leads ORDER BY id"
            assert sim.query(emails) == one.query(emails)


def test_processes_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="processes"):
        Simulator(contacts=0, processes=0)
    bad = subprocess.run([sys.executable, "-m", "mautic_sim.cli", "--processes", "0"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--processes" in bad.stderr and bad.stderr.count("\n") == 1


@pytest.mark.parametrize("processes", [1, 2])
def test_a_batch_answers_each_item_as_saved_in_turn(processes: int) -> None:
    """A batch whose items touch one contact several times, one of them with tags (saved as a single save):
    each item is answered as its contact stood right after its own save, and the audit log has one row per
    save, in order. Why: the batch prepares its items before taking the workers' lock and answers after it."""
    with Simulator(contacts=0, processes=processes) as sim:
        seed = requests.post(sim.url + "/api/contacts/new", json={"email": "old@example.org"}, auth=AUTH,
                             timeout=30).json()["contact"]["id"]
        body: list[dict[str, Any]] = [
            {"email": "new@example.org", "firstname": "A"}, {"email": "NEW@example.org", "lastname": "B"},
            {"email": "old@example.org", "firstname": "X"}, {"email": "old@example.org", "tags": ["vip"]},
            {"email": "old@example.org", "firstname": "Y"}, {"email": "z@example.org"}]
        r = requests.post(sim.url + "/api/contacts/batch/new", json=body, auth=AUTH, timeout=30)
        assert r.status_code == 201
        out = r.json()
        audit = sim.query("SELECT object_id, action FROM audit_log WHERE object = 'lead' ORDER BY id")
    got = [(c["fields"]["all"].get("firstname"), c["fields"]["all"].get("lastname"),
            [t["tag"] for t in c["tags"]]) for c in out["contacts"]]
    assert out["statusCodes"] == [201, 200, 200, 200, 200, 201]
    assert got == [("A", None, []), ("A", "B", []), ("X", None, []), ("X", None, ["vip"]),
                   ("Y", None, ["vip"]), (None, None, [])]
    ids = [int(c["id"]) for c in out["contacts"]]
    assert ids[0] == ids[1] and ids[2] == ids[3] == ids[4] == int(seed) and len(set(ids)) == 3
    assert [(a["object_id"], a["action"]) for a in audit][2:] == [
        (ids[0], "create"), (ids[0], "identified"), (ids[0], "update"), (ids[2], "update"),
        (ids[2], "update"), (ids[2], "update"), (ids[5], "create"), (ids[5], "identified")]
