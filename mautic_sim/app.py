# ruff: noqa: E501
"""Request handling: auth, routing and the Mautic-specific endpoints (contacts, companies, stats, OAuth2).

``Mautic.handle`` is a pure function of the request and the store, so the HTTP layer (server.py) only deals
with sockets, faults and logging.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mautic_sim import extras, mariadb, phpquery
from mautic_sim.contacts import CONTACT_COLUMN_ALIASES, Contacts
from mautic_sim.generic import CONTEXTS, Ctx, Generic, _paging
from mautic_sim.messages import Request, Response
from mautic_sim.oauth1 import OAuth1
from mautic_sim.oauth_authorize import OAuthAuthorize
from mautic_sim.store import Store
from mautic_sim.util import (
    GENERIC_400,
    RECORDED,
    ApiError,
    db_ts,
    not_found,
    php_serialize,
    server_error,
    utcnow,
)
from mautic_sim.versions import MauticVersion, get_version

BATCH_LIMIT = 200
KNOWN_EXPR = {"eq", "neq", "lt", "lte", "gt", "gte", "like", "notLike", "in", "notIn", "between", "notBetween",
              "isNull", "isNotNull", "isEmpty", "isNotEmpty", "andX", "orX"}
CONTACT_CATCHALL = ["firstname", "lastname", "email", "company", "city", "state", "zipcode", "country"]
COMPANY_CATCHALL = ["companyname", "companycity", "companyemail", "companywebsite", "companycountry"]


_DATE_VALUE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?$")


class StatsError(Exception):
    """A query error that /api/stats reports with HTTP 200."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.message, self.code = message, code


class Mautic:
    """The application: holds the store, the configuration and the per-request user."""

    def __init__(self, store: Store, *, username: str, password: str, client_id: str, client_secret: str,
                 basic_auth: bool, api: bool, token_lifetime: int, oauth1a: bool = False,
                 clock: Callable[[], datetime] = utcnow, version: str | MauticVersion = "5.1"):
        self.store = store
        self.version = version if isinstance(version, MauticVersion) else get_version(version)
        self.username, self.password = username, password
        self.client_id, self.client_secret = client_id, client_secret
        self.basic_auth, self.api_enabled, self.oauth1a = basic_auth, api, oauth1a
        self.token_lifetime = token_lifetime
        self.clock = clock
        self._local = threading.local()
        self.oauth1 = OAuth1(client_id, client_secret) if oauth1a else None
        self.contacts = Contacts(self)
        self.generic = Generic(self)
        self.authorize = OAuthAuthorize(self)  # /oauth/v2/authorize and the authorization_code grant
        self.base_url = ""
        self._routes: list[tuple[re.Pattern[str], tuple[str, ...], Callable[..., Response]]] | None = None

    # -- context helpers ------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def current_user(self) -> dict[str, Any]:
        return getattr(self._local, "user", None) or {"id": 1, "name": "Admin User", "client": False}

    def audit(self, bundle: str, obj: str, obj_id: Any, action: str, details: Any) -> None:
        user = self.current_user()
        self.store.insert("audit_log", {
            "user_id": user["id"] or 0, "user_name": user["name"], "bundle": bundle, "object": obj,
            "object_id": obj_id, "action": action, "details": php_serialize(details or {}),
            "date_added": db_ts(self.now()), "ip_address": "127.0.0.1"})

    def log_event(self, lead_id: int, bundle: str, obj: str, action: str, properties: str,
                  object_id: Any = None, with_user: bool = False) -> None:
        """A lead_event_log row. As recorded (634): "identified_contact" rows carry no user, segment and campaign
        membership rows carry the acting user's id and username."""
        row = {"lead_id": lead_id, "bundle": bundle, "object": obj, "action": action, "object_id": object_id,
               "date_added": db_ts(self.now()), "properties": properties}
        user = self.current_user()
        if with_user and user["id"]:
            row.update({"user_id": user["id"], "user_name": self.username})
        self.store.insert("lead_event_log", row)

    def user_self(self, user: dict[str, Any]) -> dict[str, Any]:
        role = user.get("role") or {}
        return {"isPublished": user.get("isPublished", True), "id": user["id"], "username": user["username"],
                "firstName": user["firstName"], "lastName": user["lastName"], "email": user["email"],
                "role": {"isPublished": True, "id": role.get("id"), "name": role.get("name"),
                         "description": role.get("description"), "isAdmin": role.get("isAdmin")},
                "timezone": user.get("timezone") or "", "locale": user.get("locale") or ""}

    # -- entry point ----------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        try:
            return self._handle(req)
        except ApiError as e:
            return Response(e.status, e.body(), dict(e.headers), version_header=e.controller, http10=e.http10)
        except Exception as e:
            import traceback
            traceback.print_exception(e)
            err = server_error()
            return Response(err.status, err.body(), version_header=False)
        finally:
            self._local.user = None
            self._local.submitted = None

    def _handle(self, req: Request) -> Response:
        path = req.path.rstrip("/") or "/"
        is_api = path.startswith("/api")
        is_oauth = path.startswith("/oauth")
        if (is_api or is_oauth) and not self.api_enabled:
            raise ApiError(403, "API disabled. You need to enable the API in the API settings of Mautic's "
                                "Configuration.", type_="api_disabled", controller=False)
        if is_oauth:
            return self.oauth(req, path)
        if not is_api:
            raise ApiError(404, f"Requested URL not found: {path}", controller=False)
        self._authenticate(req)
        return self.route(req, path[len("/api"):] or "/")

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
            self._local.user = {"id": 1, "name": "Admin User", "client": False, "oauth": True}
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
                self._local.user = {"id": 1, "name": "Admin User", "client": False, "oauth": True}
            else:
                self._local.user = {"id": None, "name": f"{self.client_id} [1]", "client": True}
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
                self._local.user = {"id": 1, "name": "Admin User", "client": False}
                return
            raise ApiError(401, "Authorization denied, invalid credentials.", type_="access_denied",
                           controller=False, http10=True)
        raise ApiError(401, "API authorization denied.", type_="access_denied", controller=False, http10=True)

    # -- body parsing -----------------------------------------------------------------------------
    def body(self, req: Request) -> Any:
        raw = req.body
        ctype = req.headers.get("content-type", "")
        if not raw.strip():
            return {}
        if "multipart/form-data" in ctype:
            return {}
        if "application/json" in ctype or raw.lstrip()[:1] in (b"{", b"["):
            try:
                return json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ApiError(400, GENERIC_400, controller=False) from None
        return phpquery.parse(raw.decode("utf-8", "replace"))

    # -- routing ----------------------------------------------------------------------------------
    def route(self, req: Request, p: str) -> Response:
        m = req.method
        if self._routes is None:
            self._routes = [(re.compile(pat), meth, fn) for pat, meth, fn in self.routes()]
        for pattern, methods, handler in self._routes:
            match = pattern.fullmatch(p)
            if match and m in methods:
                return handler(req, *match.groups())
        raise ApiError(404, f"Requested URL not found: /api{p}", controller=False)

    def routes(self) -> list[tuple[str, tuple[str, ...], Callable[..., Response]]]:
        r: list[tuple[str, tuple[str, ...], Callable[..., Response]]] = []
        G, P, D, E = ("GET",), ("POST",), ("DELETE",), ("PUT", "PATCH")
        x = extras.Extras(self)
        r += x.routes()
        r += [
            (r"/contacts", G, self.contacts_list),
            (r"/contacts/new", P, lambda q: self.contact_new(q)),
            (r"/contacts/batch/new", P, self.contacts_batch_new),
            (r"/contacts/batch/edit", E, self.contacts_batch_edit),
            (r"/contacts/batch/delete", D, lambda q: self.batch_delete(q, "contacts")),
            (r"/contacts/(\d+)", G, self.contact_get),
            (r"/contacts/(\d+)/edit", E, self.contact_edit),
            (r"/contacts/(\d+)/delete", D, self.contact_delete),
            (r"/companies", G, self.companies_list),
            (r"/companies/new", P, lambda q: self.company_new(q)),
            (r"/companies/batch/new", P, self.companies_batch_new),
            (r"/companies/batch/edit", E, self.companies_batch_edit),
            (r"/companies/batch/delete", D, lambda q: self.batch_delete(q, "companies")),
            (r"/companies/(\d+)", G, self.company_get),
            (r"/companies/(\d+)/edit", E, self.company_edit),
            (r"/companies/(\d+)/delete", D, self.company_delete),
            (r"/stats", G, lambda q: self.stats(q, None)),
            (r"/stats/([^/]+)", G, self.stats),
        ]
        for ctx in CONTEXTS.values():
            base = re.escape(ctx.path)
            r.append((rf"/{base}", G, lambda q, c=ctx: Response(200, self.generic.list(c, q.query))))
            r.append((rf"/{base}/(\d+)", G, lambda q, i, c=ctx: self.g_get(q, c, i)))
            if ctx.read_only:
                continue
            r += [
                (rf"/{base}/new", P, lambda q, c=ctx: self.g_new(q, c)),
                (rf"/{base}/batch/new", P, lambda q, c=ctx: self.g_batch_new(q, c)),
                (rf"/{base}/batch/edit", E, lambda q, c=ctx: self.g_batch_edit(q, c)),
                (rf"/{base}/batch/delete", D, lambda q, c=ctx: self.g_batch_delete(q, c)),
                (rf"/{base}/(\d+)/edit", E, lambda q, i, c=ctx: self.g_edit(q, c, i)),
                (rf"/{base}/(\d+)/delete", D, lambda q, i, c=ctx: self.g_delete(q, c, i)),
            ]
        return r

    # -- generic contexts -------------------------------------------------------------------------
    def g_get(self, req: Request, ctx: Ctx, eid: str) -> Response:
        e = self.generic.get_raw(ctx.name, eid)
        if e is None:
            raise not_found()
        return Response(200, {ctx.item: self.generic.present(ctx, e)})

    def g_new(self, req: Request, ctx: Ctx) -> Response:
        e = self.generic.create(ctx, self.body(req))
        return Response(201, {ctx.item: self.generic.present(ctx, e, created=True)},
                        {"Location": f"/api/{ctx.path}/{e['id']}"})

    def g_edit(self, req: Request, ctx: Ctx, eid: str) -> Response:
        payload = self.body(req)
        if req.method == "PUT" and self.generic.get_raw(ctx.name, eid) is None:
            if ctx.name == "campaigns":
                raise ApiError(400, "At least one event is required. Use the Launch Campaign Builder button to add "
                                    "one.")
            e = self.generic.create(ctx, payload)
            return Response(201, {ctx.item: self.generic.present(ctx, e, created=True)},
                            {"Location": f"/api/{ctx.path}/{e['id']}"})
        e = self.generic.edit(ctx, int(eid), payload, put=req.method == "PUT")
        return Response(200, {ctx.item: self.generic.present(ctx, e, created=req.method == "PUT")})

    def g_delete(self, req: Request, ctx: Ctx, eid: str) -> Response:
        e = self.generic.present(ctx, self.generic.delete(ctx, int(eid)))
        e = {**e, "id": None}
        return Response(200, {ctx.item: e})

    def _batch_items(self, req: Request) -> list[tuple[str, Any]]:
        payload = self.body(req)
        if isinstance(payload, dict) and payload and all(str(k).isdigit() for k in payload):
            items = list(payload.items())
        elif isinstance(payload, list):
            items = [(str(i), v) for i, v in enumerate(payload)]
        elif payload == {}:
            items = []
        else:
            raise server_error()
        if len(items) > BATCH_LIMIT:
            raise ApiError(500, f"A max of {BATCH_LIMIT} entities are supported at a time.")
        return items

    @staticmethod
    def _batch_body(list_key: str, done: dict[int, Any], codes: list[int], errors: dict[int, Any]) -> dict[str, Any]:
        def pack(d: dict[int, Any]) -> Any:
            keys = sorted(d)
            return [d[k] for k in keys] if keys == list(range(len(keys))) else {str(k): d[k] for k in keys}
        body: dict[str, Any] = {list_key: pack(done), "statusCodes": codes}
        if errors:
            body["errors"] = pack(errors)
        return body

    def _run_batch(self, items: list[tuple[str, Any]], fn: Callable[[Any], tuple[Any, int]],
                   list_key: str) -> dict[str, Any]:
        done: dict[int, Any] = {}
        errors: dict[int, Any] = {}
        codes: list[int] = []
        for i, (_, item) in enumerate(items):
            try:
                entity, code = fn(item)
                done[i] = entity
                codes.append(code)
            except _BatchPartial as bp:
                done[i] = bp.entity
                codes.append(400)
                errors[i] = {"code": 400, "message": ", ".join(f"{k}: {' '.join(v)}" for k, v in bp.details.items()),
                             "details": bp.details, "type": None}
            except ApiError as e:
                codes.append(e.status)
                if e.status == 404:
                    errors[i] = {"message": e.message, "code": 404, "type": "api"}
                else:
                    errors[i] = {"code": e.status, "message": e.message,
                                 "details": e.details if e.details is not None else [], "type": None}
        return self._batch_body(list_key, done, codes, errors)

    def g_batch_new(self, req: Request, ctx: Ctx) -> Response:
        items = self._batch_items(req)
        if ctx.batch_new_500:
            for _, item in items:  # validate first: Mautic fails the whole request without partial writes
                if not isinstance(item, dict) or any(item.get(k) in (None, "") for k, _ in ctx.required) or (
                        ctx.name in ("devices",) and not item.get("lead")) or (
                        ctx.name == "notes" and not self.contacts.get_row("leads", item.get("lead"))) or (
                        ctx.name == "users" and not item.get("plainPassword")):
                    raise server_error()
        body = self._run_batch(items, lambda it: (self.generic.present(ctx, self.generic.create(ctx, it, batch=True), True), 201),
                               ctx.list_key)
        return Response(201, body)

    def g_batch_edit(self, req: Request, ctx: Ctx) -> Response:
        items = self._batch_items(req)
        put = req.method == "PUT"
        if (put and ctx.batch_put == "500") or (not put and ctx.batch_patch_500):
            raise server_error()

        def one(item: Any) -> tuple[Any, int]:
            if not isinstance(item, dict) or not item.get("id"):
                raise ApiError(400, "ID is missing from the payload.")
            if put and isinstance(ctx.batch_put, dict):
                e = self.generic.get_raw(ctx.name, item["id"])
                if e is None:
                    raise not_found()
                raise _BatchPartial(e, ctx.batch_put)
            try:
                return self.generic.present(ctx, self.generic.edit(ctx, int(item["id"]), item, put=put)), 200
            except ApiError as err:
                if err.status == 400:
                    current = self.generic.get_raw(ctx.name, item["id"])
                    raise _BatchPartial(current, err.details or {}) from None
                raise

        return Response(200, self._run_batch(items, one, ctx.list_key))

    def _ids(self, req: Request) -> list[int]:
        raw = req.query.get("ids")
        if raw is None:
            body = self.body(req) if req.body else {}
            raw = body.get("ids") if isinstance(body, dict) else None
        vals = phpquery.as_list(raw) if not isinstance(raw, str) else raw.split(",")
        out = []
        for v in vals:
            try:
                out.append(int(str(v).strip()))
            except ValueError:
                continue
        return out

    def g_batch_delete(self, req: Request, ctx: Ctx) -> Response:
        out = []
        for i in self._ids(req):
            try:
                out.append(self.generic.present(ctx, self.generic.delete(ctx, i)))
            except ApiError:
                continue
        return Response(200, {ctx.list_key: out})

    # -- contacts -------------------------------------------------------------------------------
    def _where_sql(self, clauses: Any, columns: set[str], convert: dict[str, str], nested: bool,
                   prefix: str = "", stats: bool = False) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for c in phpquery.as_list(clauses):
            if not isinstance(c, dict):
                continue
            expr = c.get("expr")
            col = c.get("col", c.get("column"))
            val = c.get("val", c.get("value"))
            if expr not in KNOWN_EXPR:
                continue
            if expr in ("andX", "orX"):
                sub_sql = []
                for sub in phpquery.as_list(val):
                    s, p = self._where_sql([sub], columns, convert, True, prefix, stats)
                    if s:
                        sub_sql.append(s)
                        params += p
                if sub_sql:
                    parts.append("(" + (" AND " if expr == "andX" else " OR ").join(sub_sql) + ")")
                continue
            if not isinstance(col, str) or not col:
                continue
            col = re.sub(r"[^A-Za-z0-9_.]", "", col).split(".")[-1]
            if not nested:
                col = convert.get(col, col)
            if col not in columns:
                if stats:
                    raise StatsError("An exception occurred while executing a query: SQLSTATE[42S22]: Column not "
                                     f"found: 1054 Unknown column '{prefix}{col}' in 'WHERE'", 1054)
                raise server_error()
            qc = f'"{col}"'
            if expr in ("isNull", "isNotNull"):
                parts.append(f"{qc} IS {'NOT ' if expr == 'isNotNull' else ''}NULL")
            elif expr in ("isEmpty", "isNotEmpty"):
                parts.append(f"({qc} IS NULL OR {qc} = '')" if expr == "isEmpty" else f"({qc} IS NOT NULL AND {qc} != '')")
            elif expr in ("in", "notIn"):
                if isinstance(val, dict | list):
                    raise server_error()
                vals = mariadb.in_values(str(val if val is not None else ""))
                if len(vals) == 1:  # one value: eq/neq (a null one, from an empty value, matches nothing)
                    parts.append(f"{qc} {'=' if expr == 'in' else '!='} ?")
                else:
                    parts.append(f"{qc} {'IN' if expr == 'in' else 'NOT IN'} ({','.join('?' * len(vals))})")
                params += vals
            elif expr in ("between", "notBetween"):
                vals = phpquery.as_list(val)
                if len(vals) != 2:
                    continue
                parts.append(f"{qc} {'NOT ' if expr == 'notBetween' else ''}BETWEEN ? AND ?")
                params += [self._dt_value(col, mariadb.special_chars(str(v))) for v in vals]
            else:
                if isinstance(val, dict | list) or val is None:
                    continue
                op = {"eq": "=", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "like": "LIKE",
                      "notLike": "NOT LIKE"}[expr]
                parts.append(f"{qc} {op} ?")
                params.append(self._dt_value(col, mariadb.special_chars(str(val))))
        return " AND ".join(parts), params

    def _dt_value(self, col: str, value: str) -> str:
        """MariaDB compares a DATETIME column with a string by reading the string as a datetime: ``2026-01-02``
        is midnight, a ``T`` separator is accepted and an offset is ignored. SQLite compares text, so date-like
        values for date columns are brought to ``Y-m-d H:i:s`` first."""
        typed = self._field_types()
        is_dt = typed.get(col) == "datetime" or (col not in typed and (col.startswith("date_") or col in (
            "last_active", "last_opened", "trigger_date", "pause_from_date", "pause_to_date")))
        m = _DATE_VALUE.match(value) if is_dt else None
        if not m:
            return value
        date, time_ = m.group(1), m.group(2) or "00:00:00"
        return f"{date} {time_ if len(time_) == 8 else time_ + ':00'}"

    def _field_types(self) -> dict[str, str]:
        return {f["alias"]: f["type"] for f in self.store.fields("lead") + self.store.fields("company")}

    def _contact_search(self, search: str, catchall: list[str]) -> tuple[str, list[Any]]:
        tokens = re.findall(r'!?"[^"]*"|\S+', search)
        sql, params, pending_or = "", [], False
        for tok in tokens:
            if tok == "OR":
                pending_or = True
                continue
            if tok == "AND":
                continue
            s, p = self._search_term(tok, catchall)
            if not sql:
                sql, params = s, p
            else:
                sql = f"({sql}) {'OR' if pending_or else 'AND'} ({s})"
                params += p
            pending_or = False
        return sql, params

    def _search_term(self, tok: str, catchall: list[str]) -> tuple[str, list[Any]]:
        neg = tok.startswith("!")
        tok = tok.lstrip("!")
        lead = catchall is CONTACT_CATCHALL
        cols = set(self.store.columns("leads" if lead else "companies"))
        sql, params = "", []
        if tok.startswith('"') and tok.endswith('"') and len(tok) >= 2:
            phrase = tok[1:-1]
            sql = " OR ".join(f'"{c}" LIKE ?' for c in catchall)
            params = [f"%{phrase}%"] * len(catchall)
        elif ":" in tok:
            cmd, _, v = tok.partition(":")
            cmd = cmd.lower()
            if cmd == "ids":
                ids = [x for x in v.split(",") if x.strip().isdigit()] or ["0"]
                sql, params = f"id IN ({','.join('?' * len(ids))})", ids
            elif cmd == "is" and v == "anonymous" and lead:
                sql = "date_identified IS NULL"
            elif cmd == "is" and v == "mine":
                sql, params = "owner_id = ?", [self.current_user()["id"] or 0]
            elif cmd == "is" and v == "unowned":
                sql = "owner_id IS NULL"
            elif cmd == "is" and v in ("published", "unpublished"):
                sql = f"is_published = {1 if v == 'published' else 0}"
            elif cmd == "tag" and lead:
                sql = ("id IN (SELECT x.lead_id FROM lead_tags_xref x JOIN lead_tags t ON t.id = x.tag_id "
                       "WHERE json_extract(t.data, '$.tag') LIKE ?)")
                params = [f"{v}%"]
            elif cmd == "segment" and lead:
                sql = ("id IN (SELECT m.lead_id FROM lead_lists_leads m JOIN lead_lists s ON s.id = m.leadlist_id "
                       "WHERE json_extract(s.data, '$.alias') LIKE ? AND m.manually_removed = 0)")
                params = [f"{v}%"]
            elif cmd == "stage" and lead:
                sql = "stage_id IN (SELECT id FROM stages WHERE json_extract(data, '$.name') LIKE ?)"
                params = [f"{v}%"]
            elif cmd == "owner":
                sql = ("owner_id IN (SELECT id FROM users WHERE json_extract(data, '$.username') LIKE ? OR "
                       "json_extract(data, '$.firstName') LIKE ? OR json_extract(data, '$.lastName') LIKE ?)")
                params = [f"{v}%"] * 3
            elif cmd == "name" and lead:
                sql, params = "(firstname LIKE ? OR lastname LIKE ?)", [f"{v}%"] * 2
            elif cmd == "company" and lead:
                sql, params = "company LIKE ?", [f"{v}%"]
            elif cmd == "company_id" and lead:
                sql, params = "id IN (SELECT lead_id FROM companies_leads WHERE company_id = ?)", [v]
            elif cmd in cols and cmd != "id":
                sql, params = f'"{cmd}" LIKE ?', [f"{v}%"]
        if not sql:
            sql = " OR ".join(f'"{c}" LIKE ?' for c in catchall)
            params = [f"%{tok}%"] * len(catchall)
        return (f"NOT ({sql})" if neg else f"({sql})"), params

    def _dbal_list(self, req: Request, table: str, catchall: list[str], convert: dict[str, str],
                   default_order: str) -> tuple[int, list[dict[str, Any]]]:
        q = req.query
        columns = set(self.store.columns(table))
        wheres, params = [], []
        where = q.get("where")
        if where:
            s, p = self._where_sql(where, columns, convert, False)
            if s:
                wheres.append(s)
                params += p
        # 5.1-6.x: `where` replaces the forced published filter; a later 7.x applies both (versions sheet §4)
        if (not where or self.version.where_keeps_forced_filters) and \
                str(q.get("published", "")).lower() in ("1", "true"):
            wheres.append("is_published = 1")
        search = str(q.get("search") or "").strip()
        if search:
            s, p = self._contact_search(search, catchall)
            wheres.append(s)
            params += p
        direction = str(q.get("orderByDir") or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise server_error()
        order = q.get("order")
        if order:
            terms = []
            for o in phpquery.as_list(order):
                col = o.get("col") if isinstance(o, dict) else o
                d = str(o.get("dir", "ASC")).upper() if isinstance(o, dict) else "ASC"
                if col not in columns or d not in ("ASC", "DESC"):
                    raise server_error()
                terms.append(f'"{col}" {d}')
            order_sql = ", ".join(terms)
        elif q.get("orderBy"):
            cols = [re.sub(r"[^A-Za-z0-9_.]", "", c).split(".")[-1] for c in str(q["orderBy"]).split(",")]
            if any(c not in columns for c in cols):
                raise server_error()
            order_sql = ", ".join(f'"{c}" {direction}' for c in cols)
        else:
            order_sql = default_order
        start, limit = _paging(q, 30)
        where_sql = (" WHERE " + " AND ".join(wheres)) if wheres else ""
        with self.store.lock:
            total = self.store.scalar(f"SELECT COUNT(*) FROM {table}{where_sql}", params)
            lim = f" LIMIT {limit} OFFSET {start}" if limit else (f" LIMIT -1 OFFSET {start}" if start else "")
            rows = self.store.query(f"SELECT * FROM {table}{where_sql} ORDER BY {order_sql}{lim}", params) if total else []
        return total, rows

    def contacts_list(self, req: Request) -> Response:
        total, rows = self._dbal_list(req, "leads", CONTACT_CATCHALL, CONTACT_COLUMN_ALIASES,
                                      "last_active DESC, id ASC")
        minimal = str(req.query.get("minimal", "")).lower() in ("1", "true")
        items = self.contacts.serialize_many(rows, "list", minimal, raw=True)
        return Response(200, {"total": str(total), "contacts": {str(c["id"]): c for c in items}})

    def contact_get(self, req: Request, cid: str) -> Response:
        row = self.contacts.get_row("leads", cid)
        if row is None:
            raise not_found()
        return Response(200, {"contact": self.contacts.serialize(row, "repo")})

    def contact_new(self, req: Request) -> Response:
        row, status = self.contacts.save_contact(self.body(req), "new", None)
        style = "new" if status == 201 else "repo"
        headers = {"Location": f"/api/contacts/{row['id']}"} if status == 201 else {}
        return Response(status, {"contact": self.contacts.serialize(row, style)}, headers)

    def contact_edit(self, req: Request, cid: str) -> Response:
        row = self.contacts.get_row("leads", cid)
        payload = self.body(req)
        if row is None:
            if req.method == "PATCH":
                raise not_found()
            new, _ = self.contacts.save_contact(payload, "put", None)
            return Response(201, {"contact": self.contacts.serialize(new, "new")},
                            {"Location": f"/api/contacts/{new['id']}"})
        saved, _ = self.contacts.save_contact(payload, "put" if req.method == "PUT" else "patch", row)
        return Response(200, {"contact": self.contacts.serialize(saved, "edit")})

    def contact_delete(self, req: Request, cid: str) -> Response:
        row = self.contacts.get_row("leads", cid)
        if row is None:
            raise not_found()
        return Response(200, {"contact": self.contacts.delete_contact(row)})

    def contacts_batch_new(self, req: Request) -> Response:
        items = self._batch_items(req)

        def one(item: Any) -> tuple[Any, int]:
            row, status = self.contacts.save_contact(item, "new", None, source="api-batch")
            return self.contacts.serialize(row, "new" if status == 201 else "repo"), status
        return Response(201, self._run_batch(items, one, "contacts"))

    def contacts_batch_edit(self, req: Request) -> Response:
        items = self._batch_items(req)
        put = req.method == "PUT"

        def one(item: Any) -> tuple[Any, int]:
            if not isinstance(item, dict) or not item.get("id"):
                raise ApiError(400, "ID is missing from the payload.")
            row = self.contacts.get_row("leads", item["id"])
            if row is None:
                if not put:
                    raise not_found()
                new, _ = self.contacts.save_contact(item, "put", None)
                return self.contacts.serialize(new, "new"), 201
            try:
                saved, _ = self.contacts.save_contact(item, "put" if put else "patch", row)
            except ApiError as err:
                if err.status == 400:
                    raise _BatchPartial(self.contacts.serialize(row, "repo"), err.details or {}) from None
                raise
            return self.contacts.serialize(saved, "edit"), 200
        return Response(200, self._run_batch(items, one, "contacts"))

    def batch_delete(self, req: Request, kind: str) -> Response:
        out = []
        for i in self._ids(req):
            table = "leads" if kind == "contacts" else "companies"
            row = self.contacts.get_row(table, i)
            if row is None:
                continue
            if kind == "contacts":
                body = self.contacts.delete_contact(row)
            else:
                body = self.contacts.delete_company(row)
            body["id"] = i
            out.append(body)
        return Response(200, {kind: out})

    # -- companies --------------------------------------------------------------------------------
    def companies_list(self, req: Request) -> Response:
        total, rows = self._dbal_list(req, "companies", COMPANY_CATCHALL, CONTACT_COLUMN_ALIASES, "id ASC")
        items = [self.contacts.serialize_company(r) for r in rows]
        return Response(200, {"total": str(total), "companies": {str(c["id"]): c for c in items}})

    def company_get(self, req: Request, cid: str) -> Response:
        row = self.contacts.get_row("companies", cid)
        if row is None:
            raise not_found()
        return Response(200, {"company": self.contacts.serialize_company(row)})

    def company_new(self, req: Request) -> Response:
        row, status = self.contacts.save_company(self.body(req), "new", None, dedupe=True)
        headers = {"Location": f"/api/companies/{row['id']}"} if status == 201 else {}
        return Response(status, {"company": self.contacts.serialize_company(row, "new" if status == 201 else "repo")},
                        headers)

    def company_edit(self, req: Request, cid: str) -> Response:
        row = self.contacts.get_row("companies", cid)
        payload = self.body(req)
        if row is None:
            if req.method == "PATCH":
                raise not_found()
            new, _ = self.contacts.save_company(payload, "new", None, dedupe=False)
            return Response(201, {"company": self.contacts.serialize_company(new, "new")},
                            {"Location": f"/api/companies/{new['id']}"})
        saved, _ = self.contacts.save_company(payload, "put" if req.method == "PUT" else "patch", row, dedupe=False)
        return Response(200, {"company": self.contacts.serialize_company(saved)})

    def company_delete(self, req: Request, cid: str) -> Response:
        row = self.contacts.get_row("companies", cid)
        if row is None:
            raise not_found()
        return Response(200, {"company": self.contacts.delete_company(row)})

    def companies_batch_new(self, req: Request) -> Response:
        items = self._batch_items(req)

        def one(item: Any) -> tuple[Any, int]:
            row, status = self.contacts.save_company(item, "new", None, dedupe=False)
            return self.contacts.serialize_company(row, "new"), status
        return Response(201, self._run_batch(items, one, "companies"))

    def companies_batch_edit(self, req: Request) -> Response:
        items = self._batch_items(req)
        put = req.method == "PUT"

        def one(item: Any) -> tuple[Any, int]:
            if not isinstance(item, dict) or not item.get("id"):
                raise ApiError(400, "ID is missing from the payload.")
            row = self.contacts.get_row("companies", item["id"])
            if row is None:
                if not put:
                    raise not_found()
                new, _ = self.contacts.save_company(item, "new", None, dedupe=False)
                return self.contacts.serialize_company(new, "new"), 201
            try:
                saved, _ = self.contacts.save_company(item, "put" if put else "patch", row, dedupe=False)
            except ApiError as err:
                if err.status == 400:
                    raise _BatchPartial(self.contacts.serialize_company(row), err.details or {}) from None
                raise
            return self.contacts.serialize_company(saved), 200
        return Response(200, self._run_batch(items, one, "companies"))

    # -- stats ------------------------------------------------------------------------------------
    def stats(self, req: Request, table: str | None) -> Response:
        available = RECORDED["stats_tables"]
        if table is None or table not in available:
            return Response(200, {"availableTables": available, "tableColumns": RECORDED["stats_columns"]})
        try:
            return Response(200, self.stats_rows(table, req.query))
        except StatsError as e:
            return Response(200, {"errors": [{"message": e.message, "code": e.code}]})

    def stats_rows(self, table: str, q: dict[str, Any], forced: list[tuple[str, Any]] | None = None,
                   list_key: str = "stats") -> dict[str, Any]:
        columns = self.store.columns(table)
        shown = [c for c in columns if c != "data"]
        colset = set(shown)
        wheres, params = [], []
        for col, val in forced or []:
            wheres.append(f'"{col}" = ?')
            params.append(val)
        if q.get("where"):
            s, p = self._where_sql(q["where"], colset, {}, False, prefix="e.", stats=True)
            if s:
                wheres.append(s)
                params += p
        order_terms = []
        for o in phpquery.as_list(q.get("order")):
            if not isinstance(o, dict):
                continue
            col = re.sub(r"[^A-Za-z0-9_]", "", str(o.get("col", "")))
            d = str(o.get("dir", "ASC"))
            if col not in colset:
                raise StatsError("An exception occurred while executing a query: SQLSTATE[42S22]: Column not found: "
                                 f"1054 Unknown column 'e.{col}' in 'order clause'", 1054)
            if d.upper() not in ("ASC", "DESC"):
                raise StatsError("An exception occurred while executing a query: SQLSTATE[42000]: Syntax error or "
                                 "access violation: 1064 You have an error in your SQL syntax; check the manual that "
                                 "corresponds to your MariaDB server version for the right syntax to use near "
                                 f"'{d.upper()} LIMIT {q.get('limit', 100)}' at line 1", 1064)
            order_terms.append(f'"{col}" {d.upper()}')
        try:
            start = int(q.get("start") or 0)
            limit = int(q.get("limit") or 100)
        except (TypeError, ValueError):
            start, limit = 0, 100
        where_sql = (" WHERE " + " AND ".join(wheres)) if wheres else ""
        order_sql = (" ORDER BY " + ", ".join(order_terms)) if order_terms else ""
        cols_sql = ", ".join(f'"{c}"' for c in shown)
        with self.store.lock:
            total = self.store.scalar(f'SELECT COUNT(*) FROM "{table}"{where_sql}', params)
            rows = self.store.query(f'SELECT {cols_sql} FROM "{table}"{where_sql}{order_sql} LIMIT {limit} '
                                    f"OFFSET {start}", params)
        out = [{k: _stat_str(v) for k, v in r.items() if v is not None} for r in rows]
        return {"total": str(total), list_key: out}

    # -- OAuth2 -----------------------------------------------------------------------------------
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


class _BatchPartial(Exception):
    def __init__(self, entity: Any, details: dict[str, list[str]]):
        super().__init__("partial")
        self.entity, self.details = entity, details


def _stat_str(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)

