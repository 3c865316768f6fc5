"""A full contacts or companies batch drained while the next records are read: one drain in flight at most.

Why: with ``max_concurrency`` > 1 the lanes share the server's time, but the target's own work per record
(parsing, schema validation, mapping) ran only between drains, with every lane idle. So a batch that fills
up is drained in a background thread while the main thread reads and validates the next records into the
sink's next batch. Only one drain is ever in flight, and every other drain, a link stream's write, STATE and
the end of the run wait for it first: writes, look-ups and results keep the order of a sequential run.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from target_mautic.base import MauticSink


@dataclass
class Finished:
    """A background drain that ended: its sink, the batch it drained and what it raised (None: it wrote)."""

    sink: MauticSink
    context: dict[str, Any]
    error: BaseException | None


class BackgroundDrain:
    """The one drain in flight (the target owns one; ``wait`` before anything else touches Mautic)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._running: tuple[MauticSink, dict[str, Any], Future[None]] | None = None

    @property
    def busy(self) -> bool:
        return self._running is not None

    def start(self, sink: MauticSink, context: dict[str, Any]) -> None:
        """Send ``context`` (the batch ``sink.start_drain()`` set aside) from the drain thread."""
        if self._running is not None:
            raise RuntimeError("a drain is already in flight")  # the target waits first: never happens
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="target-mautic-drain")
        self._running = (sink, context, self._pool.submit(sink.process_batch, context))

    def wait(self) -> Finished | None:
        """Wait for the drain in flight, if any; what it raised is returned, for the target to handle."""
        if self._running is None:
            return None
        sink, context, future = self._running
        self._running = None
        try:
            future.result()
        except BaseException as exc:  # handed to the target, which treats it as the synchronous drain would
            return Finished(sink, context, exc)
        return Finished(sink, context, None)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
