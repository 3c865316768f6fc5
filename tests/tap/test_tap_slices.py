"""Concurrent id-range slices (issue 9, point 1): the same records as one request at a time, in id order,
every answer verified, at most ``max_concurrency`` requests in flight."""

from __future__ import annotations

import json
import threading
import time
from typing import cast
from urllib.parse import parse_qsl, urlencode

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from mautic_api.paging import KeysetPaginator, range_complete, split_ids
from mautic_sim import Simulator
from tap_mautic.base_stream import DEFAULT_MAX_CONCURRENCY, FilterIgnoredError, MauticStream
from tap_mautic.slices import IdSpan, SlicePage, read_in_order
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config
from tests.support.proxy import DenyingProxy
from tests.support.tap import make_tap, sync

# ------------------------------------------------------------------------------------ pure parts


@given(lower=st.integers(0, 10_000), span=st.integers(1, 50_000), rows=st.integers(0, 100_000),
       page=st.integers(1, 500), most=st.one_of(st.none(), st.integers(1, 64)))
def test_split_ids_cuts_the_span_into_consecutive_ranges(lower, span, rows, page, most):
    spans = split_ids(lower, lower + span, rows, page, most=most)
    assert spans[0][0] == lower and spans[-1][1] == lower + span
    assert all(a < b for a, b in spans)  # never an empty range
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))  # no gap, no overlap
    if most is not None:
        assert len(spans) <= most
    assert len(spans) <= max(1, -(-rows // max(1, int(0.9 * page))) + 1)


def test_range_complete_needs_a_short_page_and_a_total_that_agrees():
    assert range_complete(12, 20, 12)
    assert not range_complete(12, 20, None)  # no count: a short page proves nothing
    assert not range_complete(12, 20, 30)  # rows held back (permissions, joined rows): read on
    assert not range_complete(20, 20, 20)  # a full page: the range may hold more


def _page(span, more=(), stopped=False):
    return SlicePage([{"id": span[0] + 1, "span": span}], list(more), stopped)


def test_pages_come_in_id_order_with_continuations_before_later_ranges():
    answers = {(0, 10): _page((0, 10), [(4, 7), (7, 10)]), (4, 7): _page((4, 7)), (7, 10): _page((7, 10)),
               (10, 20): _page((10, 20)), (20, None): _page((20, None))}

    def read(low, high):
        time.sleep(0.02 if low == 0 else 0)  # the first range answers last
        return answers[(low, high)]

    got = [p.rows[0]["span"] for p in read_in_order([(0, 10), (10, 20), (20, None)], read, 3)]
    assert got == [(0, 10), (4, 7), (7, 10), (10, 20), (20, None)]


def test_a_trimmed_page_ends_the_walk_and_an_error_comes_after_the_pages_before_it():
    spans: list[IdSpan] = [(i, i + 1) for i in range(6)]
    got = [p.rows[0]["span"] for p in read_in_order(
        spans, lambda low, high: _page((low, high), stopped=low == 2), 4)]
    assert got == [(0, 1), (1, 2), (2, 3)]

    def failing(low, high):
        if low == 3:
            raise RuntimeError("answer 3 failed")
        return _page((low, high))

    seen = []
    with pytest.raises(RuntimeError, match="answer 3 failed"):
        for page in read_in_order(spans, failing, 4):
            seen.append(page.rows[0]["span"])
    assert seen == [(0, 1), (1, 2), (2, 3)]


def test_at_most_concurrency_reads_at_once_and_a_bounded_number_ahead():
    lock = threading.Lock()
    now = {"running": 0, "most": 0, "started": 0}

    def read(low, high):
        with lock:
            now["running"] += 1
            now["started"] += 1
            now["most"] = max(now["most"], now["running"])
        time.sleep(0.005)
        with lock:
            now["running"] -= 1
        return _page((low, high))

    emitted = 0
    for _ in read_in_order([(i, i + 1) for i in range(60)], read, 3):
        emitted += 1
        time.sleep(0.01)  # a slow consumer: reads must not run far ahead of it
        assert now["started"] - emitted <= 3 + 1
    assert emitted == 60
    assert now["most"] <= 3


# ----------------------------------------------------------------------------------- over HTTP


def test_slices_emit_what_one_request_at_a_time_emits_in_the_same_order():
    with Simulator(contacts=900, seed=3, username=SIM_USER, password=SIM_PASSWORD, latency_ms=20) as sim:
        runs = {}
        for concurrency in (1, DEFAULT_MAX_CONCURRENCY):
            sim.clear_log()
            config = basic_config(sim, page_size=25, max_concurrency=concurrency)
            result = sync(config, streams=["contacts", "email_stats", "page_hits"])
            contacts = [r for e in sim.request_log if e["path"] == "/api/contacts" for r in [e]]
            runs[concurrency] = (result, contacts, sim.concurrency()["max_in_flight"])
        one, sliced = runs[1][0], runs[DEFAULT_MAX_CONCURRENCY][0]
        for stream in ("contacts", "email_stats", "page_hits"):
            ids = [r["id"] for r in sliced.records[stream]]
            assert ids == [r["id"] for r in one.records[stream]], stream  # same records, same (id) order
            assert ids == sorted(set(ids)), stream
        assert len(one.records["contacts"]) == 900
        assert runs[1][2] == 1
        assert 1 < runs[DEFAULT_MAX_CONCURRENCY][2] <= DEFAULT_MAX_CONCURRENCY
        # the cost of slicing: the probe and ranges of about 0.9 page, not a request per record
        assert len(runs[DEFAULT_MAX_CONCURRENCY][1]) <= 1.25 * len(runs[1][1]) + 3
        # the checkpoints only ever grow (emitted in id order) and the final state is the same kind
        marks = [s["bookmarks"]["contacts"]["progress"]["last_id"] for s in sliced.states
                 if "progress" in s.get("bookmarks", {}).get("contacts", {})
                 and s["bookmarks"]["contacts"]["progress"]["last_id"] is not None]
        assert len(marks) > 10 and marks == sorted(marks)
        assert (set(sliced.final_state["bookmarks"]["contacts"])
                == set(one.final_state["bookmarks"]["contacts"]))


def _bounds(query: str) -> dict[str, int]:
    """A list request's id clauses: {"gt": lower, "lte": upper} (those present)."""
    pairs = dict(parse_qsl(query))
    out = {}
    for n in range(4):
        if pairs.get(f"where[{n}][col]") == "id":
            out[pairs[f"where[{n}][expr]"]] = int(pairs[f"where[{n}][val]"])
    return out


def test_a_large_stream_cuts_its_ranges_from_the_probe_without_a_page_read_alone():
    """contacts (eager_probe): the probe's answer (largest id, total) cuts every range, so the first request
    after it is already a bounded range; only the last, open-ended range runs past the largest id."""
    with Simulator(contacts=300, seed=3, username=SIM_USER, password=SIM_PASSWORD) as sim:
        sim.clear_log()
        result = sync(basic_config(sim, page_size=25, max_concurrency=4), streams=["contacts"])
        queries = [e["query"] for e in sim.request_log if e["path"] == "/api/contacts"]
        top = max(r["id"] for r in result.records["contacts"])
        assert len(result.records["contacts"]) == 300
        assert dict(parse_qsl(queries[0])) == {"limit": "1", "orderBy": "id", "orderByDir": "DESC"}
        ranges = [_bounds(q) for q in queries[1:]]
        assert all("gt" in b for b in ranges)  # every page is a range (the first from id 0)
        highest = max(b["lte"] for b in ranges if "lte" in b)
        assert top - highest < 25  # the bounded ranges cover the ids up to about the last page
        assert all(b["gt"] >= highest for b in ranges if "lte" not in b)  # open-ended: only the last range
        assert len(queries) <= 300 / (0.9 * 25) + 3

        sim.clear_log()
        small = sync(basic_config(sim, page_size=500, max_concurrency=4), streams=["contacts"])
        assert len(small.records["contacts"]) == 300
        assert len([e for e in sim.request_log if e["path"] == "/api/contacts"]) == 2  # the probe, one page


def _drop_upper_bound(path: str, query: str) -> str:
    """A Mautic that ignores the ``id lte`` clause of a slice (and answers past the slice's end)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    dropped = {k.split("]")[0] for k, v in pairs
               if k.startswith("where[") and k.endswith("[expr]") and v == "lte"}
    return urlencode([(k, v) for k, v in pairs if k.split("]")[0] not in dropped])


def test_a_slice_answer_past_its_upper_bound_fails_loudly(sim):
    with (DenyingProxy(sim.url, rewrite_query=_drop_upper_bound) as proxy,
          pytest.raises(FilterIgnoredError, match="ignored the filter 'id lte")):
        sync(basic_config(sim, base_url=proxy.url, page_size=5, max_concurrency=3), streams=["contacts"])


def test_a_bad_max_concurrency_is_one_config_error(session_sim, tmp_path):
    from tests.support.tap import run_cli

    proc = run_cli(tmp_path, basic_config(session_sim, max_concurrency=0), "--discover")
    assert proc.returncode != 0
    assert "max_concurrency" in proc.stderr and "Traceback" not in proc.stderr


def _answer(ids: list[int], total: int) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.headers["Content-Type"] = "application/json"
    body = {"total": str(total), "contacts": {str(i): {"id": i} for i in ids}}
    response._content = json.dumps(body).encode()  # an answer as requests holds it once read
    return response


def test_a_bounded_range_ends_on_a_short_counted_page_the_open_one_on_an_empty_page(session_sim):
    """A short page whose count agrees completes a bounded range; the open-ended last range is read on until
    an empty page (asked for after every other range), so rows created during the walk are read, as
    sequentially."""
    tap = make_tap(basic_config(session_sim, page_size=10), streams=["contacts"])
    stream = cast(MauticStream, tap.streams["contacts"])
    walk = KeysetPaginator(page_size=10, label="Stream 'contacts'")
    bounded = stream.slice_page(walk, 0, 20, _answer([3, 4, 5], 3))
    assert [r["id"] for r in bounded.rows] == [3, 4, 5] and bounded.more == []
    unbounded = stream.slice_page(walk, 20, None, _answer([23, 24], 2))
    assert unbounded.more == [(24, None)]
    assert stream.slice_page(walk, 24, None, _answer([], 0)).more == []
    # a bounded range whose count says more is read on from its last id
    assert stream.slice_page(walk, 0, 20, _answer([3, 4, 5], 9)).more == [(5, 20)]
