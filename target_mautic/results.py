"""Per-record outcomes: every input record ends as exactly one result line, and a summary at the end.

Why a separate ledger: Mautic's batch answers succeed partly; without a line per input row nobody can tell
which warehouse rows did not land. The ledger also decides whether STATE may still be emitted.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

CREATED, UPDATED, UNCHANGED, SKIPPED, DELETED, FAILED = (
    "created", "updated", "unchanged", "skipped", "deleted", "failed",
)  # fmt: skip
# dry_run outcomes say what would have happened
WOULD_CREATE, WOULD_UPDATE, WOULD_DELETE = "would_create", "would_update", "would_delete"
OUTCOMES = (CREATED, UPDATED, UNCHANGED, SKIPPED, DELETED, FAILED, WOULD_CREATE, WOULD_UPDATE, WOULD_DELETE)


@dataclass
class RecordResult:
    """One line of the results file."""

    stream: str
    key: dict[str, Any]
    outcome: str
    mautic_id: int | None = None
    message: str | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. a value Mautic stores altered


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
            if self._file is not None:
                line = {
                    "stream": result.stream,
                    "key": result.key,
                    "mautic_id": result.mautic_id,
                    "outcome": result.outcome,
                    "message": result.message,
                    "warnings": result.warnings,
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

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()
                self._file = None


__all__ = ["OUTCOMES", "RecordResult", "ResultsFileError", "ResultsLedger"]
