"""The paths outside the REST API by which Mautic 5.1.0 merges contacts, simulated over HTTP.

Checked on a real 5.1.0 (2026-12-06, rows read in MariaDB) and read in its source:

- ``GET /mtracking.gif`` (PageBundle ``PublicController::trackingImageAction``): a visit from a browser at a
  trackable address creates an anonymous contact, its ``lead_devices`` row and a ``page_hits`` row, and sets
  the ``mautic_device_id`` and ``mtc_id`` cookies.
- ``POST /form/submit?formId=N`` (``SubmissionModel::createLeadFromSubmit``): the contact tracked by the
  ``mautic_device_id`` cookie submits ``mauticform[...]``; when another contact holds the submitted email and
  the tracked one holds no other email, ``ContactMerger::merge($tracked, $found)`` merges the *known contact
  into the tracked visitor* (the visitor's id survives), as System; then the submitted values are saved on the
  survivor (an ``update`` row by System, ``manipulated_by`` the form's name, ``manipulator_key``
  ``form:submission:N``) and the ``form_submissions`` row names it.
  A browser with no tracking cookie is made a new anonymous contact first, so it is merged into too (real
  5.1.0, 2026-12-06); a request Mautic does not track (a bot's User-Agent) goes to the known contact.
- ``POST /s/contacts/merge/{id}`` with ``lead_merge[lead_to_merge]=X`` (``LeadController::mergeAction``, the
  UI merge): X is merged into the contact on screen, as the signed-in user. The simulator takes the API's
  credentials instead of a UI session.
- ``POST /_sim/console/mautic:contacts:deduplicate`` stands in for the console command (no HTTP path in
  Mautic): contacts sharing an email are merged, older into newer unless ``newer_into_older=1``
  (``ContactDeduper``), as System.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl

from mautic_sim import phpquery
from mautic_sim.merges import SYSTEM_USER, audit, change_details, field_changes, merge_contacts
from mautic_sim.messages import Request, Response
from mautic_sim.util import db_ts

# a 1x1 transparent GIF, as TrackingPixelHelper answers
PIXEL = bytes.fromhex("47494638396101000100800000ffffff00000021f904010000000"
                      "02c00000000010001000002024401003b")
# a request whose User-Agent names one of these is not tracked (Mautic's default do_not_track_bots has more)
BOTS = ("curl", "python-requests", "python-httpx", "bot", "crawler", "spider")


def cookies(req: Request) -> dict[str, str]:
    """The request's cookies."""
    return dict(parse_qsl(req.headers.get("cookie", "").replace("; ", "&")))


def _trackable(req: Request) -> bool:
    agent = req.headers.get("user-agent", "").lower()
    return bool(agent) and not any(b in agent for b in BOTS)


def _section(req: Request, name: str) -> dict[str, Any]:
    """One ``name[...]`` group of a form-encoded body (a Symfony form's fields)."""
    value = phpquery.parse(req.body.decode("utf-8", "replace")).get(name)
    return value if isinstance(value, dict) else {}


class PublicPaths:
    """Tracking pixel, form submission, UI merge and the deduplicate stand-in (see the module docstring)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.store = app.store

    def handle(self, req: Request, path: str) -> Response | None:
        """The answer for one of these paths, or None when ``path`` is none of them."""
        if path == "/mtracking.gif" and req.method == "GET":
            return self.pixel(req)
        if path == "/form/submit" and req.method == "POST":
            return self.submit(req)
        if path.startswith("/s/contacts/merge/") and req.method == "POST":
            self.app._authenticate(req)
            return self.ui_merge(req, path.rsplit("/", 1)[1])
        if path == "/_sim/console/mautic:contacts:deduplicate" and req.method == "POST":
            self.app._authenticate(req)
            return self.deduplicate(req)
        return None

    # -- tracking ----------------------------------------------------------------------------------
    def tracked(self, req: Request) -> dict[str, Any] | None:
        """The contact the ``mautic_device_id`` cookie tracks (DeviceTracker), if any."""
        device = cookies(req).get("mautic_device_id")
        if not device or not _trackable(req):
            return None
        return self.store.one("SELECT l.* FROM lead_devices d JOIN leads l ON l.id = d.lead_id "
                              "WHERE d.tracking_id = ?", (device,))

    def _device(self, lead_id: int, now: str) -> str:
        tracking = os.urandom(12).hex()[:23]
        self.store.insert("lead_devices", {"lead_id": lead_id, "date_added": now, "device": "desktop",
                                           "tracking_id": tracking})
        return tracking

    def pixel(self, req: Request) -> Response:
        headers: dict[str, str] = {}
        if _trackable(req):
            now = db_ts(self.app.now())
            with self.store.lock:
                lead = self.tracked(req)
                if lead is None:
                    lead_id = self.store.insert("leads", {"date_added": now, "is_published": 1, "points": 0,
                                                          "last_active": now})
                    tracking = self._device(lead_id, now)
                else:
                    lead_id, tracking = lead["id"], cookies(req)["mautic_device_id"]
                url = str(req.query.get("page_url") or "")
                self.store.insert("page_hits", {"lead_id": lead_id, "date_hit": now, "url": url, "code": 200,
                                                "tracking_id": tracking})
            headers["Set-Cookie"] = f"mautic_device_id={tracking}; path=/"
        return Response(200, PIXEL, headers, version_header=False, content_type="image/gif")

    # -- form submission ---------------------------------------------------------------------------
    def submit(self, req: Request) -> Response:
        data = _section(req, "mauticform")
        form_id = int(str(req.query.get("formId") or data.get("formId") or 0) or 0)
        form = self.app.generic.get_raw("forms", form_id)
        if form is None:
            return Response(404, "Form not found", version_header=False, content_type="text/html")
        fields = self.store.fields("lead")
        aliases = {f["alias"] for f in fields}
        values = {k: v for k, v in data.items() if k in aliases and v not in (None, "")}
        now = db_ts(self.app.now())
        with self.store.lock:
            lead = self.tracked(req)
            if lead is None and _trackable(req):
                # ContactTracker: a browser nobody tracks yet becomes a new anonymous contact (real 5.1.0:
                # the known contact is then merged into it, as for a tracked visitor)
                new_id = self.store.insert("leads", {"date_added": now, "is_published": 1, "points": 0})
                self._device(new_id, now)
                lead = self.store.one("SELECT * FROM leads WHERE id = ?", (new_id,))
            email = str(values.get("email") or "").strip()
            found = None
            if email:
                found = self.store.one("SELECT * FROM leads WHERE lower(email) = lower(?) AND id != ? "
                                       "ORDER BY id LIMIT 1", (email, lead["id"] if lead else 0))
            if found is not None:
                own = str((lead or {}).get("email") or "")
                if lead is None or (own and own.lower() != email.lower()):
                    lead = found  # no tracked visitor, or a conflicting identity: the found contact, no merge
                else:
                    lead = merge_contacts(self.app.contacts, lead["id"], found["id"])  # tracked one survives
            if lead is not None and lead.get("email") and email and lead["email"].lower() != email.lower():
                lead = None  # the submitted email conflicts with the tracked contact's: a new contact
            if lead is None:
                lead_id = self.store.insert("leads", {"date_added": now, "is_published": 1, "points": 0})
                lead = self.store.one("SELECT * FROM leads WHERE id = ?", (lead_id,))
                assert lead is not None
            changes = field_changes(fields, lead, values)
            update: dict[str, Any] = {a: values[a] for a, _, _ in changes}
            update["last_active"] = now
            if lead.get("date_identified") is None and email:
                update["date_identified"] = now
            self.store.update("leads", lead["id"], update)
            if changes:
                audit(self.app, "update", lead["id"], change_details(
                    changes, manipulator=f"form:submission:{form_id}", user_name=form.get("name")),
                    SYSTEM_USER, now)
            referer = req.headers.get("referer")
            self.store.insert("form_submissions", {"form_id": form_id, "lead_id": lead["id"],
                                                   "date_submitted": now, "referer": referer})
        return Response(200, '<html><body><script>parent.postMessage("{\\"success\\":1}", "*");</script>'
                             '</body></html>', version_header=False, content_type="text/html")

    # -- UI merge and deduplication ----------------------------------------------------------------
    def ui_merge(self, req: Request, main: str) -> Response:
        form = _section(req, "lead_merge")
        other = str(form.get("lead_to_merge") or "")
        if not main.isdigit() or not other.isdigit():
            return Response(400, {"error": "lead_merge[lead_to_merge] is required"}, version_header=False)
        user = self.app.current_user()
        try:
            saved = merge_contacts(self.app.contacts, int(main), int(other),
                                   {"id": user["id"], "name": user["name"]})
        except (KeyError, ValueError) as e:
            return Response(404, {"error": str(e)}, version_header=False)
        return Response(200, {"contact": {"id": saved["id"]}}, version_header=False)

    def deduplicate(self, req: Request) -> Response:
        newer_into_older = str(req.query.get("newer_into_older") or "") in ("1", "true")
        merged = []
        with self.store.lock:
            groups = self.store.query("SELECT lower(email) AS e FROM leads WHERE email IS NOT NULL "
                                      "AND email != '' GROUP BY lower(email) HAVING COUNT(*) > 1")
            for g in groups:
                ids = [r["id"] for r in self.store.query(
                    "SELECT id FROM leads WHERE lower(email) = ? ORDER BY date_added DESC, id DESC",
                    (g["e"],))]
                if newer_into_older:
                    ids.reverse()
                # the first (newest by default) survives; the others are merged into it one by one
                for loser in ids[1:]:
                    merge_contacts(self.app.contacts, ids[0], loser)
                    merged.append([loser, ids[0]])
        return Response(200, {"merged": merged}, version_header=False)


__all__ = ["PublicPaths", "cookies"]
