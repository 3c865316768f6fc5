"""Tombstones for the membership rows a contact merge took away from the loser.

Why: the membership tables (``lead_lists_leads``, ``campaign_leads``, ``companies_leads``,
``point_lead_action_log``, ``point_lead_event_log``, ``stage_lead_action_log``) are read in full every run and
keyed on ``(x, lead_id)``. A merge re-points the loser's rows to the victor (or deletes them where the
victor already has one, or with the loser: ``companies_leads``), so their key changes: a loader upserting by
key keeps the loser's old rows beside the victor's. After the full read, the stream emits
``{x, lead_id: loser, _sdc_deleted_at}`` for every merge it has not handled yet and every ``x`` the read
met: an upserting loader with ``hard_delete`` removes those rows; without it, it marks them
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

from collections.abc import Iterator
from typing import Any

from tap_mautic.fields import to_datetime
from tap_mautic.schemas import DELETED_AT

TOMBSTONE_POSITION = "tombstones_up_to"  # audit log id of the last merge this stream retracted rows for


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
    if position is not None and merges:
        groups = sorted({int(pk[0]) for pk in stream._seen_keys
                         if isinstance(pk, tuple) and str(pk[0]).isdigit()})
        when = to_datetime(stream.tap.server_start_time().isoformat())
        losers = sorted({loser for _, loser, _ in merges})
        stream.logger.info("Stream '%s': %d merged contact(s): %d tombstone(s) for their rows.", stream.name,
                           len(losers), len(losers) * len(groups))
        for loser in losers:
            for group in groups:
                yield {key[0]: group, "lead_id": loser, DELETED_AT: when}
    if merges or position is None:
        state[TOMBSTONE_POSITION] = max([int(position or 0), *(m[0] for m in merges)])


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


__all__ = ["IDS_READ", "TOMBSTONE_POSITION", "id_runs", "id_tombstones", "merge_tombstones"]
