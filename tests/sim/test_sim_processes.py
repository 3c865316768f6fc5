"""``processes``: the simulator's app in worker processes sharing one SQLite file (correctness only)."""

from __future__ import annotations

import concurrent.futures as cf
import subprocess
import sys

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
