"""The shape-cached validator: the records singer-sdk's validator refuses are refused, with its message."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import JSONSchemaValidator

from target_mautic.validation import ShapeCachedValidator, types_only

SCHEMA = {
    "type": "object",
    "properties": {
        "email": {"type": "string"},
        "seats": {"type": ["integer", "null"]},
        "score": {"type": ["number", "null"]},
        "is_vip": {"type": ["boolean", "null"], "description": "a flag"},
        "seen_at": {"type": ["string", "null"], "format": "date-time"},
        "address": {"type": ["object", "null"], "properties": {"city": {"type": "string"}}},
    },
    "required": ["email"],
}


def outcome(validator: Any, record: dict[str, Any]) -> str | None:
    try:
        validator.validate(record)
    except InvalidRecord as exc:
        return exc.error_message
    return None


def test_types_only_schemas_are_told_apart_from_the_others():
    assert types_only(SCHEMA)
    assert not types_only({"type": "object", "properties": {"plan": {"type": "string", "enum": ["a", "b"]}}})
    assert not types_only({"type": "object", "properties": {"email": {"type": "string", "maxLength": 5}}})
    tags = {"type": "array", "items": {"type": "string"}}
    assert not types_only({"type": "object", "properties": {"tags": tags}})
    assert not types_only({"type": "object", "properties": {"x": {"anyOf": [{"type": "string"}]}}})
    assert not types_only({"type": "object", "additionalProperties": {"type": "string"}})


@pytest.mark.parametrize("bad", [
    {"email": "a@b.c", "seats": "3"},  # a string where an integer is expected
    {"email": "a@b.c", "seats": 2.5},  # a float that is not integral
    {"email": "a@b.c", "seats": Decimal("2")},  # the SDK reads JSON numbers with a fraction as Decimal
    {"email": "a@b.c", "is_vip": 1},
    {"email": "a@b.c", "address": {"city": 7}},  # nested
    {"seats": 1},  # required
    {"email": None},
])
def test_after_valid_records_of_other_shapes_a_bad_record_fails_as_before(bad: dict[str, Any]):
    plain = JSONSchemaValidator(SCHEMA)
    cached = ShapeCachedValidator(JSONSchemaValidator(SCHEMA))
    valid: list[dict[str, Any]] = [
        {"email": "a@b.c", "seats": 3, "score": Decimal("1.5"), "is_vip": True, "seen_at": "not checked"},
        {"email": "d@e.f", "seats": 2.0, "address": {"city": "Lyon"}},
        {"email": "g@h.i", "seats": None, "is_vip": None},
    ]
    for record in valid * 2:  # the second time each shape is known
        assert outcome(cached, record) is None and outcome(plain, record) is None
    expected = outcome(plain, bad)
    assert expected is not None
    assert outcome(cached, bad) == expected
    assert outcome(cached, bad) == expected  # still refused once seen: invalid shapes are never remembered
