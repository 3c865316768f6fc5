"""Sinks: batched upserts of contacts and companies, and the membership ("link") streams.

Why this shape: every write goes through the shared :class:`mautic_api.MauticClient` (auth, retries and error
parsing live there); the sinks only decide *what* to send. Contacts and companies share the upsert logic
(match, merge guard, batch with halving, per-item outcome); the six link streams differ only in how a record
names its target and which endpoint adds or removes the link, so they are one class driven by a table.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks import BatchSink

from mautic_api.client import BatchItemResult
from mautic_api.errors import BatchLimitError, ConfigurationError, MauticError, NotFoundError
from mautic_api.versions import capabilities as version_capabilities
from target_mautic.results import (
    CREATED,
    DELETED,
    FAILED,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    WOULD_CREATE,
    WOULD_DELETE,
    WOULD_UPDATE,
    RecordResult,
)
from target_mautic.unwritable import unwritable_note, unwritable_values
from target_mautic.values import InvalidValue, ValueMapper, format_datetime

if TYPE_CHECKING:
    from mautic_api.client import MauticClient
    from target_mautic.target import TargetMautic

INVALID = "__target_mautic_invalid__"  # marks a record that failed schema validation
LOOKUP_CHUNK = 100
API_MAX_PER_CALL = 200  # values per `where in` look-up: keeps the query string well under 8 KB
LOOKUP_MAX_CHARS = 3000
RECOVERY_ROUNDS = 4  # look-ups after lost answers to the same chunk before its rows are reported failed


class StreamSetupError(Exception):
    """A SCHEMA message the target cannot load (unknown property, missing key column); names the stream."""


def _needs_quotes(text: str) -> bool:
    return any(ch in text for ch in ',"\n\r') or text != text.strip()


def _in_safe(text: str) -> bool:
    """PHP's str_getcsv reads a backslash before a quote as an escape, so a quoted value holding a backslash
    can swallow the values after it: such values are looked up with ``eq`` instead of ``in``."""
    return not (_needs_quotes(text) and "\\" in text)


def csv_in(values: Iterable[Any]) -> str:
    """A value for ``where ... in``: Mautic runs ``str_getcsv`` on it, so quote values holding , or "."""
    out = []
    for value in values:
        text = str(value)
        if _needs_quotes(text):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ",".join(out)


def _chunks_for_lookup(values: Sequence[str], per_call: int = LOOKUP_CHUNK) -> Iterable[list[str]]:
    chunk: list[str] = []
    size = 0
    for value in values:
        if chunk and (len(chunk) >= per_call or size + len(value) > LOOKUP_MAX_CHARS):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += len(value) + 3
    if chunk:
        yield chunk


def field_value(record: Mapping[str, Any], alias: str) -> Any:
    """A field of a contact/company as the API returns it (top level, or under ``fields.all``)."""
    if alias in record and not isinstance(record.get(alias), Mapping):
        return record[alias]
    fields = record.get("fields")
    if isinstance(fields, Mapping):
        everything = fields.get("all")
        if isinstance(everything, Mapping) and alias in everything:
            return everything[alias]
        for group in fields.values():
            if isinstance(group, Mapping) and isinstance(group.get(alias), Mapping):
                return group[alias].get("value")
    return None


def _norm(value: Any) -> str:
    """Match values the way MySQL's case-insensitive collation compares them."""
    return str(value).strip().casefold()


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Decimal):
        return not value.is_finite()
    if isinstance(value, Mapping):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


def non_finite_property(record: Mapping[str, Any]) -> str | None:
    """The first property holding NaN or +-Infinity (JSON cannot carry them: requests would refuse the
    whole batch body), or None."""
    return next((str(name) for name, value in record.items() if _non_finite(value)), None)


def _reraise_fatal(exc: MauticError) -> None:
    """Credentials or instance configuration broke mid-run: stop (no STATE) instead of failing every row."""
    if isinstance(exc, ConfigurationError):
        raise exc


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass
class Row:
    """One input record on its way through a batch."""

    seq: int
    record: dict[str, Any]
    deleted: bool
    key: dict[str, Any]
    payload: dict[str, Any] = field(default_factory=dict)
    mautic_id: int | None = None
    note: str | None = None  # extra text for the result message

    def add_note(self, text: str) -> None:
        self.note = f"{self.note}; {text}" if self.note else text


class MauticSink(BatchSink):
    """Base: holds the shared client through the target, buffers rows, reports one result per row."""

    MAX_SIZE_DEFAULT = 1000
    canonical: str = ""

    def __init__(self, target: TargetMautic, stream_name: str, schema: dict, key_properties: Any) -> None:
        self.mautic_target = target
        super().__init__(target=target, stream_name=stream_name, schema=schema, key_properties=key_properties)
        self._seq = 0
        self._results: list[tuple[int, RecordResult]] = []

    # -- shared plumbing ---------------------------------------------------------------------------------
    @property
    def client(self) -> MauticClient:
        return self.mautic_target.client

    @property
    def settings(self) -> Mapping[str, Any]:
        return self.mautic_target.config

    @property
    def dry_run(self) -> bool:
        return bool(self.settings.get("dry_run"))

    @property
    def batch_size(self) -> int:
        return self.mautic_target.batch_size

    @property
    def max_size(self) -> int:  # rows buffered before a drain; API chunks are `batch_size`
        if self.batch_size_rows is not None:
            return self.batch_size_rows
        return max(self.MAX_SIZE_DEFAULT, self.batch_size)

    def _validate_and_parse(self, record: dict) -> dict:
        """A record that does not match its own schema is reported failed instead of ending the run."""
        if self._validator is not None:
            try:
                self._validator.validate(record)
            except InvalidRecord as exc:
                record[INVALID] = f"record does not match the stream's schema: {exc.error_message}"
                return record
        try:
            self._parse_timestamps_in_record(
                record=record, schema=self.schema, treatment=self.datetime_error_treatment
            )
        except (ValueError, TypeError, OverflowError) as exc:
            record[INVALID] = f"unparseable date or date-time: {exc}"
        bad = non_finite_property(record)
        if bad is not None and INVALID not in record:
            record[INVALID] = f"property '{bad}': NaN and Infinity are not values Mautic can store"
        return record

    def _singer_validate_message(self, record: dict) -> None:
        """A record without its key properties is reported failed, like a null email, not a fatal error."""
        missing = [k for k in self._key_properties if k not in record]
        if missing and INVALID not in record:
            names = ", ".join(f"'{k}'" for k in missing)
            record[INVALID] = f"record has no key property {names} (key_properties of its stream)"

    def _remove_sdc_metadata_from_schema(self) -> None:
        """Keep a declared ``_sdc_deleted_at`` in the schema (it is parsed and validated like any column)."""
        declared = self.schema.get("properties", {}).get("_sdc_deleted_at")
        super()._remove_sdc_metadata_from_schema()
        if declared is not None:
            self.schema["properties"]["_sdc_deleted_at"] = declared

    def _remove_sdc_metadata_from_record(self, record: dict) -> None:
        """Keep ``_sdc_deleted_at``: it is how a record asks for a removal."""
        deleted_at = record.get("_sdc_deleted_at")
        super()._remove_sdc_metadata_from_record(record)
        if deleted_at is not None:
            record["_sdc_deleted_at"] = deleted_at

    def process_record(self, record: dict, context: dict) -> None:
        self._seq += 1
        context.setdefault("records", []).append((self._seq, record))

    def report(
        self, row: Row, outcome: str, message: str | None = None, mautic_id: int | None = None
    ) -> None:
        if mautic_id is None:
            mautic_id = row.mautic_id
        text = message
        if row.note:
            text = f"{row.note}; {message}" if message else row.note
        result = RecordResult(
            stream=self.stream_name, key=row.key, outcome=outcome, mautic_id=mautic_id, message=text
        )
        self._results.append((row.seq, result))

    def flush_results(self) -> None:
        """Hand this drain's results to the ledger in input order."""
        results, self._results = self._results, []
        for _, result in sorted(results, key=lambda pair: pair[0]):
            self.mautic_target.ledger.add(result)
        self.mautic_target.ledger.flush()

    def fail(self, row: Row, message: str) -> None:
        self.report(row, FAILED, message)

    def unwritten_records(self) -> list[tuple[int, dict[str, Any]]]:
        """Records read but without a result yet: the batch being drained (minus its reported rows) and
        the pending one."""
        reported = {seq for seq, _ in self._results}
        draining = (getattr(self, "_context_draining", None) or {}).get("records", [])
        pending = (getattr(self, "_pending_batch", None) or {}).get("records", [])
        return [(seq, rec) for seq, rec in [*draining, *pending] if seq not in reported]

    def account_unwritten(self, message: str) -> int:
        """The run stops: results so far go to the ledger, every other record read is reported failed."""
        for seq, rec in self.unwritten_records():
            rec.pop(INVALID, None)
            try:
                key = self.key_of(rec)
            except Exception:  # a record too broken to name still gets its line
                key = {}
            self._results.append(
                (seq, RecordResult(stream=self.stream_name, key=key, outcome=FAILED, message=message))
            )
        count = len(self._results)
        self.flush_results()
        for context in (getattr(self, "_context_draining", None), getattr(self, "_pending_batch", None)):
            if context:
                context["records"] = []
        return count

    def key_of(self, record: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def rows(self, context: dict) -> list[Row]:
        """The batch's records as rows; records that failed schema validation are reported here."""
        out = []
        for seq, rec in context.get("records", []):
            invalid = rec.pop(INVALID, None)
            row = Row(
                seq=seq, record=rec, deleted=rec.get("_sdc_deleted_at") is not None, key=self.key_of(rec)
            )
            if invalid:
                self.fail(row, invalid)
            else:
                out.append(row)
        return out

    def check_unknown(self, unknown: list[str]) -> None:
        """Refuse properties Mautic does not know, at SCHEMA time, unless ``ignore_unknown_fields``."""
        if not unknown:
            return
        if self.settings.get("ignore_unknown_fields"):
            for name in unknown:
                self.logger.warning(
                    "Stream '%s': property '%s' is not a field of this Mautic instance; it is dropped "
                    "(ignore_unknown_fields is true).",
                    self.stream_name,
                    name,
                )
            return
        names = ", ".join(f"'{n}'" for n in unknown)
        raise StreamSetupError(
            f"Stream '{self.stream_name}': propert{'y' if len(unknown) == 1 else 'ies'} {names} "
            f"{'is' if len(unknown) == 1 else 'are'} not a field alias of this Mautic instance "
            f"({self.canonical}). Create the field in Mautic, rename the column (stream_maps), or set "
            "ignore_unknown_fields: true."
        )

    def chunked(
        self,
        items: list[tuple[dict[str, Any], Row]],
        call: Callable[[list[dict[str, Any]]], list[BatchItemResult]],
        recover: Callable[[list[tuple[dict[str, Any], Row]]], list[BatchItemResult]] | None = None,
    ) -> Iterable[tuple[Row, BatchItemResult | None, str | None]]:
        """Send ``items`` in chunks of batch_size; halve on the server's batch limit; map results by index.

        Yields (row, item result, None) or (row, None, error message) when the whole chunk failed. When the
        answer to a write that is not resent was lost (``RetryableError.maybe_applied``), ``recover`` finds
        out what Mautic wrote and returns the chunk's results instead.
        """
        i = 0
        while i < len(items):
            size = self.mautic_target.batch_size
            chunk = items[i : i + size]
            try:
                results = call([payload for payload, _ in chunk])
            except BatchLimitError as exc:
                if size <= 1:
                    for _, row in chunk:
                        yield row, None, str(exc)
                    i += len(chunk)
                    continue
                self.mautic_target.lower_batch_size(max(1, size // 2), str(exc))
                continue
            except MauticError as exc:
                _reraise_fatal(exc)
                recovered = self.recover_chunk(chunk, recover, exc) if recover is not None else exc
                if isinstance(recovered, MauticError):
                    for _, row in chunk:
                        yield row, None, str(recovered)
                    i += len(chunk)
                    continue
                results = recovered
            by_index = {r.index: r for r in results}
            for n, (_, row) in enumerate(chunk):
                yield row, by_index.get(n), None
            i += len(chunk)

    def recover_chunk(
        self,
        chunk: list[tuple[dict[str, Any], Row]],
        recover: Callable[[list[tuple[dict[str, Any], Row]]], list[BatchItemResult]],
        exc: MauticError,
    ) -> list[BatchItemResult] | MauticError:
        """After a lost answer, ``recover`` checks what Mautic wrote and sends the rest; if that answer is
        lost too, check again (a few times). Returns the chunk's results, or the error that ended it."""
        for _ in range(RECOVERY_ROUNDS):
            if not getattr(exc, "maybe_applied", False):
                return exc
            self.logger.warning("%s; checking what Mautic wrote before sending the rest", exc)
            try:
                return recover(chunk)
            except MauticError as again:
                _reraise_fatal(again)
                exc = again
        return exc

    def lookup(self, context: str, column: str, values: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
        """Records of ``context`` whose ``column`` is one of ``values``, by normalised value (few calls)."""
        wanted = sorted({str(v) for v in values if v is not None and str(v) != ""})
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for chunk in _chunks_for_lookup([v for v in wanted if _in_safe(v)]):
            want = {_norm(v) for v in chunk}
            start = 0
            limit = max(len(chunk) * 2, 50)
            while True:
                page = self.client.list_page(
                    context,
                    where=[{"col": column, "expr": "in", "val": csv_in(chunk)}],
                    start=start,
                    limit=limit,
                    order_by="id",
                    order_dir="ASC",
                    minimal=True,
                )
                for rec in page.records:
                    value = field_value(rec, column)
                    if value is not None and _norm(value) in want:
                        found[_norm(value)].append(rec)
                start += len(page.records)
                if not page.records or start >= page.total:
                    break
        # Mautic reads `in` with str_getcsv (after decoding the HTML entities its input filter adds), so the
        # quoted values above match there. A server that splits `in` on commas would miss them and we would
        # create duplicates; so such values that were not found are confirmed one by one with `eq` (one extra
        # call per genuinely new value of that kind).
        for value in wanted:
            unsure = not _in_safe(value) or _needs_quotes(value) or any(ch in value for ch in "'<>&")
            if _norm(value) in found or not unsure:
                continue
            page = self.client.list_page(
                context,
                where=[{"col": column, "expr": "eq", "val": value}],
                limit=50,
                order_by="id",
                minimal=True,
            )
            for rec in page.records:
                if _norm(field_value(rec, column) or "") == _norm(value):
                    found[_norm(value)].append(rec)
        for recs in found.values():
            recs.sort(key=lambda r: _as_int(r.get("id")) or 0)
        return found


# ====================================================================================================
# contacts and companies
# ====================================================================================================
class UpsertSink(MauticSink):
    """Contacts/companies: patch by id, match on ``match_on``, create when missing, never PUT."""

    object_: str = "contact"
    context_name: str = "contacts"
    default_match_on: tuple[str, ...] = ("email",)
    server_dedupes_on: frozenset[str] = frozenset()  # unique fields batch/new matches on by itself

    def setup(self) -> None:
        super().setup()
        self.mapper = ValueMapper(
            object_=self.object_,
            fields=self.mautic_target.field_specs(self.object_),
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

    @property
    def match_on(self) -> list[str]:
        """``match_on``: a list applies to contacts; an object is keyed by input stream or target name."""
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

    def match_key(self, row: Row) -> tuple | None:
        values = [row.record.get(f) for f in self.match_on]
        if any(v is None or str(v).strip() == "" for v in values):
            return None
        return tuple(_norm(v) for v in values)

    # -- main ----------------------------------------------------------------------------------------
    def process_batch(self, context: dict) -> None:
        rows = self.rows(context)
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
            try:
                row.payload = self.mapper.payload(row.record)
            except InvalidValue as exc:
                self.fail(row, str(exc))
                continue
            caps = version_capabilities(self.client.version)
            unwritable = unwritable_values(row.payload, {*self.mapper.fields, "points"}, caps)
            if unwritable:
                for key in unwritable:  # never sent: Mautic would drop them silently (PUT is never used)
                    del row.payload[key]
                row.add_note(unwritable_note(unwritable, caps))
            row.mautic_id = _as_int(row.record.get("id"))
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
        self.flush_results()

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
        """True when records without id must be matched by a look-up (batch/new would not find them)."""
        return self.dry_run or not set(self.match_on) <= self.server_dedupes_on or not self.create_if_missing

    @property
    def create_if_missing(self) -> bool:
        value = self.settings.get("create_if_missing")
        return True if value is None else bool(value)

    def upsert(self, rows: list[Row]) -> None:
        edits: list[Row] = [r for r in rows if r.mautic_id is not None]
        unmatched: list[Row] = [r for r in rows if r.mautic_id is None]
        creates: list[Row] = []
        if unmatched and self.needs_lookup():
            matched, creates = self.resolve_matches(unmatched)
            edits.extend(matched)
        else:
            creates = unmatched
        if not self.create_if_missing:
            keep = []
            for row in creates:
                self.report(row, SKIPPED, "no matching record in Mautic and create_if_missing is false")
            creates = keep
        edits, absent = self.merge_guard(edits)
        if self.dry_run:
            self.dry_run_report(edits + absent, creates)
            return
        missing = absent + self.send_edits(edits)
        if self.create_if_missing and missing and not set(self.match_on) <= self.server_dedupes_on:
            # an unknown id with match values (a company whose id is stale): match by name before creating,
            # since batch/new would not find the existing record by itself
            matchable = [r for r in missing if self.match_key(r) is not None]
            rematched, _ = self.resolve_matches(matchable) if matchable else ([], [])
            for row in self.send_edits(rematched):
                self.fail(row, f"{self.object_} id {row.mautic_id} vanished while loading")
            missing = [r for r in missing if r not in rematched]
        if self.create_if_missing:
            creates.extend(missing)
        else:
            for row in missing:
                self.report(
                    row, FAILED, f"{self.object_} id {row.mautic_id} not found and create_if_missing is false"
                )
        self.send_creates(creates)

    def resolve_matches(self, rows: list[Row]) -> tuple[list[Row], list[Row]]:
        """Look ``rows`` up by match_on (first column with ``in``, the rest compared here)."""
        first = self.match_on[0]
        found = self.lookup(self.context_name, first, [r.record.get(first) for r in rows])
        matched, unmatched = [], []
        for row in rows:
            candidates = [
                rec
                for rec in found.get(_norm(row.record.get(first)), [])
                if all(_norm(field_value(rec, f) or "") == _norm(row.record.get(f)) for f in self.match_on)
            ]
            if candidates:
                row.mautic_id = _as_int(candidates[0].get("id"))
                if len(candidates) > 1:
                    ids = ", ".join(str(c.get("id")) for c in candidates)
                    row.add_note(
                        f"{len(candidates)} {self.context_name} match ({ids}); the oldest was updated"
                    )
                matched.append(row)
            else:
                unmatched.append(row)
        return matched, unmatched

    def merge_guard(self, edits: list[Row]) -> tuple[list[Row], list[Row]]:
        """Refuse PATCHes that would merge records; returns (edits to send, rows whose id does not exist)."""
        return edits, []

    def records_by_id(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The current records for ``ids`` (ids are short: up to 200 per look-up)."""
        out: dict[int, dict[str, Any]] = {}
        for chunk in _chunks_for_lookup([str(i) for i in sorted(set(ids))], per_call=API_MAX_PER_CALL):
            page = self.client.list_page(
                self.context_name,
                where=[{"col": "id", "expr": "in", "val": ",".join(chunk)}],
                limit=len(chunk) + 1,
                minimal=True,
            )
            for rec in page.records:
                rid = _as_int(rec.get("id"))
                if rid is not None:
                    out[rid] = rec
        return out

    def existing_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` exist in Mautic."""
        return set(self.records_by_id(ids))

    def dry_run_report(self, edits: list[Row], creates: list[Row]) -> None:
        existing = self.existing_ids(r.mautic_id for r in edits if r.mautic_id is not None)
        for row in edits:
            if row.mautic_id in existing:
                self.report(row, WOULD_UPDATE, "dry run")
            elif self.create_if_missing:
                self.report(row, WOULD_CREATE, f"dry run: id {row.mautic_id} not found, would be created")
            else:
                self.report(
                    row, FAILED, f"{self.object_} id {row.mautic_id} not found and create_if_missing is false"
                )
        for row in creates:
            self.report(row, WOULD_CREATE, "dry run")

    def send_edits(self, edits: list[Row]) -> list[Row]:
        """PATCH batch/edit; returns the rows whose id was not found."""
        missing: list[Row] = []
        todo: list[tuple[dict[str, Any], Row]] = []
        for row in edits:
            if not row.payload:
                self.report(row, UNCHANGED, "no writable values")
                continue
            todo.append(({"id": row.mautic_id, **row.payload}, row))
        for row, result, error in self.chunked(
            todo, lambda items: self.client.batch_edit(self.context_name, items)
        ):
            if error is not None:
                self.fail(row, error)
            elif result is None:
                self.fail(row, "Mautic returned no status for this item")
            elif result.status in (200, 201):
                self.report(row, UPDATED, mautic_id=_as_int((result.item or {}).get("id")) or row.mautic_id)
            elif result.status == 404:
                row.add_note(f"id {row.mautic_id} not found in Mautic")
                missing.append(row)
            else:
                self.fail(row, f"HTTP {result.status}: {result.error or 'rejected'}")
        return missing

    def batch_new(self, items: list[dict[str, Any]]) -> list[BatchItemResult]:
        return self.client.batch_new(self.context_name, items)

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

    def send_creates(self, creates: list[Row]) -> None:
        todo = [(dict(row.payload), row) for row in creates]
        for row, result, error in self.chunked(todo, self.batch_new, recover=self.recover_creates):
            if error is not None or (result is not None and result.status == 0):
                self.fail(row, error or result.error)
            elif result is None:
                self.fail(row, "Mautic returned no status for this item")
            elif result.status == 201:
                self.report(row, CREATED, mautic_id=_as_int((result.item or {}).get("id")))
            elif result.created_by_lost_attempt:
                self.report(row, CREATED, "created by an attempt whose answer was lost",
                            mautic_id=_as_int((result.item or {}).get("id")))
            elif result.status == 200:
                self.report(
                    row,
                    UPDATED,
                    "matched an existing record by its unique fields",
                    mautic_id=_as_int((result.item or {}).get("id")),
                )
            else:
                self.fail(row, f"HTTP {result.status}: {result.error or 'rejected'}")

    def delete(self, rows: list[Row]) -> None:
        by_id = [r for r in rows if _as_int(r.record.get("id")) is not None]
        by_match = [r for r in rows if _as_int(r.record.get("id")) is None]
        for row in by_id:
            row.mautic_id = _as_int(row.record.get("id"))
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
                answer = self.client.batch_delete(self.context_name, chunk)
            except MauticError as exc:
                _reraise_fatal(exc)
                for row in by_id:
                    if row.mautic_id in chunk:
                        self.fail(row, str(exc))
                continue
            answered = {_as_int(item.get("id")) for item in answer if isinstance(item, Mapping)}
            # Batch delete lists deleted entities with their ids; a missing id is silently absent.
            deleted.update(i for i in chunk if i in answered)
            for row in by_id:
                if row.mautic_id in chunk:
                    if row.mautic_id in answered:
                        self.report(row, DELETED)
                    else:
                        self.report(row, UNCHANGED, f"id {row.mautic_id} not in Mautic; nothing to delete")


class ContactsSink(UpsertSink):
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

    def merge_guard(self, edits: list[Row]) -> tuple[list[Row], list[Row]]:
        """A PATCH setting a unique field (email) to another contact's value merges and deletes that one.

        The current values are read by id first (one call per 200 rows); only values that would change are
        then looked up among the other contacts, so a steady-state load pays one extra call per 200 rows.
        """
        unique = [f for f in self.mapper.unique_fields() if any(r.payload.get(f) for r in edits)]
        if not unique or self.settings.get("allow_merge"):
            return edits, []
        carrying = [r for r in edits if any(r.payload.get(f) for f in unique)]
        current = self.records_by_id(r.mautic_id for r in carrying if r.mautic_id is not None)
        absent: list[Row] = []
        changing: list[Row] = []
        for row in carrying:
            record = current.get(row.mautic_id or 0)
            if record is None:
                # an id that is gone cannot be merged into: it takes the create path (batch/new then
                # matches the holder of the email, which is what the record means)
                row.add_note(f"id {row.mautic_id} not found in Mautic")
                absent.append(row)
            elif any(
                row.payload.get(f) and _norm(row.payload[f]) != _norm(field_value(record, f) or "")
                for f in unique
            ):
                changing.append(row)
        holders: dict[str, dict[str, list[int]]] = {}
        for alias in unique:
            values = [r.payload.get(alias) for r in changing if r.payload.get(alias)]
            found = self.lookup(self.context_name, alias, values) if values else {}
            holders[alias] = {k: [_as_int(rec.get("id")) or 0 for rec in v] for k, v in found.items()}
        refused: set[int] = set()
        for row in changing:
            for alias in unique:
                value = row.payload.get(alias)
                others = (
                    [i for i in holders[alias].get(_norm(value), []) if i != row.mautic_id] if value else []
                )
                if others:
                    self.fail(
                        row,
                        f"refused: {alias} {value!r} belongs to contact {others[0]}; this PATCH would "
                        f"merge contact {others[0]} into {row.mautic_id} and delete it "
                        "(set allow_merge: true to allow)",
                    )
                    refused.add(id(row))
                    break
        skip = refused | {id(r) for r in absent}
        return [r for r in edits if id(r) not in skip], absent


class CompaniesSink(UpsertSink):
    """companies: batch/new never de-duplicates, so every record without id is looked up by match_on first."""

    canonical = "companies"
    object_ = "company"
    context_name = "companies"
    default_match_on = ("companyname",)
    server_dedupes_on = frozenset()


# ====================================================================================================
# link streams
# ====================================================================================================
@dataclass(frozen=True)
class LinkSpec:
    """How one link stream names its target and writes the link."""

    target_id: str | None  # column holding the target's id (segment_id, campaign_id, company_id)
    target_alt: str | None  # alternative column (segment_alias, companyname)
    columns: tuple[str, ...]  # further columns the record may carry
    required_any: tuple[str, ...] = ()  # at least one of these columns must be in the schema


LINKS: dict[str, LinkSpec] = {
    "segment_memberships": LinkSpec("segment_id", "segment_alias", ()),
    "campaign_memberships": LinkSpec("campaign_id", None, ()),
    "company_memberships": LinkSpec("company_id", "companyname", ()),
    "do_not_contact": LinkSpec(None, None, ("channel", "reason", "comments", "channel_id")),
    "notes": LinkSpec(None, None, ("text", "type", "id", "dateTime", "date_time"), ("text", "id")),
    "contact_tags": LinkSpec(None, None, ("tag",), ("tag",)),
}
CONTACT_COLUMNS = ("contact_id", "email")
# tap-mautic's notes name their contact as an object ``lead: {id, ...}``; read as contact_id so that the
# tap's output loads as it is.
TAP_CONTACT_OBJECT = "lead"
DNC_REASONS = {"unsubscribed": 1, "bounced": 2, "manual": 3, "1": 1, "2": 2, "3": 3}


class LinkSink(MauticSink):
    """segment/campaign/company memberships, do_not_contact, notes, contact_tags: one record = one link."""

    @property
    def spec(self) -> LinkSpec:
        return LINKS[self.canonical]

    def setup(self) -> None:
        super().setup()
        props = set(self.schema.get("properties", {}))
        spec = self.spec
        contact_columns = {*CONTACT_COLUMNS, TAP_CONTACT_OBJECT}
        allowed = contact_columns | set(spec.columns) | {c for c in (spec.target_id, spec.target_alt) if c}
        if not props & contact_columns:
            raise StreamSetupError(
                f"Stream '{self.stream_name}' ({self.canonical}) needs a 'contact_id' or 'email' property "
                "to name the contact."
            )
        targets = [c for c in (spec.target_id, spec.target_alt) if c]
        if targets and not props & set(targets):
            raise StreamSetupError(
                f"Stream '{self.stream_name}' ({self.canonical}) needs a "
                f"{' or '.join(repr(t) for t in targets)} property."
            )
        if spec.required_any and not props & set(spec.required_any):
            raise StreamSetupError(
                f"Stream '{self.stream_name}' ({self.canonical}) needs a "
                f"{' or '.join(repr(t) for t in spec.required_any)} property."
            )
        self.check_unknown(
            sorted(p for p in props if p not in allowed and not p.startswith("_sdc_") and p not in ("id",))
        )

    def preprocess_record(self, record: dict, context: dict) -> dict:
        lead = record.pop(TAP_CONTACT_OBJECT, None)
        if record.get("contact_id") is None and isinstance(lead, Mapping) and lead.get("id") is not None:
            record["contact_id"] = lead["id"]
        return super().preprocess_record(record, context)

    def key_of(self, record: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.spec
        names = [*CONTACT_COLUMNS, *(c for c in (spec.target_id, spec.target_alt) if c)]
        if self.canonical == "do_not_contact":
            names.append("channel")
        elif self.canonical == "contact_tags":
            names.append("tag")
        elif self.canonical == "notes":
            names.extend(["id", "text"])
        return {n: record[n] for n in names if record.get(n) is not None}

    # -- resolution ------------------------------------------------------------------------------------
    def resolve_contacts(self, rows: list[Row]) -> list[Row]:
        """Sets row.mautic_id to the contact id; fails rows whose contact cannot be found."""
        emails = [r.record.get("email") for r in rows if _as_int(r.record.get("contact_id")) is None]
        found = self.lookup("contacts", "email", [e for e in emails if e]) if any(emails) else {}
        ok = []
        for row in rows:
            cid = _as_int(row.record.get("contact_id"))
            if cid is None:
                email = row.record.get("email")
                if not email:
                    self.fail(row, "no 'contact_id' or 'email' to name the contact")
                    continue
                matches = found.get(_norm(email), [])
                if not matches:
                    self.fail(row, f"no contact with email {email!r} in Mautic")
                    continue
                cid = _as_int(matches[0].get("id"))
            row.mautic_id = cid
            ok.append(row)
        return ok

    def resolve_targets(self, rows: list[Row]) -> list[tuple[Row, int]]:
        """(row, target id) for link streams that point at a segment, campaign or company."""
        spec = self.spec
        if spec.target_id is None:
            return [(row, 0) for row in rows]
        alt_values = [
            r.record.get(spec.target_alt)
            for r in rows
            if spec.target_alt and r.record.get(spec.target_id) is None
        ]
        by_alt: dict[str, int] = {}
        if any(alt_values):
            if self.canonical == "segment_memberships":
                by_alt = self.mautic_target.segment_aliases()
            else:
                found = self.lookup("companies", "companyname", [v for v in alt_values if v])
                by_alt = {k: _as_int(v[0].get("id")) or 0 for k, v in found.items()}
        out = []
        for row in rows:
            tid = _as_int(row.record.get(spec.target_id))
            if tid is None:
                alt = row.record.get(spec.target_alt) if spec.target_alt else None
                if alt is None:
                    self.fail(
                        row,
                        f"no '{spec.target_id}'" + (f" or '{spec.target_alt}'" if spec.target_alt else ""),
                    )
                    continue
                tid = by_alt.get(_norm(alt))
                if tid is None:
                    what = (
                        "segment with alias" if self.canonical == "segment_memberships" else "company named"
                    )
                    self.fail(row, f"no {what} {alt!r} in Mautic")
                    continue
            out.append((row, tid))
        return out

    # -- main ----------------------------------------------------------------------------------------
    def process_batch(self, context: dict) -> None:
        self.mautic_target.drain_upserts_first(self)
        rows = self.resolve_contacts(self.rows(context))
        handler = getattr(self, f"write_{self.canonical}")
        handler(self.resolve_targets(rows))
        self.flush_results()

    def _call(self, row: Row, method: str, path: str, *, json_body: Any = None) -> Any:
        """One link call; reports failure and returns None on error."""
        try:
            return self.client.request(method, path, json=json_body)
        except NotFoundError as exc:
            self.fail(row, f"not found: {exc}")
        except MauticError as exc:
            _reraise_fatal(exc)
            self.fail(row, str(exc))
        return None

    def _simple_link(self, pairs: list[tuple[Row, int]], base: str) -> None:
        for row, tid in pairs:
            action = "remove" if row.deleted else "add"
            if self.dry_run:
                self.report(row, WOULD_DELETE if row.deleted else WOULD_CREATE, "dry run")
                continue
            answer = self._call(row, "POST", f"{base}/{tid}/contact/{row.mautic_id}/{action}")
            if answer is None:
                continue
            if isinstance(answer, Mapping) and not answer.get("success", True):
                self.fail(row, f"Mautic answered success=false for {action}")
            else:
                self.report(row, DELETED if row.deleted else CREATED, mautic_id=row.mautic_id)

    def write_segment_memberships(self, pairs: list[tuple[Row, int]]) -> None:
        adds: dict[int, list[Row]] = defaultdict(list)
        removes: list[tuple[Row, int]] = []
        for row, tid in pairs:
            if row.deleted:
                removes.append((row, tid))
            else:
                adds[tid].append(row)
        self._simple_link(removes, "segments")
        for tid, rows in adds.items():
            if self.dry_run:
                for row in rows:
                    self.report(row, WOULD_CREATE, "dry run")
                continue
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start : start + self.batch_size]
                ids = sorted({r.mautic_id for r in chunk if r.mautic_id is not None})
                if self.mautic_target.segment_batch_add is False:
                    self._simple_link([(row, tid) for row in chunk], "segments")
                    continue
                try:
                    answer = self.client.request("POST", f"segments/{tid}/contacts/add", json={"ids": ids})
                    self.mautic_target.segment_batch_add = True
                except NotFoundError as exc:
                    if self.mautic_target.segment_batch_add is None and "URL not found" in str(exc):
                        # an instance without the batch route: one call per contact instead
                        self.mautic_target.segment_batch_add = False
                        self._simple_link([(row, tid) for row in chunk], "segments")
                        continue
                    for row in chunk:
                        self.fail(row, str(exc))
                    continue
                except MauticError as exc:
                    _reraise_fatal(exc)
                    for row in chunk:
                        self.fail(row, str(exc))
                    continue
                details = answer.get("details", {}) if isinstance(answer, Mapping) else {}
                for row in chunk:
                    item = (
                        details.get(str(row.mautic_id), details.get(row.mautic_id))
                        if isinstance(details, Mapping)
                        else None
                    )
                    if isinstance(item, Mapping) and not item.get("success", True):
                        self.fail(row, f"Mautic could not add contact {row.mautic_id} to segment {tid}")
                    else:
                        self.report(row, CREATED)

    def write_campaign_memberships(self, pairs: list[tuple[Row, int]]) -> None:
        self._simple_link(pairs, "campaigns")

    def write_company_memberships(self, pairs: list[tuple[Row, int]]) -> None:
        self._simple_link(pairs, "companies")

    def write_do_not_contact(self, pairs: list[tuple[Row, int]]) -> None:
        for row, _ in pairs:
            channel = str(row.record.get("channel") or "email")
            action = "remove" if row.deleted else "add"
            if self.dry_run:
                self.report(row, WOULD_DELETE if row.deleted else WOULD_CREATE, "dry run")
                continue
            body: dict[str, Any] | None = None
            if not row.deleted:
                reason_raw = row.record.get("reason")
                reason = DNC_REASONS.get(str(reason_raw).strip().lower()) if reason_raw is not None else 3
                if reason is None:
                    self.fail(
                        row,
                        f"property 'reason': {reason_raw!r} is not one of "
                        f"unsubscribed, bounced, manual (1-3)",
                    )
                    continue
                body = {"reason": reason}
                if row.record.get("comments"):
                    body["comments"] = str(row.record["comments"])
                if row.record.get("channel_id") is not None:
                    body["channelId"] = row.record["channel_id"]
            answer = self._call(
                row, "POST", f"contacts/{row.mautic_id}/dnc/{channel}/{action}", json_body=body
            )
            if answer is None:
                continue
            if row.deleted and isinstance(answer, Mapping) and answer.get("recordFound") is False:
                self.report(row, UNCHANGED, f"contact was not on the {channel} do-not-contact list")
            else:
                self.report(row, DELETED if row.deleted else CREATED)

    def write_contact_tags(self, pairs: list[tuple[Row, int]]) -> None:
        per_contact: dict[int, list[Row]] = defaultdict(list)
        for row, _ in pairs:
            tag = str(row.record.get("tag") or "").strip()
            if not tag:
                self.fail(row, "empty 'tag'")
                continue
            per_contact[row.mautic_id or 0].append(row)
        if self.dry_run:
            for rows in per_contact.values():
                for row in rows:
                    self.report(row, WOULD_DELETE if row.deleted else WOULD_CREATE, "dry run")
            return
        items: list[tuple[dict[str, Any], list[Row]]] = []
        for cid, rows in per_contact.items():
            tags = []
            for row in rows:
                tag = str(row.record["tag"]).strip().lstrip("-")
                tags.append(f"-{tag}" if row.deleted else tag)
            items.append(({"id": cid, "tags": tags}, rows))
        # one PATCH item per contact; the rows of that contact share its outcome
        todo = [
            (payload, Row(seq=0, record={}, deleted=False, key={}, mautic_id=rows[0].mautic_id))
            for payload, rows in items
        ]
        groups = {id(r): rows for (_, r), (_, rows) in zip(todo, items, strict=True)}
        for carrier, result, error in self.chunked(
            todo, lambda batch: self.client.batch_edit("contacts", batch)
        ):
            for row in groups[id(carrier)]:
                if error is not None:
                    self.fail(row, error)
                elif result is not None and result.status in (200, 201):
                    self.report(row, DELETED if row.deleted else CREATED)
                else:
                    status = result.status if result else "?"
                    self.fail(row, f"HTTP {status}: {(result.error if result else None) or 'rejected'}")

    def write_notes(self, pairs: list[tuple[Row, int]]) -> None:
        creates: list[Row] = []
        for row, _ in pairs:
            note_id = _as_int(row.record.get("id"))
            if row.deleted:
                if note_id is None:
                    self.fail(row, "a note deletion needs the note 'id'")
                elif self.dry_run:
                    self.report(row, WOULD_DELETE, "dry run")
                elif self._call(row, "DELETE", f"notes/{note_id}/delete") is not None:
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
                answer = self._call(
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
        for row, result, error in self.chunked(
            todo, lambda batch: self.client.batch_new("notes", batch), recover=self.recover_notes
        ):
            if error is not None:
                self.fail(row, error)
            elif result is not None and result.status in (200, 201):
                self.report(row, CREATED, mautic_id=_as_int((result.item or {}).get("id")))
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
                answer = self.client.request("GET", f"contacts/{cid}/notes", params={"limit": 1000})
                notes = answer.get("notes", []) if isinstance(answer, Mapping) else []
                written[cid] = {
                    (str(note.get("text") or ""), str(note.get("type") or "")): _as_int(note.get("id")) or 0
                    for note in (notes.values() if isinstance(notes, Mapping) else notes)
                    if isinstance(note, Mapping)
                }
            note_id = written[cid].get((str(payload.get("text") or ""), str(payload.get("type") or "")))
            if note_id:
                results[n] = BatchItemResult(index=n, status=201, item={"id": note_id})
        resend = [n for n in range(len(chunk)) if n not in results]
        if resend:
            for n, result in zip(resend, self.client.batch_new("notes", [chunk[n][0] for n in resend]),
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
                seen: set[tuple[str, str]] = set()
                try:
                    answer = self.client.request("GET", f"contacts/{cid}/notes", params={"limit": 1000})
                except MauticError as exc:
                    _reraise_fatal(exc)
                    answer = {}
                notes = answer.get("notes", []) if isinstance(answer, Mapping) else []
                for note in notes.values() if isinstance(notes, Mapping) else notes:
                    if isinstance(note, Mapping):
                        seen.add((str(note.get("text") or ""), str(note.get("type") or "")))
                existing[cid] = seen
            ident = (str(row.payload.get("text") or ""), str(row.payload.get("type") or ""))
            if ident in existing[cid]:
                self.report(row, UNCHANGED, "an identical note already exists on this contact")
            else:
                existing[cid].add(ident)
                keep.append(row)
        return keep


SINK_CLASSES: dict[str, type[MauticSink]] = {
    "contacts": ContactsSink,
    "companies": CompaniesSink,
    **{
        name: type(f"{''.join(p.title() for p in name.split('_'))}Sink", (LinkSink,), {"canonical": name})
        for name in LINKS
    },
}

__all__ = [
    "LINKS",
    "SINK_CLASSES",
    "CompaniesSink",
    "ContactsSink",
    "LinkSink",
    "MauticSink",
    "StreamSetupError",
]
