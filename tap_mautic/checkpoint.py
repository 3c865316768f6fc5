"""Mid-stream checkpoints: how far an interrupted run got, kept in the stream's state.

Why: a sync of millions of contacts killed at 90 % must not start the stream over. After every page whose
records were all written, the stream's state holds ``progress``: the window of the incremental read (the
bookmark it started from and the server's clock at the start of the run, the cap of the final bookmark),
the passes already complete, the pass under way and the last key it emitted. A run started with that state
skips the complete passes, resumes the current one after that key, and ends with the bookmark of the
interrupted run's start (what changed since is read again by the next run). A pass is known by its label and
a hash of its ``where`` clauses, so a pass whose query differs from the stored one is read again, never
skipped. The entry is removed once the stream completes: the final bookmark looks as it always did.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mautic_api.paging import CompositeKeysetPaginator, KeysetPaginator, OffsetPaginator, Paginator

CHECKPOINT_KEY = "progress"
# singer-sdk 0.54 (helpers/_state.py, increment_state) keeps the bookmark of a stream that is not declared
# sorted under "progress_markers" until the stream ends, with this note, and logs UNSORTED_WARNING once per
# stream; both say progress is not resumable, which the checkpoint above makes untrue for tap-mautic.
SDK_PROGRESS_MARKERS, SDK_NOTE = "progress_markers", "Note"
UNSORTED_WARNING = "Stream is assumed to be unsorted, progress is not resumable if interrupted"
RESUMABLE_NOTE = ("Rows are not in bookmark order: the bookmark is the largest value seen once the stream "
                  "ends; "
                  f"an interrupted sync resumes after its last checkpoint ('{CHECKPOINT_KEY}').")


class UnsortedWarningFilter(logging.Filter):
    """Drops singer-sdk's "Stream is assumed to be unsorted, progress is not resumable if interrupted".

    Why a filter: our streams are rightly not declared sorted (``is_sorted``: rows of an incremental stream
    come in id order, not in ``date_modified`` order, so the SDK must keep the largest value seen, which it
    does under ``progress_markers``), yet an interrupted sync resumes exactly from the checkpoint. singer-sdk
    logs the warning on its ``singer_sdk`` logger with no hook to change it; a filter on that one logger
    removes exactly this record (a logger's filters see only records logged on it, not its children's).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(UNSORTED_WARNING)


def quiet_unsorted_warning() -> None:
    """Install :class:`UnsortedWarningFilter` on singer-sdk's logger once (called by every stream)."""
    sdk_logger = logging.getLogger("singer_sdk")
    if not any(isinstance(f, UnsortedWarningFilter) for f in sdk_logger.filters):
        sdk_logger.addFilter(UnsortedWarningFilter())


def note_resumable(state: dict[str, Any]) -> None:
    """Replace singer-sdk's "Progress is not resumable if interrupted." in an interrupted stream's state."""
    markers = state.get(SDK_PROGRESS_MARKERS)
    if isinstance(markers, dict) and SDK_NOTE in markers:
        markers[SDK_NOTE] = RESUMABLE_NOTE


def pass_key(query: Any) -> str:
    """A pass's identity: its label and a hash of its ``where`` (equal keys mean equal queries)."""
    where = json.dumps(list(getattr(query, "where", []) or []), sort_keys=True, default=str)
    return f"{query.label} #{hashlib.sha1(where.encode()).hexdigest()[:12]}"


def resume_walk(walk: Paginator, token: Any) -> None:
    """Start ``walk`` after ``token`` (the last key the interrupted run emitted)."""
    if isinstance(walk, KeysetPaginator):
        walk.last_id = int(token)
    elif isinstance(walk, CompositeKeysetPaginator):
        mode, a, b = token
        walk.position = (str(mode), int(a), int(b))
    elif isinstance(walk, OffsetPaginator):
        walk.start = int(token)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class Checkpoint:
    """One stream's progress through its passes in this run (or the interrupted run it resumes)."""

    window_start: str | None
    window_end: datetime
    done: list[str] = field(default_factory=list)
    current: str | None = None
    last_id: Any = None
    resumed: bool = False

    @classmethod
    def resume(cls, state: dict[str, Any], start: datetime | None, now: datetime) -> Checkpoint:
        """The stored checkpoint when it belongs to the same window (same bookmark), else a fresh one."""
        stored = state.get(CHECKPOINT_KEY)
        if isinstance(stored, dict):
            window = stored.get("window") or [None, None]
            try:
                end = datetime.fromisoformat(window[1])
            except (TypeError, ValueError, IndexError):
                end = None
            if end is not None and window[0] == _iso(start):
                return cls(window[0], end, list(stored.get("done") or []), stored.get("pass"),
                           stored.get("last_id"), resumed=True)
        return cls(_iso(start), now)

    def begin(self, key: str) -> None:
        if key != self.current:
            self.current, self.last_id = key, None

    def advance(self, token: Any) -> None:
        self.last_id = token

    def complete(self) -> None:
        if self.current is not None:
            self.done.append(self.current)
        self.current, self.last_id = None, None

    def as_state(self) -> dict[str, Any]:
        return {"window": [self.window_start, self.window_end.isoformat()], "done": list(self.done),
                "pass": self.current, "last_id": self.last_id}


__all__ = ["CHECKPOINT_KEY", "RESUMABLE_NOTE", "Checkpoint", "note_resumable", "pass_key",
           "quiet_unsorted_warning", "resume_walk"]
