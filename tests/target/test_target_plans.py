"""Plans: a dry run shows each record's field changes and per-stream totals; every line names its run."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from tests.support.target import CONTACT_SCHEMA, count, messages, run_target


def test_dry_run_plan_has_field_changes_and_totals(sim: Simulator, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    rows = sim.query("SELECT id, email, firstname FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 3")
    records = [{"id": r["id"], "email": r["email"], "firstname": r["firstname"]} for r in rows]
    records[1] = {**records[1], "firstname": "Planned"}
    records.append({"email": "plan.new@example.org", "firstname": "Fresh"})
    records.append({"id": 424242, "firstname": "Gone"})
    before = count(sim, "leads")
    run = run_target(sim, tmp_path, messages("contacts", CONTACT_SCHEMA, records), dry_run=True,
                     sync_mode={"contacts": "upsert"})
    assert [r for r in run.requests if r["method"] != "GET"] == [] and count(sim, "leads") == before
    assert run.outcomes() == Counter({"unchanged": 2, "would_update": 1, "would_create": 2})
    planned = run.result_for(id=rows[1]["id"])
    assert planned["outcome"] == "would_update"
    assert planned["changes"] == {"firstname": [rows[1]["firstname"], "Planned"]}
    created = run.result_for(email="plan.new@example.org")
    assert created["changes"] == {"email": [None, "plan.new@example.org"], "firstname": [None, "Fresh"]}
    assert len({(r["run_id"], r["run_at"]) for r in run.results}) == 1

    summary_files = list(tmp_path.glob("results-*.jsonl.summary.json"))
    assert len(summary_files) == 1
    summary = json.loads(summary_files[0].read_text())
    assert summary["dry_run"] is True and summary["run_id"] == run.results[0]["run_id"]
    assert summary["streams"]["contacts"] == {"create": 2, "update": 1, "unchanged": 2, "delete": 0,
                                              "remove": 0, "skip": 0, "fail": 0, "not_written": 0}
    table = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Plan (dry run)"))
    header, line = table.splitlines()[1:3]
    assert header.split() == ["stream", "create", "update", "unchanged", "delete", "remove", "skip",
                              "fail", "not_written"]
    assert line.split() == ["contacts", "2", "1", "2", "0", "0", "0", "0", "0"]


def test_dry_run_under_update_plans_skips(sim: Simulator, tmp_path: Path):
    records: list[dict[str, Any]] = [{"email": "plan.never@example.org", "firstname": "No"},
                                     {"id": 434343, "firstname": "No"}]
    run = run_target(sim, tmp_path, messages("contacts", CONTACT_SCHEMA, records), dry_run=True,
                     sync_mode="update")
    assert run.outcomes() == Counter({"skipped": 2})
