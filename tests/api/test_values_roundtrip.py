"""The value codec (mautic_api.values), proven by property: every Mautic field type round-trips
tap -> target -> tap, and where Mautic is lossy the normalisation is exact and stated.

The round trip uses each side's public path: the tap's ``field_schema`` + ``RecordConverter`` (what it emits),
singer-sdk's own date parsing (what a sink receives), the target's ``ValueMapper.payload`` (what it sends),
and a model of what Mautic 5.1 stores and answers, taken from the recordings (../shared/mautic-5.1.0/NOTES.md,
exchanges 001-012): a multiselect comes back pipe-joined, a boolean as true/false, a number as a float, a
datetime with its seconds dropped.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any, cast

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# The helpers singer-sdk's Sink parses date-like properties with (sinks/core.py): the target sees them so.
from singer_sdk.helpers._compat import date_fromisoformat, datetime_fromisoformat, time_fromisoformat
from singer_sdk.helpers._typing import get_datelike_property_type

from mautic_api.values import (
    FALSE_WORDS,
    FIELD_KINDS,
    FIELD_TYPES,
    KINDS,
    TRUE_WORDS,
    ValueFormatError,
    field_kind,
    parse_datetime,
    read_boolean,
    read_datetime,
    reader_for,
    write_boolean,
)
from tap_mautic.fields import RecordConverter, field_schema
from target_mautic.values import ValueMapper, field_specs

PROPERTY = settings(max_examples=150, deadline=None, database=None)  # no timing: CI machines are shared
ALIAS = "x"
# MySQL DATETIME (and so Mautic) holds years 1000-9999.
MIN_DT, MAX_DT = datetime(1000, 1, 2), datetime(9999, 12, 30)
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


def field_of(field_type: str, options: list[str] | None = None, scale: int = 0) -> dict[str, Any]:
    """A field as ``/api/fields/contact`` lists it."""
    properties: dict[str, Any] = {}
    if options is not None:
        properties["list"] = [{"label": f"Label {value}", "value": value} for value in options]
    if scale:
        properties["scale"] = str(scale)
    return {"alias": ALIAS, "type": field_type, "properties": properties}


def tap_reads(field: dict[str, Any], answered: Any) -> Any:
    """What the tap emits for ``answered``, Mautic's value of ``field`` (the warning path yields None)."""
    converter = RecordConverter({ALIAS: field_schema(field)}, logging.getLogger("roundtrip"), "contacts")
    return converter.convert(ALIAS, answered, 1)


def sink_receives(field: dict[str, Any], emitted: Any) -> Any:
    """The value as singer-sdk hands it to a sink: date, date-time and time strings parsed by its helpers."""
    kind = get_datelike_property_type(field_schema(field))
    parse = {"date": date_fromisoformat, "date-time": datetime_fromisoformat, "time": time_fromisoformat}
    return parse[kind](emitted) if kind and emitted is not None else emitted


def target_writes(field: dict[str, Any], value: Any) -> Any:
    """The value of the target's PATCH/POST body for a record carrying ``value``."""
    body = ValueMapper(object_="contact", fields=field_specs([field])).payload({ALIAS: value})
    return body[ALIAS]


def mautic_answers(field: dict[str, Any], sent: Any) -> Any:
    """What Mautic 5.1 stores for ``sent`` and answers on the next read (NOTES.md, exchanges 001-012)."""
    kind = field_kind(field["type"])
    if kind == "multiselect":
        return "|".join(sent)  # "sports|music", even when sent as an array
    if kind == "number":
        return float(sent)  # 39.0 from "39"
    if kind == "datetime":
        return sent[:-2] + "00"  # "2024-03-01 12:34:56" comes back as "2024-03-01 12:34:00"
    return sent  # booleans come back as true/false; text, dates, times, options as sent


def round_trip(field: dict[str, Any], emitted: Any, *, through_mautic: bool = True) -> Any:
    sent = target_writes(field, sink_receives(field, emitted))
    return tap_reads(field, mautic_answers(field, sent) if through_mautic else sent)


# ------------------------------------------------------------------- values as the tap emits them, by type

OPTION = st.text(st.characters(codec="utf-8", exclude_characters="|\x00"), min_size=1, max_size=12).filter(
    lambda text: text.strip() == text and text != ""
)
# "" is a blank: the target leaves the field alone (not a value); a NUL is refused before sending
# (Mautic cannot store it: mautic_api.normalize.unstorable)
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1,
               max_size=40)
WHOLE_MINUTES = st.datetimes(MIN_DT, MAX_DT).map(lambda d: d.replace(second=0, microsecond=0))


@st.composite
def emitted_values(draw: st.DrawFn, field_type: str) -> tuple[dict[str, Any], Any]:
    """A field of ``field_type`` and a value of it as the tap emits it (what Mautic can hold)."""
    kind = field_kind(field_type)
    if kind == "number":
        if draw(st.booleans()):  # scale 0: an integer property; Mautic's float column is exact to 2**53
            return field_of(field_type), draw(st.integers(-(2**53), 2**53))
        return field_of(field_type, scale=2), draw(st.floats(allow_nan=False, allow_infinity=False))
    if kind == "boolean":
        return field_of(field_type), draw(st.booleans())
    if kind == "date":
        return field_of(field_type), draw(st.dates(MIN_DT.date(), MAX_DT.date())).isoformat()
    if kind == "datetime":
        # Mautic keeps whole minutes, so what the tap emits for a datetime field is a whole minute in UTC.
        return field_of(field_type), draw(WHOLE_MINUTES).replace(tzinfo=timezone.utc).isoformat()
    if kind == "time":
        return field_of(field_type), draw(st.times()).strftime("%H:%M:%S")
    if kind in ("select", "multiselect"):
        options = draw(st.lists(OPTION, min_size=1, max_size=6, unique_by=str.casefold))
        if kind == "select":
            return field_of(field_type, options), draw(st.sampled_from(options))
        chosen = draw(st.lists(st.sampled_from(options), unique=True))
        return field_of(field_type, options), chosen
    return field_of(field_type), draw(TEXT)


@pytest.mark.parametrize("field_type", FIELD_TYPES)
@PROPERTY
@given(data=st.data())
def test_every_field_type_round_trips_tap_target_tap(field_type: str, data: st.DataObject) -> None:
    field, emitted = data.draw(emitted_values(field_type))
    assert round_trip(field, emitted) == emitted
    assert type(round_trip(field, emitted)) is type(emitted)
    assert round_trip(field, emitted, through_mautic=False) == emitted


def test_every_mautic_51_field_type_is_covered() -> None:
    """The types of Mautic 5.1's field list (as in tests/tap/test_tap_fields.py); a new one must be added
    here."""
    assert set(FIELD_TYPES) == {
        "text", "textarea", "html", "email", "tel", "url", "lookup", "country", "region", "locale",
        "timezone", "time", "select", "multiselect", "boolean", "number", "date", "datetime",
    }  # fmt: skip


# ------------------------------------------------------------------------------- where Mautic is lossy


@PROPERTY
@given(moment=st.datetimes(MIN_DT, MAX_DT, timezones=OFFSETS))
def test_a_datetime_comes_back_in_utc_to_the_minute(moment: datetime) -> None:
    """Any datetime a record carries (any offset, microseconds) is written as naive UTC to the second (the
    target truncates, never rounds), and Mautic keeps whole minutes: the tap reads back UTC to the minute."""
    field = field_of("datetime")
    utc = moment.astimezone(timezone.utc)
    assert round_trip(field, moment.isoformat(), through_mautic=False) == (
        utc.replace(microsecond=0).isoformat()
    )
    assert round_trip(field, moment.isoformat()) == utc.replace(second=0, microsecond=0).isoformat()


@PROPERTY
@given(number=st.integers(-(2**80), 2**80))
def test_an_integer_comes_back_as_mauticss_float_holds_it(number: int) -> None:
    """Mautic stores numbers in a float column: an integer beyond 2**53 comes back as its nearest float."""
    assert round_trip(field_of("number"), number) == int(float(number))


@PROPERTY
@given(word=st.sampled_from(sorted(TRUE_WORDS | FALSE_WORDS)), upper=st.booleans())
def test_tap_and_target_read_the_same_boolean_words(word: str, upper: bool) -> None:
    word = word.upper() if upper else word
    assert read_boolean(word) is write_boolean(word) is (word.lower() in TRUE_WORDS)


# ---------------------------------------------------------------------------------- one date parser


@PROPERTY
@given(moment=st.datetimes(MIN_DT, MAX_DT, timezones=st.one_of(st.none(), OFFSETS)),
       sep=st.sampled_from(" T"), zulu=st.booleans())
def test_mauticss_own_forms_parse_as_pendulum_parses_them(moment: datetime, sep: str, zulu: bool) -> None:
    """Mautic's own forms take a fast path (fromisoformat); it must agree with pendulum exactly."""
    moment = moment.replace(microsecond=0)  # OFFSETS are whole minutes, as Mautic's forms are
    text = moment.isoformat(sep=sep)
    if zulu and moment.utcoffset() == timedelta(0):
        text = text.replace("+00:00", "Z")
    expected = cast(pendulum.DateTime, pendulum.parse(text, tz="UTC")).in_timezone("UTC")
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo == timezone.utc
    assert parse_datetime(moment.date().isoformat()) == pendulum.parse(moment.date().isoformat(), tz="UTC")


SHAPES = ("dddd-dd-dd", "dddd-dd-dd dd:dd:dd", "dddd-dd-ddTdd:dd:ddZ", "dddd-dd-ddTdd:dd:dd+dd:dd",
          "dddd-dd-dd dd:dd:dd-dd:dd")


@PROPERTY
@given(shape=st.sampled_from(SHAPES), data=st.data())
def test_any_string_of_mauticss_shapes_reads_as_pendulum_reads_it(shape: str, data: st.DataObject) -> None:
    """Out-of-range fields (month 13, hour 24, offset 25:00, odd digits) included: both refuse, or agree."""
    digit = st.sampled_from("0123456789") | st.characters(categories=["Nd"]) | st.sampled_from("+- x")
    text = "".join(data.draw(digit) if char == "d" else char for char in shape)
    try:
        expected = pendulum.parse(text, tz="UTC")
    except ValueError:
        expected = None
    if not isinstance(expected, datetime):
        with pytest.raises(ValueFormatError):
            parse_datetime(text)
    else:
        assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["20240301T123456Z", "2024-03-01 12:34", "2024-03-01T12:34:56.5-02:30",
                                  "2024-03-01T12:34:56,25Z"])
def test_other_iso_forms_go_to_pendulum(text: str) -> None:
    assert parse_datetime(text) == pendulum.parse(text, tz="UTC")


@pytest.mark.parametrize("text", ["0000-00-00", "0000-00-00 00:00:00", "2024-13-45", "2024-02-30 10:00:00",
                                  "12:00", "abc", "", "2024-03-01T24:00:00",
                                  # no calendar date first: the target refused ordinal and week dates before
                                  "2024-060", "2024-W10-1"])
def test_what_neither_reads_is_one_error(text: str) -> None:
    with pytest.raises(ValueFormatError, match="not an ISO 8601 date or datetime"):
        parse_datetime(text)


def test_date_objects_and_naive_datetimes_are_utc() -> None:
    field = field_of("datetime")
    assert target_writes(field, date(2024, 3, 1)) == "2024-03-01 00:00:00"
    assert target_writes(field, datetime(2024, 3, 1, 12, 34, 56, 999999)) == "2024-03-01 12:34:56"
    assert tap_reads(field, "2024-03-01 12:34:56") == "2024-03-01T12:34:56+00:00"


def test_every_field_kind_has_its_schema_and_writer_in_the_table():
    assert set(FIELD_KINDS.values()) == set(KINDS)
    readers = {kind: entry.reader({}).__name__ for kind, entry in KINDS.items()}
    assert readers == {"text": "read_string", "time": "read_string", "select": "read_string",
                       "multiselect": "read_string_array", "boolean": "read_boolean",
                       "number": "read_integer", "date": "read_date", "datetime": "read_datetime"}
    assert KINDS["number"].reader({"properties": {"scale": "2"}}) is reader_for({"type": ["number"]})


@PROPERTY
@given(st.datetimes(MIN_DT, MAX_DT), st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                                                       "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S+00:00",
                                                       "%Y-%m-%d"]))
def test_mautic_utc_forms_read_as_pendulum_reads_them(when, form):
    """read_datetime's shortcut for Mautic's UTC forms gives what the general parse gives."""
    text = when.strftime(form)
    parsed = cast(pendulum.DateTime, pendulum.parse(text, tz="UTC"))
    expected = parsed.in_timezone("UTC").replace(microsecond=0)
    assert read_datetime(text) == expected.isoformat()
