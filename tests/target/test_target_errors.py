"""The target's clear errors: exit codes, unknown streams, properties and match fields, bad records, the
CLI's one-line messages and the documented settings (helpers in tests/support/target.py)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from target_mautic.sinks import StreamSetupError
from target_mautic.target import UnknownStreamError
from tests.support.config import basic_config
from tests.support.paths import FIXTURES
from tests.support.target import (
    CONTACT_SCHEMA,
    lead,
    messages,
    run_target,
)


def _cli(sim: Simulator, tmp_path: Path, fixture: Path, **settings: Any) -> subprocess.CompletedProcess:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(basic_config(sim, **settings)))
    return subprocess.run(
        [sys.executable, "-m", "target_mautic", "--config", str(config), "--input", str(fixture)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_exit_codes_fail_vs_report(sim: Simulator, tmp_path: Path):
    fixture = FIXTURES / "target_contacts" / "upsert.singer"
    failed = _cli(sim, tmp_path, fixture)
    assert failed.returncode == 1
    assert "3 record(s) failed" in failed.stderr and "Traceback" not in failed.stderr
    assert failed.stdout.strip() == ""  # no STATE
    reported = _cli(sim, tmp_path, fixture, on_record_error="report")
    assert reported.returncode == 0
    assert json.loads(reported.stdout.strip().splitlines()[-1])["bookmarks"]["contacts"]
    basic = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
    assert basic not in failed.stderr + reported.stderr
    assert "v[could not be detected]" not in reported.stderr  # package_name points at our distribution


def test_unknown_stream_fails_at_schema_before_writing(sim: Simulator, tmp_path: Path):
    text = messages("contacts", CONTACT_SCHEMA, [{"email": "early@example.org"}]) + messages(
        "orders", {"type": "object", "properties": {"id": {"type": "integer"}}}, [{"id": 1}]
    )
    run = run_target(sim, tmp_path, text)
    assert isinstance(run.error, UnknownStreamError) and "'orders'" in str(run.error)
    assert "stream_contexts" in str(run.error)
    assert [r for r in run.requests if r["method"] != "GET"] == []
    assert lead(sim, email="early@example.org") is None


def test_unknown_property_fails_at_schema_unless_ignored(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    schema = {
        "type": "object",
        "properties": {"email": {"type": "string"}, "favourite_colour": {"type": "string"}},
    }
    text = messages("contacts", schema, [{"email": "colour@example.org", "favourite_colour": "red"}])
    run = run_target(sim, tmp_path, text)
    assert isinstance(run.error, StreamSetupError) and "'favourite_colour'" in str(run.error)
    assert lead(sim, email="colour@example.org") is None
    caplog.clear()
    run = run_target(sim, tmp_path, text + text.split("\n", 1)[1], ignore_unknown_fields=True)  # 2 records
    assert run.error is None and lead(sim, email="colour@example.org") is not None
    warnings = [r for r in caplog.records if "favourite_colour" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"  # one warning per property


def test_cli_unknown_stream_is_one_line(sim: Simulator, tmp_path: Path):
    fixture = tmp_path / "orders.singer"
    fixture.write_text(messages("orders", {"type": "object", "properties": {"id": {"type": "integer"}}}, []))
    proc = _cli(sim, tmp_path, fixture)
    assert proc.returncode == 1
    assert (
        "Stream 'orders' is not accepted by target-mautic" in proc.stderr and "Traceback" not in proc.stderr
    )


def test_record_not_matching_its_schema_is_reported_not_fatal(sim: Simulator, tmp_path: Path):
    schema = {"type": "object", "properties": {"email": {"type": "string"}, "firstname": {"type": "string"}}}
    records: list[dict[str, Any]] = [
        {"email": "valid.one@example.org", "firstname": "V"},
        {"email": "wrong.type@example.org", "firstname": 5},
    ]
    run = run_target(sim, tmp_path, messages("contacts", schema, records), on_record_error="report")
    assert lead(sim, email="valid.one@example.org") is not None
    assert lead(sim, email="wrong.type@example.org") is None
    failed = run.result_for(email="wrong.type@example.org")
    assert failed["outcome"] == "failed" and "does not match the stream's schema" in failed["message"]


def test_match_on_unknown_field_is_a_clear_error(sim: Simulator, tmp_path: Path):
    run = run_target(
        sim,
        tmp_path,
        messages("contacts", CONTACT_SCHEMA, [{"email": "x@example.org"}]),
        match_on=["crm_key"],
    )
    assert (
        isinstance(run.error, StreamSetupError)
        and "'crm_key'" in str(run.error)
        and "match_on" in str(run.error)
    )


def test_about_documents_every_setting():
    about = subprocess.run(
        [sys.executable, "-m", "target_mautic", "--about", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    settings = json.loads(about.stdout)["settings"]["properties"]
    names = {
        "stream_contexts", "match_on", "create_if_missing", "allow_merge", "batch_size",
        "overwrite_with_blank", "ignore_unknown_fields", "delete_records", "results_path",
        "on_record_error", "dry_run", "load_method", "write_points", "base_url", "username", "password",
    }  # fmt: skip
    assert names <= set(settings)
    for name, spec in settings.items():
        assert spec.get("description"), f"setting {name!r} has no description"
    assert settings["load_method"]["enum"] == ["upsert", "append-only", "overwrite"]
    assert settings["batch_size"]["default"] == 200


def test_match_on_list_applies_to_contacts_only(sim: Simulator, tmp_path: Path):
    schema = {
        "type": "object",
        "properties": {"companyname": {"type": "string"}, "companycity": {"type": "string"}},
    }
    text = messages("companies", schema, [{"companyname": "Company 00001", "companycity": "Hamburg"}])
    run = run_target(sim, tmp_path, text, match_on=["backup_email"])
    assert run.error is None and run.result_for(companyname="Company 00001")["outcome"] == "updated"
    assert sim.query("SELECT companycity FROM companies WHERE id = 1") == [{"companycity": "Hamburg"}]


def test_cli_wrong_password_is_one_line_and_writes_nothing(sim: Simulator, tmp_path: Path):
    proc = _cli(sim, tmp_path, FIXTURES / "target_contacts" / "upsert.singer", password="wrong-secret")
    assert proc.returncode == 1 and proc.stdout.strip() == ""
    assert "Traceback" not in proc.stderr and "wrong-secret" not in proc.stderr
    assert "401" in proc.stderr or "denied" in proc.stderr.lower()
    assert lead(sim, email="ada.lovelace@example.org") is None
