"""tap-mautic's discovery and a full sync against the session simulator: every stream of the issue, primary
keys unique and complete (singer-sdk's standard suite is in test_tap_standard.py)."""

from __future__ import annotations

from collections import Counter

from mautic_sim import Simulator
from tap_mautic.streams import REQUIRED_TABLES
from tests.support.config import basic_config
from tests.support.tap import make_tap, sync

ISSUE_STREAMS = [
    "contacts", "companies", "segments", "campaigns", "campaign_events", "emails", "forms", "pages", "assets",
    "notes", "stages", "tags", "users", "roles", "categories", "contact_fields", "company_fields", "points",
    "point_triggers", "webhooks", "focus", "dynamic_contents", "smses", "marketing_messages", "notifications",
    "reports", "devices", "form_submissions_results", *REQUIRED_TABLES,
]


def test_discovery_lists_every_stream_of_the_issue(session_sim: Simulator):
    tap = make_tap(basic_config(session_sim))
    catalog = {entry["tap_stream_id"]: entry for entry in tap.catalog_dict["streams"]}
    missing = [name for name in ISSUE_STREAMS if name not in catalog]
    assert not missing
    contacts = catalog["contacts"]
    assert contacts["replication_key"] == "_mautic_modified_at"
    assert "fields" not in contacts["schema"]["properties"]
    assert catalog["audit_log"]["replication_key"] == "id"
    assert catalog["lead_lists_leads"]["key_properties"] == ["leadlist_id", "lead_id"]
    assert catalog["form_submissions_results"]["key_properties"] == ["id"]


def test_primary_keys_unique_and_complete_for_every_stream(session_sim: Simulator):
    """A full sync with a small page size: every stream's primary keys are unique (the SDK's own check does
    not detect duplicates) and the keyset walk returns every row the simulator holds."""
    result = sync(basic_config(session_sim, page_size=7))
    tap = make_tap(basic_config(session_sim))
    assert result.records["contacts"], "the seeded simulator has contacts"
    for name, stream in tap.streams.items():
        keys = [tuple(rec[k] for k in stream.primary_keys) for rec in result.records.get(name, [])]
        dupes = [k for k, n in Counter(keys).items() if n > 1]
        assert not dupes, f"{name}: duplicate primary keys {dupes[:5]}"
        assert all(None not in k for k in keys), f"{name}: null primary key"
    expected = {row["id"] for row in session_sim.query("SELECT id FROM leads")}
    assert result.ids("contacts") == expected
    for table in ("audit_log", "lead_event_log", "page_hits"):
        rows = {row["id"] for row in session_sim.query(f"SELECT id FROM {table}")}
        assert {rec["id"] for rec in result.records.get(table, [])} == rows, table
    submissions = {r["id"] for r in session_sim.query(
        "SELECT s.id FROM form_submissions s JOIN forms f ON f.id = s.form_id")}
    assert result.ids("form_submissions_results") == submissions
    memberships = {(r["leadlist_id"], r["lead_id"]) for r in session_sim.query(
        "SELECT leadlist_id, lead_id FROM lead_lists_leads")}
    got = {(r["leadlist_id"], r["lead_id"]) for r in result.records.get("lead_lists_leads", [])}
    assert got == memberships

