"""sync_mode mirror for contacts and companies: records this target wrote for a stream earlier and absent
from its completed snapshot get the configured ``mirror_action`` (contacts: ``delete``, ``untag:<tag>``,
``do_not_contact``; companies: ``delete``).

Why only records the target wrote: each record a mirror stream creates or updates is tracked inside Mautic
without moving its ``dateModified`` (:mod:`target_mautic.tracking`: contacts as members of a segment of the
stream, companies as ids in the description of one); a record the target found unchanged and never wrote is
not tracked, so it is never acted on.

Merges: Mautic 5.1.0 moves the loser's segment memberships to the surviving contact, so a contact merged with
a tracked one would look tracked. Before acting, the audit log's ``merge`` rows (``details: merged_into``) are
read: a candidate that absorbed another contact is ``skipped``, never acted on (the target may not have
written it). A merged company is deleted: its id passes to no other company, and its delete answers 404
(``skipped``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mautic_api.errors import MauticError, NotFoundError
from target_mautic.mirror import AFTER_RECORDS
from target_mautic.modes import MIRROR, removal_refusal
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
from target_mautic.rows import StreamSetupError, reraise_fatal
from target_mautic.tracking import SegmentDescription, SegmentMembers, Tracking, tracking_alias

if TYPE_CHECKING:
    from target_mautic.connector import MauticConnector

ACTIONS = ("delete", "do_not_contact", "untag:<tag>")
WRITTEN = (CREATED, UPDATED)
MERGED_INTO = re.compile(r'merged_into";i:(\d+);')


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


class MirroredRecords:
    """Mixin of ContactsSink and CompaniesSink: tracks written records, collects the snapshot, applies the
    action."""

    if TYPE_CHECKING:  # provided by the sink
        settings: Mapping[str, Any]
        stream_name: str
        canonical: str
        object_: str
        mode: str
        connector: MauticConnector
        dry_run: bool
        batch_size: int
        _results: list[tuple[int, RecordResult]]

    @property
    def action(self) -> str | None:
        return mirror_action(self.settings, self.stream_name, self.canonical)

    @property
    def mirrored(self) -> bool:
        """sync_mode mirror with a mirror_action."""
        return self.mode == MIRROR and self.action is not None

    @property
    def noun(self) -> str:
        return "companies" if self.object_ == "company" else "contacts"

    def setup(self) -> None:
        """A companies mirror stream with an action companies do not have stops here (one line)."""
        action = self.action
        if self.mode == MIRROR and self.object_ == "company" and action not in (None, "delete"):
            raise StreamSetupError(
                f"Setting 'mirror_action' for stream '{self.stream_name}' must be 'delete' on companies "
                f"(they have no tags and no do-not-contact list), got {action!r}.")
        super().setup()  # type: ignore[misc]  # UpsertSink's, after this mixin in the MRO

    @functools.cached_property
    def tracking(self) -> Tracking:
        if self.object_ == "company":
            return SegmentDescription(self.connector, self.stream_name)
        return SegmentMembers(self.connector, self.stream_name, self.batch_size)

    def mirror_state(self) -> dict[str, Any]:
        return self.__dict__.setdefault("_mirror_state", {"snapshot": set(), "unsure": 0})

    def process_batch(self, context: dict) -> None:
        """The upsert, then (on a mirror stream) its results join the snapshot and the tracking."""
        before = len(self._results)
        super().process_batch(context)  # type: ignore[misc]  # UpsertSink's, after this mixin in the MRO
        if self.mirrored:
            self.track([result for _, result in self._results[before:]])

    def track(self, results: list[RecordResult]) -> None:
        """One drain's results: their records join the snapshot; those written join the tracking."""
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
            self.tracking.add(ids)
        except MauticError as exc:
            reraise_fatal(exc)
            # not a removal hazard (an untracked record is never acted on), but the mirror is incomplete
            state["untracked"] = state.get("untracked", 0) + len(ids)
            logging.getLogger("target-mautic").error(
                "Stream '%s' (mirror): %d written %s could not be tracked in segment %s: %s; mirror_action "
                "will not apply to them.", self.stream_name, len(ids), self.noun,
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
        """The snapshot is complete: apply the action to tracked records absent from it, up to
        ``mirror_max_removals``; the one line saying why nothing was done otherwise."""
        action = self.action
        state = self.mirror_state()
        if action is None:
            return None
        if state["unsure"]:
            return (f"Stream '{self.stream_name}' (mirror): {state['unsure']} record(s) failed or were not "
                    "written, so the snapshot is not known to be complete: nothing removed.")
        try:
            tracked = self.tracking.tracked()
        except MauticError as exc:
            reraise_fatal(exc)
            return (f"Stream '{self.stream_name}' (mirror): the {self.noun} it wrote cannot be read from "
                    f"segment {tracking_alias(self.stream_name)}: {exc}; nothing removed.")
        extra = sorted(tracked - state["snapshot"])
        setting = self.settings.get("mirror_max_removals")
        refusal = removal_refusal(setting, self.stream_name, len(extra), len(tracked),
                                  f"{self.noun} written by this stream are")
        if refusal is not None:
            return refusal
        # contacts only: Mautic moves a merged contact's memberships to the survivor (a merged company is
        # deleted, its id never passes on)
        victors = self.merge_victors(set(extra)) if extra and self.object_ == "contact" else set()
        untrack: list[int] = []
        seq = AFTER_RECORDS
        for rid in extra:
            seq += 1
            if rid in victors:
                outcome, message = SKIPPED, ("another contact was merged into it (audit log): it may not be "
                                             "a contact this target wrote; not acted on")
            elif self.dry_run:
                outcome, message = WOULD_REMOVE, f"not in the snapshot: would apply mirror_action {action}"
            else:
                outcome, message = self.act(action, rid)
                if outcome != FAILED:
                    untrack.append(rid)
            self._results.append((seq, RecordResult(stream=self.stream_name, key={"id": rid}, outcome=outcome,
                                                    mautic_id=rid, message=message)))
        if untrack and self.object_ == "company":
            self.untrack(untrack)
        return None

    def act(self, action: str, rid: int) -> tuple[str, str]:
        """The action on one record, then (a contact not deleted) its tracking ends: (outcome, message)."""
        context = self.noun
        calls: list[Callable[[], Any]] = []
        if action == "delete":
            calls.append(lambda: self.connector.request("DELETE", f"{context}/{rid}/delete"))
        elif action == "do_not_contact":
            calls.append(lambda: self.connector.request(
                "POST", f"contacts/{rid}/dnc/email/add",
                json={"reason": 3, "comments": f"target-mautic mirror: not in {self.stream_name}"}))
        else:
            tag = action.split(":", 1)[1].strip()
            calls.append(lambda: self.connector.request("PATCH", f"contacts/{rid}/edit",
                                                        json={"tags": [f"-{tag}"]}))
        if action != "delete":
            calls.append(lambda: self.tracking.discard([rid]))
        for call in calls:
            try:
                answer = call()
            except NotFoundError:
                if self.object_ == "company":  # deleted (or merged into another) since it was written
                    return SKIPPED, f"company {rid} is not in Mautic any more; nothing to {action}"
                return FAILED, f"{action} not applied: contact {rid} not found"
            except MauticError as exc:
                reraise_fatal(exc)
                return FAILED, f"{action} not applied: {exc}"
            if isinstance(answer, Mapping) and answer.get("success") in (0, False):
                return FAILED, f"{action} not applied: Mautic answered success=false"
        return REMOVED, f"not in the snapshot: mirror_action {action} applied"

    def untrack(self, ids: list[int]) -> None:
        """Deleted companies leave the tracking (one rewrite); a failure only leaves stale ids behind (their
        delete answers 404 next time: ``skipped``)."""
        try:
            self.tracking.discard(ids)
        except MauticError as exc:
            reraise_fatal(exc)
            logging.getLogger("target-mautic").warning(
                "Stream '%s' (mirror): %d deleted companies stay in segment %s: %s.", self.stream_name,
                len(ids), tracking_alias(self.stream_name), exc)


__all__ = ["ACTIONS", "MirrorActionError", "MirroredRecords", "mirror_action"]
