"""Mautic values -> JSON-schema types and JSON values.

Why a module of its own: Mautic sends most values as raw database strings (custom fields, every ``/stats``
column), so the type of a property comes from somewhere else (the field's ``type`` in ``/api/fields/*``,
or the column name of a stats table) and every value has to be converted on the way out. A value that
cannot be converted (``0000-00-00``, ``"abc"`` in a number field) becomes null with a warning, never an
exception: one bad row must not stop an hourly sync.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

# JSON-schema fragments, always nullable (Mautic sends null for unset values).
STRING: dict[str, Any] = {"type": ["string", "null"]}
INTEGER: dict[str, Any] = {"type": ["integer", "null"]}
NUMBER: dict[str, Any] = {"type": ["number", "null"]}
BOOLEAN: dict[str, Any] = {"type": ["boolean", "null"]}
DATE: dict[str, Any] = {"type": ["string", "null"], "format": "date"}
DATETIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
STRING_ARRAY: dict[str, Any] = {"type": ["array", "null"], "items": {"type": "string"}}
# Nested structures whose shape Mautic varies ([] for an empty object, PHP-serialized leftovers): kept as is.
ANY: dict[str, Any] = {"type": ["object", "array", "string", "number", "integer", "boolean", "null"]}

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}
_ZERO_DATE = re.compile(r"^0000-00-00")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class Unconvertible(ValueError):
    """The value cannot be represented in the property's type."""


# ---------------------------------------------------------------------------------------- converters


def to_integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            raise Unconvertible(value)
        if value != int(value):
            raise Unconvertible(value)
        return int(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Unconvertible(value) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise Unconvertible(value)
    return int(number)


def to_number(value: Any) -> int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip()) if not isinstance(value, float) else value
    except ValueError:
        raise Unconvertible(value) from None
    if not math.isfinite(number):
        raise Unconvertible(value)
    return number


def to_boolean(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Unconvertible(value)


def to_datetime(value: Any) -> str | None:
    """ISO 8601 UTC (``2024-03-01T12:34:00+00:00``) from Mautic's ``Y-m-d H:i:s`` (UTC) or ISO with offset."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if _ZERO_DATE.match(text):
            raise Unconvertible(value)
        if _DATE_RE.match(text):
            text += " 00:00:00"
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise Unconvertible(value) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def to_date(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if _ZERO_DATE.match(text):
        raise Unconvertible(value)
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise Unconvertible(value) from None


def to_string_array(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item is not None and item != ""]
    if isinstance(value, Mapping):
        return [str(item) for item in value.values() if item is not None and item != ""]
    text = str(value)
    return [part for part in text.split("|") if part != ""]


def to_string(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise Unconvertible(value)


def identity(value: Any) -> Any:
    return value


Converter = Callable[[Any], Any]


def converter_for(schema: Mapping[str, Any]) -> Converter:
    """The converter matching a schema fragment built by this module."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    fmt = schema.get("format")
    if "object" in types and schema.get("properties"):
        return _object_converter(schema["properties"])
    if "object" in types or not types:
        return identity
    if "array" in types:
        items = schema.get("items") or {}
        if "object" not in (items.get("type") or []):
            return to_string_array
        convert_item = converter_for(items)
        return lambda value: None if value is None else [
            convert_item(item) for item in (value.values() if isinstance(value, Mapping) else value)
        ]
    if "string" in types:
        if fmt == "date-time":
            return to_datetime
        if fmt == "date":
            return to_date
        return to_string
    if "integer" in types and "number" not in types:
        return to_integer
    if "number" in types:
        return to_number
    if "boolean" in types:
        return to_boolean
    return identity


def _object_converter(properties: Mapping[str, Any]) -> Converter:
    """Convert the known keys of a nested object (owner, tags, ...); other keys pass through as sent."""
    converters = {name: converter_for(schema) for name, schema in properties.items()}

    def convert(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value or None  # Mautic sends [] for an empty object
        out = dict(value)
        for name, conv in converters.items():
            if out.get(name) is not None:
                try:
                    out[name] = conv(out[name])
                except Unconvertible:
                    out[name] = None
        return out

    return convert


# ------------------------------------------------------------------------------------- custom fields


def _scale(properties: Any) -> int:
    """The ``scale`` of a number field (``{"scale": "1"}``, or serialized PHP in older answers)."""
    if isinstance(properties, Mapping):
        raw = properties.get("scale")
    elif isinstance(properties, str):
        found = re.search(r's:5:"scale";(?:i:(\d+)|s:\d+:"(\d*)")', properties)
        raw = (found.group(1) or found.group(2)) if found else None
    else:
        raw = None
    try:
        return int(raw) if raw not in (None, "") else 0
    except (TypeError, ValueError):
        return 0


def field_schema(field: Mapping[str, Any]) -> dict[str, Any]:
    """JSON schema of one custom field from ``/api/fields/{contact,company}``.

    number -> integer (number when it has a scale), boolean -> boolean, date -> date, datetime -> date-time,
    multiselect -> array of strings, everything else (text, email, tel, url, select, lookup, country,
    region, locale, timezone, time, html, textarea, ...) -> string.
    """
    kind = str(field.get("type") or "text").lower()
    if kind == "number":
        return dict(NUMBER) if _scale(field.get("properties")) > 0 else dict(INTEGER)
    if kind == "boolean":
        return dict(BOOLEAN)
    if kind == "date":
        return dict(DATE)
    if kind == "datetime":
        return dict(DATETIME)
    if kind == "multiselect":
        return {"type": ["array", "null"], "items": {"type": "string"}}
    return dict(STRING)


# ------------------------------------------------------------------------------------- stats columns

_STATS_STRING_IDS = {"tracking_id", "copy_id", "message_id", "twitter_tweet_id", "redirect_id", "guid",
                     "tracking_hash", "handle"}
_STATS_INTEGERS = {"id", "hits", "unique_hits", "delta", "rotation", "reason", "open_count", "retry_count",
                   "sent_count", "click_count", "favorite_count", "retweet_count", "frequency_number",
                   "status_code", "duration", "time_watched", "code", "checked_out_by", "created_by",
                   "modified_by"}
_STATS_NUMBERS = {"runtime"}
_STATS_BOOLEANS = {"viewed_in_browser", "system_triggered", "non_action_path_taken", "preferred_channel"}
_STATS_DATETIMES = {"last_opened", "last_sent", "last_clicked", "trigger_date", "pause_from_date",
                    "pause_to_date", "checked_out"}


def stats_column_schema(column: str) -> dict[str, Any]:
    """Type of a ``/api/stats`` column from its name (Mautic sends every value as a string)."""
    if column in _STATS_STRING_IDS:
        return dict(STRING)
    if column in _STATS_INTEGERS or column.endswith("_id"):
        return dict(INTEGER)
    if column in _STATS_NUMBERS:
        return dict(NUMBER)
    if column.startswith(("is_", "manually_")) or column in _STATS_BOOLEANS:
        return dict(BOOLEAN)
    if column.startswith("date_") or column in _STATS_DATETIMES:
        return dict(DATETIME)
    return dict(STRING)


# ------------------------------------------------------------------------------------------ records


class RecordConverter:
    """Converts the properties of records to their schema types, warning (rate-limited) on bad values."""

    MAX_WARNINGS_PER_PROPERTY = 5

    def __init__(self, properties: Mapping[str, Mapping[str, Any]], logger: logging.Logger, stream: str):
        self.converters = {name: converter_for(schema) for name, schema in properties.items()}
        self.logger = logger
        self.stream = stream
        self._warned: dict[str, int] = {}

    def convert(self, name: str, value: Any, record_id: Any = None) -> Any:
        conv = self.converters.get(name)
        if conv is None or value is None:
            return value
        try:
            return conv(value)
        except (Unconvertible, TypeError, ValueError, OverflowError):
            count = self._warned.get(name, 0) + 1
            self._warned[name] = count
            if count <= self.MAX_WARNINGS_PER_PROPERTY:
                shown = value if isinstance(value, str | int | float | bool) else type(value).__name__
                self.logger.warning(
                    "Stream '%s', record id %s: property '%s' value %r cannot be converted to its type; "
                    "emitted as null.%s",
                    self.stream, record_id, name, shown,
                    " Further warnings for this property are suppressed."
                    if count == self.MAX_WARNINGS_PER_PROPERTY else "",
                )
            return None

    def convert_record(self, record: dict[str, Any], record_id: Any = None) -> dict[str, Any]:
        for name in list(record):
            if name in self.converters:
                record[name] = self.convert(name, record[name], record_id)
        return record
