"""Concurrent slices of one keyset walk, emitted in id order.

Why: a real Mautic answers a page of contacts in 0.3-0.9 s and serves several requests at once (one PHP
worker each), so one request at a time leaves most of the server idle. A walk's id span is cut into ranges
(``mautic_api.paging.split_ids``), each read by its own bounded keyset query, up to ``max_concurrency`` at
once. Answers are emitted strictly in id order: the stream's checkpoint stays one id ("everything up to here
was written"), an id-incremental stream's bookmark stays sorted, and a page the stream trims (the stats
settle window) ends the walk exactly where a sequential read would have.

A range whose answer does not prove it complete (``paging.range_complete``) is continued after its last id,
cut again by the ``total`` Mautic counted for it, so a dense cluster of ids is read concurrently too.
Memory is bounded: at most ``concurrency`` ranges are read or wait beside the one being emitted, and their
answers wait as bytes (decoded and verified on the emitting thread when their turn comes). The
reading threads are daemons and are told to stop when the walk ends early (an error, a trimmed page), so a
failed run exits at once instead of waiting for a slice's retries.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

IdSpan = tuple[int, "int | None"]  # ids (lower, upper]; None: no upper bound (the walk's last range)


@dataclass
class SlicePage:
    """One answer of one range: its verified rows, the ranges still to read in it (in id order), and
    whether the stream trimmed the page (then the walk ends after these rows)."""

    rows: list[dict[str, Any]]
    more: list[IdSpan] = field(default_factory=list)
    stopped: bool = False


@dataclass
class _Slot:
    span: IdSpan
    future: Future[Any] | None = None


class _DaemonPool:
    """Threads running submitted reads; daemons, so a process that failed never waits for them."""

    def __init__(self, size: int, name: str) -> None:
        self.jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue())
        self.threads = [threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
                        for n in range(size)]
        for thread in self.threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.jobs.put((future, fn, args))
        return future

    def _work(self) -> None:
        while (job := self.jobs.get()) is not None:
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the reader of the future
                future.set_exception(exc)

    def close(self) -> None:
        """Threads end after their current read (the caller cancels the reads it still holds)."""
        for _ in self.threads:
            self.jobs.put(None)


def read_in_order(spans: list[IdSpan], fetch: Callable[[int, int | None], Any], concurrency: int, *,
                  finish: Callable[[int, int | None, Any], SlicePage] | None = None,
                  name: str = "mautic-slice", stop: threading.Event | None = None) -> Iterator[SlicePage]:
    """Each range's pages in id order, ``fetch(lower, upper)`` running on up to ``concurrency`` threads and
    ``finish(lower, upper, answer)`` (decoding, verifying) on the caller's thread when the range's turn comes
    (without ``finish``, ``fetch`` returns the page itself). Answers wait as they came (bytes, not decoded
    records), so the pages read ahead cost little memory.

    The ranges a page says are left (``more``) are read next, before every later range. A failed read raises
    when its range's turn comes, so every page before it has been yielded. Leaving early (a trimmed page, an
    error, the consumer stopping) cancels the ranges not yet started and sets ``stop`` (a read in flight
    checks it before each retry).
    """
    slots = deque(_Slot(span) for span in spans)
    pool = _DaemonPool(concurrency, name)

    def start_earliest() -> None:
        for started, slot in enumerate(slots):  # at most `concurrency` ranges read or waiting
            if started >= concurrency:
                break
            if slot.future is None:
                slot.future = pool.submit(fetch, *slot.span)

    try:
        while slots:
            start_earliest()
            head = slots.popleft()
            start_earliest()  # the head's place goes to the next range while the head is written
            answer = head.future.result() if head.future is not None else fetch(*head.span)
            page = finish(*head.span, answer) if finish is not None else answer
            slots.extendleft(_Slot(span) for span in reversed(page.more))
            yield page
            if page.stopped:
                return
    finally:
        if stop is not None:
            stop.set()
        for slot in slots:
            if slot.future is not None:
                slot.future.cancel()  # not started yet: never sent
        pool.close()


__all__ = ["IdSpan", "SlicePage", "read_in_order"]
