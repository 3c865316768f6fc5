"""notes: a note on a contact, created once (re-running the same input adds no duplicate), edited or deleted
by its ``id``."""

from __future__ import annotations

from typing import Any

from mautic_api.answers import BatchItemResult
from mautic_api.errors import MauticError
from target_mautic.links import LinkSink
from target_mautic.results import (
    CREATED,
    DELETED,
    UNCHANGED,
    UPDATED,
    WOULD_CREATE,
    WOULD_DELETE,
    WOULD_UPDATE,
)
from target_mautic.rows import Row, as_int, reraise_fatal
from target_mautic.values import InvalidValue, format_datetime


class NotesSink(LinkSink):
    """Creates go in batch/new (after skipping identical notes); edits and deletions one call each."""

    canonical = "notes"
    columns = ("text", "type", "id", "dateTime", "date_time")
    required_any = ("text", "id")
    key_columns = ("id", "text")

    def write(self, pairs: list[tuple[Row, int]]) -> None:
        creates: list[Row] = []
        for row, _ in pairs:
            note_id = as_int(row.record.get("id"))
            if row.deleted:
                if note_id is None:
                    self.fail(row, "a note deletion needs the note 'id'")
                elif self.dry_run:
                    self.report(row, WOULD_DELETE, "dry run")
                elif self.call(row, "DELETE", f"notes/{note_id}/delete") is not None:
                    self.report(row, DELETED, mautic_id=note_id)
                continue
            body: dict[str, Any] = {
                "lead": row.mautic_id,
                "text": row.record.get("text"),
                "type": row.record.get("type") or "general",
            }
            stamp = row.record.get("dateTime") or row.record.get("date_time")
            if stamp is not None:
                try:
                    body["dateTime"] = format_datetime(stamp)
                except InvalidValue as exc:
                    self.fail(row, f"property 'dateTime': {exc}")
                    continue
            row.payload = body
            if note_id is not None:
                if self.dry_run:
                    self.report(row, WOULD_UPDATE, "dry run")
                    continue
                answer = self.call(
                    row,
                    "PATCH",
                    f"notes/{note_id}/edit",
                    json_body={k: v for k, v in body.items() if v is not None},
                )
                if answer is not None:
                    self.report(row, UPDATED, mautic_id=note_id)
                continue
            if not body["text"]:
                self.fail(row, "a note needs 'text'")
                continue
            creates.append(row)
        creates = self._skip_existing_notes(creates)
        if self.dry_run:
            for row in creates:
                self.report(row, WOULD_CREATE, "dry run")
            return
        todo = [(row.payload, row) for row in creates]
        for row, result, error in self.connector.batches(
            todo, lambda batch: self.connector.batch_new("notes", batch), recover=self.recover_notes
        ):
            if error is not None:
                self.fail(row, error)
            elif result is not None and result.status in (200, 201):
                self.report(row, CREATED, mautic_id=as_int((result.item or {}).get("id")))
            else:
                self.fail(
                    row,
                    f"HTTP {result.status if result else '?'}: "
                    f"{(result.error if result else None) or 'rejected'}",
                )

    def recover_notes(self, chunk: list[tuple[dict[str, Any], Row]]) -> list[BatchItemResult]:
        """The answer to a notes batch was lost: the notes now on their contacts were written by it (an
        identical note did not exist before, see ``_skip_existing_notes``); only the others are sent."""
        results: dict[int, BatchItemResult] = {}
        written: dict[int, dict[tuple[str, str], int]] = {}
        for n, (payload, row) in enumerate(chunk):
            cid = row.mautic_id or 0
            if cid not in written:
                written[cid] = {
                    (str(note.get("text") or ""), str(note.get("type") or "")): as_int(note.get("id")) or 0
                    for note in self.connector.contact_notes(cid)
                }
            note_id = written[cid].get((str(payload.get("text") or ""), str(payload.get("type") or "")))
            if note_id:
                results[n] = BatchItemResult(index=n, status=201, item={"id": note_id})
        resend = [n for n in range(len(chunk)) if n not in results]
        if resend:
            for n, result in zip(resend, self.connector.batch_new("notes", [chunk[n][0] for n in resend]),
                                 strict=False):
                results[n] = BatchItemResult(n, result.status, result.item, result.error)
        return [results.get(n, BatchItemResult(n, 0, None, "answer lost")) for n in range(len(chunk))]

    def _skip_existing_notes(self, rows: list[Row]) -> list[Row]:
        """Re-running the same input must not duplicate notes: a note with the same text and type is kept."""
        keep: list[Row] = []
        existing: dict[int, set[tuple[str, str]]] = {}
        for row in rows:
            cid = row.mautic_id or 0
            if cid not in existing:
                try:
                    notes = self.connector.contact_notes(cid)
                except MauticError as exc:
                    reraise_fatal(exc)
                    notes = []
                existing[cid] = {(str(note.get("text") or ""), str(note.get("type") or "")) for note in notes}
            ident = (str(row.payload.get("text") or ""), str(row.payload.get("type") or ""))
            if ident in existing[cid]:
                self.report(row, UNCHANGED, "an identical note already exists on this contact")
            else:
                existing[cid].add(ident)
                keep.append(row)
        return keep
