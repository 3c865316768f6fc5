"""What contact merges cost an incremental run: requests, records and seconds per merged contact.

Why: a merge makes the tap read the victors' rows of the id-incremental event tables again and retract the
loser's membership rows (tombstones); a run without merges should cost nothing more than the one shared
audit-log lookup. Measured on the in-process simulator: a first full run, an incremental run with no merge
(with ``include_merges`` on and off: same requests means no extra call), then ``merges`` merges (each loser
with a page hit, a form submission, points, an event and a segment and campaign membership) and the next
incremental run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.throughput import singer_stdout
from mautic_sim import Simulator
from tap_mautic.tap import TapMautic

STREAMS = ("contact_merges", "deletions", "lead_event_log", "lead_points_change_log", "page_hits",
           "form_submissions", "lead_lists_leads", "campaign_leads", "companies_leads")
USER, PASSWORD = "admin", "bench-password"


@dataclass
class MergeCost:
    """Requests/records/seconds of an incremental run without merges, with them, and with merges off."""

    merges: int
    quiet_requests: int
    quiet_requests_merges_off: int
    merged_requests: int
    merged_records: int
    quiet_records: int
    merged_seconds: float
    quiet_seconds: float
    tombstones: int

    def per_merge(self, attr_merged: str, attr_quiet: str) -> float:
        return (getattr(self, attr_merged) - getattr(self, attr_quiet)) / max(1, self.merges)


def _sync(config: dict[str, Any], state: dict[str, Any] | None) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                                          float]:
    tap = TapMautic(config=config, state=state, parse_env_config=False)
    for name, stream in tap.streams.items():
        stream.selected = name in STREAMS
    began = time.perf_counter()
    with singer_stdout() as buf:
        tap.sync_all()
    seconds = time.perf_counter() - began
    messages = [json.loads(line) for line in buf.getvalue().decode().splitlines() if line.startswith("{")]
    last = next((m["value"] for m in reversed(messages) if m.get("type") == "STATE"), state or {})
    return last, [m for m in messages if m.get("type") == "RECORD"], seconds


def _activity(sim: Simulator, lead: int) -> None:
    sim.execute("INSERT INTO page_hits (lead_id, page_id, url, date_hit, code) "
                "VALUES (?, 1, 'http://x/a', '2024-01-01 00:00:00', 200)", (lead,))
    sim.execute("INSERT INTO form_submissions (lead_id, form_id, date_submitted) "
                "VALUES (?, 1, '2024-01-01 00:00:00')", (lead,))
    sim.execute("INSERT INTO lead_points_change_log (lead_id, type, event_name, action_name, delta, "
                "date_added) VALUES (?, 'API', 'add', 'API', 3, '2024-01-01 00:00:00')", (lead,))
    sim.execute("INSERT INTO lead_event_log (lead_id, bundle, object, action, date_added) "
                "VALUES (?, 'lead', 'api-single', 'identified_contact', '2024-01-01 00:00:00')", (lead,))
    sim.execute("INSERT OR IGNORE INTO lead_lists_leads (leadlist_id, lead_id, date_added, manually_added, "
                "manually_removed) VALUES (1, ?, '2024-01-01 00:00:00', 1, 0)", (lead,))
    sim.execute("INSERT OR IGNORE INTO campaign_leads (campaign_id, lead_id, date_added, manually_added, "
                "manually_removed, rotation) VALUES (1, ?, '2024-01-01 00:00:00', 1, 0, 1)", (lead,))


def measure_merges(contacts: int, merges: int) -> MergeCost:
    """Merge ``merges`` pairs among ``contacts`` contacts and measure the next incremental run."""
    with Simulator(contacts=contacts, seed=41, username=USER, password=PASSWORD) as sim:
        config = {"base_url": sim.url, "username": USER, "password": PASSWORD, "stats_settle_seconds": 0}
        pairs = sim.create_contacts(2 * merges)
        for lead in pairs:
            _activity(sim, lead)
        state, _, _ = _sync(config, None)
        sim.clear_log()
        _, _, _ = _sync({**config, "include_merges": False}, state)
        quiet_off = len(sim.request_log)
        sim.clear_log()
        state, quiet, quiet_s = _sync(config, state)
        quiet_requests = len(sim.request_log)
        for n in range(merges):
            sim.merge_contacts(loser=pairs[2 * n], victor=pairs[2 * n + 1])
        sim.clear_log()
        _, merged, merged_s = _sync(config, state)
        return MergeCost(merges, quiet_requests, quiet_off, len(sim.request_log), len(merged), len(quiet),
                         merged_s, quiet_s, sum(1 for m in merged if m["record"].get("_sdc_deleted_at")))
