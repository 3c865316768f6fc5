"""The base sink: buffers records as rows and keeps one result per row; all I/O goes through the connector.

Why: contacts, companies and the link streams differ in what they write, not in how a record becomes a row,
how a row gets its outcome, or how a stopped run accounts for rows without one. The target hands each
drain's results to the results ledger (:meth:`MauticSink.take_results`), so sinks never touch the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator
from typing_extensions import override

from mautic_singer.sdk import MauticSinkSeam
from target_mautic.results import FAILED, NOT_WRITTEN, RecordResult
from target_mautic.rows import Row, StreamSetupError, non_finite_property
from target_mautic.validation import ShapeCachedValidator, types_only

if TYPE_CHECKING:
    from target_mautic.connector import MauticConnector
    from target_mautic.target import TargetMautic

INVALID = "__target_mautic_invalid__"  # marks a record that failed schema validation


class MauticSink(MauticSinkSeam, BatchSink):
    """Base: rows in, one :class:`RecordResult` per row out, I/O through the injected connector."""

    MAX_SIZE_DEFAULT = 1000
    canonical: str = ""  # the Mautic target this sink loads (contacts, notes, ...)

    def __init__(self, target: TargetMautic, stream_name: str, schema: dict, key_properties: Any) -> None:
        self.connector: MauticConnector = target.connector
        super().__init__(target=target, stream_name=stream_name, schema=schema, key_properties=key_properties)
        self._seq = 0
        self._pending_count = 0  # records read into the batch being filled (current_size)
        self._results: list[tuple[int, RecordResult]] = []

    # -- settings --------------------------------------------------------------------------------------
    @property
    def settings(self) -> Mapping[str, Any]:
        return self.config

    @property
    def dry_run(self) -> bool:
        return bool(self.settings.get("dry_run"))

    @property
    def batch_size(self) -> int:
        return self.connector.batch_size

    @property
    def max_size(self) -> int:  # rows buffered before a drain; API chunks are `batch_size`
        if self.batch_size_rows is not None:
            return self.batch_size_rows
        return max(self.MAX_SIZE_DEFAULT, self.batch_size)

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """singer-sdk's validator; for a schema of types only, consulted once per record shape
        (:mod:`target_mautic.validation`: the same records fail, with the same messages)."""
        validator = super().get_validator()
        if validator is None or self.validate_field_string_format or not types_only(validator.schema):
            return validator
        return ShapeCachedValidator(validator)

    # -- seam hooks (mautic_singer.sdk.MauticSinkSeam) ------------------------------------------------------
    def mark_invalid(self, record: dict, message: str) -> None:
        record.setdefault(INVALID, message)

    def record_problem(self, record: dict) -> str | None:
        bad = non_finite_property(record)
        return None if bad is None else f"property '{bad}': NaN and Infinity are not values Mautic can store"

    # -- drains (a drain may run in the background while the next batch fills: target_mautic.background) --
    def start_drain(self) -> dict:
        """The SDK's, and the batch's record count set aside: records read while it drains count toward the
        next batch (``current_size``), not toward the one being written."""
        context = super().start_drain()
        self._pending_count = 0
        return context

    @property
    @override
    def current_size(self) -> int:
        """Records read for the next batch (our own count: the SDK's also holds a batch draining in the
        background, and its counter is private)."""
        return self._pending_count

    # -- rows and results --------------------------------------------------------------------------------
    def process_record(self, record: dict, context: dict) -> None:
        self._seq += 1
        self._pending_count += 1
        context.setdefault("records", []).append((self._seq, record))

    def report(
        self, row: Row, outcome: str, message: str | None = None, mautic_id: int | None = None
    ) -> None:
        if mautic_id is None:
            mautic_id = row.mautic_id
        result = RecordResult(stream=self.stream_name, key=row.key, outcome=outcome, mautic_id=mautic_id,
                              message=message, warnings=list(row.warnings), changes=row.changes)
        self._results.append((row.seq, result))

    def fail(self, row: Row, message: str) -> None:
        self.report(row, FAILED, message)

    def take_results(self) -> list[RecordResult]:
        """This drain's results in input order (the target hands them to the ledger)."""
        results, self._results = self._results, []
        return [result for _, result in sorted(results, key=lambda pair: pair[0])]

    def unwritten_records(self, contexts: list[dict] | None = None) -> list[tuple[int, dict[str, Any]]]:
        """Records read but without a result yet: the batch being drained (minus its reported rows) and
        the pending one (or those of ``contexts``)."""
        reported = {seq for seq, _ in self._results}
        batches = self.buffered_batches() if contexts is None else contexts
        buffered = [pair for context in batches for pair in context.get("records", [])]
        return [(seq, rec) for seq, rec in buffered if seq not in reported]

    def account_unwritten(self, message: str, contexts: list[dict] | None = None, *,
                          outcome: str = NOT_WRITTEN) -> int:
        """The run stops: every record read without a result is reported ``not_written``; returns the
        results held. With ``contexts`` and ``outcome`` failed, only the records of those batches (a
        background drain that failed as a whole: they were sent, and refused)."""
        for seq, rec in self.unwritten_records(contexts):
            rec.pop(INVALID, None)
            try:
                key = self.key_of(rec)
            except Exception:  # a record too broken to name still gets its line
                key = {}
            self._results.append(
                (seq, RecordResult(stream=self.stream_name, key=key, outcome=outcome, message=message))
            )
        for context in self.buffered_batches() if contexts is None else contexts:
            context["records"] = []
        return len(self._results)

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
        raise StreamSetupError(unknown_properties_message(self.stream_name, self.canonical, unknown))


SHOWN_UNKNOWN = 3  # properties named in the refusal of a SCHEMA; the rest are counted
NAME_CHARS = 40  # a property name longer than this is cut in that message


def unknown_properties_message(stream: str, canonical: str, unknown: list[str]) -> str:
    """One line (well under 300 characters) refusing a SCHEMA: the first few unknown properties, the count.

    Why short: the line is the run's last, under ``meltano run`` too, and the cause of every ``not_written``
    result line; a SCHEMA of a table whose columns were deleted in Mautic can hold hundreds of them."""
    shown = ", ".join(
        f"'{n if len(n) <= NAME_CHARS else n[: NAME_CHARS - 3] + '...'}'" for n in unknown[:SHOWN_UNKNOWN])
    more = f" and {len(unknown) - SHOWN_UNKNOWN} more" if len(unknown) > SHOWN_UNKNOWN else ""
    if len(unknown) == 1:
        what = f"property {shown} is not a field alias"
    else:
        what = f"{len(unknown)} properties ({shown}{more}) are not field aliases"
    return (f"Stream '{stream}': {what} of this Mautic instance ({canonical}). Create the field in Mautic, "
            "rename the column (stream_maps), or set ignore_unknown_fields: true.")
