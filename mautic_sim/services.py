"""What the simulator's route and engine modules use of the app they serve, as Protocols.

Why: ``app.Mautic`` builds every engine (``Contacts``, ``Generic``, the extras, the OAuth2 pages) and hands
itself over; the engines name the services they use here instead of importing ``app`` back (no import
circle, not even for annotations). ``contacts`` and ``generic`` are typed ``Any``: their classes take this
Protocol themselves, so naming them here would close the circle again.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Protocol

from mautic_sim.messages import Request, Response
from mautic_sim.store import Store
from mautic_sim.versions import MauticVersion


class SimApp(Protocol):
    """One simulated Mautic instance: its database, version, clock, request user and shared engines."""

    store: Store
    version: MauticVersion
    username: str
    password: str
    client_id: str
    base_url: str
    request_local: threading.local  # the request's user and submitted keys (one thread per request)
    contacts: Any  # mautic_sim.contacts.Contacts
    generic: Any  # mautic_sim.generic.Generic

    def now(self) -> datetime: ...

    def current_user(self) -> dict[str, Any]: ...

    def user_self(self, user: dict[str, Any]) -> dict[str, Any]: ...

    def audit(self, bundle: str, obj: str, obj_id: Any, action: str, details: Any) -> None: ...

    def log_event(self, lead_id: int, bundle: str, obj: str, action: str, properties: str,
                  object_id: Any = None, with_user: bool = False) -> None: ...

    def body(self, req: Request) -> Any: ...

    def batch_items(self, req: Request) -> list[tuple[str, Any]]: ...

    def g_new(self, req: Request, ctx: Any) -> Response: ...

    def stats_rows(self, table: str, q: dict[str, Any], forced: list[tuple[str, Any]] | None = None,
                   list_key: str = "stats") -> dict[str, Any]: ...


class ContactTables(Protocol):
    """What contact merges and deletions use of the contacts engine (``mautic_sim.contacts.Contacts``)."""

    app: SimApp
    store: Store

    def _link_company_by_name(self, lead_id: int, name: str, now: str) -> None: ...
