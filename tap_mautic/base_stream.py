"""MauticStream: the one REST base class every tap-mautic stream derives from.

Why one base: every Mautic list is the same protocol (a PHP-bracket query, an envelope with a list key,
``[]``/``{}``/id-keyed containers, errors that may arrive inside a 200), so paging, error mapping, retries
and verification live here once. HTTP goes through the shared ``mautic_api`` session (auth, pooling, the
Mautic-Version log) and every answer through ``mautic_api.http.classify_response``, so the tap and the
target read Mautic the same way.

What drives paging: this module, not singer-sdk's ``request_records``. ``get_records`` (the SDK's public
hook for a stream that fetches its own records) runs each pass as one walk of ``mautic_api.paging`` (keyset
on id, a composite key, or an offset for form submissions), and :meth:`MauticStream.read_pages` is the page
loop: the walk owns its position and checks every answer against the query it asked for (Mautic silently
drops a ``where`` clause it does not understand and then returns *everything*). singer-sdk's loop cannot
read the next page ahead, cut a walk into id ranges, or checkpoint after each page, so it is not used; the
loop uses only public SDK hooks for each request: ``get_http_request`` + ``get_url_params`` (the query),
``build_prepared_request`` (auth), ``request_decorator`` (retries), ``validate_response`` (error mapping)
and the ``metrics`` module (the request counter and duration). With ``max_concurrency`` 1 the next page is
fetched while the current one's records are processed (one request in flight); above 1 a keyset walk larger
than two pages is cut into id ranges read at the same time and emitted in id order
(:mod:`tap_mautic.slices`), so checkpoints and bookmarks mean exactly what they mean sequentially.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import backoff
import requests
from singer_sdk import RESTStream, metrics
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from mautic_api.client import MauticClient
from mautic_api.errors import ConfigurationError, MauticError, PermissionDeniedError
from mautic_api.http import php_query, response_json, transport_error
from mautic_api.paging import (
    CompositeKeysetPaginator,
    KeysetPaginator,
    PageQuery,
    Paginator,
    range_complete,
    split_ids,
)
from mautic_api.retry import wait_generator
from mautic_singer.sdk import MauticStreamMixin, MauticStreamSeam, sdk_error
from tap_mautic.checkpoint import (
    CHECKPOINT_KEY,
    Checkpoint,
    note_resumable,
    pass_key,
    quiet_unsorted_warning,
    resume_walk,
)
from tap_mautic.fields import RecordConverter, to_datetime
from tap_mautic.partition import IdRange, bound_walk, in_range, pinned_range
from tap_mautic.progress import Progress
from tap_mautic.schemas import MODIFIED_AT
from tap_mautic.slices import SlicePage, read_in_order

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class ChangeTracker(Protocol):
    """What the streams use of the run's change detection (:class:`tap_mautic.changes.ChangeTracking`)."""

    audit_denied: bool

    def instance_moves_date_modified(self) -> bool: ...

    def uses_audit_log(self) -> bool: ...

    def changed_ids(self, stream: str, audit_object: str, start: datetime,
                    page_size: int) -> set[int] | None: ...

    def merges_after(self, audit_id: int, page_size: int) -> list[tuple[int, int, int | None]] | None: ...

    def cached_merge_rows(self, audit_id: int) -> list[dict[str, Any]] | None: ...

    def remember_merge_rows(self, audit_id: int, rows: list[dict[str, Any]]) -> None: ...

    def full_read_due(self, state: dict[str, Any], every: int) -> bool: ...

    def count_run(self, state: dict[str, Any], full: bool) -> None: ...


class StreamTap(Protocol):
    """What a stream uses of its tap (:class:`tap_mautic.tap.TapMautic` is the one): the streams are built
    by the tap, so they name the services they need, not the tap module (no import circle)."""

    @property
    def config(self) -> Mapping[str, Any]: ...

    @property
    def client(self) -> MauticClient: ...

    @property
    def change_tracking(self) -> ChangeTracker: ...

    def server_start_time(self) -> datetime: ...

    def custom_fields(self, object_: str) -> list[dict[str, Any]]: ...

    def stats_tables(self) -> dict[str, list[str]]: ...


DEFAULT_MAX_CONCURRENCY = 4  # requests in flight per stream (measured: README "Performance")


class StreamPermissionDenied(FatalAPIError):
    """The credentials may not read this stream's endpoint: the stream is skipped with one warning."""


# What singer-sdk's request loop retries (``RESTStream.request_decorator``, singer-sdk 0.54).
RETRIED_EXCEPTIONS = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class SliceCancelledError(Exception):
    """A concurrent slice's request after its walk already ended; never retried, never seen by the run."""


class FilterIgnoredError(FatalAPIError):
    """Mautic answered with records outside the requested filter (a dropped ``where`` clause)."""


@dataclass
class QueryPass:
    """One filtered walk over a list: extra ``where`` clauses and the check each record must pass."""

    label: str
    where: list[dict[str, Any]] = field(default_factory=list)
    check: Callable[[Mapping[str, Any]], bool] | None = None


@dataclass
class Page:
    """One verified answer: the rows the stream emits, how many Mautic sent, and its ``total``."""

    rows: list[dict[str, Any]]
    size: int
    total: int | None

    @property
    def trimmed(self) -> bool:
        return len(self.rows) < self.size


# [misc]: MauticStreamMixin.timeout is float seconds (mautic_api's request_timeout); singer-sdk declares int
# [misc] below: see the comment above
class MauticStream(MauticStreamSeam, MauticStreamMixin, RESTStream[Any]):  # type: ignore[misc]
    """A Mautic list endpoint read with keyset paging, the shared session and the shared error policy."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE  # post_process types and filters (see below)
    primary_keys: Sequence[str] = ("id",)
    list_key: str = ""
    supports_minimal: bool = False
    permission: str = "view access to this context"
    drop_properties: tuple[str, ...] = ()
    id_partitioned: bool = True  # False: read whole by partition 0 only (no single id key)
    # True: a sliced walk starts with its largest-id probe and cuts every range from its answer (no page read
    # alone before the slices start; one request more for a walk of one page): the large streams
    eager_probe: bool = False

    def __init__(
        self,
        tap: StreamTap,
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
        # a StreamTap is always a singer-sdk Tap (TapMautic): the Protocol names only what the stream uses
        # [arg-type] below: see the comment above
        super().__init__(tap, name=name, schema=schema, path=path)  # type: ignore[arg-type]
        self.primary_keys = list(primary_keys)
        self.replication_key = replication_key
        self._tap_ref = tap
        self._converter = RecordConverter(schema["properties"], self.logger, name)
        self._progress: Progress | None = None
        self._seen_keys: set[Any] = set()
        self._schema_keys: frozenset[str] | None = None
        self._warned_keys: set[str] = set()
        quiet_unsorted_warning()  # see tap_mautic.checkpoint.UnsortedWarningFilter

    # ----------------------------------------------------------------------------------- settings

    @property
    def tap(self) -> StreamTap:
        return self._tap_ref

    @property
    def options(self) -> Mapping[str, Any]:
        """This stream's entry of ``stream_options`` (empty when absent)."""
        return (self.config.get("stream_options") or {}).get(self.name) or {}

    @property
    def page_size(self) -> int:
        size = self.options.get("page_size") or self.config.get("page_size") or 200
        return max(1, int(size))

    def partition_bounds(self, state: dict[str, Any], context: Context | None) -> IdRange | None:
        """This run's id range (``partition_count``/``partition_index``); None: the stream is not read."""
        count = int(self.config.get("partition_count") or 1)
        index = int(self.config.get("partition_index") or 0)
        if count <= 1:
            return None, None
        if not self.id_partitioned:
            if index == 0:
                return None, None
            self.logger.info("Stream '%s': not keyed by one id, read by partition 0 only.", self.name)
            return None
        span = int(self.config.get("partition_id_span") or 0)
        bounds = pinned_range(state, count, index, span)
        self.logger.info("Stream '%s': partition %d of %d, ids above %s up to %s.", self.name, index, count,
                         bounds[0] if bounds[0] is not None else "the first",
                         bounds[1] if bounds[1] is not None else "the last")
        return bounds

    # ----------------------------------------------------------------------------- HTTP plumbing
    # Session, authenticator, url_base, timeout and max tries come from mautic_api's MauticStreamMixin.

    @override
    def request_decorator(self, func: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
        """singer-sdk's retry loop around ``func``, with mautic_api's reading of its failures.

        A transport error (``http.transport_error``) that is about the config (TLS, URL) is one config line,
        never retried; the rest go to singer-sdk's retry loop as they are. When the retries are spent
        (``max_retries`` or ``max_retry_seconds``), the last failure becomes one line naming the stream, the
        cause and the attempts, as a request of the target or of the field discovery says it: a
        ``requests`` exception must not leave the loop, or the run ends in chained tracebacks. This holds on
        every thread that sends (the read-ahead, the concurrent slices): their exception is re-raised on the
        emitting thread, already mapped. singer-sdk's own decorator (``RESTStream.request_decorator``) is
        rebuilt here with the same retried exceptions but without ``backoff``'s log lines: they print the raw
        ``requests`` text (an ERROR "Giving up" line beside ours); :meth:`backoff_handler` says it once.
        """

        def retried(target: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
            return backoff.on_exception(
                self.backoff_wait_generator, RETRIED_EXCEPTIONS, max_tries=self.backoff_max_tries,
                on_backoff=self.backoff_handler, jitter=self.backoff_jitter, logger=None,
            )(target)

        def send(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
            attempts = 0

            def attempt(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
                nonlocal attempts
                attempts += 1
                try:
                    return func(prepared, context)
                except requests.RequestException as exc:
                    path = urlsplit(str(prepared.url or "")).path
                    mapped = transport_error(exc, prepared.method or "GET", path)
                    if isinstance(mapped, ConfigurationError):
                        raise sdk_error(mapped) from None
                    raise

            try:
                return retried(attempt)(prepared, context)
            except requests.RequestException as exc:
                path = urlsplit(str(prepared.url or "")).path
                mapped = transport_error(exc, prepared.method or "GET", path)
                raise self.stream_error(self.gave_up(mapped, attempts)) from None
            except RetriableAPIError as exc:
                cause = exc.__cause__ if isinstance(exc.__cause__, MauticError) else MauticError(str(exc))
                raise self.stream_error(self.gave_up(cause, attempts)) from None

        return send

    @staticmethod
    def gave_up(exc: MauticError, attempts: int) -> MauticError:
        """``exc`` once its request's retries are spent: its message says after how many attempts."""
        exc.args = (f"{exc.args[0] if exc.args else exc} (gave up after {attempts} attempts)",)
        return exc

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """mautic_api's policy (server-requested wait, else jittered exponential), scaled by
        ``backoff_factor``."""
        factor = float(self.config.get("backoff_factor") or 1.0)
        return wait_generator(factor=factor, max_value=60.0 * factor,
                              budget=self.mautic_client.settings.max_retry_seconds)

    @override
    def backoff_handler(self, details: Any) -> None:
        exc = details.get("exception")
        if isinstance(exc, requests.RequestException):  # mautic_api's words, not the raw requests text
            request = exc.request
            exc = transport_error(exc, (request.method if request else None) or "GET",
                                  urlsplit(str((request.url if request else None) or "")).path)
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

    def start_token(self) -> Any:
        """The first page's key (None: from the beginning)."""
        return None

    def label(self) -> str:
        return f"Stream '{self.name}'"

    def new_walk(self, query: QueryPass, context: Context | None) -> Paginator:
        """The paginator of one pass: keyset on id over the pass's filter, checked with its check."""
        return KeysetPaginator(
            page_size=self.page_size, where=query.where, check=query.check, what=f"pass '{query.label}'",
            label=self.label(), error=FilterIgnoredError, lower=self.start_token(),
            stop_at=getattr(query, "last_key", None),
        )

    def page_params(self, query: PageQuery) -> dict[str, Any]:
        """Query of one page: the walk's query, the stream's options."""
        params = query.list_params()
        search = self.options.get("search")
        if search:
            params["search"] = search
        if self.supports_minimal and self.options.get("minimal"):
            params["minimal"] = 1
        return params

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """PHP-bracket query (``where[0][col]=id``) of the walk's next query."""
        return dict(php_query(self.page_params(next_page_token)))

    def read_walk(self, walk: Paginator, context: Context | None) -> Iterator[dict[str, Any]]:
        """Every record of one walk, each page verified before its records are yielded."""
        for rows in self.read_pages(walk, context):
            yield from rows

    def prepare_query(self, query: PageQuery, context: Context | None) -> requests.PreparedRequest:
        """The request for one query, built by the SDK's public hooks (``get_http_request``, which calls
        :meth:`get_url_params`, then ``build_prepared_request``, which applies the authenticator)."""
        request = self.get_http_request(page=PageContext(stream_context=context, next_page_token=query))
        body = "json" if self.payload_as_json else "data"
        return self.build_prepared_request(method=request.method, url=request.url,
                                           params=request.encode_params(), headers=request.headers,
                                           **{body: request.data})

    def send_prepared(self, prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
        """One exchange, as singer-sdk's own loop makes it: authenticated again at each try (a refreshed
        token is used on a retry), the SDK's request-duration metric, then :meth:`validate_response`."""
        prepared = self.authenticator(prepared)
        response = self.requests_session.send(prepared, timeout=self.timeout,
                                              allow_redirects=self.allow_redirects)
        ok = response.status_code < HTTPStatus.BAD_REQUEST
        tags: dict[Any, Any] = {metrics.Tag.CONTEXT: context} if context else {}
        metrics.log(self.metrics_logger, metrics.Point(
            "timer", metric=metrics.Metric.HTTP_REQUEST_DURATION, value=response.elapsed.total_seconds(),
            tags={metrics.Tag.STREAM: self.name, metrics.Tag.ENDPOINT: self.path,
                  metrics.Tag.HTTP_STATUS_CODE: response.status_code,
                  metrics.Tag.STATUS: metrics.Status.SUCCEEDED if ok else metrics.Status.FAILED, **tags}))
        self.validate_response(response)
        return response

    @property
    def concurrency(self) -> int:
        """Requests one stream may have in flight (``max_concurrency``; 1: one at a time)."""
        return max(1, int(self.config.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY))

    def read_pages(self, walk: Paginator, context: Context | None) -> Iterator[list[dict[str, Any]]]:
        """The pages of one walk (the records each run emits), each verified before it is yielded, in key
        order: sequentially, or in concurrent id-range slices for a plain keyset walk when
        ``max_concurrency`` > 1."""
        with self.get_http_request_counter() as counter:
            counter.with_context(context)
            if (self.concurrency > 1 and isinstance(walk, KeysetPaginator) and walk.stop_at is None
                    and not walk.trust_total):
                yield from self.read_sliced(walk, context, counter.increment)
            else:
                yield from self.read_sequential(walk, context, counter.increment)

    def read_sequential(self, walk: Paginator, context: Context | None,
                        count: Callable[[], None]) -> Iterator[list[dict[str, Any]]]:
        """The rest of a walk page after page. The next page is requested as soon as the current one is
        verified (its key is then known) and fetched while the current page's records are processed and
        written: still one request in flight. A keyset page that is short and holds its query's whole
        ``total`` ends the walk without the empty page that would otherwise prove it (as a slice does)."""
        send = self.request_decorator(self.send_prepared)
        with ThreadPoolExecutor(1, "mautic-page") as pool:
            pending: Future[requests.Response] | None = pool.submit(
                send, self.prepare_query(walk.query(), context), context)
            while pending is not None:
                response = pending.result()
                count()
                page = self.verified_page(walk, response)
                keyset = isinstance(walk, KeysetPaginator)
                if keyset and range_complete(page.size, walk.page_size, page.total):
                    walk.stop()
                pending = None if walk.finished else pool.submit(
                    send, self.prepare_query(walk.query(), context), context)
                yield page.rows

    def read_sliced(self, walk: KeysetPaginator, context: Context | None,
                    count: Callable[[], None]) -> Iterator[list[dict[str, Any]]]:
        """A keyset walk in concurrent id ranges, emitted in id order (:mod:`tap_mautic.slices`).

        A large stream (``eager_probe``) first asks for the largest id in the walk (``orderBy id DESC``,
        limit 1): that answer's ``total`` (Mautic's COUNT of the walk's query) and id cut the walk into
        ranges of about one page each, all started at once; a walk of one page is then read as one. Other
        streams read their first page alone: its ``total`` says whether the walk is worth cutting (more
        than two pages left), and only then is the probe sent. The last range keeps the walk's own upper
        bound (none: ids created during the run are read, as sequentially). The probe is only a hint: a
        wrong answer costs requests, never records, since every range is read until proven complete.
        """
        stop = threading.Event()

        def request(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
            if stop.is_set():  # the walk ended (an error elsewhere): no more tries for this slice
                raise SliceCancelledError(self.name)
            return self.send_prepared(prepared, context)

        send = self.request_decorator(request)
        if self.eager_probe:
            top, total = self.probe(walk, context, send)
            count()
            if top is None or total is None or total <= walk.page_size:
                yield from self.read_sequential(walk, context, count)
                return
            yield from self.read_spans(walk, context, count, send, stop, top, total)
            return
        first = self.verified_page(walk, self.send_query(walk.query(), context, send))
        count()
        yield first.rows
        if walk.finished or first.trimmed:
            return
        if range_complete(first.size, walk.page_size, first.total):
            walk.stop()
            return
        left = first.total - first.size if first.total is not None else 0
        top = None
        if left > walk.page_size:
            top, _ = self.probe(walk, context, send)
            count()
        if top is None:
            yield from self.read_sequential(walk, context, count)
            return
        yield from self.read_spans(walk, context, count, send, stop, top, left)

    def read_spans(self, walk: KeysetPaginator, context: Context | None, count: Callable[[], None],
                   send: Callable[..., requests.Response], stop: threading.Event, top: int,
                   rows: int) -> Iterator[list[dict[str, Any]]]:
        """The rest of ``walk`` (about ``rows`` rows up to id ``top``, then its own upper bound) in ranges
        read concurrently, emitted in id order."""
        lower = int(walk.last_id or 0)
        spans: list[tuple[int, int | None]] = (
            list(split_ids(lower, top, rows, walk.page_size)) if top > lower else [(lower, top)])
        spans[-1] = (spans[-1][0], walk.upper)

        def fetch(low: int, high: int | None) -> requests.Response:
            """On a slice thread: only the HTTP exchange (the body waits as bytes)."""
            return self.send_query(walk.bounded(low, high).query(), context, send)

        def finish(low: int, high: int | None, response: requests.Response) -> SlicePage:
            return self.slice_page(walk, low, high, response)

        for page in read_in_order(spans, fetch, self.concurrency, finish=finish, name=f"mautic-{self.name}",
                                  stop=stop):
            count()
            if page.rows:
                walk.last_id = int(page.rows[-1]["id"])
            yield page.rows
        walk.stop()

    def slice_page(self, walk: KeysetPaginator, lower: int, upper: int | None,
                   response: requests.Response) -> SlicePage:
        """The answer for the ids ``(lower, upper]`` of ``walk``'s query, verified by a paginator of that
        range, and the ranges left in it."""
        part = walk.bounded(lower, upper)
        page = self.verified_page(part, response)
        if page.trimmed:
            return SlicePage(page.rows, stopped=True)
        if part.finished or (upper is not None and range_complete(page.size, part.page_size, page.total)):
            return SlicePage(page.rows)
        # The open-ended last range is read until an empty page, as a sequential walk is; being last, that
        # request goes out after every other range, so rows created meanwhile are read in this run too.
        start = int(part.last_id or lower)
        left = page.total - page.size if page.total is not None else 0
        if upper is not None and left > part.page_size:
            return SlicePage(page.rows, list(split_ids(start, upper, left, part.page_size,
                                                       most=2 * self.concurrency)))
        return SlicePage(page.rows, [(start, upper)])

    def send_query(self, query: PageQuery, context: Context | None,
                   send: Callable[..., requests.Response]) -> requests.Response:
        """One query outside a walk's page sequence (a slice's page, the first page, the probe)."""
        return send(self.prepare_query(query, context), context)

    def probe(self, walk: KeysetPaginator, context: Context | None,
              send: Callable[..., requests.Response]) -> tuple[int | None, int | None]:
        """The largest id left in ``walk`` (its query ordered by id DESC, one row) and the answer's ``total``
        (the rows the query counts), each None when Mautic gave none."""
        query = walk.query()
        response = self.send_query(PageQuery(query.where, (("id", "DESC"),), 1), context, send)
        body = response_json(response)[1]
        ids = [int(row["id"]) for row in self.extract_rows(body)]
        total = body.get("total") if isinstance(body, Mapping) else None
        counted = int(total) if isinstance(total, int | str) and str(total).isdigit() else None
        if self._progress is not None and counted is not None:
            self._progress.expect(counted)
        return (max(ids) if ids else None), counted

    def verified_page(self, walk: Paginator, response: requests.Response) -> Page:
        """One answer extracted, checked by the walk (which advances) and trimmed by the stream; a trimmed
        page ends the walk."""
        _, body = response_json(response)
        rows = self.extract_rows(body)
        total = body.get("total") if isinstance(body, Mapping) else None
        if not (isinstance(total, int) or (isinstance(total, str) and total.isdigit())):
            total = None
        if self._progress is not None and total is not None:
            self._progress.expect(int(total))
        walk.accept(rows, int(total) if total is not None else None)
        kept = self.trim_page(rows)
        if len(kept) < len(rows):
            walk.stop()
        return Page(kept, len(rows), int(total) if total is not None else None)

    def trim_page(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of a verified page this run emits; fewer ends the walk (the rest is for a later run)."""
        return rows

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

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The records of one answer (unverified: streams read pages through :meth:`read_walk`)."""
        return self.extract_rows(response_json(response)[1])

    # ---------------------------------------------------------------------------------- records

    def query_passes(self, context: Context | None) -> Iterable[QueryPass]:
        """The walks one sync makes over the list (one unfiltered walk by default)."""
        return [QueryPass("all")]

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Run each pass with keyset paging, de-duplicating by primary key within the run.

        After every page whose records were all emitted, the stream's state gets a checkpoint
        (:mod:`tap_mautic.checkpoint`) and a STATE message goes out, so a run killed anywhere resumes at the
        page after the last one it emitted; the checkpoint is removed once the stream completes.
        """
        seen: set[Any] = set()
        self._seen_keys = seen  # read by passes computed while the run goes on (tap_mautic.changes)
        yielded = 0
        progress = self._progress = Progress(self.name, self.logger)
        keys = self.primary_keys
        single = len(keys) == 1
        state = self.get_context_state(context)
        start = self.starting_time(context) if self.is_timestamp_replication_key else None
        mark = Checkpoint.resume(state, start, self.tap.server_start_time())
        self._bookmark_cap = mark.window_end
        bounds = self.partition_bounds(state, context)
        if bounds is None:
            return
        self._read_whole = not mark.resumed  # a resumed read did not meet the ids before its resume point
        self._read_bounds = bounds
        if mark.resumed:
            self.logger.info("Stream '%s': resuming the interrupted run (%d pass(es) done, pass at id %s).",
                             self.name, len(mark.done), mark.last_id)
        try:
            for query in self.query_passes(context):
                key = pass_key(query)
                if key in mark.done:
                    continue
                progress.start_walk()
                walk = self.new_walk(query, context)
                bound_walk(walk, bounds)
                if mark.current == key and mark.last_id is not None:
                    resume_walk(walk, mark.last_id)
                mark.begin(key)
                for rows in self.read_pages(walk, context):
                    for row in rows:
                        # a single key is kept as itself, not a tuple: 100,000 ids cost a few MB less
                        pk = row.get(keys[0]) if single else tuple(row.get(k) for k in keys)
                        if pk in seen:
                            continue
                        seen.add(pk)
                        yielded += 1
                        progress.tick()
                        yield row
                    # every record of this page has been written: checkpoint it
                    if rows:
                        mark.advance(self.resume_token(walk, rows))
                        self.write_checkpoint(state, mark)
                mark.complete()
                self.write_checkpoint(state, mark)
            for row in self.extra_records(context):
                if not in_range(row.get("id"), bounds):
                    continue  # a deletion marker of another partition's id
                progress.tick()
                yield row
            state.pop(CHECKPOINT_KEY, None)
            if context is None or progress.records:
                progress.finish()
        except StreamPermissionDenied as exc:
            if yielded:
                raise
            state.pop(CHECKPOINT_KEY, None)
            self.logger.warning(
                "Skipping stream '%s': the Mautic user may not read %s (needs permission %s). %s",
                self.name, self.path, self.permission, str(exc).splitlines()[0][:200],
            )

    def resume_token(self, walk: Paginator, rows: list[dict[str, Any]]) -> Any:
        """Where a resumed walk starts after ``rows`` (the last page emitted): the last emitted key."""
        if isinstance(walk, KeysetPaginator):
            return int(rows[-1]["id"])
        if isinstance(walk, CompositeKeysetPaginator):
            first, second = walk.key
            return ["eq", int(rows[-1][first]), int(rows[-1][second])]
        return walk.token

    def write_checkpoint(self, state: dict[str, Any], mark: Checkpoint) -> None:
        """Store the checkpoint in the stream's state and emit a STATE message now (saying, where singer-sdk
        said otherwise, that the progress is resumable)."""
        state[CHECKPOINT_KEY] = mark.as_state()
        note_resumable(state)
        self.emit_state_now()

    def extra_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Records after the passes (deletion markers)."""
        return ()

    @override
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

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> datetime | None:
        """The bookmark never passes the server's time at the start of the run (changes during it are
        re-read next time)."""
        if not self.replication_key or not self.is_timestamp_replication_key:
            return None
        return self.bookmark_cap()

    def bookmark_cap(self) -> datetime:
        """The server's clock at the start of the run, or of the interrupted run this one resumes."""
        cap = getattr(self, "_bookmark_cap", None)
        return cap if cap is not None else self.tap.server_start_time()

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


__all__ = ["MODIFIED_AT", "ChangeTracker", "MauticStream", "QueryPass", "StreamTap", "modified_at"]
