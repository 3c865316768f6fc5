# ruff: noqa: E501
"""mautic-auth: the OAuth2 authorization-code flow end to end against the simulator, with a scripted user agent.

The user agent is a requests session that follows Mautic's login and consent forms as a browser would; it is
handed the authorize URL where a real run would open the browser.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from mautic_api import MauticClient
from mautic_api.authorize import authorize, format_status, main, status
from mautic_sim import Simulator
from mautic_sim.oauth_authorize import redirect_uri_allowed

USER, PASSWORD = "admin", "pw"


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "inputs": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(a)


class UserAgent:
    """A scripted browser: logs in, then presses Accept (or Deny); remembers the redirect it followed."""

    def __init__(self, *, deny: bool = False, tamper_state: bool = False) -> None:
        self.deny, self.tamper_state = deny, tamper_state
        self.session = requests.Session()
        self.callback_url: str | None = None
        self.last: requests.Response | None = None

    def __call__(self, url: str) -> None:
        if self.tamper_state:
            url = url.replace("state=", "state=forged", 1)
        response = self.session.get(url, timeout=10)
        for _ in range(4):
            parser = _Forms()
            parser.feed(response.text)
            if not parser.forms or "html" not in response.headers.get("Content-Type", ""):
                break
            form = parser.forms[0]
            data = {i["name"]: i.get("value", "") for i in form["inputs"] if i.get("type") != "submit" and i.get("name")}
            if "_username" in data:
                data.update({"_username": USER, "_password": PASSWORD})
            else:
                data["rejected" if self.deny else "accepted"] = "Deny" if self.deny else "Accept"
            response = self.session.request(form["method"].upper(), urljoin(response.url, form["action"]),
                                            data=data, timeout=10)
            for hop in [*response.history, response]:
                if urlsplit(hop.url).path == "/callback":
                    self.callback_url = hop.url
        self.last = response


@pytest.fixture
def oauth_sim():
    with Simulator(contacts=5, password=PASSWORD) as sim:
        yield sim


def _config(sim: Simulator, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"base_url": sim.url, "client_id": sim.client_id, "client_secret": sim.client_secret,
            "token_store_path": str(tmp_path / "state" / "mautic-tokens.json"), "request_timeout": 10, **extra}


def _write(tmp_path: Path, config: dict[str, Any]) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def _token_posts(sim: Simulator) -> list[dict[str, Any]]:
    return [r for r in sim.request_log if r["method"] == "POST" and r["path"] == "/oauth/v2/token"]


def test_authorize_end_to_end_then_the_tap_client_uses_and_rotates_the_stored_tokens(oauth_sim, tmp_path) -> None:
    config = _config(oauth_sim, tmp_path)
    agent, out = UserAgent(), io.StringIO()
    info = authorize(config, open_browser=agent, wait_seconds=10, out=out)
    store = Path(config["token_store_path"])
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    saved = json.loads(store.read_text())
    assert saved["refresh_token"] and saved["access_token"] and saved["client_id"] == "sim-client"
    assert info.grant.startswith("authorization_code") and info.access_token_expires == saved["access_token_expires"]
    printed = out.getvalue()
    assert f"{oauth_sim.url}/oauth/v2/authorize?client_id=sim-client&response_type=code" in printed
    assert oauth_sim.client_secret not in printed and saved["refresh_token"] not in printed
    redirect = parse_qs(urlsplit(agent.callback_url or "").query)
    assert redirect["state"][0] in printed and "code" in redirect
    exchange = _token_posts(oauth_sim)
    assert len(exchange) == 1 and exchange[0]["status"] == 200

    client = MauticClient(config)
    assert client.context("contacts").get_list(limit=2).total == 5
    oauth_sim.expire_tokens()
    assert client.context("segments").get_list().total >= 1  # refreshed on the 401, rotated, stored
    rotated = json.loads(store.read_text())
    assert rotated["refresh_token"] != saved["refresh_token"]

    shown = format_status(status(config))
    assert "grant: authorization_code" in shown and "access token expires: " in shown and "(in 59 min" in shown
    for secret in (rotated["refresh_token"], rotated["access_token"], oauth_sim.client_secret):
        assert secret not in shown


def test_cli_authorize_and_status(oauth_sim, tmp_path, monkeypatch, capsys) -> None:
    path = _write(tmp_path, _config(oauth_sim, tmp_path))
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", UserAgent())
    assert main(["authorize", "--config", path, "--timeout", "10"]) == 0
    out = capsys.readouterr().out
    assert "Authorized. Tokens written to" in out and "grant: authorization_code" in out
    assert main(["status", "--config", path]) == 0
    shown = capsys.readouterr().out
    assert "token_store_path: " in shown and "access token expires: " in shown
    assert oauth_sim.client_secret not in out + shown


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("mautic-auth: error: ")
    return err


def test_wrong_state_is_refused_and_the_code_never_exchanged(oauth_sim, tmp_path, monkeypatch, capsys) -> None:
    config = _config(oauth_sim, tmp_path)
    agent = UserAgent(tamper_state=True)
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", agent)
    assert main(["authorize", "--config", _write(tmp_path, config), "--timeout", "10"]) == 1
    assert "state in the redirect does not match" in _one_line_error(capsys)
    assert agent.callback_url and "code=" in agent.callback_url  # Mautic did issue a code ...
    assert _token_posts(oauth_sim) == []  # ... which was never sent
    assert not os.path.exists(config["token_store_path"])


def test_a_reused_code_is_a_one_line_error_and_keeps_the_stored_tokens(oauth_sim, tmp_path, monkeypatch,
                                                                         capsys) -> None:
    config = _config(oauth_sim, tmp_path)
    first = UserAgent()
    authorize(config, open_browser=first, wait_seconds=10, out=io.StringIO())
    before = Path(config["token_store_path"]).read_text()
    old_code = parse_qs(urlsplit(first.callback_url or "").query)["code"][0]

    def replay(url: str) -> None:  # an old redirect replayed into the new run (with its state, so it passes)
        query = parse_qs(urlsplit(url).query)
        callback = query["redirect_uri"][0]
        requests.get(callback, params={"state": query["state"][0], "code": old_code}, timeout=10)

    monkeypatch.setattr("mautic_api.authorize.open_in_browser", replay)
    assert main(["authorize", "--config", _write(tmp_path, config), "--timeout", "10"]) == 1
    err = _one_line_error(capsys)
    assert "rejected the authorization code (Code doesn't exist or is invalid for the client)" in err
    assert Path(config["token_store_path"]).read_text() == before


def test_an_unregistered_redirect_uri_is_a_one_line_error(oauth_sim, tmp_path, monkeypatch, capsys) -> None:
    oauth_sim.set_redirect_uris(["http://127.0.0.1/cb"])  # as the recorded client: no loopback port admitted
    agent = UserAgent()
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", agent)
    config = _config(oauth_sim, tmp_path)
    assert main(["authorize", "--config", _write(tmp_path, config), "--timeout", "0.5"]) == 1
    assert agent.last is not None and agent.last.status_code == 400  # what the user sees in the browser
    assert agent.last.json()["errors"][0]["type"] == "redirect_uri_mismatch"
    err = _one_line_error(capsys)
    assert "does not match registered URI(s)" in err and "Redirect URIs" in err
    assert _token_posts(oauth_sim) == [] and not os.path.exists(config["token_store_path"])


def test_deny_is_a_one_line_error(oauth_sim, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", UserAgent(deny=True))
    assert main(["authorize", "--config", _write(tmp_path, _config(oauth_sim, tmp_path)), "--timeout", "10"]) == 1
    assert "access_denied" in _one_line_error(capsys)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"token_store_path": None}, "Setting 'token_store_path' is required"),
        ({"token_store_path": "FILE/tokens.json"}, "is not writable"),
        ({"username": "admin", "password": "pw"}, "needs auth_method oauth2"),
        ({"client_secret": None}, "Setting 'client_secret' is missing"),
    ],
)
def test_configuration_errors_stop_before_the_browser(oauth_sim, tmp_path, monkeypatch, capsys, change,
                                                       expected) -> None:
    (tmp_path / "FILE").write_text("not a directory")
    config = {k: v for k, v in {**_config(oauth_sim, tmp_path), **change}.items() if v is not None}
    if "FILE" in config.get("token_store_path", ""):
        config["token_store_path"] = str(tmp_path / config["token_store_path"])
    opened: list[str] = []
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", opened.append)
    assert main(["authorize", "--config", _write(tmp_path, config)]) == 1
    assert expected in _one_line_error(capsys)
    assert opened == []


def test_status_without_tokens_and_for_basic_auth(oauth_sim, tmp_path, capsys) -> None:
    shown = format_status(status(_config(oauth_sim, tmp_path)))
    assert "grant: client_credentials" in shown and "no token store yet" in shown
    basic = format_status(status({"base_url": oauth_sim.url, "username": "admin", "password": "pw"}))
    assert "grant: basic" in basic and "pw" not in basic.replace(oauth_sim.url, "")


def test_console_script_is_installed(oauth_sim, tmp_path) -> None:
    script = Path(sys.executable).with_name("mautic-auth")
    done = subprocess.run([str(script), "status", "--config", _write(tmp_path, {"base_url": "ftp://x"})],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == ("mautic-auth: error: Setting 'base_url' must start with http:// or https:// "
                                   "(got 'ftp://x').")


# -- the simulator's authorize endpoint itself -------------------------------------------------------------


def test_redirect_uri_matching_is_mautics_prefix_rule() -> None:
    registered = ["http://127.0.0.1", "https://app.example.com/cb"]
    assert redirect_uri_allowed("http://127.0.0.1:54321/callback", registered)
    assert redirect_uri_allowed("HTTPS://APP.example.com/cb?x=1", registered)
    assert not redirect_uri_allowed("http://localhost:54321/callback", registered)
    assert not redirect_uri_allowed("https://app.example.com/cb/../evil", registered)
    assert not redirect_uri_allowed("", registered)


def _code(sim: Simulator, redirect: str) -> str:
    agent = UserAgent()
    url = (f"{sim.url}/oauth/v2/authorize?client_id={sim.client_id}&response_type=code"
           f"&redirect_uri={requests.utils.quote(redirect, safe='')}&state=s1")
    agent(url)
    assert agent.last is not None
    location = agent.last.history[-1].headers["Location"] if agent.last.history else agent.last.url
    return parse_qs(urlsplit(location).query)["code"][0]


def _exchange(sim: Simulator, code: str, redirect: str) -> requests.Response:
    return requests.post(f"{sim.url}/oauth/v2/token", data={
        "grant_type": "authorization_code", "client_id": sim.client_id, "client_secret": sim.client_secret,
        "code": code, "redirect_uri": redirect}, timeout=10)


@pytest.mark.parametrize(
    ("prepare", "redirect_used", "message"),
    [
        (None, "http://127.0.0.1:9/other", "The redirect URI is missing or do not match"),
        (lambda sim: setattr(sim.app.authorize, "code_lifetime_s", -1), None,
         "The authorization code has expired"),
    ],
)
def test_sim_token_exchange_checks_the_redirect_and_the_code_age(
    oauth_sim, prepare: Callable[[Simulator], None] | None, redirect_used: str | None, message: str
) -> None:
    if prepare:
        prepare(oauth_sim)
    redirect = "http://127.0.0.1:9/cb"  # nothing listens: the agent's last hop fails, the code is in Location
    try:
        code = _code(oauth_sim, redirect)
    except requests.ConnectionError as exc:
        location = exc.request.url if exc.request is not None else ""
        code = parse_qs(urlsplit(location).query)["code"][0]
    answer = _exchange(oauth_sim, code, redirect_used or redirect)
    assert answer.status_code == 400 and answer.json()["errors"][0]["message"] == message
