"""sync_mode mirror on campaign memberships, company memberships and contact tags, against the simulator: the
same rules as segments (tests/target/test_mirror.py) through the one mechanism of target_mautic.mirror:
removal only after an ACTIVATE_VERSION that follows the records, never above mirror_max_removals, planned as
would_remove in a dry run, and only for the targets the snapshot names."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from mautic_sim import Simulator
from tests.support.config import basic_config
from tests.support.target import run_target

TAG, OTHER_TAG = "mirror-vip", "mirror-vip-gold"  # the second starts like the first: Mautic's tag: search
# command is a prefix match


@dataclass(frozen=True)
class Link:
    """One link type: its stream, its target column, how a test sets and reads the members."""

    canonical: str
    column: str
    setup: Callable[[Simulator, list[int]], Any]  # gives exactly these contacts the link; returns the target
    members: Callable[[Simulator, Any], set[int]]
    remove_call: str  # the path fragment of the removal call


def _api(sim: Simulator, method: str, path: str, body: Any = None) -> Any:
    config = basic_config(sim)
    answer = requests.request(method, f"{sim.url}/api/{path}", json=body, timeout=30,
                              auth=(config["username"], config["password"]))
    answer.raise_for_status()
    return answer.json()


def _campaign(sim: Simulator, ids: list[int]) -> int:
    camp = sim.query("SELECT id FROM campaigns ORDER BY id LIMIT 1")[0]["id"]
    sim.execute("DELETE FROM campaign_leads WHERE campaign_id = ?", (camp,))
    for i in ids:
        _api(sim, "POST", f"campaigns/{camp}/contact/{i}/add")
    return camp


def _campaign_members(sim: Simulator, camp: Any) -> set[int]:
    return {r["lead_id"] for r in sim.query("SELECT lead_id FROM campaign_leads WHERE campaign_id = ? AND "
                                            "manually_removed = 0", (camp,))}


def _company(sim: Simulator, ids: list[int]) -> int:
    comp = sim.query("SELECT id FROM companies ORDER BY id LIMIT 1")[0]["id"]
    sim.execute("DELETE FROM companies_leads WHERE company_id = ?", (comp,))
    for i in ids:
        _api(sim, "POST", f"companies/{comp}/contact/{i}/add")
    return comp


def _company_members(sim: Simulator, comp: Any) -> set[int]:
    rows = sim.query("SELECT lead_id FROM companies_leads WHERE company_id = ?", (comp,))
    return {r["lead_id"] for r in rows}


def _tagged(sim: Simulator, ids: list[int]) -> str:
    for i in ids:
        _api(sim, "PATCH", f"contacts/{i}/edit", {"tags": [TAG]})
    return TAG


def _tag_members(sim: Simulator, tag: Any) -> set[int]:
    return {r["lead_id"] for r in sim.query(
        "SELECT x.lead_id FROM lead_tags_xref x JOIN lead_tags t ON t.id = x.tag_id "
        "WHERE json_extract(t.data, '$.tag') = ?", (tag,))}


LINKS = [
    Link("campaign_memberships", "campaign_id", _campaign, _campaign_members, "/remove"),
    Link("company_memberships", "company_id", _company, _company_members, "/remove"),
    Link("contact_tags", "tag", _tagged, _tag_members, "contacts/batch/edit"),
]


def snapshot(link: Link, target: Any, ids: list[int], *, activate: str = "both") -> str:
    schema = {"type": "object", "properties": {"contact_id": {"type": "integer"},
                                               link.column: {"type": "string" if link.column == "tag"
                                                             else "integer"}}}
    activation = json.dumps({"type": "ACTIVATE_VERSION", "stream": "links", "version": 3})
    lines = [json.dumps({"type": "SCHEMA", "stream": "links", "key_properties": [], "schema": schema})]
    if activate in ("before", "both"):
        lines.append(activation)
    lines += [json.dumps({"type": "RECORD", "stream": "links", "version": 3,
                          "record": {"contact_id": i, link.column: target}}) for i in ids]
    if activate in ("after", "both"):
        lines.append(activation)
    return "\n".join(lines) + "\n"


def mirror(link: Link, **extra: Any) -> dict[str, Any]:
    return {"stream_contexts": {"links": link.canonical}, "sync_mode": {"links": "mirror"}, **extra}


def contacts(sim: Simulator, n: int = 10) -> list[int]:
    return [r["id"] for r in sim.query("SELECT id FROM leads ORDER BY id LIMIT ?", (n,))]


@pytest.mark.parametrize("link", LINKS, ids=[link.canonical for link in LINKS])
def test_a_completed_snapshot_removes_the_member_it_lacks(sim: Simulator, tmp_path: Path, link: Link):
    ids = contacts(sim)
    target = link.setup(sim, ids)
    run = run_target(sim, tmp_path, snapshot(link, target, ids[1:]), **mirror(link))
    assert run.error is None
    assert link.members(sim, target) == set(ids[1:])
    removed = [r for r in run.results if r["outcome"] == "removed"]
    assert [(r["key"], r["mautic_id"]) for r in removed] == [({"contact_id": ids[0], link.column: target},
                                                              ids[0])]
    writes = [r["path"] for r in run.requests if r["method"] in ("POST", "PATCH", "PUT")]
    assert writes[-1].endswith(link.remove_call)
    if link.canonical != "contact_tags":  # the members, read once for the mirror, are unchanged: not sent
        assert len(writes) == 1
        assert sorted(r["outcome"] for r in run.results) == ["removed"] + ["unchanged"] * 9


@pytest.mark.parametrize("link", LINKS, ids=[link.canonical for link in LINKS])
def test_activate_version_first_or_missing_removes_nothing(sim: Simulator, tmp_path: Path, link: Link,
                                                           caplog: pytest.LogCaptureFixture):
    ids = contacts(sim)
    target = link.setup(sim, ids)
    for activate in ("before", "none", "after"):
        run = run_target(sim, tmp_path, snapshot(link, target, ids[1:], activate=activate), **mirror(link))
        assert link.members(sim, target) == set(ids)
        assert not [r for r in run.results if r["outcome"] == "removed"]
    assert "removed nothing: no ACTIVATE_VERSION followed its records" in caplog.text


@pytest.mark.parametrize("link", LINKS, ids=[link.canonical for link in LINKS])
def test_above_the_limit_nothing_is_removed_and_a_dry_run_plans_would_remove(sim: Simulator, tmp_path: Path,
                                                                              link: Link):
    ids = contacts(sim)
    target = link.setup(sim, ids)
    words = {"campaign_memberships": "campaign members", "company_memberships": "company members",
             "contact_tags": "contacts tagged"}[link.canonical]
    run = run_target(sim, tmp_path, snapshot(link, target, ids[3:]), mirror_max_removals="20%",
                     **mirror(link))
    assert isinstance(run.error, Exception) and f"3 of 10 {words} are not in the snapshot" in str(run.error)
    assert link.members(sim, target) == set(ids)
    run = run_target(sim, tmp_path, snapshot(link, target, ids[3:]), dry_run=True, mirror_max_removals=3,
                     **mirror(link))
    assert sorted(r["key"]["contact_id"] for r in run.results if r["outcome"] == "would_remove") == ids[:3]
    assert link.members(sim, target) == set(ids)


def test_a_tag_is_taken_off_only_where_the_contact_carries_that_tag(sim: Simulator, tmp_path: Path):
    """Mautic's tag:mirror-vip search also finds contacts tagged mirror-vip-gold: those are not members."""
    ids = contacts(sim, 12)
    link = LINKS[2]
    _tagged(sim, ids[:10])
    for i in ids[10:]:
        _api(sim, "PATCH", f"contacts/{i}/edit", {"tags": [OTHER_TAG]})
    run = run_target(sim, tmp_path, snapshot(link, TAG, ids[2:10]), mirror_max_removals=2, **mirror(link))
    assert run.error is None
    assert _tag_members(sim, TAG) == set(ids[2:10])
    assert _tag_members(sim, OTHER_TAG) == set(ids[10:])
    removed = [r for r in run.results if r["outcome"] == "removed"]
    assert [r["key"] for r in removed] == [{"contact_id": i, "tag": TAG} for i in ids[:2]]


def test_a_target_the_snapshot_does_not_name_keeps_its_members(sim: Simulator, tmp_path: Path):
    ids = contacts(sim)
    link = LINKS[0]
    camp = _campaign(sim, ids)
    other = sim.query("SELECT id FROM campaigns WHERE id != ? ORDER BY id LIMIT 1", (camp,))[0]["id"]
    before = _campaign_members(sim, other)
    run = run_target(sim, tmp_path, snapshot(link, camp, ids[1:]), **mirror(link))
    assert run.error is None and _campaign_members(sim, camp) == set(ids[1:])
    assert _campaign_members(sim, other) == before
