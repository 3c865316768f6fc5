"""MauticClient: the Python counterpart of the PHP library's ``MauticApi::newApi($context, $auth, $url)``.

INTERFACE CONTRACT (tap_mautic and target_mautic code against exactly this; bodies are filled in by the
mautic_api work). ``context`` arguments are catalog names or :class:`~mautic_api.catalog.Context` objects.
Every method raises the exceptions of :mod:`mautic_api.errors`; retries happen inside ``request``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from mautic_api.catalog import Context


@dataclass
class ListPage:
    """One page of a list call, normalised: ``records`` is a list whatever container Mautic sent."""

    records: list[dict[str, Any]]
    total: int
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass
class BatchItemResult:
    """The outcome of one input item of a batch call, by its index in the request."""

    index: int
    status: int
    item: dict[str, Any] | None
    error: str | None = None


class MauticClient:
    """All HTTP to one Mautic instance: auth, pooled session, retries, error mapping, normalisation.

    ``config`` is the tap's or target's config (already alias-normalised by ``mautic_api.settings``).
    """

    session: requests.Session
    base_url: str  # instance URL without /api, no trailing slash
    version: str | None  # Mautic-Version header of the first answer

    def __init__(self, config: Mapping[str, Any], *, logger: Any = None) -> None:
        raise NotImplementedError

    # -- raw -------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send ``method`` to ``/api/<path>`` (``path`` starting with ``/`` is taken from the instance root),
        params PHP-bracket encoded, JSON body; return the decoded JSON body. Raises on any Mautic error,
        including ``errors`` inside a 200."""
        raise NotImplementedError

    # -- reads -----------------------------------------------------------------------------------------
    def get(self, context: str | Context, item_id: int) -> dict[str, Any]:
        raise NotImplementedError

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
        raise NotImplementedError

    def stats_tables(self) -> dict[str, list[str]]:
        """``/api/stats``: table name -> column names."""
        raise NotImplementedError

    def stats_page(
        self,
        table: str,
        *,
        start: int = 0,
        limit: int = 100,
        order: Sequence[Mapping[str, str]] | None = None,
        where: Sequence[Mapping[str, Any]] | None = None,
    ) -> ListPage:
        raise NotImplementedError

    def fields(self, object_: str = "contact") -> list[dict[str, Any]]:
        """Every custom field of ``contact`` or ``company`` (all pages)."""
        raise NotImplementedError

    # -- writes (never PUT) ----------------------------------------------------------------------------
    def create(self, context: str | Context, data: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST /new; returns (status, item): 201 created, 200 merged into an existing record."""
        raise NotImplementedError

    def edit(self, context: str | Context, item_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH /{id}/edit (only the keys given change). NotFoundError when the id does not exist."""
        raise NotImplementedError

    def delete(self, context: str | Context, item_id: int) -> dict[str, Any]:
        raise NotImplementedError

    def batch_new(self, context: str | Context, items: Sequence[Mapping[str, Any]]) -> list[BatchItemResult]:
        raise NotImplementedError

    def batch_edit(self, context: str | Context, items: Sequence[Mapping[str, Any]]) -> list[BatchItemResult]:
        """PATCH /batch/edit; each item carries ``id``."""
        raise NotImplementedError

    def batch_delete(self, context: str | Context, ids: Iterable[int]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
