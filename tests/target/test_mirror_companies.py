"""sync_mode mirror on companies, against the simulator: companies this target wrote for the stream (their ids
packed into the description of its unpublished segment target-mautic-<stream>) and absent from a completed
snapshot are deleted; a company it did not write, a company gone meanwhile, a run with a failed record, a
hand-edited tracking segment are never acted on."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from target_mautic.tracking import PACKED, pack_ids, unpack_ids
from tests.support.config import basic_config
from tests.support.target import run_target, versioned

SCHEMA = {"type": "object", "properties": {"companyname": {"type": "string"},
                                           "companycity": {"type": ["string", "null"]}}}


def snapshot(records: list[dict[str, Any]], *, version: int = 5, activate: bool = True) -> str:
    return versioned("accounts", SCHEMA, ["companyname"], records, version=version, activate=activate)


def accounts(n: int) -> list[dict[str, Any]]:
    return [{"companyname": f"Mirror Co {i}", "companycity": "Lyon"} for i in range(n)]


def mirror(**extra: Any) -> dict[str, Any]:
    return {"stream_contexts": {"accounts": "companies"}, "sync_mode": {"accounts": "mirror"},
            "mirror_action": "delete", "mirror_max_removals": 1, **extra}


def company_ids(sim: Simulator, names: list[str]) -> dict[str, int]:
    rows = sim.query("SELECT id, companyname AS name FROM companies")
    return {r["name"]: r["id"] for r in rows if r["name"] in names}


def tracking(sim: Simulator) -> tuple[int, str] | None:
    rows = sim.query("SELECT id, json_extract(data, '$.description') AS d, "
                     "json_extract(data, '$.isPublished') AS p FROM lead_lists "
                     "WHERE json_extract(data, '$.alias') = 'target-mautic-accounts'")
    if not rows:
        return None
    assert rows[0]["p"] in (0, False), "the tracking segment of companies stays unpublished"
    return rows[0]["id"], rows[0]["d"]


def tracked(sim: Simulator) -> set[int]:
    found = tracking(sim)
    assert found is not None
    match = PACKED.search(found[1])
    assert match is not None
    return unpack_ids(match.group(1))


@pytest.mark.parametrize("ids", [set(), {1}, {1, 2, 3, 127, 128, 129, 16_384, 2**40},
                                 set(random.Random(7).sample(range(1, 5_000_000), 20_000))])
def test_packed_ids_come_back_as_written(ids: set[int]):
    text = pack_ids(ids)
    assert PACKED.fullmatch(f"ids:v1:{text}") and unpack_ids(text) == ids


def test_a_packing_cut_short_is_refused():
    text = pack_ids({1, 300, 70_000})
    with pytest.raises(Exception):  # noqa: B017  # zlib.error or ValueError: both mean "not ours"
        unpack_ids(text[:-3])


def test_a_written_company_absent_from_the_snapshot_is_deleted(sim: Simulator, tmp_path: Path):
    names = accounts(5)
    first = run_target(sim, tmp_path, snapshot(names), **mirror())
    assert first.error is None and sorted(r["outcome"] for r in first.results) == ["created"] * 5
    ids = company_ids(sim, [c["companyname"] for c in names])
    assert tracked(sim) == set(ids.values())
    modified = {r["id"]: r["m"] for r in sim.query(
        "SELECT id, date_modified AS m FROM companies")}
    second = run_target(sim, tmp_path, snapshot(names[1:], version=6), **mirror())
    assert second.error is None
    gone = ids[names[0]["companyname"]]
    assert [(r["outcome"], r["key"]) for r in second.results if r["outcome"] != "unchanged"] == [
        ("removed", {"id": gone})]
    assert not company_ids(sim, [names[0]["companyname"]])
    assert tracked(sim) == set(ids.values()) - {gone}
    # the tracking touched no company: those kept have the dateModified they had
    after = {r["id"]: r["m"] for r in sim.query(
        "SELECT id, date_modified AS m FROM companies")}
    assert all(after[i] == modified[i] for i in ids.values() if i != gone)
    writes = [r for r in second.requests if r["method"] != "GET"]
    assert [(r["method"], r["path"]) for r in writes] == [
        ("DELETE", f"/api/companies/{gone}/delete"), ("PATCH", f"/api/segments/{tracking(sim)[0]}/edit")]  # type: ignore[index]


def test_a_company_the_target_did_not_write_is_never_deleted(sim: Simulator, tmp_path: Path):
    seeded = sim.query("SELECT id, companyname AS name, companycity AS city FROM companies "
                       "WHERE companyname IS NOT NULL ORDER BY id")[0]
    existing = {"companyname": seeded["name"], "companycity": seeded["city"]}  # unchanged: not written
    names = [existing, *accounts(3)]
    first = run_target(sim, tmp_path, snapshot(names), **mirror())
    assert first.outcomes()["unchanged"] == 1 and seeded["id"] not in tracked(sim)
    run = run_target(sim, tmp_path, snapshot(names[1:], version=6), **mirror())
    assert run.error is None and not [r for r in run.results if r["outcome"] == "removed"]
    assert sim.query("SELECT id FROM companies WHERE id = ?", (seeded["id"],))


def test_a_company_gone_meanwhile_is_skipped_and_untracked(sim: Simulator, tmp_path: Path):
    names = accounts(3)
    run_target(sim, tmp_path, snapshot(names), **mirror())
    gone = company_ids(sim, [names[0]["companyname"]])[names[0]["companyname"]]
    sim.execute("DELETE FROM companies WHERE id = ?", (gone,))
    run = run_target(sim, tmp_path, snapshot(names[1:], version=6), **mirror())
    assert run.error is None
    assert [(r["outcome"], r["mautic_id"]) for r in run.results if r["outcome"] != "unchanged"] == [
        ("skipped", gone)]
    assert gone not in tracked(sim)


def test_above_the_limit_a_failure_or_a_hand_edit_nothing_is_deleted(sim: Simulator, tmp_path: Path):
    names = accounts(4)
    run_target(sim, tmp_path, snapshot(names), **mirror())
    run = run_target(sim, tmp_path, snapshot(names[2:], version=6), **mirror())
    assert run.error is not None and "2 of 4 companies written by this stream" in str(run.error)
    bad = [*names[1:], {"companyname": "", "companycity": "Lyon"}]
    run = run_target(sim, tmp_path, snapshot(bad, version=7), on_record_error="report", **mirror())
    assert run.error is not None and "failed or were not written" in str(run.error)
    segment = tracking(sim)
    assert segment is not None
    sim.execute("UPDATE lead_lists SET data = json_set(data, '$.description', 'notes by a marketer') "
                "WHERE id = ?", (segment[0],))
    run = run_target(sim, tmp_path, snapshot(names[1:], version=8), **mirror())
    assert run.error is not None and "holds no company ids" in str(run.error)
    assert len(company_ids(sim, [c["companyname"] for c in names])) == 4


def test_a_dry_run_plans_would_remove_and_keeps_the_tracking(sim: Simulator, tmp_path: Path):
    names = accounts(4)
    run_target(sim, tmp_path, snapshot(names), **mirror())
    before = tracked(sim)
    run = run_target(sim, tmp_path, snapshot(names[1:], version=6), dry_run=True, **mirror())
    assert [r["outcome"] for r in run.results if r["key"].get("id")] == ["would_remove"]
    assert len(company_ids(sim, [c["companyname"] for c in names])) == 4 and tracked(sim) == before


def test_an_action_companies_do_not_have_is_refused_at_start_in_one_line(sim: Simulator, tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(basic_config(sim, **mirror(mirror_action="do_not_contact"))))
    done = subprocess.run([sys.executable, "-m", "target_mautic", "--config", str(config)],
                          input=snapshot(accounts(1)), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert ("Setting 'mirror_action' for stream 'accounts' must be 'delete' on companies (they have no tags "
            "and no do-not-contact list), got 'do_not_contact'.") in done.stderr
    assert not company_ids(sim, ["Mirror Co 0"])
