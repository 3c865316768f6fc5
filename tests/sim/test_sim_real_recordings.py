"""Conformance: the real Mautic 5.1.0 exchanges recorded by the differential check (tests/fixtures/real-5.1.0, 2026-12-06)
replayed against one fresh simulator, as the corpus is (tests/sim/test_sim_conformance.py).

Each must match on status, headers, error messages and JSON shape, or be listed with its cause under
"Replay differences" in docs/differential.md.
"""

from __future__ import annotations

import pytest

from tests.support.conformance import listed_differences, replay_all
from tests.support.paths import FIXTURES, ROOT

FOLDER = FIXTURES / "real-5.1.0"
DOCS = ROOT / "docs" / "differential.md"


@pytest.fixture(scope="module")
def results():
    return replay_all(FOLDER, switches=False)


def test_every_recorded_exchange_is_replayed(results) -> None:
    assert len(results) == len(list(FOLDER.glob("*.http"))) == 753


def test_every_exchange_conforms_or_is_listed(results) -> None:
    listed = listed_differences(DOCS, "## replay differences")
    unlisted = [f"{r.name}: {'; '.join(r.problems)[:300]}" for r in results if not r.ok and r.name not in listed]
    assert not unlisted, "unlisted differences:\n" + "\n".join(unlisted)


def test_listed_differences_are_current(results) -> None:
    listed = listed_differences(DOCS, "## replay differences")
    assert all(reason.strip() for reason in listed.values())
    stale = [r.name for r in results if r.ok and r.name in listed]
    assert not stale, f"listed as different but now conforming (remove from docs/differential.md): {stale}"


def test_field_alias_and_type_rules_as_the_real_server(results) -> None:
    """D2, fixed: the real server refused a taken alias and an unknown type (015, 016) and the simulator now does too."""
    by_name = {r.name: r for r in results}
    assert by_name["015-fields-create-duplicate-alias.http"].ok
    assert by_name["016-fields-create-bad-type.http"].ok
