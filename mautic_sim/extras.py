"""Mautic's special endpoints: memberships, contact actions and campaign events per contact; the contact
sub-resources are in contact_resources.py, the smaller contexts (files, themes, data widgets, reports data,
users/self, sending) in small_contexts.py.

Every membership or action writes the rows Mautic writes (lead_lists_leads, campaign_leads, companies_leads,
lead_donotcontact, lead_points_change_log, lead_stages_change_log, lead_event_log, lead_utmtags).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from mautic_sim import phpquery
from mautic_sim.contact_resources import ContactResources
from mautic_sim.field_values import parse_dt
from mautic_sim.generic import CONTEXTS
from mautic_sim.messages import Request, Response
from mautic_sim.services import SimApp
from mautic_sim.small_contexts import SmallContexts
from mautic_sim.util import RECORDED, ApiError, db_ts, iso, not_found, server_error

OPS = {"plus": "add (+)", "minus": "subtract (-)", "times": "multiply (x)", "divide": "divide (/)", "set": "set (=)"}


def _resp(status: int, body: Any, **kw: Any) -> Response:
    return Response(status, body, **kw)


def _contact_missing() -> ApiError:
    return ApiError(404, "Contact not found.")


class Extras(ContactResources, SmallContexts):
    """Routes that are not plain CRUD."""

    def __init__(self, app: SimApp):
        self.app = app
        self.store = app.store
        self.files: dict[tuple[str, str], int] = {}

    def routes(self) -> list[tuple[str, tuple[str, ...], Callable[..., Response]]]:
        G, P, D, E = ("GET",), ("POST",), ("DELETE",), ("PUT", "PATCH")
        return [
            (r"/segments/(\d+)/contact/(\d+)/(add|remove)", P, self.segment_member),
            # only add: 5.1.0 has no /segments/{id}/contacts/remove (LeadBundle config; real answer: 404, differential D10)
            (r"/segments/(\d+)/contacts/(add)", P, self.segment_members_batch),
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
            (r"/contacts/(\d+)/points/([^/]+)/(-?\d+(?:\.\d+)?)", P, self.points),
            (r"/tags/new", P, self.tag_new),
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

    def _published_segment(self, sid: str) -> dict[str, Any]:
        """Adding or removing members of an unpublished segment is refused with a 403, single or batch
        (real 5.1.0, checked 2026-12-06); reading them (the segment: search) is not."""
        segment = self._entity("segments", sid)
        if not segment.get("isPublished"):
            raise ApiError(403, "You do not have access to the requested area/action.", details=[])
        return segment

    def segment_member(self, req: Request, sid: str, cid: str, action: str) -> Response:
        self._published_segment(sid)
        lead = self._lead(cid)
        with self.store.lock:
            (self.segment_add if action == "add" else self.segment_remove)(int(sid), lead["id"])
        return _resp(200, {"success": 1})

    def segment_members_batch(self, req: Request, sid: str, action: str) -> Response:
        self._published_segment(sid)
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
        lead = self._lead(cid, not_found)  # "Item was not found." (real 5.1.0, differential D21)
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
                # date_last_exited stays NULL on a manual removal (real 5.1.0, fixtures/real-5.1.0 629, D29)
                self.store.execute("UPDATE campaign_leads SET manually_removed = 1, manually_added = 0 "
                                   "WHERE campaign_id = ? AND lead_id = ?", (camp["id"], lead["id"]))
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
        items = self.app.batch_items(req)
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
        if op not in ("plus", "minus", "times", "divide"):
            # Lead::adjustPoints has no case for POINTS_SET ('set') or any other word: UnexpectedValueException,
            # answered 400 "Invalid operator" (real 5.1.0, tests/fixtures/real-5.1.0 659, differential D12)
            raise ApiError(400, "Invalid operator")
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
            # a real 5.1.0 saves the contact: its dateModified moves (tests/real/test_real_tap.py, 2026-12-06)
            self._touch(lead["id"])
            if int(new) != cur:  # real 5.1.0 (2026-12-06, points/plus/5 on 3 points): update {points: [3, 8]}
                self.app.audit("lead", "lead", lead["id"], "update", {"points": [cur, int(new)]})
        return _resp(200, {"success": 1})

    def tag_new(self, req: Request) -> Response:
        """POST /tags/new with a tag that exists edits that tag and answers 200 (TagApiController::getNewEntity is
        getTagByNameOrCreateNewOne; real 5.1.0, tests/fixtures/real-5.1.0 633, differential D11)."""
        ctx = CONTEXTS["tags"]
        body = self.app.body(req)
        name = body.get("tag") if isinstance(body, dict) else None
        existing = self.app.generic.find_tag(name.strip()) if isinstance(name, str) and name.strip() else None
        if existing is None:
            return self.app.g_new(req, ctx)
        e = self.app.generic.edit(ctx, int(existing), body, put=True)
        return _resp(200, {ctx.item: self.app.generic.present(ctx, e)})

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
                dev: dict[str, Any] = {k: None for k in RECORDED["templates"]["devices"]}
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


__all__ = ["CONTEXTS", "Extras"]
