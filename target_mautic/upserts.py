"""Upserts of contacts and companies: patch by id, match on ``match_on``, create when missing, never PUT.

Why one base class: contacts and companies share the whole path (match, batch with halving, per-item outcome,
unique-field refusals); they differ in whether batch/new de-duplicates by itself (contacts on unique fields;
companies never: an existing name is refused with 422) and in which values Mautic does not store
(:mod:`target_mautic.unwritable`, contacts only).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from mautic_api.answers import BatchItemResult
from mautic_api.errors import MauticError
from mautic_api.versions import capabilities as version_capabilities
from target_mautic.base import INVALID, MauticSink
from target_mautic.compare import BLANK_FLAG, FULL_READ_KEYS, changed_values
from target_mautic.connector import API_BATCH_LIMIT
from target_mautic.mirror_records import MirroredRecords
from target_mautic.modes import INSERT, MIRROR, UPDATE, sync_mode
from target_mautic.results import (
    CREATED,
    DELETED,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    WOULD_CREATE,
    WOULD_DELETE,
    WOULD_UPDATE,
)
from target_mautic.rows import Row, StreamSetupError, as_int, field_value, norm, reraise_fatal
from target_mautic.unwritable import unwritable_note, unwritable_values
from target_mautic.values import NORMALIZED_TYPES, InvalidValue, ValueMapper

CLOCK_MARGIN_SECONDS = 2
HOLDS_ALREADY = 304  # a read-back status (never Mautic's): an existing record already holds the values
COMPARED_TYPES = frozenset({*NORMALIZED_TYPES, "select", "region", "country", "locale", "timezone"})


def _timestamp(value: Any) -> datetime | None:
    """An API timestamp (``2026-11-26T07:39:50+00:00``) as an aware datetime, or None."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


class UpsertSink(MauticSink):
    """Contacts/companies: patch by id, match on ``match_on``, create when missing, never PUT."""

    object_: str = "contact"
    context_name: str = "contacts"
    default_match_on: tuple[str, ...] = ("email",)
    server_dedupes_on: frozenset[str] = frozenset()  # unique fields batch/new matches on by itself
    _creates_since: datetime = datetime.min.replace(tzinfo=timezone.utc)  # when send_creates began

    def setup(self) -> None:
        super().setup()
        self.mapper = ValueMapper(
            object_=self.object_,
            fields=self.connector.field_specs(self.object_),
            overwrite_with_blank=bool(self.settings.get("overwrite_with_blank")),
            ignore_unknown_fields=bool(self.settings.get("ignore_unknown_fields")),
            write_points=bool(self.settings.get("write_points")),
        )
        unknown_match = [f for f in self.match_on if f not in self.mapper.fields]
        if unknown_match:
            raise StreamSetupError(
                f"Setting 'match_on' for stream '{self.stream_name}' names "
                f"{', '.join(repr(f) for f in unknown_match)}, which is not a {self.object_} field alias."
            )
        self.check_unknown(self.mapper.unknown_properties(self.schema.get("properties", {})))
        if self.mode == MIRROR and not self.mirrored:
            self.logger.warning(
                "Stream '%s': sync_mode mirror without mirror_action removes nothing (set mirror_action); "
                "the stream is loaded as upsert.", self.stream_name)

    @property
    def mirrored(self) -> bool:
        """Under sync_mode mirror with a mirror_action (:class:`MirroredRecords`)."""
        return False

    @functools.cached_property
    def mode(self) -> str:
        """This stream's sync mode (:mod:`target_mautic.modes`)."""
        return sync_mode(self.settings, self.stream_name, self.canonical)

    @functools.cached_property
    def full_read(self) -> bool:
        """Read whole records (not ``minimal``) when the stream carries keys only those hold (tags, ...)."""
        return self.object_ == "contact" and bool(FULL_READ_KEYS & set(self.schema.get("properties", {})))

    @property
    def compare(self) -> bool:
        """Compare before write (``compare_before_write``, default true)."""
        return self.settings.get("compare_before_write") is not False

    @functools.cached_property
    def match_on(self) -> list[str]:
        """``match_on``: a list applies to contacts; an object is keyed by input stream or target name
        (read once: it is asked twice per record)."""
        configured = self.settings.get("match_on")
        if isinstance(configured, Mapping):
            configured = configured.get(self.stream_name, configured.get(self.canonical))
        elif self.canonical != "contacts":
            configured = None
        if isinstance(configured, str):
            configured = [configured]
        return list(configured or self.default_match_on)

    def key_of(self, record: Mapping[str, Any]) -> dict[str, Any]:
        key: dict[str, Any] = {}
        if record.get("id") is not None:
            key["id"] = record["id"]
        for name in self.match_on:
            if record.get(name) is not None:
                key[name] = record[name]
        return key

    @property
    def max_size(self) -> int:
        """Rows per drain: with lanes, a whole number of waves of ``max_concurrency`` chunks (≥ 1000 rows),
        so every lane has work and the calls stay ``ceil(rows / batch_size)``."""
        lanes = self.connector.concurrency
        if self.batch_size_rows is not None or lanes <= 1:
            return super().max_size
        wave = self.batch_size * lanes
        return -(-self.MAX_SIZE_DEFAULT // wave) * wave

    def lane_keys(self, row: Row) -> list[Hashable]:
        """What names the row's entity, normalised as Mautic matches (case-insensitive): its id, its
        match_on values and each unique field it sets. Rows sharing one are never in two batches in flight."""
        keys: list[Hashable] = []
        if row.mautic_id is not None:
            keys.append(("id", row.mautic_id))
        match = self.match_key(row)
        if match is not None:
            keys.append(("match", match))
        for alias in self.mapper.unique_fields():
            value = row.payload.get(alias)
            if value is not None and str(value).strip() != "":
                keys.append(("unique", alias, norm(value)))
        return keys

    def match_key(self, row: Row) -> tuple | None:
        values = [row.record.get(f) for f in self.match_on]
        if any(v is None or str(v).strip() == "" for v in values):
            return None
        return tuple(norm(v) for v in values)

    # -- main ----------------------------------------------------------------------------------------
    def process_record(self, record: dict, context: dict) -> None:
        """Buffered as every sink does, and mapped to its payload now, on the thread reading the input: with
        lanes the batch before is being sent meanwhile, so the mapping is off the drain's path."""
        super().process_record(record, context)
        if INVALID in record or record.get("_sdc_deleted_at") is not None:
            return
        mapped: tuple[dict[str, Any], list[str]] | InvalidValue
        try:
            mapped = self.map(record)
        except InvalidValue as exc:
            mapped = exc
        context.setdefault("mapped", {})[self._seq] = mapped

    def process_batch(self, context: dict) -> None:
        rows = self.rows(context)
        mapped = context.get("mapped", {})
        deletes: list[Row] = []
        writes: list[Row] = []
        for row in rows:
            if row.deleted:
                if self.settings.get("delete_records"):
                    deletes.append(row)
                else:
                    self.report(
                        row, SKIPPED, "deletion marker (_sdc_deleted_at) ignored: delete_records is false"
                    )
                continue
            done = mapped.get(row.seq)
            try:
                if isinstance(done, InvalidValue):
                    raise done
                payload, stored = done if done is not None else self.map(row.record)
            except InvalidValue as exc:
                self.fail(row, str(exc))
                continue
            row.payload = payload
            row.warnings.extend(stored)
            row.mautic_id = as_int(row.record.get("id"))
            if row.record.get("id") is not None and row.mautic_id is None:
                self.fail(row, f"'id' must be a Mautic id (integer), got {row.record.get('id')!r}")
                continue
            if row.mautic_id is None and self.match_key(row) is None:
                self.fail(
                    row,
                    f"cannot be matched: no 'id' and no value for match_on ({', '.join(self.match_on)})",
                )
                continue
            writes.append(row)
        writes = self.merge_duplicates(writes)
        self.upsert(writes)
        if deletes:
            self.delete(deletes)

    def map(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The record's payload and the warnings of values Mautic will store otherwise."""
        payload = self.mapper.payload(record)
        return payload, self.mapper.as_stored(payload)

    def merge_duplicates(self, rows: list[Row]) -> list[Row]:
        """Rows naming the same entity are merged into the last one (its values win)."""
        by_key: dict[tuple, Row] = {}
        order: list[tuple] = []
        for row in rows:
            ident = ("id", row.mautic_id) if row.mautic_id is not None else ("match", self.match_key(row))
            earlier = by_key.get(ident)
            if earlier is not None:
                merged = {**earlier.payload, **row.payload}
                row.payload = merged
                self.report(
                    earlier, SKIPPED, "merged into a later record with the same key in this batch (last wins)"
                )
                self.tally_duplicate_merged()
                order.remove(ident)
            by_key[ident] = row
            order.append(ident)
        return [by_key[k] for k in order]

    def needs_lookup(self) -> bool:
        """True when records without id must be matched by a look-up: batch/new would not find them, the
        current values are compared, or the sync mode must know whether the record exists."""
        return (self.dry_run or self.compare or self.mode in (UPDATE, INSERT)
                or not set(self.match_on) <= self.server_dedupes_on)

    @property
    def create_if_missing(self) -> bool:
        """False under sync_mode update (``create_if_missing: false`` is its deprecated alias)."""
        return self.mode != UPDATE

    def read_current(self, rows: list[Row]) -> list[Row]:
        """Read the records named by id (one list call per 200 ids): each found row gets ``current``;
        returns the rows whose id is not in Mautic (nothing is sent for them as an edit)."""
        ids = sorted({r.mautic_id for r in rows if r.mautic_id is not None})
        found = self.records_by_id(ids, per_call=self.batch_size)  # up to max_concurrency calls at once
        gone = []
        for row in rows:
            row.current = found.get(row.mautic_id) if row.mautic_id is not None else None
            if row.current is None:
                row.add_note(f"id {row.mautic_id} not found in Mautic")
                gone.append(row)
        return gone

    def upsert(self, rows: list[Row]) -> None:
        edits: list[Row] = [r for r in rows if r.mautic_id is not None]
        unmatched: list[Row] = [r for r in rows if r.mautic_id is None]
        creates: list[Row] = []
        gone: list[Row] = []
        unmatched = self.refuse_altered_matches(unmatched)
        if edits and (self.compare or self.dry_run or self.mode == INSERT):
            gone = self.read_current(edits)
            edits = [r for r in edits if r.current is not None]
        if unmatched and self.needs_lookup():
            matched, creates = self.resolve_matches(unmatched)
            edits.extend(matched)
        else:
            creates = unmatched
        if self.mode == INSERT:
            self.skip_existing(edits)
            edits = []
        if not self.create_if_missing:
            for row in creates:
                self.report(row, SKIPPED, "no matching record in Mautic and sync_mode is update")
            creates = []
        if self.dry_run:
            self.dry_run_report(edits, creates, gone)
            return
        missing = [*gone, *self.send_edits(edits)]
        if self.create_if_missing and missing and (self.compare
                                                   or not set(self.match_on) <= self.server_dedupes_on):
            # an unknown id with match values (a company whose id is stale): match by name before creating,
            # since batch/new would not find the existing record by itself
            matchable = [r for r in missing if self.match_key(r) is not None]
            rematched, _ = self.resolve_matches(matchable) if matchable else ([], [])
            if self.mode == INSERT:
                self.skip_existing(rematched)
                missing = [r for r in missing if r not in rematched]
                rematched = []
            for row in self.send_edits(rematched):
                self.fail(row, f"{self.object_} id {row.mautic_id} vanished while loading")
            missing = [r for r in missing if r not in rematched]
        if self.create_if_missing:
            creates.extend(missing)
        else:
            for row in missing:
                self.report(row, SKIPPED, f"{self.object_} id {row.mautic_id} not found in Mautic and "
                                          "sync_mode is update (nothing is created)")
        self.send_creates(creates)

    def refuse_altered_matches(self, rows: list[Row]) -> list[Row]:
        """Rows matched by an email Mautic would store altered (``ünï@x`` as ``n@x``) whose stored form
        another contact holds, or another record of this batch names, are refused: Mautic would match and
        overwrite that contact. Returns the others. One look-up per batch, only if such an email is there."""
        altered: dict[str, list[tuple[Row, str]]] = {}
        for row in rows:
            for alias in self.match_on:
                spec = self.mapper.fields.get(alias)
                raw, stored = row.record.get(alias), row.payload.get(alias)
                if (spec is not None and spec.type == "email" and isinstance(raw, str)
                        and isinstance(stored, str) and stored and norm(stored) != norm(raw)):
                    altered.setdefault(alias, []).append((row, stored))
        refused: set[int] = set()
        for alias, pairs in altered.items():
            holders = self.connector.lookup(self.context_name, alias, [stored for _, stored in pairs])
            suspects = {id(r) for r, _ in pairs}
            named = {norm(r.record.get(alias)): r for r in rows if id(r) not in suspects}
            for row, stored in pairs:
                found = holders.get(norm(stored))
                if found:
                    holder = f"{self.object_} {found[0].get('id')} already holds it"
                elif norm(stored) in named:
                    other = named[norm(stored)].record.get(alias)
                    holder = f"another record of this batch ({other!r}) names it"
                else:
                    named[norm(stored)] = row
                    continue
                self.fail(row, f"property '{alias}': Mautic would store {row.record.get(alias)!r} as "
                               f"{stored!r} and {holder}; refused so that another {self.object_} is not "
                               "overwritten (correct the value upstream)")
                refused.add(id(row))
        return [r for r in rows if id(r) not in refused] if refused else rows

    def skip_existing(self, rows: list[Row]) -> None:
        """sync_mode insert: a record found in Mautic is never changed."""
        for row in rows:
            self.report(row, SKIPPED, f"{self.object_} {row.mautic_id} exists in Mautic and sync_mode is "
                                      "insert (existing records are never changed)")

    def resolve_matches(self, rows: list[Row]) -> tuple[list[Row], list[Row]]:
        """Look ``rows`` up by match_on (first column with ``in``, the rest compared here)."""
        first = self.match_on[0]
        found = self.connector.lookup(self.context_name, first, [r.record.get(first) for r in rows],
                                      minimal=not (self.compare and self.full_read))
        matched, unmatched = [], []
        for row in rows:
            candidates = [
                rec
                for rec in found.get(norm(row.record.get(first)), [])
                if all(norm(field_value(rec, f) or "") == norm(row.record.get(f)) for f in self.match_on)
            ]
            if candidates:
                row.mautic_id = as_int(candidates[0].get("id"))
                row.current = candidates[0]
                if len(candidates) > 1:
                    ids = ", ".join(str(c.get("id")) for c in candidates)
                    row.add_note(
                        f"{len(candidates)} {self.context_name} match ({ids}); the oldest was updated"
                    )
                matched.append(row)
            else:
                unmatched.append(row)
        return matched, unmatched

    def unwritable(self, row: Row, *, create: bool) -> dict[str, str]:
        """The values of ``row`` a create (or an edit) of this object does not store on this Mautic version:
        never sent, reported on the result line (:mod:`target_mautic.unwritable`)."""
        return unwritable_values(row.payload, {*self.mapper.fields, "points"},
                                 version_capabilities(self.connector.version), object_=self.object_,
                                 create=create)

    def note_unwritable(self, row: Row, found: dict[str, str], *, create: bool = False,
                        matched: bool = False) -> None:
        if found:
            row.add_note(unwritable_note(found, version_capabilities(self.connector.version), create=create,
                                         matched=matched))

    def report_refused(self, refused: list[tuple[Row, str]]) -> None:
        """Rows Mautic refused with 422 because a unique field (contact email, company name) would be held by
        another record. Mautic never merges them (real 5.1.0: "email: This field must be unique."); the
        holders are looked up (one call per unique field, only when such a refusal happened) to name them."""
        if not refused:
            return
        unique = self.mapper.unique_fields()
        holders: dict[str, dict[str, list[int]]] = {}
        for alias in unique:
            values = [row.payload.get(alias) for row, error in refused
                      if f"{alias}:" in error and row.payload.get(alias) not in (None, "")]
            if not values:
                continue
            try:
                found = self.connector.lookup(self.context_name, alias, values)
            except MauticError as exc:
                reraise_fatal(exc)
                found = {}
            holders[alias] = {k: [as_int(r.get("id")) or 0 for r in v] for k, v in found.items()}
        for row, error in refused:
            parts = []
            for alias in unique:
                if f"{alias}:" not in error:
                    continue
                value = row.payload.get(alias)
                if value in (None, ""):  # the record did not set it: its current value is held twice
                    parts.append(f"its current {alias} is held by another {self.object_} too")
                    continue
                others = [i for i in holders.get(alias, {}).get(norm(value), []) if i != row.mautic_id]
                held = (f"{self.object_} {', '.join(str(i) for i in others)}" if others
                        else f"another {self.object_}")
                parts.append(f"{alias} {value!r} is already held by {held}")
            what = "; ".join(parts) or error
            self.fail(row, f"refused by Mautic (HTTP 422 {error!r}): {what}; Mautic does not give one "
                           f"{self.object_} another's unique value (and does not merge them)")

    def records_by_id(self, ids: Iterable[int], per_call: int = API_BATCH_LIMIT) -> dict[int, dict[str, Any]]:
        """The current records for ``ids`` (one list call per ``per_call`` ids)."""
        minimal = not (self.compare and self.full_read)
        return self.connector.records_by_id(self.context_name, ids, minimal=minimal, per_call=per_call)

    def existing_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` exist in Mautic."""
        return set(self.records_by_id(ids))

    def dry_run_report(self, edits: list[Row], creates: list[Row], gone: list[Row]) -> None:
        """The plan: each row's outcome as a run would have it, with the field changes it would write."""
        for row in edits:
            dropped = self.unwritable(row, create=False)
            self.note_unwritable(row, dropped)
            payload = {k: v for k, v in row.payload.items() if k not in dropped}
            send, row.changes = changed_values(payload, row.current or {}, self.mapper.fields)
            if not send:
                row.changes = None
                self.report(row, UNCHANGED, "dry run: Mautic holds these values already")
            else:
                self.report(row, WOULD_UPDATE, "dry run")
        for row in gone:
            if self.mode == UPDATE:
                self.report(row, SKIPPED, f"dry run: {self.object_} id {row.mautic_id} not found in Mautic "
                                          "and sync_mode is update")
            else:
                self.plan_create(row, f"dry run: id {row.mautic_id} not found, would be created")
        for row in creates:
            self.plan_create(row, "dry run")

    def plan_create(self, row: Row, message: str) -> None:
        found = self.unwritable(row, create=True)
        self.note_unwritable(row, found, create=True)
        row.changes = {k: [None, v] for k, v in row.payload.items() if k not in found and k != BLANK_FLAG}
        self.report(row, WOULD_CREATE, message)

    def send_edits(self, edits: list[Row]) -> list[Row]:
        """PATCH batch/edit; returns the rows whose id was not found."""
        missing: list[Row] = []
        refused: list[tuple[Row, str]] = []
        todo: list[tuple[dict[str, Any], Row]] = []
        dropped: dict[int, dict[str, str]] = {}
        # several records of this drain naming one contact (by id and by email, say): each is sent whole, in
        # input order (lanes keep it), since the values read before the drain are not what the earlier of
        # them leaves behind (a kill -9 trial found a later record reported unchanged, then overwritten)
        shared = {i for i, n in Counter(r.mautic_id for r in edits).items() if n > 1}
        for row in edits:
            # never sent: an edit would not store them (the row keeps them: if its id is gone, a create does)
            dropped[id(row)] = self.unwritable(row, create=False)
            payload = {k: v for k, v in row.payload.items() if k not in dropped[id(row)]}
            if not payload:
                self.note_unwritable(row, dropped[id(row)])
                self.report(row, UNCHANGED, "no writable values")
                continue
            if row.current is not None and row.mautic_id not in shared:  # compare: only what differs is sent
                payload, row.changes = changed_values(payload, row.current, self.mapper.fields)
                if not payload:
                    row.changes = None
                    self.note_unwritable(row, dropped[id(row)])
                    self.report(row, UNCHANGED, "Mautic holds these values already (nothing sent)")
                    continue
            todo.append(({"id": row.mautic_id, **payload}, row))
        for row, result, error in self.connector.batches(
            todo, lambda items: self.connector.batch_edit(self.context_name, items), keys=self.lane_keys
        ):
            if error is not None:
                self.fail(row, error)
            elif result is None:
                self.fail(row, "Mautic returned no status for this item")
            elif result.status in (200, 201):
                self.note_unwritable(row, dropped[id(row)])
                self.report(row, UPDATED, mautic_id=as_int((result.item or {}).get("id")) or row.mautic_id)
            elif result.status == 404:
                row.add_note(f"id {row.mautic_id} not found in Mautic")
                missing.append(row)
            elif result.status == 422 and "must be unique" in (result.error or ""):
                refused.append((row, result.error or ""))
            else:
                self.fail(row, f"HTTP {result.status}: {result.error or 'rejected'}")
        self.report_refused(refused)
        return missing

    def batch_new(self, items: list[dict[str, Any]]) -> list[BatchItemResult]:
        return self.connector.batch_new(self.context_name, items)

    def recover_creates(self, chunk: list[tuple[dict[str, Any], Row]]) -> list[BatchItemResult]:
        """The answer to a create batch was lost and Mautic may have written it: the rows found by match_on
        now were created by it; only the others are sent again (so nothing exists twice)."""
        rows = [row for _, row in chunk]
        matched, _ = self.resolve_matches([r for r in rows if self.match_key(r) is not None])
        found = {id(r) for r in matched}
        results: dict[int, BatchItemResult] = {}
        resend = [(n, payload) for n, (payload, row) in enumerate(chunk) if id(row) not in found]
        for n, row in enumerate(rows):
            if id(row) in found:
                results[n] = BatchItemResult(index=n, status=201, item={"id": row.mautic_id})
        if resend and all(self.match_key(chunk[n][1]) is not None for n, _ in resend):
            for sent, result in zip(resend, self.batch_new([p for _, p in resend]), strict=False):
                results[sent[0]] = BatchItemResult(sent[0], result.status, result.item, result.error)
        for n, _ in resend:
            results.setdefault(n, BatchItemResult(n, 0, None, "answer lost and the row cannot be looked up"))
        return [results[n] for n in range(len(chunk))]

    def written_creates(self, chunk: list[tuple[dict[str, Any], Row]]) -> dict[int, BatchItemResult]:
        """After batch/new failed as a whole (500), which of ``chunk`` Mautic saved before failing: one
        look-up by the sent match values (``where ... in``). A record found was created by the batch unless
        it had been modified (batch/new updates a contact holding the email): Mautic 5 leaves
        ``dateModified`` empty on create."""
        first = self.match_on[0]
        sent = {
            n: [payload.get(f, row.record.get(f)) for f in self.match_on]
            for n, (payload, row) in enumerate(chunk)
        }
        sent = {n: values for n, values in sent.items() if all(v not in (None, "") for v in values)}
        if not sent:
            return {}
        found = self.connector.lookup(self.context_name, first, [values[0] for values in sent.values()])
        out: dict[int, BatchItemResult] = {}
        for n, values in sent.items():
            for rec in found.get(norm(values[0]), []):
                pairs = zip(self.match_on, values, strict=True)
                if all(norm(field_value(rec, f) or "") == norm(v) for f, v in pairs):
                    if not self.holds(rec, chunk[n][0]):
                        break  # an existing record the batch did not reach (or failed on): sent again
                    # created by the batch (added since this drain began sending); or an existing record
                    # that holds the values, whether the batch reached it or not (a read cannot tell):
                    # HOLDS_ALREADY, reported unchanged
                    added = _timestamp(rec.get("dateAdded"))
                    status = 201 if added is None or added >= self._creates_since else HOLDS_ALREADY
                    out[n] = BatchItemResult(n, status, {"id": rec.get("id")})
                    break
        return out

    def holds(self, record: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
        """True when ``record`` holds the text values of ``payload`` (as Mautic stores them, compared as
        MySQL does): what tells a record the failed batch saved from one it did not reach."""
        for key, value in payload.items():
            spec = self.mapper.fields.get(key)
            if spec is None or spec.type not in COMPARED_TYPES or not isinstance(value, str):
                continue
            if norm(field_value(record, key) or "") != norm(value):
                return False
        return True

    def send_creates(self, creates: list[Row]) -> None:
        """POST batch/new. Values a create stores but an edit does not (contact fractions before 7.2) are
        sent: whether batch/new creates (201) or matches an existing contact by email (200, an edit) is only
        known from its answer, and the result line then says what was not stored."""
        # Mautic's dateAdded has whole seconds, and its clock may trail ours a little
        self._creates_since = datetime.now(timezone.utc) - timedelta(seconds=CLOCK_MARGIN_SECONDS)
        todo: list[tuple[dict[str, Any], Row]] = []
        on_create: dict[int, dict[str, str]] = {}
        refused: list[tuple[Row, str]] = []
        for row in creates:
            on_create[id(row)] = self.unwritable(row, create=True)
            todo.append(({k: v for k, v in row.payload.items() if k not in on_create[id(row)]}, row))
        for row, result, error in self.connector.batches(
            todo, self.batch_new, recover=self.recover_creates, keys=self.lane_keys,
            written=self.written_creates,
        ):
            if error is not None:
                self.fail(row, error)
            elif result is not None and result.status == 0:
                self.fail(row, result.error or "Mautic refused this item (status 0, no message)")
            elif result is None:
                self.fail(row, "Mautic returned no status for this item")
            elif result.status == 201:
                self.note_unwritable(row, on_create[id(row)], create=True)
                self.report(row, CREATED, mautic_id=as_int((result.item or {}).get("id")))
            elif result.status == HOLDS_ALREADY:
                self.report(row, UNCHANGED, "Mautic holds these values (read back after its batch failed)",
                            mautic_id=as_int((result.item or {}).get("id")))
            elif result.created_by_lost_attempt:
                self.note_unwritable(row, on_create[id(row)], create=True)
                self.report(row, CREATED, "created by an attempt whose answer was lost",
                            mautic_id=as_int((result.item or {}).get("id")))
            elif result.status == 200:
                self.note_unwritable(row, self.unwritable(row, create=False), matched=True)
                self.report(
                    row,
                    UPDATED,
                    "matched an existing record by its unique fields",
                    mautic_id=as_int((result.item or {}).get("id")),
                )
            elif result.status == 422 and "must be unique" in (result.error or ""):
                refused.append((row, result.error or ""))
            else:
                self.fail(row, f"HTTP {result.status}: {result.error or 'rejected'}")
        self.report_refused(refused)

    def delete(self, rows: list[Row]) -> None:
        by_id = [r for r in rows if as_int(r.record.get("id")) is not None]
        by_match = [r for r in rows if as_int(r.record.get("id")) is None]
        for row in by_id:
            row.mautic_id = as_int(row.record.get("id"))
        if by_match:
            matched, unmatched = self.resolve_matches([r for r in by_match if self.match_key(r) is not None])
            for row in by_match:
                if self.match_key(row) is None:
                    self.fail(row, "deletion marker without 'id' or match_on values")
            for row in unmatched:
                self.report(row, UNCHANGED, "not in Mautic; nothing to delete")
            by_id.extend(matched)
        if self.dry_run:
            for row in by_id:
                self.report(row, WOULD_DELETE, "dry run")
            return
        ids = sorted({r.mautic_id for r in by_id if r.mautic_id is not None})
        deleted: set[int] = set()
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            try:
                answer = self.connector.batch_delete(self.context_name, chunk)
            except MauticError as exc:
                reraise_fatal(exc)
                for row in by_id:
                    if row.mautic_id in chunk:
                        self.fail(row, str(exc))
                continue
            answered = {as_int(item.get("id")) for item in answer if isinstance(item, Mapping)}
            # Batch delete lists deleted entities with their ids; a missing id is silently absent.
            deleted.update(i for i in chunk if i in answered)
            for row in by_id:
                if row.mautic_id in chunk:
                    if row.mautic_id in answered:
                        self.report(row, DELETED)
                    else:
                        self.report(row, UNCHANGED, f"id {row.mautic_id} not in Mautic; nothing to delete")


class ContactsSink(MirroredRecords, UpsertSink):
    """contacts: batch/new de-duplicates on email itself (200 = updated), so no look-up for match_on email."""

    canonical = "contacts"
    object_ = "contact"
    context_name = "contacts"
    default_match_on = ("email",)

    def setup(self) -> None:
        super().setup()
        unique = set(self.mapper.unique_fields()) or {"email"}
        # batch/new matches on the unique identifiers present (OR), so those need no look-up
        self.server_dedupes_on = frozenset(unique)


class CompaniesSink(MirroredRecords, UpsertSink):
    """companies: batch/new never matches (it refuses an existing name with 422), so every record without
    id is looked up by match_on first."""

    canonical = "companies"
    object_ = "company"
    context_name = "companies"
    default_match_on = ("companyname",)
    server_dedupes_on = frozenset()
