"""Compare before write: which properties of a payload differ from what Mautic holds now.

Why a module of its own: a nightly "warehouse -> Mautic" job re-sends every record, and most of them did
not change. Reading the batch's records costs one ``where id in`` list call per ``batch_size`` records
(real 5.1.0: ~0.6 s for 200, against ~2.3 s for a ``batch/edit`` of the same 200), so a record whose values
Mautic already holds is reported ``unchanged`` and costs no write, and an edit carries only the aliases
that differ.

Both sides are brought to one form before comparing, the form Mautic stores (the shared codec,
:mod:`mautic_api.values`): dates ``YYYY-MM-DD``, date-times UTC to the minute (Mautic drops the seconds),
booleans true/false, numbers rounded to the field's scale as Mautic rounds them, multiselects as sets,
select values (labels were mapped to values by :class:`~target_mautic.values.ValueMapper`), blanks ("" and
null) as one blank. A value this module cannot read is taken as different (it is written, as without
comparing).

Contact keys that are not fields (``tags``, ``owner``, ``stage``, ``lastActive``) are only in the full list
answer (recordings 165-contacts-list-limit2-start0.http against 548-contacts-where-id-in-csv-string.http,
whose ``minimal`` answer has ``id``, ``points``, ``fields`` and dates only): a stream carrying them is read
in full, others minimally. Tags are added by Mautic, never replaced, so a record's tags differ only when one
is missing (or a ``-tag`` removal names one the contact has). ``ipAddress`` is always sent.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from typing import Any

from mautic_api.values import (
    ValueFormatError,
    field_kind,
    read_boolean,
    read_date,
    read_datetime,
    read_number,
    read_string_array,
)
from target_mautic.rows import field_value
from target_mautic.values import FieldSpec

BLANK_FLAG = "overwriteWithBlank"  # a payload key, not a field: kept when a blanked alias is sent
# keys compared although they are not field aliases (the list answer has them at the top level)
TOP_LEVEL_KEYS = frozenset({"points"})
# contact keys compared when the full list answer carries them (FULL_READ_KEYS make the sink read in full)
SPECIAL_KEYS = frozenset({"tags", "owner", "stage", "lastActive"})
FULL_READ_KEYS = SPECIAL_KEYS

# a number field's ``roundmode`` (ICU NumberFormatter's constants, used by Mautic's number form) -> decimal's;
# the decimal text of the value is rounded (real 5.1.0, scale 2, roundmode 4: 12.345 is stored as 12.34,
# 13.345 as 13.34, half to even; 2026-12-06). Without a roundmode: half up, Symfony's NumberType default.
ROUNDING = {0: decimal.ROUND_CEILING, 1: decimal.ROUND_FLOOR, 2: decimal.ROUND_DOWN, 3: decimal.ROUND_UP,
            4: decimal.ROUND_HALF_EVEN, 5: decimal.ROUND_HALF_DOWN, 6: decimal.ROUND_HALF_UP}

Changes = dict[str, list[Any]]  # alias -> [Mautic's value, the value sent]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or value == []


def _time(value: Any) -> str:
    text = str(value).strip()
    return text + ":00" if len(text) == 5 else text[:8]


def comparable(spec: FieldSpec | None, value: Any) -> Any:
    """``value`` (Mautic's, or one the target would send) in the one form both are compared in; None for a
    blank. Raises ValueFormatError when it cannot be read as the field's kind."""
    if _blank(value):
        return None
    kind = field_kind(spec.type) if spec is not None else "number"
    if kind == "number":
        number = read_number(value)
        if number is None:
            return None
        if spec is None:
            return float(number)
        rounding = decimal.ROUND_HALF_UP if spec.roundmode is None else ROUNDING.get(spec.roundmode,
                                                                                     decimal.ROUND_HALF_UP)
        step = decimal.Decimal(1).scaleb(-spec.scale)
        rounded = float(decimal.Decimal(repr(number)).quantize(step, rounding=rounding))
        return 0.0 if rounded == 0 else rounded  # -0.0 == 0.0, but keep the plan's output tidy
    if kind == "boolean":
        return read_boolean(value)
    if kind == "date":
        return read_date(value)
    if kind == "datetime":
        # Mautic 5.1.0 drops the seconds of a datetime field (NOTES.md of the recordings: "2024-03-01
        # 12:34:56" is stored as "12:34:00"; the real server did the same on 2026-12-06): to the minute
        stamp = read_datetime(value)
        return stamp[:16] if stamp else None
    if kind == "multiselect":
        items = read_string_array(value)
        return frozenset(items) if items else None
    if kind == "time":
        return _time(value)
    return str(value).strip()


def current_value(record: Mapping[str, Any], alias: str) -> Any:
    """Mautic's current value of ``alias`` in a list answer (``fields.all`` or the top level)."""
    if alias in TOP_LEVEL_KEYS and alias in record:
        return record[alias]
    return field_value(record, alias)


def _ref(value: Any) -> Any:
    """An owner/stage as its id (the list answer holds an object, the payload an id)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value in (None, "") else int(value)


def tag_names(value: Any) -> set[str]:
    """A contact's ``tags`` (objects ``{tag: ...}`` or names, a list or a map) as casefolded names."""
    items = value.values() if isinstance(value, Mapping) else value or []
    names = {str(t.get("tag") if isinstance(t, Mapping) else t).strip().casefold() for t in items}
    return {n for n in names if n}


def _special_differs(alias: str, current: Any, wanted: Any) -> bool:
    """A contact key that is not a field: does ``wanted`` change what Mautic holds (``current``)?"""
    if alias == "tags":
        have = tag_names(current)
        return any(tag[1:] in have if tag.startswith("-") else tag not in have for tag in tag_names(wanted))
    if alias in ("owner", "stage"):
        return _ref(current) != _ref(wanted)
    if alias == "lastActive":
        return read_datetime(current) != read_datetime(wanted)
    return True


def _shown(value: Any) -> Any:
    """A value as the plan and the results line show it (JSON: a multiselect as a sorted list)."""
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def changed_values(
    payload: Mapping[str, Any], current: Mapping[str, Any], fields: Mapping[str, FieldSpec]
) -> tuple[dict[str, Any], Changes]:
    """The part of ``payload`` that differs from the record ``current`` (as listed by Mautic), and the
    changes as ``{alias: [old, new]}``. Keys that cannot be compared are kept (and listed with old None)."""
    send: dict[str, Any] = {}
    changes: Changes = {}
    for alias, value in payload.items():
        if alias == BLANK_FLAG:
            continue
        spec = fields.get(alias)
        if spec is None and alias not in TOP_LEVEL_KEYS:
            if alias not in SPECIAL_KEYS or alias not in current:
                send[alias] = value  # ipAddress, or a key the (minimal) list answer did not carry
                continue
            try:
                differs = _special_differs(alias, current[alias], value)
            except (ValueFormatError, TypeError, ValueError):
                differs = True
            if differs:
                send[alias] = value
                old = current[alias]
                changes[alias] = [sorted(tag_names(old)) if alias == "tags" else
                                  _ref(old) if alias in ("owner", "stage") else old, value]
            continue
        old = current_value(current, alias)
        try:
            same = comparable(spec, old) == comparable(spec, value)
            shown_old = _shown(comparable(spec, old))
        except (ValueFormatError, TypeError, ValueError):
            same, shown_old = False, old
        if same:
            continue
        send[alias] = value
        try:
            shown_new = _shown(comparable(spec, value))
        except (ValueFormatError, TypeError, ValueError):
            shown_new = value
        changes[alias] = [shown_old, shown_new]
    if send and any(v is None for v in send.values()) and payload.get(BLANK_FLAG):
        send[BLANK_FLAG] = True
    return send, changes


__all__ = ["BLANK_FLAG", "FULL_READ_KEYS", "Changes", "changed_values", "comparable", "current_value",
           "tag_names"]
