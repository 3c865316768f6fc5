"""contact_field_changes / company_field_changes: one record per changed field per audit_log row, typed by
the field's type, incremental on the audit log id; replayed from creation they give the current values."""

from __future__ import annotations

import logging
from typing import Any

import requests

from mautic_sim import Simulator
from tap_mautic.history import changed_fields, parse_details
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config
from tests.support.proxy import STATS_DENIED, DenyingProxy
from tests.support.tap import sync

STREAMS = ["contacts", "companies", "contact_field_changes", "company_field_changes"]


def _api(sim: Simulator, method: str, path: str, body: Any = None) -> dict[str, Any]:
    r = requests.request(method, f"{sim.url}/api{path}", json=body, auth=(SIM_USER, SIM_PASSWORD), timeout=10)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _replay(changes: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The values each object had after its last change (by audit id), from the change records alone."""
    state: dict[int, dict[str, Any]] = {}
    for rec in sorted(changes, key=lambda r: (r["audit_id"], r["alias"])):
        state.setdefault(rec["object_id"], {})[rec["alias"]] = rec["new_value"]
    return state


def test_creates_edits_and_merges_replay_to_current_values(sim: Simulator) -> None:
    cfg = basic_config(sim, lookback_seconds=0)
    first = sync(cfg, streams=STREAMS)
    ids = [_api(sim, "POST", "/contacts/new", {"firstname": f"F{n}", "email": f"h{n}@example.com",
                                               "points": n + 1})["contact"]["id"] for n in range(3)]
    _api(sim, "PATCH", f"/contacts/{ids[0]}/edit", {"city": "Lyon", "firstname": "Zoé"})
    _api(sim, "POST", f"/contacts/{ids[1]}/points/plus/5")
    _api(sim, "PATCH", f"/contacts/{ids[2]}/edit", {"city": "Oslo"})
    sim.merge_contacts(loser=ids[0], victor=ids[2])  # takes nothing: 2 is newer and has a city
    company = _api(sim, "POST", "/companies/new",
                   {"companyname": "Hist Ltd", "companycity": "Rome"})["company"]["id"]
    _api(sim, "PATCH", f"/companies/{company}/edit", {"companycity": "Milan"})
    second = sync(cfg, streams=STREAMS, state=first.last_state)

    changes = second.records["contact_field_changes"]
    replay = _replay(changes)
    for cid in ids[1:]:
        row = sim.query("SELECT firstname, email, city, points FROM leads WHERE id = ?", (cid,))[0]
        for alias in ("firstname", "email", "city", "points"):
            assert replay[cid].get(alias) == (None if row[alias] is None else str(row[alias])), (cid, alias)
    create = [r for r in changes if r["object_id"] == ids[1] and r["action"] == "create"]
    assert {r["alias"]: (r["old_value"], r["new_value"]) for r in create} == {
        "firstname": (None, "F1"), "email": (None, "h1@example.com"), "points": ("0", "2")}
    assert {r["manipulator"] for r in create} == {"api-single"} and create[0]["user_name"] == "Admin User"
    points = [r for r in changes if r["object_id"] == ids[1] and r["action"] == "update"]
    # /points/plus records the change at the top level only, without a manipulator (as on the real server)
    assert [(r["alias"], r["old_value"], r["new_value"], r["manipulator"]) for r in points] == [
        ("points", "2", "7", None)]
    accent = [r for r in changes if r["object_id"] == ids[0] and r["alias"] == "firstname"]
    assert accent[-1]["new_value"] == "Zoé"
    # numbers in their JSON form: "7", never "7.0" (Mautic logs every number as a float)
    assert all(r["new_value"].isdigit() for r in changes if r["alias"] == "points")
    comp = _replay(second.records["company_field_changes"])[company]
    assert comp == {"companyname": "Hist Ltd", "companycity": "Milan"}

    third = sync(cfg, streams=STREAMS, state=second.last_state)
    assert not third.records.get("contact_field_changes") and not third.records.get("company_field_changes")


def test_values_are_typed_by_the_field_type(sim: Simulator) -> None:
    _api(sim, "POST", "/fields/contact/new", {"label": "Score X", "alias": "score_x", "type": "number",
                                              "properties": {"scale": 2}})
    # is_vip (boolean) is a field of the seed already: creating it again would be a 400, as on a real Mautic
    _api(sim, "POST", "/fields/contact/new", {"label": "Renewal", "alias": "renewal", "type": "date"})
    cid = _api(sim, "POST", "/contacts/new", {"email": "typed@example.com", "score_x": 1.25, "is_vip": True,
                                              "renewal": "2027-01-10", "interests": ["sports", "tech"]}
                 )["contact"]["id"]
    result = sync(basic_config(sim), streams=["contact_field_changes"])
    mine = {r["alias"]: r for r in result.records["contact_field_changes"] if r["object_id"] == cid}
    assert mine["score_x"]["new_value"] == "1.25" and mine["score_x"]["field_type"] == "number"
    assert mine["is_vip"]["new_value"] == "true" and mine["renewal"]["new_value"] == "2027-01-10"
    assert mine["is_vip"]["field_type"] == "boolean" and mine["is_vip"]["old_value"] is None
    assert mine["interests"]["new_value"] == '["sports","tech"]'  # a multiselect: a JSON array


def test_unreadable_details_are_skipped_with_one_warning(sim: Simulator, caplog: Any) -> None:
    cfg = basic_config(sim, lookback_seconds=0)
    first = sync(cfg, streams=["contact_field_changes"])
    a, b = sim.create_contacts(2)
    sim.execute("UPDATE audit_log SET details = 'a:1:{s:6:\"fields\";' WHERE object_id IN (?, ?) "
                "AND action = 'create'", (a, b))
    sim.edit_contacts({b: {"city": "Kyiv"}})
    with caplog.at_level(logging.WARNING):
        second = sync(cfg, streams=["contact_field_changes"], state=first.last_state)
    assert [(r["object_id"], r["alias"]) for r in second.records["contact_field_changes"]] == [(b, "city")]
    assert len([m for m in caplog.messages if "not PHP-serialized" in m]) == 1


def test_without_audit_log_access_the_streams_are_skipped(sim: Simulator, caplog: Any) -> None:
    denied = {"/api/stats/audit_log": STATS_DENIED}
    with DenyingProxy(sim.url, denied) as proxy, caplog.at_level(logging.WARNING):
        result = sync(basic_config(sim, base_url=proxy.url), streams=["contact_field_changes", "tags"])
    assert not result.records.get("contact_field_changes") and result.records["tags"]
    assert len([m for m in caplog.messages if "Skipping stream 'contact_field_changes'" in m]) == 1


def test_changed_fields_reads_fields_and_top_level_aliases() -> None:
    # a real 5.1.0 row (2026-12-06, POST /api/contacts/1/points/plus/5): only the top-level points change
    assert changed_fields(parse_details('a:1:{s:6:"points";a:2:{i:0;i:3;i:1;i:8;}}') or {},
                          frozenset({"points"})) == {"points": (3, 8)}
    details = parse_details('a:2:{s:6:"fields";a:1:{s:4:"city";a:2:{i:0;N;i:1;s:4:"Lyon";}}'
                            's:14:"dateIdentified";a:2:{i:0;s:0:"";i:1;s:1:"x";}}') or {}
    assert changed_fields(details, frozenset({"city"})) == {"city": (None, "Lyon")}
    assert parse_details("not php") is None and parse_details(None) is None
