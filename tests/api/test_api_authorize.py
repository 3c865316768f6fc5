"""mautic-auth: the OAuth2 authorization-code flow end to end against the simulator, with a scripted user agent.

The user agent is a requests session that follows Mautic's login and consent forms as a browser would; it is
handed the authorize URL where a real run would open the browser.
"""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from mautic_api import MauticClient
from mautic_api.authorize import (
    DEFAULT_REDIRECT_URI,
    _parser,
    authorize,
    format_status,
    main,
    redirect_target,
    status,
)
from mautic_api.errors import ConfigurationError
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


def _free_port() -> int:
    """An ephemeral port the OS had free a moment ago (tests never bind the fixed default)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def callback_uri() -> str:
    return f"http://127.0.0.1:{_free_port()}/callback"


@pytest.fixture
def oauth_sim(callback_uri):
    """A simulator whose OAuth2 client has ``callback_uri`` registered, as a user registers the default once."""
    with Simulator(contacts=5, password=PASSWORD) as sim:
        sim.set_redirect_uris([callback_uri])
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


def test_authorize_end_to_end_then_the_tap_client_uses_and_rotates_the_stored_tokens(oauth_sim, callback_uri,
                                                                                      tmp_path) -> None:
    config = _config(oauth_sim, tmp_path)
    agent, out = UserAgent(), io.StringIO()
    printed_first: list[str] = []

    def browser(url: str) -> None:
        printed_first.append(out.getvalue())  # what the user had read before the wait began
        agent(url)

    info = authorize(config, redirect_uri=callback_uri, open_browser=browser, wait_seconds=10, out=out)
    assert "must be registered on this client in Mautic" in printed_first[0]
    assert f"\n  {callback_uri}\n" in printed_first[0] and (agent.callback_url or "").startswith(f"{callback_uri}?")
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


def test_cli_authorize_with_port_and_status(oauth_sim, callback_uri, tmp_path, monkeypatch, capsys) -> None:
    path = _write(tmp_path, _config(oauth_sim, tmp_path))
    agent = UserAgent()
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", agent)
    port = urlsplit(callback_uri).port  # --port N is short for http://127.0.0.1:N/callback
    assert main(["authorize", "--config", path, "--timeout", "10", "--port", str(port)]) == 0
    assert agent.callback_url and agent.callback_url.startswith(f"{callback_uri}?")
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


def test_wrong_state_is_refused_and_the_code_never_exchanged(oauth_sim, callback_uri, tmp_path, monkeypatch,
                                                              capsys) -> None:
    config = _config(oauth_sim, tmp_path)
    agent = UserAgent(tamper_state=True)
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", agent)
    assert main(["authorize", "--config", _write(tmp_path, config), "--timeout", "10",
                 "--redirect-uri", callback_uri]) == 1
    assert "state in the redirect does not match" in _one_line_error(capsys)
    assert agent.callback_url and "code=" in agent.callback_url  # Mautic did issue a code ...
    assert _token_posts(oauth_sim) == []  # ... which was never sent
    assert not os.path.exists(config["token_store_path"])


def test_a_reused_code_is_a_one_line_error_and_keeps_the_stored_tokens(oauth_sim, callback_uri, tmp_path,
                                                                         monkeypatch, capsys) -> None:
    config = _config(oauth_sim, tmp_path)
    first = UserAgent()
    authorize(config, redirect_uri=callback_uri, open_browser=first, wait_seconds=10, out=io.StringIO())
    before = Path(config["token_store_path"]).read_text()
    old_code = parse_qs(urlsplit(first.callback_url or "").query)["code"][0]

    def replay(url: str) -> None:  # an old redirect replayed into the new run (with its state, so it passes)
        query = parse_qs(urlsplit(url).query)
        callback = query["redirect_uri"][0]
        requests.get(callback, params={"state": query["state"][0], "code": old_code}, timeout=10)

    monkeypatch.setattr("mautic_api.authorize.open_in_browser", replay)
    assert main(["authorize", "--config", _write(tmp_path, config), "--timeout", "10",
                 "--redirect-uri", callback_uri]) == 1
    err = _one_line_error(capsys)
    assert "rejected the authorization code (Code doesn't exist or is invalid for the client)" in err
    assert Path(config["token_store_path"]).read_text() == before


@pytest.mark.parametrize("registered", ["http://127.0.0.1", "http://127.0.0.1:{other}/callback",
                                        "http://localhost:{port}/callback"])
def test_an_unregistered_redirect_uri_times_out_naming_the_uri_to_register(oauth_sim, callback_uri, tmp_path,
                                                                           monkeypatch, capsys, registered) -> None:
    # The old advice ("add http://127.0.0.1") is the first case: Mautic admits no port with it (same port rule).
    port = urlsplit(callback_uri).port
    oauth_sim.set_redirect_uris([registered.format(port=port, other=_free_port())])
    agent = UserAgent()
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", agent)
    config = _config(oauth_sim, tmp_path)
    assert main(["authorize", "--config", _write(tmp_path, config), "--timeout", "0.5",
                 "--redirect-uri", callback_uri]) == 1
    assert agent.last is not None and agent.last.status_code == 400  # what the user sees in the browser
    assert agent.last.json()["errors"][0]["type"] == "redirect_uri_mismatch"
    err = _one_line_error(capsys)
    assert f"no answer reached {callback_uri} within 0.5 s" in err and "redirect_uri_mismatch" in err
    assert "add exactly this URI in Mautic" in err and "--redirect-uri" in err
    assert "add http://127.0.0.1 " not in err
    assert _token_posts(oauth_sim) == [] and not os.path.exists(config["token_store_path"])


def test_the_default_redirect_uri_is_fixed_and_one_flag_changes_it() -> None:
    assert DEFAULT_REDIRECT_URI == "http://127.0.0.1:6288/callback"
    parse = _parser().parse_args
    assert parse(["authorize", "--config", "c.json"]).redirect_uri == DEFAULT_REDIRECT_URI
    assert parse(["authorize", "--config", "c.json", "--redirect-uri", "http://127.0.0.1:9/cb"]).redirect_uri \
        == "http://127.0.0.1:9/cb"
    target = redirect_target("http://localhost:7000/oauth/cb")
    assert (target.bind_host, target.port, target.path) == ("127.0.0.1", 7000, "/oauth/cb")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://127.0.0.1:7000/callback", "is not a loopback http:// URI"),
        ("http://192.0.2.1:7000/callback", "is not a loopback http:// URI"),
        ("http://127.0.0.1/callback", "must name a port"),
        ("http://127.0.0.1:0/callback", "must name a port"),
        ("http://127.0.0.1:99999/callback", "is not a loopback http:// URI"),
    ],
)
def test_a_bad_redirect_uri_is_one_line_before_the_browser(oauth_sim, tmp_path, monkeypatch, capsys, uri,
                                                          expected) -> None:
    opened: list[str] = []
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", opened.append)
    assert main(["authorize", "--config", _write(tmp_path, _config(oauth_sim, tmp_path)), "--redirect-uri", uri]) == 1
    err = _one_line_error(capsys)
    assert expected in err and "http://127.0.0.1:<port>/<path>" in err
    assert opened == []
    with pytest.raises(ConfigurationError):
        redirect_target(uri)


def test_a_port_in_use_is_one_line_naming_the_flag(oauth_sim, tmp_path, monkeypatch, capsys) -> None:
    opened: list[str] = []
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", opened.append)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        uri = f"http://127.0.0.1:{busy.getsockname()[1]}/callback"
        assert main(["authorize", "--config", _write(tmp_path, _config(oauth_sim, tmp_path)),
                     "--redirect-uri", uri]) == 1
    err = _one_line_error(capsys)
    assert f"cannot listen on 127.0.0.1:{urlsplit(uri).port} for the redirect URI {uri}" in err
    assert "Address already in use" in err and "pass it with --redirect-uri (or --port " in err
    assert opened == []


def test_port_zero_is_refused_naming_the_flag(oauth_sim, tmp_path, capsys) -> None:
    assert main(["authorize", "--config", _write(tmp_path, _config(oauth_sim, tmp_path)), "--port", "0"]) == 1
    assert "--port 0 is not a port between 1 and 65535" in _one_line_error(capsys)


def test_deny_is_a_one_line_error(oauth_sim, callback_uri, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", UserAgent(deny=True))
    assert main(["authorize", "--config", _write(tmp_path, _config(oauth_sim, tmp_path)), "--timeout", "10",
                 "--redirect-uri", callback_uri]) == 1
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
def test_configuration_errors_stop_before_the_browser(oauth_sim, callback_uri, tmp_path, monkeypatch, capsys,
                                                       change, expected) -> None:
    (tmp_path / "FILE").write_text("not a directory")
    config = {k: v for k, v in {**_config(oauth_sim, tmp_path), **change}.items() if v is not None}
    if "FILE" in config.get("token_store_path", ""):
        config["token_store_path"] = str(tmp_path / config["token_store_path"])
    opened: list[str] = []
    monkeypatch.setattr("mautic_api.authorize.open_in_browser", opened.append)
    assert main(["authorize", "--config", _write(tmp_path, config), "--redirect-uri", callback_uri]) == 1
    assert expected in _one_line_error(capsys)
    assert opened == []


def test_status_says_what_each_auth_method_needs(oauth_sim, tmp_path) -> None:
    # client_credentials needs nothing stored: no unconditional "run mautic-auth authorize" (issue 19, point 6).
    shown = format_status(status(_config(oauth_sim, tmp_path)))
    assert "grant: client_credentials" in shown and "run mautic-auth authorize" not in shown
    assert "no token store yet" not in shown and "next: nothing to authorize or store for client_credentials" in shown
    assert "tap-mautic --test checks that the client has that grant" in shown
    unset = format_status(status({**_config(oauth_sim, tmp_path), "token_store_path": None}))
    assert "only such a client needs mautic-auth authorize once, with 'token_store_path' set" in unset
    basic = format_status(status({"base_url": oauth_sim.url, "username": "admin", "password": "pw"}))
    assert "grant: basic" in basic and "pw" not in basic.replace(oauth_sim.url, "")
    assert "next: nothing to authorize or store (mautic-auth is for OAuth2" in basic
    oauth1 = format_status(status({"base_url": oauth_sim.url, "auth_method": "oauth1a", "client_id": "ck",
                                   "client_secret": "cs", "access_token": "at", "access_token_secret": "ats"}))
    assert "grant: oauth1a (access token and secret from the config" in oauth1 and "next: nothing to store" in oauth1
    broken = _config(oauth_sim, tmp_path)
    Path(broken["token_store_path"]).parent.mkdir(parents=True)
    Path(broken["token_store_path"]).write_text("{not json")
    assert "unreadable and ignored (mautic-auth authorize rewrites it)" in format_status(status(broken))


def test_console_script_is_installed(oauth_sim, tmp_path) -> None:
    script = Path(sys.executable).with_name("mautic-auth")
    done = subprocess.run([str(script), "status", "--config", _write(tmp_path, {"base_url": "ftp://x"})],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == ("mautic-auth: error: Setting 'base_url' must start with http:// or https:// "
                                   "(got 'ftp://x').")


# -- the simulator's authorize endpoint itself -------------------------------------------------------------


# friendsofsymfony/oauth2-php lib/OAuth2.php, OAuth2::validateRedirectUri (vendor tree of Mautic 5.1.0): the
# redirect URI must start with a registered one (strcasecmp of the prefix), and parse_url's host and port must be
# identical (===), and the url-decoded path holds no /../ or /./. What a real Mautic 5.1.0 answered on
# 2026-12-06 (client registered with http://127.0.0.1:8765/callback, POST /oauth/v2/authorize accepted=Accept):
# .../callback/sub?x=1, .../callbackXYZ and HTTP://127.0.0.1:8765/CALLBACK -> 302 with a code; localhost,
# :9999, /other, /callback/../x and /callback/%2e%2e/x -> 400 redirect_uri_mismatch. With http://127.0.0.1
# registered: http://127.0.0.1/callback -> 302; :6288/callback and :80/callback -> 400.
@pytest.mark.parametrize(
    ("uri", "registered", "allowed"),
    [
        ("http://127.0.0.1:8765/callback", "http://127.0.0.1:8765/callback", True),
        ("http://127.0.0.1:8765/callback/sub?x=1", "http://127.0.0.1:8765/callback", True),
        ("http://127.0.0.1:8765/callbackXYZ", "http://127.0.0.1:8765/callback", True),
        ("HTTP://127.0.0.1:8765/CALLBACK", "http://127.0.0.1:8765/callback", True),
        ("http://localhost:8765/callback", "http://127.0.0.1:8765/callback", False),
        ("http://127.0.0.1:9999/callback", "http://127.0.0.1:8765/callback", False),
        ("http://127.0.0.1:8765/other", "http://127.0.0.1:8765/callback", False),
        ("http://127.0.0.1:8765/callback/../x", "http://127.0.0.1:8765/callback", False),
        ("http://127.0.0.1:8765/callback/%2e%2e/x", "http://127.0.0.1:8765/callback", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1", True),
        ("http://127.0.0.1:6288/callback", "http://127.0.0.1", False),  # the old README's advice
        ("http://127.0.0.1:80/callback", "http://127.0.0.1", False),
        ("", "http://127.0.0.1", False),
    ],
)
def test_sim_redirect_uri_rule_is_oauth2_php_validate_redirect_uri(uri, registered, allowed) -> None:
    assert redirect_uri_allowed(uri, [registered]) is allowed


# One real exchange (Mautic 5.1.0 on loopback, 2026-12-06), logged in, client registered with
# http://127.0.0.1:8765/callback, a browser's Accept header:
#   POST /oauth/v2/authorize?client_id=<id>&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2F
#        callback&state=st1   (form: fos_oauth_server_authorize_form[...], accepted=Accept)
#   -> HTTP/1.0 400 Bad Request; Content-Type: application/json; Cache-Control: max-age=0, must-revalidate,
#      private; Expires: <now>; no Mautic-Version; body below, byte for byte (the same with Accept: */*).
REAL_MISMATCH_BODY = ('{"errors":[{"message":"The redirect URI provided does not match registered URI(s).",'
                      '"code":400,"type":"redirect_uri_mismatch"}]}')


def test_sim_answers_a_mismatch_as_the_real_server(oauth_sim, callback_uri) -> None:
    agent = UserAgent()
    wrong = callback_uri.replace("/callback", "/other")
    agent.session.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    agent(f"{oauth_sim.url}/oauth/v2/authorize?client_id={oauth_sim.client_id}&response_type=code"
          f"&redirect_uri={requests.utils.quote(wrong, safe='')}&state=st1")
    answer = agent.last
    assert answer is not None and answer.status_code == 400 and answer.raw.version == 10  # HTTP/1.0
    assert answer.text == REAL_MISMATCH_BODY
    assert answer.headers["Content-Type"] == "application/json" and "Mautic-Version" not in answer.headers
    assert answer.headers["Cache-Control"] == "max-age=0, must-revalidate, private" and answer.headers["Expires"]


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
    oauth_sim.set_redirect_uris([redirect])
    try:
        code = _code(oauth_sim, redirect)
    except requests.ConnectionError as exc:
        location = cast(str, exc.request.url) if exc.request is not None else ""  # a sent request's url
        code = parse_qs(urlsplit(location).query)["code"][0]
    answer = _exchange(oauth_sim, code, redirect_used or redirect)
    assert answer.status_code == 400 and answer.json()["errors"][0]["message"] == message
