"""sync_mode mirror on segment_memberships, against the simulator: removal only on a snapshot that an
ACTIVATE_VERSION completes, never above mirror_max_removals, planned (would_remove) in a dry run."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mautic_sim import Simulator
from target_mautic.target import MirrorLimitError, TargetMautic
from tests.support.config import basic_config
from tests.support.target import run_target

SCHEMA = {"type": "object",
          "properties": {"contact_id": {"type": "integer"}, "segment_id": {"type": "integer"}}}


def snapshot(segment: int, ids: list[int], *, version: int | None = 7, activate: str = "both") -> str:
    """A full snapshot of segment memberships; ACTIVATE_VERSION before and after the records (complete),
    before or after them only, or none."""
    activation = json.dumps({"type": "ACTIVATE_VERSION", "stream": "members", "version": version})
    lines = [json.dumps({"type": "SCHEMA", "stream": "members", "key_properties": [], "schema": SCHEMA})]
    if activate in ("before", "both"):
        lines.append(activation)
    lines += [json.dumps({"type": "RECORD", "stream": "members", "version": version,
                          "record": {"contact_id": i, "segment_id": segment}}) for i in ids]
    if activate in ("after", "both"):
        lines.append(activation)
    return "\n".join(lines) + "\n"


def setup_segment(sim: Simulator, n: int = 10) -> tuple[int, list[int]]:
    """A segment holding exactly the first ``n`` contacts."""
    ids = [r["id"] for r in sim.query("SELECT id FROM leads ORDER BY id LIMIT ?", (n,))]
    segment = sim.query("SELECT id FROM lead_lists ORDER BY id LIMIT 1")[0]["id"]
    sim.execute("DELETE FROM lead_lists_leads WHERE leadlist_id = ?", (segment,))
    for i in ids:
        sim.execute("INSERT INTO lead_lists_leads (leadlist_id, lead_id, date_added, manually_removed, "
                    "manually_added) VALUES (?, ?, '2026-01-01 00:00:00', 0, 1)", (segment, i))
    return segment, ids


def members(sim: Simulator, segment: int) -> set[int]:
    return {r["lead_id"] for r in sim.query("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = ? "
                                            "AND manually_removed = 0", (segment,))}


MIRROR = {"stream_contexts": {"members": "segment_memberships"}, "sync_mode": "mirror"}


def test_a_completed_snapshot_removes_the_member_it_lacks(sim: Simulator, tmp_path: Path):
    segment, ids = setup_segment(sim)
    run = run_target(sim, tmp_path, snapshot(segment, ids[1:]), **MIRROR)
    assert members(sim, segment) == set(ids[1:])
    removed = [r for r in run.results if r["outcome"] == "removed"]
    assert [(r["key"], r["mautic_id"]) for r in removed] == [({"contact_id": ids[0], "segment_id": segment},
                                                              ids[0])]
    assert run.error is None


def test_activate_version_first_last_only_or_missing_removes_nothing(sim: Simulator, tmp_path: Path, caplog):
    segment, ids = setup_segment(sim)
    for activate in ("before", "none", "after"):
        run = run_target(sim, tmp_path, snapshot(segment, ids[1:], activate=activate), **MIRROR)
        assert members(sim, segment) == set(ids)
        assert not [r for r in run.results if r["outcome"] == "removed"]
    assert "removed nothing: no ACTIVATE_VERSION followed its records" in caplog.text
    # after the records only: it may close a read resumed from saved state (the rows before it look absent)
    assert "removed nothing: no ACTIVATE_VERSION came before its records" in caplog.text


def test_above_mirror_max_removals_nothing_is_removed_and_one_line_says_why(sim: Simulator, tmp_path: Path):
    segment, ids = setup_segment(sim)
    target_input = snapshot(segment, ids[3:])  # 3 of 10 missing: above 20%
    config = basic_config(sim, mirror_max_removals="20%", **MIRROR)
    target = TargetMautic(config=config, parse_env_config=False)
    refusal = r"3 of 10 segment members .* mirror_max_removals \(20% = 2\)"
    with pytest.raises(MirrorLimitError, match=refusal), \
            contextlib.redirect_stdout(io.StringIO()):
        target.listen(io.StringIO(target_input))
    assert members(sim, segment) == set(ids)
    run = run_target(sim, tmp_path, target_input, mirror_max_removals=3, **MIRROR)  # a number: within it
    assert members(sim, segment) == set(ids[3:]) and run.error is None


def test_dry_run_plans_would_remove_and_counts_it_in_the_remove_column(sim: Simulator, tmp_path: Path):
    segment, ids = setup_segment(sim)
    run = run_target(sim, tmp_path, snapshot(segment, ids[2:]), dry_run=True, mirror_max_removals=2,
                     **MIRROR)
    assert members(sim, segment) == set(ids)
    assert sorted(r["key"]["contact_id"] for r in run.results if r["outcome"] == "would_remove") == ids[:2]
    results_file = sorted(tmp_path.glob("results-*.jsonl"))[-1]
    summary = json.loads(Path(f"{results_file}.summary.json").read_text())
    assert summary["streams"]["members"]["remove"] == 2


def test_the_cli_refusing_a_mirror_above_the_limit_exits_1_with_one_line(sim: Simulator, tmp_path: Path):
    segment, ids = setup_segment(sim)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(basic_config(sim, mirror_max_removals=1, **MIRROR)))
    done = subprocess.run([sys.executable, "-m", "target_mautic", "--config", str(config)],
                          input=snapshot(segment, ids[2:]), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = [ln for ln in done.stderr.splitlines() if "mirror_max_removals" in ln]
    assert len(lines) == 1 and "2 of 10 segment members" in lines[0] and "nothing removed" in lines[0]
    assert "Traceback" not in done.stderr
    assert members(sim, segment) == set(ids)
