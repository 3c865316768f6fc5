"""``mautic-auth``: the first OAuth2 tokens through Mautic's authorization page, and what is stored.

Why: an OAuth2 client that was not created by an admin has no ``client_credentials`` grant, so its first
access and refresh token can only come from the ``authorization_code`` flow, which needs a browser. This
command runs it with a loopback redirect URI (RFC 8252): it listens on :data:`DEFAULT_REDIRECT_URI`
(``http://127.0.0.1:6288/callback``) or the URI given with ``--redirect-uri``/``--port``, prints that URI
(the one that must be registered in Mautic) and Mautic's authorize URL (opening it where a graphical browser
exists), receives the code, checks ``state``, exchanges the code at ``/oauth/v2/token`` and writes the
tokens to ``token_store_path`` through the token store code the tap and target read
(:class:`~mautic_api.auth.RefreshTokenAuth`: atomic, mode 0600).

The redirect URI is fixed, not a free port, because Mautic's OAuth2 server (friendsofsymfony/oauth2-php
``OAuth2::validateRedirectUri``) admits a redirect URI only if it starts with a registered one *and* has the
same host and the same port; a real Mautic 5.1.0 answered 400 ``redirect_uri_mismatch`` for another port or
``localhost`` instead of ``127.0.0.1``. So the user registers one exact URI once, and every run listens there.

The state check and the URL are done here rather than with oauthlib's ``WebApplicationClient``, because
oauthlib refuses ``http://`` redirect URIs unless ``OAUTHLIB_INSECURE_TRANSPORT`` is set, and the loopback
redirect is ``http://`` by design.
"""

from __future__ import annotations

import argparse
import dataclasses
import hmac
import http.server
import json
import logging
import os
import secrets
import stat
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, TextIO
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from mautic_api.auth import TOKEN_PATH, NoAuth, RefreshTokenAuth
from mautic_api.errors import ConfigurationError, MauticError
from mautic_api.http import MauticSession, default_user_agent, send
from mautic_api.settings import Settings

LOGGER = logging.getLogger("mautic_api")
AUTHORIZE_PATH = "/oauth/v2/authorize"
CALLBACK_PATH = "/callback"
# 6288 ("MAUT" on a phone keypad): unprivileged, below every OS's ephemeral range (Linux 32768-60999,
# Windows/macOS 49152-65535, so no outgoing connection holds it by chance) and no common dev-server default.
DEFAULT_PORT = 6288
DEFAULT_REDIRECT_URI = f"http://127.0.0.1:{DEFAULT_PORT}{CALLBACK_PATH}"
DEFAULT_WAIT_SECONDS = 300.0
# The host of the redirect URI -> the address the listener binds (the browser resolves the name itself).
_LOOPBACK: Mapping[str, str] = MappingProxyType({"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1"})


class AuthorizationError(MauticError):
    """The authorization step failed; the message says why and what to do, in one line."""


@dataclass(frozen=True)
class Callback:
    """What the browser brought back to the loopback redirect URI."""

    params: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.params.get(name)


@dataclass(frozen=True)
class RedirectTarget:
    """The loopback redirect URI this run listens on: as registered in Mautic, and where to bind."""

    uri: str
    bind_host: str
    port: int
    path: str


def redirect_target(uri: str) -> RedirectTarget:
    """Check a ``--redirect-uri``: ``http://127.0.0.1:<port>/<path>`` (or ``localhost``), port explicit.

    The port must be written out because Mautic compares it as written (a registered URI without one admits
    only redirect URIs without one, i.e. port 80).
    """
    shape = "http://127.0.0.1:<port>/<path>, as registered in Mautic"
    try:
        parts = urlsplit(uri.strip())
        port = parts.port
    except ValueError:
        port, parts = None, None
    if (
        parts is None
        or parts.scheme != "http"
        or parts.hostname not in _LOOPBACK
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise ConfigurationError(
            f"--redirect-uri {uri!r} is not a loopback http:// URI this command can listen on: use {shape}."
        )
    if not port:
        raise ConfigurationError(f"--redirect-uri {uri!r} must name a port between 1 and 65535: use {shape}.")
    return RedirectTarget(uri.strip(), _LOOPBACK[parts.hostname or ""], port, parts.path or "/")


def _other_port(target: RedirectTarget) -> int:
    return target.port + 1 if target.port < 65535 else target.port - 1


@dataclass(frozen=True)
class TokenStatus:
    """What ``mautic-auth status`` reports: never a secret."""

    base_url: str
    auth_method: str
    grant: str
    client_id: str | None
    store_path: str | None
    store_note: str | None
    access_token_expires: int | None
    saved_at: int | None
    advice: str | None = None  # what this auth method needs next, if anything (never "authorize" by default)


# ---------------------------------------------------------------------------------------------- loopback


class _CallbackServer(http.server.HTTPServer):
    """One-shot HTTP server on 127.0.0.1 that waits for the browser's redirect."""

    def __init__(self, target: RedirectTarget) -> None:
        self.callback_path = target.path
        super().__init__((target.bind_host, target.port), _CallbackHandler)
        self.received = threading.Event()
        self.callback: Callback | None = None


class _CallbackHandler(http.server.BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if (parts.path or "/") != self.server.callback_path:
            self.send_error(404)
            return
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        ok = "code" in params and "error" not in params
        text = (
            "Mautic authorization received; you can close this tab and return to the terminal."
            if ok
            else "Mautic did not authorize the application; see the terminal."
        )
        body = f"<!DOCTYPE html><html><body><p>{text}</p></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.server.callback is None:  # the first answer counts; a replayed one changes nothing
            self.server.callback = Callback(params)
            self.server.received.set()

    def log_message(self, format: str, *args: Any) -> None:  # the query holds the code: keep it out of logs
        return


def open_in_browser(url: str) -> bool:
    """Open ``url`` in a graphical browser if there is one; False otherwise (the URL is printed anyway).

    Console browsers (lynx, w3m) are not used: they would take over the terminal the command runs in.
    """
    graphical = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if not graphical:
        return False
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if type(browser) is webbrowser.GenericBrowser:  # console browsers are registered as GenericBrowser
        return False
    return bool(browser.open(url))


# ---------------------------------------------------------------------------------------------- flow


def _settings(config: Mapping[str, Any]) -> Settings:
    settings = Settings.from_config(config, LOGGER)
    if settings.auth_method != "oauth2":
        raise ConfigurationError(
            f"mautic-auth needs auth_method oauth2 (this config uses {settings.auth_method}): set "
            "'client_id' and 'client_secret' and remove 'username'/'password'."
        )
    if not settings.token_store_path:
        raise ConfigurationError(
            "Setting 'token_store_path' is required: mautic-auth writes the tokens there, and tap-mautic and "
            "target-mautic read them from there."
        )
    return settings


def check_store_writable(path: str) -> None:
    """Refuse before the browser step when the tokens could not be stored (a spent code cannot be reused)."""
    target = os.path.abspath(path)
    existing = os.path.dirname(target)
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)  # the nearest ancestor that exists (makedirs creates the rest)
    writable = os.path.isdir(existing) and os.access(existing, os.W_OK | os.X_OK)
    if not writable or os.path.isdir(target) or (os.path.exists(target) and not os.access(target, os.W_OK)):
        raise ConfigurationError(
            f"Setting 'token_store_path' ({path}) is not writable: choose a file in a directory you may "
            "write."
        )


def authorize_url(settings: Settings, redirect_uri: str, state: str) -> str:
    query = urlencode(
        {
            "client_id": settings.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{settings.base_url}{AUTHORIZE_PATH}?{query}"


def authorize(
    config: Mapping[str, Any],
    *,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    open_browser: Callable[[str], Any] | None = open_in_browser,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    out: TextIO | None = None,
) -> TokenStatus:
    """Run the authorization-code flow for ``config`` and store the tokens; what is stored, without secrets.

    ``redirect_uri`` must be registered on the client in Mautic (the listener binds its port; tests pass an
    ephemeral one); ``open_browser`` receives the authorize URL (tests pass a scripted user agent). Raises
    :class:`AuthorizationError` or :class:`ConfigurationError` with a one-line message.
    """
    out = out or sys.stdout
    settings = _settings(config)
    assert settings.token_store_path
    check_store_writable(settings.token_store_path)
    target = redirect_target(redirect_uri)
    try:
        server = _CallbackServer(target)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {target.bind_host}:{target.port} for the redirect URI {target.uri} "
            f"({exc.strerror or exc}): stop what uses that port, or register another URI such as "
            f"{urlunsplit(('http', f'127.0.0.1:{_other_port(target)}', target.path, '', ''))} in Mautic and "
            f"pass it with --redirect-uri (or --port {_other_port(target)})."
        ) from None
    thread = threading.Thread(target=server.serve_forever, name="mautic-auth-callback", daemon=True)
    thread.start()
    try:
        state = secrets.token_urlsafe(24)
        url = authorize_url(settings, target.uri, state)
        print(
            "Redirect URI (it must be registered on this client in Mautic, Settings > API Credentials; "
            "Mautic admits it only with the same scheme, host and port and a path that starts with a "
            f"registered one):\n\n  {target.uri}\n",
            file=out,
            flush=True,
        )
        print(f"Open this URL in a browser, log in to Mautic and accept:\n\n  {url}\n", file=out, flush=True)
        print(
            f"Waiting up to {wait_seconds:g} s for Mautic to redirect to {target.uri} ...",
            file=out,
            flush=True,
        )
        if open_browser is not None:
            open_browser(url)
        if not server.received.wait(wait_seconds):
            raise AuthorizationError(_timeout_message(target, wait_seconds))
        callback = server.callback
    finally:
        server.shutdown()
        server.server_close()
    assert callback is not None
    code = _check_callback(callback, state)
    body = _exchange(settings, code, target.uri)
    return _store(settings, body)


def _timeout_message(target: RedirectTarget, wait_seconds: float) -> str:
    """Why nothing came back, most likely: Mautic showed the browser a 400 ``redirect_uri_mismatch``."""
    return (
        f"no answer reached {target.uri} within {wait_seconds:g} s. Most likely Mautic answered the browser "
        '400 redirect_uri_mismatch ("The redirect URI provided does not match registered URI(s).") because '
        f"{target.uri} is not among the client's Redirect URIs: add exactly this URI in Mautic (Settings > "
        "API Credentials; scheme, host and port must be identical - 127.0.0.1 is not localhost - and the "
        "path must start with the registered one), or pass a registered one with --redirect-uri; then run "
        "again."
    )


def _check_callback(callback: Callback, state: str) -> str:
    error = callback.get("error")
    if error:
        detail = callback.get("error_description") or error
        hint = "run mautic-auth authorize again and press Accept" if error == "access_denied" else "run again"
        raise AuthorizationError(
            f"Mautic did not authorize the application ({error}: {detail[:120]}): {hint}."
        )
    if not hmac.compare_digest(callback.get("state") or "", state):
        raise AuthorizationError(
            "the state in the redirect does not match the one this run sent (a stale or forged authorization "
            "answer): the code was not used; run mautic-auth authorize again."
        )
    code = callback.get("code")
    if not code:
        raise AuthorizationError(
            "the redirect carried no authorization code: run mautic-auth authorize again."
        )
    return code


def _exchange(settings: Settings, code: str, redirect_uri: str) -> dict[str, Any]:
    session = MauticSession(
        timeout=settings.request_timeout,
        verify=settings.verify_ssl,
        user_agent=settings.user_agent or default_user_agent(),
    )
    form = {
        "grant_type": "authorization_code",
        "client_id": settings.client_id or "",
        "client_secret": settings.client_secret or "",
        "redirect_uri": redirect_uri,
        "code": code,
    }
    try:
        # A code is single-use: an exchange whose answer was lost cannot be repeated (idempotent=False).
        _, body = send(
            session,
            "POST",
            f"{settings.base_url}{TOKEN_PATH}",
            data=form,
            auth=NoAuth(),
            max_retries=settings.max_retries,
            max_retry_seconds=settings.max_retry_seconds,
            secrets=[*settings.secrets(), code],
            auth_method="oauth2",
            idempotent=False,
        )
    except MauticError as exc:
        if exc.errors and exc.errors[0].get("type") == "invalid_grant":
            raise AuthorizationError(
                f"Mautic rejected the authorization code ({exc.errors[0].get('message')}): codes are "
                "single-use and expire after 30 s; run mautic-auth authorize again.",
                status=exc.status,
                errors=exc.errors,
            ) from None
        raise
    finally:
        session.close()
    if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
        raise AuthorizationError(
            f"POST {TOKEN_PATH}: the answer holds no access and refresh token: check setting 'base_url'."
        )
    return body


def _store(settings: Settings, body: Mapping[str, Any]) -> TokenStatus:
    """Write the pair through the tap's and target's own token store (atomic, 0600, under its file lock)."""
    fresh = dataclasses.replace(
        settings, refresh_token=str(body["refresh_token"]), access_token=None, access_token_expires=None
    )
    session = MauticSession(timeout=settings.request_timeout, verify=settings.verify_ssl, user_agent=None)
    try:
        store = RefreshTokenAuth(fresh, session)
        with store._store_lock():
            store._take(dict(body))
            store._refresh_token = str(body["refresh_token"])
            store._write_store()
    finally:
        session.close()
    return settings_status(fresh)


# ---------------------------------------------------------------------------------------------- status


def _read_store(path: str) -> tuple[dict[str, Any] | None, str | None]:
    if not os.path.exists(path):
        return None, None
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None, "the token store is unreadable and ignored (mautic-auth authorize rewrites it)"
    if not isinstance(data, dict):
        return None, "the token store is not a JSON object and is ignored (mautic-auth authorize rewrites it)"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    note = (
        None
        if mode & 0o077 == 0
        else f"the token store has mode {mode:04o}: other users may read it (chmod 600)"
    )
    return data, note


def status(config: Mapping[str, Any]) -> TokenStatus:
    """Which grant the tap and target will use with ``config``, and when the stored access token expires."""
    return settings_status(Settings.from_config(config, LOGGER))


def settings_status(settings: Settings) -> TokenStatus:
    """:func:`status` for settings already normalised."""
    common: dict[str, Any] = {
        "base_url": settings.base_url,
        "auth_method": settings.auth_method,
        "client_id": settings.client_id,
    }
    if settings.auth_method == "basic":
        return TokenStatus(
            **common,
            grant="basic (username and password with every request; no token)",
            store_path=None,
            store_note=None,
            access_token_expires=None,
            saved_at=None,
            advice="nothing to authorize or store (mautic-auth is for OAuth2 authorization-code clients); "
            "tap-mautic --test checks the credentials",
        )
    if settings.auth_method == "oauth1a":
        return TokenStatus(
            **common,
            grant="oauth1a (access token and secret from the config; Mautic < 4)",
            store_path=None,
            store_note=None,
            access_token_expires=None,
            saved_at=None,
            advice="nothing to store: the OAuth1a tokens are settings (mautic-auth is for OAuth2); "
            "tap-mautic --test checks them",
        )
    path = settings.token_store_path
    data, note = _read_store(path) if path else (None, None)
    if data is not None and (
        data.get("base_url") not in (None, settings.base_url)
        or data.get("client_id") not in (None, settings.client_id)
    ):
        note, data = "the token store belongs to another instance or client and is ignored", None
    if data is not None and data.get("refresh_token"):
        expires = data.get("access_token_expires")
        return TokenStatus(
            **common,
            grant="authorization_code (refresh token in the token store; rotated on use)",
            store_path=path,
            store_note=note,
            saved_at=data.get("saved_at"),
            access_token_expires=int(expires) if expires else None,
        )
    if settings.refresh_token:
        return TokenStatus(
            **common,
            grant="authorization_code (refresh token from the config)",
            store_path=path,
            store_note=note,
            access_token_expires=settings.access_token_expires,
            saved_at=None,
        )
    setting = "" if path else ", with 'token_store_path' set"
    return TokenStatus(
        **common,
        grant="client_credentials (a new access token each run; nothing stored)",
        store_path=path,
        store_note=note,
        access_token_expires=None,
        saved_at=None,
        advice="nothing to authorize or store for client_credentials; tap-mautic --test checks that the "
        "client has that grant (a client created in Mautic's UI has not; only such a client needs "
        f"mautic-auth authorize once{setting})",
    )


def _when(epoch: int | None, now: float) -> str:
    if not epoch:
        return "unknown"
    stamp = datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    delta = int(epoch - now)
    if delta >= 0:
        return f"{stamp} (in {delta // 60} min {delta % 60} s)"
    return f"{stamp} (expired {-delta // 60} min ago; renewed on the next request)"


def format_status(info: TokenStatus, now: float | None = None) -> str:
    now = time.time() if now is None else now
    lines = [
        f"base_url: {info.base_url}",
        f"auth_method: {info.auth_method}",
        f"grant: {info.grant}",
    ]
    if info.client_id:
        lines.append(f"client_id: {info.client_id}")
    if info.store_path:
        lines.append(f"token_store_path: {info.store_path}")
    if info.saved_at:
        lines.append(f"tokens saved: {_when(info.saved_at, now).split(' (')[0]}")
    if info.grant.startswith("authorization_code"):
        lines.append(f"access token expires: {_when(info.access_token_expires, now)}")
    if info.store_note:
        lines.append(f"note: {info.store_note}")
    if info.advice:
        lines.append(f"next: {info.advice}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- command


def _load_config(paths: Sequence[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as exc:
            raise ConfigurationError(f"cannot read --config {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigurationError(f"--config {path} is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"--config {path} must hold a JSON object")
        config.update(data)
    return config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mautic-auth",
        description="Obtain and inspect the OAuth2 tokens tap-mautic and target-mautic use.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("authorize", help="run Mautic's authorization-code flow and store the tokens")
    run.add_argument("--config", action="append", required=True, help="tap/target config JSON (repeatable)")
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--redirect-uri",
        default=DEFAULT_REDIRECT_URI,
        help=f"the loopback redirect URI registered on the client in Mautic (default {DEFAULT_REDIRECT_URI})",
    )
    where.add_argument(
        "--port",
        type=int,
        help=f"short for --redirect-uri http://127.0.0.1:<port>{CALLBACK_PATH}",
    )
    run.add_argument("--no-browser", action="store_true", help="only print the URL, do not open a browser")
    run.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WAIT_SECONDS,
        help="seconds to wait for the browser (default 300)",
    )
    show = sub.add_parser("status", help="which grant is configured and when the access token expires")
    show.add_argument("--config", action="append", required=True, help="tap/target config JSON (repeatable)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: one line on stderr and exit 1 on any failure, never a traceback."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="mautic-auth: %(levelname)s: %(message)s")
    try:
        config = _load_config(args.config)
        if args.command == "authorize" and args.port is not None and not 0 < args.port < 65536:
            raise ConfigurationError(
                f"--port {args.port} is not a port between 1 and 65535: Mautic admits only the registered "
                "port, so it must be the one in the client's Redirect URI."
            )
        if args.command == "authorize":
            info = authorize(
                config,
                redirect_uri=(
                    args.redirect_uri if args.port is None else f"http://127.0.0.1:{args.port}{CALLBACK_PATH}"
                ),
                open_browser=None if args.no_browser else open_in_browser,
                wait_seconds=args.timeout,
            )
            print(f"Authorized. Tokens written to {info.store_path} (mode 0600).")
        else:
            info = status(config)
        print(format_status(info))
    except MauticError as exc:
        print(f"mautic-auth: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mautic-auth: cancelled.", file=sys.stderr)
        return 130
    return 0


__all__ = [
    "AuthorizationError",
    "TokenStatus",
    "authorize",
    "authorize_url",
    "format_status",
    "main",
    "open_in_browser",
    "status",
]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
