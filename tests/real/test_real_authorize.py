"""``mautic-auth authorize`` against a real Mautic 5.1.0: its real login and consent forms, its real token store.

The OAuth2 client is a row inserted into ``oauth2_clients`` (as an administrator's plugin or script would;
../shared/real-mautic/README.md "OAuth2 clients"). The browser is a requests session that does what a user
does on Mautic's pages: ``POST /oauth/v2/authorize_login_check`` with ``_username``/``_password`` (keeping the
session cookie), then the consent form's ``POST /oauth/v2/authorize`` with ``accepted=Accept`` and its hidden
``fos_oauth_server_authorize_form[...]`` fields, following the 302 to the tool's loopback listener. The oracle
is MariaDB (``oauth2_accesstokens``, ``oauth2_refreshtokens``), not the API under test. Each redirect URI uses
an ephemeral port: the tests never bind the fixed default.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from mautic_api import MauticClient
from mautic_api.authorize import format_status, main, status

RANDOM_ID, SECRET = "realauthrandom42", "realauthsecret42"


def _php_array(values: list[str]) -> str:
    """PHP ``serialize()`` of a list of strings (the form ``oauth2_clients`` stores its arrays in)."""
    items = "".join(f'i:{i};s:{len(v.encode())}:"{v}";' for i, v in enumerate(values))
    return f"a:{len(values)}:{{{items}}}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(real: Any, redirect_uris: list[str], grants: list[str]) -> str:
    """Insert an OAuth2 client (role 1, Administrator); its public client id ``<row id>_<random_id>``."""
    real.execute(
        "INSERT INTO oauth2_clients (role_id, name, random_id, secret, redirect_uris, allowed_grant_types) "
        "VALUES (1, 'mautic-auth real test', %s, %s, %s, %s)",
        RANDOM_ID, SECRET, _php_array(redirect_uris), _php_array(grants),
    )
    row = real.sql("SELECT id FROM oauth2_clients WHERE random_id = %s", RANDOM_ID)[0]
    return f"{row['id']}_{RANDOM_ID}"


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"name": a.get("name", ""), "action": a.get("action", ""), "inputs": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(a)


def _form(page: requests.Response, name: str) -> dict[str, Any]:
    parser = _Forms()
    parser.feed(page.text)
    found = [f for f in parser.forms if f["name"] == name]
    assert found, f"no form {name!r} on {page.url} ({page.status_code})"
    return found[0]


class RealBrowser:
    """Logs in on Mautic's OAuth login page and presses Accept on its consent page."""

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password
        self.session = requests.Session()
        self.last: requests.Response | None = None
        self.callback_url: str | None = None

    def __call__(self, url: str) -> None:
        login_page = self.session.get(url, timeout=60)  # 302 -> /oauth/v2/authorize_login
        login = _form(login_page, "login")
        assert urlsplit(login["action"]).path == "/oauth/v2/authorize_login_check"
        consent_page = self.session.post(  # 302 back to the authorize URL: the consent form
            urljoin(login_page.url, login["action"]),
            data={"_username": self.username, "_password": self.password},
            timeout=60,
        )
        consent = _form(consent_page, "fos_oauth_server_authorize_form")
        fields = {i["name"]: i.get("value", "") for i in consent["inputs"]
                  if i.get("name", "").startswith("fos_oauth_server_authorize_form[")}
        assert set(fields) >= {f"fos_oauth_server_authorize_form[{k}]" for k in ("client_id", "redirect_uri", "state")}
        answer = self.session.post(urljoin(consent_page.url, consent["action"]), data={**fields, "accepted": "Accept"},
                                   timeout=60)  # 302 to <redirect_uri>?state=...&code=... (the tool's listener)
        self.last = answer
        for hop in [*answer.history, answer]:
            if "code=" in (hop.headers.get("Location") or ""):
                self.callback_url = hop.headers["Location"]


def _oauth_config(real: Any, client_id: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"base_url": real.url, "client_id": client_id, "client_secret": SECRET,
            "token_store_path": str(tmp_path / "tokens" / "mautic-tokens.json"), "request_timeout": 60,
            "stats_settle_seconds": 0, **extra}


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_authorize_through_the_real_login_and_consent_then_use_and_rotate(real, tmp_path, monkeypatch,
                                                                          capsys) -> None:
    uri = f"http://127.0.0.1:{_free_port()}/callback"
    client_id = _client(real, [uri], ["authorization_code", "refresh_token"])
    config = _oauth_config(real, client_id, tmp_path)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    browser = RealBrowser(real.username, real.password)
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", browser)

    assert main(["authorize", "--config", str(path), "--redirect-uri", uri, "--timeout", "120"]) == 0
    out = capsys.readouterr().out
    assert f"\n  {uri}\n" in out and "must be registered on this client in Mautic" in out
    assert "Authorized. Tokens written to" in out and SECRET not in out
    assert browser.callback_url and browser.callback_url.startswith(f"{uri}?state=")

    store = Path(config["token_store_path"])
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    saved = json.loads(store.read_text())
    assert saved["refresh_token"] not in out and saved["access_token"] not in out
    # The oracle: the real server's token tables hold this pair, bound to this client and to the admin user.
    client_row = real.sql("SELECT id FROM oauth2_clients WHERE random_id = %s", RANDOM_ID)[0]["id"]
    admin = real.sql("SELECT id FROM users WHERE username = %s", real.username)[0]["id"]
    for table, token in (("oauth2_accesstokens", saved["access_token"]),
                         ("oauth2_refreshtokens", saved["refresh_token"])):
        rows = real.sql(f"SELECT client_id, user_id FROM {table} WHERE token = %s", token)
        assert rows == [{"client_id": client_row, "user_id": admin}], table

    # An API call with the stored access token: acts as the admin who pressed Accept.
    me = requests.get(f"{real.url}/api/users/self", headers={"Authorization": f"Bearer {saved['access_token']}"},
                      timeout=60)
    assert me.status_code == 200 and me.json()["username"] == real.username
    client = MauticClient(config)
    count = real.sql("SELECT COUNT(*) AS n FROM leads")[0]["n"]
    assert client.context("contacts").get_list(limit=1).total == count

    # One refresh: the stored access token is made stale, so the next call renews through the refresh token.
    stale = {**saved, "access_token_expires": int(time.time()) - 10}
    store.write_text(json.dumps(stale))
    store.chmod(0o600)
    assert MauticClient(config).context("contacts").get_list(limit=1).total == count
    rotated = json.loads(store.read_text())
    assert rotated["refresh_token"] != saved["refresh_token"] and rotated["access_token"] != saved["access_token"]
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert real.sql("SELECT user_id FROM oauth2_refreshtokens WHERE token = %s", rotated["refresh_token"]) \
        == [{"user_id": admin}]
    # The old refresh token is refused by the real server now (single-use: recorded 679 shows the same answer).
    old = requests.post(f"{real.url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": SECRET,
        "refresh_token": saved["refresh_token"]}, timeout=60)
    assert old.status_code == 400
    assert old.json()["errors"][0] == {"message": "Invalid refresh token", "code": 400, "type": "invalid_grant"}

    shown = format_status(status(config))
    assert "grant: authorization_code (refresh token in the token store" in shown
    assert rotated["refresh_token"] not in shown and SECRET not in shown


@pytest.mark.parametrize("registered", ["http://127.0.0.1:{other}/callback", "http://127.0.0.1"])
def test_a_redirect_uri_registered_with_another_port_times_out_naming_the_uri(real, tmp_path, monkeypatch, capsys,
                                                                              registered) -> None:
    # The second case is what the README advised before: a bare http://127.0.0.1 admits no port on 5.1.0.
    uri = f"http://127.0.0.1:{_free_port()}/callback"
    client_id = _client(real, [registered.format(other=_free_port())], ["authorization_code", "refresh_token"])
    config = _oauth_config(real, client_id, tmp_path)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    browser = RealBrowser(real.username, real.password)
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", browser)

    assert main(["authorize", "--config", str(path), "--redirect-uri", uri, "--timeout", "3"]) == 1
    # What the browser got from the real server on Accept (as the simulator test pins, byte for byte).
    assert browser.last is not None and browser.last.status_code == 400
    assert browser.last.json()["errors"][0]["type"] == "redirect_uri_mismatch"
    err = _one_line_error(capsys)
    assert err.startswith(f"mautic-auth: error: no answer reached {uri} within 3 s.")
    assert "redirect_uri_mismatch" in err and "add exactly this URI in Mautic" in err and "--redirect-uri" in err
    assert not os.path.exists(config["token_store_path"])
    assert real.sql("SELECT COUNT(*) AS n FROM oauth2_accesstokens")[0]["n"] == 0


def test_client_credentials_reads_and_tests_without_any_authorize_step(real, tmp_path) -> None:
    client_id = _client(real, [f"http://127.0.0.1:{_free_port()}/callback"], ["client_credentials"])
    config = _oauth_config(real, client_id, tmp_path)

    shown = format_status(status(config))
    assert "grant: client_credentials" in shown and "run mautic-auth authorize" not in shown

    count = real.sql("SELECT COUNT(*) AS n FROM leads")[0]["n"]
    assert MauticClient(config).context("contacts").get_list(limit=1).total == count
    tokens = real.sql("SELECT client_id, user_id FROM oauth2_accesstokens")
    assert len(tokens) == 1 and tokens[0]["user_id"] is None  # a client token: no user behind it
    assert not os.path.exists(config["token_store_path"])  # nothing to store for this grant

    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    tap = Path(sys.executable).with_name("tap-mautic")
    done = subprocess.run([str(tap), "--config", str(path), "--test"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Connected to Mautic 5.1.0 at" in done.stderr and SECRET not in done.stderr + done.stdout
