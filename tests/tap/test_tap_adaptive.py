"""Adaptive concurrency on the tap's reads: under 429s the run finishes with every contact once, in id order,
and the limit went down on the 429s, then up again once the server answered steadily (the limiter's own
record of its changes; nothing timed)."""

from __future__ import annotations

from mautic_sim import Simulator
from tests.support.config import basic_config
from tests.support.tap import make_tap, sync


def test_reads_under_429s_lose_nothing_and_the_limit_goes_down_then_up() -> None:
    with Simulator(contacts=1500, seed=3, latency_ms=10) as sim:
        for nth in range(4, 8):  # the 4th to 7th contacts request are refused (Retry-After: 1)
            sim.faults.schedule("429", nth=nth, path="/api/contacts")
        config = basic_config(sim, page_size=15, max_concurrency=8, concurrency_mode="adaptive")
        tap = make_tap(config, streams=["contacts"])
        limiter = tap.client.session.limiter
        assert limiter is not None
        result = sync(config, tap=tap)
        expected = {row["id"] for row in sim.store.query("SELECT id FROM leads")}
    ids = [record["id"] for record in result.records["contacts"]]
    assert len(ids) == len(set(ids)) == len(expected) and set(ids) == expected  # 0 lost, none twice
    assert ids == sorted(ids)  # pages still emitted in id order
    steps = [(c.old, c.new, c.reason) for c in limiter.changes]
    down = next(i for i, (old, new, reason) in enumerate(steps) if new < old and reason == "429")
    assert any(new > old for old, new, _ in steps[down + 1:]), steps
    assert limiter.stats()["max_in_flight"] <= 8


def test_polite_never_has_more_than_two_requests_in_flight() -> None:
    with Simulator(contacts=600, seed=3, latency_ms=5) as sim:
        config = basic_config(sim, page_size=20, max_concurrency=8, concurrency_mode="polite")
        result = sync(config, streams=["contacts"])
        seen = sim.concurrency()
    assert len(result.ids("contacts")) == 600
    assert 1 <= seen["max_in_flight"] <= 2  # the server's own count, with 8 slices ready to be read
