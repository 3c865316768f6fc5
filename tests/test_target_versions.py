# ruff: noqa: E501
"""target-mautic per Mautic version: values a version drops silently are reported per record, never sent,
never PUT (versions sheet §6: 0 on every version, mautic#15030; 0 < |v| < 1 up to 7.1, mautic#16590)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mautic_api.versions import capabilities
from mautic_sim import Simulator
from mautic_sim.versions import VERSIONS
from target_mautic.unwritable import unwritable_values
from tests.conftest import SIM_PASSWORD, SIM_USER
from tests.test_target_mautic import lead, messages, run_target

pytestmark = pytest.mark.versions
SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "firstname": {"type": "string"}, "seats": {"type": "integer"},
    "shoe_size": {"type": "number"}}}


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_zero_and_fraction_reported_not_sent(version: str, tmp_path: Path):
    with Simulator(contacts=30, seed=12, username=SIM_USER, password=SIM_PASSWORD,
                   mautic_version=version) as sim:
        row = sim.query("SELECT id, seats, shoe_size FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 1")[0]
        sim.execute("UPDATE leads SET seats = 4, shoe_size = 9.5 WHERE id = ?", (row["id"],))
        records = [{"id": row["id"], "firstname": "Kept", "seats": 0, "shoe_size": 0.5}]
        run = run_target(sim, tmp_path, messages("contacts", SCHEMA, records))
        result = run.result_for(id=row["id"])
        assert result["outcome"] == "updated", result
        warnings = " ".join(result["warnings"])  # written, with a warning: the line's warnings
        assert f"not writable on Mautic {sim.version.header}" in warnings
        assert "seats=0" in warnings and "mautic#15030" in warnings
        assert "shoe_size=0.5" in warnings and "mautic#16590" in warnings
        after = lead(sim, id=row["id"])
        assert (after["firstname"], after["seats"], float(after["shoe_size"])) == ("Kept", 4, 9.5)
        writes = [r for r in run.requests if r["method"] in ("POST", "PATCH", "PUT")]
        assert [r["method"] for r in writes] == ["PATCH"]
        assert all("seats" not in item and "shoe_size" not in item for item in writes[0]["body"])


def test_capability_map_per_version():
    assert unwritable_values({"a": 0.5, "b": 0, "c": 2, "d": True}, {"a", "b", "c", "d"},
                             capabilities("7.2.0")).keys() == {"b"}
    for header in ("5.1.0", "6.0.4", "7.1.3", None):
        assert unwritable_values({"a": -0.25, "b": 0, "c": 1.0}, {"a", "b", "c"},
                                 capabilities(header)).keys() == {"a", "b"}
    assert capabilities("6.0.4").date_modified_moves_on_update is False
    assert capabilities("5.2.5").date_modified_moves_on_update and not capabilities("5.2.5").dnc_moves_date_modified
    assert not capabilities("7.1.3").rate_limiter and capabilities("6.0.4").rate_limiter
    assert capabilities(None).date_modified_moves_on_update is False  # unknown: the safe side
