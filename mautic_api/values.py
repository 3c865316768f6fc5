"""Mautic's value formats, in one place: field type <-> JSON schema <-> wire value, in both directions.

Why one module: the tap reads values (Mautic's wire strings -> typed JSON, ``read_*``), the target writes them
(JSON or singer-sdk's parsed objects -> what Mautic's forms accept, ``write_*``). Where the two sides disagree
a record does not survive tap -> target -> tap; tests/api/test_values_roundtrip.py proves that it does, for
every field type. Pure functions and frozen data, no I/O; it imports nothing else of mautic_api (``http`` uses
it).

Read side: a value that cannot be converted raises ValueFormatError, and the tap emits null with a warning
(one bad row must not stop an hourly sync). Write side: ValueFormatError names the value, and the target
fails that record alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import pendulum

# ------------------------------------------------------------------------------------- words and formats

# The spellings of a boolean Mautic's forms accept (and a CSV or another system may send).
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "f"})
# Mautic stores datetimes as naive UTC and compares ``where`` values in the same form.
WIRE_DATETIME = "%Y-%m-%d %H:%M:%S"
WIRE_DATE = "%Y-%m-%d"
WIRE_TIME = "%H:%M:%S"


class ValueFormatError(ValueError):
    """A value that is not in the format its type needs (the message shows the value)."""


# ------------------------------------------------------------------------------------------- field types

# Every field type Mautic 5.1 offers (/api/fields/contact), mapped to the kind of value it holds. Types not
# listed (a plugin's own) are text.
FIELD_KINDS: Mapping[str, str] = MappingProxyType({
    "text": "text", "textarea": "text", "html": "text", "email": "text", "tel": "text", "url": "text",
    "lookup": "text", "country": "text", "region": "text", "locale": "text", "timezone": "text",
    "time": "time", "select": "select", "multiselect": "multiselect", "boolean": "boolean",
    "number": "number", "date": "date", "datetime": "datetime",
})  # fmt: skip
FIELD_TYPES = tuple(FIELD_KINDS)


def field_kind(field_type: Any) -> str:
    """The kind of a Mautic field type (``text`` for types this module does not know)."""
    return FIELD_KINDS.get(str(field_type or "text").lower(), "text")


def number_scale(properties: Any) -> int:
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


def field_options(properties: Any) -> tuple[list[str], dict[str, str]]:
    """Option values and casefolded label -> value of a select/multiselect field's ``properties``
    (a dict with ``list``: option objects, a value -> label map, or a pipe string)."""
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


# ------------------------------------------------------------------------------------------ JSON schema


def json_schema(json_type: str, fmt: str | None = None) -> dict[str, Any]:
    """A fresh, nullable JSON-schema fragment (Mautic sends null for unset values)."""
    return {"type": [json_type, "null"], **({"format": fmt} if fmt else {})}


def string_array_schema() -> dict[str, Any]:
    return {"type": ["array", "null"], "items": {"type": "string"}}


def field_schema(field: Mapping[str, Any]) -> dict[str, Any]:
    """JSON schema of one custom field from ``/api/fields/{contact,company}``.

    number -> integer (number when it has a scale), boolean -> boolean, date -> date, datetime -> date-time,
    multiselect -> array of strings, everything else (text, email, tel, url, select, lookup, country,
    region, locale, timezone, time, html, textarea, ...) -> string. See :data:`KINDS`.
    """
    return KINDS[field_kind(field.get("type"))].schema(field)


def _number_schema(field: Mapping[str, Any]) -> dict[str, Any]:
    return json_schema("number" if number_scale(field.get("properties")) > 0 else "integer")


_STATS_STRING_IDS = frozenset({"tracking_id", "copy_id", "message_id", "twitter_tweet_id", "redirect_id",
                               "guid", "tracking_hash", "handle"})
_STATS_INTEGERS = frozenset({
    "id", "hits", "unique_hits", "delta", "rotation", "reason", "open_count", "retry_count", "sent_count",
    "click_count", "favorite_count", "retweet_count", "frequency_number", "status_code", "duration",
    "time_watched", "code", "checked_out_by", "created_by", "modified_by",
})  # fmt: skip
_STATS_NUMBERS = frozenset({"runtime"})
_STATS_BOOLEANS = frozenset({"viewed_in_browser", "system_triggered", "non_action_path_taken",
                             "preferred_channel"})
_STATS_DATETIMES = frozenset({"last_opened", "last_sent", "last_clicked", "trigger_date", "pause_from_date",
                              "pause_to_date", "checked_out"})


def stats_column_schema(column: str) -> dict[str, Any]:
    """Type of a ``/api/stats`` column from its name (Mautic sends every value as a string)."""
    if column in _STATS_STRING_IDS:
        return json_schema("string")
    if column in _STATS_INTEGERS or column.endswith("_id"):
        return json_schema("integer")
    if column in _STATS_NUMBERS:
        return json_schema("number")
    if column.startswith(("is_", "manually_")) or column in _STATS_BOOLEANS:
        return json_schema("boolean")
    if column.startswith("date_") or column in _STATS_DATETIMES:
        return json_schema("string", "date-time")
    return json_schema("string")


# ------------------------------------------------------------------------------------ dates and times

# Mautic's own forms (``Y-m-d``, ``Y-m-d H:i:s``, ISO with ``Z`` or a ``+HH:MM`` offset): fromisoformat reads
# them exactly as pendulum does (tests/api/test_values_roundtrip.py), 70 times faster, and the tap parses
# every such value of every record, so the shape is checked by position, not with a regular expression.
_MAUTIC_LENGTHS = frozenset({10, 19, 20, 25})


def _mautic_form(text: str) -> bool:
    size = len(text)
    if size not in _MAUTIC_LENGTHS or text[4] != "-" or text[7] != "-":
        return False
    if size == 10:
        return True
    if text[10] not in " T" or text[13] != ":" or text[16] != ":":
        return False
    if size == 19:
        return True
    return text[19] == "Z" if size == 20 else text[19] in "+-" and text[22] == ":"


_STARTS_WITH_DATE = re.compile(r"\d{4}-?\d{2}-?\d{2}")


def as_utc(value: datetime) -> datetime:
    """An aware UTC (stdlib) datetime; a naive one is taken as UTC already, as Mautic stores it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    if type(value) is not datetime:  # pendulum's subclass: a plain datetime compares and formats as expected
        value = datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                         value.microsecond, tzinfo=timezone.utc)
    return value


def parse_datetime(value: str) -> datetime:
    """Aware UTC datetime from any ISO 8601 form pendulum reads (``2024-03-01``, ``2024-03-01 12:34``,
    ``20240301T1234Z``, offsets); without an offset the value is taken as UTC, as Mautic stores it.
    ``0000-00-00`` (MySQL's zero date) and a bare time (pendulum would put it on today) are errors."""
    text = value.strip()
    if _mautic_form(text):
        try:  # (Python 3.10's fromisoformat does not read "Z")
            return as_utc(datetime.fromisoformat(text[:19] + "+00:00" if text[-1] == "Z" else text))
        except ValueError:
            raise ValueFormatError(f"not an ISO 8601 date or datetime: {value!r}") from None
    try:
        parsed = pendulum.parse(text, tz="UTC") if _STARTS_WITH_DATE.match(text) else None
    except ValueError:  # pendulum's ParserError included
        parsed = None
    if not isinstance(parsed, datetime):
        raise ValueFormatError(f"not an ISO 8601 date or datetime: {value!r}")
    return as_utc(parsed)


def _datetime_of(value: Any, kind: str = "datetime") -> datetime:
    """A datetime object, a date (midnight) or an ISO string as an aware UTC datetime."""
    if isinstance(value, str):
        return parse_datetime(value)
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    raise ValueFormatError(f"not a {kind}: {value!r}")


# ------------------------------------------------------------------------- read: wire -> JSON (the tap)


def read_integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueFormatError(value)
        if value != int(value):
            raise ValueFormatError(value)
        return int(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueFormatError(value) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueFormatError(value)
    return int(number)


def read_number(value: Any) -> int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip()) if not isinstance(value, float) else value
    except ValueError:
        raise ValueFormatError(value) from None
    if not math.isfinite(number):
        raise ValueFormatError(value)
    return number


def read_boolean(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueFormatError(value)


def _utc_wire_form(value: Any) -> bool:
    """True for a string in one of Mautic's UTC forms (``Y-m-d``, ``Y-m-d H:i:s``, ISO with ``T``, ``Z`` or
    ``+00:00``) that is a real date and time: its ISO form is then a matter of slicing, not of parsing and
    formatting (the tap reads several per record). Anything else takes the general path."""
    if type(value) is not str or not _mautic_form(value):
        return False
    size = len(value)
    if size == 25 and not value.endswith("+00:00"):
        return False
    try:  # validates the digits (month 13, February 30); Python 3.10 reads neither "Z" nor "+00:00" here
        datetime.fromisoformat(value[:19])
    except ValueError:
        return False
    return True


def read_datetime(value: Any) -> str | None:
    """ISO 8601 UTC to the second (``2024-03-01T12:34:00+00:00``) from Mautic's ``Y-m-d H:i:s`` (UTC) or
    ISO with an offset; microseconds are dropped."""
    if value is None or value == "":
        return None
    if _utc_wire_form(value):
        return f"{value[:10]}T{value[11:19] or '00:00:00'}+00:00"
    return _datetime_of(value).replace(microsecond=0).isoformat()


def read_date(value: Any) -> str | None:
    """``YYYY-MM-DD``; a datetime is converted to UTC first."""
    if value is None or value == "":
        return None
    if _utc_wire_form(value):
        return str(value)[:10]
    return _datetime_of(value, "date").date().isoformat()


def read_string_array(value: Any) -> list[str] | None:
    """A multiselect: Mautic answers ``"sports|music"`` even when it was sent an array."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item is not None and item != ""]
    if isinstance(value, Mapping):
        return [str(item) for item in value.values() if item is not None and item != ""]
    return [part for part in str(value).split("|") if part != ""]


def read_string(value: Any) -> str | None:
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
    raise ValueFormatError(value)


def identity(value: Any) -> Any:
    return value


Reader = Callable[[Any], Any]


def reader_for(schema: Mapping[str, Any]) -> Reader:
    """The reader matching a schema fragment (of this module, or of the tap's schemas as data)."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    fmt = schema.get("format")
    if "object" in types and schema.get("properties"):
        return _object_reader(schema["properties"])
    if "object" in types or not types:
        return identity
    if "array" in types:
        items = schema.get("items") or {}
        if "object" not in (items.get("type") or []):
            return read_string_array
        read_item = reader_for(items)
        return lambda value: None if value is None else [
            read_item(item) for item in (value.values() if isinstance(value, Mapping) else value)
        ]
    if "string" in types:
        if fmt == "date-time":
            return read_datetime
        if fmt == "date":
            return read_date
        return read_string
    if "integer" in types and "number" not in types:
        return read_integer
    if "number" in types:
        return read_number
    if "boolean" in types:
        return read_boolean
    return identity


def kept_type(schema: Mapping[str, Any]) -> type | None:
    """The Python type whose values the schema's reader returns unchanged (a JSON string for a plain string,
    an int for an integer or a number, a bool for a boolean), so a record's converter can pass them by
    without a call; None when every value needs its reader."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if "object" in types or "array" in types or not types:
        return None
    if "string" in types:
        return None if schema.get("format") in ("date-time", "date") else str
    if "integer" in types or "number" in types:
        return int  # a float still needs its reader: it may be non-finite, or whole for an integer
    if "boolean" in types:
        return bool
    return None


ReadPlan = tuple[tuple[str, Reader, "type | None"], ...]


def read_plan(properties: Mapping[str, Mapping[str, Any]]) -> ReadPlan:
    """``(property, reader, kept type)`` for every property whose values may need converting, computed once
    per schema so that each value costs a type check, not a dispatch on its schema."""
    plan = []
    for name, schema in properties.items():
        reader = reader_for(schema)
        if reader is not identity:
            plan.append((name, reader, kept_type(schema)))
    return tuple(plan)


def _object_reader(properties: Mapping[str, Any]) -> Reader:
    """Convert the known keys of a nested object (owner, tags, ...); other keys pass through as sent."""
    plan = read_plan(properties)

    def read(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value or None  # Mautic sends [] for an empty object
        out = dict(value)
        for name, reader, kept in plan:
            item = out.get(name)
            if item is not None and type(item) is not kept:
                try:
                    out[name] = reader(item)
                except ValueFormatError:
                    out[name] = None
        return out

    return read


# ---------------------------------------------------------------------- write: JSON -> wire (the target)


def wire_datetime(value: Any) -> str:
    """Naive UTC ``YYYY-MM-DD HH:MM:SS``, as Mautic stores datetimes and compares ``where`` values, from a
    datetime (naive = UTC), a date (midnight) or an ISO string; microseconds are dropped."""
    return _datetime_of(value).strftime(WIRE_DATETIME)


def wire_date(value: Any) -> str:
    """``YYYY-MM-DD``; a datetime is converted to UTC first."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime(WIRE_DATE)
    return _datetime_of(value, "date").strftime(WIRE_DATE)


def write_boolean(value: Any) -> bool:
    """JSON true/false, from a bool, 0/1 or a word Mautic's form accepts ("" is false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS or word == "":
            return False
    raise ValueFormatError(f"not a boolean: {value!r}")


def write_number(value: Any) -> int | float:
    """A JSON number; a whole float is sent as an integer. A bool is refused (it is not a quantity)."""
    if isinstance(value, bool):
        raise ValueFormatError(f"not a number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number = float(value)
        return int(number) if number.is_integer() else number
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueFormatError(f"not a number: {value!r}") from None
        return int(number) if number.is_integer() else number
    raise ValueFormatError(f"not a number: {value!r}")


def write_time(value: Any) -> str:
    if isinstance(value, time | datetime):
        return value.strftime(WIRE_TIME)
    return str(value)


def write_text(value: Any) -> str:
    """A scalar as text; dates and datetimes in Mautic's wire forms."""
    if isinstance(value, datetime):
        return wire_datetime(value)
    if isinstance(value, date):
        return wire_date(value)
    if isinstance(value, dict | list):
        raise ValueFormatError(f"takes a scalar, got {type(value).__name__}")
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else str(value)


def write_multiselect(value: Any, choose: Callable[[Any], str] = str) -> list[str]:
    """A list of option values (Mautic joins them with ``|``), from a list or a pipe string."""
    if isinstance(value, str):
        items: list[Any] = value.split("|")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    return [choose(item) for item in items if str(item) != ""]


def write_field(field_type: Any, value: Any, choose: Callable[[Any], str] = str) -> Any:
    """One non-null value in the form Mautic expects for a field of ``field_type``; ``choose`` maps a
    select value to one of the field's options (or raises)."""
    return KINDS[field_kind(field_type)].write(value, choose)


# --------------------------------------------------------------------------------------- the kind table

Writer = Callable[[Any, Callable[[Any], str]], Any]


@dataclass(frozen=True)
class FieldKind:
    """One kind of Mautic field: its JSON schema (from the field's definition), and how a value is written
    to Mautic's forms (``choose`` picks a select option). Its reader is the schema's (:meth:`reader`): the
    tap reads what the (possibly edited) catalog's schema says, so readers follow schemas, not kinds."""

    schema: Callable[[Mapping[str, Any]], dict[str, Any]]
    write: Writer

    def reader(self, field: Mapping[str, Any]) -> Reader:
        return reader_for(self.schema(field))


def _plain(write: Callable[[Any], Any]) -> Writer:
    """A writer that needs no option chooser."""
    return lambda value, choose: write(value)


def _fixed(json_type: str, fmt: str | None = None) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    return lambda field: json_schema(json_type, fmt)


# kind (``FIELD_KINDS``' values) -> its schema and writer: the one place a kind's behaviour is decided.
KINDS: Mapping[str, FieldKind] = MappingProxyType({
    "text": FieldKind(_fixed("string"), _plain(write_text)),
    "time": FieldKind(_fixed("string"), _plain(write_time)),
    "select": FieldKind(_fixed("string"), lambda value, choose: choose(value)),
    "multiselect": FieldKind(lambda field: string_array_schema(), write_multiselect),
    "boolean": FieldKind(_fixed("boolean"), _plain(write_boolean)),
    "number": FieldKind(_number_schema, _plain(write_number)),
    "date": FieldKind(_fixed("string", "date"), _plain(wire_date)),
    "datetime": FieldKind(_fixed("string", "date-time"), _plain(wire_datetime)),
})
