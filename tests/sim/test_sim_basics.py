"""Simulator basics over real HTTP: auth modes, list shapes, writes, stats, faults (no client package used)."""

from __future__ import annotations

import requests

from mautic_sim import Simulator

AUTH = ("admin", "mautic")


def test_contacts_list_shape(session_sim: Simulator) -> None:
    params: dict[str, str | int] = {"limit": 5, "orderBy": "id"}
    r = requests.get(f"{session_sim.url}/api/contacts", params=params, auth=AUTH, timeout=10)
    assert r.status_code == 200
    assert r.headers["Mautic-Version"] == "5.1.0"
    assert "Date" in r.headers
    body = r.json()
    assert isinstance(body["total"], str) and int(body["total"]) == 120
    assert isinstance(body["contacts"], dict) and len(body["contacts"]) == 5
    ids = [int(k) for k in body["contacts"]]
    assert ids == sorted(ids)
    c = next(iter(body["contacts"].values()))
    assert c["dateAdded"].endswith("+00:00")
    assert {"core", "social", "personal", "professional", "all"} <= set(c["fields"])


def test_auth_errors(session_sim: Simulator) -> None:
    r = requests.get(f"{session_sim.url}/api/contacts", timeout=10)
    assert r.status_code == 401 and "Mautic-Version" not in r.headers
    assert r.json()["errors"][0]["message"] == "API authorization denied."
    r = requests.get(f"{session_sim.url}/api/contacts", auth=("admin", "wrong"), timeout=10)
    assert r.status_code == 401
    assert r.json()["errors"][0]["message"] == "Authorization denied, invalid credentials."


def test_api_and_basic_disabled() -> None:
    with Simulator(contacts=0, api=False) as sim:
        r = requests.get(f"{sim.url}/api/contacts", auth=AUTH, timeout=10)
        assert r.status_code == 403 and r.json()["errors"][0]["type"] == "api_disabled"
        r = requests.post(f"{sim.url}/oauth/v2/token", data={"grant_type": "client_credentials"}, timeout=10)
        assert r.status_code == 403
    with Simulator(contacts=0, basic_auth=False) as sim:
        r = requests.get(f"{sim.url}/api/contacts", auth=AUTH, timeout=10)
        assert r.status_code == 403 and r.json()["errors"][0]["message"].startswith("Basic Auth disabled")
        tok = requests.post(f"{sim.url}/oauth/v2/token", data={
            "grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "sim-secret"}, timeout=10)
        assert tok.status_code == 200
        r = requests.get(f"{sim.url}/api/contacts", headers={
            "Authorization": f"Bearer {tok.json()['access_token']}"}, timeout=10)
        assert r.status_code == 200


def test_contact_write_cycle(sim: Simulator) -> None:
    url = f"{sim.url}/api/contacts"
    r = requests.post(f"{url}/new", json={"email": "zed@example.com", "firstname": "Zed", "tags": ["a", "b"]},
                      auth=AUTH, timeout=10)
    assert r.status_code == 201
    cid = r.json()["contact"]["id"]
    assert r.json()["contact"]["dateModified"] is None
    r = requests.post(f"{url}/new", json={"email": "zed@example.com", "lastname": "Merged"}, auth=AUTH, timeout=10)
    assert r.status_code == 200 and r.json()["contact"]["id"] == cid
    r = requests.patch(f"{url}/{cid}/edit", json={"city": "Oslo", "tags": ["-a"]}, auth=AUTH, timeout=10)
    assert r.status_code == 200
    c = r.json()["contact"]
    assert c["dateModified"] is not None and c["fields"]["all"]["city"] == "Oslo"
    assert [t["tag"] for t in c["tags"]] == ["b"]
    assert requests.patch(f"{url}/999999/edit", json={}, auth=AUTH, timeout=10).status_code == 404
    r = requests.post(f"{url}/new", json={"email": "not-an-email"}, auth=AUTH, timeout=10)
    assert r.status_code == 400 and "email" in r.json()["errors"][0]["details"]
    r = requests.delete(f"{url}/{cid}/delete", auth=AUTH, timeout=10)
    assert r.status_code == 200 and r.json()["contact"]["id"] is None
    rows = sim.query("SELECT * FROM audit_log WHERE object = 'lead' AND action = 'delete' AND object_id = ?", (cid,))
    assert len(rows) == 1
    assert requests.get(f"{url}/{cid}", auth=AUTH, timeout=10).status_code == 404


def test_batch_limit_and_partial(sim: Simulator) -> None:
    url = f"{sim.url}/api/contacts/batch/new"
    too_many = [{"email": f"b{i}@example.com"} for i in range(201)]
    r = requests.post(url, json=too_many, auth=AUTH, timeout=30)
    assert r.status_code == 500
    assert r.json()["errors"][0]["message"] == "A max of 200 entities are supported at a time."
    r = requests.post(url, json=[{"email": "ok1@example.com"}, {"email": "bad"}, {"email": "ok2@example.com"}],
                      auth=AUTH, timeout=10)
    assert r.status_code == 201
    body = r.json()
    assert body["statusCodes"] == [201, 400, 201]
    assert set(body["contacts"]) == {"0", "2"} and set(body["errors"]) == {"1"}


def test_stats_tables(session_sim: Simulator) -> None:
    r = requests.get(f"{session_sim.url}/api/stats", auth=AUTH, timeout=10)
    assert len(r.json()["availableTables"]) == 34
    for table in ("audit_log", "lead_event_log", "email_stats", "page_hits", "form_submissions",
                  "campaign_lead_event_log", "campaign_leads", "lead_lists_leads", "companies_leads",
                  "lead_points_change_log", "lead_stages_change_log", "lead_donotcontact", "asset_downloads"):
        r = requests.get(f"{session_sim.url}/api/stats/{table}", params={"limit": 3}, auth=AUTH, timeout=10)
        body = r.json()
        assert r.status_code == 200 and isinstance(body["total"], str), table
        assert int(body["total"]) > 0, table
        assert all(isinstance(v, str) for row in body["stats"] for v in row.values()), table
    r = requests.get(f"{session_sim.url}/api/stats/audit_log", params={
        "where[0][col]": "nosuch", "where[0][expr]": "eq", "where[0][val]": "x"}, auth=AUTH, timeout=10)
    assert r.status_code == 200 and r.json()["errors"][0]["code"] == 1054


def test_scheduled_faults() -> None:
    with Simulator(contacts=3, timeout_fault_s=1.0) as sim:
        url = f"{sim.url}/api/contacts"
        sim.schedule_fault("429", nth=2)
        assert requests.get(url, auth=AUTH, timeout=10).status_code == 200
        r = requests.get(url, auth=AUTH, timeout=10)
        assert r.status_code == 429
        assert {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(r.headers)
        sim.schedule_fault("reset")
        try:
            requests.get(url, auth=AUTH, timeout=10)
            raise AssertionError("expected a connection error")
        except requests.ConnectionError:
            pass
        sim.schedule_fault("malformed")
        r = requests.get(url, auth=AUTH, timeout=10)
        assert r.status_code == 200
        try:
            r.json()
            raise AssertionError("expected truncated JSON")
        except ValueError:
            pass
        sim.schedule_fault("timeout")
        try:
            requests.get(url, auth=AUTH, timeout=0.3)
            raise AssertionError("expected a timeout")
        except requests.Timeout:
            pass
        before = sim.query("SELECT COUNT(*) AS n FROM leads")[0]["n"]
        sim.schedule_fault("502", path="/contacts/new")
        r = requests.post(f"{url}/new", json={"email": "f@example.com"}, auth=AUTH, timeout=10)
        assert r.status_code == 502
        assert sim.query("SELECT COUNT(*) AS n FROM leads")[0]["n"] == before
