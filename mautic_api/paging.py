"""The one paging engine: a paginator object that owns the state of one walk over a Mautic list.

Why one engine: every list read (the tap's streams, custom fields, deletion markers, audit_log change
walks, ``ContextApi.iter_all``, the target's look-ups) is the same protocol with the same traps: Mautic
silently drops a ``where`` clause it does not understand and then answers with *every* row,
and a short page proves nothing.
So every walk asks for a query (:meth:`Paginator.query`), hands the answer back (:meth:`Paginator.accept`),
and the paginator checks the answer against the filter it asked for before it advances. It knows nothing of
HTTP: :func:`iter_records` drives it with any ``read(query)``; the tap's page loop
(``tap_mautic.base_stream.MauticStream.read_pages``, not singer-sdk's ``request_records``) drives it
directly, one query and one answer at a time.

Three walks:

* :class:`KeysetPaginator`: ``orderBy id ASC`` + ``where id gt <last id>`` (+ ``id lte <upper>`` when bounded,
  so one id range can be read by its own paginator); ends on an empty page.
* :class:`CompositeKeysetPaginator`: tables keyed by two columns (membership stats tables): the rest of group
  ``a`` (``A eq a AND B gt b``), then the following groups (``A gt a``). Only top-level ANDs, never an offset.
* :class:`OffsetPaginator`: ``start``/``limit`` where the endpoint has no usable ``where`` (form submissions,
  files, themes) or where the caller trusts ``total`` (custom fields).

Concurrent reads cut one keyset walk into id ranges (:func:`split_ids`), each read by its own bounded
:class:`KeysetPaginator` (:meth:`KeysetPaginator.bounded`); :func:`range_complete` says when one answer proves
its range read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from types import MappingProxyType
from typing import Any

from mautic_api.errors import MauticAPIError

Row = Mapping[str, Any]
Check = Callable[[Row], bool]


WHERE_EXPRS_WITH_VALUE = frozenset({"eq", "neq", "lt", "lte", "gt", "gte", "like", "notLike"})
WHERE_EXPRS_CSV = frozenset({"in", "notIn"})
WHERE_EXPRS_PAIR = frozenset({"between", "notBetween"})
WHERE_EXPRS_NO_VALUE = frozenset({"isNull", "isNotNull", "isEmpty", "isNotEmpty"})
WHERE_EXPRS_NESTED = frozenset({"andX", "orX"})


class FilterIgnoredError(MauticAPIError):
    """Mautic answered with rows outside the filter, order or key range it was asked for."""


# Messages by verification; ``{label}`` names the walk (``Stream 'contacts'``), the rest is per message.
MESSAGES: Mapping[str, str] = MappingProxyType({
    "order": "{label}: Mautic ignored orderBy=id (ids out of order); refusing to page on it.",
    "keyset": "{label}: Mautic ignored the filter 'id gt {token}' (got id {got}); refusing to continue, "
              "records could be lost.",
    "upper": "{label}: Mautic ignored the filter 'id lte {upper}' (got id {got}); refusing to continue.",
    "check": "{label}: Mautic ignored the filter of {what} (record id {got} does not satisfy it); "
             "refusing to continue.",
    "composite": "{label}: Mautic ignored the order or filter on ({first}, {second}); refusing to continue, "
                 "records could be lost.",
})


def check_where(where: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Validate and normalise ``where`` clauses before sending.

    Mautic silently drops an unknown ``expr`` or a malformed clause and then returns UNFILTERED rows,
    which would turn an incremental sync into a full one; so refuse them here. ``in``/``notIn`` lists
    become the CSV string the server expects (an array value is a server 500).
    """
    if not where:
        return None
    out: list[dict[str, Any]] = []
    for i, clause in enumerate(where):
        col = clause.get("col", clause.get("column"))
        expr = clause.get("expr")
        val = clause.get("val", clause.get("value"))
        if expr in WHERE_EXPRS_NESTED:
            if not isinstance(val, Sequence) or isinstance(val, str) or not val:
                raise ValueError(f"where[{i}]: {expr} needs a non-empty list of clauses in 'val'")
            out.append({"expr": expr, "val": check_where(val)})
            continue
        if not col:
            raise ValueError(f"where[{i}]: 'col' is required")
        if expr in WHERE_EXPRS_NO_VALUE:
            out.append({"col": col, "expr": expr})
        elif expr in WHERE_EXPRS_WITH_VALUE:
            if val is None or isinstance(val, (list, tuple, dict)):
                raise ValueError(f"where[{i}]: {expr} on {col!r} needs one scalar 'val'")
            out.append({"col": col, "expr": expr, "val": val})
        elif expr in WHERE_EXPRS_CSV:
            if isinstance(val, (list, tuple, set)):
                val = ",".join(str(v) for v in val)
            if val is None or val == "":
                raise ValueError(f"where[{i}]: {expr} on {col!r} needs values")
            out.append({"col": col, "expr": expr, "val": str(val)})
        elif expr in WHERE_EXPRS_PAIR:
            if not isinstance(val, (list, tuple)) or len(val) != 2:
                raise ValueError(f"where[{i}]: {expr} on {col!r} needs exactly two values")
            out.append({"col": col, "expr": expr, "val": list(val)})
        else:
            raise ValueError(
                f"where[{i}]: unsupported expr {expr!r} (Mautic would ignore it and return all rows)"
            )
    return out


@dataclass(frozen=True)
class PageQuery:
    """What to ask for next: ``where`` clauses (base filter and key), order, offset and limit."""

    where: tuple[Mapping[str, Any], ...]
    order: tuple[tuple[str, str], ...]
    limit: int
    start: int | None = None

    def list_params(self) -> dict[str, Any]:
        """The query of a context list (``/api/contacts``): ``orderBy``/``orderByDir``, ``where``."""
        params: dict[str, Any] = {"limit": self.limit}
        if self.start:
            params["start"] = self.start
        if self.order:
            params["orderBy"], params["orderByDir"] = self.order[0]
        if self.where:
            params["where"] = check_where(self.where)
        return params

    def stats_params(self) -> dict[str, Any]:
        """The query of ``/api/stats/{table}``: ``start`` (always), ``order`` as a list, ``where``."""
        params: dict[str, Any] = {"start": self.start or 0, "limit": self.limit,
                                  "order": [{"col": col, "dir": way} for col, way in self.order]}
        if self.where:
            params["where"] = check_where(self.where)
        return params


@dataclass
class Paginator:
    """One walk: its query, its position (``token``) and whether it is done. Subclasses say how it advances.

    ``label`` starts every error message; ``messages`` overrides :data:`MESSAGES` entries (a caller's own
    wording); ``error`` is the exception class raised when an answer does not satisfy the query.
    """

    page_size: int = 200
    where: Sequence[Mapping[str, Any]] = ()
    check: Check | None = None
    what: str = "the filter"
    label: str = "list"
    messages: Mapping[str, str] = field(default_factory=dict)
    error: type[Exception] = FilterIgnoredError
    finished: bool = field(default=False, init=False)
    pages: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.page_size <= 0:
            raise ValueError("page_size must be positive (Mautic treats 0 as 'no limit')")

    @property
    def token(self) -> Any:
        """The position after the last accepted page (state to resume from)."""
        raise NotImplementedError

    def query(self) -> PageQuery:
        raise NotImplementedError

    def accept(self, rows: Sequence[Row], total: int | None = None) -> None:
        """Verify one page's rows against :meth:`query` and advance (``finished`` when nothing is left)."""
        raise NotImplementedError

    def stop(self) -> None:
        """End the walk early (the caller leaves the rest for a later run)."""
        self.finished = True

    def fail(self, kind: str, **values: Any) -> Exception:
        template = self.messages.get(kind) or MESSAGES[kind]
        return self.error(template.format(label=self.label, what=self.what, **values))

    def verify_rows(self, rows: Sequence[Row]) -> None:
        if self.check is not None:
            bad = next((row for row in rows if not self.check(row)), None)
            if bad is not None:
                raise self.fail("check", got=bad.get("id"))


@dataclass
class KeysetPaginator(Paginator):
    """Keyset on ``id``: ids above ``lower`` (exclusive) up to ``upper`` (inclusive, a clause in the query);
    ``stop_at`` ends the walk once that id was read, without a clause (a batch of ``id in`` values);
    ``trust_total`` ends it when a page holds all of its query's ``total`` (a look-up of a few values:
    no extra empty page)."""

    lower: int | None = None
    upper: int | None = None
    stop_at: int | None = None
    trust_total: bool = False
    last_id: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.last_id = self.lower

    @property
    def token(self) -> int | None:
        return self.last_id

    def query(self) -> PageQuery:
        where = list(self.where)
        if self.last_id is not None:
            where.append({"col": "id", "expr": "gt", "val": self.last_id})
        if self.upper is not None:
            where.append({"col": "id", "expr": "lte", "val": self.upper})
        return PageQuery(tuple(where), (("id", "ASC"),), self.page_size)

    def accept(self, rows: Sequence[Row], total: int | None = None) -> None:
        self.pages += 1
        ids = [int(row["id"]) for row in rows]
        if any(a >= b for a, b in pairwise(ids)):
            raise self.fail("order")
        if ids and self.last_id is not None and ids[0] <= self.last_id:
            raise self.fail("keyset", token=self.last_id, got=ids[0])
        if ids and self.upper is not None and ids[-1] > self.upper:
            raise self.fail("upper", upper=self.upper, got=ids[-1])
        self.verify_rows(rows)
        if not ids:
            self.finished = True
            return
        self.last_id = ids[-1]
        if self.stop_at is not None and self.last_id >= self.stop_at:
            self.finished = True
        if self.trust_total and total is not None and len(ids) >= total:
            self.finished = True
        if self.upper is not None and self.last_id >= self.upper:
            self.finished = True

    def bounded(self, lower: int | None, upper: int | None) -> KeysetPaginator:
        """The same query over the ids ``(lower, upper]`` only, as a fresh walk (one concurrent slice)."""
        return replace(self, lower=lower, upper=upper)


@dataclass
class CompositeKeysetPaginator(Paginator):
    """Keyset on two integer columns ``key = (A, B)``, ordered by both.

    Token ``("eq", a, b)`` reads the rest of group ``a`` (``A eq a AND B gt b``); when that is empty,
    ``("gt", a, b)`` reads the following groups (``A gt a``); an empty page there ends the walk.
    ``trust_total``: a page holding all of its query's ``total`` ends its part without the empty page (a
    look-up of a few keys, ``B in ...``: one call).
    """

    key: tuple[str, str] = ("", "")
    position: tuple[str, int, int] | None = None
    trust_total: bool = False

    @property
    def token(self) -> tuple[str, int, int] | None:
        return self.position

    def query(self) -> PageQuery:
        first, second = self.key
        where = list(self.where)
        if self.position is not None:
            mode, a, b = self.position
            if mode == "eq":
                where += [{"col": first, "expr": "eq", "val": a}, {"col": second, "expr": "gt", "val": b}]
            else:
                where.append({"col": first, "expr": "gt", "val": a})
        return PageQuery(tuple(where), ((first, "ASC"), (second, "ASC")), self.page_size, start=0)

    def accept(self, rows: Sequence[Row], total: int | None = None) -> None:
        self.pages += 1
        first, second = self.key
        keys = [(int(r[first]), int(r[second])) for r in rows]
        ok = all(a < b for a, b in pairwise(keys))
        if ok and self.position is not None:
            mode, a, b = self.position
            ok = all((k[0] == a and k[1] > b) if mode == "eq" else k[0] > a for k in keys)
        if not ok:
            raise self.fail("composite", first=first, second=second)
        self.verify_rows(rows)
        group = self.position is not None and self.position[0] == "eq"  # this page read one group's rest
        if keys and self.trust_total and total is not None and len(keys) >= total:
            if group:
                self.position = ("gt", *keys[-1])
            else:
                self.position = ("eq", *keys[-1])
                self.finished = True
        elif keys:
            self.position = ("eq", *keys[-1])
        elif group and self.position is not None:
            self.position = ("gt", self.position[1], self.position[2])
        else:
            self.finished = True


@dataclass
class OffsetPaginator(Paginator):
    """``start``/``limit`` in a fixed order; ends on an empty page, or once ``start`` reaches ``total``
    when ``trust_total`` (an endpoint that counts exactly, read once at discovery)."""

    order: tuple[tuple[str, str], ...] = ()
    trust_total: bool = False
    start: int = 0

    @property
    def token(self) -> int:
        return self.start

    def query(self) -> PageQuery:
        return PageQuery(tuple(self.where), self.order, self.page_size, start=self.start)

    def accept(self, rows: Sequence[Row], total: int | None = None) -> None:
        self.pages += 1
        self.verify_rows(rows)
        self.start += len(rows)
        if not rows or (self.trust_total and total is not None and self.start >= total):
            self.finished = True


def split_ids(lower: int, upper: int, rows: int, page_size: int, *, most: int | None = None,
              fill: float = 0.9) -> list[tuple[int, int]]:
    """``(lower, upper]`` cut into consecutive id ranges ``(a, b]`` expected to hold about ``fill`` of a page
    each, ``rows`` being spread evenly over the span (at most ``most`` ranges, never an empty span).

    Why ``fill`` < 1: a range holding less than a page is read in one request (see :func:`range_complete`);
    one holding a full page costs a second request to find its end.
    """
    span = upper - lower
    if span <= 0:
        return [(lower, upper)]
    count = max(1, math.ceil(rows / max(1.0, fill * page_size)))
    if most is not None:
        count = min(count, max(1, most))
    count = min(count, span)
    return list(pairwise(lower + span * i // count for i in range(count + 1)))


def range_complete(size: int, page_size: int, total: int | None) -> bool:
    """Whether one answer of a bounded keyset query holds the whole range: a short page *and* a ``total``
    (Mautic's COUNT of the same query) no larger than it.

    A short page alone proves nothing (forms carry joined rows, permission filters thin pages), nor does a
    ``total`` alone (5.1+ may cache the count); both together do. Otherwise the range is read on.
    """
    return size < page_size and total is not None and total <= size


def iter_records(
    paginator: Paginator, read: Callable[[PageQuery], Any]
) -> Iterator[dict[str, Any]]:
    """Every record of a walk: ``read(query)`` returns a page (``.records``, ``.total``) per query, until the
    paginator is finished. Records of a page are yielded only after the page was verified."""
    while not paginator.finished:
        page = read(paginator.query())
        paginator.accept(page.records, page.total)
        yield from page.records


__all__ = [
    "MESSAGES",
    "CompositeKeysetPaginator",
    "FilterIgnoredError",
    "KeysetPaginator",
    "OffsetPaginator",
    "PageQuery",
    "Paginator",
    "check_where",
    "iter_records",
    "range_complete",
    "split_ids",
]
