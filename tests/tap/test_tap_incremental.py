"""Incremental contacts without gaps: null dateModified, changes while paging, deletes, permissions."""

from __future__ import annotations

import logging
import time
from typing import cast

import pytest

from mautic_api.client import MauticClient
from mautic_sim import Simulator
from tap_mautic.base_stream import FilterIgnoredError
from tap_mautic.fields import to_datetime
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config
from tests.support.proxy import API_DENIED, STATS_DENIED, DenyingProxy, drop_where
from tests.support.tap import sync


def _next_second() -> None:
    """Mautic stores seconds: let the clock pass a second boundary so 'before' and 'after' differ."""
    time.sleep(1.1)


def _bookmark(state: dict, stream: str = "contacts") -> str:
    return state["bookmarks"][stream]["replication_key_value"]


def test_never_modified_contacts_are_picked_up(sim):
    cfg = basic_config(sim, page_size=10, lookback_seconds=0)
    never = {r["id"] for r in sim.query("SELECT id FROM leads WHERE date_modified IS NULL")}
    first = sync(cfg, streams=["contacts"])
    assert never and never <= first.ids("contacts")
    _next_second()
    created = set(sim.create_contacts(4))
    assert all(r["date_modified"] is None for r in sim.query(
        f"SELECT date_modified FROM leads WHERE id IN ({','.join(map(str, created))})"))
    second = sync(cfg, streams=["contacts"], state=first.last_state)
    assert second.ids("contacts") == created
    for rec in second.records["contacts"]:
        assert rec["dateModified"] is None
        assert rec["_mautic_modified_at"] == to_datetime(rec["dateAdded"])


def test_no_record_lost_when_contacts_change_while_paging(slices):
    """10% of contacts touched and new ones created mid-sync: nothing lost, the next run returns only them
    (read one page at a time and in concurrent slices)."""
    with Simulator(contacts=250, seed=5, username=SIM_USER, password=SIM_PASSWORD) as sim:
        cfg = basic_config(sim, page_size=20, lookback_seconds=0, **slices)
        first = sync(cfg, streams=["contacts"])
        assert first.ids("contacts") == {r["id"] for r in sim.query("SELECT id FROM leads")}
        _next_second()
        all_ids = sorted(r["id"] for r in sim.query("SELECT id FROM leads"))
        before = set(all_ids[5::5])  # changed before the incremental run starts (3 pages: it pages)
        sim.touch_contacts(before)
        _next_second()

        during: set[int] = set()
        created: list[int] = []
        calls = {"n": 0}

        def change_mid_sync(method: str, path: str, query: str) -> None:
            if method != "GET" or path != "/api/contacts":
                return
            calls["n"] += 1
            if calls["n"] == 3 and not during:
                ids = set(all_ids[::10])  # 10%, across the id range (most already paged past)
                during.update(ids)
                sim.touch_contacts(ids)
                created.extend(sim.create_contacts(12))

        sim.add_hook(change_mid_sync)
        second = sync(cfg, streams=["contacts"], state=first.last_state)
        assert during and created, "the hook fired during the incremental run"
        assert before <= second.ids("contacts")
        assert _bookmark(second.final_state) <= min(
            cast(str, to_datetime(r["date_modified"])) for r in sim.query(
                f"SELECT date_modified FROM leads WHERE id IN ({','.join(map(str, during))})"))

        third = sync(cfg, streams=["contacts"], state=second.last_state)
        changed = during | set(created)
        # 0 lost: every change made during run 2 is in run 2 or run 3 ...
        assert changed <= second.ids("contacts") | third.ids("contacts")
        # ... and run 3 returns only what changed since run 2 started.
        assert third.ids("contacts") == changed
        # The last version emitted of every contact is the current one.
        latest = {}
        for result in (first, second, third):
            for rec in result.records["contacts"]:
                latest[rec["id"]] = rec
        for row in sim.query("SELECT id, date_modified FROM leads"):
            assert latest[row["id"]]["dateModified"] == to_datetime(row["date_modified"]), row["id"]


def test_deletes_are_emitted_for_contacts_and_companies(sim):
    cfg = basic_config(sim, page_size=15, lookback_seconds=0)
    first = sync(cfg, streams=["contacts", "companies", "deletions"])
    assert first.records["companies"], "the simulator seeds companies"
    _next_second()
    gone = sorted(first.ids("contacts"))[:3]
    names = {rec["id"]: f"{rec['firstname'] or ''} {rec['lastname'] or ''}".strip()
             for rec in first.records["contacts"] if rec["id"] in gone}
    sim.delete_contacts(gone)
    company_id = sorted(first.ids("companies"))[0]
    MauticClient(cfg).delete("companies", company_id)
    _next_second()
    second = sync(cfg, streams=["contacts", "companies", "deletions"], state=first.last_state)
    assert second.ids("contacts", deleted=True) == set(gone)
    assert second.ids("companies", deleted=True) == {company_id}
    for stream in ("contacts", "companies"):
        for rec in second.records[stream]:
            if rec.get("_sdc_deleted_at") is not None:
                # exactly {id, _sdc_deleted_at}: no null for any other property an upsert would write
                assert set(rec) == {"id", "_sdc_deleted_at"}, rec
    # The deletions stream keeps who and what was deleted, and by whom.
    deleted = {(r["object"], r["object_id"]): r for r in second.records["deletions"]}
    assert {k for k in deleted if k[0] in ("lead", "company")} >= {("lead", i) for i in gone} | {
        ("company", company_id)}
    for contact_id in gone:
        row = deleted[("lead", contact_id)]
        assert row["name"] == names[contact_id] or (not names[contact_id] and row["name"])
        assert row["deleted_at"] is not None and row["user_name"]
    # A third run does not repeat the deletes.
    third = sync(cfg, streams=["contacts", "companies", "deletions"], state=second.last_state)
    assert not third.ids("contacts", deleted=True)
    assert not third.records.get("deletions")


def test_no_deletes_and_one_warning_when_audit_log_is_not_readable(sim, caplog):
    with DenyingProxy(sim.url, {"/api/stats/audit_log": STATS_DENIED}) as proxy:
        cfg = basic_config(sim, base_url=proxy.url, lookback_seconds=0)
        first = sync(cfg, streams=["contacts"])
        _next_second()
        sim.delete_contacts(sorted(first.ids("contacts"))[:2])
        sim.touch_contacts(sorted(first.ids("contacts"))[5:7])
        with caplog.at_level(logging.WARNING):
            second = sync(cfg, streams=["contacts"], state=first.last_state)
    assert not second.ids("contacts", deleted=True)
    assert len(second.ids("contacts")) == 2
    warnings = [r.getMessage() for r in caplog.records if "audit_log" in r.getMessage()]
    assert len(warnings) == 1 and "deletes are not emitted" in warnings[0]


@pytest.mark.parametrize("denied", [API_DENIED, STATS_DENIED], ids=["403", "200-with-errors"])
def test_permission_denied_stream_is_skipped_with_one_warning(sim, caplog, denied):
    rules = {"/api/segments": denied, "/api/stats/email_stats": denied}
    with DenyingProxy(sim.url, rules) as proxy, caplog.at_level(logging.WARNING):
        result = sync(basic_config(sim, base_url=proxy.url), streams=["segments", "email_stats", "tags"])
    assert not result.records.get("segments") and not result.records.get("email_stats")
    assert result.records["tags"], "the other streams still sync"
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Skipping stream")]
    assert len(skipped) == 2
    assert any("'segments'" in m and "lead:lists:viewother" in m for m in skipped)


def test_exclude_anonymous_and_stream_options(sim):
    anonymous = {r["id"] for r in sim.query("SELECT id FROM leads WHERE date_identified IS NULL")}
    cfg = basic_config(sim, exclude_anonymous=True,
                       stream_options={"contacts": {"page_size": 9, "minimal": True}})
    result = sync(cfg, streams=["contacts"])
    identified = {r["id"] for r in sim.query("SELECT id FROM leads WHERE date_identified IS NOT NULL")}
    assert result.ids("contacts") == identified
    assert anonymous.isdisjoint(result.ids("contacts"))
    contacts_requests = [e for e in sim.request_log if e["path"] == "/api/contacts"]
    assert all("minimal=1" in e["query"] for e in contacts_requests)
    # pages ask for 9; the one probe for the largest id (concurrent slices) asks for 1, newest first
    pages = [e for e in contacts_requests if "orderByDir=DESC" not in e["query"]]
    assert pages and all("limit=9" in e["query"] for e in pages)
    assert all("limit=1" in e["query"] for e in contacts_requests if e not in pages)


def test_other_contexts_replicate_on_modification(sim):
    cfg = basic_config(sim, lookback_seconds=0)
    streams = ["segments", "emails", "tags"]
    _next_second()  # the simulator seeds these at start-up, in the second the first run would start
    first = sync(cfg, streams=streams)
    assert first.records["segments"] and first.records["emails"]
    assert first.final_state["bookmarks"]["segments"]["replication_key"] == "_mautic_modified_at"
    _next_second()
    client = MauticClient(cfg)
    segment_id = sorted(first.ids("segments"))[0]
    client.edit("segments", segment_id, {"description": "changed by the test"})
    _, new_email = client.create("emails", {"name": "Fresh", "subject": "Hi", "emailType": "template"})
    _next_second()
    second = sync(cfg, streams=streams, state=first.last_state)
    assert second.ids("segments") == {segment_id}
    assert second.ids("emails") == {new_email["id"]}
    # tags carry no modification date: full table every run
    assert second.ids("tags") == first.ids("tags")


def test_start_date_is_honoured(sim):
    cutoff = "2026-01-01T00:00:00Z"
    result = sync(basic_config(sim, start_date=cutoff), streams=["contacts", "lead_event_log"])
    expected = {r["id"] for r in sim.query(
        "SELECT id FROM leads WHERE COALESCE(date_modified, date_added) >= '2026-01-01 00:00:00'")}
    assert result.ids("contacts") == expected
    assert len(expected) < len(sim.query("SELECT id FROM leads")), "the cutoff splits the seeded contacts"
    events = {r["id"] for r in sim.query(
        "SELECT id FROM lead_event_log WHERE date_added >= '2026-01-01 00:00:00'")}
    assert {r["id"] for r in result.records["lead_event_log"]} == events


def test_oauth2_client_credentials_and_token_expiry_mid_sync(sim):
    """The shared authenticator: client_credentials, and a token that expires while pages are read."""
    cfg = {"base_url": sim.url, "auth_method": "oauth2", "client_id": sim.client_id,
           "client_secret": sim.client_secret, "page_size": 10}
    calls = {"n": 0}

    def expire_on_third_page(method: str, path: str, query: str) -> None:
        if path == "/api/contacts":
            calls["n"] += 1
            if calls["n"] == 3:
                sim.expire_tokens()

    sim.add_hook(expire_on_third_page)
    result = sync(cfg, streams=["contacts"])
    assert result.ids("contacts") == {r["id"] for r in sim.query("SELECT id FROM leads")}
    assert calls["n"] > 3
    assert sum(1 for e in sim.request_log if e["path"] == "/oauth/v2/token") >= 2


def test_search_and_published_only_options(sim):
    madrid = {r["id"] for r in sim.query("SELECT id FROM leads WHERE city LIKE 'Madrid%'")}
    assert madrid
    client = MauticClient(basic_config(sim))
    segments = {r["id"] for r in sim.query("SELECT id FROM lead_lists")}
    hidden = min(segments)
    client.edit("segments", hidden, {"isPublished": False})
    cfg = basic_config(sim, page_size=5, stream_options={
        "contacts": {"search": "city:Madrid"},
        "segments": {"published_only": True},
    })
    result = sync(cfg, streams=["contacts", "segments"])
    assert result.ids("contacts") == madrid
    assert result.ids("segments") == segments - {hidden}
    unfiltered = sync(basic_config(sim), streams=["segments"])
    assert unfiltered.ids("segments") == segments


@pytest.mark.parametrize("incremental", [False, True], ids=["keyset", "modified-filter"])
def test_a_dropped_where_filter_fails_loudly(sim, incremental, slices):
    """Mautic ignores a where clause it does not understand and returns everything: the tap must stop."""
    cfg = basic_config(sim, page_size=10)
    state = sync(cfg, streams=["contacts"]).last_state if incremental else None
    with (DenyingProxy(sim.url, rewrite_query=drop_where) as proxy,
          pytest.raises(FilterIgnoredError, match="ignored the filter")):
        sync(basic_config(sim, base_url=proxy.url, page_size=10, **slices), streams=["contacts"], state=state)


def test_companies_replicate_on_modification_without_dates_in_the_answer(sim):
    """Mautic 5.1 answers companies as {id, score, fields}: the filter runs on the server's columns and the
    bookmark is the server's time at the start of the run."""
    cfg = basic_config(sim, lookback_seconds=0)
    _next_second()
    first = sync(cfg, streams=["companies"])
    assert first.ids("companies") == {r["id"] for r in sim.query("SELECT id FROM companies")}
    assert all(rec["_mautic_modified_at"] is None for rec in first.records["companies"])
    _next_second()
    company_id = sorted(first.ids("companies"))[1]
    MauticClient(cfg).edit("companies", company_id, {"companycity": "Lisbon"})
    _, created = MauticClient(cfg).create("companies", {"companyname": "Brand New Ltd"})
    _next_second()
    second = sync(cfg, streams=["companies"], state=first.last_state)
    assert second.ids("companies") == {company_id, created["id"]}
    assert next(r for r in second.records["companies"] if r["id"] == company_id)["companycity"] == "Lisbon"
    assert _bookmark(second.final_state, "companies") > _bookmark(first.final_state, "companies")


def test_deletions_stream_names_what_the_audit_log_says_was_deleted(session_sim):
    """The seed holds an email deleted long ago: the deletions stream reads its name from PHP-serialized
    details, cut by byte length (s:17:"Spring newsletter")."""
    result = sync(basic_config(session_sim), streams=["deletions"])
    rows = [r for r in result.records["deletions"] if r["object"] == "email"]
    assert [(r["name"], r["bundle"], r["user_name"]) for r in rows] == [
        ("Spring newsletter", "email", "Admin User")]


def test_php_serialized_names_are_cut_by_bytes() -> None:
    from tap_mautic.streams import php_serialized_name

    assert php_serialized_name('a:1:{s:4:"name";s:5:"Putty";}') == "Putty"
    assert php_serialized_name('a:1:{s:4:"name";s:4:"Zoë";}') == "Zoë"  # 4 bytes: ë is two
    assert php_serialized_name('a:1:{s:4:"name";s:6:"a";b"c";}') == 'a";b"c'
    assert php_serialized_name("a:0:{}") is None
    assert php_serialized_name(None) is None
