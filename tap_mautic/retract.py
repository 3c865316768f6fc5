"""Tombstones for the membership rows a contact merge took away from the loser.

Why: the membership tables (``lead_lists_leads``, ``campaign_leads``, ``companies_leads``,
``point_lead_action_log``, ``point_lead_event_log``, ``stage_lead_action_log``) are read in full every run and
keyed on ``(x, lead_id)``. A merge re-points the loser's rows to the victor (or deletes them where the
victor already has one, or with the loser: ``companies_leads``), so their key changes: a loader upserting by
key keeps the loser's old rows beside the victor's. After the full read, the stream emits
``{x, lead_id: loser, _sdc_deleted_at}`` for every merge it has not handled yet and every ``x`` the read
met: an upserting loader with ``hard_delete`` removes those rows; without it, it marks them
(``_sdc_deleted_at`` not null).

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


__all__ = ["TOMBSTONE_POSITION", "merge_tombstones"]
