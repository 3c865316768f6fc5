"""List answers decoded to what a reader uses: msgspec skips the rest of the bytes without building it.

Why: a page of 200 contacts is megabytes, nine tenths of it the per-group copies of every custom field with
its metadata (``fields.core``, ``fields.social``, ...) next to the flat ``fields.all`` the tap reads. Decoded
in full, those are ~50 dicts per contact to build, then to collect; skipped, the page decodes ~5x faster.

The shape is strict where skipping could hide something: an answer with a key the shape does not declare
(an ``errors`` key inside a 200, a property the stream's schema lacks) does not fit, and ``decode`` returns
None so the caller decodes the whole answer as before. Only the declared sub-objects (``fields``) drop keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import pendulum


class ListAnswerShape:
    """The shape of one context's list answer: ``{"total": ..., list_key: {id: item} | [item]}`` where each
    item has only ``item_keys`` (each optional), and ``trimmed`` sub-objects keep only the keys named."""

    def __init__(self, list_key: str, item_keys: Iterable[str], trimmed: Mapping[str, Iterable[str]]) -> None:
        self.list_key = list_key
        keys = tuple(dict.fromkeys([*item_keys, *trimmed]))
        types: dict[str, Any] = dict.fromkeys(keys, Any)
        for n, (key, kept) in enumerate(trimmed.items()):
            sub = _struct(f"Trimmed{n}", dict.fromkeys(kept, Any), forbid_unknown=False)
            types[key] = sub | list[Any] | None  # Mautic sends [] for an empty object
        item = _struct("Item", types, forbid_unknown=True)
        # [valid-type] below: a msgspec Struct built at run time
        page = _struct("Page", {"total": Any, list_key: dict[str, item] | list[item]},  # type: ignore[valid-type]
                       forbid_unknown=True)
        self._decoder = msgspec.json.Decoder(page)

    def decode(self, content: bytes) -> dict[str, Any] | None:
        """The answer as plain dicts and lists (absent keys stay absent), or None when it does not fit the
        shape or is not JSON."""
        try:
            page = self._decoder.decode(content)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        return msgspec.to_builtins(page)  # type: ignore[no-any-return]  # to_builtins is typed Any


class BatchAnswerShape:
    """The shape of a batch answer when the caller reads only ``item_keys`` of each saved item (the target:
    ``id`` and ``dateAdded``): ``statusCodes`` and ``errors`` whole, each item of ``list_key`` trimmed.

    Why: a batch/new of 200 contacts answers ~1.6 MB of full contacts; decoded whole it cost ~23 ms of the
    target's CPU per call (its lanes share one interpreter lock), trimmed ~3 ms. Other top-level keys are
    skipped; an answer that does not fit (not an object, items of another kind) returns None and is decoded
    whole as before."""

    def __init__(self, list_key: str, item_keys: Iterable[str]) -> None:
        item = _struct("BatchItem", dict.fromkeys(item_keys, Any), forbid_unknown=False)
        entry = item | list[Any] | None  # [] or null where Mautic saved nothing for an index
        answer = _struct("BatchAnswer", {"statusCodes": Any, "errors": Any,
                                         list_key: dict[str, entry] | list[entry]},  # type: ignore[valid-type]
                         forbid_unknown=False)
        self._decoder = msgspec.json.Decoder(answer)

    def decode(self, content: bytes) -> dict[str, Any] | None:
        try:
            answer = self._decoder.decode(content)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        return msgspec.to_builtins(answer)  # type: ignore[no-any-return]  # to_builtins is typed Any


def _struct(name: str, types: Mapping[str, Any], *, forbid_unknown: bool) -> Any:
    """A msgspec Struct of optional fields (unset ones are left out of ``to_builtins``), named ``f0``,
    ``f1``... in Python and ``types``' keys (any string) on the wire."""
    keys = tuple(types)
    fields = [(f"f{i}", types[key] | msgspec.UnsetType, msgspec.UNSET) for i, key in enumerate(keys)]
    return msgspec.defstruct(name, fields, rename={f"f{i}": key for i, key in enumerate(keys)},
                             forbid_unknown_fields=forbid_unknown)


@dataclass
class ListPage:
    """One page of a list call, normalised: ``records`` is a list whatever container Mautic sent."""

    records: list[dict[str, Any]]
    total: int
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass
class BatchItemResult:
    """The outcome of one input item of a batch call, by its index in the request."""

    index: int
    status: int
    item: dict[str, Any] | None
    error: str | None = None
    # Mautic's clock at the first attempt, when the call was resent after a lost answer: an item Mautic
    # reports as existing (200) but added since then was created by that first attempt.
    first_attempt_at: datetime | None = None

    @property
    def created_by_lost_attempt(self) -> bool:
        if self.status != 200 or self.first_attempt_at is None or not isinstance(self.item, dict):
            return False
        try:
            added = pendulum.parse(str(self.item.get("dateAdded")))
        except (ValueError, TypeError, pendulum.parsing.exceptions.ParserError):
            return False
        return isinstance(added, datetime) and added >= self.first_attempt_at

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.error is None
