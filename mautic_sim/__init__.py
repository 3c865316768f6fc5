"""A Mautic 5.1.0 simulator: a real HTTP server on loopback, backed by SQLite, with seeded data and faults.

``mautic_version`` ("5.1", "5.2", "6.0", "7.1") switches on what later versions do differently
(``mautic_sim.versions``; 5.1 is the recorded one).

Tests use :class:`Simulator`; the ``mautic-sim`` console script (``mautic_sim.cli``) runs the same server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from mautic_sim.app import Mautic
from mautic_sim.seed import install, seed_data
from mautic_sim.server import WRITE_RATIO, Faults, SimServer, parse_logged_bodies, serve_in_thread
from mautic_sim.store import Store
from mautic_sim.util import db_ts, utcnow
from mautic_sim.versions import DEFAULT_VERSION, MauticVersion

__all__ = ["Simulator"]


class Simulator:
    """Start/stop a simulated Mautic and reach into its store (the test API in notes/common.md)."""

    def __init__(self, contacts: int = 100, seed: int = 42, username: str = "admin", password: str = "mautic",
                 client_id: str = "sim-client", client_secret: str = "sim-secret", latency_ms: int = 0,
                 faults: str | None = None, basic_auth: bool = True, api: bool = True, oauth1a: bool = False,
                 token_lifetime: int = 3600, db_path: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 timeout_fault_s: float = 3.0, fault_seed: int = 0,
                 log: Callable[[str], None] | None = None, mautic_version: str | MauticVersion = DEFAULT_VERSION,
                 rate_limit: int = 0, tls: bool = False, workers: int = 0, processes: int = 1,
                 row_ms: float = 0.0, write_ratio: float = WRITE_RATIO, latency_per_inflight_ms: float = 0.0,
                 rate_per_second: int = 0, rate_retry_after: int = 1):
        self.row_ms, self.write_ratio = row_ms, write_ratio  # per-item cost of contact/company answers (server.py)
        # latency rising with load, and a per-second budget of API calls answered 429 beyond (server.py)
        self.latency_per_inflight_ms, self.rate_per_second = latency_per_inflight_ms, rate_per_second
        self.rate_retry_after = rate_retry_after
        self.contacts, self.seed = contacts, seed
        self.username, self.password = username, password
        self.client_id, self.client_secret = client_id, client_secret
        self.latency_ms = latency_ms
        if workers < 0:
            raise ValueError("workers must be >= 0 (0 = unlimited)")
        self.workers = workers  # requests handled at once, as PHP-FPM workers (0 = unlimited)
        if processes < 1:
            raise ValueError("processes must be >= 1")
        self.processes = processes  # > 1: the app runs in that many worker processes (mautic_sim.workers)
        self._pool: Any = None
        self.host, self.port = host, port
        self.timeout_fault_s = timeout_fault_s
        self._tmpdir: str | None = None
        self.tls = tls
        self.cert_file: str | None = None  # with tls: the self-signed certificate (trust it to verify)
        if db_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="mautic-sim-")
            db_path = os.path.join(self._tmpdir, "mautic.sqlite")
        self.db_path = db_path
        fresh = not os.path.exists(db_path) or os.path.getsize(db_path) == 0
        self.store = Store(db_path)
        self._app_kwargs: dict[str, Any] = dict(
            username=username, password=password, client_id=client_id, client_secret=client_secret,
            basic_auth=basic_auth, api=api, oauth1a=oauth1a, token_lifetime=token_lifetime, version=mautic_version)
        self.app = Mautic(self.store, **self._app_kwargs)
        self.version = self.app.version
        self.rate_limit = rate_limit
        if fresh:
            self.store.create_schema()
            install(self.app)
            seed_data(self.app, contacts, seed)
            if self.version.modified_on_create:
                # 6.0's migration fills NULL leads.date_modified from date_added (versions sheet §5, PR #14433);
                # companies are created with it set from 6.0 on, so seeded ones get it too
                for table in ("leads", "companies"):
                    self.store.execute(f"UPDATE {table} SET date_modified = date_added WHERE date_modified IS NULL")
        self.faults = Faults()
        if faults:
            self.faults.set(faults, fault_seed)
        self._log = log
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Simulator:
        self._server = SimServer((self.host, self.port), self.app, latency_ms=self.latency_ms, faults=self.faults,
                                 timeout_fault_s=self.timeout_fault_s, log=self._log, workers=self.workers,
                                 row_ms=self.row_ms, write_ratio=self.write_ratio,
                                 latency_per_inflight_ms=self.latency_per_inflight_ms,
                                 rate_per_second=self.rate_per_second,
                                 rate_retry_after=self.rate_retry_after)
        self._server.rate_limit = self.rate_limit
        if self.tls:
            from mautic_sim.tls import make_certificate, server_context

            self._certdir: str | None = tempfile.mkdtemp(prefix="mautic-sim-tls-")
            self.cert_file, key_file = make_certificate(self._certdir, self.host)
            self._server.socket = server_context(self.cert_file, key_file).wrap_socket(
                self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.app.base_url = self.url
        if self.processes > 1:
            from mautic_sim.workers import WorkerPool

            self.store.share()
            self._pool = WorkerPool(self.processes, self.db_path, self._app_kwargs, self.url)
            self._server.run_app = self._pool.handle
        self._thread = serve_in_thread(self._server)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        certdir = getattr(self, "_certdir", None)
        if certdir:
            shutil.rmtree(certdir, ignore_errors=True)
            self._certdir = None
        if self._tmpdir:
            with contextlib.suppress(Exception):
                self.store.close()
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    # -- faults and auth ------------------------------------------------------------------------
    def schedule_fault(self, kind: str, nth: int = 1, path: str | None = None) -> None:
        """Make the ``nth`` matching request from now fail with ``kind``."""
        self.faults.schedule(kind, nth, path)

    def set_faults(self, spec: str | None, seed: int = 1) -> None:
        """Random faults per request, e.g. ``"429:0.1,502:0.05"``; reproducible for a given seed."""
        self.faults.set(spec, seed)

    def go_down(self) -> None:
        """Mautic's host goes down (until :meth:`stop`): new connections are refused, a request on a connection
        kept alive is reset. From a hook (:meth:`add_hook`), the request that runs it is reset too."""
        if self._server is None:
            raise RuntimeError("start the simulator first")
        self._server.go_down()

    def expire_tokens(self) -> None:
        self.app.expire_tokens()

    # -- request log and hooks ------------------------------------------------------------------
    def concurrency(self) -> dict[str, int]:
        """What the server saw since start: requests served, in a worker slot now and at most, waiting for one
        now and at most (waiting only happens with ``workers``), 429s of the per-second budget."""
        if self._server is None:
            return {"workers": self.workers, "served": 0, "in_flight": 0, "max_in_flight": 0, "queued": 0,
                    "max_queued": 0, "over_budget": 0}
        return {**self._server.slots.stats(), "over_budget": self._server.over_budget}

    @property
    def row_seconds(self) -> float:
        """Server time the row cost (``row_ms``) added so far: what a test checks instead of a clock."""
        return self._server.row_seconds if self._server is not None else 0.0

    @property
    def request_log(self) -> list[dict[str, Any]]:
        if self._server is None:
            return []
        with self._server.log_lock:
            parse_logged_bodies(self._server.request_log)
            return list(self._server.request_log)

    def clear_log(self) -> None:
        if self._server:
            with self._server.log_lock:
                self._server.request_log.clear()

    def add_hook(self, fn: Callable[[str, str, str], Any]) -> None:
        """``fn(method, path, query)`` runs before each request is handled."""
        if self._server is None:
            raise RuntimeError("start the simulator before adding hooks")
        self._server.hooks.append(fn)

    # -- store access ---------------------------------------------------------------------------
    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return self.store.query(sql, params)

    def execute(self, sql: str, params: Any = ()) -> int:
        return self.store.execute(sql, params)

    def now(self) -> datetime:
        return utcnow()

    def touch_contacts(self, ids: Iterable[int]) -> None:
        """Mark contacts as edited now, as an API edit would (date_modified, modified_by).

        On 6.0+ an edit leaves a date_modified that is already set alone (mautic#15418)."""
        now = db_ts(self.app.now())
        keep = "date_modified" if not self.version.modified_on_update else "?"
        for i in ids:
            self.store.execute(f"UPDATE leads SET date_modified = COALESCE({keep}, ?), modified_by = 1, "
                               "modified_by_user = 'Admin User' WHERE id = ?",
                               ((now, now, int(i)) if keep == "?" else (now, int(i))))

    def edit_contacts(self, values: dict[int, dict[str, Any]]) -> None:
        """Edit contacts through the same code path as ``PATCH /api/contacts/{id}/edit`` (audit_log rows,
        dateModified as the simulated version moves it)."""
        for i, payload in values.items():
            row = self.app.contacts.get_row("leads", int(i))
            if row is not None:
                self.app.contacts.save_contact(dict(payload), "patch", row)

    def create_contacts(self, n: int) -> list[int]:
        """Create ``n`` contacts through the same code path as ``POST /api/contacts/new``."""
        out = []
        base = self.store.scalar("SELECT COALESCE(MAX(id), 0) FROM leads") or 0
        for k in range(n):
            uniq = f"{base + k + 1}.{os.urandom(3).hex()}"
            row, _ = self.app.contacts.save_contact(
                {"firstname": "New", "lastname": f"Contact{uniq}", "email": f"new.{uniq}@example.com"}, "new", None)
            out.append(row["id"])
        return out

    def delete_contacts(self, ids: Iterable[int]) -> None:
        """Delete contacts as the API does (with audit_log rows)."""
        for i in ids:
            row = self.app.contacts.get_row("leads", i)
            if row is not None:
                self.app.contacts.delete_contact(row)

    def merge_contacts(self, loser: int, victor: int) -> dict[str, Any]:
        """Merge contact ``loser`` into ``victor`` as Mautic does outside the API (``mautic:contacts:deduplicate``,
        the UI merge, a form identifying a tracked visitor): ContactMerger's field combination, ``lead_id``
        re-pointed in the event and membership tables, the ``update``/``merge``/``delete`` audit_log rows by
        System. A test-only control (Mautic's API has no merge call); returns the victor's row."""
        from mautic_sim.merges import merge_contacts
        return merge_contacts(self.app.contacts, int(victor), int(loser))

    def set_redirect_uris(self, uris: Iterable[str]) -> None:
        """The OAuth2 client's registered redirect URIs (each admits URIs it prefixes, with its host and port)."""
        self.app.authorize.redirect_uris = list(uris)
