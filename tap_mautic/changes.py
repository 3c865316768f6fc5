"""How a run finds changed contacts and companies on each Mautic version.

Why: from Mautic 6.0 an update no longer moves ``dateModified`` (mautic#15418, #15511; 7.x *inferred*), so a
``dateModified`` filter misses every edit after a record's creation, silently and forever. Where
``dateModified`` cannot be trusted (by ``Mautic-Version``, or because the self-check saw an update that did
not move it), the changed ids come from ``/api/stats/audit_log`` (every action but delete, since the bookmark
minus the look-back) and are re-read in batches (``where id in``). The bookmark stays Mautic's clock at the
start of the run, so what changes during the run is read again by the next one. Without audit_log access (it
needs an administrator) the fallback is a full keyset re-read every ``full_resync_every`` runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mautic_api.client import MauticClient
from mautic_api.errors import NotFoundError, PermissionDeniedError
from mautic_api.php_serial import PhpSerialError, loads
from mautic_api.values import wire_datetime
from mautic_api.versions import Capabilities
from tap_mautic.base_stream import FilterIgnoredError, QueryPass
from tap_mautic.fields import to_datetime

FULL_READ_COUNTER = "incremental_runs_since_full_read"


@dataclass
class IdBatchPass(QueryPass):
    """A walk over one batch of ids (``where id in``); it ends once the batch's highest id was read."""

    last_key: int | None = None


def _when(value: Any) -> datetime | None:
    text = to_datetime(value) if value else None
    return datetime.fromisoformat(text) if text else None


def id_batches(ids: Iterable[int], size: int, base: list[dict[str, Any]],
               base_check: Any) -> Iterable[IdBatchPass]:
    """``where id in (...)`` walks over ``ids`` in ascending batches of ``size``."""
    ordered = sorted(ids)
    for n in range(0, len(ordered), max(1, size)):
        batch = ordered[n:n + size]
        wanted = frozenset(batch)

        def check(row: Mapping[str, Any], wanted: frozenset[int] = wanted) -> bool:
            return int(row["id"]) in wanted and base_check(row)

        yield IdBatchPass(f"id in audit_log changes ({len(batch)} ids from {batch[0]})",
                          [*base, {"col": "id", "expr": "in", "val": batch}], check, last_key=batch[-1])


class ChangeTap(Protocol):
    """What change detection uses of its tap (:class:`tap_mautic.tap.TapMautic`)."""

    @property
    def logger(self) -> Any: ...

    @property
    def config(self) -> Mapping[str, Any]: ...

    @property
    def client(self) -> MauticClient: ...

    def mautic_capabilities(self) -> Capabilities: ...


class ChangeTracking:
    """One per tap run: whether ``dateModified`` can be trusted, and audit_log reads for the streams."""

    def __init__(self, tap: ChangeTap) -> None:
        self.tap = tap
        self._lock = threading.Lock()
        self._instance_trusted: bool | None = None
        self.audit_denied = False

    @property
    def logger(self) -> Any:
        return self.tap.logger

    @property
    def caps(self) -> Capabilities:
        return self.tap.mautic_capabilities()

    # ----------------------------------------------------------------------------------- decision

    def instance_moves_date_modified(self) -> bool:
        """Updates move dateModified on this instance: by version, and by the self-check where enabled."""
        with self._lock:
            if self._instance_trusted is None:
                self._instance_trusted = self._decide()
            return self._instance_trusted

    def _decide(self) -> bool:
        caps = self.caps
        if not caps.date_modified_moves_on_update:
            self.logger.info(
                "%s: updates do not move dateModified (mautic#15418, from 6.0; inferred for 7.x and for an "
                "unknown version): changed contacts and companies are found in audit_log, the other "
                "incremental streams are read in full.", caps.label)
            return False
        if not self.tap.config.get("date_modified_self_check", True):
            return True
        moved = self.self_check()
        if moved is False:
            self.logger.warning(
                "%s: the self-check found a contact update in audit_log that did not move dateModified: "
                "changed contacts and companies are found in audit_log, the other incremental streams are "
                "read in full.", caps.label)
            return False
        return True

    def uses_audit_log(self) -> bool:
        """Contacts and companies: find changes in audit_log (else by dateModified)."""
        method = self.tap.config.get("change_detection") or "auto"
        if method == "audit_log":
            return True
        if method == "date_modified":
            return False
        return not self.instance_moves_date_modified()

    def self_check(self) -> bool | None:
        """Did the newest contact update in audit_log move that contact's dateModified? None: no evidence
        (no update yet, contact gone, audit_log not readable)."""
        client = self.tap.client
        try:
            page = client.stats_page("audit_log", limit=1, order=[{"col": "id", "dir": "DESC"}], where=[
                {"col": "bundle", "expr": "eq", "val": "lead"},
                {"col": "object", "expr": "eq", "val": "lead"},
                {"col": "action", "expr": "eq", "val": "update"},
            ])
        except PermissionDeniedError:
            return None
        if not page.records:
            return None
        entry = page.records[0]
        if (entry.get("bundle"), entry.get("object"), entry.get("action")) != ("lead", "lead", "update"):
            return None  # Mautic dropped the filter: no evidence either way
        updated = _when(entry.get("date_added"))
        try:
            contact = client.get("contacts", int(entry["object_id"]))
        except NotFoundError:
            return None
        modified = _when(contact.get("dateModified"))
        if updated is None:
            return None
        return modified is not None and modified >= updated

    # ---------------------------------------------------------------------------------- audit_log

    def changed_ids(self, stream: str, audit_object: str, start: datetime, page_size: int) -> set[int] | None:
        """Ids of ``audit_object`` (lead, company) created, updated or identified since ``start``; None when
        the user may not read audit_log (warned about once per run)."""
        client = self.tap.client
        floor = start.replace(microsecond=0)
        base = [
            {"col": "bundle", "expr": "eq", "val": "lead"},
            {"col": "object", "expr": "eq", "val": audit_object},
            {"col": "action", "expr": "neq", "val": "delete"},
            {"col": "date_added", "expr": "gte", "val": wire_datetime(start)},
        ]
        wrong = ("{label}: Mautic ignored the filter of the audit_log change walk (row id {got}); "
                 "refusing to "
                 "continue, changes could be lost.")

        def wanted(entry: Mapping[str, Any]) -> bool:
            when = _when(entry.get("date_added"))
            return (entry.get("action") != "delete" and entry.get("bundle") == "lead"
                    and entry.get("object") == audit_object and when is not None and when >= floor)

        entries = client.iter_stats(
            "audit_log", where=base, check=wanted, page_size=page_size, label=f"Stream '{stream}'",
            error=FilterIgnoredError, messages={"keyset": wrong, "check": wrong})
        try:
            return {int(entry["object_id"]) for entry in entries}
        except PermissionDeniedError as exc:
            self.denied(stream, exc)
            return None

    def merges_after(self, audit_id: int, page_size: int) -> list[tuple[int, int, int | None]] | None:
        """Contact merges written after the audit log id ``audit_id``: (audit id, loser, victor), by id;
        None when the user may not read audit_log. One walk per run serves every stream: the answer for the
        lowest id asked is kept and filtered for the later ones."""
        rows = self.merge_rows_after(audit_id, page_size)
        if rows is None:
            return None
        out: list[tuple[int, int, int | None]] = []
        for entry in rows:
            try:
                victor = loads(entry.get("details") or "").get("merged_into")
            except (PhpSerialError, AttributeError):
                victor = None
            known = isinstance(victor, int | str) and str(victor).isdigit()
            out.append((int(entry["id"]), int(entry["object_id"]), int(victor) if known else None))
        return out

    def cached_merge_rows(self, audit_id: int) -> list[dict[str, Any]] | None:
        """The merge rows after ``audit_id`` when this run's merge walk already covers them (no call), else
        None: the ``contact_merges`` stream then reads its own pages."""
        with self._lock:
            cached = getattr(self, "_merges", None)
            if cached is None or cached[0] > audit_id:
                return None
            return [dict(row) for row in cached[1] if int(row["id"]) > audit_id]

    def remember_merge_rows(self, audit_id: int, rows: list[dict[str, Any]]) -> None:
        """Every merge row after ``audit_id``, read by the ``contact_merges`` stream: the run's merge walk,
        for the streams that ask after it."""
        with self._lock:
            cached = getattr(self, "_merges", None)
            if cached is None or cached[0] > audit_id:
                self._merges = (audit_id, [dict(row) for row in rows])

    def merge_rows_after(self, audit_id: int, page_size: int) -> list[dict[str, Any]] | None:
        """The audit_log merge rows after ``audit_id`` (one walk per run, see :meth:`merges_after`)."""
        cached = self.cached_merge_rows(audit_id)
        if cached is not None:
            return cached
        entries = self.tap.client.iter_stats(
            "audit_log", page_size=page_size, lower=audit_id or None,
            check=lambda row: row.get("action") == "merge" and row.get("object") == "lead",
            where=[{"col": "bundle", "expr": "eq", "val": "lead"},
                   {"col": "object", "expr": "eq", "val": "lead"},
                   {"col": "action", "expr": "eq", "val": "merge"}],
            label="Merged contacts", error=FilterIgnoredError,
            messages={"check": "{label}: Mautic ignored the filter of the audit_log merge walk (row id "
                               "{got}); refusing to continue."})
        try:
            rows = [dict(entry) for entry in entries]
        except PermissionDeniedError:
            return None
        with self._lock:
            self._merges = (audit_id, rows)
        return [dict(row) for row in rows]

    def denied(self, stream: str, exc: Exception) -> None:
        """The one warning of a run whose user may not read audit_log."""
        with self._lock:
            if self.audit_denied:
                return
            self.audit_denied = True
        every = int(self.tap.config.get("full_resync_every", 1))
        fallback = (f"contacts and companies are re-read in full every {every} run(s) (full_resync_every)"
                    if every else "updates are missed until a full refresh (full_resync_every is 0)")
        self.logger.warning(
            "Stream '%s': deletes are not emitted because the Mautic user may not read audit_log (it needs "
            "an administrator role), and dateModified cannot be trusted on %s, so %s: %s",
            stream, self.caps.label, fallback, str(exc)[:200],
        )

    @staticmethod
    def full_read_due(state: dict[str, Any], every: int) -> bool:
        """Whether this run re-reads in full (``full_resync_every``), from the counter kept in the state."""
        if every <= 0:
            return False
        return int(state.get(FULL_READ_COUNTER, 0)) + 1 >= every

    @staticmethod
    def count_run(state: dict[str, Any], full: bool) -> None:
        """After the stream completed: reset the counter on a full read, else count one more run."""
        state[FULL_READ_COUNTER] = 0 if full else int(state.get(FULL_READ_COUNTER, 0)) + 1


__all__ = ["FULL_READ_COUNTER", "ChangeTracking", "IdBatchPass", "id_batches"]
