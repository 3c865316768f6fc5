"""sync_mode mirror for the link streams: after a completed snapshot, contacts linked in Mautic to a segment,
campaign, company or tag the snapshot names, but absent from the snapshot, are taken out.

Why one mechanism: the four links differ only in how their current members are read and how one member is
taken out. Each link type declares that in a :class:`MirrorLink`; :class:`MirroredLinks` (a mixin of the link
sinks) collects the snapshot, compares, applies ``mirror_max_removals`` and reports ``removed`` /
``would_remove`` the same way for all of them. Only targets the snapshot names are touched: a segment the
input never mentions keeps its members.

Reads, exact on Mautic 5.1.0: a segment by Mautic's ``segment:<alias>`` search (an exact match on the alias,
``LeadRepository``); a campaign or a company from ``/api/stats`` (``campaign_leads`` not manually removed,
``companies_leads``); a tag by the ``tag:<name>`` search, which is a prefix match (``vip`` also finds
``vip-gold``), so its answers are kept only when the contact carries the tag itself.

The same reads narrowed to a batch's contacts (``MirrorLink.which``) are compare before write for the
membership streams outside mirror: a link Mautic holds already is ``unchanged`` and not sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mautic_api.errors import MauticError
from target_mautic.connector import API_MAX_PER_CALL
from target_mautic.modes import MIRROR, removal_refusal, sync_mode
from target_mautic.results import FAILED, REMOVED, WOULD_REMOVE, RecordResult
from target_mautic.rows import as_int, reraise_fatal

if TYPE_CHECKING:
    from target_mautic.connector import MauticConnector

Members = tuple[set[int], Any]  # the contacts linked now, and what the removal calls name the target by
Removals = dict[int, str | None]  # contact id -> why it was not removed (None: removed)


@dataclass(frozen=True)
class MirrorLink:
    """How one link type is mirrored: its words, its result key, how to read and how to remove members."""

    members_word: str  # how the limit's line counts them: "segment members", "contacts tagged"
    key_column: str  # the target's column in a removal's result key: segment_id, campaign_id, company_id, tag
    # members(connector, target) -> (contacts linked now, what removals and results name the target by: its
    # id, a tag's stored spelling)
    members: Callable[[MauticConnector, Any], Members | None]  # None: the target is not in Mautic
    remove: Callable[[MauticConnector, Any, list[int]], Removals]
    # which(connector, target, contact ids) -> those linked already (compare before write outside mirror;
    # None: not known, every row is sent); None for a link type that is not compared
    which: Callable[[MauticConnector, Any, list[int]], set[int] | None] | None = None
    noun: str = ""  # how an unchanged line names the target: "segment", "campaign", "company"


# -- reads ---------------------------------------------------------------------------------------------------
def segment_members(connector: MauticConnector, segment_id: Any) -> Members | None:
    alias = next((a for a, i in connector.segment_aliases().items() if i == segment_id), None)
    return None if alias is None else (connector.all_segment_members(alias), segment_id)


def stats_linked(connector: MauticConnector, table: str, column: str, target_id: Any,
                 extra: Iterable[tuple[str, Any]] = (), contact_ids: Iterable[int] | None = None) -> set[int]:
    """The contacts linked to ``target_id`` in a membership table of ``/api/stats`` (keyset on (target,
    contact), exact ``eq``); with ``contact_ids``, only which of those (``lead_id in`` a comma-separated
    string: one call per 200 ids, the page holding its query's whole ``total``). Every row is checked
    against the clauses, so a clause Mautic dropped raises instead of answering for other contacts."""
    extra = list(extra)
    where = [{"col": column, "expr": "eq", "val": target_id},
             *({"col": c, "expr": "eq", "val": v} for c, v in extra)]

    def matches(row: Mapping[str, Any], ids: set[int] | None) -> bool:
        return (as_int(row.get(column)) == target_id and all(str(row.get(c)) == str(v) for c, v in extra)
                and (ids is None or as_int(row.get("lead_id")) in ids))

    def read(ids: list[int] | None) -> set[int]:
        wanted = None if ids is None else set(ids)
        clauses = where if ids is None else [
            *where, {"col": "lead_id", "expr": "in", "val": ",".join(str(i) for i in ids)}]
        rows = connector.client.iter_stats(
            table, where=clauses, key=(column, "lead_id"), page_size=200 if ids is None else len(ids),
            trust_total=ids is not None, check=lambda r: matches(r, wanted))
        return {i for i in (as_int(r.get("lead_id")) for r in rows) if i is not None}

    if contact_ids is None:
        return read(None)
    ids = sorted(set(contact_ids))
    found: set[int] = set()
    for start in range(0, len(ids), API_MAX_PER_CALL):
        found |= read(ids[start:start + API_MAX_PER_CALL])
    return found


def stats_members(table: str, column: str, extra: Iterable[tuple[str, Any]] = ()) -> Callable[
        [MauticConnector, Any], Members | None]:
    """Every member of a target, from a membership table of ``/api/stats`` (:func:`stats_linked`)."""
    def read(connector: MauticConnector, target_id: Any) -> Members | None:
        return stats_linked(connector, table, column, target_id, extra), target_id
    return read


def stats_which(table: str, column: str, extra: Iterable[tuple[str, Any]] = ()) -> Callable[
        [MauticConnector, Any, list[int]], set[int] | None]:
    """Which of a batch's contacts a target holds already (:func:`stats_linked` with ``lead_id in``)."""
    def read(connector: MauticConnector, target_id: Any, contact_ids: list[int]) -> set[int] | None:
        return stats_linked(connector, table, column, target_id, extra, contact_ids)
    return read


def segment_which(connector: MauticConnector, segment_id: Any, contact_ids: list[int]) -> set[int] | None:
    """Which of a batch's contacts the segment holds already (Mautic's ``segment:<alias>`` search, an exact
    match on the alias on 5.1.0, with ``where id in``); None when the segment is not in Mautic."""
    alias = next((a for a, i in connector.segment_aliases().items() if i == segment_id), None)
    return None if alias is None else connector.segment_members(alias, contact_ids)


def tag_members(connector: MauticConnector, tag: Any) -> Members | None:
    """Contacts carrying ``tag`` (case-insensitively, as Mautic's tag table is), and its stored spelling."""
    wanted = str(tag).strip().casefold()
    ids: set[int] = set()
    stored: str | None = None
    for rec in connector.client.iter_list("contacts", search=f"tag:{str(tag).strip()}", page_size=200):
        tags = rec.get("tags") or []
        names = [str(t.get("tag") if isinstance(t, Mapping) else t) for t in tags]
        match = next((n for n in names if n.strip().casefold() == wanted), None)
        cid = as_int(rec.get("id"))
        if match is not None and cid is not None:
            ids.add(cid)
            stored = stored or match
    return ids, stored or str(tag).strip()


# -- removals ----------------------------------------------------------------------------------------------
def remove_by_path(path: str) -> Callable[[MauticConnector, Any, list[int]], Removals]:
    """One ``POST {path}/{target}/contact/{contact}/remove`` per member (answered ``{"success": 1}``)."""
    def remove(connector: MauticConnector, target_id: Any, contact_ids: list[int]) -> Removals:
        out: Removals = {}
        for cid in contact_ids:
            try:
                answer = connector.request("POST", f"{path}/{target_id}/contact/{cid}/remove")
            except MauticError as exc:
                reraise_fatal(exc)
                out[cid] = str(exc)
                continue
            ok = not isinstance(answer, Mapping) or answer.get("success", True)
            out[cid] = None if ok else "Mautic answered success=false for remove"
        return out
    return remove


def remove_tag(connector: MauticConnector, tag: Any, contact_ids: list[int]) -> Removals:
    """Contact edits ``{"id", "tags": ["-<tag>"]}`` in batch/edit calls of batch_size (tags are additive;
    only a ``-`` prefixed name takes one off)."""
    todo = [({"id": cid, "tags": [f"-{tag}"]}, cid) for cid in contact_ids]
    out: Removals = {}
    for cid, result, error in connector.batches(todo, lambda batch: connector.batch_edit("contacts", batch)):
        if error is not None:
            out[cid] = error
        elif result is not None and result.status in (200, 201):
            out[cid] = None
        else:
            status, why = (result.status, result.error) if result else ("?", None)
            out[cid] = f"HTTP {status}: {why or 'rejected'}"
    return out


SEGMENTS = MirrorLink("segment members", "segment_id", segment_members, remove_by_path("segments"),
                      segment_which, "segment")
StatsLink = tuple[str, str, list[tuple[str, Any]]]  # table, target column, further eq clauses
# a contact removed from a campaign by hand keeps its row (manually_removed 1): not a member, added again
CAMPAIGN_LEADS: StatsLink = ("campaign_leads", "campaign_id", [("manually_removed", 0)])
COMPANIES_LEADS: StatsLink = ("companies_leads", "company_id", [])
CAMPAIGNS = MirrorLink("campaign members", "campaign_id", stats_members(*CAMPAIGN_LEADS),
                       remove_by_path("campaigns"), stats_which(*CAMPAIGN_LEADS), "campaign")
COMPANIES = MirrorLink("company members", "company_id", stats_members(*COMPANIES_LEADS),
                       remove_by_path("companies"), stats_which(*COMPANIES_LEADS), "company")
TAGS = MirrorLink("contacts tagged", "tag", tag_members, remove_tag)

MIRROR_MESSAGE = "not in the snapshot (sync_mode mirror)"
AFTER_RECORDS = 1 << 60  # the result lines of removals sort after every record of the stream


class MirroredLinks:
    """Mixin of the link sinks: the snapshot of a mirror stream and its removal (see the module docstring)."""

    mirror_link: MirrorLink | None = None
    snapshot: dict[Any, set[int]] | None = None  # target (id, or tag name) -> contacts the input names

    if TYPE_CHECKING:  # provided by the sink
        settings: Mapping[str, Any]
        stream_name: str
        canonical: str
        connector: MauticConnector
        dry_run: bool
        _results: list[tuple[int, RecordResult]]

    @property
    def mirrored(self) -> bool:
        return self.mirror_link is not None and sync_mode(self.settings, self.stream_name,
                                                          self.canonical) == MIRROR

    def current_members(self, target: Any) -> Members | None:
        """The target's members, read once per run (by the first batch naming it, or at the end): a mirror
        stream compares its batches with them and removes from them, so each target is read once. A contact
        linked by someone else during the run is left for the next run."""
        link = self.mirror_link
        cache: dict[Any, Members | None] = self.__dict__.setdefault("_mirror_members", {})
        if target not in cache and link is not None:
            cache[target] = link.members(self.connector, target)
        return cache.get(target)

    def note_member(self, target: Any, contact_id: int | None) -> None:
        """The input links ``contact_id`` to ``target``: it stays (only on a mirror stream)."""
        if contact_id is None or not self.mirrored:
            return
        if self.snapshot is None:
            self.snapshot = {}
        self.snapshot.setdefault(target, set()).add(contact_id)

    def mirror(self) -> str | None:
        """The snapshot is complete (ACTIVATE_VERSION before and after its records): take every member of
        the targets it names that it does not hold out of them, up to ``mirror_max_removals`` of their
        members. Above it nothing is removed and the one line saying why is returned (the run then exits
        non-zero)."""
        link = self.mirror_link
        if link is None:
            return None
        extra: list[tuple[Any, Any, list[int]]] = []  # (target, how Mautic names it, contacts to remove)
        tracked = 0
        for target, wanted in sorted((self.snapshot or {}).items(), key=lambda kv: str(kv[0])):
            found = self.current_members(target)
            if found is None:
                continue
            members, handle = found
            tracked += len(members)
            extra.append((target, handle, sorted(members - wanted)))
        count = sum(len(ids) for _, _, ids in extra)
        setting = self.settings.get("mirror_max_removals")
        refusal = removal_refusal(setting, self.stream_name, count, tracked, f"{link.members_word} are")
        if refusal is not None:
            return refusal
        seq = AFTER_RECORDS
        for _, handle, ids in extra:
            if not ids:
                continue
            errors: Removals = {} if self.dry_run else link.remove(self.connector, handle, ids)
            for cid in ids:
                seq += 1
                error = errors.get(cid)
                outcome = WOULD_REMOVE if self.dry_run else FAILED if error else REMOVED
                message = f"not removed: {error}" if error else MIRROR_MESSAGE
                self._results.append((seq, RecordResult(
                    stream=self.stream_name, key={"contact_id": cid, link.key_column: handle},
                    outcome=outcome, mautic_id=cid, message=message)))
        return None


__all__ = ["CAMPAIGNS", "COMPANIES", "SEGMENTS", "TAGS", "MirrorLink", "MirroredLinks"]
