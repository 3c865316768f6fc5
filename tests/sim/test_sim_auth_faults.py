"""OAuth2 grants, token expiry, fault reproducibility, hooks and the console script, over real HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import requests

from mautic_sim import Simulator

CLIENT = {"client_id": "sim-client", "client_secret": "sim-secret"}


def _token(sim: Simulator, **data: str) -> requests.Response:
    return requests.post(f"{sim.url}/oauth/v2/token", data=data, timeout=10)


def test_client_credentials_and_expiry() -> None:
    with Simulator(contacts=2, token_lifetime=3600) as sim:
        r = _token(sim, grant_type="client_credentials", **CLIENT)
        body = r.json()
        assert r.status_code == 200 and body["expires_in"] == 3600 and body["token_type"] == "bearer"
        assert "refresh_token" not in body and "Mautic-Version" not in r.headers
        hdr = {"Authorization": f"Bearer {body['access_token']}"}
        assert requests.get(f"{sim.url}/api/contacts", headers=hdr, timeout=10).status_code == 200
        me = requests.get(f"{sim.url}/api/users/self", headers=hdr, timeout=10).json()
        assert "id" not in me and me["username"].endswith("[1]")
        assert requests.get(f"{sim.url}/api/contacts", params={"access_token": body["access_token"]}, timeout=10).status_code == 200
        sim.expire_tokens()
        r = requests.get(f"{sim.url}/api/contacts", headers=hdr, timeout=10)
        assert r.status_code == 401 and r.raw.version == 10
        assert r.json()["errors"][0] == {"message": "The access token provided has expired.", "code": 401, "type": "invalid_grant"}
        bad = requests.get(f"{sim.url}/api/contacts", headers={"Authorization": "Bearer nope"}, timeout=10)
        assert bad.json()["errors"][0]["message"] == "The access token provided is invalid."
        assert _token(sim, grant_type="client_credentials", client_id="sim-client", client_secret="x").json()["errors"][0]["type"] == "invalid_client"
        assert _token(sim, grant_type="password", **CLIENT).json()["errors"][0]["type"] == "unauthorized_client"
        json_body = requests.post(f"{sim.url}/oauth/v2/token", json={"grant_type": "client_credentials", **CLIENT}, timeout=10)
        assert json_body.status_code == 200


def test_short_token_lifetime_expires_by_itself() -> None:
    with Simulator(contacts=1, token_lifetime=2) as sim:  # 2 s: the first call lands well inside it
        tok = _token(sim, grant_type="client_credentials", **CLIENT).json()["access_token"]
        hdr = {"Authorization": f"Bearer {tok}"}
        assert requests.get(f"{sim.url}/api/contacts", headers=hdr, timeout=10).status_code == 200
        deadline = time.monotonic() + 6
        status = 200
        while status == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            status = requests.get(f"{sim.url}/api/contacts", headers=hdr, timeout=10).status_code
        assert status == 401


def test_authorization_code_and_refresh_rotation() -> None:
    with Simulator(contacts=1, password="pw") as sim:
        s = requests.Session()
        params = {"client_id": "sim-client", "response_type": "code", "redirect_uri": "http://127.0.0.1/cb", "state": "xyz"}
        r = s.get(f"{sim.url}/oauth/v2/authorize", params=params, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].endswith("/oauth/v2/authorize_login")
        r = s.post(f"{sim.url}/oauth/v2/authorize_login_check", data={"_username": "admin", "_password": "pw"}, allow_redirects=False, timeout=10)
        assert r.status_code == 302
        r = s.get(r.headers["Location"], allow_redirects=False, timeout=10)
        assert r.status_code == 200 and "Accept" in r.text
        r = s.post(f"{sim.url}/oauth/v2/authorize", params=params, data={"accepted": "Accept"}, allow_redirects=False, timeout=10)
        loc = r.headers["Location"]
        assert r.status_code == 302 and loc.startswith("http://127.0.0.1/cb?state=xyz&code=")
        found = re.search(r"code=([^&]+)", loc)
        assert found is not None  # the Location checked above carries the code
        code = found.group(1)
        grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1/cb", **CLIENT}
        first = _token(sim, **grant).json()
        assert first["refresh_token"] and first["access_token"]
        assert _token(sim, **grant).json()["errors"][0]["type"] == "invalid_grant"  # a code works once
        me = requests.get(f"{sim.url}/api/users/self", headers={"Authorization": f"Bearer {first['access_token']}"}, timeout=10).json()
        assert me["id"] == 1
        second = _token(sim, grant_type="refresh_token", refresh_token=first["refresh_token"], **CLIENT).json()
        assert second["refresh_token"] != first["refresh_token"]
        again = _token(sim, grant_type="refresh_token", refresh_token=first["refresh_token"], **CLIENT)
        assert again.status_code == 400 and again.json()["errors"][0]["message"] == "Invalid refresh token"
        assert _token(sim, grant_type="refresh_token", refresh_token=second["refresh_token"], **CLIENT).status_code == 200
        old = requests.get(f"{sim.url}/api/contacts", headers={"Authorization": f"Bearer {first['access_token']}"}, timeout=10)
        assert old.status_code == 200  # the old access token keeps working after a refresh


def _statuses(spec: str, seed: int) -> list[int]:
    with Simulator(contacts=1, timeout_fault_s=0.2) as sim:
        sim.set_faults(spec, seed=seed)
        out = []
        for _ in range(60):
            try:
                out.append(requests.get(f"{sim.url}/api/contacts", auth=("admin", "mautic"), timeout=5).status_code)
            except requests.ConnectionError:
                out.append(0)
        return out


def test_random_faults_are_reproducible() -> None:
    spec = "429:0.2,502:0.1,503:0.05,reset:0.05"
    a, b = _statuses(spec, 5), _statuses(spec, 5)
    assert a == b
    assert {429, 502, 200} <= set(a) and 0 in a
    assert a != _statuses(spec, 6)


def test_hook_changes_data_mid_paging_and_slow_body() -> None:
    with Simulator(contacts=10) as sim:
        seen: list[str] = []

        def hook(method: str, path: str, query: str) -> None:
            seen.append(path)
            if len(seen) == 2:
                sim.create_contacts(3)
        sim.add_hook(hook)
        params: dict[str, str | int] = {"limit": 5, "orderBy": "id"}
        first = requests.get(f"{sim.url}/api/contacts", params=params, auth=("admin", "mautic"), timeout=10).json()
        second = requests.get(f"{sim.url}/api/contacts", params=params, auth=("admin", "mautic"), timeout=10).json()
        assert first["total"] == "10" and second["total"] == "13"
        assert sim.request_log[-1]["path"] == "/api/contacts" and sim.request_log[-1]["status"] == 200
        sim.clear_log()
        assert sim.request_log == []
        sim.schedule_fault("slow")
        r = requests.get(f"{sim.url}/api/contacts", auth=("admin", "mautic"), timeout=10)
        assert r.status_code == 200 and r.json()["total"] == "13"
        ids = sim.create_contacts(1)
        sim.touch_contacts(ids)
        assert sim.query("SELECT date_modified FROM leads WHERE id = ?", (ids[0],))[0]["date_modified"]
        sim.delete_contacts(ids)
        assert sim.query("SELECT object_id FROM audit_log WHERE action = 'delete' ORDER BY id DESC LIMIT 1")[0]["object_id"] == ids[0]
        assert sim.now().tzinfo is not None


def test_console_script_prints_url_and_logs() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "mautic_sim.cli", "--contacts", "5", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None  # both are PIPEs
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("MAUTIC_SIM_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        r = requests.get(f"{url}/api/contacts", params={"limit": 1}, auth=("admin", "mautic"), timeout=10)
        assert r.status_code == 200 and r.json()["total"] == "5"
        log = proc.stderr.readline()
        assert "GET /api/contacts?limit=1 200" in log
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = subprocess.run([sys.executable, "-m", "mautic_sim.cli", "--faults", "boom:0.5"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--faults" in bad.stderr and bad.stderr.count("\n") == 1


def test_oauth1a_behind_flag() -> None:
    from requests_oauthlib import OAuth1Session

    with Simulator(contacts=3, oauth1a=True) as sim:
        s = OAuth1Session("sim-client", client_secret="sim-secret", callback_uri="http://127.0.0.1/cb")
        rt = s.fetch_request_token(f"{sim.url}/oauth/v1/request_token")
        r = requests.get(f"{sim.url}/oauth/v1/authorize", params={"oauth_token": rt["oauth_token"]}, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and "oauth_verifier=" in r.headers["Location"]
        s.parse_authorization_response(r.headers["Location"])
        at = s.fetch_access_token(f"{sim.url}/oauth/v1/access_token")
        assert s.get(f"{sim.url}/api/contacts", params={"limit": 1}).json()["total"] == "3"
        forged = OAuth1Session("sim-client", client_secret="wrong", resource_owner_key=at["oauth_token"],
                               resource_owner_secret=at["oauth_token_secret"])
        r = forged.get(f"{sim.url}/api/contacts")
        assert r.status_code == 401 and r.json()["errors"][0]["type"] == "invalid_signature"
    with Simulator(contacts=1) as sim:  # Mautic 5.1 as recorded: no OAuth1a
        assert requests.post(f"{sim.url}/oauth/v1/request_token", timeout=10).status_code == 404
        r = OAuth1Session("sim-client", client_secret="sim-secret").get(f"{sim.url}/api/contacts")
        assert r.status_code == 401 and r.json()["errors"][0]["message"] == "API authorization denied."
