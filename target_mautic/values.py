"""Record values turned into what Mautic's forms accept, checked against the instance's fields.

Why here and not in the sinks: the rules (formats, read-only keys, select options, unknown properties) are the
same for every write path, and they are pure functions that unit tests can cover without a server.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pendulum

# Keys Mautic computes itself or that cannot be set through the API; a tap's output carries them, so they are
# dropped silently (not an "unknown property").
READ_ONLY_KEYS = frozenset(
    {
        "dateAdded", "dateModified", "dateIdentified", "date_added", "date_modified", "date_identified",
        "createdBy", "createdByUser", "modifiedBy", "modifiedByUser", "created_by", "created_by_user",
        "modified_by", "modified_by_user", "checkedOut", "checkedOutBy", "checked_out", "checked_out_by",
        "checked_out_by_user", "fields", "color", "preferredProfileImage", "preferred_profile_image",
        "ipAddresses", "utmtags", "frequencyRules", "doNotContact", "score", "isPublished", "is_published",
        "replication_key", "last_active_or_modified", "deleted", "_mautic_modified_at",
    }
)  # fmt: skip

# Top-level keys of a contact payload that are not custom fields but are writable.
CONTACT_SPECIAL_KEYS = frozenset({"id", "tags", "owner", "stage", "ipAddress", "lastActive", "points"})
COMPANY_SPECIAL_KEYS = frozenset({"id", "owner"})

_TRUE = {"1", "true", "yes", "y", "on", "t"}
_FALSE = {"0", "false", "no", "n", "off", "f", ""}


class InvalidValue(ValueError):
    """A record value Mautic would reject or misread; the message names the property."""


@dataclass
class FieldSpec:
    """One Mautic field (``/api/fields/contact`` or ``/company``) as far as writing needs it."""

    alias: str
    type: str = "text"
    unique: bool = False
    options: list[str] = field(default_factory=list)  # option values of select/multiselect
    labels: dict[str, str] = field(default_factory=dict)  # casefolded label -> value


def _options(properties: Any) -> tuple[list[str], dict[str, str]]:
    """Option values and label map from a field's ``properties`` (dict with ``list``, or a pipe string)."""
    raw: Any = properties.get("list") if isinstance(properties, Mapping) else None
    values: list[str] = []
    labels: dict[str, str] = {}
    if isinstance(raw, str):
        raw = [part for part in raw.split("|") if part]
    if isinstance(raw, Mapping):
        raw = [{"value": k, "label": v} for k, v in raw.items()]
    for opt in raw or []:
        if isinstance(opt, Mapping):
            value = str(opt.get("value", opt.get("label", "")))
            values.append(value)
            labels[str(opt.get("label", value)).casefold()] = value
        else:
            values.append(str(opt))
            labels[str(opt).casefold()] = str(opt)
    return values, labels


def field_specs(fields: Iterable[Mapping[str, Any]]) -> dict[str, FieldSpec]:
    """Alias -> FieldSpec from the raw field list of the shared client."""
    specs: dict[str, FieldSpec] = {}
    for f in fields:
        alias = f.get("alias")
        if not alias:
            continue
        ftype = str(f.get("type") or "text")
        options, labels = _options(f.get("properties")) if ftype in {"select", "multiselect"} else ([], {})
        specs[alias] = FieldSpec(
            alias=alias,
            type=ftype,
            unique=bool(
                f.get("isUniqueIdentifier") or f.get("isUniqueIdentifer") or f.get("is_unique_identifer")
            ),
            options=options,
            labels=labels,
        )
    return specs


def to_utc(value: dt.datetime) -> dt.datetime:
    """Aware datetimes are converted to UTC; naive ones are taken as UTC already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


_STARTS_WITH_DATE = re.compile(r"\d{4}-?\d{2}-?\d{2}")


def _parse_datetime(value: str) -> dt.datetime:
    """Any ISO 8601 form (pendulum: ``2024-03-01``, ``2024-03-01 12:34``, ``20240301T1234Z``, offsets);
    without an offset the value is taken as UTC, as Mautic stores it."""
    text = value.strip()
    try:
        parsed = pendulum.parse(text, tz="UTC") if _STARTS_WITH_DATE.match(text) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dt.datetime):  # not parsable, or a bare time (pendulum would put it on today)
        raise InvalidValue(f"not an ISO 8601 date or datetime: {value!r}")
    return parsed


def _utc_or_date(value: Any, kind: str) -> dt.date:
    """A datetime (any offset, or an ISO string) in UTC, or a plain date as given."""
    if isinstance(value, dt.datetime):
        return to_utc(value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return to_utc(_parse_datetime(value))
    raise InvalidValue(f"not a {kind}: {value!r}")


def format_datetime(value: Any) -> str:
    """UTC ``YYYY-MM-DD HH:MM:SS`` as Mautic stores datetimes (sinks receive datetime objects)."""
    return _utc_or_date(value, "datetime").strftime("%Y-%m-%d %H:%M:%S")


def format_date(value: Any) -> str:
    """``YYYY-MM-DD``; a datetime is converted to UTC first."""
    return _utc_or_date(value, "date").strftime("%Y-%m-%d")


def to_bool(value: Any) -> bool:
    """Booleans as JSON true/false; accepts the spellings Mautic's form accepts."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidValue(f"not a boolean: {value!r}")


def to_number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise InvalidValue(f"not a number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        number = float(value)
        return int(number) if number.is_integer() else number
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise InvalidValue(f"not a number: {value!r}") from None
        return int(number) if number.is_integer() else number
    raise InvalidValue(f"not a number: {value!r}")


def _option(spec: FieldSpec, value: Any) -> str:
    text = str(value)
    if not spec.options or text in spec.options:
        return text
    mapped = spec.labels.get(text.casefold())
    if mapped is not None:
        return mapped
    raise InvalidValue(
        f"{text!r} is not an option of {spec.type} field '{spec.alias}' (options: {', '.join(spec.options)})"
    )


def convert(spec: FieldSpec, value: Any) -> Any:
    """One non-null field value in the form Mautic expects for ``spec.type``."""
    ftype = spec.type
    if ftype == "boolean":
        return to_bool(value)
    if ftype == "number":
        return to_number(value)
    if ftype == "date":
        return format_date(value)
    if ftype == "datetime":
        return format_datetime(value)
    if ftype == "time":
        if isinstance(value, (dt.time, dt.datetime)):
            return value.strftime("%H:%M:%S")
        return str(value)
    if ftype == "select":
        return _option(spec, value)
    if ftype == "multiselect":
        items = (
            value.split("|")
            if isinstance(value, str)
            else list(value)
            if isinstance(value, (list, tuple))
            else [value]
        )
        return [_option(spec, item) for item in items if str(item) != ""]
    if isinstance(value, (dt.datetime, dt.date)):
        return format_datetime(value) if isinstance(value, dt.datetime) else format_date(value)
    if isinstance(value, (dict, list)):
        raise InvalidValue(f"field '{spec.alias}' ({ftype}) takes a scalar, got {type(value).__name__}")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return str(value)
    return value if isinstance(value, str) else str(value)


def _ref_id(value: Any) -> Any:
    """``owner``/``stage`` as an id: a tap emits them as objects ``{"id": ...}``."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"expected an id, got {value!r}") from None


def _tags(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    tags = []
    for item in items:
        tag = item.get("tag") if isinstance(item, Mapping) else item
        if tag is not None and str(tag).strip():
            tags.append(str(tag).strip())
    return tags


@dataclass
class ValueMapper:
    """Maps records of one stream to Mautic payloads for ``object_`` ("contact" or "company")."""

    object_: str
    fields: dict[str, FieldSpec]
    overwrite_with_blank: bool = False
    ignore_unknown_fields: bool = False
    write_points: bool = False
    extra_ignored: frozenset[str] = frozenset()  # keys the sink consumes itself (match keys, link columns)
    dropped: set[str] = field(default_factory=set)

    @property
    def special_keys(self) -> frozenset[str]:
        return CONTACT_SPECIAL_KEYS if self.object_ == "contact" else COMPANY_SPECIAL_KEYS

    def is_known(self, key: str) -> bool:
        return key in self.fields or key in self.special_keys or key in self.extra_ignored

    def unknown_properties(self, properties: Iterable[str]) -> list[str]:
        """Schema properties that are neither field aliases, writable keys, read-only keys nor ``_sdc_*``."""
        return [
            key
            for key in properties
            if not key.startswith("_sdc_") and key not in READ_ONLY_KEYS and not self.is_known(key)
        ]

    def unique_fields(self) -> list[str]:
        return [alias for alias, spec in self.fields.items() if spec.unique]

    def payload(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The PATCH/POST body for ``record`` (without ``id``). Raises InvalidValue naming the property."""
        body: dict[str, Any] = {}
        blanked = False
        for key, value in record.items():
            if key == "id" or key.startswith("_sdc_") or key in READ_ONLY_KEYS or key in self.extra_ignored:
                continue
            if key == "points" and not self.write_points:
                continue
            if not self.is_known(key):
                continue  # unknown properties were refused at SCHEMA time or are ignored by setting
            if value is None or (isinstance(value, str) and value == "" and key in self.fields):
                if self.overwrite_with_blank and key in self.fields:
                    body[key] = None
                    blanked = True
                continue
            try:
                if key in ("owner", "stage"):
                    body[key] = _ref_id(value)
                elif key == "tags":
                    body[key] = _tags(value)
                elif key == "lastActive":
                    body[key] = format_datetime(value)
                elif key == "ipAddress":
                    body[key] = str(value)
                elif key == "points":
                    body[key] = to_number(value)
                else:
                    body[key] = convert(self.fields[key], value)
            except InvalidValue as exc:
                raise InvalidValue(f"property '{key}': {exc}") from None
            except (TypeError, ValueError) as exc:
                raise InvalidValue(f"property '{key}': {exc}") from None
        if blanked:
            body["overwriteWithBlank"] = True
        return body
