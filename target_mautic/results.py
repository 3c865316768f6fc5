"""Per-record outcomes: every input record ends as exactly one result line, and a summary at the end.

Why a separate ledger: Mautic's batch answers succeed partly; without a line per input row nobody can tell
which warehouse rows did not land. The ledger also decides whether STATE may still be emitted.

The one vocabulary of outcomes (the README's "Results file" lists the same):

* ``created``, ``updated``, ``unchanged``, ``deleted``: written (or, for ``unchanged``, known to be as asked);
* ``skipped``: not written on purpose (a setting or the input said so: ``delete_records`` false, a later
  record with the same key, ``create_if_missing`` false);
* ``failed``: Mautic or the target refused this record (a bad value, Mautic's error, retries spent);
* ``not_written``: the run stopped before this record was sent (a fatal error, SIGTERM, an unreadable line):
  nothing is wrong with the record, rerun the input.

``would_create``, ``would_update``, ``would_delete`` are what a ``dry_run`` reports instead of the first
three. Each line has a ``message`` (why, or null) and ``warnings`` (what was not quite as asked, e.g. a value
Mautic cannot store, while the rest was written).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

CREATED, UPDATED, UNCHANGED, SKIPPED, DELETED, FAILED, NOT_WRITTEN = (
    "created", "updated", "unchanged", "skipped", "deleted", "failed", "not_written",
)  # fmt: skip
# dry_run outcomes say what would have happened
WOULD_CREATE, WOULD_UPDATE, WOULD_DELETE = "would_create", "would_update", "would_delete"
OUTCOMES = (CREATED, UPDATED, UNCHANGED, SKIPPED, DELETED, FAILED, NOT_WRITTEN, WOULD_CREATE, WOULD_UPDATE,
            WOULD_DELETE)
STOPPED_BEFORE = "the run stopped before this record"  # the start of every not_written message


@dataclass
class RecordResult:
    """One line of the results file."""

    stream: str
    key: dict[str, Any]
    outcome: str
    mautic_id: int | None = None
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    changes: dict[str, list[Any]] | None = None  # alias -> [Mautic's value, the value written] (or planned)


class ResultsFileError(Exception):
    """``results_path`` cannot be written: the run refuses to start (before anything is sent to Mautic)."""


class ResultsLedger:
    """Collects results from all sinks (thread-safe), writes JSON lines, counts outcomes per stream."""

    def __init__(self, path: str | None, logger: logging.Logger) -> None:
        self._lock = threading.Lock()
        self._logger = logger
        self._file: IO[str] | None = None
        if path:  # opened (and truncated) before the first write, so a bad path costs nothing
            target = Path(path)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._file = target.open("w", encoding="utf-8")
            except OSError as exc:
                raise ResultsFileError(
                    f"Setting 'results_path': cannot write {path} ({exc.strerror or type(exc).__name__}); "
                    "nothing was sent to Mautic."
                ) from None
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.failed = 0
        self.not_written = 0
        self._failures_logged = 0
        self._closed = False

    def add(self, result: RecordResult) -> None:
        with self._lock:
            self.counts[result.stream][result.outcome] += 1
            if result.outcome == FAILED:
                self.failed += 1
                if self._failures_logged < 20:
                    self._failures_logged += 1
                    self._logger.warning(
                        "Record failed in stream '%s' (%s): %s",
                        result.stream,
                        json.dumps(result.key, default=str),
                        result.message,
                    )
            elif result.outcome == NOT_WRITTEN:
                self.not_written += 1
            if self._file is not None:
                line = {
                    "stream": result.stream,
                    "key": result.key,
                    "mautic_id": result.mautic_id,
                    "outcome": result.outcome,
                    "message": result.message,
                    "warnings": result.warnings,
                    "changes": result.changes,
                }
                text = json.dumps(line, default=str, ensure_ascii=False)
                # characters str.splitlines() breaks on (JSON allows them raw): escaped, one result per line
                for separator in ("\x85", "\u2028", "\u2029"):
                    text = text.replace(separator, f"\\u{ord(separator):04x}")
                self._file.write(text + "\n")

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def summary(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {stream: dict(counter) for stream, counter in self.counts.items()}

    def log_summary(self) -> None:
        for stream, counter in sorted(self.summary().items()):
            parts = ", ".join(f"{counter[o]} {o}" for o in OUTCOMES if counter.get(o))
            self._logger.info("Results for stream '%s': %s", stream, parts or "no records")
        if self.failed:
            self._logger.warning(
                "%d record(s) failed; see the messages above or the results file", self.failed
            )
        if self.not_written:
            self._logger.warning(
                "%d record(s) not written: the run stopped before them; rerun the input (writes are upserts)",
                self.not_written,
            )

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()
                self._file = None


__all__ = ["NOT_WRITTEN", "OUTCOMES", "STOPPED_BEFORE", "RecordResult", "ResultsFileError", "ResultsLedger"]
