"""Partitions: one of K disjoint id ranges of every id-keyed stream, read by its own run (its own state).

Why: a first sync of millions of contacts or event rows takes days in one process; K processes (K Meltano
jobs, each with its own state id) share it when each reads one id range. The ranges split a span of ids
that every partition is configured with (``partition_id_span``, about the largest id today):
``(None, b1], (b1, b2], ... (b[K-1], open)``; the last one has no upper bound, so ids created during or after
the runs belong to it. The boundaries depend only on the settings, never on when a partition's run starts,
so K jobs started at different times still cover every id exactly once. The range is pinned in the
partition's state as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mautic_api.paging import KeysetPaginator, Paginator

PARTITION_KEY = "partition"

IdRange = tuple[int | None, int | None]


def id_range(max_id: int, count: int, index: int) -> IdRange:
    """The ids ``(lower, upper]`` of partition ``index`` of ``count`` (None: unbounded) over ``max_id``."""
    lower = None if index == 0 else (index * max_id) // count
    upper = None if index == count - 1 else ((index + 1) * max_id) // count
    return lower, upper


def pinned_range(state: dict[str, Any], count: int, index: int, span: int) -> IdRange:
    """This partition's range over ``span``, pinned in the stream's state (recomputed when a setting
    changed)."""
    stored = state.get(PARTITION_KEY)
    if (isinstance(stored, Mapping) and stored.get("count") == count and stored.get("index") == index
            and stored.get("span") == span):
        return stored.get("lower"), stored.get("upper")
    lower, upper = id_range(span, count, index)
    state[PARTITION_KEY] = {"count": count, "index": index, "span": span, "lower": lower, "upper": upper}
    return lower, upper


def in_range(value: Any, bounds: IdRange) -> bool:
    """Whether an id belongs to the range (ids that are not integers are kept)."""
    try:
        key = int(value)
    except (TypeError, ValueError):
        return True
    lower, upper = bounds
    return (lower is None or key > lower) and (upper is None or key <= upper)


def bound_walk(walk: Paginator, bounds: IdRange) -> None:
    """Narrow a keyset walk to the range: the paginator's own ``lower``/``upper``, so its answers are
    verified against the range and its checkpoints stay plain ids."""
    if not isinstance(walk, KeysetPaginator):
        return
    lower, upper = bounds
    if lower is not None and (walk.last_id is None or walk.last_id < lower):
        walk.lower = walk.last_id = lower
    if upper is not None:
        walk.upper = upper if walk.upper is None else min(walk.upper, upper)
        if walk.last_id is not None and walk.last_id >= upper:
            walk.finished = True


__all__ = ["PARTITION_KEY", "IdRange", "bound_walk", "id_range", "in_range", "pinned_range"]
