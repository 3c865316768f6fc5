"""mautic_api.php_serial: PHP unserialize for audit_log details, fuzzed and checked on real Mautic rows."""

from __future__ import annotations

import contextlib
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mautic_api.php_serial import PhpObject, PhpSerialError, as_list, dumps, loads
from tests.support.paths import FIXTURES

FIXTURE = FIXTURES / "audit_log_real.json"

scalars = st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1) | st.text() | st.floats(
    allow_nan=False, allow_infinity=False)
keys = st.integers(-(2 ** 31), 2 ** 31) | st.text()
values = st.recursive(scalars, lambda inner: st.dictionaries(keys, inner, max_size=5)
                      | st.lists(inner, max_size=5), max_leaves=30)


def _plain(value: object) -> object:
    """What a value looks like after a PHP round trip: lists are arrays keyed 0..n-1."""
    if isinstance(value, list):
        return {n: _plain(v) for n, v in enumerate(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@given(values)
@settings(max_examples=400, deadline=None)
def test_round_trip(value: object) -> None:
    assert loads(dumps(value)) == _plain(value)


@given(values, st.data())
@settings(max_examples=400, deadline=None)
def test_truncated_or_damaged_text_raises_only_php_serial_error(value: object, data: st.DataObject) -> None:
    """Damaged text (cut anywhere, one byte replaced) never raises anything but PhpSerialError."""
    text = dumps(value).encode("utf-8")
    cut = data.draw(st.integers(0, max(0, len(text) - 1)))
    with pytest.raises(PhpSerialError):
        loads(text[:cut])
    at = data.draw(st.integers(0, len(text) - 1))
    damaged = text[:at] + bytes([data.draw(st.integers(0, 255))]) + text[at + 1:]
    with contextlib.suppress(PhpSerialError):
        loads(damaged)


@given(st.binary(max_size=80))
@settings(max_examples=400, deadline=None)
def test_random_bytes_raise_only_php_serial_error(raw: bytes) -> None:
    with contextlib.suppress(PhpSerialError):
        loads(raw)


def test_strings_count_utf8_bytes() -> None:
    # "Müller" is 7 bytes in UTF-8; a quote inside a string is data, not the end
    assert loads('a:2:{s:4:"name";s:7:"Müller";s:1:"q";s:3:"a";";}') == {"name": "Müller", "q": 'a";'}


def test_string_cut_inside_a_character_is_replaced_not_refused() -> None:
    # Mautic truncates by bytes: 1 byte of the 2 of "ü"
    assert loads('s:3:"Mü";') == "Mü" and loads(b's:2:"M\xc3";') == "M\ufffd"


def test_scalars_floats_and_specials() -> None:
    assert loads("i:-12;") == -12
    assert loads("d:0.1;") == 0.1
    assert loads("d:1.0E+25;") == 1e25
    assert math.isinf(loads("d:INF;")) and math.isnan(loads("d:NAN;"))
    assert loads("b:1;") is True and loads("N;") is None


def test_objects_and_references() -> None:
    text = ('O:8:"DateTime":3:{s:4:"date";s:26:"2024-01-02 03:04:05.000000";s:13:"timezone_type";i:3;'
            's:8:"timezone";s:3:"UTC";}')
    obj = loads(text)
    assert isinstance(obj, PhpObject) and obj.class_name == "DateTime"
    assert obj.properties["date"].startswith("2024-01-02 03:04:05")
    private = loads('O:1:"A":1:{s:4:"\0A\0x";i:1;}')
    assert private.properties == {"x": 1}
    assert loads('a:2:{i:0;s:1:"x";i:1;r:2;}') == {0: "x", 1: "x"}


@pytest.mark.parametrize("bad", ["", "x", "i:;", "i:1", "s:5:\"abc\";", "a:1:{i:0;}", "a:1:{a:0:{}i:1;}",
                                 "b:2;", "i:1;junk", "r:9;", "E:3:\"abc\";"])
def test_malformed_text_names_the_offset(bad: str) -> None:
    with pytest.raises(PhpSerialError, match="byte"):
        loads(bad)


def test_as_list() -> None:
    assert as_list({0: None, 1: "x"}) == [None, "x"]
    assert as_list({1: "x"}) == {1: "x"}


def test_real_mautic_rows_parse() -> None:
    """Rows taken from a real Mautic 5.1.0's audit_log (tests/fixtures/audit_log_real.json: the text as
    MariaDB holds it, and the value PHP's own unserialize() gave, as JSON)."""
    rows = json.loads(FIXTURE.read_text())
    assert len(rows) >= 5
    for row in rows:
        assert _jsonable(loads(row["details"])) == row["php"], row["details"]


def _jsonable(value: object) -> object:
    """The PHP value as PHP's json_encode writes it (arrays keyed 0..n-1 as lists, other keys as text)."""
    if isinstance(value, dict):
        listed = as_list(value)
        if isinstance(listed, list):
            return [_jsonable(v) for v in listed]
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, PhpObject):
        return {str(k): _jsonable(v) for k, v in value.properties.items()}
    return value
