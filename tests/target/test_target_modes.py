"""Sync modes per stream: upsert, update (never create), insert (never touch), mirror (loaded as upsert)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from target_mautic.modes import sync_mode
from tests.support.config import basic_config
from tests.support.paths import README
from tests.support.target import CONTACT_SCHEMA, count, lead, lead_row, messages, run_target

COMPANY_SCHEMA = {"type": "object", "properties": {"companyname": {"type": "string"},
                                                   "companycity": {"type": ["string", "null"]}}}


def writes(run: Any) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in run.requests
            if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]


def two_contacts(sim: Simulator) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An existing contact renamed, a new one, and an id Mautic does not have."""
    existing = sim.query("SELECT id, email FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 1")[0]
    return existing, [{"email": existing["email"], "firstname": "Moded"},
                      {"email": "mode.new@example.org", "firstname": "New"},
                      {"id": 987654, "firstname": "Ghost"}]


def test_update_never_creates(sim: Simulator, tmp_path: Path):
    existing, records = two_contacts(sim)
    before = count(sim, "leads")
    run = run_target(sim, tmp_path, messages("contacts", CONTACT_SCHEMA, records), sync_mode="update")
    assert run.error is None
    assert run.result_for(email=existing["email"])["outcome"] == "updated"
    skipped = run.result_for(email="mode.new@example.org")
    assert skipped["outcome"] == "skipped" and "sync_mode is update" in skipped["message"]
    assert run.result_for(id=987654)["outcome"] == "skipped"
    assert count(sim, "leads") == before and lead_row(sim, id=existing["id"])["firstname"] == "Moded"
    assert writes(run) == [("PATCH", "/api/contacts/batch/edit")]


def test_insert_never_touches_an_existing_record(sim: Simulator, tmp_path: Path):
    existing, records = two_contacts(sim)
    run = run_target(sim, tmp_path, messages("contacts", CONTACT_SCHEMA, records), sync_mode="insert",
                     compare_before_write=False)
    kept = run.result_for(email=existing["email"])
    assert kept["outcome"] == "skipped" and "sync_mode is insert" in kept["message"]
    assert lead_row(sim, id=existing["id"])["firstname"] != "Moded"
    assert run.result_for(email="mode.new@example.org")["outcome"] == "created"
    assert run.result_for(id=987654)["outcome"] == "created"  # an id not in Mautic: created
    assert writes(run) == [("POST", "/api/contacts/batch/new")]


def test_per_stream_value_wins_and_load_method_maps(sim: Simulator, tmp_path: Path):
    sim_companies = [{"companyname": "Moded Co", "companycity": "Oslo"}]
    text = (messages("contacts", CONTACT_SCHEMA, [{"email": "per.stream@example.org", "firstname": "P"}])
            + messages("companies", COMPANY_SCHEMA, sim_companies))
    # load_method append-only is insert for every stream; the per-stream sync_mode makes companies update
    run = run_target(sim, tmp_path, text, load_method="append-only", sync_mode={"companies": "update"})
    assert run.outcomes("contacts") == Counter({"created": 1})
    assert run.outcomes("companies") == Counter({"skipped": 1})  # update: not created
    assert count(sim, "companies WHERE companyname = 'Moded Co'") == 0


def test_mirror_loads_as_upsert_and_warns_once(sim: Simulator, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)
    _, records = two_contacts(sim)
    run = run_target(sim, tmp_path, messages("contacts", CONTACT_SCHEMA, records), sync_mode="mirror")
    assert run.outcomes() == Counter({"updated": 1, "created": 2})
    warned = [r for r in caplog.records
              if "sync_mode mirror without mirror_action removes nothing" in r.getMessage()]
    assert len(warned) == 1


def test_create_if_missing_false_is_update_with_one_deprecation_warning(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING)
    _, records = two_contacts(sim)
    run = run_target(sim, tmp_path, messages("contacts", CONTACT_SCHEMA, records), create_if_missing=False)
    assert run.outcomes() == Counter({"updated": 1, "skipped": 2})
    deprecated = [r for r in caplog.records if "'create_if_missing: false' is deprecated" in r.getMessage()]
    assert len(deprecated) == 1


def test_order_of_the_settings() -> None:
    assert sync_mode({}, "dim_customers", "contacts") == "upsert"
    assert sync_mode({"load_method": "overwrite"}, "s", "contacts") == "mirror"
    assert sync_mode({"load_method": "append-only", "sync_mode": "update"}, "s", "contacts") == "update"
    both = {"sync_mode": {"contacts": "insert", "dim_customers": "update"}}
    assert sync_mode(both, "dim_customers", "contacts") == "update"  # the input stream's name first
    assert sync_mode(both, "other", "contacts") == "insert"
    assert sync_mode({"create_if_missing": False}, "s", "contacts") == "update"


def test_a_bad_sync_mode_is_one_line(tmp_path: Path, session_sim: Simulator):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(basic_config(session_sim, sync_mode={"contacts": "replace"})))
    done = subprocess.run([sys.executable, "-m", "target_mautic", "--config", str(config)], input="",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert ("Setting 'sync_mode' for stream 'contacts' must be one of upsert, update, insert, mirror"
            in done.stderr)
    assert "Traceback" not in done.stderr


def readme_json(section: str) -> dict[str, Any]:
    """The first ```json block under ``section`` of the README."""
    text = README.read_text()
    start = text.index("```json\n", text.index(section)) + 8
    return json.loads(text[start: text.index("```", start)])


def test_the_readme_example_makes_the_enrichment_stream_update_only(sim: Simulator, tmp_path: Path):
    config = readme_json("### Sync modes")
    existing = sim.query("SELECT id, email FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 1")[0]
    enrichment = [{"email": existing["email"], "firstname": "Enriched"},
                  {"email": "enrich.new@example.org", "firstname": "Nobody"}]
    text = (messages("dim_enrichment", CONTACT_SCHEMA, enrichment)
            + messages("contacts", CONTACT_SCHEMA, [{"email": "upserted@example.org", "firstname": "U"}]))
    run = run_target(sim, tmp_path, text, **config)
    assert run.outcomes("dim_enrichment") == Counter({"updated": 1, "skipped": 1})
    assert run.outcomes("contacts") == Counter({"created": 1})
    assert lead(sim, email="enrich.new@example.org") is None
