"""Contact and company JSON in the recorded shapes, which differ by code path: a freshly created entity ("new"
style: field ids as ints, ``utmtags: null``), an entity read back from the repository ("repo" style: field rows as
raw DB strings, PHP-serialized properties) and the DNC answers ("dnc" style: core values flattened).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mautic_sim.field_values import (
    drop_nulls,
    field_entry,
    normalized,
    out_value,
)
from mautic_sim.util import Raw, iso, js

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def _exact(v: Any) -> str:
    """A value as the whole body's ``json.dumps`` encodes it (``js`` writes a non-finite float as null)."""
    return _ENCODE(v) if isinstance(v, float) else js(v)


WRITE_STYLES = ("new", "edit")  # the styles of a write's answer

DEVICE_FLAT = ["title", "firstname", "lastname", "company", "position", "email", "phone", "mobile", "address1",
               "address2", "city", "state", "zipcode", "timezone", "country"]


class ContactSerialization:
    """Serialization of contacts and companies, as a mixin of ``Contacts``."""

    if TYPE_CHECKING:  # a mixin: the rest of its attributes are those of ``contacts.Contacts``, typed there
        def __getattr__(self, name: str) -> Any: ...

    def _groups(self, obj: str, row: dict[str, Any], style: str) -> dict[str, Any]:
        submitted = getattr(self.app.request_local, "submitted", None) or set()
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

    def _raw_cached(self, context: str, item_id: int) -> dict[str, Any] | None:
        """A users/stages row, from the per-request cache while a list is being serialised."""
        cache = getattr(self._tl, "cache", None)
        if cache is None:
            return self.app.generic.get_raw(context, item_id)
        if item_id not in cache[context]:
            cache[context][item_id] = self.app.generic.get_raw(context, item_id)
        return cache[context][item_id]

    def owner_json(self, owner_id: int | None, full: bool = False) -> dict[str, Any] | None:
        if not owner_id:
            return None
        user = self._raw_cached("users", owner_id)
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
        st = self._raw_cached("stages", stage_id)
        if st is None:
            return None
        return {"createdByUser": st.get("createdByUser"), "modifiedByUser": st.get("modifiedByUser"),
                "id": st["id"], "name": st.get("name"), "category": st.get("category"),
                "weight": st.get("weight"), "description": st.get("description")}

    def _plan(self, style: str) -> list[tuple[str, str, str, str, dict[str, Any], str, str]]:
        """Per published field: (group, JSON alias, JSON prefix of the entry, kind, field, and the entry and
        flat value of a "simple" field at null, most of a contact's), cached with the fields. The prefix is the entry's static part as ``field_entry`` makes it, in the style of a write's
        answer ("new", "edit") or else as the repository reads it; "points" is a kind of its own in a new
        entry (null there, 0 in the flat values)."""
        fields = self.store.fields("lead")
        plan = fields[0].get(f"_plan_{style}") if fields else None
        if plan is None:
            entry_style = style if style in WRITE_STYLES else "repo"
            plan = []
            for f in fields:
                if not f["is_published"]:
                    continue
                static = field_entry(f, None, entry_style, "lead")
                static.pop("value"), static.pop("normalizedValue")
                prefix = json.dumps(static, separators=(",", ":"))[:-1] + ',"value":'
                if f["alias"] == "points" and style == "new":
                    kind = "points"
                elif f["type"] in ("number", "boolean", "select", "multiselect") or f["alias"] == "points":
                    kind = "typed"
                else:
                    kind = "simple"
                alias = js(f["alias"])
                plan.append((f["field_group"], alias, prefix, kind, f,
                             f'{alias}:{prefix}null,"normalizedValue":""}}', f"{alias}:null"))
            if fields:
                fields[0][f"_plan_{style}"] = plan
        return plan

    def _groups_raw(self, row: dict[str, Any], style: str) -> Raw:
        """``fields`` of a contact as JSON text, the same bytes as ``_groups``, built from cached fragments (a
        list page's and a batch answer's hot path). A write's answer types values by whether they were
        submitted and encodes floats as the whole body's ``json.dumps`` does."""
        write = style in WRITE_STYLES
        encode = _exact if write else js
        submitted = (getattr(self.app.request_local, "submitted", None) or set()) if write else set()
        groups: dict[str, list[str]] = {"core": [], "social": [], "personal": [], "professional": []}
        flat = [f'"id":"{row["id"]}"']
        for group, alias, prefix, kind, f, null_entry, null_flat in self._plan(style):
            value = row.get(f["alias"])
            if value is None and kind == "simple":  # most fields of a contact: the entry is all static
                bucket = groups.get(group)
                if bucket is None:
                    bucket = groups[group] = []
                bucket.append(null_entry)
                flat.append(null_flat)
                continue
            if kind == "simple":
                vj = fj = "null" if value is None else encode(value)
                nvj = '""' if value is None else vj
            else:
                v = out_value(f, value, style, f["alias"] in submitted)
                fj = encode(v)
                if kind == "points":
                    vj, nvj = "null", '""'
                else:
                    vj = fj
                    nvj = '""' if v is None else encode(normalized(f, v))
            bucket = groups.get(group)
            if bucket is None:
                bucket = groups[group] = []
            bucket.append(f'{alias}:{prefix}{vj},"normalizedValue":{nvj}}}')
            flat.append(f"{alias}:{fj}")
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
                  deleted: bool = False, fields_row: dict[str, Any] | None = None, raw: bool = False) -> dict[str, Any]:
        """One contact; ``raw``: its ``fields`` as pre-encoded JSON text (only for an answer's body)."""
        if tags is None or dnc is None:
            if fields_row is not None:
                one = self.serialize_many([row], style, minimal)[0]
                return self.serialize(row, style, minimal, one.get("tags", []), one.get("doNotContact", []),
                                      deleted, fields_row)
            one = self.serialize_many([row], style, minimal, raw=raw)[0]
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
        if cache and cache.get("raw") and style in ("list", "repo", *WRITE_STYLES):
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
