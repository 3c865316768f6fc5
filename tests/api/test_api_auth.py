"""Authenticators of mautic_api, request-mocked: exact token-endpoint sequences (expiry, 401, rotation,
threads).

The same flows run against the simulator over loopback in test_api_sim.py; here the token endpoint's
answers are scripted so each branch (re-fetch on 401 once, refresh before expiry, store read first) is
observable by counting calls.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from typing import Any, cast
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from oauthlib.oauth1 import Client as OAuth1Client
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from mautic_api import AuthError, MauticClient
from mautic_api.auth import ClientCredentialsAuth, MauticAuth, OAuth1aAuth, RefreshTokenAuth

BASE = "http://mautic.test"
TOKEN_URL = f"{BASE}/oauth/v2/token"
LIST_URL = f"{BASE}/api/contacts"
OK = {"total": "1", "contacts": {"1": {"id": 1}}}
INVALID = {
    "errors": [{"message": "The access token provided is invalid.", "code": 401, "type": "invalid_grant"}]
}


pytestmark = pytest.mark.usefixtures("retry_waits")


def oauth2(**extra):
    return {"base_url": BASE, "client_id": "1_cid", "client_secret": "csecret", **extra}


class TokenServer:
    """A scripted /oauth/v2/token: numbered tokens, single-use rotating refresh tokens."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.issued = 0
        self.live_refresh: set[str] = set()
        self.grants: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request):
        form = dict(parse_qsl(request.body))
        with self.lock:
            self.grants.append(form["grant_type"])
            if form.get("client_secret") != "csecret":
                return (
                    400,
                    {},
                    json.dumps(
                        {
                            "errors": [
                                {
                                    "message": "The client credentials are invalid",
                                    "code": 400,
                                    "type": "invalid_client",
                                }
                            ]
                        }
                    ),
                )
            body: dict[str, Any] = {"expires_in": self.expires_in, "token_type": "bearer", "scope": None}
            if form["grant_type"] == "refresh_token":
                if form["refresh_token"] not in self.live_refresh:
                    return (
                        400,
                        {},
                        json.dumps(
                            {
                                "errors": [
                                    {"message": "Invalid refresh token", "code": 400, "type": "invalid_grant"}
                                ]
                            }
                        ),
                    )
                self.live_refresh.discard(form["refresh_token"])
                time.sleep(0.05)  # widen the window for concurrent refreshes
            self.issued += 1
            body["access_token"] = f"at{self.issued}"
            if form["grant_type"] == "refresh_token":
                body["refresh_token"] = f"rt{self.issued}"
                self.live_refresh.add(body["refresh_token"])
            return 200, {}, json.dumps(body)


def bearer_api(valid: set[str]):
    def answer(request):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in valid:
            return 200, {"Mautic-Version": "5.1.0"}, json.dumps(OK)
        return 401, {}, json.dumps(INVALID)

    return answer


def test_client_credentials_fetch_then_refetch_once_on_401():
    tokens = TokenServer()
    valid = {"at1"}
    with responses.RequestsMock() as rs:
        rs.add_callback(responses.POST, TOKEN_URL, callback=tokens)
        rs.add_callback(responses.GET, LIST_URL, callback=bearer_api(valid))
        client = MauticClient(oauth2())
        assert isinstance(client.auth, ClientCredentialsAuth)
        client.request("GET", "contacts")
        assert tokens.grants == ["client_credentials"]
        valid.clear()
        valid.add("at2")  # every earlier token expired server-side
        client.request("GET", "contacts")
        assert tokens.grants == ["client_credentials"] * 2
        api_calls = [c for c in rs.calls if (c.request.url or "").startswith(LIST_URL)]
        assert [cast(requests.Response, c.response).status_code for c in api_calls] == [200, 401, 200]
        valid.clear()  # a 401 that survives re-authentication is not retried forever
        with pytest.raises(AuthError, match="access token is invalid or expired"):
            client.request("GET", "contacts")
        assert tokens.grants == ["client_credentials"] * 3


def test_client_credentials_renews_before_expiry():
    tokens = TokenServer(expires_in=30)  # under the 60 s safety margin: renewed on every use
    with responses.RequestsMock() as rs:
        rs.add_callback(responses.POST, TOKEN_URL, callback=tokens)
        rs.add_callback(responses.GET, LIST_URL, callback=bearer_api({"at1", "at2"}))
        client = MauticClient(oauth2())
        client.request("GET", "contacts")
        client.request("GET", "contacts")
    assert tokens.grants == ["client_credentials"] * 2


def test_401_retry_also_works_through_session_send():
    """singer-sdk's RESTStream prepares with the session and calls session.send itself."""
    tokens = TokenServer()
    valid = {"at1"}
    with responses.RequestsMock() as rs:
        rs.add_callback(responses.POST, TOKEN_URL, callback=tokens)
        rs.add_callback(responses.GET, LIST_URL, callback=bearer_api(valid))
        client = MauticClient(oauth2(access_token="stale", access_token_expires=int(time.time()) + 3600))
        session = client.session
        prepared = session.prepare_request(requests.Request("GET", LIST_URL))
        auth = cast(MauticAuth, client.auth)
        prepared = auth(prepared)  # RESTStream applies the authenticator a second time
        assert prepared.hooks["response"].count(auth._handle_401) == 1
        response = session.send(prepared, timeout=5)
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [401]
        assert response.request.headers["Authorization"] == "Bearer at1"
    assert tokens.grants == ["client_credentials"]


def test_refresh_token_rotation_persists_across_runs(tmp_path):
    store = tmp_path / "tokens" / "mautic.json"
    tokens = TokenServer()
    tokens.live_refresh.add("rt0")
    config = oauth2(
        access_token="at0",
        refresh_token="rt0",
        access_token_expires=int(time.time()) - 10,
        token_store_path=str(store),
    )
    with responses.RequestsMock() as rs:
        rs.add_callback(responses.POST, TOKEN_URL, callback=tokens)
        rs.add_callback(responses.GET, LIST_URL, callback=bearer_api({"at1", "at2"}))
        # run 1: the access token is expired -> refresh before the call; new pair saved 0600
        client = MauticClient(config)
        assert isinstance(client.auth, RefreshTokenAuth)
        client.request("GET", "contacts")
        saved = json.loads(store.read_text())
        assert (saved["access_token"], saved["refresh_token"]) == ("at1", "rt1")
        assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
        assert sorted(p.name for p in store.parent.iterdir()) == [
            "mautic.json",
            "mautic.json.lock",
        ]  # no temp file
        # run 2: same config (stale rt0, already used) -> the store is read first; a 401 refreshes with rt1
        saved["access_token"] = "revoked"
        store.write_text(json.dumps(saved))
        client = MauticClient(config)
        client.request("GET", "contacts")
    assert tokens.grants == ["refresh_token", "refresh_token"]
    assert json.loads(store.read_text())["refresh_token"] == "rt2"
    # without the store, the used refresh token is rejected with a one-line fix
    with responses.RequestsMock() as rs:
        rs.add_callback(responses.POST, TOKEN_URL, callback=tokens)
        with pytest.raises(AuthError, match="refresh token was rejected") as info:
            MauticClient({**config, "token_store_path": None}).request("GET", "contacts")
    assert "rt0" not in str(info.value) and "csecret" not in str(info.value)


def test_concurrent_refreshes_in_threads_make_one_refresh(tmp_path):
    tokens = TokenServer()
    tokens.live_refresh.add("rt0")
    config = oauth2(refresh_token="rt0", token_store_path=str(tmp_path / "t.json"))
    errors: list[BaseException] = []
    with responses.RequestsMock() as rs:
        rs.add_callback(responses.POST, TOKEN_URL, callback=tokens)
        rs.add_callback(responses.GET, LIST_URL, callback=bearer_api({"at1"}))
        client = MauticClient(config)

        def work():
            try:
                client.request("GET", "contacts")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert tokens.grants == ["refresh_token"]


def test_oauth1a_signs_with_hmac_sha1():
    config = {
        "base_url": BASE,
        "auth_method": "oauth1a",
        "client_id": "ckey",
        "client_secret": "csec",
        "access_token": "tkey",
        "access_token_secret": "tsec",
    }
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, LIST_URL, json=OK)
        client = MauticClient(config)
        assert isinstance(client.auth, OAuth1aAuth)
        client.list_page("contacts", limit=1, where=[{"col": "id", "expr": "gt", "val": 3}])
        request = rs.calls[0].request
    assert request.url is not None
    header = request.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    assert header.startswith("OAuth ")
    params = dict(oauth_utils.parse_authorization_header(header))
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert params["oauth_consumer_key"] == "ckey" and params["oauth_token"] == "tkey"

    # recompute the signature independently with oauthlib, from the same nonce and timestamp
    signer = OAuth1Client(
        "ckey",
        client_secret="csec",
        resource_owner_key="tkey",
        resource_owner_secret="tsec",
        nonce=params["oauth_nonce"],
        timestamp=params["oauth_timestamp"],
    )
    _, expected_headers, _ = signer.sign(request.url, http_method="GET")
    expected = dict(oauth_utils.parse_authorization_header(expected_headers["Authorization"]))
    assert params["oauth_signature"] == expected["oauth_signature"]
    wrong = OAuth1Client(
        "ckey",
        client_secret="csec",
        resource_owner_key="tkey",
        resource_owner_secret="other",
        nonce=params["oauth_nonce"],
        timestamp=params["oauth_timestamp"],
    ).sign(request.url, http_method="GET")[1]
    assert (
        dict(oauth_utils.parse_authorization_header(wrong["Authorization"]))["oauth_signature"]
        != (params["oauth_signature"])
    )


def test_two_processes_sharing_a_store_do_not_replay_a_used_refresh_token(tmp_path):
    """Process B started with the same refresh token as A; after A rotated it, B adopts A's pair from the
    store instead of sending the used token (which Mautic would reject)."""
    from mautic_api.settings import Settings

    tokens = TokenServer()
    tokens.live_refresh.add("rt0")
    settings = Settings.from_config(
        oauth2(refresh_token="rt0", token_store_path=str(tmp_path / "shared.json"))
    )
    with responses.RequestsMock() as rs:
        rs.add_callback(responses.POST, TOKEN_URL, callback=tokens)
        session_a, session_b = requests.Session(), requests.Session()
        auth_a = RefreshTokenAuth(settings, session_a)
        auth_b = RefreshTokenAuth(settings, session_b)  # read the store before A wrote anything
        assert auth_a.access_token() == "at1"  # A refreshes with rt0 -> at1/rt1, saved
        assert auth_b.access_token() == "at1"  # B finds rt1 in the store: no second refresh with rt0
        assert tokens.grants == ["refresh_token"]
        assert auth_b.reauthenticate("Bearer at1")  # a 401 for B now refreshes with rt1, not rt0
        assert tokens.grants == ["refresh_token", "refresh_token"]
        assert json.loads((tmp_path / "shared.json").read_text())["refresh_token"] == "rt2"
