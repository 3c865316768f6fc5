"""TapMautic: the Singer tap for Mautic (singer-sdk 0.54)."""

from __future__ import annotations

import difflib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any, ClassVar

import click
import requests
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.helpers.capabilities import (
    CapabilitiesEnum,
    PluginCapabilities,
    TapCapabilities,
)
from typing_extensions import override

from mautic_api import versions
from mautic_api.client import MauticClient
from mautic_api.errors import ConfigurationError, MauticError, PermissionDeniedError, scrub_url
from mautic_api.settings import Settings
from mautic_api.values import ValueFormatError, parse_datetime
from mautic_api.versions import Capabilities
from mautic_singer.config_schema import MAUTIC_SETTINGS
from mautic_singer.sdk import TAP_ONE_LINE_ERRORS, MauticCommand, MauticPluginMixin
from tap_mautic.base_stream import DEFAULT_MAX_CONCURRENCY
from tap_mautic.changes import ChangeTracking
from tap_mautic.history import build_history_streams
from tap_mautic.streams import RECORDED_TABLE_COLUMNS, REQUIRED_TABLES, build_streams

# Measured with benchmarks/bench_tap.py (contacts; simulator on loopback in the same process). With 50 ms
# per request (a remote Mautic) and relative to 200: page size 30 sends 6.5x the requests at 0.33x the
# records/s, 100 sends 2x at 0.67-0.71x, 500 sends 0.4x at 1.30-1.35x. Without latency the run is CPU-bound
# on two shared cores and every size lands within 0.73-1.2x of 200 (noise +-15%). 200 keeps most of the
# gain while a page of fully hydrated contacts stays far from PHP's memory_limit/max_execution_time on a
# real Mautic; raise it per stream (stream_options) when the instance answers large pages quickly.
DEFAULT_PAGE_SIZE = 200

STREAM_OPTIONS = th.ObjectType(
    th.Property("page_size", th.IntegerType(minimum=1), description="Records per request for this stream"),
    th.Property("search", th.StringType, description="Mautic search string, e.g. 'tag:vip' or 'is:mine'"),
    th.Property("published_only", th.BooleanType, description="Only records with isPublished = true"),
    th.Property("minimal", th.BooleanType,
                description="Ask for minimal list answers (contacts: no owner, tags, utmtags, ...)"),
    additional_properties=False,
)

TAP_SETTINGS = th.PropertiesList(
    th.Property("start_date", th.DateTimeType,
                description="Earliest modification (entities) or event date (stats) on a first run"),
    th.Property("page_size", th.IntegerType(minimum=1), default=DEFAULT_PAGE_SIZE,
                description="Records per request (Mautic list limit), for every stream without its own"),
    th.Property(
        "stream_options", th.ObjectType(additional_properties=STREAM_OPTIONS),
        description='Per-stream options keyed by stream name, e.g. {"contacts": {"search": "tag:vip", '
                    '"page_size": 100, "minimal": true, "published_only": true}}',
    ),
    th.Property("exclude_anonymous", th.BooleanType, default=False,
                description="Leave anonymous (never identified) contacts out of the contacts stream"),
    th.Property("include_deletes", th.BooleanType, default=True,
                description="Emit {id, _sdc_deleted_at} for contacts/companies deleted since the bookmark "
                            "(read from audit_log; needs an administrator)"),
    th.Property("include_merges", th.BooleanType, default=True,
                description="After a contact merge, emit again the victor's rows of the id-incremental "
                            "tables the merge rewrote (lead_event_log, page_hits, ...; read from audit_log; "
                            "needs an administrator)"),
    th.Property("lookback_seconds", th.NumberType(minimum=0, maximum=86400), default=1,
                description="Seconds subtracted from the bookmark in the modification filter "
                            "(Mautic stores seconds)"),
    th.Property("stats_settle_seconds", th.IntegerType(minimum=0), default=30,
                description="Event rows of the id-incremental stats tables younger than this (by Mautic's "
                            "clock at the start of the run) are left to the next run: a row whose id was "
                            "taken before a newer one's but committed after it is then not skipped"),
    th.Property("change_detection", th.StringType, default="auto",
                allowed_values=["auto", "date_modified", "audit_log"],
                description="How changed contacts and companies are found. auto: by dateModified where "
                            "updates move it (Mautic < 6.0, and the self-check agrees), else from audit_log "
                            "(Mautic 6.x/7.x: updates no longer move dateModified, mautic#15418); "
                            "audit_log: always from audit_log; date_modified: never (updates on 6.x/7.x are "
                            "missed)"),
    th.Property("date_modified_self_check", th.BooleanType, default=True,
                description="On versions where updates should move dateModified, compare the newest "
                            "update in audit_log with the record's dateModified once per run, and use "
                            "audit_log when the update did not move it"),
    th.Property("full_resync_every", th.IntegerType(minimum=0), default=1,
                description="When changes cannot be found (dateModified not moved by updates and audit_log "
                            "not readable: it needs an administrator), read contacts and companies in full "
                            "on every Nth run (1: every run; 0: never, updates are missed until a full "
                            "refresh)"),
    th.Property("max_concurrency", th.IntegerType(minimum=1, maximum=32), default=DEFAULT_MAX_CONCURRENCY,
                description="Requests one stream may have in flight: a keyset walk of more than two pages is "
                            "cut into id ranges read at the same time and emitted in id order (state and "
                            "bookmarks as with 1); about the number of PHP workers Mautic may give this "
                            "run; 1: one request at a time. The ceiling with concurrency_mode adaptive "
                            "(the default: start at min(4, this), follow the server's latency and 429s)"),
    th.Property("partition_count", th.IntegerType(minimum=1), default=1,
                description="Split every id-keyed stream into this many disjoint id ranges, one per run "
                            "(K Meltano jobs, each with its own state id, share a large backfill); 1: off"),
    th.Property("partition_id_span", th.IntegerType(minimum=1),
                description="With partition_count > 1 (required then, the same in every partition's run): "
                            "the id span the ranges split, about the largest id today (ids above it go to "
                            "the last partition); the boundaries then never depend on when a run starts"),
    th.Property("partition_index", th.IntegerType(minimum=0), default=0,
                description="Which id range this run reads, 0 to partition_count - 1 (the last range has no "
                            "upper bound; membership tables and form submissions are read by partition 0)"),
    th.Property("backoff_factor", th.NumberType(exclusive_minimum=0, maximum=60), default=1.0,
                description="Seconds of the first retry wait (then doubling, capped at 60x); 429 answers "
                            "wait as the server asks"),
)


class TapMautic(MauticPluginMixin, Tap):
    """tap-mautic: every Mautic context and /api/stats table as a stream."""

    name = "tap-mautic"
    package_name = "mautic-singer"
    dynamic_catalog = True
    # msgspec encodes a RECORD ~10x faster than the default simplejson writer (the tap's largest SDK cost
    # per record); it writes bytes to sys.stdout.buffer.
    message_writer_class = MsgSpecWriter
    # BATCH and ACTIVATE_VERSION are singer-sdk defaults this tap neither needs nor tests.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        TapCapabilities.TEST,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]
    config_jsonschema = th.PropertiesList(*MAUTIC_SETTINGS, *TAP_SETTINGS).to_dict()

    _server_time_lock = threading.Lock()

    # ------------------------------------------------------------------------ shared API objects

    @cached_property
    def mautic_settings(self) -> Settings:
        return Settings.from_config(self.config)


    @cached_property
    def change_tracking(self) -> ChangeTracking:
        """How this run finds changed contacts and companies (by version; tap_mautic.changes)."""
        return ChangeTracking(self)

    def server_start_time(self) -> datetime:
        """Mautic's clock (``Date`` header) at the first call of the run, to the second, cached.

        Bookmarks are bounded by it, so a change made while the run pages is read again next run. The
        first answer of the run (discovery's field and stats reads, before any record is read) gives it;
        only a run that has made no call yet asks ``users/self`` (one call saved: ~0.65 s on a real 5.1.0).
        """
        cached = getattr(self, "_server_start", None)
        if cached is not None:
            return cached
        with self._server_time_lock:
            if getattr(self, "_server_start", None) is None:
                self._server_start = self._fetch_server_time()
        return self._server_start

    def _fetch_server_time(self) -> datetime:
        seen = self.client.first_date
        if seen and self.client.version:
            try:
                return parsedate_to_datetime(seen).astimezone(timezone.utc).replace(microsecond=0)
            except (TypeError, ValueError):
                pass
        response: requests.Response | None = None
        try:
            response, _ = self.client.request_full("GET", "users/self")
        except ConfigurationError:
            raise
        except MauticError as exc:
            self.logger.warning("Could not read Mautic's clock (%s); using this machine's clock.", exc)
        if response is not None:
            self._mautic_version = response.headers.get("Mautic-Version")
        header = response.headers.get("Date") if response is not None else None
        if header:
            try:
                return parsedate_to_datetime(header).astimezone(timezone.utc).replace(microsecond=0)
            except (TypeError, ValueError):
                pass
        return datetime.now(timezone.utc).replace(microsecond=0)

    def mautic_capabilities(self) -> Capabilities:
        """What this run may rely on, from the ``Mautic-Version`` header of the clock call."""
        self.server_start_time()
        version = getattr(self, "_mautic_version", None) or self.client.version
        return versions.capabilities(version)

    # ----------------------------------------------------------------------------- discovery

    def custom_fields(self, object_: str) -> list[dict[str, Any]]:
        """The custom fields of ``contact``/``company`` now (empty, with a warning, when not readable).

        A list read ahead by :meth:`discover_streams` in this process is used once; nothing is kept across
        runs, so a field created since the last run is in this run's schema."""
        ahead = getattr(self, "_fields_ahead", {}).pop(object_, None)
        return ahead.result() if ahead is not None else self._read_fields(object_)

    def stats_tables(self) -> dict[str, list[str]]:
        """``/api/stats`` tables and columns, plus the required tables as recorded on 5.1.0 if missing."""
        try:
            tables = dict(self.client.stats_tables())
        except PermissionDeniedError as exc:
            self.logger.warning("Cannot read /api/stats (%s); using the 5.1.0 column lists.", str(exc)[:200])
            tables = {}
        for table in REQUIRED_TABLES:
            tables.setdefault(table, RECORDED_TABLE_COLUMNS[table])
        return tables

    @override
    def discover_streams(self) -> list:
        """The streams, from /api/stats and both /api/fields lists read at the same time (three requests
        of ~0.5 s each on a real Mautic 5.1.0 with two PHP workers: sequential they delayed the first page
        by ~1.5 s), as many at once as ``max_concurrency`` allows."""
        lanes = min(2, int(self.config.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY) - 1)
        if lanes < 1:  # max_concurrency 1: one request at a time, here too
            return self._build(self.stats_tables())
        with ThreadPoolExecutor(lanes, "mautic-discover") as pool:
            ahead: dict[str, Future[list[dict[str, Any]]]] = {
                obj: pool.submit(self._read_fields, obj) for obj in ("contact", "company")}
            self._fields_ahead = ahead
            tables = self.stats_tables()
            streams = self._build(tables)
        return streams

    def _read_fields(self, object_: str) -> list[dict[str, Any]]:
        try:
            return list(self.client.fields(object_))
        except PermissionDeniedError as exc:
            self.logger.warning(
                "Cannot read /api/fields/%s (%s): the %s stream gets only its fixed properties.",
                object_, str(exc)[:200], "contacts" if object_ == "contact" else "companies",
            )
            return []

    def _build(self, tables: dict[str, list[str]]) -> list:
        streams = [*build_streams(self, tables), *build_history_streams(self, tables)]
        names = sorted(stream.name for stream in streams)
        options = self.config.get("stream_options") or {}
        for name in sorted(options) if isinstance(options, dict) else []:
            if name not in names:
                self.logger.warning("Setting 'stream_options': %s", _not_a_stream(name, names))
        return streams

    def config_check(self) -> str | None:
        """Beyond the schema: ``start_date`` must parse (a JSON-schema format is not enforced), and
        ``partition_index`` must name one of the ``partition_count`` partitions."""
        count, index = self.config.get("partition_count", 1), self.config.get("partition_index", 0)
        if isinstance(count, int) and isinstance(index, int) and not 0 <= index < count:
            return (f"Setting 'partition_index' must be 0 to partition_count - 1 = {count - 1} "
                    f"(got {index}).")
        if isinstance(count, int) and count > 1 and not self.config.get("partition_id_span"):
            return ("Setting 'partition_id_span' is required with partition_count > 1: the same id span "
                    "(about the largest id today) in every partition's run, so the ranges line up.")
        start = self.config.get("start_date")
        if start in (None, ""):
            return None
        try:  # the codec's parser: the one the streams read start_date with
            parse_datetime(str(start))
        except ValueFormatError:
            return (f"Setting 'start_date' must be an ISO 8601 date or date-time, e.g. "
                    f"2024-01-31T00:00:00Z (got {str(start)[:40]!r}).")
        return None

    @override  # type: ignore[misc]  # final in singer-sdk; this only adds a warning first
    def sync_all(self) -> None:
        """A catalog that selects streams this tap does not have would sync nothing, silently: say so."""
        catalog = self.input_catalog
        if catalog is not None:
            names = sorted(self.streams)
            unknown = sorted(sid for sid in catalog if sid not in self.streams)
            for sid in unknown:
                self.logger.warning("Catalog: %s; it is not synced.", _not_a_stream(sid, names))
            if unknown and not any(stream.selected for stream in self.streams.values()):
                self.logger.warning("The catalog selects no stream of tap-mautic: nothing is synced.")
        super().sync_all()

    # --------------------------------------------------------------------------- connection test

    def check_connection(self) -> str:
        """One cheap call; the Mautic version and user, or a ConfigurationError naming cause and fix."""
        # At most one retry: a wrong base_url should be reported in seconds, not after a full backoff.
        client = MauticClient({**self.config, "max_retries": min(1, self.mautic_settings.max_retries)},
                              logger=self.logger, advise=False)
        response, body = client.request_full("GET", "users/self")
        version = response.headers.get("Mautic-Version") or "unknown version"
        user = body.get("username") if isinstance(body, dict) else None
        who = user or "the configured client"
        return f"Connected to Mautic {version} at {scrub_url(client.base_url)} as {who}."

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """``--test``: one cheap call reporting the Mautic version (``--test=schema`` as in the SDK)."""
        if value != "all":
            super().cb_test(ctx, param, value)
            return
        config = ctx.params.get("config")
        tap = cls(config=config.config if config else None,
                  parse_env_config=bool(config and config.parse_env), validate_config=True,
                  setup_mapper=False)
        click.echo(tap.check_connection(), err=True)
        ctx.exit()

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        return MauticCommand.of(super().get_singer_command(), one_line=TAP_ONE_LINE_ERRORS)


def _not_a_stream(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"'{name}' is not a stream" + (f"; did you mean '{close[0]}'?" if close else "")


if __name__ == "__main__":
    TapMautic.cli()
