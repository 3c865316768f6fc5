"""A representative part of the tap's and target's suites, re-run on every later simulated version.

The tests are the ones of their own modules (imported, so pytest collects them here too); only the ``sim``
fixture differs: a fresh simulator of Mautic 5.2, 6.0 and 7.1 (5.1 runs in the original modules). Left out:
the tests of 5.1's dateModified rules (never-modified contacts, the other contexts by dateModified, the
audit_log-denied warning); tests/tap/test_tap_versions.py covers what 6.0+ does instead.
"""

from __future__ import annotations

import pytest

from mautic_sim import Simulator
from tests.support.config import SIM_PASSWORD, SIM_USER
from tests.tap.test_tap_custom_fields import test_every_field_type_is_typed_and_converted  # noqa: F401
from tests.tap.test_tap_incremental import (  # noqa: F401
    test_a_dropped_where_filter_fails_loudly,
    test_companies_replicate_on_modification_without_dates_in_the_answer,
    test_deletes_are_emitted_for_contacts_and_companies,
    test_exclude_anonymous_and_stream_options,
    test_search_and_published_only_options,
)
from tests.tap.test_tap_relations import test_contact_relations_are_typed  # noqa: F401
from tests.target.test_target_mautic import (  # noqa: F401
    test_companies_matched_by_name_and_idempotent,
    test_create_update_by_id_create_if_missing_and_invalid_rows,
    test_edit_to_another_contacts_email_fails_per_record_and_allow_merge_is_deprecated,
    test_memberships_dnc_notes_tags_added_and_removed,
    test_numeric_zero_is_reported_as_not_stored,
    test_update_by_email_without_lookup_and_idempotent_rerun,
)

pytestmark = pytest.mark.versions


@pytest.fixture(params=["5.2", "6.0", "7.1"])
def sim(request):
    with Simulator(contacts=60, seed=11, username=SIM_USER, password=SIM_PASSWORD,
                   mautic_version=request.param) as fresh:
        yield fresh
