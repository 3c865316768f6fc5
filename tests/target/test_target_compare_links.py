"""Compare before write on campaign_memberships and company_memberships (outside sync_mode mirror): one
``/api/stats`` read per target and batch (``lead_id in`` a comma-separated string) finds the links Mautic
holds; they are ``unchanged`` and cost no POST. The simulator's request log counts the calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from mautic_sim import Simulator
from tests.support.config import SIM_PASSWORD, SIM_USER
from tests.support.target import messages, run_target


@dataclass(frozen=True)
class Link:
    """One membership stream: its target column, its stats table and the SQL of a target's members."""

    canonical: str
    column: str
    table: str
    members_sql: str
    noun: str
    path: str


CAMPAIGN = Link("campaign_memberships", "campaign_id", "campaign_leads",
                "SELECT lead_id FROM campaign_leads WHERE campaign_id = ? AND manually_removed = 0",
                "campaign", "campaigns")
COMPANY = Link("company_memberships", "company_id", "companies_leads",
               "SELECT lead_id FROM companies_leads WHERE company_id = ?", "company", "companies")
LINKS = [CAMPAIGN, COMPANY]
IDS = [link.canonical for link in LINKS]


def schema(link: Link) -> dict[str, Any]:
    return {"type": "object",
            "properties": {"contact_id": {"type": "integer"}, link.column: {"type": "integer"}}}


def targets(sim: Simulator, link: Link, n: int = 2) -> list[int]:
    """``n`` targets emptied of members."""
    found = [r["id"] for r in sim.query(f"SELECT id FROM {link.path} ORDER BY id LIMIT ?", (n,))]
    sim.execute(f"DELETE FROM {link.table}")
    return found


def members(sim: Simulator, link: Link, target: int) -> set[int]:
    return {r["lead_id"] for r in sim.query(link.members_sql, (target,))}


def load(link: Link, pairs: list[tuple[int, int]], deleted: frozenset[int] = frozenset()) -> str:
    rows = []
    for contact, target in pairs:
        row: dict[str, Any] = {"contact_id": contact, link.column: target}
        if contact in deleted:
            row["_sdc_deleted_at"] = "2026-12-06T00:00:00Z"
        rows.append(row)
    props = schema(link)
    if deleted:
        props["properties"]["_sdc_deleted_at"] = {"type": ["string", "null"], "format": "date-time"}
    return messages("links", props, rows)


def calls(run: Any, link: Link) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the membership reads, the POSTs) of a run."""
    reads = [r for r in run.requests if r["method"] == "GET" and r["path"] == f"/api/stats/{link.table}"]
    posts = [r for r in run.requests if r["method"] == "POST"]
    return reads, posts


def in_values(read: dict[str, Any]) -> str:
    """The ``lead_id in`` value of a stats read: a comma-separated string (Mautic's ``in``, not an array)."""
    query = parse_qs(read["query"])
    clauses = [k[: -len("[expr]")] for k, v in query.items() if k.endswith("[expr]") and v == ["in"]]
    assert len(clauses) == 1 and query[f"{clauses[0]}[col]"] == ["lead_id"], query
    value = query[f"{clauses[0]}[val]"]
    assert len(value) == 1, value
    return value[0]


def settings(link: Link, **extra: Any) -> dict[str, Any]:
    return {"stream_contexts": {"links": link.canonical}, **extra}


def contacts(sim: Simulator, n: int) -> list[int]:
    return [r["id"] for r in sim.query("SELECT id FROM leads ORDER BY id LIMIT ?", (n,))]


@pytest.mark.parametrize("link", LINKS, ids=IDS)
def test_a_rerun_is_unchanged_with_only_reads(sim: Simulator, tmp_path: Path, link: Link):
    ids = contacts(sim, 8)
    first_target, second_target = targets(sim, link)
    pairs = [(i, first_target) for i in ids] + [(i, second_target) for i in ids[:3]]
    first = run_target(sim, tmp_path, load(link, pairs), **settings(link))
    reads, posts = calls(first, link)
    assert Counter(r["outcome"] for r in first.results) == Counter({"created": 11})
    assert len(reads) == 2 and len(posts) == 11  # one read per target and batch, one POST per new link
    assert members(sim, link, first_target) == set(ids) and members(sim, link, second_target) == set(ids[:3])

    again = run_target(sim, tmp_path, load(link, pairs), **settings(link))
    reads, posts = calls(again, link)
    assert Counter(r["outcome"] for r in again.results) == Counter({"unchanged": 11})
    assert len(reads) == 2 and posts == []
    assert {r["method"] for r in again.requests} == {"GET"}
    wanted = [",".join(map(str, ids)), ",".join(map(str, ids[:3]))]
    assert sorted(in_values(r) for r in reads) == sorted(wanted)
    message = again.result_for(contact_id=ids[0], **{link.column: first_target})["message"]
    assert f"is in {link.noun} {first_target} already" in message


@pytest.mark.parametrize("link", LINKS, ids=IDS)
def test_a_mixed_batch_sends_only_the_new_links_and_every_removal(sim: Simulator, tmp_path: Path, link: Link):
    ids = contacts(sim, 7)
    target = targets(sim, link, 1)[0]
    run_target(sim, tmp_path, load(link, [(i, target) for i in ids[:4]]), **settings(link))
    # ids[0..2] linked, ids[3] taken out by a deletion marker in the same batch, ids[4..6] new
    run = run_target(sim, tmp_path, load(link, [(i, target) for i in ids], deleted=frozenset({ids[3]})),
                     **settings(link))
    reads, posts = calls(run, link)
    assert len(reads) == 1
    assert sorted(p["path"] for p in posts) == sorted(
        [f"/api/{link.path}/{target}/contact/{i}/add" for i in ids[4:]]
        + [f"/api/{link.path}/{target}/contact/{ids[3]}/remove"])
    outcome = {r["key"]["contact_id"]: r["outcome"] for r in run.results}
    assert outcome == {**dict.fromkeys(ids[:3], "unchanged"), ids[3]: "deleted",
                       **dict.fromkeys(ids[4:], "created")}
    assert members(sim, link, target) == set(ids) - {ids[3]}


def test_a_contact_removed_from_the_campaign_by_hand_is_added_again(sim: Simulator, tmp_path: Path):
    ids = contacts(sim, 3)
    target = targets(sim, CAMPAIGN, 1)[0]
    run_target(sim, tmp_path, load(CAMPAIGN, [(i, target) for i in ids]), **settings(CAMPAIGN))
    sim.execute("UPDATE campaign_leads SET manually_removed = 1, manually_added = 0 WHERE lead_id = ?",
                (ids[0],))
    run = run_target(sim, tmp_path, load(CAMPAIGN, [(i, target) for i in ids]), **settings(CAMPAIGN))
    assert run.result_for(contact_id=ids[0])["outcome"] == "created"
    assert [r["outcome"] for r in run.results if r["key"]["contact_id"] != ids[0]] == ["unchanged"] * 2
    assert members(sim, CAMPAIGN, target) == set(ids)


@pytest.mark.parametrize("link", LINKS, ids=IDS)
def test_a_dry_run_plans_unchanged_and_would_create_from_the_same_read(sim: Simulator, tmp_path: Path,
                                                                       link: Link):
    ids = contacts(sim, 4)
    target = targets(sim, link, 1)[0]
    run_target(sim, tmp_path, load(link, [(i, target) for i in ids[:2]]), **settings(link))
    plan = run_target(sim, tmp_path, load(link, [(i, target) for i in ids]), **settings(link, dry_run=True))
    reads, posts = calls(plan, link)
    assert len(reads) == 1 and posts == []
    assert [r["outcome"] for r in plan.results] == ["unchanged", "unchanged", "would_create", "would_create"]
    assert members(sim, link, target) == set(ids[:2])


@pytest.mark.parametrize("link", LINKS, ids=IDS)
def test_a_failed_read_sends_every_row_as_before(sim: Simulator, tmp_path: Path, link: Link,
                                                 caplog: pytest.LogCaptureFixture):
    ids = contacts(sim, 4)
    target = targets(sim, link, 1)[0]
    run_target(sim, tmp_path, load(link, [(i, target) for i in ids[:2]]), **settings(link))
    sim.schedule_fault("500", nth=1, path=f"/api/stats/{link.table}")
    run = run_target(sim, tmp_path, load(link, [(i, target) for i in ids]), **settings(link, max_retries=0))
    reads, posts = calls(run, link)
    assert run.error is None and len(reads) == 1 and len(posts) == 4
    assert [r["outcome"] for r in run.results] == ["created"] * 4  # Mautic keeps one link each
    assert members(sim, link, target) == set(ids)
    assert "every row is sent" in caplog.text


@pytest.mark.parametrize("link", LINKS, ids=IDS)
def test_compare_off_reads_nothing_and_posts_every_link(sim: Simulator, tmp_path: Path, link: Link):
    ids = contacts(sim, 3)
    target = targets(sim, link, 1)[0]
    run_target(sim, tmp_path, load(link, [(i, target) for i in ids]), **settings(link))
    run = run_target(sim, tmp_path, load(link, [(i, target) for i in ids]),
                     **settings(link, compare_before_write=False))
    reads, posts = calls(run, link)
    assert reads == [] and len(posts) == 3
    assert [r["outcome"] for r in run.results] == ["created"] * 3


def test_more_than_200_contacts_are_read_200_at_a_time(tmp_path: Path):
    """The `in` list is cut at 200 ids (the query string stays well under 8 KB): 250 links, 2 reads."""
    with Simulator(contacts=250, seed=3, username=SIM_USER, password=SIM_PASSWORD) as big:
        ids = contacts(big, 250)
        target = targets(big, COMPANY, 1)[0]
        for i in ids:
            big.execute("INSERT INTO companies_leads (company_id, lead_id, date_added, is_primary) "
                        "VALUES (?, ?, '2026-12-06 00:00:00', 1)", (target, i))
        run = run_target(big, tmp_path, load(COMPANY, [(i, target) for i in ids]), **settings(COMPANY))
        reads, posts = calls(run, COMPANY)
        assert len(reads) == 2 and posts == []
        assert Counter(r["outcome"] for r in run.results) == Counter({"unchanged": 250})
