"""Progress lines a person can read during a long sync.

Why: singer-sdk's METRIC lines are per request and hard to read; a sync of millions of contacts needs a
sign of life that says how far it is. One INFO line per stream about every ``interval`` seconds and one at
the end: records so far, Mautic's ``total`` for the walk when the list answer carries one, rate and ETA.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

PROGRESS_INTERVAL_SECONDS = 10.0


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """Counts one stream's records and logs a progress line at most every ``interval`` seconds."""

    def __init__(self, stream: str, logger: logging.Logger, *, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.logger = logger
        self.interval = PROGRESS_INTERVAL_SECONDS if interval is None else interval
        self.clock = clock
        self.started = clock()
        self.last_logged = self.started
        self.records = 0
        self.total: int | None = None
        self._walk_counted = False

    def start_walk(self) -> None:
        """A new walk over the list begins (a query pass): its first answer's ``total`` adds to the total."""
        self._walk_counted = False

    def expect(self, total: int | None) -> None:
        """Mautic's ``total`` for the current walk (only its first answer counts), when it sends one."""
        if total is None or self._walk_counted:
            return
        self._walk_counted = True
        self.total = (self.total or 0) + total

    def tick(self, n: int = 1) -> None:
        self.records += n
        now = self.clock()
        if now - self.last_logged >= self.interval:
            self.last_logged = now
            self.logger.info("%s", self.line(now))

    def line(self, now: float | None = None, *, done: bool = False) -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = self.records / elapsed
        text = f"Stream '{self.stream}': {self.records:,} records"
        if self.total is not None and self.total >= self.records and not done:
            text += f" of about {self.total:,}"
        text += f" in {_duration(elapsed)} ({rate:,.0f}/s)"
        if done:
            return text + ", done."
        if self.total is not None and rate > 0 and self.total > self.records:
            text += f", about {_duration((self.total - self.records) / rate)} left"
        return text + "."

    def finish(self) -> None:
        self.logger.info("%s", self.line(done=True))
