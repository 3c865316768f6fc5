# ruff: noqa: E501
"""The data-driven engine for Mautic's ORM-backed contexts (emails, forms, segments, fields, ...).

Each context is one row of ``CONTEXTS``: its route, item/list keys, list container (id-keyed object or
array), required fields with Mautic's messages, and the recorded quirks of PUT and batch writes. Entities are
stored as their serialized JSON; the key set of a new entity comes from the recorded response of that context.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mautic_sim.mariadb import fold, in_values, like, special_chars
from mautic_sim.store import GENERIC_TABLES
from mautic_sim.util import RECORDED, ApiError, db_ts, iso, not_found, server_error, validation_error

if TYPE_CHECKING:
    from mautic_sim.app import Mautic

NAME = ("name", "A name is required.")
TITLE = ("title", "A title is required.")
LABEL = ("label", "A label is required.")


@dataclass
class Ctx:
    name: str
    path: str
    item: str
    list_key: str
    keyed: bool
    required: list[tuple[str, str]] = field(default_factory=list)
    put_existing: Any = "ok"           # "ok" | "500" | {field: [message]} (a 400)
    batch_put: Any = "ok"              # "ok" | "500" | {field: [message]} (per-item 400)
    batch_new_500: bool = False        # whole batch/new is a 500 when one item is invalid
    batch_patch_500: bool = False
    order: tuple[str, ...] = ("name",)
    search: tuple[str, ...] = ("name",)
    modified_on_create: bool = False
    modified_by_on_create: bool = False
    read_only: bool = False
    ignore: tuple[str, ...] = ()        # payload keys Mautic accepts but does not echo


CONTEXTS: dict[str, Ctx] = {c.name: c for c in [
    Ctx("assets", "assets", "asset", "assets", False, [TITLE], put_existing={"language": ["A value is required."]},
        batch_put={"language": ["A value is required."]}, batch_patch_500=True, order=("title",), search=("title",)),
    Ctx("campaigns", "campaigns", "campaign", "campaigns", True, [NAME], modified_by_on_create=True),
    Ctx("categories", "categories", "category", "categories", False, [TITLE], order=("title",), search=("title",)),
    Ctx("devices", "devices", "device", "devices", False, [], batch_new_500=True, order=("id",), search=("device",),
        ignore=("clientInfo",)),
    Ctx("dynamiccontents", "dynamiccontents", "dynamicContent", "dynamicContents", True, [NAME],
        put_existing={"slotName": ["Please enter a slot name."], "filters": ["At least one filter is required."]},
        batch_put={"slotName": ["Please enter a slot name."], "filters": ["At least one filter is required."]}),
    Ctx("emails", "emails", "email", "emails", True, [NAME, ("subject", "A subject is required.")],
        put_existing="500", batch_put="500", modified_on_create=True),
    Ctx("focus", "focus", "focus", "focus", True, [
        ("type", "Use the builder to select what the focus should be."),
        ("style", "Use the builder to select what style should be used."), NAME]),
    Ctx("forms", "forms", "form", "forms", False, [NAME], modified_on_create=True, modified_by_on_create=True),
    Ctx("marketingmessages", "messages", "message", "messages", False, [NAME]),
    Ctx("notes", "notes", "note", "notes", False, [], batch_new_500=True, order=("id",), search=("text",)),
    Ctx("notifications", "notifications", "notification", "notifications", True,
        [NAME, ("heading", "A title is required."), ("message", "A message is required.")],
        put_existing="500", batch_put="500"),
    Ctx("pages", "pages", "page", "pages", False, [TITLE], put_existing="500", batch_put="500", order=("title",),
        search=("title",)),
    Ctx("pointtriggers", "points/triggers", "trigger", "triggers", False, [NAME], put_existing="500",
        batch_put="500"),
    Ctx("points", "points", "point", "points", False, [NAME, ("type", "A point action must be selected.")],
        put_existing="500", batch_put="500", ignore=("properties",)),
    Ctx("pointgroups", "points/groups", "pointGroup", "pointGroups", False, [NAME]),
    Ctx("reports", "reports", "report", "reports", False, [NAME], put_existing="500", batch_put="500"),
    Ctx("roles", "roles", "role", "roles", False, [NAME]),
    Ctx("segments", "segments", "list", "lists", True, [NAME]),
    Ctx("smses", "smses", "sms", "smses", True, [NAME], put_existing="500", batch_put="500"),
    Ctx("stages", "stages", "stage", "stages", False, [NAME]),
    Ctx("tags", "tags", "tag", "tags", True, [("tag", "A value is required.")], batch_new_500=True,
        order=("tag",), search=("tag",), ignore=("description",)),
    Ctx("tweets", "tweets", "tweet", "tweets", True, [NAME, ("text", "A value is required.")]),
    Ctx("users", "users", "user", "users", False, [("username", "A username is required.")], batch_new_500=True,
        order=("lastName", "firstName", "username"), search=("username", "firstName", "lastName", "email")),
    Ctx("webhooks", "hooks", "hook", "hooks", True, [NAME, ("webhookUrl", "A valid URL is required.")]),
    Ctx("campaignevents", "campaigns/events", "event", "events", False, [], read_only=True, order=("id",)),
    Ctx("contactFields", "fields/contact", "field", "fields", True, [LABEL], put_existing="500", batch_put="500",
        order=("order",), search=("label", "alias")),
    Ctx("companyFields", "fields/company", "field", "fields", True, [LABEL], put_existing="500", batch_put="500",
        order=("order",), search=("label", "alias")),
]}

READ_ONLY_KEYS = {"id", "dateAdded", "dateModified", "createdBy", "createdByUser", "modifiedBy", "modifiedByUser"}


def slug(text: Any, sep: str = "-") -> str:
    s = re.sub(r"[^a-z0-9]+", sep, str(text or "").lower()).strip(sep)
    return s or "item"


def blank_template(ctx_name: str) -> dict[str, Any]:
    """The recorded entity of a context with its free-text values cleared: the key set of a new entity."""
    tpl = copy.deepcopy(RECORDED["templates"].get(ctx_name) or {})
    for k, v in list(tpl.items()):
        if k in READ_ONLY_KEYS:
            continue
        if (isinstance(v, str) and k in ("name", "title", "description", "subject", "customHtml", "content",
                                          "text", "message", "heading", "label", "publicName", "alias",
                                          "webhookUrl", "username", "email", "firstName", "lastName",
                                          "cachedHtml", "plainText", "url", "file", "fromAddress", "fromName")) or k in ("category", "lead", "campaign", "role", "variantParent", "translationParent", "stage", "form", "type", "style", "order"):
            tpl[k] = None
        elif isinstance(v, list) or k == "canvasSettings":
            tpl[k] = []
    return tpl


class FieldBackend:
    """Contact/company field definitions live in ``lead_fields`` (a column of leads/companies each)."""

    def __init__(self, app: Mautic, obj: str):
        self.app, self.store, self.obj = app, app.store, obj

    def to_entity(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"isPublished": bool(r["is_published"]), "dateAdded": iso(r["date_added"]),
                "dateModified": iso(r["date_modified"]), "createdBy": r["created_by"],
                "createdByUser": r["created_by_user"], "modifiedBy": r["modified_by"],
                "modifiedByUser": r["modified_by_user"], "id": r["id"], "label": r["label"], "alias": r["alias"],
                "type": r["type"], "group": r["field_group"], "order": r["field_order"], "object": r["object"],
                "defaultValue": r["default_value"], "isRequired": bool(r["is_required"]),
                "isFixed": bool(r["is_fixed"]), "isListable": bool(r["is_listable"]),
                "isVisible": bool(r["is_visible"]), "isShortVisible": bool(r["is_short_visible"]),
                "isUniqueIdentifier": bool(r["is_unique_identifier"]),
                "isPubliclyUpdatable": bool(r["is_publicly_updatable"]),
                "properties": json.loads(r["properties"] or "{}") or {}}

    def all(self) -> list[dict[str, Any]]:
        return [self.to_entity(r) for r in self.store.query(
            "SELECT * FROM lead_fields WHERE object = ? ORDER BY id", (self.obj,))]

    def get(self, eid: int) -> dict[str, Any] | None:
        r = self.store.one("SELECT * FROM lead_fields WHERE id = ? AND object = ?", (eid, self.obj))
        return self.to_entity(r) if r else None

    def insert(self, e: dict[str, Any]) -> int:
        table = "leads" if self.obj == "lead" else "companies"
        alias = slug(e.get("alias") or e.get("label"), "_")
        existing = set(self.store.columns(table))
        base, n = alias, 1
        while alias in existing:
            alias, n = f"{base}{n}", n + 1
        e = {**e, "alias": alias, "object": self.obj, "id": None}
        if not e.get("order"):  # custom fields are numbered from 1, ahead of the built-in ones
            e["order"] = 1 + (self.store.scalar("SELECT COUNT(*) FROM lead_fields WHERE object = ? AND id > 43",
                                                 (self.obj,)) or 0)
        if e.get("type") in (None, ""):
            e["type"] = "text"
        if e.get("type") == "multiselect" and e.get("defaultValue") is None:
            e["defaultValue"] = ""
        e["dateAdded"] = _to_db(e.get("dateAdded"))
        return self.store._insert_field_row(e, add_column=True)

    def update(self, eid: int, e: dict[str, Any]) -> None:
        self.store.update("lead_fields", eid, {
            "label": e.get("label"), "is_published": int(bool(e.get("isPublished", True))),
            "date_modified": _to_db(e.get("dateModified")), "modified_by": e.get("modifiedBy"),
            "modified_by_user": e.get("modifiedByUser"), "field_group": e.get("group") or "core",
            "field_order": e.get("order") or 0, "default_value": e.get("defaultValue"),
            "is_required": int(bool(e.get("isRequired"))), "is_listable": int(bool(e.get("isListable", True))),
            "is_visible": int(bool(e.get("isVisible", True))),
            "is_short_visible": int(bool(e.get("isShortVisible"))),
            "is_unique_identifier": int(bool(e.get("isUniqueIdentifier"))),
            "is_publicly_updatable": int(bool(e.get("isPubliclyUpdatable"))),
            "properties": json.dumps(e.get("properties") or {})})
        self.store._field_cache.clear()

    def delete(self, eid: int) -> None:
        self.store.execute("DELETE FROM lead_fields WHERE id = ?", (eid,))
        self.store._field_cache.clear()


class JsonBackend:
    """One Mautic table per context holding each entity's serialized JSON in ``data``."""

    def __init__(self, app: Mautic, table: str):
        self.store, self.table = app.store, table

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(r["data"]) for r in self.store.query(
            f'SELECT data FROM "{self.table}" WHERE data IS NOT NULL ORDER BY id')]

    def get(self, eid: int) -> dict[str, Any] | None:
        r = self.store.one(f'SELECT data FROM "{self.table}" WHERE id = ? AND data IS NOT NULL', (eid,))
        return json.loads(r["data"]) if r else None

    def insert(self, e: dict[str, Any]) -> int:
        with self.store.lock:
            new_id = self.store.insert(self.table, {"data": "{}"})
            e["id"] = new_id
            self.update(new_id, e)
        return new_id

    def update(self, eid: int, e: dict[str, Any]) -> None:
        self.store.execute(f'UPDATE "{self.table}" SET data = ? WHERE id = ?', (json.dumps(e), eid))
        if self.table == "lead_devices":  # the devices context is also the lead_devices stats table
            lead = e.get("lead") if isinstance(e.get("lead"), dict) else {}
            self.store.execute(
                "UPDATE lead_devices SET lead_id = ?, device = ?, device_brand = ?, device_model = ?, device_os_name = ?, "
                "device_os_shortname = ?, device_os_version = ?, device_os_platform = ?, "
                "date_added = COALESCE(date_added, datetime('now')) WHERE id = ?",
                (lead.get("id"), e.get("device"), e.get("deviceBrand"), e.get("deviceModel"), e.get("deviceOsName"),
                 e.get("deviceOsShortName"), e.get("deviceOsVersion"), e.get("deviceOsPlatform"), eid))

    def delete(self, eid: int) -> None:
        self.store.execute(f'DELETE FROM "{self.table}" WHERE id = ?', (eid,))


def _to_db(v: Any) -> Any:
    if isinstance(v, str) and "T" in v:
        return v[:19].replace("T", " ")
    return v


class Generic:
    """CRUD, lists and batches for every context in ``CONTEXTS``."""

    def __init__(self, app: Mautic):
        self.app = app
        self.backends: dict[str, Any] = {}
        for name in CONTEXTS:
            if name == "contactFields":
                self.backends[name] = FieldBackend(app, "lead")
            elif name == "companyFields":
                self.backends[name] = FieldBackend(app, "company")
            else:
                self.backends[name] = JsonBackend(app, GENERIC_TABLES[name])

    def present(self, ctx: Ctx, e: dict[str, Any], created: bool = False) -> dict[str, Any]:
        """The entity as the API shows it: notes and devices embed their contact in Mautic's shapes."""
        lead_ref = e.get("lead") if isinstance(e, dict) else None
        if ctx.name in ("notes", "devices") and isinstance(lead_ref, dict) and "id" in lead_ref:
            lead = self.app.contacts.get_row("leads", lead_ref["id"])
            if lead is None:
                return {**e, "lead": None}
            fields: Any = self.app.contacts.groups_without_all(lead) if created else []
            if ctx.name == "notes":
                lead_json = {"id": lead["id"], "points": int(lead.get("points") or 0), "color": lead.get("color"),
                             "fields": fields}
            else:
                lead_json = self.app.contacts.serialize_flat(lead, fields)
            return {**e, "lead": lead_json}
        return e

    # -- helpers for other modules ------------------------------------------------------------
    def get_raw(self, ctx: str, eid: Any) -> dict[str, Any] | None:
        try:
            return self.backends[ctx].get(int(eid))
        except (TypeError, ValueError):
            return None

    def find_tag(self, name: str) -> int | None:
        return self.app.store.scalar("SELECT id FROM lead_tags WHERE json_extract(data, '$.tag') = ? LIMIT 1", (name,))

    def create_tag(self, name: str) -> int:
        return self.backends["tags"].insert({"id": None, "tag": name, "description": None})

    def find_by(self, ctx: str, key: str, value: Any) -> dict[str, Any] | None:
        table = GENERIC_TABLES[ctx]
        r = self.app.store.one(f"SELECT data FROM \"{table}\" WHERE json_extract(data, '$.{key}') = ? LIMIT 1",
                               (value,))
        return json.loads(r["data"]) if r else None

    # -- building entities ------------------------------------------------------------------------
    def _category(self, v: Any) -> Any:
        if isinstance(v, dict):
            v = v.get("id")
        if v in (None, "", 0):
            return None
        cat = self.get_raw("categories", v)
        if cat is None:
            raise server_error()
        return {"createdByUser": cat.get("createdByUser"), "modifiedByUser": cat.get("modifiedByUser"),
                "id": cat["id"], "title": cat.get("title"), "alias": cat.get("alias"),
                "description": cat.get("description"), "color": cat.get("color"), "bundle": cat.get("bundle")}

    def _overlay(self, ctx: Ctx, entity: dict[str, Any], payload: dict[str, Any]) -> None:
        template = RECORDED["templates"].get(ctx.name) or {}
        for k, v in payload.items():
            if k in READ_ONLY_KEYS or k not in template or k in ctx.ignore:
                continue
            tv = template.get(k)
            if k == "lists" and ctx.name in ("emails", "campaigns"):
                entity[k] = [s for s in (self._segment_ref(x) for x in (v if isinstance(v, list) else [v])) if s]
            elif k == "channels" and ctx.name == "marketingmessages" and isinstance(v, list) and v:
                raise ApiError(400, "This form should not contain extra fields.",
                               details={"1": ["This form should not contain extra fields."]})
            elif k == "channels" and ctx.name == "marketingmessages" and isinstance(v, dict):
                entity[k] = [{"id": None, "channel": name, "channelId": (c or {}).get("channelId"),
                              "channelName": None, "isEnabled": bool((c or {}).get("isEnabled", True))}
                             for name, c in v.items()]
            elif isinstance(tv, list) and tv and isinstance(tv[0], dict) and isinstance(v, list):
                entity[k] = [self._child(ctx, k, tv[0], item) for item in v]
            elif isinstance(tv, dict) and tv and isinstance(v, dict) and k not in ("category", "role", "lead"):
                entity[k] = {**{kk: None for kk in tv}, **(entity.get(k) or {}), **v}
            elif k == "category":
                entity[k] = self._category(v)
            elif k == "role" and ctx.name == "users":
                role = self.get_raw("roles", v.get("id") if isinstance(v, dict) else v)
                entity[k] = ({kk: role.get(kk) for kk in ("createdByUser", "modifiedByUser", "id", "name",
                                                          "description", "isAdmin", "rawPermissions")}
                             if role else None)
            elif k == "lead" and ctx.name in ("notes", "devices"):
                entity[k] = self._lead_ref(v)
            elif isinstance(template.get(k), bool) and not isinstance(v, bool):
                entity[k] = str(v).lower() in ("1", "true", "yes", "on")
            else:
                entity[k] = v
        if ctx.name == "users" and isinstance(payload.get("plainPassword"), dict | str):
            pass  # passwords are accepted and never echoed
        if "alias" in template and not entity.get("alias"):
            sep = "_" if ctx.name in ("forms", "contactFields", "companyFields") else "-"
            entity["alias"] = slug(entity.get("name") or entity.get("title") or entity.get("label"), sep)
        if ctx.name in ("contactFields", "companyFields") and isinstance(entity.get("properties"), dict):
            entity["properties"] = {k: (str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
                                    for k, v in entity["properties"].items()}
        if ctx.name == "segments" and not entity.get("publicName"):
            entity["publicName"] = entity.get("name")

    def _child(self, ctx: Ctx, key: str, tpl: dict[str, Any], item: Any) -> Any:
        """A nested element (form field, trigger event, filter) in the recorded element's key set."""
        if not isinstance(item, dict):
            return item
        out = {k: (None if not isinstance(v, list | dict) else type(v)()) for k, v in tpl.items()}
        for k, v in item.items():
            if k in tpl or not tpl:
                tv = tpl.get(k)
                out[k] = {**{kk: None for kk in tv}, **v} if isinstance(tv, dict) and isinstance(v, dict) else v
        if "id" in tpl and not isinstance(item.get("id"), int):
            self._child_seq = getattr(self, "_child_seq", 0) + 1
            out["id"] = self._child_seq
        return out

    def _segment_ref(self, v: Any) -> dict[str, Any] | None:
        seg = self.get_raw("segments", v.get("id") if isinstance(v, dict) else v)
        if seg is None:
            return None
        return {"createdByUser": seg.get("createdByUser"), "modifiedByUser": seg.get("modifiedByUser"),
                "id": seg["id"], "name": seg.get("name"), "publicName": seg.get("publicName"),
                "alias": seg.get("alias"), "description": seg.get("description"), "category": seg.get("category")}

    def _lead_ref(self, v: Any) -> Any:
        lead = self.app.contacts.get_row("leads", v.get("id") if isinstance(v, dict) else v)
        if lead is None:
            raise server_error()
        return {"id": lead["id"]}

    def _validate(self, ctx: Ctx, entity: dict[str, Any]) -> None:
        details: dict[str, list[str]] = {}
        if ctx.name == "assets" and not entity.get("title"):
            raise validation_error({"language": ["A value is required."]})  # as recorded (076)
        for key, msg in ctx.required:
            if entity.get(key) in (None, "", []):
                details[key] = [msg]
        if ctx.name == "webhooks" and entity.get("webhookUrl") and not str(entity["webhookUrl"]).startswith(
                ("http://", "https://")):
            details["webhookUrl"] = ["A valid URL is required."]
        if details:
            raise validation_error(details)

    def create(self, ctx: Ctx, payload: Any, batch: bool = False) -> dict[str, Any]:
        if not isinstance(payload, dict):
            payload = {}
        if ctx.name == "campaigns" and not batch and not payload.get("events"):
            raise ApiError(400, "At least one event is required. Use the Launch Campaign Builder button to add one.")
        if ctx.name == "devices" and not payload.get("lead"):
            raise server_error()
        if ctx.name == "notes" and payload.get("lead") is not None and not self.app.contacts.get_row(
                "leads", payload.get("lead")):
            raise server_error()
        entity = blank_template(ctx.name)
        self._overlay(ctx, entity, payload)
        self._validate(ctx, entity)
        user = self.app.current_user()
        now = iso(db_ts(self.app.now()))
        stamp = {"dateAdded": now, "createdBy": user["id"], "createdByUser": user["name"],
                 # 6.0+ sets dateModified on create (versions sheet §5, PR #14433)
                 "dateModified": now if ctx.modified_on_create or self.app.version.modified_on_create else None,
                 "modifiedBy": user["id"] if ctx.modified_by_on_create else None,
                 "modifiedByUser": user["name"] if ctx.modified_by_on_create else None}
        for k, v in stamp.items():
            if k in entity:
                entity[k] = v
        entity["id"] = None
        backend = self.backends[ctx.name]
        new_id = backend.insert(entity)
        saved = backend.get(new_id)
        assert saved is not None
        if ctx.name == "campaigns":
            saved["events"] = self._campaign_events(saved, payload.get("events") or [])
            backend.update(new_id, saved)
        self.app.audit(_bundle(ctx), ctx.item, new_id, "create", {})
        return saved

    def _campaign_events(self, campaign: dict[str, Any], events: list[Any]) -> list[dict[str, Any]]:
        out = []
        for ev in events:
            if not isinstance(ev, dict):
                continue
            e = blank_template("campaignevents")
            for k, v in ev.items():
                if k in e and k != "id":
                    e[k] = v
            e["campaign"] = {"id": campaign["id"], "name": campaign.get("name"), "category": None,
                             "description": campaign.get("description")}
            e["id"] = None
            eid = self.backends["campaignevents"].insert(e)
            e["id"] = eid
            self.backends["campaignevents"].update(eid, e)
            out.append({k: v for k, v in e.items() if k != "campaign"})
        return out

    def edit(self, ctx: Ctx, eid: int, payload: Any, put: bool) -> dict[str, Any]:
        backend = self.backends[ctx.name]
        current = backend.get(eid)
        if current is None:
            raise not_found()
        if not isinstance(payload, dict):
            payload = {}
        if put:
            if ctx.put_existing == "500":
                raise server_error()
            if isinstance(ctx.put_existing, dict):
                raise validation_error(ctx.put_existing)
            entity = blank_template(ctx.name)
            for k in READ_ONLY_KEYS:
                if k in current:
                    entity[k] = current[k]
        else:
            entity = copy.deepcopy(current)
        self._overlay(ctx, entity, payload)
        self._validate(ctx, entity)
        user = self.app.current_user()
        entity["id"] = eid
        for k, v in (("dateModified", iso(db_ts(self.app.now()))), ("modifiedBy", user["id"]),
                     ("modifiedByUser", user["name"])):
            if k == "dateModified" and not self.app.version.modified_on_update and entity.get(k):
                continue  # 6.0+: set only while empty, updates do not move it (mautic#15418, #15511)
            if k in entity:
                entity[k] = v
        backend.update(eid, entity)
        self.app.audit(_bundle(ctx), ctx.item, eid, "update", {})
        saved = backend.get(eid)
        assert saved is not None
        return saved

    def delete(self, ctx: Ctx, eid: int) -> dict[str, Any]:
        backend = self.backends[ctx.name]
        current = backend.get(eid)
        if current is None:
            raise not_found()
        backend.delete(eid)
        if ctx.name == "segments":
            self.app.store.execute("DELETE FROM lead_lists_leads WHERE leadlist_id = ?", (eid,))
        if ctx.name == "tags":
            self.app.store.execute("DELETE FROM lead_tags_xref WHERE tag_id = ?", (eid,))
        self.app.audit(_bundle(ctx), ctx.item, eid, "delete", {"name": current.get("name") or current.get("title")})
        return current

    # -- lists ------------------------------------------------------------------------------------
    def list(self, ctx: Ctx, q: dict[str, Any]) -> dict[str, Any]:
        items = self.backends[ctx.name].all()
        where = q.get("where")
        if isinstance(where, dict | list) and where:
            items = [e for e in items if _match_where(e, where)]
        # 5.1-6.x: `where` replaces the forced published filter; a later 7.x applies both (versions sheet §4)
        if (not (isinstance(where, dict | list) and where) or self.app.version.where_keeps_forced_filters) \
                and str(q.get("published", "")).lower() in ("1", "true"):
            items = [e for e in items if e.get("isPublished", True)]
        search = str(q.get("search") or "").strip()
        if search:
            items = [e for e in items if self._search(ctx, e, search)]
        order_by = q.get("orderBy")
        direction = str(q.get("orderByDir") or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise server_error()
        keys = [k.strip() for k in str(order_by).split(",")] if order_by else list(ctx.order)
        for k in keys:
            if items and k not in items[0] and k != "id":
                raise server_error()
        items.sort(key=lambda e: tuple(_sort_key(e.get(k)) for k in keys), reverse=direction == "DESC")
        start, limit = _paging(q, 30)
        total = len(items)
        page = items[start:start + limit] if limit else items[start:]
        page = [self.present(ctx, e) for e in page]
        if ctx.keyed:
            body: Any = {str(e["id"]): e for e in page} if page else []
        else:
            body = page
        return {"total": total, ctx.list_key: body}

    def _search(self, ctx: Ctx, e: dict[str, Any], search: str) -> bool:
        for term in search.split():
            neg = term.startswith("!")
            term = term.lstrip("!")
            if term.startswith("ids:"):
                ok = str(e.get("id")) in term[4:].split(",")
            elif term == "is:published":
                ok = bool(e.get("isPublished"))
            elif term == "is:unpublished":
                ok = not e.get("isPublished")
            elif ":" in term:
                k, v = term.split(":", 1)
                ok = bool(like(f"{v}%", str(e.get(k) or "")))
            else:
                ok = any(like(f"%{term}%", str(e.get(f) or "")) for f in ctx.search)
            if ok == neg:
                return False
        return True


def _bundle(ctx: Ctx) -> str:
    return {"segments": "lead", "tags": "lead", "notes": "lead", "contactFields": "lead",
            "companyFields": "lead", "stages": "stage", "marketingmessages": "channel"}.get(ctx.name, ctx.item)


def _sort_key(v: Any) -> tuple[int, Any]:
    if v is None:
        return (0, "")
    if isinstance(v, bool | int | float):
        return (1, float(v))
    if isinstance(v, dict | list):
        return (2, json.dumps(v))
    return (2, str(v).lower())


def _paging(q: dict[str, Any], default_limit: int) -> tuple[int, int]:
    try:
        start = int(q.get("start") or 0)
        raw_limit = q.get("limit")
        limit = default_limit if raw_limit is None else int(raw_limit or 0)
    except (TypeError, ValueError):
        raise server_error() from None
    if start < 0 or limit < 0:
        raise server_error()
    return start, limit


def _match_where(e: dict[str, Any], where: Any) -> bool:
    clauses = where.values() if isinstance(where, dict) else where
    for c in clauses:
        if not isinstance(c, dict):
            continue
        expr = c.get("expr")
        col = c.get("col") or c.get("column")
        val = c.get("val", c.get("value"))
        if expr in ("andX", "orX") and isinstance(val, dict | list):
            subs = [_match_where(e, [s]) for s in (val.values() if isinstance(val, dict) else val)]
            if not (all(subs) if expr == "andX" else any(subs)):
                return False
            continue
        if not col or col not in e:
            if col:
                raise server_error()
            continue
        v = e.get(col)
        sv = "" if v is None else (str(int(v)) if isinstance(v, bool) else str(v))
        try:
            if expr == "eq":
                ok = fold(sv) == fold(special_chars(str(val)))
            elif expr == "neq":
                ok = fold(sv) != fold(special_chars(str(val)))
            elif expr in ("lt", "lte", "gt", "gte"):
                if v is None:
                    ok = False
                else:
                    a, b = _cmp_pair(v, val)
                    ok = {"lt": a < b, "lte": a <= b, "gt": a > b, "gte": a >= b}[expr]
            elif expr == "like":
                ok = bool(like(special_chars(str(val)), sv))
            elif expr == "isNull":
                ok = v is None
            elif expr == "isNotNull":
                ok = v is not None
            elif expr in ("in", "notIn"):
                if isinstance(val, dict | list):
                    raise server_error()
                wanted = {fold(x) for x in in_values(str(val if val is not None else "")) if x is not None}
                ok = (fold(sv) in wanted) == (expr == "in")
            else:
                continue
        except TypeError:
            continue
        if not ok:
            return False
    return True


def _cmp_pair(a: Any, b: Any) -> tuple[Any, Any]:
    try:
        return float(a), float(b)
    except (TypeError, ValueError):
        return str(a).replace("T", " ")[:19], str(b)
