"""singer-sdk standard target tests that apply to an API target with a fixed set of streams.

The SDK's fixtures use arbitrary stream names (``test_duplicate_records``, ...); ``stream_contexts`` maps the
ones that carry a Mautic ``id`` onto ``contacts`` and ``ignore_unknown_fields`` drops their made-up columns
(``metric``, ``a1``, ...), so the records become no-op patches of seeded contacts. Each kept test gets a
``validate`` that reads the simulator: nothing created, no field changed. What the target writes is checked by
our own fixtures in tests/target/test_target_mautic.py against what the simulator stored.

Omitted, and why:
- ``multiple_state_messages``: expects a STATE after each input STATE; the SDK (and this target) emits STATE
  only after ``drain_all`` (at the end or every 5 minutes) so that batches stay full (200 contacts a call).
- ``camelcase``, ``camelcase_complex_schema``, ``special_chars_in_attributes``, ``schema_no_properties``:
  records carry neither a Mautic ``id`` nor an email (``schema_no_properties`` only a nested
  ``object_store``), so they cannot name a contact; the target reports them failed by design.
- ``array_data``, ``encoded_string_data``, ``user_location_data``: only made-up columns; as no-op patches they
  would test nothing the kept tests do not.
- ``pk_updates``: changes key properties mid-stream and creates contacts with fixed emails in a shared
  instance; covered by our own fixtures (tests/target/test_target_mautic.py) with real checks.
- ``record_missing_required_property``: not in the SDK's default suite (its record fails validation).
"""

from __future__ import annotations

import atexit

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.target_tests import (
    TargetCliPrintsTest,
    TargetDuplicateRecords,
    TargetInvalidSchemaTest,
    TargetNoPrimaryKeys,
    TargetOptionalAttributes,
    TargetRecordBeforeSchemaTest,
    TargetRecordMissingKeyProperty,
    TargetRecordMissingOptionalFields,
    TargetSchemaUpdates,
)
from singer_sdk.testing.templates import TargetFileTestTemplate

from mautic_sim import Simulator
from target_mautic.target import RecordsFailedError, TargetMautic
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config

# Started at import, not in a fixture: get_target_test_class takes the config (the simulator's URL) when the
# class is built, while pytest collects; the only target test that needs that (tests/tap/test_tap_standard.py
# is the tap's one).
STANDARD_SIM = Simulator(contacts=30, seed=3, username=SIM_USER, password=SIM_PASSWORD).start()
atexit.register(STANDARD_SIM.stop)
SNAPSHOT = {row["id"]: row for row in STANDARD_SIM.query("SELECT * FROM leads")}

MAPPED = [
    "test_duplicate_records",
    "test_no_pk",
    "test_optional_attributes",
    "record_missing_fields",
    "test_schema_updates",
    "test_record_missing_key_property",
    "test_record_before_schema",
]


def _unchanged_contacts(ids: set[int]) -> None:
    """No-op patches must not touch a contact's fields (only the SDK's made-up columns were sent)."""
    for row in STANDARD_SIM.query("SELECT * FROM leads"):
        before = SNAPSHOT.get(row["id"])
        assert before is not None, f"contact {row['id']} was created"
        if row["id"] in ids:
            changed = {k for k in before if k not in ("date_modified", "modified_by", "modified_by_user")}
            assert {k: row[k] for k in changed} == {k: before[k] for k in changed}


class DuplicateRecords(TargetDuplicateRecords):
    def validate(self) -> None:
        _unchanged_contacts({1, 2})


class NoPrimaryKeys(TargetNoPrimaryKeys):
    def validate(self) -> None:
        _unchanged_contacts({1, 2, 3})


class OptionalAttributes(TargetOptionalAttributes):
    def validate(self) -> None:
        _unchanged_contacts({1, 2})


class RecordMissingOptionalFields(TargetRecordMissingOptionalFields):
    def validate(self) -> None:
        _unchanged_contacts({1, 2})


class RecordMissingKeyProperty(TargetRecordMissingKeyProperty):
    """A record without its key property is reported failed (one result line), not a fatal error that would
    drop the valid rows of its batch (issue 11, defect 7): with on_record_error 'fail' the run exits 1."""

    def test(self) -> None:
        with pytest.raises(RecordsFailedError, match="1 record"):
            TargetFileTestTemplate.test(self)


class SchemaUpdates(TargetSchemaUpdates):
    def validate(self) -> None:
        _unchanged_contacts(set(SNAPSHOT))


target_suite = SingerTestSuite(
    kind="target",
    tests=[
        TargetCliPrintsTest,
        TargetInvalidSchemaTest,
        TargetRecordBeforeSchemaTest,
        RecordMissingKeyProperty,
        DuplicateRecords,
        NoPrimaryKeys,
        OptionalAttributes,
        RecordMissingOptionalFields,
        SchemaUpdates,
    ],
)

TestTargetMauticStandard = get_target_test_class(
    TargetMautic,
    config=basic_config(
        STANDARD_SIM,
        stream_contexts={name: "contacts" for name in MAPPED},
        ignore_unknown_fields=True,
    ),
    custom_suites=[target_suite],
    include_target_tests=False,
)
