"""A contact's sub-resources (notes, segments, campaigns, companies, devices, activity) and the list look-ups."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mautic_sim import phpquery
from mautic_sim.field_values import drop_nulls
from mautic_sim.generic import start_limit
from mautic_sim.messages import Request, Response
from mautic_sim.util import RECORDED, iso, not_found, server_error


def _s(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


class ContactResources:
    """GET /api/contacts/{id}/... and the owner/field/segment lists, as a mixin of ``Extras``."""

    if TYPE_CHECKING:  # a mixin: the rest of its attributes are those of ``extras.Extras``, typed there
        def __getattr__(self, name: str) -> Any: ...

    def contact_notes(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        q = req.query
        if q.get("search") and q.get("orderBy"):
            raise server_error()  # recorded: search + orderBy on a contact's notes is a 500 (534)
        notes = [n for n in self.app.generic.backends["notes"].all() if (n.get("lead") or {}).get("id") == lead["id"]]
        if q.get("search"):
            notes = [n for n in notes if str(q["search"]).lower() in str(n.get("text") or "").lower()]
        notes.sort(key=lambda n: n["id"], reverse=True)
        start, limit = start_limit(q, 30)
        page = notes[start:start + limit] if limit else notes[start:]
        return Response(200, {"total": len(notes), "notes": [{**n, "lead": {}} for n in page]})

    def contact_segments(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        out = {}
        for r in self.store.query("SELECT * FROM lead_lists_leads WHERE lead_id = ? AND manually_removed = 0", (lead["id"],)):
            s = self.app.generic.get_raw("segments", r["leadlist_id"])
            if s:
                out[str(s["id"])] = {"id": s["id"], "name": s.get("name"), "alias": s.get("alias"),
                                     "dateAdded": iso(r["date_added"]), "manuallyRemoved": bool(r["manually_removed"]),
                                     "manuallyAdded": bool(r["manually_added"])}
        return Response(200, {"total": len(out), "lists": out or []})

    def contact_campaigns(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        out = {}
        for r in self.store.query("SELECT * FROM campaign_leads WHERE lead_id = ? AND manually_removed = 0", (lead["id"],)):
            c = self.app.generic.get_raw("campaigns", r["campaign_id"])
            if c and c.get("isPublished"):  # recorded: an unpublished campaign is not listed (531)
                out[str(c["id"])] = {"id": c["id"], "name": c.get("name"), "dateAdded": iso(r["date_added"]),
                                     "manuallyRemoved": bool(r["manually_removed"]),
                                     "manuallyAdded": bool(r["manually_added"]), "listMembership": []}
        return Response(200, {"total": len(out), "campaigns": out or []})

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
        return Response(200, {"total": len(out), "companies": out})

    def contact_devices(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        devs = [d for d in self.app.generic.backends["devices"].all() if (d.get("lead") or {}).get("id") == lead["id"]]
        devs.sort(key=lambda d: d["id"], reverse=True)
        return Response(200, {"total": len(devs), "devices": [drop_nulls({**d, "lead": {}}) for d in devs]})

    def contact_activity(self, req: Request, cid: str) -> Response:
        lead = self._lead(cid, not_found)
        return self.activity(req, lead["id"])

    def activity(self, req: Request, lead_id: int | None) -> Response:
        q = req.query
        given = q.get("filters")
        filters = given if isinstance(given, dict) else {}
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
        # 5.1.0 pages each event type on its own (every timeline subscriber runs its query with the same
        # start and limit) and merges the pages: page 2 of limit 2 answered 5 events, the 3rd and 4th of
        # each type (recording 527); total counts every event, maxPages the largest type's pages
        by_type: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            by_type.setdefault(event["event"], []).append(event)
        page_events = []
        for group in by_type.values():
            group.sort(key=lambda e: e["timestamp"] or "", reverse=desc)
            page_events += group[(page - 1) * limit: page * limit]
        page_events.sort(key=lambda e: e["timestamp"] or "", reverse=desc)
        total = len(events)
        most = max((len(g) for g in by_type.values()), default=0)
        tpl = RECORDED["bodies"]["activity_all"]
        filt: dict[str, Any] = {"search": str(filters.get("search") or ""), "includeEvents": include, "excludeEvents": exclude}
        if date_from:
            filt = {"dateFrom": date_from, "dateTo": date_to, **filt}
        return Response(200, {"events": page_events, "filters": filt, "order": order[:2] if len(order) >= 2 else ["timestamp", "DESC"],
                           "types": tpl["types"], "total": total, "page": page, "limit": limit,
                           "maxPages": float(math.ceil(most / limit)) if limit else 1.0})

    def list_owners(self, req: Request) -> Response:
        users = self.app.generic.backends["users"].all()
        users.sort(key=lambda u: (str(u.get("lastName")), str(u.get("firstName"))))
        return Response(200, [{"id": u["id"], "firstName": u.get("firstName"), "lastName": u.get("lastName")} for u in users])

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
        return Response(200, out)

    def list_segments(self, req: Request) -> Response:
        segs = sorted(self.app.generic.backends["segments"].all(), key=lambda s: str(s.get("name")))
        return Response(200, {str(s["id"]): {"id": s["id"], "name": s.get("name"), "alias": s.get("alias")} for s in segs})
