"""singer-sdk's standard tap suite against the session simulator, plus discovery and uniqueness checks."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.suites import SingerTestSuite, tap_stream_attribute_tests
from singer_sdk.testing.templates import AttributeTestTemplate

from tap_mautic.streams import REQUIRED_TABLES
from tap_mautic.tap import TapMautic
from tests.conftest import SESSION_SIM, basic_config
from tests.fixtures.tap_helpers import make_tap, sync

ISSUE_STREAMS = [
    "contacts", "companies", "segments", "campaigns", "campaign_events", "emails", "forms", "pages", "assets",
    "notes", "stages", "tags", "users", "roles", "categories", "contact_fields", "company_fields", "points",
    "point_triggers", "webhooks", "focus", "dynamic_contents", "smses", "marketing_messages", "notifications",
    "reports", "devices", "form_submissions_results", *REQUIRED_TABLES,
]

CONFIG = basic_config(SESSION_SIM, page_size=25)



def _per_property(test_class: type[AttributeTestTemplate]) -> type[AttributeTestTemplate]:
    """singer-sdk 0.54.9's attribute test, made to test each property it is run for.

    The SDK builds ONE instance per attribute test and runs it for every (stream, property) parameter, while
    ``non_null_attribute_values`` is a cached_property: every parameter after the first re-checks the first
    property's values and passes whatever its own values are. Here the values are read per run. Properties
    typed with several JSON types (Mautic's free-form ``properties``, ``filters``, ...) are left to the
    schema validation test: "is an integer" and "is an object" cannot both hold for them.
    """

    class PerProperty(test_class):  # type: ignore[valid-type,misc]
        @property
        def non_null_attribute_values(self) -> list[Any]:
            name = self.attribute_name
            values = [r[name] for r in self.stream_records if r.get(name) is not None]
            if not values:
                warnings.warn(UserWarning(f"No records were available to test {name}."), stacklevel=2)
            return values

        @classmethod
        def evaluate(cls, stream: Any, property_name: str, property_schema: dict) -> bool:
            types = property_schema.get("type")
            types = [types] if isinstance(types, str) else [t for t in types or [] if t != "null"]
            return len(types) == 1 and test_class.evaluate(stream, property_name, property_schema)

    PerProperty.__name__ = test_class.__name__
    return PerProperty


ATTRIBUTE_TESTS = SingerTestSuite(
    kind="tap_stream_attribute",
    tests=[_per_property(t) for t in tap_stream_attribute_tests.tests],
)

TestTapMautic = get_tap_test_class(
    tap_class=TapMautic,
    config=CONFIG,
    # The SDK's default cap (150 records a stream) keeps the one dry-run sync quick; the simulator seeds every
    # stream, so each must return records.
    suite_config=SuiteConfig(max_records_limit=150),
    parse_env_config=False,
    include_stream_attribute_tests=False,  # replaced by ATTRIBUTE_TESTS (see _per_property)
    custom_suites=[ATTRIBUTE_TESTS],
)


def test_discovery_lists_every_stream_of_the_issue():
    tap = make_tap(basic_config(SESSION_SIM))
    catalog = {entry["tap_stream_id"]: entry for entry in tap.catalog_dict["streams"]}
    missing = [name for name in ISSUE_STREAMS if name not in catalog]
    assert not missing
    contacts = catalog["contacts"]
    assert contacts["replication_key"] == "_mautic_modified_at"
    assert "fields" not in contacts["schema"]["properties"]
    assert catalog["audit_log"]["replication_key"] == "id"
    assert catalog["lead_lists_leads"]["key_properties"] == ["leadlist_id", "lead_id"]
    assert catalog["form_submissions_results"]["key_properties"] == ["id"]


def test_primary_keys_unique_and_complete_for_every_stream():
    """A full sync with a small page size: every stream's primary keys are unique (the SDK's own check does
    not detect duplicates) and the keyset walk returns every row the simulator holds."""
    result = sync(basic_config(SESSION_SIM, page_size=7))
    tap = make_tap(basic_config(SESSION_SIM))
    assert result.records["contacts"], "the seeded simulator has contacts"
    for name, stream in tap.streams.items():
        keys = [tuple(rec[k] for k in stream.primary_keys) for rec in result.records.get(name, [])]
        dupes = [k for k, n in Counter(keys).items() if n > 1]
        assert not dupes, f"{name}: duplicate primary keys {dupes[:5]}"
        assert all(None not in k for k in keys), f"{name}: null primary key"
    expected = {row["id"] for row in SESSION_SIM.query("SELECT id FROM leads")}
    assert result.ids("contacts") == expected
    for table in ("audit_log", "lead_event_log", "page_hits"):
        rows = {row["id"] for row in SESSION_SIM.query(f"SELECT id FROM {table}")}
        assert {rec["id"] for rec in result.records.get(table, [])} == rows, table
    submissions = {r["id"] for r in SESSION_SIM.query(
        "SELECT s.id FROM form_submissions s JOIN forms f ON f.id = s.form_id")}
    assert result.ids("form_submissions_results") == submissions
    memberships = {(r["leadlist_id"], r["lead_id"]) for r in SESSION_SIM.query(
        "SELECT leadlist_id, lead_id FROM lead_lists_leads")}
    got = {(r["leadlist_id"], r["lead_id"]) for r in result.records.get("lead_lists_leads", [])}
    assert got == memberships

