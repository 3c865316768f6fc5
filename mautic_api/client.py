"""MauticClient: the Python counterpart of the PHP library's ``MauticApi::newApi($context, $auth, $url)``.

INTERFACE CONTRACT (tap_mautic and target_mautic code against exactly this). ``context`` arguments are
catalog names or :class:`~mautic_api.catalog.Context` objects. Every method raises the exceptions of
:mod:`mautic_api.errors`; retries happen inside ``request``.

Why one client for every context: the contexts differ only by the data in :mod:`mautic_api.catalog`
(path, envelope keys, list container), so one set of methods serves all of them, and normalisation
(id-keyed objects, arrays, ``{}`` and ``[]`` all become a list; ``total`` becomes an int) happens once.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from mautic_api.answers import BatchAnswerShape, BatchItemResult, ListPage
from mautic_api.catalog import BATCH, DELETE, EDIT, GET, LIST, NEW, Context, get_context
from mautic_api.concurrency import limiter_for
from mautic_api.contexts import ContextApi, read_list, read_list_walk
from mautic_api.errors import MauticAPIError, NotFoundError, SerializerBugError
from mautic_api.http import MauticSession, send
from mautic_api.paging import (
    CompositeKeysetPaginator,
    KeysetPaginator,
    OffsetPaginator,
    Paginator,
    check_where,
    iter_records,
)
from mautic_api.session import open_session
from mautic_api.settings import Settings

LOGGER = logging.getLogger("mautic_api")

BATCH_LIMIT = 200  # Mautic's default api_batch_max_limit; over it the whole batch is an HTTP 500
_NO_ID_CHECK = frozenset({"stats", "files", "themes", "reports"})

# ---------------------------------------------------------------------------------------------- helpers


def as_records(container: Any) -> list[Any]:
    """A list body's records as a list: id-keyed object, array, ``{}``, ``[]`` or null all work."""
    if container is None:
        return []
    if isinstance(container, Mapping):
        return list(container.values())
    if isinstance(container, list):
        return list(container)
    raise MauticAPIError(f"unexpected list container of type {type(container).__name__}")


def as_total(value: Any, default: int) -> int:
    """``total`` as an int, whether Mautic sent ``"87"``, ``87`` or ``87.0``."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return int(float(value))


def by_index(container: Any) -> dict[int, Any]:
    """Batch answer parts (``statusCodes``, the list, ``errors``) by input index.

    Mautic sends a JSON array when the PHP keys are 0..n-1 without gaps and an object keyed by index
    otherwise; in both cases position/key is the input index.
    """
    if container is None:
        return {}
    if isinstance(container, Mapping):
        out: dict[int, Any] = {}
        for key, value in container.items():
            try:
                out[int(key)] = value
            except (TypeError, ValueError):
                continue
        return out
    if isinstance(container, list):
        return dict(enumerate(container))
    return {}


def first_attempt_at(response: requests.Response) -> datetime | None:
    """Mautic's clock (``Date`` header) when a resent call was first sent (2 s early for whole seconds and
    the trip), or None when the call was not resent after a lost answer."""
    age = getattr(response, "mautic_first_attempt_age", None)
    header = response.headers.get("Date")
    if age is None or not header:
        return None
    try:
        now = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return now.astimezone(timezone.utc) - timedelta(seconds=age + 2)


# ---------------------------------------------------------------------------------------------- client


def _ceiling(config: Mapping[str, Any]) -> int | None:
    """``max_concurrency`` of a plugin's config (validated by its schema; None: the default)."""
    value = config.get("max_concurrency")
    try:
        return max(1, int(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


class MauticClient:
    """All HTTP to one Mautic instance: auth, pooled session, retries, error mapping, normalisation.

    ``config`` is the tap's or target's config (already alias-normalised by ``mautic_api.settings``;
    normalising again is harmless). Each client owns its session (connection pool, authenticator, token):
    a plugin run builds ONE client and shares it between its streams or sinks. Call :meth:`close` (or
    use it as a context manager) when done.
    """

    session: MauticSession
    base_url: str  # instance URL without /api, no trailing slash
    batch_limit: int = BATCH_LIMIT

    def __init__(self, config: Mapping[str, Any], *, logger: Any = None, advise: bool = True) -> None:
        """``advise=False`` when the plugin already validated (and advised on) this config."""
        self.logger = logger or LOGGER
        self.settings = Settings.from_config(config, self.logger, advise=advise)
        self.base_url = self.settings.base_url
        self.session = open_session(self.settings)
        self.auth = self.session.auth
        # max_concurrency (the tap's and the target's own setting) is the ceiling of the run's limiter
        self.session.limiter = limiter_for(self.settings.concurrency_mode, _ceiling(config), self.logger)

    @property
    def version(self) -> str | None:
        """Mautic-Version header of the first answer that carried it (None before any call)."""
        return self.session.mautic_version

    @property
    def first_date(self) -> str | None:
        """``Date`` header of the first successful answer (Mautic's clock then; None before any call)."""
        return self.session.first_date

    def secrets(self) -> list[str]:
        own = getattr(self.auth, "secrets", None)
        auth_secrets: list[str] = own() if callable(own) else []
        return [*self.settings.secrets(), *auth_secrets]

    def context(self, context: str | Context) -> ContextApi:
        """The PHP library's ``newApi($context, $auth, $url)``: one context as an object with ``get``,
        ``get_list``, ``iter_all``, ``create``, ``edit``, ``delete`` and the batch calls (see
        :mod:`mautic_api.contexts`)."""
        return ContextApi(self, context)

    def url(self, path: str) -> str:
        """``/api/<path>``, or the instance root when ``path`` starts with ``/``."""
        if path.startswith("/"):
            return f"{self.base_url}{path}"
        return f"{self.base_url}/api/{path.lstrip('/')}"

    # -- raw -------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        batch: bool = False,
        idempotent: bool = True,
    ) -> Any:
        """Send ``method`` to ``/api/<path>`` (``path`` starting with ``/`` is taken from the instance root),
        params PHP-bracket encoded, JSON body; return the decoded JSON body. Raises on any Mautic error,
        including ``errors`` inside a 200 (unless ``batch``: batch answers carry per-item errors)."""
        return self.request_full(
            method, path, params=params, json=json, batch=batch, idempotent=idempotent
        )[1]

    def request_full(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        batch: bool = False,
        idempotent: bool = True,
        shape: BatchAnswerShape | None = None,
    ) -> tuple[requests.Response, Any]:
        """Like :meth:`request`, returning ``(response, body)`` (for the status code or headers)."""
        if method.upper() == "PUT":
            raise ValueError(
                "PUT is never used: it blanks omitted fields and creates records on a missing id"
            )
        return send(
            self.session,
            method.upper(),
            self.url(path),
            params=params,
            json=json,
            max_retries=self.settings.max_retries,
            max_retry_seconds=self.settings.max_retry_seconds,
            secrets=self.secrets(),
            auth_method=self.settings.auth_method,
            logger=self.logger,
            batch=batch,
            idempotent=idempotent,
            shape=shape,
        )

    # -- reads -----------------------------------------------------------------------------------------
    def get(self, context: str | Context, item_id: int) -> dict[str, Any]:
        ctx = self._ctx(context, GET)
        body = self.request("GET", f"{ctx.path}/{item_id}")
        return self._item(ctx, body)

    def list_page(
        self,
        context: str | Context,
        *,
        search: str | None = None,
        start: int | None = None,
        limit: int | None = None,
        order_by: str | None = None,
        order_dir: str | None = None,
        where: Sequence[Mapping[str, Any]] | None = None,
        published_only: bool | None = None,
        minimal: bool | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> ListPage:
        """One page of ``context``. ``limit`` must be positive (0 means "everything" to Mautic)."""
        ctx = self._ctx(context, LIST)
        if limit is not None and limit <= 0:
            raise ValueError("limit must be positive (Mautic treats 0 as 'no limit')")
        if order_dir is not None and order_dir.upper() not in ("ASC", "DESC"):
            raise ValueError("order_dir must be ASC or DESC")
        query: dict[str, Any] = {
            "search": search,
            "start": start,
            "limit": limit,
            "orderBy": order_by,
            "orderByDir": order_dir.upper() if order_dir else None,
            "where": check_where(where),
            # the server reads `published`, not the documented `publishedOnly` (ignored when where is set)
            "published": True if published_only else None,
            "minimal": True if minimal else None,
        }
        query.update(params or {})
        body = self.request("GET", ctx.path, params={k: v for k, v in query.items() if v is not None})
        return self._page(ctx, body)

    def stats_tables(self) -> dict[str, list[str]]:
        """``/api/stats``: table name -> column names."""
        body = self.request("GET", "stats")
        if not isinstance(body, dict):
            raise MauticAPIError("GET /api/stats: unexpected answer")
        columns = body.get("tableColumns") or {}
        tables = body.get("availableTables") or list(columns)
        return {str(t): list(columns.get(t) or []) for t in tables}

    def stats_page(
        self,
        table: str,
        *,
        start: int = 0,
        limit: int = 100,
        order: Sequence[Mapping[str, str]] | None = None,
        where: Sequence[Mapping[str, Any]] | None = None,
    ) -> ListPage:
        if limit <= 0:
            raise ValueError("limit must be positive")
        query: dict[str, Any] = {
            "start": start,
            "limit": limit,
            "order": list(order or []) or None,
            "where": check_where(where),
        }
        body = self.request("GET", f"stats/{table}", params={k: v for k, v in query.items() if v is not None})
        if isinstance(body, dict) and "stats" not in body and "availableTables" in body:
            raise NotFoundError(
                f"GET /api/stats/{table}: unknown or not allowed stats table {table!r}", status=200
            )
        return self._page(get_context("stats"), body)

    def fields(self, object_: str = "contact") -> list[dict[str, Any]]:
        """Every custom field of ``contact`` or ``company`` (all pages: offset by id, ``total`` trusted)."""
        if object_ not in ("contact", "company"):
            raise ValueError("object_ must be 'contact' or 'company'")
        ctx = get_context(f"{object_}Fields")
        walk = OffsetPaginator(page_size=200, order=(("id", "ASC"),), trust_total=True, label=ctx.name)
        seen: dict[Any, dict[str, Any]] = {}
        for rec in iter_records(walk, lambda q: self.list_page(
                ctx, start=q.start, limit=q.limit, order_by="id", order_dir="ASC")):
            seen.setdefault(rec.get("id"), rec)
        return list(seen.values())

    # -- iterators (the paging engine, mautic_api.paging) -----------------------------------------------
    def iter_list(
        self,
        context: str | Context,
        *,
        where: Sequence[Mapping[str, Any]] | None = None,
        check: Callable[[Mapping[str, Any]], bool] | None = None,
        search: str | None = None,
        page_size: int = 200,
        published_only: bool = False,
        minimal: bool = False,
        lower: int | None = None,
        upper: int | None = None,
        **paginator_options: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``context`` matching ``where`` (and ``search``), in id order, all pages.

        THE list read for scripts and plugins (the target's look-ups, segment aliases): keyset on id
        (``orderBy=id``, ``where id gt <last id>``, ids in ``(lower, upper]`` when given), so records created
        or deleted meanwhile neither shift pages nor get read twice; ends on an empty page. Every page is
        checked before its records are yielded: ids ascending and above the last one, inside the bounds, and
        ``check(record)`` true (pass the Python form of your ``where`` to catch a clause Mautic dropped).
        Raises :class:`~mautic_api.paging.FilterIgnoredError` (or ``error=``) when Mautic ignored the query.
        ``paginator_options`` go to :class:`~mautic_api.paging.KeysetPaginator` (``label``, ``what``,
        ``messages``, ``error``, ``stop_at``).
        """
        return read_list(
            self.list_page, get_context(context), search=search, where=where, check=check,
            page_size=page_size,
            published_only=published_only, minimal=minimal, lower=lower, upper=upper,
            **{"label": get_context(context).name, **paginator_options},
        )

    def iter_stats(
        self,
        table: str,
        *,
        where: Sequence[Mapping[str, Any]] | None = None,
        check: Callable[[Mapping[str, Any]], bool] | None = None,
        key: tuple[str, str] | None = None,
        page_size: int = 100,
        lower: int | None = None,
        upper: int | None = None,
        **paginator_options: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``/api/stats/{table}`` matching ``where``: keyset on ``id`` (ids in
        ``(lower, upper]``), or on the two-column ``key`` of a table without ids (memberships); verified as
        :meth:`iter_list` verifies."""
        options = {"label": f"stats/{table}", **paginator_options}
        walk: Paginator
        if key is not None:
            walk = CompositeKeysetPaginator(page_size=page_size, where=list(where or ()), check=check,
                                            key=key, **options)
        else:
            walk = KeysetPaginator(page_size=page_size, where=list(where or ()), check=check, lower=lower,
                                   upper=upper, **options)
        return self.iter_walk(walk, f"stats/{table}")

    def iter_walk(self, walk: Paginator, path: str) -> Iterator[dict[str, Any]]:
        """The records of any walk over ``/api/<path>`` (a stats table or a context), read with
        ``walk``'s own query: for a paginator built by the caller (resumed, bounded, composite)."""
        if path.startswith("stats/"):
            table = path.split("/", 1)[1]
            return iter_records(walk, lambda q: self.stats_page(
                table, start=q.start or 0, limit=q.limit, order=[{"col": c, "dir": d} for c, d in q.order],
                where=list(q.where) or None))
        ctx = get_context(path)
        return read_list_walk(self.list_page, ctx, walk)

    # -- writes (never PUT) ----------------------------------------------------------------------------
    def create(self, context: str | Context, data: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST /new; returns (status, item): 201 created, 200 merged into an existing record."""
        ctx = self._ctx(context, NEW)
        response, body = self.request_full("POST", f"{ctx.path}/new", json=dict(data))
        return response.status_code, self._item(ctx, body)

    def edit(self, context: str | Context, item_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH /{id}/edit (only the keys given change). NotFoundError when the id does not exist."""
        ctx = self._ctx(context, EDIT)
        body = self.request("PATCH", f"{ctx.path}/{item_id}/edit", json=dict(data))
        return self._item(ctx, body)

    def delete(self, context: str | Context, item_id: int) -> dict[str, Any]:
        """DELETE /{id}/delete; returns the deleted item (Mautic nulls its id: ours is put back)."""
        ctx = self._ctx(context, DELETE)
        try:
            body = self.request("DELETE", f"{ctx.path}/{item_id}/delete")
        except NotFoundError as exc:
            if getattr(exc, "attempts", 1) > 1:  # an earlier attempt deleted it and its answer was lost
                self.logger.warning(
                    "%s %s deleted by an earlier attempt (its answer was lost).", ctx.name, item_id
                )
                return {"id": item_id}
            raise
        item = self._item(ctx, body)
        if item.get("id") is None:
            item["id"] = item_id
        return item

    def batch_new(self, context: str | Context, items: Sequence[Mapping[str, Any]],
                  keep: Sequence[str] | None = None) -> list[BatchItemResult]:
        """POST /batch/new; one result per input item. Over :attr:`batch_limit` items is BatchLimitError.
        ``keep``: each result's ``item`` holds only these keys (the answer decodes several times faster)."""
        ctx = self._ctx(context, BATCH)
        payload = [dict(i) for i in items]
        # Only contacts are de-duplicated by batch/new (on their unique fields): resending anything else
        # after an answer was lost could create it twice.
        response, body = self.request_full(
            "POST", f"{ctx.path}/batch/new", json=payload, batch=True, idempotent=ctx.name == "contacts",
            shape=self._batch_shape(ctx, keep))
        results = self._batch_results(ctx, body, len(payload), default_status=201)
        since = first_attempt_at(response)
        for result in results:
            result.first_attempt_at = since
        return results

    def batch_edit(self, context: str | Context, items: Sequence[Mapping[str, Any]],
                   keep: Sequence[str] | None = None) -> list[BatchItemResult]:
        """PATCH /batch/edit; each item carries ``id``. ``keep`` as for :meth:`batch_new`."""
        ctx = self._ctx(context, BATCH)
        payload = [dict(i) for i in items]
        for i, item in enumerate(payload):
            if item.get("id") in (None, ""):
                raise ValueError(f"batch_edit item {i} has no 'id'")
        _response, body = self.request_full("PATCH", f"{ctx.path}/batch/edit", json=payload, batch=True,
                                            shape=self._batch_shape(ctx, keep))
        return self._batch_results(ctx, body, len(payload), default_status=200)

    def batch_delete(self, context: str | Context, ids: Iterable[int]) -> list[dict[str, Any]]:
        """DELETE /batch/delete?ids=1,2,3; the deleted items (ids that did not exist are simply absent)."""
        ctx = self._ctx(context, BATCH)
        id_list = [int(i) for i in ids]
        if not id_list:
            return []
        body = self.request(
            "DELETE", f"{ctx.path}/batch/delete", params={"ids": ",".join(map(str, id_list))}, batch=True
        )
        if not isinstance(body, dict):
            raise MauticAPIError(f"DELETE /api/{ctx.path}/batch/delete: unexpected answer")
        return [r for r in as_records(body.get(ctx.list_key)) if isinstance(r, dict)]

    def close(self) -> None:
        """Release the pooled connections (the next call opens new ones)."""
        self.session.close()

    def __enter__(self) -> MauticClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------------------
    @staticmethod
    def _ctx(context: str | Context, operation: str) -> Context:
        ctx = get_context(context)
        if not ctx.supports(operation):
            raise ValueError(f"context {ctx.name!r} does not support {operation!r}")
        return ctx

    @staticmethod
    def _item(ctx: Context, body: Any) -> dict[str, Any]:
        if isinstance(body, dict) and isinstance(body.get(ctx.item_key), dict):
            item: dict[str, Any] = body[ctx.item_key]
            return item
        if isinstance(body, dict) and ctx.item_key not in body:
            return body  # reports' get returns the report data, users/self a bare object
        raise MauticAPIError(f"answer for {ctx.name} holds no {ctx.item_key!r} item")

    def _page(self, ctx: Context, body: Any) -> ListPage:
        if isinstance(body, list) and not body:  # some empty answers are a bare []
            return ListPage(records=[], total=0, raw={})
        if not isinstance(body, dict):
            raise MauticAPIError(f"GET /api/{ctx.path}: unexpected list answer of type {type(body).__name__}")
        records = as_records(body.get(ctx.list_key))
        if ctx.name == "files":
            records = [r if isinstance(r, dict) else {"name": r} for r in records]
        if (
            records
            and ctx.name not in _NO_ID_CHECK
            and any(not isinstance(r, dict) or "id" not in r for r in records)
        ):
            raise SerializerBugError(
                f"GET /api/{ctx.path}: {len(records)} records came back without 'id' -- Mautic 5.0's "
                "serializer bug (jms/serializer-bundle >= 5.3, mautic#13243): upgrade Mautic or pin "
                "the bundle; "
                "refusing to emit empty records."
            )
        total = as_total(body.get("total"), len(records))
        return ListPage(records=records, total=total, raw=body)

    def _batch_shape(self, ctx: Context, keep: Sequence[str] | None) -> BatchAnswerShape | None:
        """The trimmed decoding of ``ctx``'s batch answers keeping ``keep`` (built once per context)."""
        if keep is None:
            return None
        shapes: dict[tuple[str, tuple[str, ...]], BatchAnswerShape] = self.__dict__.setdefault("_shapes", {})
        key = (ctx.list_key, tuple(keep))
        if key not in shapes:
            shapes[key] = BatchAnswerShape(ctx.list_key, keep)
        return shapes[key]

    def _batch_results(
        self, ctx: Context, body: Any, count: int, *, default_status: int
    ) -> list[BatchItemResult]:
        if not isinstance(body, dict):
            raise MauticAPIError(f"batch answer for {ctx.name} is not an object")
        codes = by_index(body.get("statusCodes"))
        items = by_index(body.get(ctx.list_key))
        errors = by_index(body.get("errors"))
        size = max([count - 1, *codes, *items, *errors], default=-1) + 1
        results: list[BatchItemResult] = []
        for index in range(size):
            error = errors.get(index)
            message = None
            error_code = None
            if error is not None:
                if isinstance(error, dict):
                    message = str(error.get("message") or error)
                    error_code = error.get("code")
                else:
                    message = str(error)
            status = codes.get(index)
            if status is None:
                status = error_code if error_code is not None else (default_status if index in items else 400)
            try:
                status = int(status)
            except (TypeError, ValueError):
                status = 500
            if message is None and not 200 <= status < 300:
                message = f"status {status}"
            item = items.get(index)
            results.append(
                BatchItemResult(
                    index=index, status=status, item=item if isinstance(item, dict) else None, error=message
                )
            )
        return results
