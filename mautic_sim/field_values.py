"""Field values of contacts and companies: input cleaning and validation by field type, output by style."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timezone
from typing import Any

from mautic_sim.util import php_serialize

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


URL_HAS_PROTOCOL = re.compile(r"^(?:[/.]|[\w+.-]+://|[^:/?@#]+@)")
EMAIL_KEEP = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-=?^_`{|}~@.[]")


def form_trim(value: str) -> str:
    """Symfony's form ``trim`` (StringUtil::trim): Unicode separators, control and format characters cut at
    both ends (real 5.1.0: "x\u202e" and "\u200bz" stored as "x" and "z"; inside a value they stay)."""
    def cut(ch: str) -> bool:
        cat = unicodedata.category(ch)
        return cat[0] == "Z" or cat in ("Cc", "Cf")
    start, end = 0, len(value)
    while start < end and cut(value[start]):
        start += 1
    while end > start and cut(value[end - 1]):
        end -= 1
    return value[start:end]


def sanitize_email(value: str) -> str:
    """InputHelper::email: 254 characters, then FILTER_SANITIZE_EMAIL (real 5.1.0: "ünï@ex.com" stored as
    "n@ex.com", "a(b)@ex.com" as "ab@ex.com")."""
    return "".join(ch for ch in value[:254] if ch in EMAIL_KEEP).strip()


def clean_value(field: dict[str, Any], raw: Any) -> tuple[Any, str | None]:
    """(stored value, error message or None) for one submitted field value."""
    t = field["type"]
    if isinstance(raw, str):
        raw = form_trim(raw)
        if t == "email":
            raw = sanitize_email(raw)
        elif t == "url" and raw and not URL_HAS_PROTOCOL.match(raw):
            raw = "http://" + raw  # Symfony's UrlType (default_protocol http): "javascript:alert(1)" gets it
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


TEXT_TYPES = frozenset({"textarea", "html"})


# Column sizes of Mautic 5.1 (inferred from its schema, not recorded): core string fields are VARCHAR(191)
# (the utf8mb4 index limit), custom fields VARCHAR(charLengthLimit), 64 unless set (recorded in audit_log
# rows of created fields); textarea/html are TEXT. MySQL's strict mode refuses longer values, so the row is
# refused with Symfony's Length message rather than truncated.
CORE_LENGTH, CUSTOM_LENGTH = 191, 64


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
