"""Mautic's OAuth2 authorization step: ``/oauth/v2/authorize`` (login, consent) and the ``authorization_code`` grant.

As recorded on 5.1.0 (668-676, 682): ``GET /oauth/v2/authorize`` without a session is a 302 to
``/oauth/v2/authorize_login``, whose form posts ``_username``/``_password`` to ``/oauth/v2/authorize_login_check``
(no CSRF field), which redirects back to the authorize URL; with a session the consent form is shown, even for a
redirect URI the client did not register (682). ``accepted=Accept`` posted to ``/oauth/v2/authorize`` gives a 302
to ``<redirect_uri>?state=…&code=…``; a redirect URI that is not registered is a 400 ``redirect_uri_mismatch``
(672); a code works once (676: 400 ``invalid_grant`` "Code doesn't exist or is invalid for the client").

A redirect URI is admitted as friendsofsymfony/oauth2-php ``OAuth2::validateRedirectUri`` does (lib/OAuth2.php,
read at the 5.1.0 vendor tree): no ``/../`` or ``/./`` in its url-decoded path, it *starts with* a registered URI
compared case-insensitively, **and** its host and port, as PHP's ``parse_url`` gives them, are identical to that
URI's (the host compared as written, a missing port only equal to a missing port). Checked on a real 5.1.0 with
``http://127.0.0.1:8765/callback`` registered (2026-12): ``.../callback/sub?x=1`` and ``.../callbackXYZ`` pass;
``http://localhost:8765/callback``, ``http://127.0.0.1:9999/callback`` and ``http://127.0.0.1:8765/other`` get
400 ``redirect_uri_mismatch``. So a registered bare ``http://127.0.0.1`` admits no loopback port at all.

By code reading, not recorded: codes live 30 s (``DEFAULT_AUTH_CODE_LIFETIME``); the token request must repeat the
redirect URI (``enforce_redirect``) and it must pass the same rule against the code's; "Deny" redirects with
``error=access_denied``; the consent form's values come from the query string or, for the form's own fields,
from the posted ``fos_oauth_server_authorize_form[...]``.

Codes live in memory (they expire in 30 s; a restarted simulator simply forgets them).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import threading
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from mautic_sim.messages import Request, Response
from mautic_sim.services import SimApp
from mautic_sim.util import ApiError

COOKIE = "mauticsim"
CODE_LIFETIME_S = 30
# The recorded client's URI, and the one ``mautic-auth authorize`` uses unless told otherwise (registered once).
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1/cb", "http://127.0.0.1:6288/callback")
FORM = "fos_oauth_server_authorize_form"
_HTML = "text/html; charset=UTF-8"
_TRAVERSAL = re.compile(r"/\.\.?(/|$)")


def _oauth_error(status: int, message: str, type_: str) -> ApiError:
    return ApiError(status, message, type_=type_, controller=False, http10=True)


def _page_error(status: int, message: str, type_: str) -> ApiError:
    """An OAuth2 error of the authorize page: the session is open there, so Symfony marks the answer as
    ``max-age=0, must-revalidate, private`` with an ``Expires`` of now (recorded 673 and on a real 5.1.0,
    2026-12-06), where the token endpoint says ``no-cache, private``."""
    headers = {"Cache-Control": "max-age=0, must-revalidate, private", "Expires": formatdate(usegmt=True)}
    return ApiError(status, message, type_=type_, controller=False, http10=True, headers=headers)


def _host_port(uri: str) -> tuple[str, int | None] | None:
    """Host (as written, brackets kept) and port of ``uri`` as PHP's ``parse_url`` reports them; None if unparsable."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    netloc = parts.netloc.rpartition("@")[2]
    host = netloc[: netloc.find("]") + 1] if netloc.startswith("[") else netloc.partition(":")[0]
    return host, port


def redirect_uri_allowed(uri: str, registered: list[str]) -> bool:
    """oauth2-php ``OAuth2::validateRedirectUri``: case-insensitive prefix, same host, same port, no traversal."""
    if not uri or not registered:
        return False
    given = _host_port(uri)
    if given is None or _TRAVERSAL.search(unquote(urlsplit(uri).path)):
        return False
    return any(uri[: len(r)].lower() == r.lower() and _host_port(r) == given for r in registered)


class OAuthAuthorize:
    """The browser side of Mautic's OAuth2 server for the simulator's one client."""

    def __init__(self, app: SimApp, redirect_uris: tuple[str, ...] | list[str] = DEFAULT_REDIRECT_URIS) -> None:
        self.app = app
        self.redirect_uris: list[str] = list(redirect_uris)  # the client's registered URIs
        self.code_lifetime_s: float = CODE_LIFETIME_S
        self._lock = threading.Lock()
        self._sessions: dict[str, dict[str, Any]] = {}  # sid -> {"user": id or None, "target": query string}
        self._codes: dict[str, dict[str, Any]] = {}

    # -- browser endpoints ------------------------------------------------------------------------
    def handle(self, req: Request, path: str) -> Response | None:
        """The answer for the authorize pages, or None when ``path`` is not one of them."""
        if path == "/oauth/v2/authorize" and req.method in ("GET", "POST"):
            return self._authorize(req)
        if path == "/oauth/v2/authorize_login" and req.method == "GET":
            return self._page(_LOGIN_PAGE)
        if path == "/oauth/v2/authorize_login_check" and req.method == "POST":
            return self._login_check(req)
        return None

    def _session(self, req: Request) -> tuple[str, dict[str, Any]]:
        cookies = dict(parse_qsl(req.headers.get("cookie", "").replace("; ", "&")))
        sid = cookies.get(COOKIE, "")
        with self._lock:
            if sid not in self._sessions:
                sid = secrets.token_hex(16)
                self._sessions[sid] = {"user": None, "target": ""}
            return sid, self._sessions[sid]

    def _redirect(self, location: str, sid: str | None = None) -> Response:
        headers = {"Location": location}
        if sid is not None:
            headers["Set-Cookie"] = f"{COOKIE}={sid}; path=/; httponly; samesite=lax"
        return Response(302, "", headers, version_header=False, content_type=_HTML)

    def _page(self, body: str) -> Response:
        return Response(200, body, version_header=False, content_type=_HTML)

    def _authorize(self, req: Request) -> Response:
        sid, session = self._session(req)
        if session["user"] is None:
            session["target"] = req.query_string
            return self._redirect(f"{self.app.base_url}/oauth/v2/authorize_login", sid)
        params = {k: str(v) for k, v in req.query.items() if isinstance(v, str)}
        if req.method == "GET":
            if params.get("client_id") != self.app.client_id:
                raise ApiError(404, "Client not found.", controller=False)
            return self._page(_consent_page(params))
        form = self.app.body(req)
        form = form if isinstance(form, dict) else {}
        given = form.get(FORM)
        fields = given if isinstance(given, dict) else {}
        params = {**{k: str(v) for k, v in fields.items() if v not in (None, "")}, **params}
        if params.get("client_id") != self.app.client_id:
            raise _oauth_error(400, "Unknown client", "invalid_client")
        redirect = params.get("redirect_uri", "")
        if not redirect_uri_allowed(redirect, self.redirect_uris):
            raise _page_error(400, "The redirect URI provided does not match registered URI(s).",
                              "redirect_uri_mismatch")
        sep = "&" if "?" in redirect else "?"
        state = params.get("state", "")
        if "accepted" not in form:
            query = urlencode({"error": "access_denied",
                               "error_description": "The user denied access to your application", "state": state})
            return self._redirect(f"{redirect}{sep}{query}")
        code = base64.urlsafe_b64encode(hashlib.sha256(secrets.token_bytes(32)).hexdigest().encode()).decode().rstrip("=")
        with self._lock:
            self._codes[code] = {"client_id": self.app.client_id, "redirect_uri": redirect, "user_id": session["user"],
                                 "expires_at": time.time() + self.code_lifetime_s}
        return self._redirect(f"{redirect}{sep}state={quote(state)}&code={code}")

    def _login_check(self, req: Request) -> Response:
        sid, session = self._session(req)
        form = self.app.body(req)
        ok = isinstance(form, dict) and form.get("_username") == self.app.username and \
            form.get("_password") == self.app.password
        if not ok:
            return self._redirect(f"{self.app.base_url}/oauth/v2/authorize_login", sid)
        with self._lock:  # a new session id on login, as Symfony migrates the session
            self._sessions.pop(sid, None)
            sid = secrets.token_hex(16)
            self._sessions[sid] = {"user": 1, "target": ""}
        return self._redirect(f"{self.app.base_url}/oauth/v2/authorize?{session['target']}", sid)

    # -- token endpoint ---------------------------------------------------------------------------
    def redeem(self, params: dict[str, Any]) -> int:
        """Check and spend an authorization code of an ``authorization_code`` token request; the user id."""
        code, redirect = params.get("code"), params.get("redirect_uri")
        if not code:
            raise _oauth_error(400, 'Missing parameter. "code" is required', "invalid_request")
        if not redirect:
            raise _oauth_error(400, "The redirect URI parameter is required.", "invalid_request")
        with self._lock:
            row = self._codes.get(str(code))
            if row is None or row["client_id"] != params.get("client_id"):
                raise _oauth_error(400, "Code doesn't exist or is invalid for the client", "invalid_grant")
            if not redirect_uri_allowed(str(redirect), [row["redirect_uri"]]):
                raise _oauth_error(400, "The redirect URI is missing or do not match", "redirect_uri_mismatch")
            if row["expires_at"] < time.time():
                raise _oauth_error(400, "The authorization code has expired", "invalid_grant")
            del self._codes[str(code)]
        return int(row["user_id"])


_LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Mautic</title></head><body>"
    '<form class="form-group login-form" name="login" role="form" action="/oauth/v2/authorize_login_check" method="post">'
    '<label for="username">Username or email</label>'
    '<input type="text" id="username" name="_username" value="" required autofocus />'
    '<label for="password">Password:</label>'
    '<input type="password" id="password" name="_password" required />'
    '<button type="submit">login</button></form></body></html>'
)


def _consent_page(params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" id="{FORM}_{name}" name="{FORM}[{name}]" value="{html.escape(params.get(name, ""))}" />'
        for name in ("client_id", "response_type", "redirect_uri", "state", "scope")
    )
    return (
        "<!DOCTYPE html><html><head><title>Mautic</title></head><body>"
        f'<h4>The application <strong>{html.escape(params.get("client_id", ""))}</strong> would like to connect to your account. </h4>'
        f'<form class="form-login text-center" role="form" name="{FORM}" action="/oauth/v2/authorize" method="post">'
        '<input type="submit" name="accepted" value="Accept" />'
        '<input type="submit" name="rejected" value="Deny" />'
        f"{hidden}</form></body></html>"
    )


__all__ = ["OAuthAuthorize", "redirect_uri_allowed"]
