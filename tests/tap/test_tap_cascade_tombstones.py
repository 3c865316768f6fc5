"""Rows of id-incremental tables that Mautic deletes with a merge's loser leave the warehouse.

``lead_stages_change_log``, ``lead_companies_change_log`` and ``dynamic_content_lead_data`` are read by id
bookmark and their rows go with a deleted contact (ON DELETE CASCADE; real 5.1.0, 2026-12-06, for the stage
log): the tap keeps the ids it emitted and, after new merges, finds the gone ones by Mautic's counts.
"""

from __future__ import annotations

import random

import pytest

from mautic_sim import Simulator
from tap_mautic.retract import IDS_EMITTED, add_ids, count_in, gone_ids, id_runs, remove_ids
from tests.support.config import basic_config
from tests.support.tap import sync, warehouse_by_id

TABLE = "lead_stages_change_log"


class FakeTable:
    """Mautic's answers about one table's ids, counting the calls."""

    def __init__(self, ids: set[int]) -> None:
        self.ids, self.calls = ids, 0

    def count(self, lo: int, hi: int) -> int:
        self.calls += 1
        return sum(1 for i in self.ids if lo <= i <= hi)

    def ids_in(self, lo: int, hi: int) -> set[int]:
        self.calls += 1
        return {i for i in self.ids if lo <= i <= hi}


def test_runs_add_remove_and_count() -> None:
    runs = add_ids([], [5, 1, 2, 3, 9])
    assert runs == [[1, 3], [5, 5], [9, 9]]
    assert add_ids(runs, [4, 6, 7, 8]) == [[1, 9]]
    assert remove_ids([[1, 9]], [1, 5, 9]) == [[2, 4], [6, 8]]
    assert count_in([[1, 3], [5, 9]], 3, 6) == 3


@pytest.mark.parametrize("seed", range(20))
def test_gone_ids_finds_exactly_the_deleted_rows(seed: int) -> None:
    rng = random.Random(seed)
    emitted = sorted(rng.sample(range(1, 5000), rng.randint(1, 1500)))
    gone = set(rng.sample(emitted, rng.randint(0, min(12, len(emitted)))))
    table = FakeTable(set(emitted) - gone)
    assert gone_ids(id_runs(emitted), table.count, table.ids_in, 100) == sorted(gone)
    if not gone:
        assert table.calls == 1  # one count proves nothing went
    else:  # about k * log2(n / page) calls, never a read of the whole table
        assert table.calls <= 2 * len(gone) * (len(emitted) // 100 + 1).bit_length() + 1


def test_rows_mautic_holds_but_never_emitted_do_not_hide_a_gone_one() -> None:
    emitted = list(range(1, 1001))
    table = FakeTable((set(emitted) - {500}) | {10_000})  # one extra row beyond the emitted ids
    assert gone_ids(id_runs(emitted), table.count, table.ids_in, 100) == [500]


def _stage_rows(sim: Simulator, lead: int, n: int = 2) -> None:
    for _ in range(n):
        sim.execute(f"INSERT INTO {TABLE} (lead_id, stage_id, event_name, action_name, date_added) "
                    "VALUES (?, NULL, 'Manually Added', 'Manually Added', '2024-01-01 00:00:00')", (lead,))


def test_rows_that_went_with_the_loser_are_retracted(sim: Simulator) -> None:
    cfg = basic_config(sim, lookback_seconds=0, page_size=3)
    a, b, c = sim.create_contacts(3)
    for lead in (a, b, c):
        _stage_rows(sim, lead)
    first = sync(cfg, streams=[TABLE])
    emitted = sorted(int(r["id"]) for r in first.records[TABLE])
    assert first.final_state["bookmarks"][TABLE][IDS_EMITTED] == id_runs(emitted)
    loser_rows = [r["id"] for r in sim.query(f"SELECT id FROM {TABLE} WHERE lead_id = ?", (a,))]
    assert loser_rows

    before = len(sim.request_log)
    quiet = sync(cfg, streams=[TABLE], state=first.last_state)
    quiet_calls = len(sim.request_log) - before
    assert not quiet.records.get(TABLE)

    sim.merge_contacts(loser=a, victor=b)
    _stage_rows(sim, c, 1)  # a new row in the same run
    second = sync(cfg, streams=[TABLE], state=quiet.last_state)
    truth = {int(r["id"]): r["lead_id"] for r in sim.query(f"SELECT id, lead_id FROM {TABLE}")}
    assert warehouse_by_id(first, second, stream=TABLE) == truth
    assert sorted(r["id"] for r in second.records[TABLE] if r.get("_sdc_deleted_at")) == sorted(loser_rows)
    bookmark = second.final_state["bookmarks"][TABLE]["replication_key_value"]
    assert bookmark == max(truth)  # the tombstones did not move the bookmark back

    before = len(sim.request_log)
    third = sync(cfg, streams=[TABLE], state=second.last_state)
    assert not third.records.get(TABLE)
    assert len(sim.request_log) - before == quiet_calls  # merges handled: no check again
    assert third.final_state["bookmarks"][TABLE][IDS_EMITTED] == id_runs(sorted(truth))
