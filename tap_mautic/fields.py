"""Mautic values -> JSON-schema types and JSON values, as the tap emits them.

Why a module of its own: Mautic sends most values as raw database strings (custom fields, every ``/stats``
column), so the type of a property comes from somewhere else (the field's ``type`` in ``/api/fields/*``,
or the column name of a stats table) and every value has to be converted on the way out. A value that
cannot be converted (``0000-00-00``, ``"abc"`` in a number field) becomes null with a warning, never an
exception: one bad row must not stop an hourly sync. The formats themselves live in ``mautic_api.values``
(shared with the target); this module names them for the tap and rate-limits the warnings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mautic_api.values import (
    ValueFormatError,
    field_schema,
    identity,
    json_schema,
    read_boolean,
    read_date,
    read_datetime,
    read_integer,
    read_number,
    read_plan,
    read_string,
    read_string_array,
    reader_for,
    stats_column_schema,
    string_array_schema,
)

# JSON-schema fragments, always nullable (Mautic sends null for unset values).
STRING: dict[str, Any] = json_schema("string")
INTEGER: dict[str, Any] = json_schema("integer")
NUMBER: dict[str, Any] = json_schema("number")
BOOLEAN: dict[str, Any] = json_schema("boolean")
DATE: dict[str, Any] = json_schema("string", "date")
DATETIME: dict[str, Any] = json_schema("string", "date-time")
STRING_ARRAY: dict[str, Any] = string_array_schema()
# Nested structures whose shape Mautic varies ([] for an empty object, PHP-serialized leftovers): kept as is.
ANY: dict[str, Any] = {"type": ["object", "array", "string", "number", "integer", "boolean", "null"]}

# The tap's names for the shared readers (other modules and tests import these).
Unconvertible = ValueFormatError
to_integer = read_integer
to_number = read_number
to_boolean = read_boolean
to_datetime = read_datetime
to_date = read_date
to_string_array = read_string_array
to_string = read_string
converter_for = reader_for


# ---------------------------------------------------------------------------------------- records


class RecordConverter:
    """Converts the properties of records to their schema types, warning (rate-limited) on bad values."""

    MAX_WARNINGS_PER_PROPERTY = 5

    def __init__(self, properties: Mapping[str, Mapping[str, Any]], logger: logging.Logger, stream: str):
        self.plan = read_plan(properties)
        self.converters = {name: reader for name, reader, _ in self.plan}
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
            return self.unconvertible(name, value, record_id)

    def unconvertible(self, name: str, value: Any, record_id: Any) -> None:
        """Null for a value its type cannot hold, with a warning (at most a few per property)."""
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
        """The record, converted in place: per property one type check; a reader only where needed."""
        for name, reader, kept in self.plan:
            value = record.get(name)
            if value is None or type(value) is kept:
                continue
            try:
                record[name] = reader(value)
            except (Unconvertible, TypeError, ValueError, OverflowError):
                self.unconvertible(name, value, record_id)
                record[name] = None
        return record


__all__ = [
    "ANY", "BOOLEAN", "DATE", "DATETIME", "INTEGER", "NUMBER", "STRING", "STRING_ARRAY",
    "RecordConverter", "Unconvertible", "converter_for", "field_schema", "identity", "stats_column_schema",
    "to_boolean", "to_date", "to_datetime", "to_integer", "to_number", "to_string", "to_string_array",
]
