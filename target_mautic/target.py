"""target-mautic: loads warehouse rows into Mautic (contacts, companies and their memberships).

Why these choices:
- One :class:`~target_mautic.connector.MauticConnector` (holding the run's one :class:`MauticClient`)
  injected into all sinks, ``max_parallelism = 1``: sinks drain one after another, so a
  membership stream can rely on the contacts drained before it (a link sink drains pending contact/company
  sinks first) and the results ledger sees rows in order. Parallelism is inside a drain instead: the
  connector sends up to ``max_concurrency`` batch calls of one sink at once, in lanes that never share a
  key, and the drain ends when every lane has answered (so STATE still follows the writes).
- STATE is the SDK's: emitted only after ``drain_all`` wrote every sink. On top of that, once any record has
  failed and ``on_record_error`` is ``fail``, no further STATE is emitted, so the run's bookmark never moves
  past a row that did not land, and the run exits non-zero at the end.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any, NoReturn

import click
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.singerlib.exceptions import SingerReadError
from singer_sdk.sinks import Sink
from typing_extensions import override

from mautic_api.client import MauticClient
from mautic_api.errors import ConfigurationError, MauticError
from mautic_singer.config_schema import MAUTIC_SETTINGS
from mautic_singer.sdk import MauticCommand, MauticPluginMixin, MauticTargetSeam
from target_mautic import modes
from target_mautic.background import BackgroundDrain
from target_mautic.connector import API_BATCH_LIMIT, DEFAULT_MAX_CONCURRENCY, MauticConnector
from target_mautic.links import LinkSink
from target_mautic.mirror_records import MirrorActionError, MirroredRecords, mirror_action
from target_mautic.reader import MauticSingerReader, Terminated, UnreadableInput
from target_mautic.results import (
    FAILED,
    NOT_WRITTEN,
    STOPPED_BEFORE,
    RecordResult,
    ResultsFileError,
    ResultsLedger,
)
from target_mautic.sinks import SINK_CLASSES, MauticSink, StreamSetupError
from target_mautic.upserts import UpsertSink

ACCEPTED_STREAMS = tuple(SINK_CLASSES)
# A fatal error is logged once; when reading the rest of the input took longer than this, once more, so that
# under `meltano run` it is again the target's last line before "Loader failed".
DRAIN_REPEAT_SECONDS = 5.0


class RecordsFailedError(Exception):
    """Raised at the end of the input when records failed and ``on_record_error`` is ``fail``."""


class RejectionLimitError(Exception):
    """Too many records failed (``max_failed_records`` / ``max_failed_percent``): nothing further is sent."""


class MirrorLimitError(Exception):
    """A mirror would remove more than ``mirror_max_removals``: nothing was removed, the run exits 1."""


class UnknownStreamError(Exception):
    """A SCHEMA message for a stream target-mautic does not load."""


TARGET_SETTINGS = th.PropertiesList(
    th.Property(
        "stream_contexts",
        th.ObjectType(additional_properties=th.StringType),
        description=(
            'Maps input stream names to what they load, e.g. {"dim_customers": "contacts"}. Accepted: '
            + ", ".join(ACCEPTED_STREAMS)
            + ". Streams named like a target need no entry."
        ),
    ),
    th.Property(
        "match_on",
        th.CustomType(
            {
                "anyOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                    {"type": "null"},
                ]
            }
        ),
        description=(
            "Field aliases that identify a record without 'id'. A list applies "
            "to contacts; an object sets it "
            'per stream, e.g. {"contacts": ["external_id"], "companies": ["companyname", "companycity"]}. '
            'Defaults: contacts ["email"], companies ["companyname"].'
        ),
    ),
    th.Property(
        "create_if_missing",
        th.BooleanType,
        description=(
            "Deprecated alias: false is sync_mode update (records not found are skipped, never created)."
        ),
    ),
    th.Property(
        "sync_mode",
        th.CustomType({"anyOf": [{"type": "string"}, {"type": "object",
                                                       "additionalProperties": {"type": "string"}},
                                 {"type": "null"}]}),
        description=(
            "upsert (default: update or create), update (never create: records not found are skipped), "
            "insert (never change an existing record: it is skipped), mirror (segment, campaign and company "
            "memberships, contact_tags: on a snapshot completed by ACTIVATE_VERSION, contacts linked to a "
            "segment/campaign/company/tag it names that it does not hold are removed; contacts/companies "
            "with a mirror_action apply it to records they wrote earlier and the snapshot lacks, without "
            "one they load as upsert). One value, or an object by stream, e.g. "
            '{"dim_customers": "update"}; the per-stream value wins.'
        ),
    ),
    th.Property(
        "compare_before_write",
        th.BooleanType,
        default=True,
        description=(
            "Read the batch's records first (one list call per batch_size records) and send only the "
            "properties whose value differs from Mautic's; a record without a difference is 'unchanged' "
            "and costs no write. Segment, campaign and company memberships Mautic holds already are "
            "'unchanged' too (one read per target and batch)."
        ),
    ),
    th.Property(
        "allow_merge",
        th.BooleanType,
        default=False,
        description=(
            "Deprecated, no effect: Mautic (5.x-7.x) refuses an edit that sets a unique field (email) to a "
            "value another contact holds (HTTP 422, reported per record); it never merges the two."
        ),
    ),
    th.Property(
        "batch_size",
        th.IntegerType(minimum=1),
        default=API_BATCH_LIMIT,
        description=(
            "Items per batch call (Mautic's api_batch_max_limit is 200 by default). When Mautic answers with "
            "its batch-limit error the chunk is halved and retried."
        ),
    ),
    th.Property(
        "max_concurrency",
        th.IntegerType(minimum=1),
        default=DEFAULT_MAX_CONCURRENCY,
        description=(
            "Batch calls of contacts/companies in flight at once (1: one after another). Records are put "
            "in lanes by their id, match_on values and unique fields (case-insensitive), so two concurrent "
            "batches never name the same record and Mautic never creates it twice. The ceiling with "
            "concurrency_mode adaptive (the default: start at min(4, this), follow the server's latency and "
            "429s)."
        ),
    ),
    th.Property(
        "overwrite_with_blank",
        th.BooleanType,
        default=False,
        description="Null values clear the field in Mautic (default: a null leaves the field as it is).",
    ),
    th.Property(
        "ignore_unknown_fields",
        th.BooleanType,
        default=False,
        description=(
            "Drop properties that are not field aliases of the Mautic instance (one warning each) instead of "
            "failing at the SCHEMA message."
        ),
    ),
    th.Property(
        "write_points",
        th.BooleanType,
        default=False,
        description=(
            "Write the contact 'points' property (read-only by default, since tap output carries it)."
        ),
    ),
    th.Property(
        "delete_records",
        th.BooleanType,
        default=False,
        description=(
            "Delete contacts/companies whose record carries _sdc_deleted_at "
            "(default: such records are skipped). "
            "Link streams always remove the link for such records."
        ),
    ),
    th.Property(
        "results_path",
        th.StringType,
        description=(
            "File to write one JSON line per input record to: stream, key, mautic_id, outcome "
            "(created|updated|unchanged|skipped|deleted|failed|not_written, or would_* in dry runs), "
            "message and warnings."
        ),
    ),
    th.Property(
        "on_record_error",
        th.StringType,
        default="fail",
        allowed_values=["fail", "report"],
        description=(
            "fail: when any record failed, stop emitting STATE and exit non-zero at the end (valid rows are "
            "still written). report: record the failure in the results and exit 0."
        ),
    ),
    th.Property(
        "max_failed_records",
        th.IntegerType(minimum=0),
        description=(
            "Stop once more than this many records failed (under either on_record_error): no further write "
            "is sent, the rest are not_written, no STATE follows, exit 1."
        ),
    ),
    th.Property(
        "max_failed_percent",
        th.NumberType(minimum=0, maximum=100),
        description=(
            "Stop once more than this percent of the records with a result failed (counted after "
            "min_records_for_limit records), as max_failed_records does."
        ),
    ),
    th.Property(
        "min_records_for_limit",
        th.IntegerType(minimum=0),
        default=100,
        description="Records with a result before max_failed_percent is applied (default 100).",
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        description="Resolve matches and report what would be created, updated or deleted; write nothing.",
    ),
    th.Property(
        "mirror_max_removals",
        th.CustomType({"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}),
        description=(
            'sync_mode mirror removes at most this many links per stream: a number, or a percent like "5%" '
            "of the members of the segments/campaigns/companies/tags the snapshot names (default \"10%\"). "
            "Above it nothing is removed, "
            "one line says why and the run exits 1."
        ),
    ),
    th.Property(
        "mirror_action",
        th.CustomType({"anyOf": [{"type": "string"}, {"type": "object",
                                                       "additionalProperties": {"type": "string"}},
                                 {"type": "null"}]}),
        description=(
            "sync_mode mirror on contacts and companies: what happens to a record this stream wrote earlier "
            "(tracked in a segment target-mautic-<stream>) that a completed snapshot no longer holds: "
            "contacts delete, do_not_contact (email, manual) or untag:<tag>; companies delete. One value or "
            "an object by stream; unset: they load as upsert and nothing is removed."
        ),
    ),
    th.Property(
        "load_method",
        th.StringType,
        default="upsert",
        allowed_values=["upsert", "append-only", "overwrite"],
        description=(
            "singer-sdk's setting, mapped onto sync_mode: upsert -> upsert, append-only -> insert, "
            "overwrite -> mirror. sync_mode wins when both are set."
        ),
    ),
)


CAUSE_CHARS = 300  # the cause in a not_written message: enough to name it, short enough to read per line


def stopped_because(exc: BaseException) -> str:
    """The cause of a stopped run, as a not_written line names it: its first line, cut to CAUSE_CHARS."""
    text = str(exc).splitlines()[0] if str(exc) else repr(exc)
    return text if len(text) <= CAUSE_CHARS else text[: CAUSE_CHARS - 3] + "..."


class TargetMautic(MauticTargetSeam, MauticPluginMixin, Target):
    """Singer target for Mautic: batched upserts, memberships, a per-record outcome, no loss."""

    name = "target-mautic"
    package_name = "mautic-singer"
    message_reader_class = MauticSingerReader
    config_jsonschema = th.PropertiesList(*MAUTIC_SETTINGS, *TARGET_SETTINGS).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connector: MauticConnector | None = None
        self._ledger: ResultsLedger | None = None
        self._state_withheld_logged = False
        self._draining = False
        self._draining_all = False
        self._background = BackgroundDrain()
        if self.config.get("allow_merge"):
            self.logger.warning(
                "Setting 'allow_merge' is deprecated and has no effect: Mautic refuses (HTTP 422) an edit "
                "that gives a contact another contact's email and never merges them; such records are "
                "reported failed, naming the contact that holds the value."
            )
        self._stopped_by: str | None = None  # why the input was not read to its end (an unreadable line)
        self._versions: dict[str, set[Any]] = {}  # stream -> table versions its records carried
        self._mirror_refused: list[str] = []  # mirror_max_removals exceeded: the lines saying so
        self._mirrored: set[str] = set()  # streams whose snapshot was completed and mirrored
        self._opened: dict[str, set[Any]] = {}  # stream -> versions an ACTIVATE_VERSION began before records
        self._unopened: set[str] = set()  # mirror streams closed by an ACTIVATE_VERSION that had not begun
        self._stream_sinks: dict[str, Sink] = {}  # add_sink: each stream's current sink
        self._run_sinks: list[Sink] = []  # add_sink: every sink of the run, replaced ones included
        if self.config.get("create_if_missing") is False and self.config.get("sync_mode") is None:
            self.logger.warning("Setting 'create_if_missing: false' is deprecated: it is sync_mode 'update' "
                                "(records not found are skipped); set sync_mode instead.")

    def config_problem(self) -> str | None:
        """``match_on`` of the wrong shape trips jsonschema's own code (a traceback): name it first."""
        match_on = self.config.get("match_on") if isinstance(self.config, Mapping) else None
        if match_on is not None and not _match_on_ok(match_on):
            return ('Setting \'match_on\' must be a list of field aliases, e.g. ["email"], or an object '
                    'of such lists per stream, e.g. {"companies": ["companyname"]}.')
        if isinstance(self.config, Mapping):
            action = self.config.get("mirror_action")
            for stream in (action if isinstance(action, Mapping) else {"": action}):
                try:
                    mirror_action(self.config, str(stream), str(stream))
                except MirrorActionError as exc:
                    return str(exc)
            return modes.config_problem(self.config)
        return None

    # -- settings and shared objects ------------------------------------------------------------------
    @property
    def max_parallelism(self) -> int:  # see module docstring
        return 1

    @max_parallelism.setter
    def max_parallelism(self, new_value: int) -> None:
        _ = new_value  # fixed at 1 by design

    @property
    def connector(self) -> MauticConnector:
        """The run's one connector: all I/O with Mautic, injected into every sink (closed by _close)."""
        if self._connector is None:
            self._connector = MauticConnector(self.config, self.logger)
        return self._connector

    @property
    def client(self) -> MauticClient:
        return self.connector.client

    @property
    def ledger(self) -> ResultsLedger:
        if self._ledger is None:
            self._ledger = ResultsLedger(self.config.get("results_path"), self.logger,
                                         dry_run=bool(self.config.get("dry_run")))
        return self._ledger

    def canonical_stream(self, stream_name: str) -> str:
        contexts = self.config.get("stream_contexts") or {}
        if isinstance(contexts, Mapping) and stream_name in contexts:
            return str(contexts[stream_name])
        return stream_name

    # -- SDK hooks ------------------------------------------------------------------------------------
    # [misc] below: singer-sdk marks add_sink and drain_all @final; the target must know every sink of the run
    # and finish its background drain before the SDK's own drain (pinned by tests/project/test_sdk_seam.py)
    def add_sink(  # type: ignore[misc]
            self, stream_name: str, schema: dict, key_properties: Sequence[str] | None = None) -> Sink:
        """The SDK's, with the sink remembered here: the stream's current sink, and every sink of the run
        (a new SCHEMA replaces a stream's sink; the old one may still hold records to account for)."""
        sink = super().add_sink(stream_name, schema, key_properties)
        self._stream_sinks[stream_name] = sink
        self._run_sinks.append(sink)
        return sink

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        canonical = self.canonical_stream(stream_name)
        sink_class = SINK_CLASSES.get(canonical)
        if sink_class is None:
            mapped = f" (mapped to '{canonical}' by stream_contexts)" if canonical != stream_name else ""
            raise UnknownStreamError(
                f"Stream '{stream_name}'{mapped} is not accepted by target-mautic. Accepted: "
                f"{', '.join(ACCEPTED_STREAMS)}; map other names with the 'stream_contexts' setting, e.g. "
                f'{{"{stream_name}": "contacts"}}.'
            )
        return sink_class

    @override
    def note_record(self, message_dict: dict) -> None:
        """The table version each stream's records carry (see :meth:`activate_version`)."""
        self._versions.setdefault(str(message_dict.get("stream")), set()).add(message_dict.get("version"))

    @override
    def activate_version(self, message_dict: dict) -> None:
        """sync_mode mirror: a snapshot is complete when ACTIVATE_VERSION of one version comes both before
        its records (the tap began that version in this run) and after them (it finished it); the stream is
        then drained, and members it does not hold are removed. One before the records only (singer-sdk taps)
        leaves the end unmarked: a run cut short could not be told from a complete one. One after them only
        may close a read resumed from saved state (pipelinewise taps resume a table from an ``xmin``
        bookmark with the version it had): the rows before the bookmark would look absent. Either way nothing
        is removed (one warning at the end)."""
        stream = str(message_dict.get("stream"))
        version = message_dict.get("version")
        if version not in self._versions.get(stream, set()):
            self._opened.setdefault(stream, set()).add(version)  # the snapshot of this version begins
            return
        sink = self._stream_sinks.get(stream)
        if not isinstance(sink, LinkSink | MirroredRecords) or not sink.mirrored:
            return
        if version not in self._opened.get(stream, set()):
            self._unopened.add(stream)
            return
        self.drain_one(sink)
        self._mirrored.add(stream)
        problem = sink.mirror()
        if problem is not None:
            self._mirror_refused.append(problem)
        self.record_results(sink)

    def warn_unmirrored(self) -> None:
        """A mirror stream whose snapshot no ACTIVATE_VERSION completed: one warning, nothing removed."""
        for stream, sink in self._stream_sinks.items():
            mirror = isinstance(sink, LinkSink | MirroredRecords) and sink.mirrored
            if mirror and stream in self._unopened and stream not in self._mirrored:
                self.logger.warning("Stream '%s': sync_mode mirror removed nothing: no ACTIVATE_VERSION came "
                                    "before its records (the snapshot may resume an earlier read cut short; "
                                    "run the tap with --full-refresh).", stream)
            elif mirror and stream not in self._mirrored:
                self.logger.warning("Stream '%s': sync_mode mirror removed nothing: no ACTIVATE_VERSION "
                                    "followed its records (the snapshot's end is not marked).", stream)

    def drain_upserts_first(self) -> None:
        """A link sink is about to write: contacts/companies buffered so far must be in Mautic first."""
        self.finish_background()
        for other in list(self._stream_sinks.values()):
            if isinstance(other, UpsertSink) and other.current_size:
                self.drain_one(other)

    def drain_all(self, *, is_endofpipe: bool = False) -> None:  # type: ignore[misc]  # @final: see add_sink
        """The SDK's (every sink, then STATE), after the drain in flight: never in the background."""
        self.finish_background()
        self._draining_all = True
        try:
            super().drain_all(is_endofpipe=is_endofpipe)
        finally:
            self._draining_all = False

    def drains_in_background(self, sink: Sink) -> bool:
        """A contacts/companies batch that just filled up, with lanes: sent while the next records are read
        (:mod:`target_mautic.background`). ``max_concurrency`` 1 keeps every drain in line with reading."""
        return (isinstance(sink, UpsertSink) and self.connector.concurrency > 1 and sink.is_full
                and not self._draining_all)

    def finish_background(self, *, raise_fatal: bool = True) -> bool:
        """Wait for the drain in flight and settle it as :meth:`drain_one` settles a drain; True if there
        was one. A fatal error is raised (or, with ``raise_fatal`` false, left for the caller's accounting:
        the batch stays buffered, so its rows without a result are reported by ``account_unwritten``)."""
        done = self._background.wait()
        if done is None:
            return False
        sink, error = done.sink, done.error
        if error is not None and (isinstance(error, ConfigurationError | StreamSetupError)
                                  or not isinstance(error, Exception)):
            if raise_fatal:
                raise error
            return True
        if error is not None:
            self.logger.error("Stream '%s': a batch failed as a whole: %s", sink.stream_name, error)
            sink.account_unwritten(f"not written: {error}", contexts=[done.context], outcome=FAILED)
        sink.mark_drained()
        self.record_results(sink, check_limits=raise_fatal)
        reader = self.message_reader
        if raise_fatal and isinstance(reader, MauticSingerReader):
            reader.check_stop()  # a SIGTERM during the drain in flight: nothing further is sent
        return True

    def drain_one(self, sink: Sink) -> None:  # type: ignore[misc]
        """A batch that fails as a whole fails its records (one result line each) and the run goes on;
        credentials or instance configuration breaking mid-run stop it. A SIGTERM waits for the batch.
        The sink's results go to the ledger after each drain, in input order. With lanes, a batch that
        filled up is sent in the background (:meth:`drains_in_background`); any drain waits for it first."""
        self.finish_background()
        if self.drains_in_background(sink) and isinstance(sink, MauticSink):
            self._background.start(sink, sink.start_drain())
            return
        if isinstance(sink, LinkSink):
            self.drain_upserts_first()
        reader = self.message_reader
        self._draining = True
        try:
            super().drain_one(sink)
        except (ConfigurationError, StreamSetupError):
            raise
        except Exception as exc:
            if not isinstance(sink, MauticSink):
                raise
            self.logger.error("Stream '%s': a batch failed as a whole: %s", sink.stream_name, exc)
            sink.account_unwritten(f"not written: {exc}", outcome=FAILED)
            sink.mark_drained()
        finally:
            self._draining = False
        if isinstance(sink, MauticSink):
            self.record_results(sink, check_limits=True)
        if isinstance(reader, MauticSingerReader):
            reader.check_stop()

    def record_results(self, sink: MauticSink, *, check_limits: bool = False) -> None:
        """Hand the sink's results so far to the ledger (in input order) and write them out; with
        ``check_limits``, stop the run when the rejection limits are exceeded (after each drain)."""
        for result in sink.take_results():
            self.ledger.add(result)
        self.ledger.flush()
        if check_limits:
            problem = self.rejection_limit_exceeded()
            if problem is not None:
                raise RejectionLimitError(problem)

    def rejection_limit_exceeded(self) -> str | None:
        """The one line saying why the run stops, once ``max_failed_records`` or ``max_failed_percent`` is
        exceeded; None while within them."""
        ledger = self.ledger
        failed = ledger.failed
        limit = self.config.get("max_failed_records")
        if limit is not None and failed > int(limit):
            return (f"{failed} records failed, more than max_failed_records ({limit}): nothing further is "
                    "sent to Mautic and no STATE is emitted; see the results file")
        percent = self.config.get("max_failed_percent")
        if percent is None:
            return None
        seen = sum(n for counter in ledger.counts.values() for outcome, n in counter.items()
                   if outcome != NOT_WRITTEN)
        least = self.config.get("min_records_for_limit")
        least = 100 if least is None else int(least)
        if seen and seen >= least and failed * 100 / seen > float(percent):
            return (f"{failed} of {seen} records failed ({failed * 100 / seen:.1f}%), more than "
                    f"max_failed_percent ({percent}%): nothing further is sent to Mautic and no STATE is "
                    "emitted; see the results file")
        return None

    def account_unwritten(self, reason: str, *, rest: bool = True) -> int:
        """The run stops: the drain in flight finishes, then every record read and not yet reported gets a
        ``not_written`` line ("the run stopped before this record: <reason>"); with ``rest``, so does every
        record left in the input (:meth:`account_rest`)."""
        self.finish_background(raise_fatal=False)
        message = f"{STOPPED_BEFORE}: {reason}"
        reported = 0
        for sink in list(self._run_sinks):
            if isinstance(sink, MauticSink):
                reported += sink.account_unwritten(message)
                self.record_results(sink)
        if rest:
            reported += self.account_rest(message)
        if self._ledger is not None:
            self._ledger.flush()
        return reported

    def account_rest(self, message: str) -> int:
        """Every RECORD left in the input after a fatal error gets its ``not_written`` line.

        Why read them: a piped input is read to its end anyway (``_stop``: the extractor must not die of a
        broken pipe), and the results file promises a line for every record read; a SCHEMA refused at the
        top of the input (a field deleted in Mautic since the input was produced) would otherwise leave a
        whole input without a line. The key is the stream's sink's (as for a written record) when the
        stream has one, else the values of its SCHEMA's ``key_properties``.
        """
        reader = self.message_reader
        if not isinstance(reader, MauticSingerReader):
            return 0
        count = 0
        for stream, record in reader.rest():
            sink = self._stream_sinks.get(stream)
            key: dict[str, Any] = {}
            if isinstance(sink, MauticSink):
                with contextlib.suppress(Exception):
                    key = sink.key_of(record)
            else:
                key = {k: record.get(k) for k in reader.key_properties.get(stream, []) if k in record}
            self.ledger.add(RecordResult(stream=stream, key=key, outcome=NOT_WRITTEN, message=message))
            count += 1
        return count

    @contextlib.contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """SIGTERM/SIGINT stop the run between lines or batches (a batch in flight is finished)."""
        reader = self.message_reader
        if threading.current_thread() is not threading.main_thread() or not isinstance(
            reader, MauticSingerReader
        ):
            yield
            return

        def on_signal(signum: int, frame: Any) -> None:
            reader.stop_signal = signum
            if reader.waiting and not self._draining:
                raise Terminated(signum)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def listen(self, file_input: IO[str] | None = None) -> None:  # type: ignore[misc]
        """Open the results file first; on a stop (bad line, signal, fatal error) account for every record."""
        _ = self.ledger  # opens and truncates results_path, or refuses to start
        try:
            with self._stop_on_signals():
                super().listen(file_input)
        except (UnreadableInput, RecordsWithoutSchemaException) as exc:
            # what came before the bad line is written (and its STATE emitted); nothing after it is loaded,
            # each record after it is reported not_written
            self._stopped_by = f"line {reader_line(self)} cannot be read"
            with contextlib.suppress(RecordsFailedError):
                self.process_endofpipe()
            text = (f"Invalid input: {exc} (the line is not shown); the records before it were written, "
                    "none after it.")
            raise type(exc)(text) from None
        except Terminated as exc:
            name = signal.Signals(exc.signum).name
            self.account_unwritten(f"target-mautic was stopped ({name}); rerun the input (writes are "
                                   "upserts)", rest=False)
            self._close()
            raise
        except RecordsFailedError:
            raise
        except BaseException as exc:
            self.account_unwritten(stopped_because(exc))
            self._close()
            raise

    def _close(self) -> None:
        self.finish_background(raise_fatal=False)
        self._background.close()
        if self._ledger is not None and not self._ledger.closed:
            self._ledger.log_summary()
            self._ledger.close()
        if self._connector is not None:
            self._connector.close()  # drops the client; the caches stay for the sinks holding it

    def state_allowed(self) -> bool:
        """No STATE once a record failed and ``on_record_error`` is ``fail`` (the bookmark stays before)."""
        if (
            self._ledger is not None
            and self._ledger.failed
            and self.config.get("on_record_error", "fail") == "fail"
        ):
            if not self._state_withheld_logged:
                self.logger.warning(
                    "STATE withheld: %d record(s) failed and on_record_error is 'fail'", self._ledger.failed
                )
                self._state_withheld_logged = True
            return False
        return True

    def before_state(self) -> None:
        if self._ledger is not None:
            self._ledger.flush()

    def process_endofpipe(self) -> None:
        try:
            super().process_endofpipe()
            if self._stopped_by is not None:  # an unreadable line: what came before it is written now
                self.account_rest(f"{STOPPED_BEFORE}: {self._stopped_by}")
        except Terminated:
            raise  # a SIGTERM during the last drains: listen() reports the records not written, then closes
        except BaseException as exc:
            # a fatal error in the last drains: every record read gets its line before the file is closed
            self.account_unwritten(stopped_because(exc))
            self._close()
            raise
        self.warn_unmirrored()
        ledger = self.ledger
        self._close()
        if self._mirror_refused:
            raise MirrorLimitError(" ".join(self._mirror_refused))
        if ledger.failed and self.config.get("on_record_error", "fail") == "fail":
            raise RecordsFailedError(
                f"{ledger.failed} record(s) failed (on_record_error is 'fail'); no "
                f"STATE was emitted after the "
                "first failure. See the results file or the warnings above."
            )

    @classmethod
    def get_singer_command(cls) -> click.Command:
        return MauticCommand.of(super().get_singer_command())

    @classmethod
    def before_invoke(cls) -> None:
        # singer-sdk's reader logs an unparsable line in full, with a traceback: the line is a record (contact
        # data) and the traceback noise; the one line of end_run replaces both.
        logging.getLogger("singer_sdk.singerlib.encoding.simple").setLevel(logging.CRITICAL)

    @classmethod
    def end_run(cls, exc: BaseException, *, reading_stdin: bool) -> None:
        """Our own errors end the run with one clear line and exit code 1, no traceback."""
        if isinstance(exc, RecordsFailedError):
            cls.logger.error("%s", exc)
            sys.exit(1)
        if isinstance(exc, UnknownStreamError | StreamSetupError | MauticError | ResultsFileError
                      | UnreadableInput | RejectionLimitError | MirrorLimitError):
            cls._stop(str(exc), reading_stdin=reading_stdin)
        if isinstance(exc, Terminated):
            name = signal.Signals(exc.signum).name
            cls.logger.error("target-mautic stopped by %s: every record read has its result line; records "
                             "not written are reported not_written.", name)
            sys.exit(128 + exc.signum)
        if isinstance(exc, RecordsWithoutSchemaException):
            cls._stop(f"Invalid input: {exc}", reading_stdin=reading_stdin)
        if isinstance(exc, SingerReadError):  # its message quotes the line: record data stays out of the log
            first = str(exc).split(":", 1)[0]
            cls._stop(f"Invalid input: {first} (the line is not shown). Nothing after it was read.",
                      reading_stdin=reading_stdin)

    @classmethod
    def _stop(cls, message: str, *, reading_stdin: bool) -> NoReturn:
        """Log one line and exit 1; first read the rest of a piped input without loading it.

        Why read it: under ``meltano run`` the extractor writes into our stdin; if we exit while it writes,
        Meltano ends with a BrokenPipe traceback and the cause (this line) is lost above it. The extractor
        then finishes, no STATE is emitted after the failure, and the run fails with this line last.
        """
        cls.logger.error("%s", message)
        stream = sys.stdin.buffer if reading_stdin and sys.stdin is not None else None
        if stream is not None and not stream.isatty():
            started = time.monotonic()
            with contextlib.suppress(OSError, ValueError):
                while stream.read(1 << 20):
                    pass
            if time.monotonic() - started > DRAIN_REPEAT_SECONDS:  # the cause scrolled away meanwhile
                cls.logger.error("%s (nothing was loaded after it; the rest of the input was read)", message)
        sys.exit(1)


def reader_line(target: Target) -> int:
    reader = target.message_reader
    return reader.line_number if isinstance(reader, MauticSingerReader) else 0


def _match_on_ok(value: Any) -> bool:
    def names(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(n, str) and n for n in v)

    if isinstance(value, dict):
        return all(isinstance(k, str) and names(v) for k, v in value.items())
    return names(value)


if __name__ == "__main__":
    TargetMautic.cli()
