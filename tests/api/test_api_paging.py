"""The paging engine (mautic_api.paging) on its own: queries, advancing, and answers that do not satisfy the
query (a dropped ``where``) refused with the walk's message. The HTTP side is covered by every list test."""

from __future__ import annotations

import pytest

from mautic_api.paging import (
    CompositeKeysetPaginator,
    FilterIgnoredError,
    KeysetPaginator,
    OffsetPaginator,
    iter_records,
)


def _rows(*ids: int) -> list[dict[str, int]]:
    return [{"id": i} for i in ids]


def test_bounded_keyset_walks_its_id_range_and_ends_at_the_upper_bound():
    walk = KeysetPaginator(page_size=2, lower=10, upper=14)
    assert walk.query().where == ({"col": "id", "expr": "gt", "val": 10},
                                  {"col": "id", "expr": "lte", "val": 14})
    walk.accept(_rows(11, 12))
    assert walk.token == 12 and not walk.finished
    walk.accept(_rows(13, 14))
    assert walk.finished  # the range is read: no empty page needed


def test_keyset_refuses_a_dropped_keyset_filter_and_rows_past_the_bound():
    walk = KeysetPaginator(page_size=2, label="Stream 'x'")
    walk.accept(_rows(1, 2))
    with pytest.raises(FilterIgnoredError, match=r"'x': Mautic ignored the filter 'id gt 2' \(got id 1"):
        walk.accept(_rows(1, 2))
    bounded = KeysetPaginator(page_size=5, upper=3)
    with pytest.raises(FilterIgnoredError, match="'id lte 3'"):
        bounded.accept(_rows(2, 4))
    with pytest.raises(FilterIgnoredError, match="out of order"):
        KeysetPaginator().accept(_rows(3, 2))


def test_keyset_check_failure_names_the_record_and_uses_the_callers_class():
    walk = KeysetPaginator(check=lambda r: r["id"] % 2 == 0, what="pass 'even'", error=ValueError)
    with pytest.raises(ValueError, match=r"filter of pass 'even' \(record id 3"):
        walk.accept(_rows(2, 3))


def test_composite_keyset_reads_the_rest_of_a_group_then_the_next_groups():
    walk = CompositeKeysetPaginator(page_size=2, key=("a", "b"))
    walk.accept([{"a": 1, "b": 1}, {"a": 1, "b": 2}])
    assert walk.query().where == ({"col": "a", "expr": "eq", "val": 1}, {"col": "b", "expr": "gt", "val": 2})
    walk.accept([])
    assert not walk.finished and walk.query().where == ({"col": "a", "expr": "gt", "val": 1},)
    with pytest.raises(FilterIgnoredError, match=r"order or filter on \(a, b\)"):
        walk.accept([{"a": 1, "b": 5}])


def test_offset_trusting_total_stops_without_an_empty_page():
    pages = {0: _rows(1, 2), 2: _rows(3)}
    asked = []

    class Page:
        def __init__(self, records):
            self.records, self.total = records, 3

    def read(query):
        asked.append(query.start)
        return Page(pages[query.start])

    assert [r["id"] for r in iter_records(OffsetPaginator(page_size=2, trust_total=True), read)] == [1, 2, 3]
    assert asked == [0, 2]


def test_where_clauses_are_normalised_in_the_query():
    walk = KeysetPaginator(where=[{"col": "id", "expr": "in", "val": [3, 4]}])
    assert walk.query().list_params()["where"] == [{"col": "id", "expr": "in", "val": "3,4"}]
    assert walk.query().stats_params()["order"] == [{"col": "id", "dir": "ASC"}]


def test_composite_keyset_trusting_total_reads_a_look_up_in_one_page():
    """A page holding its query's whole ``total`` ends the walk (a ``lead_id in`` read: one call); one that
    holds the rest of a group moves on to the next groups without the group's empty page."""
    walk = CompositeKeysetPaginator(page_size=3, key=("a", "b"), trust_total=True)
    walk.accept([{"a": 1, "b": 1}, {"a": 1, "b": 4}], total=2)
    assert walk.finished
    empty = CompositeKeysetPaginator(page_size=3, key=("a", "b"), trust_total=True)
    empty.accept([], total=0)
    assert empty.finished
    more = CompositeKeysetPaginator(page_size=2, key=("a", "b"), trust_total=True)
    more.accept([{"a": 1, "b": 1}, {"a": 1, "b": 2}], total=3)
    assert not more.finished and more.query().where[-1] == {"col": "b", "expr": "gt", "val": 2}
    more.accept([{"a": 1, "b": 3}], total=1)
    assert not more.finished and more.query().where == ({"col": "a", "expr": "gt", "val": 1},)
