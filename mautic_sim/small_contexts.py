"""The smaller contexts: users/self, roles, reports data, form submissions, focus, sending, files, themes, data widgets."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from mautic_sim import phpquery
from mautic_sim.generic import start_limit
from mautic_sim.messages import Request, Response
from mautic_sim.util import RECORDED, ApiError, iso, not_found, server_error

FILE_DIRS = ("images", "media")


def _theme_zip(name: str) -> bytes:
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}/config.json", json.dumps({"name": name, "author": "mautic-sim"}))
        z.writestr(f"{name}/html/base.html.twig", "<html><body>{% block content %}{% endblock %}</body></html>")
    return buf.getvalue()


class SmallContexts:
    """Endpoints of the smaller contexts, as a mixin of ``Extras``."""

    if TYPE_CHECKING:  # a mixin: the rest of its attributes are those of ``extras.Extras``, typed there
        def __getattr__(self, name: str) -> Any: ...

    def users_self(self, req: Request) -> Response:
        user = self.app.current_user()
        if user.get("client"):
            body = copy.deepcopy(RECORDED["bodies"]["users_self_client"])
            body["username"] = user["name"]
            body["firstName"], body["lastName"] = self.app.client_id, "[1]"
            return Response(200, body)
        u = self.app.generic.get_raw("users", user["id"]) or RECORDED["admin_user"]
        out = self.app.user_self(u)
        if not out.get("email"):
            out["email"] = "admin@example.com"
        if user.get("oauth"):
            out["lastLogin"] = iso(self._now())
            out["lastActive"] = iso(self._now())
        return Response(200, out)

    def list_roles(self, req: Request) -> Response:
        return Response(200, [{"id": r["id"], "name": r.get("name")} for r in self.app.generic.backends["roles"].all()])

    def permissioncheck(self, req: Request, uid: str) -> Response:
        user = self._entity("users", uid)
        body = self.app.body(req)
        perms = phpquery.as_list(body.get("permissions") if isinstance(body, dict) else None)
        admin = bool((user.get("role") or {}).get("isAdmin"))
        raw = (user.get("role") or {}).get("rawPermissions") or {}
        out = {}
        for p in perms:
            bundle = ":".join(str(p).split(":")[:2])
            level = str(p).split(":")[-1]
            out[str(p)] = admin or level in (raw.get(bundle) or [])
        return Response(200, out)

    def report_data(self, req: Request, rid: str) -> Response:
        report = self._entity("reports", rid)
        tpl = copy.deepcopy(RECORDED["bodies"]["report_data"])
        q = req.query
        rows = self.store.query("SELECT id, email, city FROM leads ORDER BY id")
        data = [{"id": str(r["id"]), "email": r["email"] or "", "city": r["city"] or ""} for r in rows]
        total = len(data)
        if q.get("limit") or q.get("page"):
            try:
                limit = int(q.get("limit") or 10)
                page = int(q.get("page") or 1)
            except ValueError:
                raise server_error() from None
            data = data[(page - 1) * limit: page * limit]
            tpl["limit"], tpl["page"] = limit, page
        tpl["totalResults"], tpl["data"] = total, data
        keys = ["isPublished", "dateAdded", "createdBy", "createdByUser", "id", "name", "system", "isScheduled",
                "source", "columns", "filters", "tableOrder", "graphs", "groupBy", "settings", "aggregators"]
        tpl["report"] = {k: report.get(k) for k in keys}
        tpl["report"]["settings"] = []
        if q.get("dateFrom"):
            tpl["dateFrom"] = iso(f"{q['dateFrom']} 00:00:00")
        if q.get("dateTo"):
            tpl["dateTo"] = iso(f"{q['dateTo']} 23:59:59")
        return Response(200, tpl)

    def _submissions(self, form_id: int, lead_id: int | None, q: dict[str, Any]) -> dict[str, Any]:
        where, params = "WHERE form_id = ?", [form_id]
        if lead_id is not None:
            where += " AND lead_id = ?"
            params.append(lead_id)
        start, limit = start_limit(q, 30)
        total = self.store.scalar(f"SELECT COUNT(*) FROM form_submissions {where}", params)
        lim = f" LIMIT {limit} OFFSET {start}" if limit else ""
        rows = self.store.query(f"SELECT * FROM form_submissions {where} ORDER BY date_submitted ASC{lim}", params)
        subs = {str(r["id"]): self._submission_json(r) for r in rows}
        return {"total": str(total), "submissions": subs or {}}

    def _submission_json(self, r: dict[str, Any]) -> dict[str, Any]:
        lead = self.app.contacts.get_row("leads", r["lead_id"]) if r["lead_id"] else None
        return {"id": r["id"], "ipAddress": {"ip": "127.0.0.1"}, "form": {"id": r["form_id"]},
                "lead": {"id": lead["id"]} if lead else None, "trackingId": r["tracking_id"],
                "dateSubmitted": iso(r["date_submitted"]), "referer": r["referer"], "page": None, "results": {}}

    def form_submissions(self, req: Request, fid: str) -> Response:
        self._entity("forms", fid)
        return Response(200, self._submissions(int(fid), None, req.query))

    def form_submissions_contact(self, req: Request, fid: str, cid: str) -> Response:
        self._entity("forms", fid)
        return Response(200, self._submissions(int(fid), int(cid), req.query))

    def form_submission(self, req: Request, fid: str, sid: str) -> Response:
        self._entity("forms", fid)
        r = self.store.one("SELECT * FROM form_submissions WHERE id = ? AND form_id = ?", (int(sid), int(fid)))
        if r is None:
            raise not_found()
        return Response(200, {"submission": self._submission_json(r)})

    def form_parts_delete(self, req: Request, fid: str, part: str) -> Response:
        form = self._entity("forms", fid)
        ids = {str(i) for i in self.app.request_ids(req)}
        key = "fields" if part == "fields" else "actions"
        items = form.get(key) or []
        form[key] = [x for x in items if not (isinstance(x, dict) and str(x.get("id")) in ids)]
        self.app.generic.backends["forms"].update(form["id"], form)
        return Response(200, {"form": form})

    def focus_js(self, req: Request, fid: str) -> Response:
        self._entity("focus", fid)
        js = f"(function(window){{window.MauticFocus{int(fid)}=function(){{}};}})(window);"
        return Response(200, {"js": js})

    def email_send(self, req: Request, eid: str, cid: str | None = None) -> Response:
        self._entity("emails", eid)
        if cid is not None:
            self._lead(cid, not_found)
        # Like an instance without SMTP: nothing is sent (see docs/simulator.md).
        return Response(200, {"success": False, "failed": "Connection could not be established with host \"localhost:25\": "
                                                       "stream_socket_client(): Unable to connect to localhost:25 (Connection refused)"})

    def sms_send(self, req: Request, sid: str, cid: str) -> Response:
        self._entity("smses", sid)
        self._lead(cid, not_found)
        return Response(200, json.dumps({"error": {"message": "SMS transport is disabled.", "code": 417}}),
                     version_header=False)

    def _dir(self, d: str, q: dict[str, Any]) -> None:
        if d not in FILE_DIRS:
            raise ApiError(406, f"{d} not found. Only media or images options are possible.")
        if q.get("subdir"):
            raise ApiError(406, f"{q['subdir']} doesn't exist in the {d} dir.")

    def files_list(self, req: Request, d: str) -> Response:
        self._dir(d, req.query)
        names = sorted(n for (dd, n) in self.files if dd == d)
        return Response(200, {"files": names})

    def files_new(self, req: Request, d: str) -> Response:
        self._dir(d, req.query)
        ctype = req.headers.get("content-type", "")
        m = re.search(r'filename="([^"]+)"', req.body.decode("latin-1")) if "multipart" in ctype else None
        if not m:
            return Response(200, {"file": []})
        ext = m.group(1).rsplit(".", 1)[-1] if "." in m.group(1) else "bin"
        name = hashlib.md5(req.body).hexdigest() + f".{ext}"
        self.files[(d, name)] = len(req.body)
        return Response(200, {"file": {"link": f"{self.app.base_url}/media/{d}/{name}", "name": name}})

    def files_delete(self, req: Request, d: str, name: str) -> Response:
        self._dir(d, {})
        if (d, name) not in self.files:
            raise ApiError(404, "File does not exist")
        del self.files[(d, name)]
        return Response(200, {"success": True})

    def theme_get(self, req: Request, name: str) -> Response:
        if name not in RECORDED["bodies"]["themes"]["themes"]:
            raise ApiError(500, f'The "/var/www/mautic/themes/{name}" directory does not exist.')
        return Response(200, _theme_zip(name), {"Content-Disposition": f"attachment; filename=tmp_{name}.zip"},
                        version_header=False, content_type="application/zip")

    def theme_delete(self, req: Request, name: str) -> Response:
        raise ApiError(500, f"{name} not found!")

    def data_widget(self, req: Request, name: str) -> Response:
        key = f"data_{name}"
        if req.query and name == "created.leads.in.time" and "data_created.leads.in.time_raw" in RECORDED["bodies"]:
            key = "data_created.leads.in.time_raw"
        body = RECORDED["bodies"].get(key)
        if body is None:
            raise not_found()
        return Response(200, body)
