# ruff: noqa: E501
"""Contacts and companies: Mautic's DBAL-backed contexts with custom fields as columns.

Serialization follows the recorded shapes, which differ by code path: a freshly created entity ("new" style:
field ids as ints, ``utmtags: null``), an entity read back from the repository ("repo" style: field rows as
raw DB strings, PHP-serialized properties) and the DNC answers ("dnc" style: core values flattened).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from mautic_sim.util import Raw, db_ts, iso, js, php_serialize, validation_error

if TYPE_CHECKING:
    from mautic_sim.app import Mautic

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TRUE_WORDS = {"1", "true", "yes", "on", "y"}
FALSE_WORDS = {"0", "false", "no", "off", "n", ""}
REGIONS = {
    # US states, Canadian provinces and a few European regions: enough to tell valid from invalid.
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida",
    "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine",
    "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska",
    "Nevada", "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
    "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas",
    "Utah", "Vermont", "Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming", "District of Columbia",
    "Alberta", "British Columbia", "Manitoba", "New Brunswick", "Newfoundland and Labrador", "Nova Scotia",
    "Ontario", "Prince Edward Island", "Quebec", "Saskatchewan", "Berlin", "Bayern", "Hamburg", "Hessen",
    "Lombardia", "Lazio", "Piemonte", "Île-de-France", "Catalunya", "Madrid", "England", "Scotland", "Wales",
}
CONTACT_COLUMN_ALIASES = {  # top-level camelCase where columns -> DB columns (convertOrmProperties)
    "dateAdded": "date_added", "dateModified": "date_modified", "dateIdentified": "date_identified",
    "lastActive": "last_active", "isPublished": "is_published", "createdBy": "created_by",
    "modifiedBy": "modified_by", "owner": "owner_id", "stage": "stage_id",
}


def _num_out(field: dict[str, Any], value: Any) -> Any:
    if value is None:
        return None
    scale = field["props"].get("scale") if isinstance(field["props"], dict) else None
    try:
        if scale not in (None, "", 0, "0"):
            return float(value)
        return int(float(value))
    except (TypeError, ValueError):
        return value


def out_value(field: dict[str, Any], value: Any, style: str, submitted: bool = True) -> Any:
    """A stored column value as the API shows it."""
    t = field["type"]
    if value is None:
        return 0 if field["alias"] == "points" else None
    if t == "number":
        return _num_out(field, value)
    if t == "boolean":
        if value == "":
            return ""
        if style == "new" or (style == "edit" and submitted):
            return bool(value)  # a value that went through the form is typed; one read back from the DB is not
        if style == "edit":
            return True if int(value) else 0  # as recorded after a PATCH: true, but a stored false stays 0 (059, 060)
        return str(int(value)) if style == "list" else int(value)
    return value


def _options(field: dict[str, Any]) -> list[tuple[str, str]]:
    lst = field["props"].get("list") if isinstance(field["props"], dict) else None
    out = []
    for o in lst or []:
        if isinstance(o, dict):
            out.append((str(o.get("value")), str(o.get("label"))))
        else:
            out.append((str(o), str(o)))
    return out


def normalized(field: dict[str, Any], value: Any) -> Any:
    if value is None:
        return ""
    t = field["type"]
    if t == "boolean":
        props = field["props"] if isinstance(field["props"], dict) else {}
        return props.get("yes", "Yes") if value else props.get("no", "No")
    if t in ("select", "multiselect"):
        labels = dict(_options(field))
        parts = str(value).split("|") if t == "multiselect" else [str(value)]
        return "|".join(labels.get(p, p) for p in parts)
    return value


def parse_dt(raw: Any) -> datetime | None:
    s = str(raw).strip()
    if not s:
        return None
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        for fmt in ("%Y-%m-%d %H:%M", "%d.%m.%Y", "%m/%d/%Y"):
            try:
                dt = datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        else:
            return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def clean_value(field: dict[str, Any], raw: Any) -> tuple[Any, str | None]:
    """(stored value, error message or None) for one submitted field value."""
    t = field["type"]
    if raw is None or (isinstance(raw, str) and raw == "") or (isinstance(raw, list) and not raw):
        return None, None
    if t == "number":
        try:
            return float(raw), None
        except (TypeError, ValueError):
            return None, "This value is not valid."
    if t == "boolean":
        if isinstance(raw, bool):
            return int(raw), None
        s = str(raw).strip().lower()
        if s in TRUE_WORDS:
            return 1, None
        if s in FALSE_WORDS:
            return 0, None
        return None, "This value is not valid."
    if t in ("date", "datetime"):
        dt = parse_dt(raw)
        if dt is None:
            return None, "This value is not valid."
        return (dt.strftime("%Y-%m-%d") if t == "date" else dt.strftime("%Y-%m-%d %H:%M:00")), None
    if t == "email":
        s = str(raw).strip()
        if not EMAIL_RE.match(s):
            return None, f"{s} is invalid."
        return s, None
    if t == "select":
        values = [v for v, _ in _options(field)]
        if values and str(raw) not in values:
            return None, "This value is not valid."
        return str(raw), None
    if t == "multiselect":
        parts = raw if isinstance(raw, list) else str(raw).split("|")
        parts = [str(p) for p in parts if str(p) != ""]
        values = [v for v, _ in _options(field)]
        if values and any(p not in values for p in parts):
            return None, "This value is not valid."
        return "|".join(parts) if parts else None, None
    if t == "region" and str(raw) not in REGIONS:
        return None, "This value is not valid."
    if isinstance(raw, dict | list):
        return json.dumps(raw), None
    if isinstance(raw, bool):
        return str(int(raw)), None
    return str(raw) if not isinstance(raw, int | float) else str(raw).removesuffix(".0"), None


# Column sizes of Mautic 5.1 (inferred from its schema, not recorded): core string fields are VARCHAR(191)
# (the utf8mb4 index limit), custom fields VARCHAR(charLengthLimit), 64 unless set (recorded in audit_log
# rows of created fields); textarea/html are TEXT. MySQL's strict mode refuses longer values, so the row is
# refused with Symfony's Length message rather than truncated.
CORE_LENGTH, CUSTOM_LENGTH = 191, 64
TEXT_TYPES = frozenset({"textarea", "html"})


def too_long(field: dict[str, Any], value: Any) -> str | None:
    """Symfony's Length message when ``value`` does not fit the field's column, else None."""
    if not isinstance(value, str) or field["type"] in TEXT_TYPES:
        return None
    limit = CORE_LENGTH if field.get("is_fixed") else CUSTOM_LENGTH
    if len(value) <= limit:
        return None
    return f"This value is too long. It should have {limit} characters or less."


def field_entry(field: dict[str, Any], value: Any, style: str, obj: str, submitted: bool = True) -> dict[str, Any]:
    v = out_value(field, value, style, submitted)
    if style == "new":
        if obj == "company":
            return {"id": field["id"], "group": field["field_group"], "label": field["label"],
                    "alias": field["alias"], "type": field["type"], "value": v, "normalizedValue": normalized(field, v)}
        props = field["props"] or []
        return {"id": field["id"], "group": field["field_group"], "label": field["label"], "alias": field["alias"],
                "type": field["type"], "properties": props,
                "value": None if field["alias"] == "points" else v,
                "normalizedValue": "" if field["alias"] == "points" else normalized(field, v)}
    static = field.get("_static")
    if static is None:  # cached on the (cached) field definition: PHP-serializing per contact is the hot path
        static = {"id": str(field["id"]), "label": field["label"], "alias": field["alias"], "type": field["type"],
                  "group": field["field_group"], "object": field["object"], "is_fixed": str(field["is_fixed"]),
                  "properties": php_serialize(field["props"] or {})}
        field["_static"] = static
    entry = dict(static)
    if style != "dnc":
        entry["default_value"] = field["default_value"]
    entry["value"] = v
    entry["normalizedValue"] = "" if v is None else normalized(field, v)
    return entry


DEVICE_FLAT = ["title", "firstname", "lastname", "company", "position", "email", "phone", "mobile", "address1",
               "address2", "city", "state", "zipcode", "timezone", "country"]


class Contacts:
    """Contact and company reads/writes on the store."""

    def __init__(self, app: Mautic):
        self.app = app
        self.store = app.store
        self._tl = threading.local()  # per-request caches of one page (owners, stages, UTM tags)

    # -- serialization ----------------------------------------------------------------------------
    def _groups(self, obj: str, row: dict[str, Any], style: str) -> dict[str, Any]:
        submitted = getattr(self.app._local, "submitted", None) or set()
        if obj == "lead":
            names = ["core", "social", "personal", "professional"]
        elif style == "new":
            names = ["core", "professional", "social", "personal"]
        else:
            names = ["core", "professional", "other"]
        groups: dict[str, dict[str, Any]] = {g: {} for g in names}
        flat: dict[str, Any] = {"id": str(row["id"]) if obj == "lead" else row["id"]}
        for f in self.store.fields(obj):
            if not f["is_published"]:
                continue
            value = row.get(f["alias"])
            sub = f["alias"] in submitted
            groups.setdefault(f["field_group"], {})[f["alias"]] = field_entry(f, value, style, obj, sub)
            flat[f["alias"]] = out_value(f, value, style, sub)
        out: dict[str, Any] = {g: (v if v else []) for g, v in groups.items()}
        out["all"] = flat
        return out

    def groups_without_all(self, row: dict[str, Any]) -> dict[str, Any]:
        groups = self._groups("lead", row, "repo")
        groups.pop("all", None)
        return groups

    def serialize_flat(self, row: dict[str, Any], fields: Any) -> dict[str, Any]:
        """The contact as embedded in a device: core values at the top level, full owner and stage."""
        out: dict[str, Any] = {"createdByUser": row.get("created_by_user"), "modifiedByUser": row.get("modified_by_user"),
                               "id": row["id"], "points": int(row.get("points") or 0), "color": row.get("color")}
        out.update({a: row.get(a) for a in DEVICE_FLAT})
        one = self.serialize(row, "repo")
        owner = self.app.generic.get_raw("users", row["owner_id"]) if row.get("owner_id") else None
        stage = self.app.generic.get_raw("stages", row["stage_id"]) if row.get("stage_id") else None
        def summary(e: dict[str, Any] | None) -> dict[str, Any] | None:
            skip = ("isPublished", "dateAdded", "dateModified", "createdBy", "modifiedBy")
            return {k: v for k, v in e.items() if k not in skip} if e else None
        out.update({"fields": fields, "lastActive": iso(row.get("last_active")), "owner": summary(owner),
                    "ipAddresses": [], "tags": one["tags"], "utmtags": one["utmtags"], "stage": summary(stage),
                    "dateIdentified": iso(row.get("date_identified")),
                    "preferredProfileImage": row.get("preferred_profile_image"),
                    "doNotContact": one["doNotContact"], "frequencyRules": []})
        return out

    def owner_json(self, owner_id: int | None, full: bool = False) -> dict[str, Any] | None:
        if not owner_id:
            return None
        cache = getattr(self._tl, "cache", None)
        if cache is not None:
            if owner_id not in cache["users"]:
                cache["users"][owner_id] = self.app.generic.get_raw("users", owner_id)
            user = cache["users"][owner_id]
        else:
            user = self.app.generic.get_raw("users", owner_id)
        if user is None:
            return None
        if full:
            return self.app.user_self(user)
        return {"createdByUser": user.get("createdByUser"), "modifiedByUser": user.get("modifiedByUser"),
                "id": user["id"], "username": user["username"], "firstName": user["firstName"],
                "lastName": user["lastName"]}

    def stage_json(self, stage_id: int | None) -> dict[str, Any] | None:
        if not stage_id:
            return None
        cache = getattr(self._tl, "cache", None)
        if cache is not None:
            if stage_id not in cache["stages"]:
                cache["stages"][stage_id] = self.app.generic.get_raw("stages", stage_id)
            st = cache["stages"][stage_id]
        else:
            st = self.app.generic.get_raw("stages", stage_id)
        if st is None:
            return None
        return {"createdByUser": st.get("createdByUser"), "modifiedByUser": st.get("modifiedByUser"),
                "id": st["id"], "name": st.get("name"), "category": st.get("category"),
                "weight": st.get("weight"), "description": st.get("description")}

    def _raw_plan(self, style: str) -> list[tuple[str, str, str, str, dict[str, Any]]]:
        """Per published field: (group, JSON alias, JSON prefix of the entry, kind, field), cached with the fields."""
        fields = self.store.fields("lead")
        plan = fields[0].get(f"_plan_{style}") if fields else None
        if plan is None:
            plan = []
            for f in fields:
                if not f["is_published"]:
                    continue
                static = field_entry(f, None, "repo", "lead")
                static.pop("value"), static.pop("normalizedValue")
                prefix = json.dumps(static, separators=(",", ":"))[:-1] + ',"value":'
                simple = f["type"] not in ("number", "boolean", "select", "multiselect") and f["alias"] != "points"
                plan.append((f["field_group"], js(f["alias"]), prefix, "simple" if simple else "typed", f))
            if fields:
                fields[0][f"_plan_{style}"] = plan
        return plan

    def _groups_raw(self, row: dict[str, Any], style: str) -> Raw:
        """``fields`` of a contact as JSON text: same content as ``_groups``, built from cached fragments."""
        groups: dict[str, list[str]] = {"core": [], "social": [], "personal": [], "professional": []}
        flat = [f'"id":"{row["id"]}"']
        for group, alias, prefix, kind, f in self._raw_plan(style):
            value = row.get(f["alias"])
            if kind == "simple":
                if value is None:
                    vj, nvj = "null", '""'
                else:
                    vj = nvj = js(value)
            else:
                v = out_value(f, value, style)
                vj = js(v)
                nvj = '""' if v is None else js(normalized(f, v))
            bucket = groups.get(group)
            if bucket is None:
                bucket = groups[group] = []
            bucket.append(f'{alias}:{prefix}{vj},"normalizedValue":{nvj}}}')
            flat.append(f"{alias}:{vj}")
        parts = [f'"{g}":' + ("{" + ",".join(items) + "}" if items else "[]") for g, items in groups.items()]
        parts.append('"all":{' + ",".join(flat) + "}")
        return Raw("{" + ",".join(parts) + "}")

    def serialize_many(self, rows: list[dict[str, Any]], style: str = "repo",
                       minimal: bool = False, raw: bool = False) -> list[dict[str, Any]]:
        """Serialize contacts, loading tags and DNC for the whole page at once."""
        ids = [r["id"] for r in rows]
        utm: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids and not minimal and style != "new":
            marks = ",".join("?" * len(ids))
            for r in self.store.query(f"SELECT * FROM lead_utmtags WHERE lead_id IN ({marks}) ORDER BY id", ids):
                utm[r["lead_id"]].append(self._utm_json(r))
        self._tl.cache = {"utm": utm, "users": {}, "stages": {}, "raw": raw}
        try:
            return self._serialize_page(rows, style, minimal, ids)
        finally:
            self._tl.cache = None

    def _serialize_page(self, rows: list[dict[str, Any]], style: str, minimal: bool,
                        ids: list[int]) -> list[dict[str, Any]]:
        tags: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        dnc: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids and not minimal:
            marks = ",".join("?" * len(ids))
            for t in self.store.query(
                    f"SELECT x.lead_id, t.id, t.data FROM lead_tags_xref x JOIN lead_tags t ON t.id = x.tag_id "
                    f"WHERE x.lead_id IN ({marks}) ORDER BY t.id DESC", ids):
                d = json.loads(t["data"])
                tags[t["lead_id"]].append({"id": t["id"], "tag": d.get("tag"), "description": d.get("description")})
            for d in self.store.query(f"SELECT * FROM lead_donotcontact WHERE lead_id IN ({marks})", ids):
                dnc[d["lead_id"]].append(self._dnc_json(d, style))
        return [self.serialize(r, style, minimal, tags.get(r["id"], []), dnc.get(r["id"], [])) for r in rows]

    def _dnc_json(self, d: dict[str, Any], style: str) -> dict[str, Any]:
        if style == "dnc":
            return {"id": d["id"], "dateAdded": iso(d["date_added"]), "reason": int(d["reason"]),
                    "comments": d["comments"], "channel": d["channel"]}
        return {"id": d["id"], "reason": int(d["reason"]), "comments": d["comments"], "channel": d["channel"],
                "channelId": d["channel_id"]}

    def serialize(self, row: dict[str, Any], style: str = "repo", minimal: bool = False,
                  tags: list[dict[str, Any]] | None = None, dnc: list[dict[str, Any]] | None = None,
                  deleted: bool = False, fields_row: dict[str, Any] | None = None) -> dict[str, Any]:
        if tags is None or dnc is None:
            if fields_row is not None:
                one = self.serialize_many([row], style, minimal)[0]
                return self.serialize(row, style, minimal, one.get("tags", []), one.get("doNotContact", []),
                                      deleted, fields_row)
            one = self.serialize_many([row], style, minimal)[0]
            if deleted:
                one["id"] = None
            return one
        out: dict[str, Any] = {
            "isPublished": bool(row.get("is_published", 1)), "dateAdded": iso(row["date_added"]),
            "dateModified": iso(row["date_modified"]), "createdBy": row["created_by"],
            "createdByUser": row["created_by_user"], "modifiedBy": row["modified_by"],
            "modifiedByUser": row["modified_by_user"], "id": None if deleted else row["id"],
            "points": int(row.get("points") or 0),
        }
        if style == "dnc":
            for alias in DEVICE_FLAT:
                if row.get(alias) is not None:
                    out[alias] = row[alias]
            groups = self._groups("lead", {**row, **(fields_row or {})}, "repo")
            groups.pop("all", None)
            out["fields"] = groups
            out["lastActive"] = iso(row["last_active"])
            out["owner"] = self.owner_json(row.get("owner_id"), full=True)
            out.update({"ipAddresses": [], "tags": tags, "utmtags": self._utm(row["id"]),
                        "stage": self.app.generic.get_raw("stages", row["stage_id"]) if row.get("stage_id") else None,
                        "dateIdentified": iso(row["date_identified"]), "doNotContact": dnc, "frequencyRules": []})
            return drop_nulls(out)
        out["color"] = row.get("color")
        cache = getattr(self._tl, "cache", None)
        if cache and cache.get("raw") and style in ("list", "repo"):
            out["fields"] = self._groups_raw(row, style)
        else:
            out["fields"] = self._groups("lead", row, style)
        if minimal:
            return out
        out.update({
            "lastActive": iso(row["last_active"]), "owner": self.owner_json(row.get("owner_id")),
            "ipAddresses": [], "tags": tags, "utmtags": None if style == "new" else self._utm(row["id"]),
            "stage": self.stage_json(row.get("stage_id")), "dateIdentified": iso(row["date_identified"]),
            "preferredProfileImage": row.get("preferred_profile_image"), "doNotContact": dnc,
            "frequencyRules": [],
        })
        return out

    def _utm(self, lead_id: int) -> list[dict[str, Any]]:
        cache = getattr(self._tl, "cache", None)
        if cache is not None and lead_id in cache["utm"]:
            return cache["utm"][lead_id]
        rows = self.store.query("SELECT * FROM lead_utmtags WHERE lead_id = ? ORDER BY id", (lead_id,))
        return [self._utm_json(r) for r in rows]

    @staticmethod
    def _utm_json(r: dict[str, Any]) -> dict[str, Any]:
        return {"id": r["id"], "query": json.loads(r["query"] or "[]"), "referer": r["referer"],
                "remoteHost": r["remote_host"], "url": r["url"], "userAgent": r["user_agent"],
                "utmCampaign": r["utm_campaign"], "utmContent": r["utm_content"], "utmMedium": r["utm_medium"],
                "utmSource": r["utm_source"], "utmTerm": r["utm_term"]}

    def serialize_company(self, row: dict[str, Any], style: str = "repo", deleted: bool = False) -> dict[str, Any]:
        return {"id": None if deleted else row["id"], "score": int(row.get("score") or 0),
                "fields": self._groups("company", row, style)}

    # -- reads ------------------------------------------------------------------------------------
    def get_row(self, table: str, row_id: Any) -> dict[str, Any] | None:
        try:
            row_id = int(row_id)
        except (TypeError, ValueError):
            return None
        return self.store.one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))

    # -- writes -----------------------------------------------------------------------------------
    def apply_fields(self, obj: str, payload: dict[str, Any], row: dict[str, Any] | None, mode: str,
                     overwrite_blank: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """Column values to write and validation errors, from a contact/company payload."""
        values: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for f in self.store.fields(obj):
            alias = f["alias"]
            if alias in ("points", "last_active") and obj == "lead":
                continue
            if alias not in payload:
                if mode == "put" and obj == "lead":  # Mautic blanks omitted fields on PUT: '' (0.0 for numbers)
                    values[alias] = 0.0 if f["type"] == "number" else ""
                elif mode == "put" and row is not None and row.get(alias) is not None:
                    values[alias] = None
                continue
            raw = payload[alias]
            if mode in ("new", "patch") and not isinstance(raw, bool) and _is_zero(raw):
                continue  # Mautic drops numeric zero on POST/PATCH (mautic#15030)
            if mode in ("new", "patch") and self.app.version.drops_fractions and _is_fraction(raw) \
                    and f["type"] == "number":
                continue  # and 0 < |v| < 1 up to 7.1 (mautic#16590, fixed in 7.2 by PR #16591)
            value, err = clean_value(f, raw)
            if not err:
                err = too_long(f, value)
            if err:
                errors[alias] = [err]
                continue
            if value is None and not (overwrite_blank or mode == "put"):
                continue
            values[alias] = value
        return values, errors

    def moves_modified(self, row: dict[str, Any], dnc_only: bool = False) -> bool:
        """Whether an update of ``row`` sets date_modified on the simulated version (versions sheet §5).

        5.1: always. 5.2+: not for a do-not-contact-only save (SkipModifiedInterface, PR #13994). 6.0+: only
        while it is empty (FormModel::setModifiedData guard, mautic#15418; 7.x *inferred*)."""
        version = self.app.version
        if dnc_only and not version.dnc_moves_modified:
            return False
        return version.modified_on_update or not row.get("date_modified")

    def find_duplicate(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        uniques = [f["alias"] for f in self.store.fields("lead") if f["is_unique_identifier"]]
        clauses, params = [], []
        for alias in uniques:
            v = payload.get(alias)
            if v not in (None, "") and not isinstance(v, dict | list):
                clauses.append(f'"{alias}" = ?')
                params.append(str(v).strip())
        if not clauses:
            return None
        return self.store.one(f"SELECT * FROM leads WHERE {' OR '.join(clauses)} ORDER BY date_added DESC, id DESC "
                              "LIMIT 1", params)

    def save_contact(self, payload: Any, mode: str, row: dict[str, Any] | None,
                     source: str = "api-single") -> tuple[dict[str, Any], int]:
        """Create or edit one contact. mode: new | patch | put. Returns (row, status).

        The whole de-duplicate-then-write runs under the store lock, so two concurrent creates with one email
        make one contact."""
        with self.store.lock:
            return self._save_contact(payload, mode, row, source)

    def _save_contact(self, payload: Any, mode: str, row: dict[str, Any] | None,
                      source: str) -> tuple[dict[str, Any], int]:
        if not isinstance(payload, dict):
            payload = {}
        status = 200
        merged_away: dict[str, Any] | None = None
        if mode == "new":
            dup = self.find_duplicate(payload)
            if dup is not None:
                row, mode = dup, "patch"
            else:
                status = 201
        elif row is not None:
            dup = self.find_duplicate(payload)
            if dup is not None and dup["id"] != row["id"]:
                merged_away = dup  # an edit that takes another contact's email merges that contact into this one
        overwrite = bool(payload.get("overwriteWithBlank")) or mode == "put"
        values, errors = self.apply_fields("lead", payload, row, mode, overwrite)
        if errors:
            raise validation_error(errors)
        app = self.app
        app._local.submitted = set(payload)
        now = db_ts(app.now())
        user = app.current_user()
        special: dict[str, Any] = {}
        if "owner" in payload:
            special["owner_id"] = _int_or_none(payload["owner"])
        elif mode == "put" and row is not None:
            special["owner_id"] = None
        if "stage" in payload:
            special["stage_id"] = _int_or_none(payload["stage"])
        if payload.get("lastActive"):
            dt = parse_dt(payload["lastActive"])
            if dt is not None:
                special["last_active"] = dt.strftime("%Y-%m-%d %H:%M:%S")
        if "points" in payload and not _is_zero(payload["points"]):
            with contextlib.suppress(TypeError, ValueError):
                special["points"] = int(float(payload["points"]))
        with self.store.lock:
            if row is None:
                # not anonymous once it has a name, email, company or social handle (Lead::isAnonymous); an
                # empty body makes an anonymous contact with dateIdentified null (recorded, 696)
                identified = any(values.get(a) for a in ("email", "firstname", "lastname", "company", "facebook",
                                                         "foursquare", "instagram", "linkedin", "skype", "twitter"))
                rec = {"date_added": now, "created_by": user["id"], "created_by_user": user["name"],
                       "is_published": 1, "points": 0, "date_identified": now if identified else None,
                       **values, **special}
                if app.version.modified_on_create:  # 6.0+ (versions sheet §5, PR #14433)
                    rec["date_modified"] = now
                lead_id = self.store.insert("leads", rec)
                if identified:
                    app.log_event(lead_id, "lead", source, "identified_contact",
                                  json.dumps({"object_description": user["name"]}))
                app.audit("lead", "lead", lead_id, "create", values)
                if identified:  # recorded (633): an "identified" row follows the "create" row
                    app.audit("lead", "lead", lead_id, "identified", {})
            else:
                lead_id = row["id"]
                rec = {**values, **special, "modified_by": user["id"], "modified_by_user": user["name"]}
                if self.moves_modified(row, dnc_only=not values and not special and "doNotContact" in payload):
                    rec["date_modified"] = now
                self.store.update("leads", lead_id, rec)
                app.audit("lead", "lead", lead_id, "update", values)
            if merged_away is not None:
                self._merge_into(lead_id, merged_away)
            self._apply_tags(lead_id, payload.get("tags"))
            if values.get("company"):
                self._link_company_by_name(lead_id, values["company"], now)
            if isinstance(payload.get("companies"), list):
                self._set_companies(lead_id, payload["companies"], now)
            if "stage_id" in special and special["stage_id"] and (row is None or row.get("stage_id") != special["stage_id"]):
                st = app.generic.get_raw("stages", special["stage_id"])
                self.store.insert("lead_stages_change_log", {
                    "lead_id": lead_id, "stage_id": special["stage_id"], "event_name": (st or {}).get("name"),
                    "action_name": "Stage changed via API", "date_added": now})
            for d in payload.get("doNotContact") or []:
                if isinstance(d, dict):
                    if int(d.get("reason", 3) or 0) == 0:
                        self.remove_dnc(lead_id, d.get("channel", "email"))
                    else:
                        self.add_dnc(lead_id, d.get("channel", "email"), int(d.get("reason", 3)),
                                     d.get("comments") or "", d.get("channelId"))
            saved = self.store.one("SELECT * FROM leads WHERE id = ?", (lead_id,))
        assert saved is not None
        return saved, status

    def _merge_into(self, winner_id: int, loser: dict[str, Any]) -> None:
        """ContactMerger (code reading, not recorded): the edited contact keeps its values, takes the other's
        where it has none, inherits tags and memberships; the other contact is deleted (audit_log)."""
        winner = self.store.one("SELECT * FROM leads WHERE id = ?", (winner_id,)) or {}
        fill = {a: v for a, v in loser.items() if a not in ("id", "date_added", "created_by", "created_by_user")
                and v not in (None, "") and winner.get(a) in (None, "")}
        fill["points"] = int(winner.get("points") or 0) + int(loser.get("points") or 0)
        self.store.update("leads", winner_id, fill)
        for table in ("lead_tags_xref", "lead_lists_leads", "campaign_leads", "companies_leads"):
            self.store.execute(f"UPDATE OR IGNORE {table} SET lead_id = ? WHERE lead_id = ?", (winner_id, loser["id"]))
        # the merge subscriber moves the loser's notes to the winner (LeadNoteRepository::updateLead)
        self.store.execute("UPDATE lead_notes SET data = json_set(data, '$.lead.id', ?) "
                           "WHERE json_extract(data, '$.lead.id') = ?", (winner_id, loser["id"]))
        self.delete_contact(loser)

    def _apply_tags(self, lead_id: int, tags: Any) -> None:
        if not tags:
            return
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",")]
        for t in tags:
            name = str(t.get("tag") if isinstance(t, dict) else t).strip()
            if not name:
                continue
            if name.startswith("-"):
                tag = self.app.generic.find_tag(name[1:])
                if tag:
                    self.store.execute("DELETE FROM lead_tags_xref WHERE lead_id = ? AND tag_id = ?", (lead_id, tag))
                continue
            tag_id = self.app.generic.find_tag(name) or self.app.generic.create_tag(name)
            self.store.execute("INSERT OR IGNORE INTO lead_tags_xref (lead_id, tag_id) VALUES (?, ?)",
                               (lead_id, tag_id))

    def _link_company_by_name(self, lead_id: int, name: str, now: str) -> None:
        comp = self.store.one("SELECT id FROM companies WHERE companyname = ? ORDER BY id LIMIT 1", (name,))
        if comp is None:
            user = self.app.current_user()
            cid = self.store.insert("companies", {"companyname": name, "date_added": now, "created_by": user["id"],
                                                  "created_by_user": user["name"], "social_cache": "a:0:{}"})
        else:
            cid = comp["id"]
        self.link_company(cid, lead_id, now, primary=True)

    def link_company(self, company_id: int, lead_id: int, now: str, primary: bool = True) -> None:
        if primary:
            self.store.execute("UPDATE companies_leads SET is_primary = 0 WHERE lead_id = ?", (lead_id,))
        self.store.execute("INSERT OR REPLACE INTO companies_leads (company_id, lead_id, date_added, is_primary) "
                           "VALUES (?, ?, ?, ?)", (company_id, lead_id, now, int(primary)))
        self.store.insert("lead_companies_change_log", {"lead_id": lead_id, "company_id": company_id,
                                                        "type": "API", "event_name": "added",
                                                        "action_name": "API", "date_added": now})

    def unlink_company(self, company_id: int, lead_id: int, now: str) -> None:
        self.store.execute("DELETE FROM companies_leads WHERE company_id = ? AND lead_id = ?", (company_id, lead_id))
        self.store.insert("lead_companies_change_log", {"lead_id": lead_id, "company_id": company_id,
                                                        "type": "API", "event_name": "removed",
                                                        "action_name": "API", "date_added": now})

    def _set_companies(self, lead_id: int, ids: list[Any], now: str) -> None:
        wanted = {i for i in (_int_or_none(x) for x in ids) if i}
        have = {r["company_id"] for r in self.store.query(
            "SELECT company_id FROM companies_leads WHERE lead_id = ?", (lead_id,))}
        for cid in have - wanted:
            self.unlink_company(cid, lead_id, now)
        for cid in wanted - have:
            if self.get_row("companies", cid):
                self.link_company(cid, lead_id, now, primary=False)

    def add_dnc(self, lead_id: int, channel: str, reason: int, comments: str, channel_id: Any = None) -> None:
        existing = self.store.one("SELECT id FROM lead_donotcontact WHERE lead_id = ? AND channel = ?",
                                  (lead_id, channel))
        now = db_ts(self.app.now())
        if existing:
            self.store.update("lead_donotcontact", existing["id"], {"reason": reason, "comments": comments})
        else:
            self.store.insert("lead_donotcontact", {"lead_id": lead_id, "date_added": now, "reason": reason,
                                                    "channel": channel, "channel_id": channel_id,
                                                    "comments": comments})

    def remove_dnc(self, lead_id: int, channel: str) -> bool:
        existing = self.store.one("SELECT id FROM lead_donotcontact WHERE lead_id = ? AND channel = ?",
                                  (lead_id, channel))
        if existing:
            self.store.execute("DELETE FROM lead_donotcontact WHERE id = ?", (existing["id"],))
        return existing is not None

    def delete_contact(self, row: dict[str, Any]) -> dict[str, Any]:
        body = self.serialize(row, "repo", deleted=True)
        lid = row["id"]
        with self.store.lock:
            for sql in ("DELETE FROM leads WHERE id = ?", "DELETE FROM lead_tags_xref WHERE lead_id = ?",
                        "DELETE FROM lead_lists_leads WHERE lead_id = ?", "DELETE FROM campaign_leads WHERE lead_id = ?",
                        "DELETE FROM companies_leads WHERE lead_id = ?", "DELETE FROM lead_donotcontact WHERE lead_id = ?",
                        "DELETE FROM lead_notes WHERE json_extract(data, '$.lead.id') = ?"):  # lead_notes cascade
                self.store.execute(sql, (lid,))
            name = " ".join(x for x in (row.get("firstname"), row.get("lastname")) if x) or row.get("email") or ""
            self.app.audit("lead", "lead", lid, "delete", {"name": name})
        return body

    def save_company(self, payload: Any, mode: str, row: dict[str, Any] | None,
                     dedupe: bool) -> tuple[dict[str, Any], int]:
        with self.store.lock:
            return self._save_company(payload, mode, row, dedupe)

    def _save_company(self, payload: Any, mode: str, row: dict[str, Any] | None,
                      dedupe: bool) -> tuple[dict[str, Any], int]:
        if not isinstance(payload, dict):
            payload = {}
        status = 200
        if mode == "new":
            name = payload.get("companyname")
            dup = None
            if dedupe and name and not payload.get("force"):
                dup = self.store.one("SELECT * FROM companies WHERE companyname = ? ORDER BY id LIMIT 1", (name,))
            if dup is not None:
                row, mode = dup, "patch"
            else:
                status = 201
        values, errors = self.apply_fields("company", payload, row, mode, True)
        if errors:
            raise validation_error(errors)
        now = db_ts(self.app.now())
        user = self.app.current_user()
        with self.store.lock:
            if row is None:
                cid = self.store.insert("companies", {"date_added": now, "created_by": user["id"],
                                                      "created_by_user": user["name"], "social_cache": "a:0:{}",
                                                      **({"date_modified": now}
                                                         if self.app.version.modified_on_create else {}),
                                                      **values})
                self.app.audit("lead", "company", cid, "create", values)
            else:
                cid = row["id"]
                rec = {**values, "modified_by": user["id"], "modified_by_user": user["name"]}
                if self.moves_modified(row):
                    rec["date_modified"] = now
                self.store.update("companies", cid, rec)
                self.app.audit("lead", "company", cid, "update", values)
            saved = self.store.one("SELECT * FROM companies WHERE id = ?", (cid,))
        assert saved is not None
        return saved, status

    def delete_company(self, row: dict[str, Any]) -> dict[str, Any]:
        body = self.serialize_company(row, deleted=True)
        with self.store.lock:
            self.store.execute("DELETE FROM companies WHERE id = ?", (row["id"],))
            self.store.execute("DELETE FROM companies_leads WHERE company_id = ?", (row["id"],))
            self.app.audit("lead", "company", row["id"], "delete", {"name": row.get("companyname")})
        return body


def drop_nulls(v: Any) -> Any:
    """JMS without serializeNull: keys holding null are left out (the DNC and UTM answers)."""
    if isinstance(v, dict):
        return {k: drop_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [drop_nulls(x) for x in v]
    return v


def _is_zero(raw: Any) -> bool:
    if isinstance(raw, bool):
        return False
    try:
        return float(raw) == 0 and str(raw).strip() != ""
    except (TypeError, ValueError):
        return False


def _is_fraction(raw: Any) -> bool:
    """0 < |v| < 1: what Mautic's int cast turns into 0 and drops (mautic#16590)."""
    if isinstance(raw, bool):
        return False
    try:
        return 0 < abs(float(raw)) < 1
    except (TypeError, ValueError):
        return False


def _int_or_none(v: Any) -> int | None:
    if isinstance(v, dict):
        v = v.get("id")
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None
