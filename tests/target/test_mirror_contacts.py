"""sync_mode mirror on contacts, against the simulator: contacts this target wrote for the stream (tracked in
its segment target-mautic-<stream>) and absent from a completed snapshot get mirror_action; a contact it did
not write, one merged into, or a run with a failed record is never acted on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mautic_sim import Simulator
from tests.support.config import basic_config
from tests.support.target import run_target, versioned

SCHEMA = {"type": "object",
          "properties": {"email": {"type": "string"}, "firstname": {"type": ["string", "null"]}}}


def snapshot(records: list[dict[str, Any]], *, version: int = 5, activate: bool = True) -> str:
    return versioned("audience", SCHEMA, ["email"], records, version=version, activate=activate)


def people(n: int) -> list[dict[str, Any]]:
    return [{"email": f"mirror{i}@example.org", "firstname": f"Mirror {i}"} for i in range(n)]


def mirror(action: str, **extra: Any) -> dict[str, Any]:
    return {"stream_contexts": {"audience": "contacts"}, "sync_mode": {"audience": "mirror"},
            "mirror_action": action, "mirror_max_removals": 1, **extra}


def contact_ids(sim: Simulator, emails: list[str]) -> dict[str, int]:
    rows = sim.query(f"SELECT id, email FROM leads WHERE email IN ({','.join('?' * len(emails))})", emails)
    return {r["email"]: r["id"] for r in rows}


def tracked(sim: Simulator) -> set[int]:
    return {r["lead_id"] for r in sim.query(
        "SELECT m.lead_id FROM lead_lists_leads m JOIN lead_lists s ON s.id = m.leadlist_id "
        "WHERE json_extract(s.data, '$.alias') = 'target-mautic-audience' AND m.manually_removed = 0")}


def test_a_written_contact_absent_from_the_snapshot_is_deleted(sim: Simulator, tmp_path: Path):
    audience = people(5)
    first = run_target(sim, tmp_path, snapshot(audience), **mirror("delete"))
    assert first.error is None and sorted(r["outcome"] for r in first.results) == ["created"] * 5
    ids = contact_ids(sim, [p["email"] for p in audience])
    assert tracked(sim) == set(ids.values())
    before = sim.query("SELECT COUNT(*) AS n FROM leads")[0]["n"]
    second = run_target(sim, tmp_path, snapshot(audience[1:], version=6), **mirror("delete"))
    assert second.error is None
    removed = [r for r in second.results if r["outcome"] == "removed"]
    assert [(r["key"], r["mautic_id"]) for r in removed] == [({"id": ids[audience[0]["email"]]},
                                                              ids[audience[0]["email"]])]
    assert sim.query("SELECT COUNT(*) AS n FROM leads")[0]["n"] == before - 1
    assert not contact_ids(sim, [audience[0]["email"]])


def test_do_not_contact_and_untag_keep_the_contact_and_end_its_tracking(sim: Simulator, tmp_path: Path):
    audience = people(4)
    run_target(sim, tmp_path, snapshot(audience), **mirror("do_not_contact"))
    ids = contact_ids(sim, [p["email"] for p in audience])
    gone = ids[audience[0]["email"]]
    run = run_target(sim, tmp_path, snapshot(audience[1:], version=6), **mirror("do_not_contact"))
    assert run.error is None and [r["mautic_id"] for r in run.results if r["outcome"] == "removed"] == [gone]
    dnc = sim.query("SELECT channel FROM lead_donotcontact WHERE lead_id = ?", (gone,))
    assert dnc == [{"channel": "email"}]
    assert gone not in tracked(sim) and contact_ids(sim, [audience[0]["email"]])
    keep = ids[audience[1]["email"]]
    sim.execute("INSERT OR IGNORE INTO lead_tags_xref (lead_id, tag_id) SELECT ?, id FROM lead_tags "
                "WHERE json_extract(data, '$.tag') = 'vip'", (keep,))
    run = run_target(sim, tmp_path, snapshot(audience[2:], version=7), **mirror("untag:vip"))
    assert [r["mautic_id"] for r in run.results if r["outcome"] == "removed"] == [keep]
    assert not sim.query("SELECT 1 FROM lead_tags_xref x JOIN lead_tags t ON t.id = x.tag_id "
                         "WHERE x.lead_id = ? AND json_extract(t.data, '$.tag') = 'vip'", (keep,))


def test_a_contact_the_target_did_not_write_is_never_acted_on(sim: Simulator, tmp_path: Path):
    seeded = sim.query("SELECT id, email, firstname FROM leads WHERE email IS NOT NULL ORDER BY id")[0]
    existing = {"email": seeded["email"], "firstname": seeded["firstname"]}  # unchanged: not written
    audience = [existing, *people(3)]
    first = run_target(sim, tmp_path, snapshot(audience), **mirror("delete"))
    assert first.outcomes()["unchanged"] == 1 and seeded["id"] not in tracked(sim)
    run = run_target(sim, tmp_path, snapshot(audience[1:], version=6), **mirror("delete"))
    assert run.error is None and not [r for r in run.results if r["outcome"] == "removed"]
    assert contact_ids(sim, [seeded["email"]]) == {seeded["email"]: seeded["id"]}


def test_a_failed_record_or_no_activate_version_removes_nothing(sim: Simulator, tmp_path: Path):
    audience = people(4)
    run_target(sim, tmp_path, snapshot(audience), **mirror("delete"))
    bad = [*audience[1:], {"email": "not-an-email", "firstname": "Bad"}]
    run = run_target(sim, tmp_path, snapshot(bad, version=6), on_record_error="report", **mirror("delete"))
    assert run.error is not None and "failed or were not written" in str(run.error)
    run = run_target(sim, tmp_path, snapshot(audience[1:], version=7, activate=False), **mirror("delete"))
    assert not [r for r in run.results if r["outcome"] == "removed"]
    assert len(contact_ids(sim, [p["email"] for p in audience])) == 4


def test_a_contact_another_was_merged_into_is_skipped(sim: Simulator, tmp_path: Path):
    audience = people(3)
    run_target(sim, tmp_path, snapshot(audience), **mirror("delete"))
    ids = contact_ids(sim, [p["email"] for p in audience])
    victor = sim.query("SELECT id FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 1")[0]["id"]
    sim.merge_contacts(loser=ids[audience[0]["email"]], victor=victor)  # the victor inherits the tracking
    assert victor in tracked(sim)
    run = run_target(sim, tmp_path, snapshot(audience[1:], version=6), **mirror("delete"))
    assert [(r["outcome"], r["mautic_id"]) for r in run.results if r["mautic_id"] == victor] == [
        ("skipped", victor)]
    assert sim.query("SELECT id FROM leads WHERE id = ?", (victor,))


def test_a_dry_run_plans_would_remove(sim: Simulator, tmp_path: Path):
    audience = people(4)
    run_target(sim, tmp_path, snapshot(audience), **mirror("delete"))
    run = run_target(sim, tmp_path, snapshot(audience[1:], version=6), dry_run=True, **mirror("delete"))
    assert [r["outcome"] for r in run.results if r["key"].get("id")] == ["would_remove"]
    assert len(contact_ids(sim, [p["email"] for p in audience])) == 4


def test_an_unknown_mirror_action_is_refused_at_start_in_one_line(sim: Simulator, tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(basic_config(sim, **mirror("archive"))))
    done = subprocess.run([sys.executable, "-m", "target_mautic", "--config", str(config)],
                          input=snapshot(people(1)), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "Setting 'mirror_action' must be one of delete, do_not_contact, untag:<tag>, got 'archive'." in (
        done.stderr)
    assert not contact_ids(sim, ["mirror0@example.org"])
