"""Authentication: Basic auth, OAuth 1.0a signatures and the OAuth2 token endpoint, as a mixin of ``Mautic``."""

from __future__ import annotations

import base64
import secrets
import time
from typing import TYPE_CHECKING, Any

from mautic_sim.messages import Request, Response
from mautic_sim.util import ApiError


class AuthRoutes:
    """Who is asking: authenticates /api requests and answers /oauth/v1 and /oauth/v2/token."""

    if TYPE_CHECKING:  # a mixin: the rest of its attributes are those of ``app.Mautic``, typed there
        def __getattr__(self, name: str) -> Any: ...

    def _url(self, req: Request, path: str) -> str:
        return f"http://{req.headers.get('host') or self.base_url.split('//', 1)[-1]}{path}"

    def oauth1_route(self, req: Request, path: str) -> Response:
        form = "application/x-www-form-urlencoded"
        if path == "/oauth/v1/request_token" and req.method == "POST":
            oauth = self.oauth1.verify(req.method, self._url(req, path), req.query_string, req.headers, req.body, "none")
            return Response(200, self.oauth1.request_token(oauth), version_header=False, content_type=form)
        if path == "/oauth/v1/authorize" and req.method == "GET":
            target = self.oauth1.authorize(str(req.query.get("oauth_token", "")))
            if target is None:
                raise ApiError(401, "Invalid request token.", type_="invalid_token", controller=False, http10=True)
            return Response(302, "", {"Location": target}, version_header=False, content_type="text/html; charset=UTF-8")
        if path == "/oauth/v1/access_token" and req.method == "POST":
            oauth = self.oauth1.verify(req.method, self._url(req, path), req.query_string, req.headers, req.body, "request")
            return Response(200, self.oauth1.access_token(oauth), version_header=False, content_type=form)
        raise ApiError(404, f"Requested URL not found: {path}", controller=False)

    def _authenticate(self, req: Request) -> None:
        auth = req.headers.get("authorization", "")
        if self.oauth1 is not None and auth.startswith("OAuth "):
            self.oauth1.verify(req.method, self._url(req, req.path), req.query_string, req.headers, req.body, "access")
            self.request_local.user = {"id": 1, "name": "Admin User", "client": False, "oauth": True}
            return
        token = None
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        elif "access_token" in req.query:
            token = str(req.query["access_token"])
        if token is not None:
            row = self.store.one("SELECT * FROM oauth2_tokens WHERE token = ? AND kind = 'access'", (token,))
            if row is None:
                raise ApiError(401, "The access token provided is invalid.", type_="invalid_grant",
                               controller=False, http10=True)
            if row["expires_at"] < time.time():
                raise ApiError(401, "The access token provided has expired.", type_="invalid_grant",
                               controller=False, http10=True)
            if row["user_id"]:
                self.request_local.user = {"id": 1, "name": "Admin User", "client": False, "oauth": True}
            else:
                self.request_local.user = {"id": None, "name": f"{self.client_id} [1]", "client": True}
            return
        if not self.basic_auth:
            raise ApiError(403, "Basic Auth disabled. You need to enable HTTP basic auth in the API settings of "
                                "Mautic's Configuration.", type_="access_denied", controller=False)
        if auth.lower().startswith("basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user, pw = "", ""
            if secrets.compare_digest(user.encode(), self.username.encode()) and secrets.compare_digest(
                    pw.encode(), self.password.encode()):
                self.request_local.user = {"id": 1, "name": "Admin User", "client": False}
                return
            raise ApiError(401, "Authorization denied, invalid credentials.", type_="access_denied",
                           controller=False, http10=True)
        raise ApiError(401, "API authorization denied.", type_="access_denied", controller=False, http10=True)

    def issue_token(self, user_id: int | None, refresh: bool) -> dict[str, Any]:
        access = secrets.token_urlsafe(48)
        now = time.time()
        self.store.insert("oauth2_tokens", {"token": access, "kind": "access", "client_id": self.client_id,
                                            "user_id": user_id, "expires_at": now + self.token_lifetime})
        body: dict[str, Any] = {"access_token": access, "expires_in": self.token_lifetime,
                                "token_type": "bearer", "scope": None}
        if refresh:
            rt = secrets.token_urlsafe(48)
            self.store.insert("oauth2_tokens", {"token": rt, "kind": "refresh", "client_id": self.client_id,
                                                "user_id": user_id, "expires_at": now + 14 * 86400})
            body["refresh_token"] = rt
        return body

    def expire_tokens(self) -> None:
        self.store.execute("UPDATE oauth2_tokens SET expires_at = 0 WHERE kind = 'access'")

    def oauth(self, req: Request, path: str) -> Response:
        def err(status: int, message: str, type_: str) -> ApiError:
            return ApiError(status, message, type_=type_, controller=False, http10=True)

        if path.startswith("/oauth/v1/") and self.oauth1 is not None:
            return self.oauth1_route(req, path)
        if path == "/oauth/v2/token" and req.method in ("GET", "POST"):
            params: dict[str, Any] = dict(req.query)
            if req.body:
                b = self.body(req)
                if isinstance(b, dict):
                    params.update(b)
            auth = req.headers.get("authorization", "")
            if auth.lower().startswith("basic ") and "client_id" not in params:
                cid, _, sec = base64.b64decode(auth[6:]).decode("utf-8", "replace").partition(":")
                params.update({"client_id": cid, "client_secret": sec})
            if not params.get("grant_type"):  # checked before the client (oauth2-php grantAccessToken; real: D18)
                raise err(400, "Invalid grant_type parameter or parameter missing", "invalid_request")
            if params.get("client_id") != self.client_id or ((
                    params.get("grant_type") != "authorization_code" or params.get("client_secret") is not None
            ) and params.get("client_secret") != self.client_secret):
                raise err(400, "The client credentials are invalid", "invalid_client")
            grant = params.get("grant_type")
            headers = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}
            if grant == "client_credentials":
                return Response(200, self.issue_token(None, refresh=False), headers, version_header=False)
            if grant == "authorization_code":
                user_id = self.authorize.redeem(params)
                return Response(200, self.issue_token(user_id, refresh=True), headers, version_header=False)
            if grant == "refresh_token":
                row = self.store.one("SELECT * FROM oauth2_tokens WHERE token = ? AND kind = 'refresh' AND used = 0",
                                     (str(params.get("refresh_token")),))
                if row is None:
                    raise err(400, "Invalid refresh token", "invalid_grant")
                if row["expires_at"] < time.time():
                    raise err(400, "Refresh token has expired", "invalid_grant")
                self.store.execute("UPDATE oauth2_tokens SET used = 1 WHERE token = ?", (row["token"],))
                return Response(200, self.issue_token(row["user_id"], refresh=True), headers, version_header=False)
            raise err(400, "The grant type is unauthorized for this client_id", "unauthorized_client")
        page = self.authorize.handle(req, path)
        if page is not None:
            return page
        raise ApiError(404, f"Requested URL not found: {path}", controller=False)
