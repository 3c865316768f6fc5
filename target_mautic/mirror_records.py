"""sync_mode mirror for contacts: contacts this target wrote for a stream earlier and absent from its
completed snapshot get the configured ``mirror_action`` (``delete``, ``untag:<tag>``, ``do_not_contact``).

Why a segment tracks them: the action may only touch contacts the target wrote itself, so each contact a
mirror stream creates or updates is added to a segment of that stream (alias ``target-mautic-<stream>``, no
filters, published: 5.1.0 refuses (403) members added to an unpublished one; created on the first write). A
membership does not move the contact's ``dateModified`` (a tag or a field would, and the tap would read every
written contact again). A contact the target found unchanged and never wrote is not tracked, so it is never
acted on.

Merges: Mautic 5.1.0 moves the loser's segment memberships to the surviving contact, so a contact merged with
a tracked one would look tracked. Before acting, the audit log's ``merge`` rows (``details: merged_into``) are
read: a candidate that absorbed another contact is ``skipped``, never acted on (the target may not have
written it). Companies cannot be in a segment: their mirror is not implemented (they load as upsert, warned).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mautic_api.errors import MauticError
from target_mautic.modes import DEFAULT_MAX_REMOVALS, removal_limit
from target_mautic.results import (
    CREATED,
    FAILED,
    NOT_WRITTEN,
    REMOVED,
    SKIPPED,
    UPDATED,
    WOULD_REMOVE,
    RecordResult,
)
from target_mautic.rows import reraise_fatal

if TYPE_CHECKING:
    from target_mautic.connector import MauticConnector

ACTIONS = ("delete", "do_not_contact", "untag:<tag>")
WRITTEN = (CREATED, UPDATED)
MERGED_INTO = re.compile(r'merged_into";i:(\d+);')
AFTER_RECORDS = 1 << 60


class MirrorActionError(ValueError):
    """A ``mirror_action`` that is not one of ACTIONS (one line naming the setting)."""


def mirror_action(config: Mapping[str, Any], stream: str, canonical: str) -> str | None:
    """The stream's ``mirror_action`` (one value, or an object by stream), checked; None when unset."""
    value = config.get("mirror_action")
    if isinstance(value, Mapping):
        value = value.get(stream, value.get(canonical))
    if value is None:
        return None
    text = str(value).strip()
    if text in ("delete", "do_not_contact") or (text.startswith("untag:") and text[6:].strip()):
        return text
    raise MirrorActionError(f"Setting 'mirror_action' must be one of {', '.join(ACTIONS)}, got {value!r}.")


def tracking_alias(stream: str) -> str:
    """The alias of the segment tracking what a stream wrote: ``target-mautic-<stream>`` (a-z0-9-)."""
    return "target-mautic-" + (re.sub(r"[^a-z0-9]+", "-", stream.lower()).strip("-") or "stream")


class MirroredRecords:
    """Mixin of ContactsSink: tracks written contacts, collects the snapshot, applies the action."""

    if TYPE_CHECKING:  # provided by the sink
        settings: Mapping[str, Any]
        stream_name: str
        canonical: str
        connector: MauticConnector
        dry_run: bool
        batch_size: int
        _results: list[tuple[int, RecordResult]]

    _tracking_id: int | None = None

    @property
    def action(self) -> str | None:
        return mirror_action(self.settings, self.stream_name, self.canonical)

    def mirror_state(self) -> dict[str, Any]:
        return self.__dict__.setdefault("_mirror_state", {"snapshot": set(), "unsure": 0})

    def tracking_segment(self, *, create: bool) -> int | None:
        """The tracking segment's id; created (published, no filters) when ``create`` and missing."""
        if self._tracking_id is None:
            alias = tracking_alias(self.stream_name)
            found = self.connector.segment_aliases().get(alias)
            if found is None and create:
                # published: 5.1.0 refuses (403) adding to or removing from an unpublished segment
                _, segment = self.connector.client.create("segments", {
                    "name": f"target-mautic: contacts written by stream {self.stream_name} (do not edit)",
                    "alias": alias, "isPublished": True})
                found = int(segment["id"])
                self.connector.segment_aliases()[str(segment.get("alias") or alias).casefold()] = found
            self._tracking_id = found
        return self._tracking_id

    def track(self, results: list[RecordResult]) -> None:
        """One drain's results: their contacts join the snapshot; those written join the tracking segment."""
        state = self.mirror_state()
        written: list[int] = []
        for result in results:
            if result.outcome in (FAILED, NOT_WRITTEN) or result.mautic_id is None:
                state["unsure"] += 1  # a record that did not land would look absent from the snapshot
                continue
            state["snapshot"].add(result.mautic_id)
            if result.outcome in WRITTEN:
                written.append(result.mautic_id)
        if not written or self.dry_run:
            return
        ids = sorted(set(written))
        try:
            segment = self.tracking_segment(create=True)
            for start in range(0, len(ids), self.batch_size):
                chunk = ids[start : start + self.batch_size]
                if segment is not None and self.connector.add_to_segment(segment, chunk) is None:
                    for cid in chunk:
                        self.connector.request("POST", f"segments/{segment}/contact/{cid}/add")
        except MauticError as exc:
            reraise_fatal(exc)
            # not a removal hazard (an untracked contact is never acted on), but the mirror is incomplete
            state["untracked"] = state.get("untracked", 0) + len(ids)
            logging.getLogger("target-mautic").error(
                "Stream '%s' (mirror): %d written contacts could not be added to the tracking segment %s: "
                "%s; mirror_action will not apply to them.", self.stream_name, len(ids),
                tracking_alias(self.stream_name), exc)

    def merge_victors(self, candidates: set[int]) -> set[int]:
        """Candidates another contact was merged into (audit log ``merge`` rows of 5.1.0)."""
        where = [{"col": "object", "expr": "eq", "val": "lead"},
                 {"col": "action", "expr": "eq", "val": "merge"}]
        victors: set[int] = set()
        for row in self.connector.client.iter_stats("audit_log", where=where, page_size=200):
            match = MERGED_INTO.search(str(row.get("details") or ""))
            if match and int(match.group(1)) in candidates:
                victors.add(int(match.group(1)))
        return victors

    def mirror(self) -> str | None:
        """The snapshot is complete: apply the action to tracked contacts absent from it, up to
        ``mirror_max_removals``; the one line saying why nothing was done otherwise."""
        action = self.action
        state = self.mirror_state()
        if action is None:
            return None
        if state["unsure"]:
            return (f"Stream '{self.stream_name}' (mirror): {state['unsure']} record(s) failed or were not "
                    "written, so the snapshot is not known to be complete: nothing removed.")
        segment = self.tracking_segment(create=False)
        tracked: set[int] = set()
        if segment is not None:
            tracked = self.connector.all_segment_members(tracking_alias(self.stream_name))
        extra = sorted(tracked - state["snapshot"])
        setting = self.settings.get("mirror_max_removals")
        limit = removal_limit(setting, len(tracked))
        if limit is None:
            return (f"Setting 'mirror_max_removals' must be a number or a percent like \"5%\", got "
                    f"{setting!r}; stream '{self.stream_name}': nothing removed.")
        if len(extra) > limit:
            shown = setting if setting is not None else DEFAULT_MAX_REMOVALS
            return (f"Stream '{self.stream_name}' (mirror): {len(extra)} of {len(tracked)} contacts written "
                    f"by this stream are not in the snapshot, more than mirror_max_removals ({shown} = "
                    f"{limit}): nothing removed.")
        victors = self.merge_victors(set(extra)) if extra else set()
        seq = AFTER_RECORDS
        for cid in extra:
            seq += 1
            if cid in victors:
                outcome, message = SKIPPED, ("another contact was merged into it (audit log): it may not be "
                                             "a contact this target wrote; not acted on")
            elif self.dry_run:
                outcome, message = WOULD_REMOVE, f"not in the snapshot: would apply mirror_action {action}"
            else:
                error = self.apply(action, cid, segment)
                outcome = FAILED if error else REMOVED
                message = f"{action} not applied: {error}" if error else (
                    f"not in the snapshot: mirror_action {action} applied")
            self._results.append((seq, RecordResult(stream=self.stream_name, key={"id": cid}, outcome=outcome,
                                                    mautic_id=cid, message=message)))
        return None

    def apply(self, action: str, cid: int, segment: int | None) -> str | None:
        """The action on one contact, then (unless deleted) its tracking membership ends; an error or None."""
        calls: list[Callable[[], Any]] = []
        if action == "delete":
            calls.append(lambda: self.connector.request("DELETE", f"contacts/{cid}/delete"))
        else:
            if action == "do_not_contact":
                calls.append(lambda: self.connector.request(
                    "POST", f"contacts/{cid}/dnc/email/add",
                    json={"reason": 3, "comments": f"target-mautic mirror: not in {self.stream_name}"}))
            else:
                tag = action.split(":", 1)[1].strip()
                calls.append(lambda: self.connector.request("PATCH", f"contacts/{cid}/edit",
                                                            json={"tags": [f"-{tag}"]}))
            calls.append(lambda: self.connector.request("POST", f"segments/{segment}/contact/{cid}/remove"))
        for call in calls:
            try:
                answer = call()
            except MauticError as exc:
                reraise_fatal(exc)
                return str(exc)
            if isinstance(answer, Mapping) and answer.get("success") in (0, False):
                return "Mautic answered success=false"
        return None


__all__ = ["ACTIONS", "MirrorActionError", "MirroredRecords", "mirror_action", "tracking_alias"]
