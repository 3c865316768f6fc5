"""Request handling: routing and the contacts/companies endpoints; auth, batch, search and stats are mixins.

``Mautic.handle`` is a pure function of the request and the store, so the HTTP layer (server.py) only deals
with sockets, faults and logging.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mautic_sim import extras, phpquery
from mautic_sim.batch import BatchPartial, BatchRoutes
from mautic_sim.contacts import CONTACT_COLUMN_ALIASES, Contacts, PreparedContact
from mautic_sim.generic import CONTEXTS, Generic
from mautic_sim.identify import PublicPaths
from mautic_sim.messages import Request, Response
from mautic_sim.oauth1 import OAuth1
from mautic_sim.oauth_authorize import OAuthAuthorize
from mautic_sim.routes_auth import AuthRoutes
from mautic_sim.search import COMPANY_CATCHALL, CONTACT_CATCHALL, SearchQueries
from mautic_sim.stats import StatsRoutes
from mautic_sim.store import Store
from mautic_sim.util import GENERIC_400, ApiError, db_ts, not_found, php_serialize, server_error, utcnow
from mautic_sim.versions import MauticVersion, get_version

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any) -> bool:
    """True when a decoded JSON value holds an unpaired UTF-16 surrogate (real 5.1.0, batch/new with
    "bad\\ud800x": HTTP 400, nothing saved; 2026-12-06)."""
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate(v) for v in value)
    return False


class Mautic(AuthRoutes, BatchRoutes, SearchQueries, StatsRoutes):
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
        self.request_local = threading.local()
        self.oauth1 = OAuth1(client_id, client_secret) if oauth1a else None
        self.contacts = Contacts(self)
        self.generic = Generic(self)
        self.public_paths = PublicPaths(self)  # tracking pixel, form submission, UI merge, deduplicate
        self.authorize = OAuthAuthorize(self)  # /oauth/v2/authorize and the authorization_code grant
        self.base_url = ""
        self._routes: list[tuple[re.Pattern[str], tuple[str, ...], Callable[..., Response]]] | None = None

    # -- context helpers ------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def current_user(self) -> dict[str, Any]:
        return getattr(self.request_local, "user", None) or {"id": 1, "name": "Admin User", "client": False}

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
            self.request_local.user = None
            self.request_local.submitted = None

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
            public = self.public_paths.handle(req, path)
            if public is not None:
                return public
            raise ApiError(404, f"Requested URL not found: {path}", controller=False)
        self._authenticate(req)
        return self.route(req, path[len("/api"):] or "/")


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
                parsed = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ApiError(400, GENERIC_400, controller=False) from None
            # PHP's json_decode refuses "\ud800" alone: the whole request is a 400. Valid UTF-8 holds no surrogate,
            # so only a \uD8xx-\uDFxx escape makes one (no walk of a batch's values without one)
            if _SURROGATE_ESCAPE.search(raw) and _lone_surrogate(parsed):
                raise ApiError(400, GENERIC_400, controller=False)
            return parsed
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

    # -- contacts -------------------------------------------------------------------------------


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
        items = self.batch_items(req)

        def one(item: Any) -> tuple[Any, int]:
            row, status = self.contacts.save_contact(item, "new", None, source="api-batch")
            return self.contacts.serialize(row, "new" if status == 201 else "repo", raw=True), status

        def present(saved: list[tuple[PreparedContact, dict[str, Any]]]) -> list[tuple[Any, int]]:
            return self._present_saved(saved, lambda p: "new" if p.status == 201 else "repo")

        dups: list[dict[str, dict[str, Any]] | None] = []

        def prepare(item: Any) -> PreparedContact | None:
            if not dups:  # once, with the field definitions the batch is prepared with
                dups.append(self.contacts.duplicates_by_email([it for _, it in items]))
            return self.contacts.prepare_contact(item, "new", None, "api-batch", dups[0])

        return Response(201, self._run_prepared_batch(items, prepare, present, one, "contacts"))

    def _present_saved(self, saved: list[tuple[PreparedContact, dict[str, Any]]],
                       style: Callable[[PreparedContact], str]) -> list[tuple[Any, int]]:
        """Batch answers of saved contacts, as ``serialize(row, style, raw=True)`` of each: the items of one
        style and one set of submitted keys in a row go through one ``serialize_many``."""
        out: list[tuple[Any, int]] = []
        for (kind, _), run in itertools.groupby(saved, key=lambda s: (style(s[0]), frozenset(s[0].submitted))):
            group = list(run)
            self.request_local.submitted = group[0][0].submitted
            bodies = self.contacts.serialize_many([row for _, row in group], kind, raw=True)
            out.extend((body, p.status) for (p, _), body in zip(group, bodies, strict=True))
        return out

    def contacts_batch_edit(self, req: Request) -> Response:
        items = self.batch_items(req)
        put = req.method == "PUT"

        def one(item: Any) -> tuple[Any, int]:
            if not isinstance(item, dict) or not item.get("id"):
                raise ApiError(400, "ID is missing from the payload.")
            row = self.contacts.get_row("leads", item["id"])
            if row is None:
                if not put:
                    raise not_found()
                new, _ = self.contacts.save_contact(item, "put", None)
                return self.contacts.serialize(new, "new", raw=True), 201
            try:
                saved, _ = self.contacts.save_contact(item, "put" if put else "patch", row)
            except ApiError as err:
                if err.status in (400, 422):
                    raise BatchPartial(self.contacts.serialize(row, "repo", raw=True), err.details or {},
                                        err.status) from None
                raise
            return self.contacts.serialize(saved, "edit", raw=True), 200

        def prepare(item: Any) -> PreparedContact | None:
            if not isinstance(item, dict) or not item.get("id"):
                return None
            row = self.contacts.get_row("leads", item["id"])
            return None if row is None else self.contacts.prepare_contact(item, "put" if put else "patch", row,
                                                                           "api-single")

        def present(saved: list[tuple[PreparedContact, dict[str, Any]]]) -> list[tuple[Any, int]]:
            return [(body, 200) for body, _ in self._present_saved(saved, lambda p: "edit")]

        return Response(200, self._run_prepared_batch(items, prepare, present, one, "contacts"))

    def batch_delete(self, req: Request, kind: str) -> Response:
        out = []
        for i in self.request_ids(req):
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
        items = self.batch_items(req)

        def one(item: Any) -> tuple[Any, int]:
            row, status = self.contacts.save_company(item, "new", None, dedupe=False)
            return self.contacts.serialize_company(row, "new"), status
        return Response(201, self._run_batch(items, one, "companies"))

    def companies_batch_edit(self, req: Request) -> Response:
        items = self.batch_items(req)
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
                if err.status in (400, 422):
                    raise BatchPartial(self.contacts.serialize_company(row), err.details or {}, err.status) from None
                raise
            return self.contacts.serialize_company(saved), 200
        return Response(200, self._run_batch(items, one, "companies"))
