"""Incremental contacts and companies on every simulated Mautic version (5.1, 5.2, 6.0, 7.1).

From 6.0 updates do not move dateModified (mautic#15418): the tap finds them in audit_log. 10 % of the
contacts change between two runs and 10 % more while a run pages: the next runs hold every change, with the
current values, and nothing twice beyond the look-back.
"""

from __future__ import annotations

import logging
import time

import pytest

from mautic_api.client import MauticClient
from mautic_sim import Simulator
from mautic_sim.versions import VERSIONS, MauticVersion
from tap_mautic.changes import FULL_READ_COUNTER
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config
from tests.support.proxy import STATS_DENIED, DenyingProxy
from tests.support.tap import sync

pytestmark = pytest.mark.versions


def _next_second() -> None:
    """Mautic stores seconds: let the clock pass a second boundary so 'before' and 'after' differ."""
    time.sleep(1.1)


def _latest(*runs) -> dict[tuple[str, int], dict]:
    latest = {}
    for run in runs:
        for stream, records in run.records.items():
            for rec in records:
                latest[(stream, rec["id"])] = rec
    return latest


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_ten_percent_changed_between_and_during_runs(version, slices):
    with Simulator(contacts=200, seed=9, username=SIM_USER, password=SIM_PASSWORD,
                   mautic_version=version) as sim:
        cfg = basic_config(sim, page_size=20, lookback_seconds=0, **slices)
        streams = ["contacts", "companies"]
        first = sync(cfg, streams=streams)
        all_ids = sorted(r["id"] for r in sim.query("SELECT id FROM leads"))
        companies = sorted(r["id"] for r in sim.query("SELECT id FROM companies"))
        assert first.ids("contacts") == set(all_ids)
        _next_second()
        between = all_ids[3::10]
        sim.edit_contacts({i: {"city": f"Between {i}"} for i in between})
        MauticClient(cfg).edit("companies", companies[0], {"companycity": "Between"})
        _next_second()

        during: list[int] = []
        created: list[int] = []

        def change_mid_sync(method: str, path: str, query: str) -> None:
            if method == "GET" and path == "/api/contacts" and not during and "date_modified" in query:
                during.extend(all_ids[7::10])  # 10 %, spread over the id range
                sim.edit_contacts({i: {"city": f"During {i}"} for i in during})
                created.extend(sim.create_contacts(5))

        sim.add_hook(change_mid_sync)
        second = sync(cfg, streams=streams, state=first.last_state)
        assert during and created, "the hook fired while the second run paged"
        assert set(between) <= second.ids("contacts")
        assert companies[0] in second.ids("companies")
        for i in between:
            assert _latest(second)[("contacts", i)]["city"] == f"Between {i}"

        third = sync(cfg, streams=streams, state=second.last_state)
        # 0 lost: what changed during run 2 is in run 3, which holds only what changed since run 2 began
        assert third.ids("contacts") == set(during) | set(created)
        assert not third.ids("companies")
        latest = _latest(first, second, third)
        for row in sim.query("SELECT id, city FROM leads"):
            assert latest[("contacts", row["id"])]["city"] == row["city"], (version, row["id"])
        # none twice within a run
        for run in (second, third):
            ids = [r["id"] for r in run.records["contacts"]]
            assert len(ids) == len(set(ids))
        if not sim.version.modified_on_update:
            log = [e for e in sim.request_log if e["path"] == "/api/contacts" and "expr%5D=in" in e["query"]]
            assert log, "6.0+: changed ids are re-read with where id in"


def test_self_check_switches_to_audit_log_when_an_update_did_not_move_date_modified(caplog):
    """A version that says 5.1 but behaves like 6.0 (a backport, a patched build): the self-check sees it."""
    liar = MauticVersion("5.1", "5.1.0", modified_on_update=False)
    with Simulator(contacts=40, seed=2, username=SIM_USER, password=SIM_PASSWORD, mautic_version=liar) as sim:
        cfg = basic_config(sim, lookback_seconds=0)
        first = sync(cfg, streams=["contacts"])
        _next_second()
        edited = sorted(first.ids("contacts"))[:4]
        sim.edit_contacts({i: {"city": "Checked"} for i in edited})
        _next_second()
        with caplog.at_level(logging.WARNING):
            second = sync(cfg, streams=["contacts"], state=first.last_state)
        assert second.ids("contacts") == set(edited)
        assert any("self-check" in r.getMessage() for r in caplog.records)
        # and with the self-check off, the same instance misses them (what the check is for)
        off = sync({**cfg, "date_modified_self_check": False}, streams=["contacts"], state=first.last_state)
        assert not off.ids("contacts")


def test_without_audit_log_one_warning_and_a_full_read_every_n_runs(caplog):
    with Simulator(contacts=40, seed=4, username=SIM_USER, password=SIM_PASSWORD, mautic_version="6.0") as sim, \
            DenyingProxy(sim.url, {"/api/stats/audit_log": STATS_DENIED}) as proxy:
        cfg = basic_config(sim, base_url=proxy.url, lookback_seconds=0, full_resync_every=2)
        streams = ["contacts", "companies"]
        _next_second()  # the seed's newest contact is dated now: not in the first run's last second
        first = sync(cfg, streams=streams)
        _next_second()
        edited = sorted(first.ids("contacts"))[:3]
        sim.edit_contacts({i: {"city": "Unseen"} for i in edited})
        _next_second()
        with caplog.at_level(logging.WARNING):
            second = sync(cfg, streams=streams, state=first.last_state)
        warnings = [r.getMessage() for r in caplog.records if "audit_log" in r.getMessage()]
        assert len(warnings) == 1 and "full_resync_every" in warnings[0] and "every 2 run" in warnings[0]
        assert not second.ids("contacts"), "run 1 of 2: by dateModified, which 6.0 does not move"
        assert second.final_state["bookmarks"]["contacts"][FULL_READ_COUNTER] == 1
        third = sync(cfg, streams=streams, state=second.last_state)
        assert third.ids("contacts") == set(first.ids("contacts")), "run 2 of 2: a full keyset re-read"
        assert {r["id"]: r["city"] for r in third.records["contacts"] if r["id"] in edited} == \
            dict.fromkeys(edited, "Unseen")
        assert third.final_state["bookmarks"]["contacts"][FULL_READ_COUNTER] == 0
        assert not third.ids("contacts", deleted=True)


def test_other_incremental_streams_are_read_in_full_when_date_modified_is_not_moved():
    with Simulator(contacts=20, seed=6, username=SIM_USER, password=SIM_PASSWORD, mautic_version="7.1") as sim:
        cfg = basic_config(sim, lookback_seconds=0)
        first = sync(cfg, streams=["segments"])
        _next_second()
        seg = sorted(first.ids("segments"))[0]
        MauticClient(cfg).edit("segments", seg, {"description": "edited on 7.1"})
        second = sync(cfg, streams=["segments"], state=first.last_state)
    assert second.ids("segments") == first.ids("segments")
    assert next(r for r in second.records["segments"] if r["id"] == seg)["description"] == "edited on 7.1"
