"""MauticStream: the one REST base class every tap-mautic stream derives from.

Why one base: every Mautic list is the same protocol (a PHP-bracket query, an envelope with a list key,
``[]``/``{}``/id-keyed containers, errors that may arrive inside a 200), so paging, error mapping, retries
and verification live here once. HTTP goes through the shared ``mautic_api`` session (auth, pooling, the
Mautic-Version log) and every answer through ``mautic_api.http.classify_response``, so the tap and the
target read Mautic the same way.

Paging is keyset, never offset: ``orderBy=id ASC`` + ``where id gt <last id>`` + a fixed positive limit,
ending on an empty page (a short page proves nothing in Mautic). Mautic silently drops a ``where`` clause
it does not understand and then returns *everything*; each page is therefore checked against the filter
it was asked for, and a page that does not satisfy it stops the sync with an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator

from mautic_api.client import check_where
from mautic_api.errors import (
    ConfigurationError,
    MauticError,
    PermissionDeniedError,
    scrub_url,
)
from mautic_api.http import php_query, response_json, tls_error_text
from mautic_api.retry import wait_generator
from mautic_api.sdk import MauticStreamMixin, sdk_error
from tap_mautic.fields import RecordConverter, to_datetime
from tap_mautic.progress import Progress
from tap_mautic.schemas import MODIFIED_AT

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_mautic.tap import TapMautic


class StreamPermissionDenied(FatalAPIError):
    """The credentials may not read this stream's endpoint: the stream is skipped with one warning."""


class FilterIgnoredError(FatalAPIError):
    """Mautic answered with records outside the requested filter (a dropped ``where`` clause)."""


def where_time(value: datetime) -> str:
    """Mautic's ``where`` value for a timestamp: naive UTC ``YYYY-MM-DD HH:MM:SS``."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class QueryPass:
    """One filtered walk over a list: extra ``where`` clauses and the check each record must pass."""

    label: str
    where: list[dict[str, Any]] = field(default_factory=list)
    check: Callable[[dict[str, Any]], bool] | None = None


class KeysetPaginator(BaseAPIPaginator[Any]):
    """Token = the key of the last record of the previous page; ``None`` before the first page.

    The stream computes the next token while it parses a page (``MauticStream._next_token``); an empty page
    ends the walk (singer-sdk stops on a page without records), except when the stream asks to go on
    (composite keys: the end of one group is not the end of the table).
    """

    def __init__(self, stream: MauticStream, start_value: Any = None) -> None:
        super().__init__(start_value)
        self._stream = stream

    def get_next(self, response: requests.Response) -> Any:
        return self._stream._next_token

    def has_more(self, response: requests.Response) -> bool:
        return self._stream._next_token is not None

    def continue_if_empty(self, response: requests.Response) -> bool:
        return self._stream.continue_after_empty_page()


class MauticStream(MauticStreamMixin, RESTStream[Any]):
    """A Mautic list endpoint read with keyset paging, the shared session and the shared error policy."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE  # post_process types and filters (see below)
    primary_keys: tuple[str, ...] = ("id",)
    list_key: str = ""
    supports_minimal: bool = False
    permission: str = "view access to this context"
    drop_properties: tuple[str, ...] = ()

    def __init__(
        self,
        tap: TapMautic,
        *,
        name: str,
        path: str,
        schema: dict[str, Any],
        list_key: str,
        primary_keys: tuple[str, ...] = ("id",),
        replication_key: str | None = None,
        supports_minimal: bool = False,
        permission: str | None = None,
    ) -> None:
        self.list_key = list_key
        self.supports_minimal = supports_minimal
        if permission:
            self.permission = permission
        super().__init__(tap, name=name, schema=schema, path=path)
        self.primary_keys = list(primary_keys)
        self.replication_key = replication_key
        self._tap_ref = tap
        self._converter = RecordConverter(schema["properties"], self.logger, name)
        self._pass = QueryPass("all")
        self._token: Any = None  # token of the request in flight
        self._next_token: Any = None
        self._yielded = 0
        self._progress: Progress | None = None
        self._seen_keys: set[Any] = set()
        self._schema_keys: frozenset[str] | None = None
        self._warned_keys: set[str] = set()

    # ----------------------------------------------------------------------------------- settings

    @property
    def tap(self) -> TapMautic:
        return self._tap_ref

    @property
    def options(self) -> Mapping[str, Any]:
        """This stream's entry of ``stream_options`` (empty when absent)."""
        return (self.config.get("stream_options") or {}).get(self.name) or {}

    @property
    def page_size(self) -> int:
        size = self.options.get("page_size") or self.config.get("page_size") or 200
        return max(1, int(size))

    # ----------------------------------------------------------------------------- HTTP plumbing
    # Session, authenticator, url_base, timeout and max tries come from mautic_api's MauticStreamMixin.

    def request_decorator(self, func: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
        """Map transport errors the way mautic_api does (TLS/URL problems are fatal, not retried)."""

        def send(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
            try:
                return func(prepared, context)
            except requests.exceptions.SSLError as exc:
                raise sdk_error(ConfigurationError(
                    f"{tls_error_text(exc)} ({scrub_url(self.mautic_client.base_url)})"
                )) from None
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema):
                raise sdk_error(ConfigurationError("Setting 'base_url' is not a valid URL.")) from None

        return super().request_decorator(send)

    def backoff_wait_generator(self) -> Iterator[float]:  # type: ignore[override]
        """mautic_api's policy (server-requested wait, else jittered exponential), scaled by
        ``backoff_factor``."""
        factor = float(self.config.get("backoff_factor") or 1.0)
        return wait_generator(factor=factor, max_value=60.0 * factor)

    def backoff_handler(self, details: Any) -> None:
        exc = details.get("exception")
        self.logger.warning(
            "Stream '%s': %s; retry %d/%d in %.1f s", self.name,
            str(exc).splitlines()[0][:300] if exc else "?",
            details.get("tries", 0), self.backoff_max_tries() - 1, details.get("wait") or 0.0,
        )

    def stream_error(self, exc: MauticError) -> Exception:
        """No access: the stream is skipped; config errors stay one line; the rest name the stream."""
        if isinstance(exc, PermissionDeniedError):
            return StreamPermissionDenied(str(exc))
        if isinstance(exc, ConfigurationError):
            return sdk_error(exc)
        return FatalAPIError(f"Stream '{self.name}': {exc}")

    # --------------------------------------------------------------------------------- requests

    def get_new_paginator(self) -> KeysetPaginator:
        return KeysetPaginator(self, self.start_token())

    def start_token(self) -> Any:
        """The first page's token (None: from the beginning)."""
        return None

    def continue_after_empty_page(self) -> bool:
        return False

    def list_params(self, token: Any) -> dict[str, Any]:
        """Query of one page: keyset on id, this pass's filters, the stream's options."""
        where = list(self._pass.where)
        if token is not None:
            where.append({"col": "id", "expr": "gt", "val": token})
        params: dict[str, Any] = {"limit": self.page_size, "orderBy": "id", "orderByDir": "ASC"}
        if where:
            params["where"] = check_where(where)
        search = self.options.get("search")
        if search:
            params["search"] = search
        if self.supports_minimal and self.options.get("minimal"):
            params["minimal"] = 1
        return params

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """PHP-bracket query (``where[0][col]=id``); remembers the token to verify the answer against."""
        self._token = next_page_token
        return dict(php_query(self.list_params(next_page_token)))

    # ---------------------------------------------------------------------------------- parsing

    def extract_rows(self, body: Any) -> list[dict[str, Any]]:
        """The records under the list key, whatever the container (id-keyed object, array, [] or {})."""
        if not isinstance(body, Mapping):
            raise FatalAPIError(
                f"Stream '{self.name}': unexpected answer (not a JSON object) from {self.path}"
            )
        container = body.get(self.list_key)
        if container is None:
            raise FatalAPIError(
                f"Stream '{self.name}': answer of {self.path} has no '{self.list_key}' list "
                f"(keys: {', '.join(sorted(body))[:200]})"
            )
        rows = list(container.values()) if isinstance(container, Mapping) else list(container)
        for row in rows:
            if not isinstance(row, Mapping) or (row.get("id") is None and "id" in self.primary_keys):
                # Mautic 5.0 + jms/serializer-bundle >= 5.3 serialises entities as empty objects.
                raise FatalAPIError(
                    f"Stream '{self.name}': Mautic returned items without an id (the Mautic 5.0 serializer "
                    "bug, mautic/mautic#13243); upgrade Mautic or pin jms/serializer-bundle < 5.3."
                )
        return [dict(row) for row in rows]

    def verify_page(self, rows: list[dict[str, Any]]) -> None:
        """Fail loudly when Mautic ignored the keyset or the pass's filter."""
        ids = [int(row["id"]) for row in rows]
        if ids != sorted(ids) or len(set(ids)) != len(ids):
            raise FilterIgnoredError(
                f"Stream '{self.name}': Mautic ignored orderBy=id (ids out of order); refusing to page on it."
            )
        if self._token is not None and ids and ids[0] <= int(self._token):
            raise FilterIgnoredError(
                f"Stream '{self.name}': Mautic ignored the filter 'id gt {self._token}' (got id {ids[0]}); "
                "refusing to continue, records could be lost."
            )
        if self._pass.check is not None:
            bad = next((row for row in rows if not self._pass.check(row)), None)
            if bad is not None:
                raise FilterIgnoredError(
                    f"Stream '{self.name}': Mautic ignored the filter of pass '{self._pass.label}' "
                    f"(record id {bad.get('id')} does not satisfy it); refusing to continue."
                )

    def next_token(self, rows: list[dict[str, Any]]) -> Any:
        return int(rows[-1]["id"]) if rows else None

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        _, body = response_json(response)
        rows = self.extract_rows(body)
        if self._progress is not None and isinstance(body, Mapping):
            total = body.get("total")
            if isinstance(total, int) or (isinstance(total, str) and total.isdigit()):
                self._progress.expect(int(total))
        self.verify_page(rows)
        self._next_token = self.next_token(rows)
        yield from rows

    # ---------------------------------------------------------------------------------- records

    def query_passes(self, context: Context | None) -> list[QueryPass]:
        """The walks one sync makes over the list (one unfiltered walk by default)."""
        return [QueryPass("all")]

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Run each pass with keyset paging, de-duplicating by primary key within the run."""
        seen: set[Any] = set()
        self._seen_keys = seen  # read by passes computed while the run goes on (tap_mautic.changes)
        self._yielded = 0
        progress = self._progress = Progress(self.name, self.logger)
        try:
            for query in self.query_passes(context):
                self._pass = query
                self._next_token = None
                progress.start_walk()
                for row in self.request_records(context):
                    key = tuple(row.get(k) for k in self.primary_keys)
                    if key in seen:
                        continue
                    seen.add(key)
                    self._yielded += 1
                    progress.tick()
                    yield row
            for row in self.extra_records(context):
                progress.tick()
                yield row
            if context is None or progress.records:
                progress.finish()
        except StreamPermissionDenied as exc:
            if self._yielded:
                raise
            self.logger.warning(
                "Skipping stream '%s': the Mautic user may not read %s (needs permission %s). %s",
                self.name, self.path, self.permission, str(exc).splitlines()[0][:200],
            )

    def extra_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Records after the passes (deletion markers)."""
        return ()

    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        for name in self.drop_properties:
            row.pop(name, None)
        row = self._converter.convert_record(row, row.get("id"))
        if self.options.get("published_only") and row.get("isPublished") is False:
            return None
        return self._keep_schema_properties(row)

    def _keep_schema_properties(self, row: dict[str, Any]) -> dict[str, Any]:
        """Drop properties the (catalog's) schema does not declare, warning once per stream.

        post_process already emits JSON values of the declared types, so singer-sdk's own type conformance
        (its largest per-record cost) is switched off and only this key filter remains.
        """
        keys = self._schema_keys
        if keys is None:
            keys = self._schema_keys = frozenset(self.effective_schema.get("properties", {}))
        extra = [k for k in row if k not in keys]
        if extra:
            new = sorted(set(extra) - self._warned_keys)
            if new:
                self._warned_keys.update(new)
                self.logger.warning("Stream '%s': properties not in the schema are left out: %s",
                                    self.name, ", ".join(new))
            for key in extra:
                del row[key]
        return row

    # ------------------------------------------------------------------------------ incremental

    def get_replication_key_signpost(self, context: Context | None = None) -> datetime | None:
        """The bookmark never passes the server's time at the start of the run (changes during it are
        re-read next time)."""
        if not self.replication_key or not self.is_timestamp_replication_key:
            return None
        return self.tap.server_start_time()

    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        # Timestamp bookmarks are the server's time at the start of the run, never a record's value:
        # once the walk completes, every change made before that instant has been read (keyset on id
        # does not skip rows), and changes made while it paged are read again next run. singer-sdk
        # promotes this progress marker only when the stream completes (is_sorted = False).
        key = self.replication_key
        if key and self.is_timestamp_replication_key:
            latest_record = {**latest_record, key: self.tap.server_start_time().isoformat()}
        super()._increment_stream_state(latest_record, context=context)

    def starting_time(self, context: Context | None) -> datetime | None:
        """The bookmark (or start_date) minus the look-back, or None for a full read."""
        if not self.replication_key:
            return None
        start = self.get_starting_timestamp(context)
        if start is None:
            return None
        lookback = float(self.config.get("lookback_seconds", 1))
        return start - timedelta(seconds=lookback)


def modified_at(row: Mapping[str, Any]) -> str | None:
    """dateModified, or dateAdded while Mautic leaves dateModified null, as ISO 8601 UTC."""
    for key in ("dateModified", "dateAdded"):
        value = row.get(key)
        if value:
            try:
                return to_datetime(value)
            except ValueError:
                continue
    return None


__all__ = ["MODIFIED_AT", "KeysetPaginator", "MauticStream", "QueryPass", "modified_at", "where_time"]
