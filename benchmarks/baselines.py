"""What Mautic integrations do today, as tiny ``requests`` loops, for ``benchmarks.run`` to compare against.

Why: the design of tap-mautic (keyset paging, bounded bookmark) and target-mautic (batched upserts) only
matters relative to the common way of talking to Mautic. These loops reproduce that way, nothing more:

- :func:`offset_read`: page ``/api/contacts`` with ``start``/``limit`` over Mautic's default order
  (``last_active DESC``) or ``orderBy=last_active``, the way most existing readers do.
- :func:`per_record_upsert`: the warehouse-to-Mautic pattern of about two calls per record: look the contact
  up by email, then create it or PATCH it, one by one.

They deliberately use a plain ``requests.Session`` with Basic auth (not ``mautic_api``): they stand for
other people's code.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import requests


def _session(username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.auth = (username, password)
    session.headers["Accept"] = "application/json"
    return session


def _items(container: Any) -> list[dict[str, Any]]:
    """Mautic lists come as an id-keyed object, a list, ``[]`` or ``{}``."""
    if isinstance(container, dict):
        return list(container.values())
    return list(container or [])


@dataclass
class ReadResult:
    """What one read of the contacts list delivered."""

    ids: list[int] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0


def offset_read(url: str, username: str, password: str, limit: int = 200,
                order_by: str | None = None) -> ReadResult:
    """Read every contact with OFFSET paging: ``start += limit`` until an empty page or ``start >= total``."""
    session = _session(username, password)
    out = ReadResult()
    start = 0
    began = time.perf_counter()
    while True:
        params: dict[str, Any] = {"start": start, "limit": limit}
        if order_by:
            params["orderBy"] = order_by
        resp = session.get(f"{url}/api/contacts", params=params, timeout=60)
        out.requests += 1
        resp.raise_for_status()
        body = resp.json()
        page = _items(body.get("contacts"))
        if not page:
            break
        out.ids.extend(int(c["id"]) for c in page)
        start += limit
        if start >= int(body.get("total") or 0):
            break
    out.seconds = time.perf_counter() - began
    session.close()
    return out


def _mautic_value(value: Any) -> Any:
    """ISO date-times as Mautic's ``YYYY-MM-DD HH:MM:SS`` UTC, so the baseline does the same work."""
    if isinstance(value, str) and "T" in value and value[:4].isdigit():
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return parsed.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return value


@dataclass
class UpsertResult:
    """Outcome counts and cost of a per-record upsert loop."""

    outcomes: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    seconds: float = 0.0


def per_record_upsert(url: str, username: str, password: str, records: list[dict[str, Any]]) -> UpsertResult:
    """For each record: ``GET /api/contacts?search=email:…``, then ``PATCH …/{id}/edit`` or ``POST …/new``."""
    session = _session(username, password)
    out = UpsertResult()
    began = time.perf_counter()
    for record in records:
        body = {k: _mautic_value(v) for k, v in record.items()}
        found = session.get(f"{url}/api/contacts", timeout=60,
                            params={"search": f"email:{record['email']}", "limit": "1", "minimal": "true"})
        out.requests += 1
        matches = [c for c in _items(found.json().get("contacts")) if found.ok]
        if matches:
            resp = session.patch(f"{url}/api/contacts/{matches[0]['id']}/edit", json=body, timeout=60)
            outcome = "updated"
        else:
            resp = session.post(f"{url}/api/contacts/new", json=body, timeout=60)
            outcome = "created"
        out.requests += 1
        out.outcomes[outcome if resp.ok else "failed"] += 1
    out.seconds = time.perf_counter() - began
    session.close()
    return out
