"""The SQLite store: Mautic's own table names and snake_case columns.

One connection guarded by a re-entrant lock: SQLite serializes writers anyway, and a single connection
keeps ``Simulator.query``/``execute`` consistent with what the HTTP threads see.

Shared mode (``shared=True``, the simulator's worker processes, each with a connection of its own to one WAL
file): ``lock`` also holds an exclusive ``flock`` on ``<db>.lock`` while a thread is inside it, so what the app
runs under it (de-duplicate then write, a batch's transaction) is atomic across processes as it is across
threads; reads outside it take only the thread lock and read the last commit (WAL readers never wait). The
field definitions' cache follows a counter in ``sim_meta`` that every field change bumps.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from mautic_sim import mariadb
from mautic_sim.util import RECORDED

# Generic contexts: context name -> Mautic table
GENERIC_TABLES = {
    "assets": "assets", "campaigns": "campaigns", "categories": "categories", "devices": "lead_devices",
    "dynamiccontents": "dynamic_content", "emails": "emails", "focus": "focus", "forms": "forms",
    "marketingmessages": "channels", "notes": "lead_notes", "notifications": "push_notifications",
    "pages": "pages", "pointtriggers": "point_triggers", "points": "points", "pointgroups": "point_groups",
    "reports": "reports", "roles": "roles", "segments": "lead_lists", "smses": "sms_messages",
    "stages": "stages", "tags": "lead_tags", "tweets": "tweets", "users": "users", "webhooks": "webhooks",
    "campaignevents": "campaign_events",
}

# Text compares as Mautic's MariaDB columns do (utf8mb4_unicode_ci); dates keep byte order (Y-m-d H:i:s sorts).
CI_TEXT = f"TEXT COLLATE {mariadb.COLLATION}"
LEAD_BASE_COLUMNS = [
    ("id", "INTEGER PRIMARY KEY AUTOINCREMENT"), ("owner_id", "INTEGER"), ("stage_id", "INTEGER"),
    ("is_published", "INTEGER DEFAULT 1"), ("date_added", "TEXT"), ("created_by", "INTEGER"),
    ("created_by_user", CI_TEXT), ("date_modified", "TEXT"), ("modified_by", "INTEGER"),
    ("modified_by_user", CI_TEXT), ("points", "INTEGER DEFAULT 0"), ("last_active", "TEXT"),
    ("date_identified", "TEXT"), ("preferred_profile_image", CI_TEXT), ("color", CI_TEXT),
]
COMPANY_BASE_COLUMNS = [
    ("id", "INTEGER PRIMARY KEY AUTOINCREMENT"), ("owner_id", "INTEGER"), ("is_published", "INTEGER DEFAULT 1"),
    ("date_added", "TEXT"), ("created_by", "INTEGER"), ("created_by_user", CI_TEXT), ("date_modified", "TEXT"),
    ("modified_by", "INTEGER"), ("modified_by_user", CI_TEXT), ("social_cache", "TEXT"), ("score", "INTEGER DEFAULT 0"),
]
FIELD_COLUMNS = [
    "id", "is_published", "date_added", "created_by", "created_by_user", "date_modified", "modified_by",
    "modified_by_user", "label", "alias", "type", "field_group", "field_order", "object", "default_value",
    "is_required", "is_fixed", "is_listable", "is_visible", "is_short_visible", "is_unique_identifier",
    "is_publicly_updatable", "properties",
]


STATS_INT_COLUMNS = {"delta", "reason", "rotation", "open_count", "retry_count", "code", "hits", "unique_hits",
                     "sent_count", "frequency_number", "viewed_in_browser", "manually_added", "manually_removed"}


STATS_DATE_COLUMNS = {"last_clicked", "last_opened", "last_sent", "checked_out", "trigger_date", "pause_from_date",
                      "pause_to_date"}


def stats_affinity(column: str) -> str:
    """INTEGER for ids, flags and counters (so ``where lead_id gt '5'`` compares numbers, as MySQL does), TEXT
    otherwise (dates, hashes, serialized blobs keep their text); text that is not a date compares as MariaDB's
    utf8mb4_unicode_ci does (``where action eq DELETE`` finds ``delete``)."""
    if column.endswith("_id") or column.startswith("is_") or column in STATS_INT_COLUMNS:
        return "INTEGER"
    if column.startswith("date_") or column in STATS_DATE_COLUMNS:
        return "TEXT"
    return CI_TEXT


def column_type(field_type: str) -> str:
    """The column of a contact/company field: numbers and booleans typed, dates in byte order, other text
    case- and accent-insensitive as in Mautic's MariaDB."""
    if field_type == "number":
        return "REAL"
    if field_type == "boolean":
        return "INTEGER"
    if field_type in ("date", "datetime", "time"):
        return "TEXT"
    return CI_TEXT


class ProcessLock:
    """A re-entrant thread lock that also holds an exclusive ``flock`` on a file while held, so one thread of one
    process at a time is inside (what the app's ``with store.lock`` sections need across worker processes)."""

    def __init__(self, path: str, conn: sqlite3.Connection) -> None:
        self.thread_lock = threading.RLock()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._depth = 0
        self._conn = conn
        self._began = False

    def __enter__(self) -> ProcessLock:
        self.thread_lock.acquire()
        if self._depth == 0:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
                # what runs inside is one transaction: one commit, and no other process reads half of it
                self._began = not self._conn.in_transaction
                if self._began:
                    self._conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                self.thread_lock.release()
                raise
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            try:
                if self._began and self._conn.in_transaction:
                    self._conn.execute("COMMIT")  # always: what was written before an error stays written
            finally:
                self._began = False
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.thread_lock.release()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class Store:
    """Thread-safe wrapper over one SQLite connection (shared with other processes' connections if ``shared``)."""

    def __init__(self, path: str, shared: bool = False):
        self.path = path
        self.shared = False
        # a writer of another process holds SQLite's lock only for a commit (our flock orders the rest): wait
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=60)
        self.conn.row_factory = sqlite3.Row
        mariadb.register(self.conn)
        self.lock: threading.RLock | ProcessLock
        self.lock = self._read_lock = threading.RLock()
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=OFF")
        self._field_cache: dict[str, list[dict[str, Any]]] = {}
        self._field_version = -1
        self._pinned = threading.local()
        if shared:
            self.share()

    def share(self) -> None:
        """Switch to shared mode (other processes write this file too); once the schema and seed are in."""
        if self.shared or self.path == ":memory:":
            return
        with self.lock:
            self.conn.execute("CREATE TABLE IF NOT EXISTS sim_meta (k TEXT PRIMARY KEY, v INTEGER)")
            self.conn.execute("INSERT OR IGNORE INTO sim_meta VALUES ('fields', 0)")
            lock = ProcessLock(self.path + ".lock", self.conn)
            self._read_lock = lock.thread_lock
            self.lock = lock
            self.shared = True

    def fields_changed(self) -> None:
        """Field definitions changed: drop this process's cache and, shared, make the others drop theirs."""
        self._field_cache.clear()
        if self.shared:
            with self.lock:
                self.conn.execute("UPDATE sim_meta SET v = v + 1 WHERE k = 'fields'")

    # -- raw access -------------------------------------------------------------------------------
    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        with self._read_lock:
            cur = self.conn.execute(sql, params)
            return [dict(r) for r in cur.fetchall()]

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Any = ()) -> Any:
        with self._read_lock:
            row = self.conn.execute(sql, params).fetchone()
            return row[0] if row else None

    def execute(self, sql: str, params: Any = ()) -> int:
        """Run one statement; returns lastrowid."""
        with self.lock:
            cur = self.conn.execute(sql, params)
            if "lead_fields" in sql:
                self.fields_changed()
            return cur.lastrowid or 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One SQLite transaction for a batch request's many writes (each autocommitted, they cost a commit
        each). Held under the lock, so no other request writes into it; always committed, so what was written
        before an error stays written, as Mautic's per-entity flushes leave it.

        Shared (worker processes): each ``with lock`` section inside is its own transaction instead (one entity
        saved, as Mautic flushes each), so other workers' requests interleave with a batch as they do on a real
        Mautic's database, and the batch's JSON is built outside the lock."""
        if self.shared:
            yield
            return
        with self.lock:
            if self.conn.in_transaction:
                yield
                return
            self.conn.execute("BEGIN")
            try:
                yield
            finally:
                self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def batch_transaction(self) -> Iterator[None]:
        """The one transaction of a batch's writes, under the lock also when shared (worker processes), where
        ``transaction`` leaves each entity its own: for a batch whose rows are prepared before (the contacts
        batch endpoints), so the lock is held only while they are written."""
        if not self.shared:
            with self.transaction():
                yield
            return
        with self.lock:
            yield

    @contextlib.contextmanager
    def fields_pinned(self) -> Iterator[None]:
        """Shared: the field definitions as they are now, without asking the database again on each
        ``fields`` call until the block ends (a batch reads them a few times per item). Not for a block that
        writes: the batch checks them once more under the lock."""
        if not self.shared:
            yield
            return
        self.fields("lead")
        self._pinned.on = True
        try:
            yield
        finally:
            self._pinned.on = False

    def executemany(self, sql: str, rows: Any) -> None:
        with self.lock:
            self.conn.executemany(sql, rows)

    def insert(self, table: str, values: dict[str, Any]) -> int:
        cols = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join("?" for _ in values)
        return self.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', list(values.values()))

    def update(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        if not values:
            return
        sets = ", ".join(f'"{c}" = ?' for c in values)
        self.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?', [*values.values(), row_id])

    def columns(self, table: str) -> list[str]:
        with self._read_lock:
            return [r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")').fetchall()]

    def close(self) -> None:
        with self.lock:
            self.conn.close()
        if isinstance(self.lock, ProcessLock):
            self.lock.close()

    # -- schema -----------------------------------------------------------------------------------
    def create_schema(self) -> None:
        with self.lock:
            c = self.conn
            c.execute("BEGIN")
            c.execute("CREATE TABLE lead_fields (" + ", ".join(
                f"{n} INTEGER PRIMARY KEY AUTOINCREMENT" if n == "id" else n for n in FIELD_COLUMNS) + ")")
            # Stats tables with the columns Mautic lists for them
            for table, cols in RECORDED["stats_columns"].items():
                order = RECORDED["stats_row_keys"].get(table, [])
                cols = order + [x for x in cols if x not in order]
                defs = [f'"{x}" INTEGER PRIMARY KEY AUTOINCREMENT' if x == "id" else f'"{x}" {stats_affinity(x)}'
                        for x in cols]
                c.execute(f'CREATE TABLE "{table}" ({", ".join(defs)})')
            for table in ("lead_lists_leads", "campaign_leads", "companies_leads"):
                key = {"lead_lists_leads": "leadlist_id", "campaign_leads": "campaign_id",
                       "companies_leads": "company_id"}[table]
                c.execute(f"CREATE UNIQUE INDEX ux_{table} ON {table} ({key}, lead_id)")
            c.execute("CREATE INDEX ix_lll_lead ON lead_lists_leads (lead_id)")
            c.execute("CREATE INDEX ix_cl_lead ON companies_leads (lead_id)")
            c.execute("CREATE INDEX ix_dnc_lead ON lead_donotcontact (lead_id)")
            for table in set(GENERIC_TABLES.values()):
                if table in RECORDED["stats_columns"]:
                    c.execute(f'ALTER TABLE "{table}" ADD COLUMN data TEXT')
                else:
                    c.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT)')
            c.execute("CREATE TABLE lead_tags_xref (lead_id INTEGER, tag_id INTEGER, PRIMARY KEY (lead_id, tag_id))")
            c.execute("CREATE INDEX ix_ltx_tag ON lead_tags_xref (tag_id)")
            c.execute("CREATE TABLE leads (" + ", ".join(f"{n} {t}" for n, t in LEAD_BASE_COLUMNS) + ")")
            c.execute("CREATE TABLE companies (" + ", ".join(f"{n} {t}" for n, t in COMPANY_BASE_COLUMNS) + ")")
            c.execute("CREATE TABLE oauth2_tokens (token TEXT PRIMARY KEY, kind TEXT, client_id TEXT, "
                      "user_id INTEGER, expires_at REAL, used INTEGER DEFAULT 0)")
            c.execute("CREATE TABLE oauth2_auth_codes (code TEXT PRIMARY KEY, client_id TEXT, redirect_uri TEXT,"
                      " user_id INTEGER, used INTEGER DEFAULT 0)")
            c.execute("CREATE TABLE files (dir TEXT, name TEXT, size INTEGER, PRIMARY KEY (dir, name))")
            for f in RECORDED["contact_fields"] + RECORDED["company_fields"]:
                self._insert_field_row(f, add_column=True)
            c.execute("CREATE INDEX ix_leads_email ON leads (email)")
            c.execute("CREATE INDEX ix_leads_dm ON leads (date_modified)")
            c.execute("CREATE INDEX ix_leads_la ON leads (last_active)")
            c.execute("COMMIT")

    def _insert_field_row(self, f: dict[str, Any], add_column: bool) -> int:
        row = {
            "id": f.get("id"), "is_published": int(f.get("isPublished", True)), "date_added": f.get("dateAdded"),
            "created_by": f.get("createdBy"), "created_by_user": f.get("createdByUser"),
            "date_modified": f.get("dateModified"), "modified_by": f.get("modifiedBy"),
            "modified_by_user": f.get("modifiedByUser"), "label": f["label"], "alias": f["alias"],
            "type": f["type"], "field_group": f.get("group") or "core", "field_order": f.get("order") or 0,
            "object": f.get("object") or "lead", "default_value": f.get("defaultValue"),
            "is_required": int(bool(f.get("isRequired"))), "is_fixed": int(bool(f.get("isFixed"))),
            "is_listable": int(f.get("isListable", True)), "is_visible": int(f.get("isVisible", True)),
            "is_short_visible": int(bool(f.get("isShortVisible"))),
            "is_unique_identifier": int(bool(f.get("isUniqueIdentifier"))),
            "is_publicly_updatable": int(bool(f.get("isPubliclyUpdatable"))),
            "properties": json.dumps(f.get("properties") or {}),
        }
        if row["id"] is None:
            del row["id"]
        new_id = self.insert("lead_fields", row)
        if add_column:
            table = "leads" if row["object"] == "lead" else "companies"
            if row["alias"] not in self.columns(table):
                self.execute(f'ALTER TABLE "{table}" ADD COLUMN "{row["alias"]}" {column_type(row["type"])}')
        self.fields_changed()
        return new_id

    def fields(self, obj: str) -> list[dict[str, Any]]:
        """Published field definitions for ``lead`` or ``company``, in Mautic's display order."""
        with self._read_lock:
            if self.shared and not getattr(self._pinned, "on", False):
                version = self.conn.execute("SELECT v FROM sim_meta WHERE k = 'fields'").fetchone()[0]
                if version != self._field_version:
                    self._field_cache.clear()
                    self._field_version = version
            cached = self._field_cache.get(obj)
            if cached is None:
                cached = self.query("SELECT * FROM lead_fields WHERE object = ? ORDER BY field_order, id", (obj,))
                for f in cached:
                    f["props"] = json.loads(f["properties"] or "{}")
                self._field_cache[obj] = cached
            return cached
