"""Partitions (partition_count, partition_index): K runs read disjoint id ranges, together one full run."""

from __future__ import annotations

from collections import Counter

import pytest

from tap_mautic.partition import id_range, in_range
from tests.support.config import basic_config
from tests.support.tap import sync

STREAMS = ("contacts", "email_stats", "page_hits", "lead_lists_leads")


def _keys(result, stream: str, keys: tuple[str, ...]) -> list[tuple]:
    return [tuple(rec[k] for k in keys) for rec in result.records.get(stream, [])]


def test_three_partitions_union_is_one_full_run(session_sim, slices):
    config = basic_config(session_sim, page_size=7, **slices)
    full = sync(config, streams=STREAMS)
    parts = [sync({**config, "partition_count": 3, "partition_index": i, "partition_id_span": 45},
                  streams=STREAMS) for i in range(3)]
    for stream, keys in (("contacts", ("id",)), ("email_stats", ("id",)), ("page_hits", ("id",)),
                         ("lead_lists_leads", ("leadlist_id", "lead_id"))):
        whole = _keys(full, stream, keys)
        assert len(whole) > 10, stream  # the seeded data has something to split
        per_part = [_keys(part, stream, keys) for part in parts]
        union = Counter(key for keys_ in per_part for key in keys_)
        assert union == Counter(whole), stream  # every record exactly once over the three runs
        if stream == "lead_lists_leads":
            assert per_part[1] == per_part[2] == []  # no single id key: partition 0 reads it whole
        else:
            assert all(per_part), stream  # each partition got a share
    # each partition pins its range in its own state
    ranges = [part.final_state["bookmarks"]["contacts"]["partition"] for part in parts]
    assert [r["index"] for r in ranges] == [0, 1, 2]
    assert ranges[0]["lower"] is None and ranges[2]["upper"] is None
    assert ranges[0]["upper"] == ranges[1]["lower"] and ranges[1]["upper"] == ranges[2]["lower"]


def test_the_pinned_range_survives_growth(session_sim):
    """A later run of a partition reads the range of its first run, whatever the stream's max id is now."""
    config = basic_config(session_sim, partition_count=2, partition_index=0, partition_id_span=100)
    first = sync(config, streams=["contacts"])
    pinned = first.final_state["bookmarks"]["contacts"]["partition"]
    state = {"bookmarks": {"contacts": {"partition": {**pinned, "upper": 5}}}}
    again = sync(config, streams=["contacts"], state=state)
    assert sorted(again.ids("contacts")) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("max_id", "count"), [(0, 3), (1, 3), (100, 3), (7, 7), (1000, 4)])
def test_ranges_cover_every_id_once(max_id, count):
    ranges = [id_range(max_id, count, i) for i in range(count)]
    for key in range(1, max_id + 50):
        assert sum(in_range(key, r) for r in ranges) == 1


# Bad partition settings (one line naming the setting): rows of tests/e2e/test_bad_config.py.


def test_partitions_started_at_different_times_still_cover_every_id_once(sim, slices):
    """The boundaries come from the settings, not from the table when a run starts: contacts created
    between the partitions' first runs are read exactly once (by the open-ended last partition)."""
    config = basic_config(sim, page_size=9, partition_count=3, partition_id_span=60, **slices)
    first = sync({**config, "partition_index": 0}, streams=["contacts"])
    created = sim.create_contacts(25)
    later = [sync({**config, "partition_index": i}, streams=["contacts"]) for i in (1, 2)]
    union = Counter(i for run in (first, *later) for i in run.ids("contacts"))
    every = {row["id"] for row in sim.query("SELECT id FROM leads")}
    assert set(union) == every and set(union.values()) == {1}
    assert set(created) <= later[1].ids("contacts")
