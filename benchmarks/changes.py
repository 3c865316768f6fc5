"""Reading contacts while Mautic changes under the reader: tap-mautic's keyset sync versus OFFSET paging.

Why: the complaint about today's Mautic integrations is that incremental syncs silently skip or duplicate
contacts, because they page with ``start``/``limit`` over a list that moves while it is read. This module
changes the simulator's data *during* the read, on the same schedule for every reader, and counts what
each reader delivered.

The change schedule (:class:`ChangeSchedule`), applied through the simulator's ``add_hook`` before list
requests 2..P of ``/api/contacts`` (P = the pages an unchanged read needs), in equal slices:

- ``change_pct`` % of the contacts (a seeded random sample across all ids) are modified: ``touch_contacts``
  (``date_modified`` = now, as an API edit does) and ``last_active`` = now (the tracked activity that
  accompanies most edits: a form submission, a page hit, an email open);
- ``new_pct`` % new contacts are created with ``create_contacts`` (as ``POST /api/contacts/new`` would).

Figures per reader: records delivered, **lost** (contacts that existed from start to end and were never
delivered), **duplicated** (deliveries beyond the first of an id), new contacts seen, requests made.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.baselines import offset_read
from benchmarks.throughput import contacts_output
from mautic_sim import Simulator
from mautic_sim.util import db_ts
from tap_mautic.tap import DEFAULT_PAGE_SIZE


class ChangeSchedule:
    """A simulator hook that spreads modifications and creations evenly over one read of the contacts list."""

    def __init__(self, sim: Simulator, change_pct: float, new_pct: float, page_size: int,
                 seed: int = 7) -> None:
        ids = [int(r["id"]) for r in sim.query("SELECT id FROM leads ORDER BY id")]
        self.sim = sim
        self.initial_ids = set(ids)
        pages = max(2, math.ceil(len(ids) / page_size))
        slices = pages - 1  # before requests 2..pages
        chosen = random.Random(seed).sample(ids, round(len(ids) * change_pct / 100))
        self._modify = [chosen[i::slices] for i in range(slices)]
        total_new = round(len(ids) * new_pct / 100)
        self._new = [total_new // slices + (1 if i < total_new % slices else 0) for i in range(slices)]
        self.modified: set[int] = set()
        self.created: set[int] = set()
        self.list_requests = 0

    def __call__(self, method: str, path: str, query: str) -> None:
        if method != "GET" or path != "/api/contacts":
            return
        self.list_requests += 1
        k = self.list_requests - 2
        if 0 <= k < len(self._modify):
            self.apply(self._modify[k], self._new[k])

    def apply(self, modify: list[int], new: int) -> None:
        if modify:
            self.sim.touch_contacts(modify)
            marks = ",".join("?" * len(modify))
            self.sim.execute(f"UPDATE leads SET last_active = ? WHERE id IN ({marks})",
                             (db_ts(self.sim.app.now()), *modify))
            self.modified.update(modify)
        if new:
            self.created.update(self.sim.create_contacts(new))


@dataclass
class ReadFigures:
    """What one reader delivered under the change schedule."""

    reader: str
    label: str
    requests: int
    delivered: int
    lost: int
    duplicated: int
    new_seen: int
    new_total: int
    modified: int
    seconds: float
    list_requests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _figures(reader: str, label: str, ids: list[int], schedule: ChangeSchedule, requests: int, seconds: float,
             final_ids: set[int]) -> ReadFigures:
    seen = set(ids)
    stable = schedule.initial_ids & final_ids
    return ReadFigures(reader=reader, label=label, requests=requests, delivered=len(ids),
                       lost=len(stable - seen),
                       duplicated=len(ids) - len(seen), new_seen=len(schedule.created & seen),
                       new_total=len(schedule.created), modified=len(schedule.modified), seconds=seconds,
                       list_requests=schedule.list_requests)


def run_tap(url: str, state: dict[str, Any] | None = None,
            page_size: int | None = None) -> tuple[list[int], dict[str, Any] | None, float]:
    """One in-process tap-mautic sync of the contacts stream: ids in emission order, last STATE, seconds."""
    config: dict[str, Any] = {"base_url": url, "username": "admin", "password": "mautic"}
    if page_size:
        config["page_size"] = page_size
    output, seconds = contacts_output(config, state)
    ids: list[int] = []
    last_state = None
    for line in output.decode().splitlines():
        if '"RECORD"' in line[:20]:
            message = json.loads(line)
            if message["stream"] == "contacts":
                ids.append(int(message["record"]["id"]))
        elif '"STATE"' in line[:20]:
            last_state = json.loads(line)["value"]
    return ids, last_state, seconds


def tap_under_changes(contacts: int, change_pct: float, new_pct: float, seed: int = 1) -> ReadFigures:
    """tap-mautic's sync under the schedule, then one incremental run that must pick up every change."""
    with Simulator(contacts=contacts, seed=seed) as sim:
        schedule = ChangeSchedule(sim, change_pct, new_pct, DEFAULT_PAGE_SIZE)
        sim.add_hook(schedule)
        sim.clear_log()
        ids, state, seconds = run_tap(sim.url)
        requests = len(sim.request_log)
        final_ids = {int(r["id"]) for r in sim.query("SELECT id FROM leads")}
        figures = _figures(f"tap-mautic (keyset on id, page_size {DEFAULT_PAGE_SIZE})", "keyset", ids,
                           schedule, requests, seconds, final_ids)
        time.sleep(1.1)  # Mautic's clock has seconds: let the next run start in a later second
        sim.clear_log()
        next_ids, _, _ = run_tap(sim.url, state=state)
        changed = schedule.modified | schedule.created
        figures.extra = {"next_run_records": len(next_ids), "next_run_requests": len(sim.request_log),
                         "changes_caught_next_run": len(changed & set(next_ids)), "changes": len(changed)}
    return figures


def offset_under_changes(contacts: int, change_pct: float, new_pct: float, order_by: str | None,
                         page_size: int = DEFAULT_PAGE_SIZE, seed: int = 1) -> ReadFigures:
    """The baseline reader (``start``/``limit``), same schedule, identically seeded simulator."""
    with Simulator(contacts=contacts, seed=seed) as sim:
        schedule = ChangeSchedule(sim, change_pct, new_pct, page_size)
        sim.add_hook(schedule)
        result = offset_read(sim.url, "admin", "mautic", limit=page_size, order_by=order_by)
        final_ids = {int(r["id"]) for r in sim.query("SELECT id FROM leads")}
    label = f"orderBy={order_by}" if order_by else "default order"
    return _figures(f"offset paging, {label}, limit {page_size}", label, result.ids, schedule,
                    result.requests, result.seconds, final_ids)
