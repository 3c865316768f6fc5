"""ContextApi: one Mautic context as an object, the Python face of the PHP library's ``newApi()``.

Why a thin layer over :class:`~mautic_api.client.MauticClient`: script authors coming from
``mautic/api-library`` think in context objects (``$contactApi->getList(...)``, ``->edit($id, $data, true)``);
the client already does the HTTP, auth, retries and normalisation for any context, so this module only maps
the PHP method names and parameters onto it and adds what the PHP library did with PUT, without PUT.

Differences from the PHP library, on purpose:

* methods return the item (``get``, ``create``, ``edit``, ``delete``) or a :class:`ListPage` (``get_list``)
  instead of the whole response, and errors are exceptions of :mod:`mautic_api.errors` instead of an
  ``errors`` key to check;
* ``edit(..., create_if_not_exists=True)`` sends PATCH, and a create with the same data only when Mautic
  answers 404: PHP's PUT would blank every field the data does not name, and give the new record a new id
  anyway;
* batch calls are cut into chunks of the client's ``batch_limit`` (Mautic rejects a larger batch whole).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from mautic_api.answers import BatchItemResult, ListPage
from mautic_api.catalog import BATCH, Context, get_context
from mautic_api.errors import MauticAPIError, NotFoundError
from mautic_api.paging import KeysetPaginator, OffsetPaginator, PageQuery, Paginator, iter_records
from mautic_api.settings import Settings


class ContextClient(Protocol):
    """What a :class:`ContextApi` needs of its client (:class:`mautic_api.client.MauticClient` is one):
    client.py builds ContextApi objects, so this module names the service, not the class."""

    base_url: str
    batch_limit: int
    settings: Settings

    def get(self, context: str | Context, item_id: int) -> dict[str, Any]: ...

    def list_page(
        self, context: str | Context, *, search: str | None = None, start: int | None = None,
        limit: int | None = None, order_by: str | None = None, order_dir: str | None = None,
        where: Sequence[Mapping[str, Any]] | None = None, published_only: bool | None = None,
        minimal: bool | None = None, params: Mapping[str, Any] | None = None,
    ) -> ListPage: ...

    def fields(self, object_: str = "contact") -> list[dict[str, Any]]: ...

    def create(self, context: str | Context, data: Mapping[str, Any]) -> tuple[int, dict[str, Any]]: ...

    def edit(self, context: str | Context, item_id: int, data: Mapping[str, Any]) -> dict[str, Any]: ...

    def delete(self, context: str | Context, item_id: int) -> dict[str, Any]: ...

    def batch_new(self, context: str | Context,
                  items: Sequence[Mapping[str, Any]]) -> list[BatchItemResult]: ...

    def batch_edit(self, context: str | Context,
                   items: Sequence[Mapping[str, Any]]) -> list[BatchItemResult]: ...

    def batch_delete(self, context: str | Context, ids: Iterable[int]) -> list[dict[str, Any]]: ...

# Lists that cannot be read by keyset (no numeric id to page on): offset paging with a fixed order.
OFFSET_ONLY = frozenset({"files", "themes"})
DEFAULT_PAGE_SIZE = 200
STATS_PER_TABLE = ("stats rows are read per table: use client.stats_page(table) or client.iter_stats(table) "
                   "(tables: client.stats_tables())")
KEYSET_DROPPED = ("{label}: Mautic ignored the keyset filter (id {got} after {token}); refusing to read the "
                  "same records again.")


def read_list(
    list_page: Callable[..., ListPage],
    context: Context,
    *,
    search: str | None = None,
    where: Sequence[Mapping[str, Any]] | None = None,
    check: Callable[[Mapping[str, Any]], bool] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    published_only: bool = False,
    minimal: bool = False,
    lower: int | None = None,
    upper: int | None = None,
    **paginator_options: Any,
) -> Iterator[dict[str, Any]]:
    """Every record of ``context`` matching ``search``/``where``, read with the paging engine
    (:mod:`mautic_api.paging`) through ``list_page`` (:meth:`MauticClient.list_page`'s signature).

    Keyset on id (ids in ``(lower, upper]`` when given) wherever the context has ids; offset in a fixed order
    for ``files`` and ``themes``. Each page is verified against the query before its records are yielded.
    """
    walk: Paginator
    if context.name in OFFSET_ONLY:
        walk = OffsetPaginator(page_size=page_size, where=list(where or ()), check=check, trust_total=True,
                               **paginator_options)
    else:
        walk = KeysetPaginator(page_size=page_size, where=list(where or ()), check=check, lower=lower,
                               upper=upper, **paginator_options)

    return read_list_walk(list_page, context, walk, search=search, published_only=published_only,
                          minimal=minimal)


def read_list_walk(
    list_page: Callable[..., ListPage],
    context: Context,
    walk: Paginator,
    *,
    search: str | None = None,
    published_only: bool = False,
    minimal: bool = False,
) -> Iterator[dict[str, Any]]:
    """The records of ``walk`` over a context list, each page read with ``list_page``."""

    def read(query: PageQuery) -> ListPage:
        order_by, order_dir = query.order[0] if query.order else (None, None)
        return list_page(context, search=search or None, start=query.start or None, limit=query.limit,
                         order_by=order_by, order_dir=order_dir, where=list(query.where) or None,
                         published_only=published_only or None, minimal=minimal or None)

    return iter_records(walk, read)


class ContextApi:
    """One Mautic context (``contacts``, ``segments``, ``pointTriggers``, ...) bound to a client.

    Obtain it with ``client.context("contacts")``; any name :func:`~mautic_api.catalog.get_context` knows
    works (PHP name, stream name or API path).
    """

    def __init__(self, client: ContextClient, context: str | Context) -> None:
        self.client = client
        self.meta: Context = get_context(context)

    def __repr__(self) -> str:
        return f"ContextApi({self.meta.name!r}, {self.client.base_url!r})"

    # -- names ------------------------------------------------------------------------------------------
    @property
    def item_name(self) -> str:
        """Key of one item in Mautic's answers (PHP ``itemName()``): ``contact``, ``list``, ``trigger``..."""
        return self.meta.item_key

    @property
    def list_name(self) -> str:
        """Key of the records in list answers (PHP ``listName()``): ``contacts``, ``lists``, ..."""
        return self.meta.list_key

    @property
    def request_timeout(self) -> float:
        """Seconds each request may take (setting ``request_timeout``; the PHP library's curl timeout)."""
        return float(self.client.settings.request_timeout)

    # -- reads ------------------------------------------------------------------------------------------
    def get(self, item_id: int) -> dict[str, Any]:
        """The item with ``item_id``; :class:`~mautic_api.errors.NotFoundError` when there is none."""
        return self.client.get(self.meta, item_id)

    def get_list(
        self,
        search: str | None = None,
        start: int = 0,
        limit: int | None = None,
        order_by: str | None = None,
        order_by_dir: str | None = None,
        published_only: bool = False,
        minimal: bool = False,
        *,
        where: Sequence[Mapping[str, Any]] | None = None,
    ) -> ListPage:
        """One page, with the PHP ``getList($search, $start, $limit, $orderBy, $orderByDir, $publishedOnly,
        $minimal)`` parameters in that order, plus ``where`` clauses (``{"col", "expr", "val"}``).

        ``limit`` 0 or None sends no limit (Mautic's default page of 30), as the PHP library does. A
        ``where`` Mautic does not understand is refused here (Mautic would drop it and return every row).
        """
        if self.meta.name == "stats":
            raise ValueError(STATS_PER_TABLE)
        return self.client.list_page(
            self.meta,
            search=search or None,
            start=start or None,
            limit=limit or None,
            order_by=order_by or None,
            order_dir=order_by_dir or None,
            where=where,
            published_only=published_only or None,
            minimal=minimal or None,
        )

    def iter_all(
        self,
        search: str | None = None,
        *,
        where: Sequence[Mapping[str, Any]] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        published_only: bool = False,
        minimal: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every record matching ``search``/``where``, page after page, in id order.

        Keyset paging (``orderBy=id``, ``where id gt <last id>``) wherever the context has ids, so records
        created or deleted while the loop runs neither shift pages nor get read twice; offset paging for
        ``files`` and ``themes``. Ends on an empty page (a short page proves nothing in Mautic).
        """
        if self.meta.name == "stats":
            raise ValueError(STATS_PER_TABLE)
        return read_list(
            self.client.list_page, self.meta, search=search, where=where, page_size=page_size,
            published_only=published_only, minimal=minimal, label=self.meta.name,
            messages={"keyset": KEYSET_DROPPED}, error=MauticAPIError,
        )

    def get_field_list(self) -> list[dict[str, Any]]:
        """The custom fields of contacts or companies (PHP ``getFieldList()``), every page of them."""
        kind = {"contacts": "contact", "companies": "company"}.get(self.meta.name)
        if kind is None:
            raise ValueError(f"context {self.meta.name!r} has no field list (only contacts and companies)")
        return self.client.fields(kind)

    # -- writes (never PUT) ------------------------------------------------------------------------------
    def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``/new``; the created item. Contacts with the email of an existing one update it (Mautic
        de-duplicates contacts on their unique fields), which keeps that contact's id."""
        _status, item = self.client.create(self.meta, data)
        return item

    def edit(
        self, item_id: int, data: Mapping[str, Any], create_if_not_exists: bool = False
    ) -> dict[str, Any]:
        """PATCH ``/{id}/edit``: only the keys in ``data`` change.

        With ``create_if_not_exists`` a 404 is followed by a create with the same ``data`` (the new item,
        with Mautic's new id, is returned); without it the 404 is raised as
        :class:`~mautic_api.errors.NotFoundError`. Never PUT: see the module docstring.
        """
        try:
            return self.client.edit(self.meta, item_id, data)
        except NotFoundError:
            if not create_if_not_exists:
                raise
        return self.create(data)

    def delete(self, item_id: int) -> dict[str, Any]:
        """DELETE ``/{id}/delete``; the deleted item (with its former id)."""
        return self.client.delete(self.meta, item_id)

    # -- batches ----------------------------------------------------------------------------------------
    def create_batch(self, items: Sequence[Mapping[str, Any]]) -> list[BatchItemResult]:
        """POST ``/batch/new``; one :class:`BatchItemResult` per input item, by input index."""
        return self._chunked(items, lambda chunk: self.client.batch_new(self.meta, chunk))

    def edit_batch(
        self, items: Sequence[Mapping[str, Any]], create_if_not_exists: bool = False
    ) -> list[BatchItemResult]:
        """PATCH ``/batch/edit`` (each item carries ``id``); one result per input item.

        With ``create_if_not_exists`` the items Mautic answered 404 for are created with the same data
        (without their stale ``id``) in one ``batch/new``; their results then carry the create's status
        and the new item.
        """
        results = self._chunked(items, lambda chunk: self.client.batch_edit(self.meta, chunk))
        if not create_if_not_exists:
            return results
        missing = [r.index for r in results if r.status == 404]
        if not missing:
            return results
        retry = [{k: v for k, v in items[i].items() if k != "id"} for i in missing]
        created = self.create_batch(retry)
        for position, result in enumerate(created):
            results[missing[position]] = dataclasses.replace(result, index=missing[position])
        return results

    def delete_batch(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        """DELETE ``/batch/delete``; the deleted items (ids that did not exist are simply absent)."""
        id_list = [int(i) for i in ids]
        limit = self.client.batch_limit
        deleted: list[dict[str, Any]] = []
        for offset in range(0, len(id_list), limit):
            deleted.extend(self.client.batch_delete(self.meta, id_list[offset : offset + limit]))
        return deleted

    def _chunked(self, items: Sequence[Mapping[str, Any]], call: Any) -> list[BatchItemResult]:
        if not self.meta.supports(BATCH):
            raise ValueError(f"context {self.meta.name!r} does not support 'batch'")
        limit = self.client.batch_limit
        results: list[BatchItemResult] = []
        for offset in range(0, len(items), limit):
            for result in call(list(items[offset : offset + limit])):
                results.append(dataclasses.replace(result, index=result.index + offset))
        return results


__all__ = ["ContextApi"]
