# ruff: noqa: E501
"""Mautic's special endpoints: memberships, contact actions and sub-resources, and the smaller contexts
(files, themes, data widgets, reports data, users/self, campaign events per contact, sending).

Every membership or action writes the rows Mautic writes (lead_lists_leads, campaign_leads, companies_leads,
lead_donotcontact, lead_points_change_log, lead_stages_change_log, lead_event_log, lead_utmtags).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mautic_sim import phpquery
from mautic_sim.field_values import drop_nulls, parse_dt
from mautic_sim.generic import CONTEXTS, _paging
from mautic_sim.messages import Request, Response
from mautic_sim.util import RECORDED, ApiError, db_ts, iso, not_found, server_error

if TYPE_CHECKING:
    from mautic_sim.app import Mautic

OPS = {"plus": "add (+)", "minus": "subtract (-)", "times": "multiply (x)", "divide": "divide (/)", "set": "set (=)"}
FILE_DIRS = ("images", "media")


def _resp(status: int, body: Any, **kw: Any) -> Response:
    return Response(status, body, **kw)


def _contact_missing() -> ApiError:
    return ApiError(404, "Contact not found.")


class Extras:
    """Routes that are not plain CRUD."""

    def __init__(self, app: Mautic):
        self.app = app
        self.store = app.store
        self.files: dict[tuple[str, str], int] = {}

    def routes(self) -> list[tuple[str, tuple[str, ...], Callable[..., Response]]]:
        G, P, D, E = ("GET",), ("POST",), ("DELETE",), ("PUT", "PATCH")
        return [
            (r"/segments/(\d+)/contact/(\d+)/(add|remove)", P, self.segment_member),
            (r"/segments/(\d+)/contacts/(add|remove)", P, self.segment_members_batch),
            (r"/campaigns/(\d+)/contact/(\d+)/(add|remove)", P, self.campaign_member),
            (r"/campaigns/(\d+)/contacts", G, self.campaign_contacts),
            (r"/campaigns/clone/(\d+)", P, self.campaign_clone),
            (r"/campaigns/events/contact/(\d+)", G, self.contact_events),
            (r"/campaigns/(\d+)/events/contact/(\d+)", G, self.campaign_contact_events),
            (r"/campaigns/events/(\d+)/contact/(\d+)/edit", E, self.contact_event_edit),
            (r"/campaigns/events/batch/edit", E, self.contact_events_batch),
            (r"/companies/(\d+)/contact/(\d+)/(add|remove)", P, self.company_member),
            (r"/stages/(\d+)/contact/(\d+)/(add|remove)", P, self.stage_member),
            (r"/contacts/(\d+)/dnc/([A-Za-z0-9_]+)/(add|remove)", P, self.dnc),
            (r"/contacts/(\d+)/points/(plus|minus|times|divide|set)/(-?\d+(?:\.\d+)?)", P, self.points),
            (r"/contacts/(\d+)/points/groups", G, self.point_groups),
            (r"/contacts/(\d+)/utm/add", P, self.utm_add),
            (r"/contacts/(\d+)/utm/(\d+)/remove", P, self.utm_remove),
            (r"/contacts/(\d+)/notes", G, self.contact_notes),
            (r"/contacts/(\d+)/segments", G, self.contact_segments),
            (r"/contacts/(\d+)/campaigns", G, self.contact_campaigns),
            (r"/contacts/(\d+)/companies", G, self.contact_companies),
            (r"/contacts/(\d+)/devices", G, self.contact_devices),
            (r"/contacts/(\d+)/activity", G, self.contact_activity),
            (r"/contacts/activity", G, lambda q: self.activity(q, None)),
            (r"/contacts/list/owners", G, self.list_owners),
            (r"/contacts/list/fields", G, self.list_fields),
            (r"/contacts/list/segments", G, self.list_segments),
            (r"/users/self", G, self.users_self),
            (r"/users/list/roles", G, self.list_roles),
            (r"/users/(\d+)/permissioncheck", P, self.permissioncheck),
            (r"/hooks/triggers", G, lambda q: _resp(200, RECORDED["bodies"]["hook_triggers"])),
            (r"/points/actions/types", G, lambda q: _resp(200, RECORDED["bodies"]["point_action_types"])),
            (r"/points/triggers/events/types", G, lambda q: _resp(200, RECORDED["bodies"]["trigger_event_types"])),
            (r"/reports/(\d+)", G, self.report_data),
            (r"/forms/(\d+)/submissions", G, self.form_submissions),
            (r"/forms/(\d+)/submissions/contact/(\d+)", G, self.form_submissions_contact),
            (r"/forms/(\d+)/submissions/(\d+)", G, self.form_submission),
            (r"/forms/(\d+)/(fields|actions)/delete", D, self.form_parts_delete),
            (r"/focus/(\d+)/js", P, self.focus_js),
            (r"/emails/(\d+)/send", P, self.email_send),
            (r"/emails/(\d+)/contact/(\d+)/send", P, self.email_send),
            (r"/smses/(\d+)/contact/(\d+)/send", ("GET", "POST"), self.sms_send),
            (r"/files/([^/]+)", G, self.files_list),
            (r"/files/([^/]+)/new", P, self.files_new),
            (r"/files/([^/]+)/([^/]+)/delete", D, self.files_delete),
            (r"/themes", G, lambda q: _resp(200, RECORDED["bodies"]["themes"])),
            (r"/themes/new", P, lambda q: (_ for _ in ()).throw(server_error())),
            (r"/themes/([^/]+)", G, self.theme_get),
            (r"/themes/([^/]+)/delete", D, self.theme_delete),
            (r"/data", G, lambda q: _resp(200, RECORDED["bodies"]["data_types"])),
            (r"/data/([^/]+)", G, self.data_widget),
        ]

    # -- helpers ------------------------------------------------------------------------------
    def _lead(self, cid: str, missing: Callable[[], ApiError] = _contact_missing) -> dict[str, Any]:
        row = self.app.contacts.get_row("leads", cid)
        if row is None:
            raise missing()
        return row

    def _entity(self, ctx: str, eid: str) -> dict[str, Any]:
        e = self.app.generic.get_raw(ctx, eid)
        if e is None:
            raise not_found()
        return e

    def _now(self) -> str:
        return db_ts(self.app.now())

    # -- segments -------------------------------------------------------------------------------
    def segment_add(self, seg_id: int, lead_id: int) -> None:
        now = self._now()
        existing = self.store.one("SELECT * FROM lead_lists_leads WHERE leadlist_id = ? AND lead_id = ?", (seg_id, lead_id))
        if existing and not existing["manually_removed"]:
            return
        self.store.execute("INSERT OR REPLACE INTO lead_lists_leads (leadlist_id, lead_id, date_added, manually_removed, "
                           "manually_added) VALUES (?, ?, ?, 0, 1)", (seg_id, lead_id, now))
        self.app.log_event(lead_id, "lead", "segment", "added", json.dumps({"object_description": self._seg_name(seg_id)}),
                           seg_id, with_user=True)

    def _seg_name(self, seg_id: int) -> str:
        return str((self.app.generic.get_raw("segments", seg_id) or {}).get("name") or seg_id)

    def segment_remove(self, seg_id: int, lead_id: int) -> None:
        cur = self.store.one("SELECT 1 AS x FROM lead_lists_leads WHERE leadlist_id = ? AND lead_id = ?", (seg_id, lead_id))
        self.store.execute("DELETE FROM lead_lists_leads WHERE leadlist_id = ? AND lead_id = ?", (seg_id, lead_id))
        if cur:
            self.app.log_event(lead_id, "lead", "segment", "removed",
                               json.dumps({"object_description": self._seg_name(seg_id)}), seg_id, with_user=True)

    def segment_member(self, req: Request, sid: str, cid: str, action: str) -> Response:
        self._entity("segments", sid)
        lead = self._lead(cid)
        with self.store.lock:
            (self.segment_add if action == "add" else self.segment_remove)(int(sid), lead["id"])
        return _resp(200, {"success": 1})

    def segment_members_batch(self, req: Request, sid: str, action: str) -> Response:
        self._entity("segments", sid)
        body = self.app.body(req)
        ids = phpquery.as_list(body.get("ids") if isinstance(body, dict) else None)
        details: dict[str, Any] = {}
        with self.store.lock:
            for raw in ids:
                lead = self.app.contacts.get_row("leads", raw)
                if lead is None:
                    details[str(raw)] = {"success": False}
                    continue
                (self.segment_add if action == "add" else self.segment_remove)(int(sid), lead["id"])
                details[str(raw)] = {"success": True}
        return _resp(200, {"success": 1, "details": details})

    # -- campaigns ----------------------------------------------------------------------------
    def campaign_member(self, req: Request, camp_id: str, cid: str, action: str) -> Response:
        camp = self._entity("campaigns", camp_id)
        lead = self._lead(cid)
        now = self._now()
        with self.store.lock:
            row = self.store.one("SELECT * FROM campaign_leads WHERE campaign_id = ? AND lead_id = ?", (camp["id"], lead["id"]))
            if action == "add":
                if row is None:
                    self.store.insert("campaign_leads", {"campaign_id": camp["id"], "lead_id": lead["id"], "date_added": now,
                                                         "manually_removed": 0, "manually_added": 1, "rotation": 1})
                elif row["manually_removed"]:
                    self.store.execute("UPDATE campaign_leads SET manually_removed = 0, manually_added = 1, "
                                       "rotation = rotation + 1, date_added = ? WHERE campaign_id = ? AND lead_id = ?",
                                       (now, camp["id"], lead["id"]))
                self.app.log_event(lead["id"], "campaign", "campaign", "added",
                                   json.dumps({"campaign_id": camp["id"], "campaign_name": camp.get("name"),
                                               "object_description": camp.get("name")}), camp["id"], with_user=True)
            elif row is not None:
                self.store.execute("UPDATE campaign_leads SET manually_removed = 1, manually_added = 0, date_last_exited = ? "
                                   "WHERE campaign_id = ? AND lead_id = ?", (now, camp["id"], lead["id"]))
                self.app.log_event(lead["id"], "campaign", "campaign", "removed",
                                   json.dumps({"campaign_id": camp["id"], "campaign_name": camp.get("name"),
                                               "object_description": camp.get("name")}), camp["id"], with_user=True)
        return _resp(200, {"success": 1})

    def campaign_contacts(self, req: Request, camp_id: str) -> Response:
        self._entity("campaigns", camp_id)
        body = self.app.stats_rows("campaign_leads", req.query, forced=[("campaign_id", int(camp_id)), ("manually_removed", 0)],
                                   list_key="contacts")
        return _resp(200, body)

    def campaign_clone(self, req: Request, camp_id: str) -> Response:
        camp = copy.deepcopy(self._entity("campaigns", camp_id))
        user = self.app.current_user()
        now = iso(self._now())
        camp.update({"id": None, "dateAdded": now, "dateModified": now, "createdBy": user["id"], "createdByUser": user["name"],
                     "modifiedBy": user["id"], "modifiedByUser": user["name"], "isPublished": False, "events": [],
                     "lists": [], "forms": []})
        backend = self.app.generic.backends["campaigns"]
        new_id = backend.insert(camp)
        return _resp(200, {"campaign": backend.get(new_id)}, headers={"Location": f"/api/campaigns/{new_id}"})

    def _events_of(self, camp_id: int | None) -> list[dict[str, Any]]:
        evs = self.app.generic.backends["campaignevents"].all()
        return [e for e in evs if camp_id is None or (e.get("campaign") or {}).get("id") == camp_id]

    def contact_events(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        rows = self.store.query("SELECT DISTINCT event_id FROM campaign_lead_event_log WHERE lead_id = ?", (lead["id"],))
        ids = {r["event_id"] for r in rows}
        evs = [e for e in self._events_of(None) if e["id"] in ids]
        return _resp(200, {"total": len(evs), "events": evs})

    def campaign_contact_events(self, req: Request, camp_id: str, cid: str) -> Response:
        camp = self._entity("campaigns", camp_id)
        lead = self._lead(cid, not_found)
        evs = []
        for e in self._events_of(camp["id"]):
            e = {k: v for k, v in e.items() if k not in ("campaign", "properties", "children")}
            e["contactLog"] = [self._event_log_json(r) for r in self.store.query(
                "SELECT * FROM campaign_lead_event_log WHERE event_id = ? AND lead_id = ?", (e["id"], lead["id"]))]
            evs.append(e)
        membership = [{"dateAdded": iso(r["date_added"]), "manuallyRemoved": bool(r["manually_removed"]),
                       "manuallyAdded": bool(r["manually_added"]), "rotation": r["rotation"],
                       "dateLastExited": iso(r["date_last_exited"])}
                      for r in self.store.query("SELECT * FROM campaign_leads WHERE campaign_id = ? AND lead_id = ?",
                                                (camp["id"], lead["id"]))]
        return _resp(200, {"total": len(evs), "events": evs,
                           "campaign": {"id": camp["id"], "name": camp.get("name"), "category": camp.get("category"),
                                        "description": camp.get("description")},
                           "membership": membership})

    @staticmethod
    def _event_log_json(r: dict[str, Any]) -> dict[str, Any]:
        return {"ipAddress": None, "dateTriggered": iso(r["date_triggered"]), "isScheduled": bool(r["is_scheduled"]),
                "triggerDate": iso(r["trigger_date"]),
                "metadata": json.loads(r["metadata"]) if r["metadata"] else [], "nonActionPathTaken": bool(r["non_action_path_taken"]),
                "channel": r["channel"], "channelId": r["channel_id"], "rotation": r["rotation"]}

    def _reschedule(self, eid: Any, cid: Any, item: dict[str, Any]) -> dict[str, Any]:
        ev = self.app.generic.get_raw("campaignevents", eid)
        lead = self.app.contacts.get_row("leads", cid)
        if ev is None or lead is None:
            raise ApiError(404, "contactId and/or eventId are misssing from this item's parameters.")
        when = item.get("dateTriggered")
        row = self.store.one("SELECT * FROM campaign_lead_event_log WHERE event_id = ? AND lead_id = ?", (ev["id"], lead["id"]))
        if row is not None:  # recorded (587): a second reschedule of the same event and contact is a 409
            raise ApiError(409, f"The event {ev['id']} in the campaign {(ev.get('campaign') or {}).get('id')} has already been "
                                f"executed at {iso(row['date_triggered'])} for the contact {lead['id']}.")
        dt = parse_dt(when) if when else None
        stamp = dt.strftime("%Y-%m-%d %H:%M:%S") if dt else self._now()
        if row is None:
            self.store.insert("campaign_lead_event_log", {"event_id": ev["id"], "lead_id": lead["id"],
                                                          "campaign_id": (ev.get("campaign") or {}).get("id"),
                                                          "date_triggered": stamp, "is_scheduled": 1, "rotation": 1,
                                                          "trigger_date": self._now(), "system_triggered": 0,
                                                          "metadata": "[]", "non_action_path_taken": 0})
        else:
            self.store.execute("UPDATE campaign_lead_event_log SET date_triggered = ? WHERE id = ?", (stamp, row["id"]))
        out = {k: v for k, v in ev.items() if k not in ("properties", "children", "campaign")}
        camp = self.app.generic.get_raw("campaigns", (ev.get("campaign") or {}).get("id")) or {}
        out["campaign"] = {"id": camp.get("id"), "name": camp.get("name"), "category": camp.get("category"),
                           "description": camp.get("description"), "allowRestart": camp.get("allowRestart", False),
                           "publishUp": camp.get("publishUp"), "publishDown": camp.get("publishDown"),
                           "events": [], "deleted": None}
        out["contactLog"] = [self._event_log_json(r) for r in self.store.query(
            "SELECT * FROM campaign_lead_event_log WHERE event_id = ? AND lead_id = ?", (ev["id"], lead["id"]))]
        return out

    def contact_event_edit(self, req: Request, eid: str, cid: str) -> Response:
        body = self.app.body(req)
        return _resp(201, {"event": self._reschedule(eid, cid, body if isinstance(body, dict) else {})})

    def contact_events_batch(self, req: Request) -> Response:
        items = self.app._batch_items(req)
        events: dict[str, Any] = {}
        errors: list[Any] = []
        for _, item in items:
            item = item if isinstance(item, dict) else {}
            try:
                e = self._reschedule(item.get("eventId"), item.get("contactId"), item)
                e = {k: v for k, v in e.items() if k != "campaign"}
                events[str(e["id"])] = e
            except ApiError as err:
                errors.append({"code": err.status, "message": err.message, "details": [], "type": None})
                if err.status == 409:  # recorded: the event is still listed next to its 409 (587)
                    ev = self.app.generic.get_raw("campaignevents", item.get("eventId")) or {}
                    events[str(ev.get("id"))] = {k: v for k, v in ev.items() if k not in ("campaign", "properties", "children")} | {"contactLog": []}
        body: dict[str, Any] = {"events": events or []}
        if errors:
            body["errors"] = errors
        return _resp(200, body)

    # -- companies / stages -------------------------------------------------------------------
    def company_member(self, req: Request, comp_id: str, cid: str, action: str) -> Response:
        comp = self.app.contacts.get_row("companies", comp_id)
        if comp is None:
            raise not_found()
        lead = self._lead(cid)
        now = self._now()
        with self.store.lock:
            if action == "add":
                self.app.contacts.link_company(comp["id"], lead["id"], now, primary=True)
                if comp.get("companyname"):
                    self.store.update("leads", lead["id"], {"company": comp["companyname"]})
            else:
                self.app.contacts.unlink_company(comp["id"], lead["id"], now)
        return _resp(200, {"success": 1})

    def stage_member(self, req: Request, stage_id: str, cid: str, action: str) -> Response:
        stage = self._entity("stages", stage_id)
        lead = self._lead(cid)
        now = self._now()
        with self.store.lock:
            if action == "add":
                self.store.update("leads", lead["id"], {"stage_id": stage["id"]})
                self.store.insert("lead_stages_change_log", {"lead_id": lead["id"], "stage_id": stage["id"],
                                                             "event_name": stage.get("name"), "action_name": "API",
                                                             "date_added": now})
            elif lead.get("stage_id") == stage["id"]:
                self.store.update("leads", lead["id"], {"stage_id": None})
                self.store.insert("lead_stages_change_log", {"lead_id": lead["id"], "stage_id": None,
                                                             "event_name": stage.get("name"), "action_name": "API removed",
                                                             "date_added": now})
        return _resp(200, {"success": 1})

    # -- contact actions -------------------------------------------------------------------------
    def _touch(self, lead_id: int, dnc: bool = False) -> dict[str, Any]:
        user = self.app.current_user()
        lead = self.app.contacts.get_row("leads", lead_id) or {}
        rec: dict[str, Any] = {"modified_by": user["id"], "modified_by_user": user["name"]}
        if self.app.contacts.moves_modified(lead, dnc_only=dnc):  # 5.2+/6.0+ rules (versions sheet §5)
            rec["date_modified"] = self._now()
        self.store.update("leads", lead_id, rec)
        row = self.app.contacts.get_row("leads", lead_id)
        assert row is not None
        return row

    def dnc(self, req: Request, cid: str, channel: str, action: str) -> Response:
        lead = self._lead(cid, not_found)
        body = self.app.body(req)
        body = body if isinstance(body, dict) else {}
        with self.store.lock:
            if action == "add":
                try:
                    reason = int(body.get("reason", 3))
                except (TypeError, ValueError):
                    reason = 3
                if reason == 0:
                    raise ApiError(400, "This is a bad request.")
                self.app.contacts.add_dnc(lead["id"], channel, reason, str(body.get("comments") or ""),
                                          body.get("channelId"))
                row = self._touch(lead["id"], dnc=True)
                return _resp(200, {"contact": self.app.contacts.serialize(row, "dnc")})
            found = self.app.contacts.remove_dnc(lead["id"], channel)
            row = self._touch(lead["id"], dnc=True)
            return _resp(200, {"recordFound": found, "contact": self.app.contacts.serialize(row, "dnc")})

    def points(self, req: Request, cid: str, op: str, amount: str) -> Response:
        lead = self._lead(cid)
        body = self.app.body(req)
        body = body if isinstance(body, dict) else {}
        n = float(amount)
        cur = int(lead.get("points") or 0)
        new = {"plus": cur + n, "minus": cur - n, "times": cur * n, "divide": cur / n if n else cur, "set": n}[op]
        with self.store.lock:
            self.store.update("leads", lead["id"], {"points": int(new)})
            self.store.insert("lead_points_change_log", {
                "lead_id": lead["id"], "ip_id": 1, "type": "API", "event_name": body.get("eventName") or OPS[op],
                "action_name": body.get("actionName") or "API", "delta": int(n) if n.is_integer() else n,
                "date_added": self._now()})
        return _resp(200, {"success": 1})

    def point_groups(self, req: Request, cid: str) -> Response:
        self._lead(cid, not_found)
        return _resp(200, {"total": 0, "groupScores": []})

    def utm_add(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        b = self.app.body(req)
        b = b if isinstance(b, dict) else {}
        with self.store.lock:
            self.store.insert("lead_utmtags", {
                "lead_id": lead["id"], "date_added": self._now(), "query": json.dumps(b.get("query") or []),
                "referer": b.get("referer"), "remote_host": b.get("remotehost") or b.get("remote_host"),
                "url": b.get("url"), "user_agent": b.get("useragent") or b.get("user_agent"),
                "utm_campaign": b.get("utm_campaign"), "utm_content": b.get("utm_content"),
                "utm_medium": b.get("utm_medium"), "utm_source": b.get("utm_source"), "utm_term": b.get("utm_term")})
            self.store.update("leads", lead["id"], {"last_active": self._now()})
            if b.get("useragent") or b.get("user_agent"):  # Mautic records the visitor's device (seen in 533)
                dev = {k: None for k in RECORDED["templates"]["devices"]}
                dev.update({"lead": {"id": lead["id"]}, "device": "", "deviceBrand": "", "deviceModel": ""})
                self.app.generic.backends["devices"].insert(dev)
            row = self._touch(lead["id"])
        # recorded: lastActive moves, the fields snapshot in the same answer still shows the old value (518)
        return _resp(200, {"contact": self.app.contacts.serialize(row, "dnc", fields_row={"last_active": lead["last_active"]})})

    def utm_remove(self, req: Request, cid: str, utm_id: str) -> Response:
        lead = self._lead(cid, not_found)
        with self.store.lock:
            found = self.store.one("SELECT id FROM lead_utmtags WHERE id = ? AND lead_id = ?", (int(utm_id), lead["id"]))
            self.store.execute("DELETE FROM lead_utmtags WHERE id = ? AND lead_id = ?", (int(utm_id), lead["id"]))
            row = self._touch(lead["id"])
        return _resp(200, {"recordFound": found is not None, "contact": self.app.contacts.serialize(row, "dnc")})

    # -- contact sub-resources ------------------------------------------------------------------
    def contact_notes(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        q = req.query
        if q.get("search") and q.get("orderBy"):
            raise server_error()  # recorded: search + orderBy on a contact's notes is a 500 (534)
        notes = [n for n in self.app.generic.backends["notes"].all() if (n.get("lead") or {}).get("id") == lead["id"]]
        if q.get("search"):
            notes = [n for n in notes if str(q["search"]).lower() in str(n.get("text") or "").lower()]
        notes.sort(key=lambda n: n["id"], reverse=True)
        start, limit = _paging(q, 30)
        page = notes[start:start + limit] if limit else notes[start:]
        return _resp(200, {"total": len(notes), "notes": [{**n, "lead": {}} for n in page]})

    def contact_segments(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        out = {}
        for r in self.store.query("SELECT * FROM lead_lists_leads WHERE lead_id = ? AND manually_removed = 0", (lead["id"],)):
            s = self.app.generic.get_raw("segments", r["leadlist_id"])
            if s:
                out[str(s["id"])] = {"id": s["id"], "name": s.get("name"), "alias": s.get("alias"),
                                     "dateAdded": iso(r["date_added"]), "manuallyRemoved": bool(r["manually_removed"]),
                                     "manuallyAdded": bool(r["manually_added"])}
        return _resp(200, {"total": len(out), "lists": out or []})

    def contact_campaigns(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        out = {}
        for r in self.store.query("SELECT * FROM campaign_leads WHERE lead_id = ? AND manually_removed = 0", (lead["id"],)):
            c = self.app.generic.get_raw("campaigns", r["campaign_id"])
            if c and c.get("isPublished"):  # recorded: an unpublished campaign is not listed (531)
                out[str(c["id"])] = {"id": c["id"], "name": c.get("name"), "dateAdded": iso(r["date_added"]),
                                     "manuallyRemoved": bool(r["manually_removed"]),
                                     "manuallyAdded": bool(r["manually_added"]), "listMembership": []}
        return _resp(200, {"total": len(out), "campaigns": out or []})

    def contact_companies(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        out = []
        for r in self.store.query("SELECT * FROM companies_leads WHERE lead_id = ?", (lead["id"],)):
            comp = self.app.contacts.get_row("companies", r["company_id"])
            if comp is None:
                continue
            item = {"company_id": str(r["company_id"]), "date_associated": r["date_added"], "is_primary": str(r["is_primary"])}
            item.update({k: _s(v) for k, v in comp.items() if v is not None})
            out.append(item)
        return _resp(200, {"total": len(out), "companies": out})

    def contact_devices(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        devs = [d for d in self.app.generic.backends["devices"].all() if (d.get("lead") or {}).get("id") == lead["id"]]
        devs.sort(key=lambda d: d["id"], reverse=True)
        return _resp(200, {"total": len(devs), "devices": [drop_nulls({**d, "lead": {}}) for d in devs]})

    def contact_activity(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        return self.activity(req, lead["id"])

    def activity(self, req: Request, lead_id: int | None) -> Response:
        q = req.query
        filters = q.get("filters") if isinstance(q.get("filters"), dict) else {}
        include = phpquery.as_list(filters.get("includeEvents"))
        exclude = phpquery.as_list(filters.get("excludeEvents"))
        date_from, date_to = filters.get("dateFrom"), filters.get("dateTo")
        order = phpquery.as_list(q.get("order")) or ["timestamp", "DESC"]
        try:
            page = max(1, int(q.get("page") or 1))
            limit = int(q.get("limit") or 25)
        except ValueError:
            raise server_error() from None
        where, params = "", []
        if lead_id is not None:
            where, params = " WHERE lead_id = ?", [lead_id]
        events: list[dict[str, Any]] = []
        for r in self.store.query(f"SELECT rowid AS rid, * FROM campaign_leads{where} ORDER BY date_added DESC LIMIT 500", params):
            camp = self.app.generic.get_raw("campaigns", r["campaign_id"]) or {}
            events.append({"event": "campaign_membership", "eventId": f"campaign_membership{r['rid']}",
                           "eventType": "Campaign membership change",
                           "eventLabel": f"Contact added to campaign, {camp.get('name')}",
                           "timestamp": iso(r["date_added"]), "contactId": str(r["lead_id"]),
                           "details": {"campaignId": r["campaign_id"], "campaignName": camp.get("name"),
                                       "objectDescription": camp.get("name")}})
        for r in self.store.query(f"SELECT * FROM lead_points_change_log{where} ORDER BY id DESC LIMIT 500", params):
            events.append({"event": "point.gained", "eventId": f"point.gained{r['id']}",
                           "eventLabel": f"{r['event_name']} / {r['delta']}", "eventType": "Point gained",
                           "timestamp": iso(r["date_added"]), "contactId": str(r["lead_id"]),
                           "details": {"log": {"eventName": r["event_name"], "actionName": r["action_name"],
                                               "dateAdded": iso(r["date_added"]), "type": r["type"],
                                               "delta": str(r["delta"]), "id": str(r["id"]), "lead_id": str(r["lead_id"])}}})
        for r in self.store.query(f"SELECT * FROM lead_donotcontact{where} ORDER BY id DESC LIMIT 500", params):
            events.append({"event": "lead.donotcontact", "eventId": f"lead.donotcontact{r['id']}",
                           "eventLabel": str(r["channel"]).capitalize(), "eventType": "Do not contact",
                           "timestamp": iso(r["date_added"]), "contactId": str(r["lead_id"]),
                           "details": {"dnc": {"id": str(r["id"]), "channel": r["channel"], "date_added": iso(r["date_added"]),
                                               "reason": "Contact unsubscribed from this channel.", "comments": r["comments"]}}})
        for r in self.store.query(f"SELECT * FROM lead_utmtags{where} ORDER BY id DESC LIMIT 500", params):
            events.append({"event": "lead.utmtagsadded", "eventId": f"lead.utmtagsadded{r['id']}",
                           "eventLabel": str(r["utm_campaign"] or "UTM tags"), "eventType": "UTM tags recorded",
                           "timestamp": iso(r["date_added"]), "contactId": str(r["lead_id"]),
                           "details": {"utmtags": {"id": r["id"], "utm_campaign": r["utm_campaign"],
                                                   "utm_source": r["utm_source"], "utm_medium": r["utm_medium"]}}})
        if include:
            events = [e for e in events if e["event"] in include]
        if exclude:
            events = [e for e in events if e["event"] not in exclude]
        if date_from:
            events = [e for e in events if (e["timestamp"] or "")[:19].replace("T", " ") >= str(date_from)]
        if date_to:
            events = [e for e in events if (e["timestamp"] or "")[:10] <= str(date_to)]
        desc = str(order[1] if len(order) > 1 else "DESC").upper() == "DESC"
        events.sort(key=lambda e: e["timestamp"] or "", reverse=desc)
        total = len(events)
        page_events = events[(page - 1) * limit: page * limit]
        tpl = RECORDED["bodies"]["activity_all"]
        filt = {"search": str(filters.get("search") or ""), "includeEvents": include, "excludeEvents": exclude}
        if date_from:
            filt = {"dateFrom": date_from, "dateTo": date_to, **filt}
        return _resp(200, {"events": page_events, "filters": filt, "order": order[:2] if len(order) >= 2 else ["timestamp", "DESC"],
                           "types": tpl["types"], "total": total, "page": page, "limit": limit,
                           "maxPages": float(math.ceil(total / limit)) if limit else 1.0})

    def list_owners(self, req: Request) -> Response:
        users = self.app.generic.backends["users"].all()
        users.sort(key=lambda u: (str(u.get("lastName")), str(u.get("firstName"))))
        return _resp(200, [{"id": u["id"], "firstName": u.get("firstName"), "lastName": u.get("lastName")} for u in users])

    def list_fields(self, req: Request) -> Response:
        out = {}
        for f in self.store.fields("lead"):
            if not f["is_published"]:
                continue
            item = {"id": f["id"], "label": f["label"], "alias": f["alias"], "type": f["type"], "group": f["field_group"],
                    "order": f["field_order"], "object": "lead"}
            if f["type"] not in ("number", "boolean"):
                item["properties"] = f["props"] or {}
            out[str(f["id"])] = item
        return _resp(200, out)

    def list_segments(self, req: Request) -> Response:
        segs = sorted(self.app.generic.backends["segments"].all(), key=lambda s: str(s.get("name")))
        return _resp(200, {str(s["id"]): {"id": s["id"], "name": s.get("name"), "alias": s.get("alias")} for s in segs})

    # -- users ------------------------------------------------------------------------------
    def users_self(self, req: Request) -> Response:
        user = self.app.current_user()
        if user.get("client"):
            body = copy.deepcopy(RECORDED["bodies"]["users_self_client"])
            body["username"] = user["name"]
            body["firstName"], body["lastName"] = self.app.client_id, "[1]"
            return _resp(200, body)
        u = self.app.generic.get_raw("users", user["id"]) or RECORDED["admin_user"]
        out = self.app.user_self(u)
        if not out.get("email"):
            out["email"] = "admin@example.com"
        if user.get("oauth"):
            out["lastLogin"] = iso(self._now())
            out["lastActive"] = iso(self._now())
        return _resp(200, out)

    def list_roles(self, req: Request) -> Response:
        return _resp(200, [{"id": r["id"], "name": r.get("name")} for r in self.app.generic.backends["roles"].all()])

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
        return _resp(200, out)

    # -- reports, forms, focus, sending ----------------------------------------------------------
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
        return _resp(200, tpl)

    def _submissions(self, form_id: int, lead_id: int | None, q: dict[str, Any]) -> dict[str, Any]:
        where, params = "WHERE form_id = ?", [form_id]
        if lead_id is not None:
            where += " AND lead_id = ?"
            params.append(lead_id)
        start, limit = _paging(q, 30)
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
        return _resp(200, self._submissions(int(fid), None, req.query))

    def form_submissions_contact(self, req: Request, fid: str, cid: str) -> Response:
        self._entity("forms", fid)
        return _resp(200, self._submissions(int(fid), int(cid), req.query))

    def form_submission(self, req: Request, fid: str, sid: str) -> Response:
        self._entity("forms", fid)
        r = self.store.one("SELECT * FROM form_submissions WHERE id = ? AND form_id = ?", (int(sid), int(fid)))
        if r is None:
            raise not_found()
        return _resp(200, {"submission": self._submission_json(r)})

    def form_parts_delete(self, req: Request, fid: str, part: str) -> Response:
        form = self._entity("forms", fid)
        ids = {str(i) for i in self.app._ids(req)}
        key = "fields" if part == "fields" else "actions"
        items = form.get(key) or []
        form[key] = [x for x in items if not (isinstance(x, dict) and str(x.get("id")) in ids)]
        self.app.generic.backends["forms"].update(form["id"], form)
        return _resp(200, {"form": form})

    def focus_js(self, req: Request, fid: str) -> Response:
        self._entity("focus", fid)
        js = f"(function(window){{window.MauticFocus{int(fid)}=function(){{}};}})(window);"
        return _resp(200, {"js": js})

    def email_send(self, req: Request, eid: str, cid: str | None = None) -> Response:
        self._entity("emails", eid)
        if cid is not None:
            self._lead(cid, not_found)
        # Like an instance without SMTP: nothing is sent (see docs/simulator.md).
        return _resp(200, {"success": False, "failed": "Connection could not be established with host \"localhost:25\": "
                                                       "stream_socket_client(): Unable to connect to localhost:25 (Connection refused)"})

    def sms_send(self, req: Request, sid: str, cid: str) -> Response:
        self._entity("smses", sid)
        self._lead(cid, not_found)
        return _resp(200, json.dumps({"error": {"message": "SMS transport is disabled.", "code": 417}}),
                     version_header=False)

    # -- files, themes, data ---------------------------------------------------------------------
    def _dir(self, d: str, q: dict[str, Any]) -> None:
        if d not in FILE_DIRS:
            raise ApiError(406, f"{d} not found. Only media or images options are possible.")
        if q.get("subdir"):
            raise ApiError(406, f"{q['subdir']} doesn't exist in the {d} dir.")

    def files_list(self, req: Request, d: str) -> Response:
        self._dir(d, req.query)
        names = sorted(n for (dd, n) in self.files if dd == d)
        return _resp(200, {"files": names})

    def files_new(self, req: Request, d: str) -> Response:
        self._dir(d, req.query)
        ctype = req.headers.get("content-type", "")
        m = re.search(r'filename="([^"]+)"', req.body.decode("latin-1")) if "multipart" in ctype else None
        if not m:
            return _resp(200, {"file": []})
        ext = m.group(1).rsplit(".", 1)[-1] if "." in m.group(1) else "bin"
        name = hashlib.md5(req.body).hexdigest() + f".{ext}"
        self.files[(d, name)] = len(req.body)
        return _resp(200, {"file": {"link": f"{self.app.base_url}/media/{d}/{name}", "name": name}})

    def files_delete(self, req: Request, d: str, name: str) -> Response:
        self._dir(d, {})
        if (d, name) not in self.files:
            raise ApiError(404, "File does not exist")
        del self.files[(d, name)]
        return _resp(200, {"success": True})

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
        return _resp(200, body)


def _s(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _theme_zip(name: str) -> bytes:
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}/config.json", json.dumps({"name": name, "author": "mautic-sim"}))
        z.writestr(f"{name}/html/base.html.twig", "<html><body>{% block content %}{% endblock %}</body></html>")
    return buf.getvalue()


__all__ = ["CONTEXTS", "Extras"]
