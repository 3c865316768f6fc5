"""Audit log details of field changes, and contact merges, as Mautic 5.1.0 writes them.

Field changes (``audit_log.details`` of a contact or company create/update), as a real Mautic 5.1.0 wrote them
(2026-12-06, POST /api/contacts/new and PATCH /api/contacts/2/edit, rows read in MariaDB):
``{firstname: [null, "Ada"], fields: {firstname: [null, "Ada"], points: [0, 3.0], ...}, lastname: [...], ...,
dateIdentified: ["", DateTime], manipulated_by: "Admin User", manipulator_key: "lead:api-single"}``. Every
changed field is in ``fields`` as ``[old, new]`` typed as ``CustomFieldHelper::fixValueType`` types it (number
-> float, boolean -> bool, else text); the fields that are properties of the ``Lead`` entity are also at the
top level (their setters record the change too). Companies: the same without the manipulator.

Merges (``ContactMerger::merge`` and the ``LEAD_PRE_MERGE``/``LEAD_POST_MERGE`` subscribers of 5.1.0), checked
with ``mautic:contacts:deduplicate`` on a real 5.1.0 (2026-12-06): the victor's ``update`` row (user 0
"System" from the console), an ``identified`` row when its dateIdentified moved, the loser's ``merge`` row
(``{merged_into: victor}``) and its ``delete`` row; ``lead_id`` re-pointed in place in the tables below; the
loser's other rows go with it (foreign keys ``ON DELETE CASCADE``/``SET NULL`` on MariaDB).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mautic_sim.services import ContactTables
from mautic_sim.util import db_ts

# Lead entity properties (Lead.php, 5.1.0): their changes are also written at the top level of the details.
LEAD_PROPERTIES = ("title", "firstname", "lastname", "company", "position", "email", "phone", "mobile",
                   "address1", "address2", "city", "state", "zipcode", "timezone", "country", "points")

# Tables whose lead_id the merge subscribers rewrite in place (the updateLead methods), with the column that
# keeps one row per (column, lead) where the victor already has a row (the loser's duplicate is deleted).
REPOINTED: dict[str, str | None] = {
    "lead_event_log": None,  # LeadSubscriber::preLeadMerge
    "lead_points_change_log": None, "lead_lists_leads": "leadlist_id", "lead_devices": None,  # LeadSubscriber
    "asset_downloads": None,  # AssetBundle
    "campaign_lead_event_log": "event_id", "campaign_leads": "campaign_id",  # CampaignBundle
    "dynamic_content_stats": None, "email_stats": None, "form_submissions": None,
    "page_hits": None, "video_hits": None,  # PageBundle (hits and video hits)
    "point_lead_action_log": "point_id", "point_lead_event_log": "event_id",  # PointBundle
    "stage_lead_action_log": "stage_id",  # StageBundle
}
# What deleting a contact does to the other tables (MariaDB foreign keys of 5.1.0, read 2026-12-06).
ON_DELETE_CASCADE = ("campaign_leads", "campaign_lead_event_log", "companies_leads",
                     "dynamic_content_lead_data", "lead_categories", "lead_companies_change_log",
                     "lead_devices", "lead_donotcontact",
                     "lead_event_log", "lead_frequencyrules", "lead_lists_leads", "lead_points_change_log",
                     "lead_stages_change_log", "lead_tags_xref", "lead_utmtags", "point_lead_action_log",
                     "point_lead_event_log", "stage_lead_action_log")
ON_DELETE_SET_NULL = ("asset_downloads", "dynamic_content_stats", "email_stats", "focus_stats",
                      "form_submissions", "page_hits", "push_notification_stats", "sms_message_stats",
                      "tweet_stats", "video_hits")
SYSTEM_USER = {"id": 0, "name": "System"}


def typed(field_type: str | None, value: Any) -> Any:
    """A stored value as ``CustomFieldHelper::fixValueType`` types it in a change: number -> float, boolean ->
    bool, everything else text; empty stays null."""
    if value is None or value == "":
        return None
    if field_type == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if field_type == "boolean":
        return str(value).strip().lower() in ("1", "true", "yes", "on")
    return str(value)


def field_changes(fields: list[dict[str, Any]], old: dict[str, Any] | None,
                  new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(alias, old, new) for every field in ``new`` whose typed value differs from ``old``'s."""
    out = []
    types = {f["alias"]: f["type"] for f in fields}
    for alias, value in new.items():
        if alias not in types:
            continue
        before = typed(types[alias], (old or {}).get(alias))
        after = typed(types[alias], value)
        if before != after or type(before) is not type(after):
            if before is None and after is None:
                continue
            out.append((alias, before, after))
    return out


def change_details(changes: list[tuple[str, Any, Any]], *, top_level: tuple[str, ...] = LEAD_PROPERTIES,
                   extra: dict[str, Any] | None = None, manipulator: str | None = None,
                   user_name: str | None = None) -> dict[str, Any]:
    """The ``details`` of a create/update row: top-level entity changes, ``fields``, then ``extra`` and the
    manipulator, in the order a real Mautic writes them."""
    details: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for alias, before, after in changes:
        if alias in top_level or not top_level:
            details[alias] = [before, after]
        details.setdefault("fields", fields)
        fields[alias] = [before, after]
    details.update(extra or {})
    if manipulator:
        details["manipulated_by"] = user_name
        details["manipulator_key"] = manipulator
    return details


def php_datetime(value: datetime) -> Any:
    """A PHP ``DateTime`` as serialize() writes it (dateIdentified of a create)."""
    from mautic_sim.util import PhpObject
    return PhpObject("DateTime", {"date": value.strftime("%Y-%m-%d %H:%M:%S.%f"), "timezone_type": 3,
                                  "timezone": "UTC"})


def _iso(value: str | None) -> str | None:
    return value.replace(" ", "T") + "+00:00" if value else None  # real 5.1.0: [null, "...+00:00"]


def _merge_value(newer: Any, older: Any, current: Any) -> Any:
    """MergeValueHelper::getMergeValue (5.1.0); ``...`` when the field is not merged."""
    if newer == older:
        return ...
    if current is not None and newer == current:
        return ...
    if newer not in (None, ""):
        return newer
    if older not in (None, ""):
        return older
    return ...


def merge_contacts(contacts: ContactTables, victor_id: int, loser_id: int,
                   user: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge ``loser_id`` into ``victor_id`` as ContactMerger::merge does; returns the victor's row."""
    store, app = contacts.store, contacts.app
    user = user or SYSTEM_USER
    if victor_id == loser_id:
        raise ValueError("a contact cannot be merged into itself (SameContactException)")
    with store.lock:
        victor = store.one("SELECT * FROM leads WHERE id = ?", (victor_id,))
        loser = store.one("SELECT * FROM leads WHERE id = ?", (loser_id,))
        if victor is None or loser is None:
            raise KeyError(f"no contact {victor_id if victor is None else loser_id}")
        now = db_ts(app.now())
        _repoint(store, "lead_event_log", None, loser_id, victor_id)  # pre-merge subscriber
        update: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        if (loser.get("last_active") or "") > (victor.get("last_active") or ""):
            update["last_active"] = loser["last_active"]
        ident_v, ident_l = victor.get("date_identified"), loser.get("date_identified")
        earlier = (ident_l is not None and ident_v is not None and ident_l < ident_v) or ident_v is None
        if earlier and ident_l != ident_v:
            update["date_identified"] = ident_l
            extra["dateIdentified"] = [_iso(ident_v), _iso(ident_l)]
        # mergeFieldData: the newest of the two (dateModified, else dateAdded) wins each field it has
        loser_date = loser.get("date_modified") or loser.get("date_added") or ""
        victor_date = victor.get("date_modified") or victor.get("date_added") or ""
        newest, oldest = (loser, victor) if loser_date > victor_date else (victor, loser)
        fields = store.fields("lead")
        merged: dict[str, Any] = {}
        for f in fields:
            alias = f["alias"]
            if alias in ("id", "points") or alias not in victor:
                continue
            value = _merge_value(newest.get(alias), oldest.get(alias), victor.get(alias))
            if value is not ...:
                merged[alias] = value
        changes = field_changes(fields, victor, merged)
        update.update({alias: merged[alias] for alias, _, _ in changes})
        if victor.get("owner_id") is None and loser.get("owner_id") is not None:
            update["owner_id"] = loser["owner_id"]
        points = int(victor.get("points") or 0) + int(loser.get("points") or 0)
        if int(loser.get("points") or 0):
            update["points"] = points
        details = change_details([c for c in changes if c[0] != "points"])
        details.update(extra)
        if "points" in update:
            details["points"] = [int(victor.get("points") or 0), points]
        store.execute("INSERT OR IGNORE INTO lead_tags_xref (lead_id, tag_id) SELECT ?, tag_id "
                      "FROM lead_tags_xref WHERE lead_id = ?", (victor_id, loser_id))
        update.update({"date_modified": now, "modified_by": user["id"] or None,
                       "modified_by_user": user["name"]})
        store.update("leads", victor_id, update)
        if update.get("company"):  # saveEntity links the merged company name (real 5.1.0: companies_leads)
            contacts._link_company_by_name(victor_id, str(update["company"]), now)
        audit(app, "update", victor_id, details, user, now)
        if "date_identified" in update:
            audit(app, "identified", victor_id, {}, user, now)
        for table, unique in REPOINTED.items():  # post-merge subscribers
            if table != "lead_event_log":
                _repoint(store, table, unique, loser_id, victor_id)
        store.execute("UPDATE lead_notes SET data = json_set(data, '$.lead.id', ?) "
                      "WHERE json_extract(data, '$.lead.id') = ?", (victor_id, loser_id))
        audit(app, "merge", loser_id, {"merged_into": victor_id}, user, now)
        delete_contact_rows(contacts, loser, user, now)
        saved = store.one("SELECT * FROM leads WHERE id = ?", (victor_id,))
    assert saved is not None
    return saved


def _repoint(store: Any, table: str, unique: str | None, loser_id: int, victor_id: int) -> None:
    if not store.columns(table):
        return
    if unique:
        store.execute(f'UPDATE "{table}" SET lead_id = ? WHERE lead_id = ? AND "{unique}" NOT IN '
                      f'(SELECT "{unique}" FROM "{table}" WHERE lead_id = ?)',
                      (victor_id, loser_id, victor_id))
        store.execute(f'DELETE FROM "{table}" WHERE lead_id = ?', (loser_id,))
    else:
        store.execute(f'UPDATE "{table}" SET lead_id = ? WHERE lead_id = ?', (victor_id, loser_id))


def audit(app: Any, action: str, lead_id: int, details: Any, user: dict[str, Any], when: str) -> None:
    """One audit_log row for a contact, written by ``user`` (the merge runs as System from the console)."""
    from mautic_sim.util import php_serialize
    app.store.insert("audit_log", {
        "user_id": user["id"] or 0, "user_name": user["name"], "bundle": "lead", "object": "lead",
        "object_id": lead_id, "action": action, "details": php_serialize(details or {}), "date_added": when,
        "ip_address": "127.0.0.1"})


def delete_contact_rows(contacts: ContactTables, row: dict[str, Any], user: dict[str, Any] | None = None,
                        when: str | None = None) -> None:
    """Delete a contact and what goes with it on MariaDB (foreign keys), with its ``delete`` audit row."""
    store, app = contacts.store, contacts.app
    lid = row["id"]
    store.execute("DELETE FROM leads WHERE id = ?", (lid,))
    for table in ON_DELETE_CASCADE:
        if store.columns(table):
            store.execute(f'DELETE FROM "{table}" WHERE lead_id = ?', (lid,))
    for table in ON_DELETE_SET_NULL:
        if store.columns(table):
            store.execute(f'UPDATE "{table}" SET lead_id = NULL WHERE lead_id = ?', (lid,))
    store.execute("DELETE FROM lead_notes WHERE json_extract(data, '$.lead.id') = ?", (lid,))
    name = " ".join(x for x in (row.get("firstname"), row.get("lastname")) if x) or row.get("email") or ""
    if user is None:
        app.audit("lead", "lead", lid, "delete", {"name": name})
    else:
        audit(app, "delete", lid, {"name": name}, user, when or db_ts(app.now()))


__all__ = ["LEAD_PROPERTIES", "ON_DELETE_CASCADE", "ON_DELETE_SET_NULL", "REPOINTED", "change_details",
           "delete_contact_rows", "field_changes", "merge_contacts", "php_datetime", "typed"]
