"""Mautic field types -> JSON schema, and API strings -> typed values (no network)."""

from __future__ import annotations

import logging

import pytest

from tap_mautic.fields import RecordConverter, field_schema, stats_column_schema

# Every field type Mautic 5.1 offers, with the schema type the tap must give it.
FIELD_TYPES = [
    ({"type": "text"}, ["string", "null"], None),
    ({"type": "textarea"}, ["string", "null"], None),
    ({"type": "html"}, ["string", "null"], None),
    ({"type": "email"}, ["string", "null"], None),
    ({"type": "tel"}, ["string", "null"], None),
    ({"type": "url"}, ["string", "null"], None),
    ({"type": "select", "properties": {"list": [{"label": "A", "value": "a"}]}}, ["string", "null"], None),
    ({"type": "lookup", "properties": {"list": ["Mr", "Mrs"]}}, ["string", "null"], None),
    ({"type": "country"}, ["string", "null"], None),
    ({"type": "region"}, ["string", "null"], None),
    ({"type": "locale"}, ["string", "null"], None),
    ({"type": "timezone"}, ["string", "null"], None),
    ({"type": "time"}, ["string", "null"], None),
    ({"type": "number", "properties": {}}, ["integer", "null"], None),
    ({"type": "number", "properties": {"roundmode": "4", "scale": "1"}}, ["number", "null"], None),
    ({"type": "number", "properties": {"scale": 0}}, ["integer", "null"], None),
    ({"type": "number", "properties": 'a:2:{s:9:"roundmode";i:4;s:5:"scale";i:2;}'},
     ["number", "null"], None),
    ({"type": "boolean", "properties": {"no": "No", "yes": "Yes"}}, ["boolean", "null"], None),
    ({"type": "date"}, ["string", "null"], "date"),
    ({"type": "datetime"}, ["string", "null"], "date-time"),
    ({"type": "multiselect", "properties": {"list": []}}, ["array", "null"], None),
]


@pytest.mark.parametrize(("field", "types", "fmt"), FIELD_TYPES, ids=lambda v: str(v)[:40])
def test_field_schema_for_every_mautic_type(field, types, fmt):
    schema = field_schema({"alias": "x", **field})
    assert schema["type"] == types
    assert schema.get("format") == fmt
    if "array" in types:
        assert schema["items"] == {"type": "string"}


CONVERSIONS = [
    ({"type": "number"}, "39", 39),
    ({"type": "number"}, 39.0, 39),
    ({"type": "number"}, "", None),
    ({"type": "number", "properties": {"scale": "2"}}, "39.5", 39.5),
    ({"type": "number", "properties": {"scale": "2"}}, 12, 12),
    ({"type": "boolean"}, "1", True),
    ({"type": "boolean"}, "0", False),
    ({"type": "boolean"}, "yes", True),
    ({"type": "boolean"}, False, False),
    ({"type": "boolean"}, 1, True),
    ({"type": "date"}, "2024-03-01", "2024-03-01"),
    ({"type": "date"}, "2024-03-01 00:00:00", "2024-03-01"),
    ({"type": "datetime"}, "2024-03-01 12:34:00", "2024-03-01T12:34:00+00:00"),
    ({"type": "datetime"}, "2024-03-01T14:34:00+02:00", "2024-03-01T12:34:00+00:00"),
    ({"type": "multiselect"}, "sports|music", ["sports", "music"]),
    ({"type": "multiselect"}, ["a", "b"], ["a", "b"]),
    ({"type": "multiselect"}, "", []),
    ({"type": "text"}, "Chloé", "Chloé"),
    ({"type": "text"}, 42, "42"),
    ({"type": "tel"}, None, None),
]


@pytest.mark.parametrize(("field", "raw", "expected"), CONVERSIONS, ids=lambda v: repr(v)[:30])
def test_values_are_converted_to_their_type(field, raw, expected):
    conv = RecordConverter({"x": field_schema({"alias": "x", **field})}, logging.getLogger("t"), "contacts")
    assert conv.convert("x", raw, 1) == expected


UNCONVERTIBLE = [
    ({"type": "date"}, "0000-00-00"),
    ({"type": "datetime"}, "0000-00-00 00:00:00"),
    ({"type": "datetime"}, "yesterday-ish"),
    ({"type": "number"}, "abc"),
    ({"type": "number"}, "3.5"),  # an integer field cannot hold a fraction
    ({"type": "number", "properties": {"scale": "1"}}, "abc"),
    ({"type": "boolean"}, "maybe"),
    ({"type": "date"}, "2024-13-45"),
]


@pytest.mark.parametrize(("field", "raw"), UNCONVERTIBLE, ids=lambda v: repr(v)[:30])
def test_unconvertible_values_become_null_with_a_warning(field, raw, caplog):
    conv = RecordConverter({"x": field_schema({"alias": "x", **field})}, logging.getLogger("t"), "contacts")
    with caplog.at_level(logging.WARNING):
        assert conv.convert("x", raw, 7) is None
    assert any("record id 7" in r.getMessage() and "'x'" in r.getMessage() for r in caplog.records)


def test_warnings_are_rate_limited(caplog):
    conv = RecordConverter({"x": field_schema({"type": "number"})}, logging.getLogger("t"), "contacts")
    with caplog.at_level(logging.WARNING):
        for i in range(50):
            conv.convert("x", "abc", i)
    assert len(caplog.records) == RecordConverter.MAX_WARNINGS_PER_PROPERTY


@pytest.mark.parametrize(("column", "types", "fmt"), [
    ("id", ["integer", "null"], None),
    ("lead_id", ["integer", "null"], None),
    ("tracking_id", ["string", "null"], None),
    ("is_read", ["boolean", "null"], None),
    ("manually_removed", ["boolean", "null"], None),
    ("date_added", ["string", "null"], "date-time"),
    ("last_opened", ["string", "null"], "date-time"),
    ("runtime", ["number", "null"], None),
    ("details", ["string", "null"], None),
    ("open_count", ["integer", "null"], None),
])
def test_stats_columns_are_typed_from_their_names(column, types, fmt):
    schema = stats_column_schema(column)
    assert schema["type"] == types
    assert schema.get("format") == fmt


def test_stats_strings_are_converted():
    cols = ["id", "lead_id", "is_read", "date_sent", "open_details"]
    conv = RecordConverter({c: stats_column_schema(c) for c in cols}, logging.getLogger("t"), "email_stats")
    row = {"id": "5", "lead_id": "7", "is_read": "1", "date_sent": "2026-11-26 07:39:49",
           "open_details": "a:0:{}"}
    assert conv.convert_record(row, 5) == {
        "id": 5, "lead_id": 7, "is_read": True, "date_sent": "2026-11-26T07:39:49+00:00",
        "open_details": "a:0:{}",
    }
