"""The row model: one input record on its way through a batch, and the small value helpers every sink shares.

Why apart: the sinks (upserts, links) and the connector all compare values and read fields the same way;
keeping these here means one rule for "equal" (MySQL's case-insensitive collation) across the target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mautic_api.errors import ConfigurationError, MauticError


class StreamSetupError(Exception):
    """A SCHEMA message the target cannot load (unknown property, missing key column); names the stream."""


@dataclass
class Row:
    """One input record on its way through a batch."""

    seq: int
    record: dict[str, Any]
    deleted: bool
    key: dict[str, Any]
    payload: dict[str, Any] = field(default_factory=dict)
    mautic_id: int | None = None
    warnings: list[str] = field(default_factory=list)  # the result line's ``warnings``, whatever the outcome
    current: dict[str, Any] | None = None  # the record as Mautic holds it now (compare before write), or None
    changes: dict[str, list[Any]] | None = None  # the result line's ``changes``: alias -> [old, new]

    def add_note(self, text: str) -> None:
        """A warning about this record (a value not written, an id not found): the result line's
        ``warnings``, beside its outcome and message."""
        if text not in self.warnings:
            self.warnings.append(text)

    @property
    def note(self) -> str | None:
        """The warnings as one text (None: none)."""
        return "; ".join(self.warnings) or None


def field_value(record: Mapping[str, Any], alias: str) -> Any:
    """A field of a contact/company as the API returns it (top level, or under ``fields.all``)."""
    if alias in record and not isinstance(record.get(alias), Mapping):
        return record[alias]
    fields = record.get("fields")
    if isinstance(fields, Mapping):
        everything = fields.get("all")
        if isinstance(everything, Mapping) and alias in everything:
            return everything[alias]
        for group in fields.values():
            if isinstance(group, Mapping) and isinstance(group.get(alias), Mapping):
                return group[alias].get("value")
    return None


def norm(value: Any) -> str:
    """Match values the way MySQL's case-insensitive collation compares them."""
    return str(value).strip().casefold()


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _non_finite(value: Any) -> bool:
    if value is None or type(value) in (str, int, bool):  # the usual values, decided without isinstance calls
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Decimal):
        return not value.is_finite()
    if isinstance(value, Mapping):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


def non_finite_property(record: Mapping[str, Any]) -> str | None:
    """The first property holding NaN or +-Infinity (JSON cannot carry them: requests would refuse the
    whole batch body), or None."""
    return next((str(name) for name, value in record.items() if _non_finite(value)), None)


def reraise_fatal(exc: MauticError) -> None:
    """Credentials or instance configuration broke mid-run: stop (no STATE) instead of failing every row."""
    if isinstance(exc, ConfigurationError):
        raise exc
