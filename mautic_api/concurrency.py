"""Adaptive concurrency: how many requests of one run may be in flight, learnt from the server's answers.

Why: ``max_concurrency`` fixed the number of requests in flight (the tap's slices, the target's lanes), so
a server that slows down, answers 429 or 5xx under our load got the same pressure, and a big server never
got more than the default. The run's one :class:`ConcurrencyLimiter` sits in the HTTP layer
(:class:`mautic_api.http.MauticSession` takes a slot around each exchange), so the tap's slice readers and
the target's lanes obey the same limit without knowing it: they may keep ``max_concurrency`` requests
ready, the limiter lets ``limit`` of them go at once.

The rule (AIMD, additive increase, multiplicative decrease, as TCP does):

- ``max_concurrency`` is the ceiling; the run starts at ``min(4, ceiling)`` (polite: 1, ceiling at most 2);
- after a window of calls (twice the limit, at least 8; polite twice as long) that kept the limit busy and
  whose median latency stayed within ``GROW_WITHIN`` times the best median seen, the limit grows by 1;
- a window whose median latency is above ``SHRINK_ABOVE`` times the best halves it, rounding up (latency
  rising clearly: the server queues our requests);
- a 429, a 502/503/504 or a transport failure (reset, timeout) halves it at once, once per burst: calls
  that started before the last decrease do not halve it again. A 500 is Mautic refusing one request (the
  target splits such a batch), not load, so it does not count. Polite also pauses every new request for
  the wait a 429 asks for (``Retry-After``; 2 s without one): each retried request honours it anyway
  (:mod:`mautic_api.retry`, within the retry budget), polite makes the others wait too;
- once a 429/5xx came, each step up waits ``PROBE_AFTER`` steady windows (a rate budget shows no latency
  before it refuses, so each step over it costs a refusal and its wait; TCP's slow start, then avoidance);
- never above the ceiling, never below 1; each change is one INFO line ("concurrency 4 -> 2 (429)").

``fixed`` mode builds no limiter: exactly ``max_concurrency`` at once, as before. Pure: no I/O but the log
line; the clock is injectable so the rules are tested without sleeping.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

LOGGER = logging.getLogger("mautic_api")

MODES = ("adaptive", "fixed", "polite")
DEFAULT_MODE = "adaptive"
DEFAULT_MAX_CONCURRENCY = 4  # the ceiling by default (README "Performance")
START = 4  # adaptive starts at min(START, ceiling)
POLITE_CEILING = 2
GROW_WITHIN = 2.0  # a window's median latency within this factor of the best: grow
SHRINK_ABOVE = 3.0  # above this factor: halve
MIN_WINDOW = 8
PROBE_AFTER = 4  # steady windows per step up once an overload answer came
POLITE_PAUSE = 2.0  # seconds every request waits after a 429 without Retry-After, polite mode
OVERLOAD_STATUSES = frozenset({429, 502, 503, 504})


@dataclass
class Change:
    """One change of the limit: from, to, why, at which call (the count of calls finished)."""

    old: int
    new: int
    reason: str
    call: int


@dataclass
class _Window:
    latencies: list[float] = field(default_factory=list)
    busy: bool = False  # the limit was reached during the window (growing means something)


class ConcurrencyLimiter:
    """A gate of ``limit`` slots whose limit follows the server's answers (see the module docstring).

    Thread-safe; waiters are served in arrival order (the tap's slices ask in id order, so the range to be
    emitted next is not overtaken). A thread that already holds a slot passes again without one (a redirect
    or a re-authentication inside one exchange), so a limit of 1 never deadlocks.
    """

    def __init__(self, ceiling: int, *, start: int | None = None, polite: bool = False,
                 clock: Callable[[], float] = time.monotonic, logger: logging.Logger | None = None) -> None:
        self.ceiling = max(1, int(ceiling))
        self.polite = polite
        if polite:
            self.ceiling = min(self.ceiling, POLITE_CEILING)
        first = start if start is not None else (1 if polite else START)
        self.limit = max(1, min(self.ceiling, first))
        self.clock = clock
        self.logger = logger or LOGGER
        self.best: float | None = None  # the lowest window median seen (seconds)
        self.changes: list[Change] = []
        self.calls = 0  # exchanges finished
        self.in_flight = 0
        self.max_in_flight = 0
        self._epoch = 0  # bumped at each decrease; a call that started in an older epoch cannot halve again
        self._window = _Window()
        self._paused_until = 0.0
        self._calm_until = 0.0  # no second decrease before (the Retry-After of the first)
        self._overloaded = False  # a 429/5xx came: growth slows down (a budget was found)
        self._steady = 0  # steady busy windows since the last change
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._held = threading.local()

    # ------------------------------------------------------------------------------------------ gate

    @contextmanager
    def slot(self) -> Iterator[Callable[[int | None, float | None], None]]:
        """Hold one slot for one exchange; yields ``done(status, retry_after)`` (status None: transport
        failure) which the caller calls once the answer is in (the latency is measured from entry)."""
        if getattr(self._held, "depth", 0):  # re-entrant: a send inside a send
            self._held.depth += 1
            try:
                yield lambda status, wait: None
            finally:
                self._held.depth -= 1
            return
        epoch = self.acquire()
        started = self.clock()
        self._held.depth = 1
        reported = False

        def done(status: int | None, retry_after: float | None) -> None:
            nonlocal reported
            if not reported:
                reported = True
                self.record(self.clock() - started, status, retry_after, epoch)

        try:
            yield done
        finally:
            self._held.depth = 0
            self.release()

    def acquire(self) -> int:
        """Wait for a slot (in arrival order, while a polite pause lasts); the epoch to hand to
        :meth:`record`. Not re-entrant: :meth:`slot` is what a sender uses."""
        me = object()
        with self._cond:
            self._queue.append(me)
            while True:
                wait = self._paused_until - self.clock()
                if self._queue[0] is me and self.in_flight < self.limit and wait <= 0:
                    break
                self._cond.wait(timeout=wait if wait > 0 else 0.5)
            self._queue.popleft()
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.in_flight >= self.limit:
                self._window.busy = True
            self._cond.notify_all()  # the next in line may fit too
            return self._epoch

    def release(self) -> None:
        """Give a slot back."""
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    # ------------------------------------------------------------------------------------------ rules

    @property
    def window_size(self) -> int:
        size = max(MIN_WINDOW, 2 * self.limit)
        return 2 * size if self.polite else size

    def record(self, latency: float, status: int | None, retry_after: float | None = None,
               epoch: int | None = None) -> None:
        """One finished exchange: latency (seconds), status (None: no answer), the wait it asked for."""
        with self._cond:
            self.calls += 1
            overload = status is None or status in OVERLOAD_STATUSES
            if overload:
                if self.polite and status == 429:
                    pause = retry_after if retry_after is not None else POLITE_PAUSE
                    self._paused_until = max(self._paused_until, self.clock() + pause)
                now = self.clock()
                if (epoch is None or epoch == self._epoch) and now >= self._calm_until:
                    self._overloaded = True
                    self._steady = 0
                    self._set((self.limit + 1) // 2, str(status) if status is not None else "no answer")
                    # the same episode (a rate window, an outage) answers more calls alike: one decrease
                    # for the time the server asked us to wait
                    self._calm_until = now + (retry_after or 0.0)
                return
            if status is not None and status >= 400:
                return  # refused for its content: says nothing about load, nor about latency
            self._window.latencies.append(latency)
            if len(self._window.latencies) >= self.window_size:
                self._close_window()

    def _close_window(self) -> None:
        median = statistics.median(self._window.latencies)
        busy = self._window.busy
        self._window = _Window(busy=self.in_flight >= self.limit)
        if self.best is None or median < self.best or self.limit == 1:
            self.best = median  # at 1 in flight the latency is the server's own: the new baseline
        if median > SHRINK_ABOVE * self.best and self.limit > 1:
            self._set((self.limit + 1) // 2,
                      f"latency {median * 1000:.0f} ms, best {self.best * 1000:.0f} ms")
        elif median <= GROW_WITHIN * self.best and busy and self.limit < self.ceiling:
            self._steady += 1
            if self._overloaded and self._steady < PROBE_AFTER:
                return  # once refused, each step up waits PROBE_AFTER steady windows
            self._steady = 0
            self._set(self.limit + 1, "latency steady")

    def _set(self, new: int, reason: str) -> None:
        """Change the limit (under the lock); a decrease starts a new epoch."""
        old = self.limit
        if new == old:
            return
        if new < old:
            self._epoch += 1
        self.limit = new
        self._window = _Window(busy=self.in_flight >= new)
        self.changes.append(Change(old, new, reason, self.calls))
        self.logger.info("concurrency %d -> %d (%s)", old, new, reason)
        self._cond.notify_all()

    def stats(self) -> dict[str, int]:
        """What a test or a benchmark reads instead of a clock."""
        with self._cond:
            limits = [c.new for c in self.changes]
            return {"limit": self.limit, "ceiling": self.ceiling, "calls": self.calls,
                    "changes": len(self.changes), "lowest": min([self.limit, *limits]),
                    "highest": max([self.limit, *limits]), "max_in_flight": self.max_in_flight}


def limiter_for(mode: str | None, max_concurrency: int | None,
                logger: logging.Logger | None = None) -> ConcurrencyLimiter | None:
    """The run's limiter for ``concurrency_mode`` and ``max_concurrency`` (None for ``fixed``)."""
    mode = (mode or DEFAULT_MODE).strip().lower()
    ceiling = int(max_concurrency or DEFAULT_MAX_CONCURRENCY)
    if mode == "fixed":
        return None
    return ConcurrencyLimiter(ceiling, polite=mode == "polite", logger=logger)


__all__ = ["DEFAULT_MAX_CONCURRENCY", "DEFAULT_MODE", "MODES", "Change", "ConcurrencyLimiter",
           "limiter_for"]
