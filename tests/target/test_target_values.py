"""Unit tests of target_mautic.values: the value rules, without a server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from target_mautic.connector import csv_in
from target_mautic.values import InvalidValue, ValueMapper, field_specs, format_datetime

FIELDS: list[dict[str, Any]] = [
    {"alias": "email", "type": "email", "isUniqueIdentifier": True},
    {"alias": "firstname", "type": "text"},
    {"alias": "is_vip", "type": "boolean", "properties": {"no": "No", "yes": "Yes"}},
    {"alias": "birthday_date", "type": "date"},
    {"alias": "last_purchase_at", "type": "datetime"},
    {"alias": "shoe_size", "type": "number"},
    {
        "alias": "plan",
        "type": "select",
        "properties": {"list": [{"label": "Free", "value": "free"}, {"label": "Pro", "value": "pro"}]},
    },
    {
        "alias": "interests",
        "type": "multiselect",
        "properties": {
            "list": [{"label": "Sports", "value": "sports"}, {"label": "Music", "value": "music"}]
        },
    },
    {"alias": "points", "type": "number"},
]


def mapper(**kw) -> ValueMapper:
    return ValueMapper(object_="contact", fields=field_specs(FIELDS), **kw)


def test_formats_dates_datetimes_booleans_multiselect():
    body = mapper().payload(
        {
            "email": "a@example.org",
            "birthday_date": dt.date(1990, 5, 17),
            "last_purchase_at": dt.datetime(
                2024, 3, 1, 12, 34, 56, tzinfo=dt.timezone(dt.timedelta(hours=2))
            ),
            "is_vip": "yes",
            "interests": ["sports", "Music"],
            "plan": "Pro",
            "shoe_size": "42.5",
        }
    )
    assert body == {
        "email": "a@example.org",
        "birthday_date": "1990-05-17",
        "last_purchase_at": "2024-03-01 10:34:56",  # UTC
        "is_vip": True,
        "interests": ["sports", "music"],  # label mapped to the option value
        "plan": "pro",
        "shoe_size": 42.5,
    }


def test_select_value_outside_options_names_property():
    with pytest.raises(InvalidValue, match=r"property 'plan'.*'platinum' is not an option"):
        mapper().payload({"plan": "platinum"})


def test_nulls_skipped_unless_overwrite_with_blank():
    assert mapper().payload({"firstname": None, "email": "x@example.org"}) == {"email": "x@example.org"}
    body = mapper(overwrite_with_blank=True).payload({"firstname": None})
    assert body == {"firstname": None, "overwriteWithBlank": True}


def test_read_only_and_points_stripped():
    body = mapper().payload({"dateAdded": "2024-01-01", "fields": {}, "points": 5, "firstname": "A", "id": 3})
    assert body == {"firstname": "A"}
    assert mapper(write_points=True).payload({"points": 5}) == {"points": 5}


def test_unknown_properties_listed():
    assert mapper().unknown_properties(["email", "dateModified", "_sdc_deleted_at", "nope", "tags"]) == [
        "nope"
    ]


def test_owner_and_tags_from_tap_shapes():
    body = mapper().payload({"owner": {"id": 2, "username": "x"}, "tags": [{"tag": "vip"}, "new"]})
    assert body == {"owner": 2, "tags": ["vip", "new"]}


def test_csv_in_quotes_commas_and_quotes():
    assert csv_in(["Acme", "Acme, Inc.", 'Say "hi"']) == 'Acme,"Acme, Inc.","Say ""hi"""'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T12:34:56+02:00", "2024-03-01 10:34:56"),  # offsets are converted to UTC
        ("2024-03-01T12:34:56Z", "2024-03-01 12:34:56"),
        ("2024-03-01 12:34", "2024-03-01 12:34:00"),  # no offset: already UTC, as Mautic stores it
        ("20240301T123456Z", "2024-03-01 12:34:56"),  # ISO 8601 basic format
        ("2024-03-01", "2024-03-01 00:00:00"),
    ],
)
def test_datetime_strings_in_any_iso_form(text: str, expected: str) -> None:
    assert format_datetime(text) == expected


@pytest.mark.parametrize("text", ["0000-00-00", "abc", "12:00", "2024-13-45"])
def test_unparsable_datetime_strings_are_invalid_values(text: str) -> None:
    with pytest.raises(InvalidValue, match="not an ISO 8601 date or datetime"):
        format_datetime(text)
