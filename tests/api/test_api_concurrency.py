"""The adaptive concurrency rules (mautic_api.concurrency), fed by hand with a fake clock: grow by 1 after a
busy window of steady latency, halve on 429/5xx/no answer (once per burst) or on clearly rising latency,
ceiling and floor, polite's pause, one log line per change, the gate's limit and arrival order."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from mautic_api.concurrency import MIN_WINDOW, PROBE_AFTER, ConcurrencyLimiter, limiter_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def busy_window(limiter: ConcurrencyLimiter, latency: float, calls: int | None = None) -> None:
    """A window of calls with the limit reached (``limit`` held at once), each taking ``latency``."""
    clock = limiter.clock
    assert isinstance(clock, FakeClock)
    window = limiter.window_size
    done = 0
    while done < (calls if calls is not None else window) and limiter.window_size == window:
        epochs = [limiter.acquire() for _ in range(limiter.limit)]  # as many threads would
        clock.now += latency
        for epoch in epochs:
            limiter.release()
            limiter.record(latency, 200, None, epoch)
            done += 1


def make(ceiling: int = 8, **kwargs: Any) -> ConcurrencyLimiter:
    return ConcurrencyLimiter(ceiling, clock=FakeClock(), **kwargs)


def test_starts_at_four_or_the_ceiling():
    assert make(8).limit == 4
    assert make(2).limit == 2
    assert make(1).limit == 1
    polite = make(8, polite=True)
    assert (polite.limit, polite.ceiling) == (1, 2)


def test_grows_by_one_per_busy_window_while_latency_holds_up_to_the_ceiling():
    limiter = make(6)
    for _ in range(5):
        busy_window(limiter, 0.1)
    assert limiter.limit == 6
    assert [(c.old, c.new, c.reason) for c in limiter.changes] == [
        (4, 5, "latency steady"), (5, 6, "latency steady")]


def test_does_not_grow_when_the_limit_is_never_reached():
    limiter = make(8)
    clock = limiter.clock
    assert isinstance(clock, FakeClock)
    for _ in range(3 * MIN_WINDOW):  # one request at a time: more slots would change nothing
        with limiter.slot() as done:
            clock.now += 0.1
            done(200, None)
    assert limiter.limit == 4 and limiter.changes == []


def test_halves_on_429_once_per_burst():
    limiter = make(8)
    clock = limiter.clock
    assert isinstance(clock, FakeClock)
    epochs = [limiter.acquire() for _ in range(4)]
    clock.now += 0.1
    for epoch in epochs:  # four answers of one burst: one decrease
        limiter.release()
        limiter.record(0.1, 429, 1.0, epoch)
    assert limiter.limit == 2
    assert [(c.old, c.new, c.reason) for c in limiter.changes] == [(4, 2, "429")]
    with limiter.slot() as done:  # within the Retry-After of the first: the same episode
        done(429, 1.0)
    assert limiter.limit == 2
    clock.now += 1.0
    with limiter.slot() as done:  # a call started after the decrease and the wait halves again
        done(503, None)
    assert limiter.limit == 1
    with limiter.slot() as done:
        done(None, None)  # no answer: never below 1
    assert limiter.limit == 1


def test_a_500_or_a_400_is_not_load():
    limiter = make(8)
    for status in (500, 400, 404, 422):
        with limiter.slot() as done:
            done(status, None)
    assert limiter.limit == 4 and limiter.changes == []


def test_halves_on_clearly_rising_latency_then_grows_back():
    limiter = make(8)
    busy_window(limiter, 0.1)  # best 0.1, grows to 5
    busy_window(limiter, 0.35)  # 3.5x the best: the server queues us
    assert [(c.old, c.new) for c in limiter.changes] == [(4, 5), (5, 3)]  # halved, rounded up
    assert limiter.changes[-1].reason.startswith("latency 350 ms")
    busy_window(limiter, 0.25)  # 2.5x: hold
    assert limiter.limit == 3
    busy_window(limiter, 0.15)
    assert limiter.limit == 4


def test_after_a_429_each_step_up_waits_several_steady_windows():
    limiter = make(8)
    with limiter.slot() as done:
        done(429, None)
    assert limiter.limit == 2
    for _ in range(PROBE_AFTER - 1):
        busy_window(limiter, 0.1)
    assert limiter.limit == 2  # a budget shows no latency before it refuses: no hurry to find it again
    busy_window(limiter, 0.1)
    assert limiter.limit == 3


def test_each_change_is_logged_once(caplog):
    limiter = make(8)
    with caplog.at_level(logging.INFO, logger="mautic_api"):
        busy_window(limiter, 0.1)
        with limiter.slot() as done:
            done(429, None)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("concurrency")]
    assert lines == ["concurrency 4 -> 5 (latency steady)", "concurrency 5 -> 3 (429)"]


def test_polite_pauses_every_request_for_the_wait_a_429_asks_for():
    limiter = make(8, polite=True)
    clock = limiter.clock
    assert isinstance(clock, FakeClock)
    with limiter.slot() as done:
        done(429, 5.0)
    entered = threading.Event()

    def call() -> None:
        with limiter.slot() as done:
            entered.set()
            done(200, None)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    assert not entered.wait(0.3)  # paused: the fake clock has not moved
    clock.now += 5.0
    assert entered.wait(5)
    thread.join(5)


def test_the_gate_holds_the_limit_and_serves_in_arrival_order():
    limiter = make(8, start=2)
    order: list[int] = []
    release = threading.Event()
    started = [threading.Event() for _ in range(5)]

    def call(n: int) -> None:
        started[n].set()
        with limiter.slot() as done:
            order.append(n)
            release.wait(5)
            done(200, None)

    threads = []
    for n in range(5):
        thread = threading.Thread(target=call, args=(n,), daemon=True)
        thread.start()
        started[n].wait(5)
        threads.append(thread)
        while n < 2 and limiter.in_flight < n + 1:  # the first two are in before the next asks
            pass
    assert limiter.in_flight == 2
    release.set()
    for thread in threads:
        thread.join(5)
    assert limiter.max_in_flight == 2
    assert order[:2] == [0, 1]


def test_a_send_inside_a_send_passes_without_a_second_slot():
    limiter = make(1)
    with limiter.slot() as outer, limiter.slot() as inner:  # a redirect, a re-authentication
        inner(200, None)
        outer(200, None)
    assert limiter.in_flight == 0 and limiter.calls == 1


@pytest.mark.parametrize(("mode", "ceiling", "expected"), [
    ("fixed", 8, None), ("adaptive", 8, (4, 8)), ("adaptive", None, (4, 4)), ("polite", 8, (1, 2)),
    ("polite", 1, (1, 1)), (None, 16, (4, 16))])
def test_limiter_for_each_mode(mode, ceiling, expected):
    limiter = limiter_for(mode, ceiling)
    assert (None if limiter is None else (limiter.limit, limiter.ceiling)) == expected
