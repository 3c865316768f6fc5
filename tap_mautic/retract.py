"""Tombstones for the membership rows a contact merge took away from the loser.

Why: the membership tables (``lead_lists_leads``, ``campaign_leads``, ``companies_leads``,
``point_lead_action_log``, ``point_lead_event_log``, ``stage_lead_action_log``) are read in full every run and
keyed on ``(x, lead_id)``. A merge re-points the loser's rows to the victor (or deletes them where the
victor already has one, or with the loser: ``companies_leads``), so their key changes: a loader upserting by
key keeps the loser's old rows beside the victor's. After the full read, the stream emits
``{x, lead_id: loser, _sdc_deleted_at}`` for every merge it has not handled yet and every ``x`` the read
met or the previous read met (``groups_read``: a company whose one member was the loser has no row left to
meet): an upserting loader with ``hard_delete`` removes those rows; without it, it marks them
(``_sdc_deleted_at`` not null).

The id-keyed tables read in full every run that carry ``lead_id`` (``lead_donotcontact``, ``lead_utmtags``,
``lead_frequencyrules``, ``lead_categories``, ``campaign_lead_event_log``, ``email_stats``, ...) lose rows
in a merge too: a real 5.1.0 deletes the loser's rows of the tables no merge subscriber re-points (foreign
keys ``ON DELETE CASCADE``, checked 2026-12-06 with ``mautic:contacts:deduplicate``: ``lead_donotcontact``,
``lead_utmtags``, ``lead_frequencyrules``, ``lead_categories``, ``lead_stages_change_log`` gone;
``lead_notes``, ``lead_devices``, ``lead_event_log`` re-pointed). A full read cannot see a row that is gone,
so the stream keeps the ids its last whole read met (as ``[first, last]`` runs, ``ids_read``) and emits
``{id, _sdc_deleted_at}`` for each of them the new read did not meet: whatever took the row away (a merge, a
contact deletion, a removed do-not-contact), the warehouse loses it as Mautic did.

``ACTIVATE_VERSION`` would retract every stale row of a full read, but the pinned target-duckdb 0.8.0 logs and
ignores it (``target_duckdb/__init__.py``: ``elif t == "ACTIVATE_VERSION": LOGGER.debug(...)``), so it is not
used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

from mautic_api.http import response_json
from mautic_api.paging import PageQuery
from tap_mautic.base_stream import FilterIgnoredError
from tap_mautic.fields import to_datetime
from tap_mautic.schemas import DELETED_AT

MERGE_POSITION = "merges_read_up_to"  # audit log id of the last merge this stream re-read or checked rows for
TOMBSTONE_POSITION = "tombstones_up_to"  # audit log id of the last merge this stream retracted rows for
GROUPS_READ = "groups_read"  # [[first, last], ...]: the segments (campaigns, ...) the last full read met


def merge_tombstones(stream: Any, context: Any) -> Iterator[dict[str, Any]]:
    """The tombstones of ``stream`` (a composite-key stats stream, after its full read) for the merges after
    its ``tombstones_up_to``; on a stream's first run none (its full read holds no loser) and the position
    starts at the newest merge."""
    key = getattr(stream, "key", None)
    if (not key or key[1] != "lead_id" or not stream.config.get("include_merges", True)
            or stream.replication_key):
        return
    state = stream.get_context_state(context)
    position = state.get(TOMBSTONE_POSITION)
    merges = stream.tap.change_tracking.merges_after(int(position or 0), stream.page_size)
    if merges is None:
        return  # audit_log not readable: warned about by the streams that read it
    met = sorted({int(pk[0]) for pk in stream._seen_keys if isinstance(pk, tuple) and str(pk[0]).isdigit()})
    if position is not None and merges:
        # and the groups the previous read met: one whose last member was the loser has no row left to meet
        before = [i for first, last in state.get(GROUPS_READ) or [] for i in range(first, last + 1)]
        groups = sorted({*met, *before})
        when = to_datetime(stream.tap.server_start_time().isoformat())
        losers = sorted({loser for _, loser, _ in merges})
        stream.logger.info("Stream '%s': %d merged contact(s): %d tombstone(s) for their rows.", stream.name,
                           len(losers), len(losers) * len(groups))
        for loser in losers:
            for group in groups:
                yield {key[0]: group, "lead_id": loser, DELETED_AT: when}
    if merges or position is None:
        state[TOMBSTONE_POSITION] = max([int(position or 0), *(m[0] for m in merges)])
    state[GROUPS_READ] = id_runs(met)


IDS_READ = "ids_read"  # [[first, last], ...]: the ids the stream's last whole read met, and its id bounds


def id_runs(ids: list[int]) -> list[list[int]]:
    """Sorted ids as ``[first, last]`` runs of consecutive ids (a few runs for a table with few deletions)."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and runs[-1][1] + 1 == i:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def id_tombstones(stream: Any, context: Any, bounds: Any, whole: bool) -> Iterator[dict[str, Any]]:
    """Tombstones for the ids ``stream`` (an id-keyed table read in full, with ``lead_id``) met on its last
    whole read and not on this one; ``whole`` is False when this read resumed an interrupted one (it did not
    meet the ids before the resume point: the previous set is kept)."""
    columns = getattr(stream, "columns", ())
    if (stream.replication_key or "id" not in columns or "lead_id" not in columns
            or not stream.config.get("include_deletes", True) or not whole):
        return
    state = stream.get_context_state(context)
    seen = sorted({int(k) for k in stream._seen_keys if isinstance(k, int) or str(k).isdigit()})
    previous = state.get(IDS_READ)
    marker = list(bounds) if bounds else [None, None]
    if isinstance(previous, dict) and previous.get("bounds") == marker:
        met = set(seen)
        gone = [i for first, last in previous.get("runs", []) for i in range(first, last + 1) if i not in met]
        if gone:
            when = to_datetime(stream.tap.server_start_time().isoformat())
            stream.logger.info("Stream '%s': %d row(s) gone since the last run: tombstones.", stream.name,
                               len(gone))
            for i in gone:
                yield {"id": i, DELETED_AT: when}
    state[IDS_READ] = {"bounds": marker, "runs": id_runs(seen)}


# Id-incremental tables whose rows Mautic deletes with a merge's loser (foreign keys ON DELETE CASCADE;
# checked on a real 5.1.0 for lead_stages_change_log, the others read in the 5.1.0 schema): the bookmark
# never looks back at them.
CASCADED_WITH_LOSER = frozenset({"lead_stages_change_log", "lead_companies_change_log",
                                 "dynamic_content_lead_data"})
IDS_EMITTED = "ids_emitted"  # [[first, last], ...]: the ids the stream has emitted, over all its runs


def add_ids(runs: list[list[int]], ids: Iterable[int]) -> list[list[int]]:
    """``runs`` with ``ids`` added, as sorted ``[first, last]`` runs (adjacent runs joined)."""
    spans = sorted([*(list(r) for r in runs), *([i, i] for i in ids)])
    out: list[list[int]] = []
    for first, last in spans:
        if out and first <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], last)
        else:
            out.append([first, last])
    return out


def remove_ids(runs: list[list[int]], ids: Iterable[int]) -> list[list[int]]:
    """``runs`` without ``ids`` (a run is split around each)."""
    gone = sorted(set(ids))
    out: list[list[int]] = []
    for first, last in runs:
        start = first
        for i in gone:
            if start <= i <= last:
                if i > start:
                    out.append([start, i - 1])
                start = i + 1
        if start <= last:
            out.append([start, last])
    return out


def count_in(runs: list[list[int]], lo: int, hi: int) -> int:
    """How many ids of ``runs`` lie in ``[lo, hi]``."""
    return sum(max(0, min(last, hi) - max(first, lo) + 1) for first, last in runs)


def nth_id(runs: list[list[int]], lo: int, n: int) -> int:
    """The ``n``-th id (from 0) of ``runs`` at or above ``lo``."""
    for first, last in runs:
        if last < lo:
            continue
        first = max(first, lo)
        if n <= last - first:
            return first + n
        n -= last - first + 1
    raise IndexError(n)


def gone_ids(runs: list[list[int]], count: Callable[[int, int], int], ids_in: Callable[[int, int], set[int]],
             page_size: int) -> list[int]:
    """The ids of ``runs`` Mautic no longer holds, found by comparing counts: ``count(lo, hi)`` is Mautic's
    number of rows with ids in ``[lo, hi]`` (one call), ``ids_in(lo, hi)`` their ids (a page or a few).

    Why counts: the rows went with a deleted contact, so no query can name them; a range whose count equals
    the ids emitted in it lost none (one call proves it), a range that differs is halved. ``k`` rows gone cost
    about ``k * log2(n / page_size)`` calls, none gone one call.
    """
    if not runs:
        return []
    gone: list[int] = []
    ranges = [(runs[0][0], runs[-1][1])]
    while ranges:
        lo, hi = ranges.pop()
        known = count_in(runs, lo, hi)
        if not known:
            continue
        if known <= page_size:
            held = ids_in(lo, hi)
            gone.extend(i for first, last in runs for i in range(max(first, lo), min(last, hi) + 1)
                        if i not in held)
            continue
        if count(lo, hi) == known:
            continue
        mid = nth_id(runs, lo, known // 2 - 1)
        ranges += [(mid + 1, hi), (lo, mid)]
    return sorted(gone)


def cascade_tombstones(stream: Any, context: Any, emitted_now: set[int]) -> Iterator[dict[str, Any]]:
    """Tombstones for the rows of ``stream`` (an id-incremental table of :data:`CASCADED_WITH_LOSER`) that
    Mautic deleted with the losers of the merges after the stream's ``merges_read_up_to``.

    The stream keeps the ids it emitted (``ids_emitted``, runs; folded in at every checkpoint, so a run killed
    later keeps them: its bookmark is past them too; ``emitted_now`` are this run's, just read). After new
    merges, :func:`gone_ids` compares Mautic's counts with them; every id gone gets ``{id, _sdc_deleted_at}``
    and leaves the runs. A run without new merges makes no call; on a stream's first run the position starts
    at the newest merge (nothing emitted before can be checked).
    """
    state = stream.get_context_state(context)
    if not stream.config.get("include_merges", True):
        return
    position = state.get(MERGE_POSITION)
    merges = stream.tap.change_tracking.merges_after(int(position or 0), stream.page_size)
    if merges is None:
        return  # audit_log not readable: warned about by the streams that read it
    runs = [list(r) for r in state.get(IDS_EMITTED) or []]
    before = remove_ids(runs, emitted_now) if emitted_now else runs  # this run's rows were just read
    if position is not None and merges and before:
        gone = gone_ids(before, partial(_count, stream, context), partial(_ids_in, stream, context),
                        stream.page_size)
        if gone:
            when = to_datetime(stream.tap.server_start_time().isoformat())
            stream.logger.info("Stream '%s': %d row(s) went with merged contacts: tombstones.", stream.name,
                               len(gone))
            stream.bookmark_frozen = True  # ids below the bookmark: it stays where the new rows left it
            try:
                for i in gone:
                    yield {"id": i, DELETED_AT: when}
            finally:
                stream.bookmark_frozen = False
            state[IDS_EMITTED] = remove_ids(runs, gone)
    if merges or position is None:
        state[MERGE_POSITION] = max([int(position or 0), *(m[0] for m in merges)])


def _range_query(lo: int, hi: int, limit: int, after: int | None = None) -> PageQuery:
    where = ({"col": "id", "expr": "gt", "val": after} if after is not None else
             {"col": "id", "expr": "gte", "val": lo}, {"col": "id", "expr": "lte", "val": hi})
    return PageQuery(where, (("id", "ASC"),), limit)


def _answer(stream: Any, context: Any, query: PageQuery, lo: int, hi: int) -> tuple[int, list[int]]:
    send = stream.request_decorator(stream.send_prepared)
    _, body = response_json(stream.send_query(query, context, send))
    rows = stream.extract_rows(body)
    ids = [int(row["id"]) for row in rows]
    if any(not lo <= i <= hi for i in ids):
        raise FilterIgnoredError(f"Stream '{stream.name}': Mautic ignored the id range {lo}-{hi} of the "
                                 f"merge check (row id {ids[0]}); refusing to continue.")
    total = str(body.get("total") if isinstance(body, Mapping) else "")  # a string on 5.1.0
    return (int(total) if total.isdigit() else len(ids)), ids


def _count(stream: Any, context: Any, lo: int, hi: int) -> int:
    return _answer(stream, context, _range_query(lo, hi, 1), lo, hi)[0]


def _ids_in(stream: Any, context: Any, lo: int, hi: int) -> set[int]:
    held: set[int] = set()
    after: int | None = None
    while True:
        _, ids = _answer(stream, context, _range_query(lo, hi, stream.page_size, after), lo, hi)
        held.update(ids)
        if len(ids) < stream.page_size:
            return held
        after = ids[-1]


__all__ = ["CASCADED_WITH_LOSER", "IDS_EMITTED", "IDS_READ", "MERGE_POSITION", "TOMBSTONE_POSITION",
           "add_ids", "cascade_tombstones", "count_in", "gone_ids", "id_runs", "id_tombstones",
           "merge_tombstones", "remove_ids"]
