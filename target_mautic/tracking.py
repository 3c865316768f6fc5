"""Where a mirror stream of contacts or companies remembers, inside Mautic, the records it wrote.

Why inside Mautic and why these two ways: ``mirror_action`` may only touch records this target wrote for the
stream, the next run (another machine, a fresh state) must know them, and the record itself must not change
(a tag or a field would move its ``dateModified`` and the tap would read every written record again).

- Contacts: members of a published segment of the stream (:class:`SegmentMembers`). Joining a segment leaves
  the contact's ``date_modified`` as it is (checked on a real 5.1.0).
- Companies cannot be segment members, and nothing attached to a company leaves it untouched except its
  contacts (a tracking contact in every company would show in the company and in the warehouse). Their ids
  are kept in the description of an unpublished segment of the stream (:class:`SegmentDescription`), packed
  (sorted, delta-coded, zlib, base64url: 30,000 scattered ids take ~40,000 characters; a real 5.1.0 stores
  the column as LONGTEXT and gave 70,000 characters back unchanged). Only that segment's ``dateModified``
  moves. A company Mautic merges into another is deleted, so its id never passes to a record the target did
  not write.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from mautic_api.errors import MauticError

if TYPE_CHECKING:
    from target_mautic.connector import MauticConnector

PACKED = re.compile(r"ids:v1:([A-Za-z0-9_-]*)")


class TrackingError(MauticError):
    """The tracking store could not be read back as written (edited by hand, or altered by the server)."""


def tracking_alias(stream: str) -> str:
    """The alias of the segment tracking what a stream wrote: ``target-mautic-<stream>`` (a-z0-9-)."""
    return "target-mautic-" + (re.sub(r"[^a-z0-9]+", "-", stream.lower()).strip("-") or "stream")


def pack_ids(ids: Iterable[int]) -> str:
    """Sorted unique positive ids as base64url text: gaps as LEB128 varints, zlib-compressed."""
    out = bytearray()
    previous = 0
    for value in sorted(set(ids)):
        gap = value - previous
        previous = value
        while gap >= 0x80:
            out.append((gap & 0x7F) | 0x80)
            gap >>= 7
        out.append(gap)
    return base64.urlsafe_b64encode(zlib.compress(bytes(out), 9)).rstrip(b"=").decode("ascii")


def unpack_ids(text: str) -> set[int]:
    """The ids :func:`pack_ids` packed; ValueError when ``text`` is not such a packing."""
    raw = zlib.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    ids: set[int] = set()
    value = shift = gap = 0
    for byte in raw:
        gap |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        value += gap
        ids.add(value)
        gap = shift = 0
    if shift:
        raise ValueError("truncated id packing")
    return ids


class Tracking(Protocol):
    """The records a stream wrote: read, extended, reduced."""

    def tracked(self) -> set[int]: ...

    def add(self, ids: list[int]) -> None: ...

    def discard(self, ids: list[int]) -> None: ...


class SegmentMembers:
    """Contacts: members of the published segment ``target-mautic-<stream>`` (5.1.0 answers 403 to members
    added to or removed from an unpublished one), created on the first write."""

    def __init__(self, connector: MauticConnector, stream: str, batch_size: int) -> None:
        self.connector, self.stream, self.batch_size = connector, stream, batch_size
        self.alias = tracking_alias(stream)
        self._id: int | None = None

    def segment(self, *, create: bool) -> int | None:
        if self._id is None:
            found = self.connector.segment_aliases().get(self.alias)
            if found is None and create:
                _, segment = self.connector.client.create("segments", {
                    "name": f"target-mautic: contacts written by stream {self.stream} (do not edit)",
                    "alias": self.alias, "isPublished": True})
                found = int(segment["id"])
                self.connector.segment_aliases()[str(segment.get("alias") or self.alias).casefold()] = found
            self._id = found
        return self._id

    def tracked(self) -> set[int]:
        if self.segment(create=False) is None:
            return set()
        return self.connector.all_segment_members(self.alias)

    def add(self, ids: list[int]) -> None:
        segment = self.segment(create=True)
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            if segment is not None and self.connector.add_to_segment(segment, chunk) is None:
                for cid in chunk:  # an instance without the batch route
                    self.connector.request("POST", f"segments/{segment}/contact/{cid}/add")

    def discard(self, ids: list[int]) -> None:
        segment = self.segment(create=False)
        for cid in ids:
            if segment is not None:
                self.connector.request("POST", f"segments/{segment}/contact/{cid}/remove")


class SegmentDescription:
    """Companies: their ids packed into the description of the unpublished segment ``target-mautic-<stream>``
    (no members, no filters), read once per run, rewritten (and read back) when it changes."""

    def __init__(self, connector: MauticConnector, stream: str) -> None:
        self.connector, self.stream = connector, stream
        self.alias = tracking_alias(stream)
        self._id: int | None = None
        self._ids: set[int] | None = None

    def description(self, ids: set[int]) -> str:
        return (f"target-mautic: the companies stream {self.stream} wrote, for its sync_mode mirror "
                f"(do not edit). ids:v1:{pack_ids(ids)}")

    def read(self, segment_id: int) -> set[int]:
        item = self.connector.client.get("segments", segment_id)
        match = PACKED.search(str(item.get("description") or ""))
        if match is None:
            raise TrackingError(f"segment {self.alias} (id {segment_id}) holds no company ids: edited by "
                                "hand?")
        try:
            return unpack_ids(match.group(1))
        except (ValueError, zlib.error) as exc:
            raise TrackingError(f"segment {self.alias} (id {segment_id}): its company ids cannot be read "
                                f"({exc}): edited by hand?") from exc

    def tracked(self) -> set[int]:
        if self._ids is None:
            self._id = self.connector.segment_aliases().get(self.alias)
            self._ids = set() if self._id is None else self.read(self._id)
        return set(self._ids)

    def write(self, ids: set[int]) -> None:
        text = self.description(ids)
        if self._id is None:
            _, segment = self.connector.client.create("segments", {
                "name": f"target-mautic: companies written by stream {self.stream} (do not edit)",
                "alias": self.alias, "isPublished": False, "description": text})
            self._id = int(segment["id"])
            self.connector.segment_aliases()[str(segment.get("alias") or self.alias).casefold()] = self._id
        else:
            self.connector.client.edit("segments", self._id, {"description": text})
        if self.read(self._id) != ids:  # the store is what protects records from the action: check it
            raise TrackingError(f"segment {self.alias} (id {self._id}) gave back other company ids than "
                                "were written")
        self._ids = set(ids)

    def add(self, ids: list[int]) -> None:
        current = self.tracked()
        if not set(ids) <= current:
            self.write(current | set(ids))

    def discard(self, ids: list[int]) -> None:
        current = self.tracked()
        if current & set(ids):
            self.write(current - set(ids))


__all__ = ["SegmentDescription", "SegmentMembers", "Tracking", "TrackingError", "pack_ids", "tracking_alias",
           "unpack_ids"]
