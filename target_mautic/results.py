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
three; ``removed`` / ``would_remove``: sync_mode mirror took (would take) a member missing from a
completed snapshot out of its segment (a line per member, key contact_id and segment_id).
Each line has a ``message`` (why, or null) and ``warnings`` (what was not quite as
asked, e.g. a value Mautic cannot store, while the rest was written).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

CREATED, UPDATED, UNCHANGED, SKIPPED, DELETED, FAILED, NOT_WRITTEN = (
    "created", "updated", "unchanged", "skipped", "deleted", "failed", "not_written",
)  # fmt: skip
# dry_run outcomes say what would have happened
WOULD_CREATE, WOULD_UPDATE, WOULD_DELETE = "would_create", "would_update", "would_delete"
# sync_mode mirror: a member not in a completed snapshot, taken out of its segment (or planned to be)
REMOVED, WOULD_REMOVE = "removed", "would_remove"
OUTCOMES = (CREATED, UPDATED, UNCHANGED, SKIPPED, DELETED, REMOVED, FAILED, NOT_WRITTEN, WOULD_CREATE,
            WOULD_UPDATE, WOULD_DELETE, WOULD_REMOVE)
STOPPED_BEFORE = "the run stopped before this record"  # the start of every not_written message
# the plan's (and summary's) columns: outcome -> column; a dry run's would_* count as what they would be
TOTAL_COLUMNS = ("create", "update", "unchanged", "delete", "remove", "skip", "fail", "not_written")
COLUMN_OF = {CREATED: "create", WOULD_CREATE: "create", UPDATED: "update", WOULD_UPDATE: "update",
             UNCHANGED: "unchanged", DELETED: "delete", WOULD_DELETE: "delete", REMOVED: "remove",
             WOULD_REMOVE: "remove", SKIPPED: "skip",
             FAILED: "fail", NOT_WRITTEN: "not_written"}
SUMMARY_SUFFIX = ".summary.json"  # the totals are written next to the results file, to results_path + this


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

    def __init__(self, path: str | None, logger: logging.Logger, *, dry_run: bool = False) -> None:
        self._lock = threading.Lock()
        self.log = logger
        self._file: IO[str] | None = None
        self._path = path
        self.dry_run = dry_run
        # every line of one run carries the same id and start time (a warehouse table of results keys on them)
        self.run_id = uuid.uuid4().hex
        self.run_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
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
                    self.log.warning(
                        "Record failed in stream '%s' (%s): %s",
                        result.stream,
                        json.dumps(result.key, default=str),
                        result.message,
                    )
            elif result.outcome == NOT_WRITTEN:
                self.not_written += 1
            if self._file is not None:
                line = {
                    "run_id": self.run_id,
                    "run_at": self.run_at,
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

    def totals(self) -> dict[str, dict[str, int]]:
        """Per stream: create, update, unchanged, delete, skip, fail, not_written (a dry run's would_* counted
        as what they would be)."""
        out: dict[str, dict[str, int]] = {}
        for stream, counter in sorted(self.summary().items()):
            row = dict.fromkeys(TOTAL_COLUMNS, 0)
            for outcome, n in counter.items():
                row[COLUMN_OF.get(outcome, "skip")] += n
            out[stream] = row
        return out

    def totals_table(self) -> str:
        """The totals as a text table (one line per stream), the end of every run's log."""
        totals = self.totals()
        width = max([len("stream"), *(len(s) for s in totals)])
        head = "stream".ljust(width) + "".join(f" {c:>11}" for c in TOTAL_COLUMNS)
        lines = [("Plan (dry run): " if self.dry_run else "Totals: ") + f"run {self.run_id}", head]
        for stream, row in totals.items():
            lines.append(stream.ljust(width) + "".join(f" {row[c]:>11}" for c in TOTAL_COLUMNS))
        return "\n".join(lines)

    def write_summary(self) -> None:
        """The totals as JSON next to the results file (``results_path`` + ``.summary.json``)."""
        if not self._path:
            return
        summary = {"run_id": self.run_id, "run_at": self.run_at, "dry_run": self.dry_run,
                   "streams": self.totals()}
        try:
            text = json.dumps(summary, indent=1) + "\n"
            Path(self._path + SUMMARY_SUFFIX).write_text(text, encoding="utf-8")
        except OSError as exc:
            self.log.warning("Cannot write %s%s: %s", self._path, SUMMARY_SUFFIX, exc.strerror or exc)

    def log_summary(self) -> None:
        if self.counts:
            self.log.info("%s", self.totals_table())
            self.write_summary()
        for stream, counter in sorted(self.summary().items()):
            parts = ", ".join(f"{counter[o]} {o}" for o in OUTCOMES if counter.get(o))
            self.log.info("Results for stream '%s': %s", stream, parts or "no records")
        if self.failed:
            self.log.warning(
                "%d record(s) failed; see the messages above or the results file", self.failed
            )
        if self.not_written:
            self.log.warning(
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


__all__ = [
    "NOT_WRITTEN",
    "OUTCOMES",
    "REMOVED",
    "STOPPED_BEFORE",
    "SUMMARY_SUFFIX",
    "TOTAL_COLUMNS",
    "WOULD_REMOVE",
    "RecordResult",
    "ResultsFileError",
    "ResultsLedger",
]
