"""Record values turned into what Mautic's forms accept, checked against the instance's fields.

Why here and not in the sinks: the rules (formats, read-only keys, select options, unknown properties) are the
same for every write path, and they are pure functions that unit tests can cover without a server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mautic_api import normalize
from mautic_api.values import (
    ValueFormatError,
    as_utc,
    field_kind,
    field_options,
    number_scale,
    wire_date,
    wire_datetime,
    write_boolean,
    write_field,
    write_number,
)

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

# One error for every value the codec refuses; the target's messages prefix it with the property.
InvalidValue = ValueFormatError


@dataclass
class FieldSpec:
    """One Mautic field (``/api/fields/contact`` or ``/company``) as far as writing needs it."""

    alias: str
    type: str = "text"
    unique: bool = False
    options: list[str] = field(default_factory=list)  # option values of select/multiselect
    labels: dict[str, str] = field(default_factory=dict)  # casefolded label -> value
    scale: int = 0  # decimals a number field keeps (compare before write rounds both sides to it)
    roundmode: int | None = None  # a number field's rounding (ICU NumberFormatter constant), when set


def _roundmode(properties: Any) -> int | None:
    """The ``roundmode`` of a number field's properties (a dict; None when absent or unreadable)."""
    raw = properties.get("roundmode") if isinstance(properties, Mapping) else None
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def field_specs(fields: Iterable[Mapping[str, Any]]) -> dict[str, FieldSpec]:
    """Alias -> FieldSpec from the raw field list of the shared client."""
    specs: dict[str, FieldSpec] = {}
    for f in fields:
        alias = f.get("alias")
        if not alias:
            continue
        ftype = str(f.get("type") or "text")
        options, labels = (
            field_options(f.get("properties")) if field_kind(ftype) in {"select", "multiselect"} else ([], {})
        )
        specs[alias] = FieldSpec(
            alias=alias,
            type=ftype,
            unique=bool(
                f.get("isUniqueIdentifier") or f.get("isUniqueIdentifer") or f.get("is_unique_identifer")
            ),
            options=options,
            labels=labels,
            scale=number_scale(f.get("properties")) if field_kind(ftype) == "number" else 0,
            roundmode=_roundmode(f.get("properties")) if field_kind(ftype) == "number" else None,
        )
    return specs


def to_utc(value: dt.datetime) -> dt.datetime:
    """Aware datetimes are converted to naive UTC; naive ones are taken as UTC already."""
    return as_utc(value).replace(tzinfo=None)


# The target's names for the shared writers (the sinks and tests import these).
format_datetime = wire_datetime
format_date = wire_date
to_bool = write_boolean
to_number = write_number


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
    if field_kind(spec.type) == "text" and isinstance(value, dict | list):
        raise InvalidValue(f"field '{spec.alias}' ({spec.type}) takes a scalar, got {type(value).__name__}")
    return write_field(spec.type, value, partial(_option, spec))


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
    _unique: list[str] | None = field(default=None, init=False, repr=False, compare=False)

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
        """Aliases of the unique identifier fields (asked per row when lanes are formed: computed once)."""
        if self._unique is None:
            self._unique = [alias for alias, spec in self.fields.items() if spec.unique]
        return list(self._unique)

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
            why = normalize.unstorable(value)
            if why is not None:  # refused here: Mautic fails the whole request on it (500 or 400)
                raise InvalidValue(f"property '{key}': {why}")
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

    def as_stored(self, body: dict[str, Any]) -> list[str]:
        """Text values of ``body`` replaced by what Mautic will store (:mod:`mautic_api.normalize`); returns
        one warning per value that changes, naming the property, the input and the stored value."""
        warnings: list[str] = []
        for key, value in body.items():
            spec = self.fields.get(key)
            if spec is None or not isinstance(value, str) or spec.type not in NORMALIZED_TYPES:
                continue
            if spec.type == "email" and len(value) > EMAIL_COLUMN:
                continue  # refused by Mautic as too long whatever its cleaning does: its message is kept
            stored = normalize.stored(spec.type, value)
            if stored != value:
                body[key] = stored
                warnings.append(f"property '{key}': Mautic stores {value!r} as {stored!r} "
                                f"({NORMALIZED_TYPES[spec.type]})")
        return warnings


EMAIL_COLUMN = 191  # leads.email is VARCHAR(191)

# Field types whose values Mautic alters on save, and how (the warning's reason).
NORMALIZED_TYPES = {
    "email": "only the characters PHP's email filter keeps, trimmed",
    "url": "http:// added when no protocol is named, trimmed",
    "text": "leading/trailing spaces, control and format characters trimmed",
    "textarea": "leading/trailing spaces, control and format characters trimmed",
    "tel": "leading/trailing spaces, control and format characters trimmed",
    "lookup": "leading/trailing spaces, control and format characters trimmed",
}
