"""Record validation that skips records shaped like one already found valid, for schemas of types only.

Why: singer-sdk validates every record with jsonschema, the target's largest cost per record. Against a
schema that says only which properties have which JSON types (what a warehouse table's schema says: ``type``,
``properties``, ``required``, ``additionalProperties`` true or false, formats not checked), whether a record
is valid depends only on its *shape*: its keys and the Python type of each value (and, for a float, whether
it is integral, which decides ``integer``). A record with a shape already validated is therefore valid; any
other record is validated by singer-sdk's own validator, so every invalid record fails with the same message
as before. Schemas with any other keyword (enum, lengths, patterns, items, anyOf, $ref, ...) are validated
record by record as singer-sdk does. Plugged in through ``Sink.get_validator``, singer-sdk's hook for it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, cast

from singer_sdk.sinks.core import BaseJSONSchemaValidator

# keywords that do not make validity depend on a value beyond its type (annotations, and the type keywords)
ANNOTATIONS = frozenset({
    "title", "description", "default", "examples", "$comment", "readOnly", "writeOnly", "deprecated",
    "$schema", "$id", "format",  # format: asserted only with a format checker, which these sinks do not use
})
TYPE_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"})
MAX_SHAPES = 10_000  # shapes remembered per stream (a wide sparse table can have many)


def types_only(schema: Any) -> bool:
    """True when ``schema`` constrains nothing but the JSON types of properties (recursively)."""
    if not isinstance(schema, Mapping):
        return False
    for key, value in schema.items():
        if key in ANNOTATIONS:
            continue
        if key not in TYPE_KEYWORDS:
            return False
        if key == "type" and not (isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value))):
            return False
        if key == "properties" and not (isinstance(value, Mapping) and all(
                isinstance(name, str) and types_only(sub) for name, sub in value.items())):
            return False
        if key == "required" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return False
        if key == "additionalProperties" and not isinstance(value, bool):
            return False
    return True


def shape(value: Any) -> Hashable:
    """What a types-only schema can tell apart: the type, keys of objects (nested), integral floats."""
    kind = type(value)
    if kind is dict:
        return tuple((key, shape(item)) for key, item in value.items())
    if kind is float:
        return (float, value.is_integer())
    if kind is list:
        return list  # a types-only schema has no `items`: list contents are not checked
    return cast("Hashable", kind)  # a class is hashable; typeshed's type[Any] does not say so


class ShapeCachedValidator(BaseJSONSchemaValidator):
    """singer-sdk's validator, consulted only for record shapes it has not yet found valid."""

    def __init__(self, inner: BaseJSONSchemaValidator) -> None:
        super().__init__(inner.schema)
        self.inner = inner
        self._valid: set[Hashable] = set()

    def validate(self, record: dict[str, Any]) -> None:
        key = shape(record)
        if key in self._valid:
            return
        self.inner.validate(record)  # raises singer-sdk's InvalidRecord, message unchanged
        if len(self._valid) < MAX_SHAPES:
            self._valid.add(key)
