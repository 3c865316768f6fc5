"""A write whose answer was lost is resent only when resending cannot create a record twice.

Contacts are de-duplicated by Mautic on their unique fields, so their batch/new is resent after a lost
answer; companies and notes are not, so theirs is not, and the error says so (``maybe_applied``).
"""

from __future__ import annotations

import socket

import pytest

from mautic_api.client import MauticClient
from mautic_api.errors import RetryableError
from tests.support.config import basic_config


def posts(sim, path: str) -> int:
    return sum(1 for r in sim.request_log if r["method"] == "POST" and r["path"] == path)


def test_company_create_is_not_resent_after_a_lost_answer(sim) -> None:
    client = MauticClient(basic_config(sim))
    before = sim.query("SELECT COUNT(*) AS n FROM companies")[0]["n"]
    # "malformed" runs the write, then garbles the answer
    sim.schedule_fault("malformed", nth=1, path="/api/companies/batch/new")
    with pytest.raises(RetryableError) as raised:
        client.batch_new("companies", [{"companyname": "Lost Answer Ltd"}])
    assert raised.value.maybe_applied
    assert "not resent" in str(raised.value)
    assert posts(sim, "/api/companies/batch/new") == 1
    assert sim.query("SELECT COUNT(*) AS n FROM companies")[0]["n"] == before + 1


def test_company_create_is_resent_after_an_answer_that_came_before_the_write(sim) -> None:
    client = MauticClient(basic_config(sim))
    sim.schedule_fault("503", nth=1, path="/api/companies/batch/new")  # refused before anything ran
    results = client.batch_new("companies", [{"companyname": "Retried Ltd"}])
    assert [r.status for r in results] == [201]
    assert posts(sim, "/api/companies/batch/new") == 2
    assert len(sim.query("SELECT id FROM companies WHERE companyname = 'Retried Ltd'")) == 1


def test_contact_create_is_resent_because_mautic_matches_the_email(sim) -> None:
    client = MauticClient(basic_config(sim))
    sim.schedule_fault("malformed", nth=1, path="/api/contacts/batch/new")
    results = client.batch_new("contacts", [{"email": "resent@example.org", "firstname": "Once"}])
    assert [r.status for r in results] == [200]  # the second send matched the contact the first created
    assert posts(sim, "/api/contacts/batch/new") == 2
    assert len(sim.query("SELECT id FROM leads WHERE email = 'resent@example.org'")) == 1


def test_refused_connection_is_safe_to_resend() -> None:
    with socket.socket() as sock:  # a port with nobody listening: the request never left
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = MauticClient({"base_url": f"http://127.0.0.1:{port}", "username": "u", "password": "p",
                           "max_retries": 0})
    with pytest.raises(RetryableError) as raised:
        client.batch_new("companies", [{"companyname": "Nobody"}])
    assert not raised.value.maybe_applied
    assert "cannot connect (check 'base_url'" in str(raised.value)
