"""target-mautic per Mautic version: values a version does not store are reported per record, never PUT
(versions sheet §6 and a real 5.1.0: a contact write never stores 0, mautic#15030; a contact EDIT does not
store 0 < |v| < 1 up to 7.1, mautic#16590, but a CREATE does; company writes store both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mautic_api.versions import capabilities
from mautic_sim import Simulator
from mautic_sim.versions import VERSIONS
from target_mautic.unwritable import unwritable_values
from tests.support.config import SIM_PASSWORD, SIM_USER
from tests.support.target import lead_row, messages, run_target

pytestmark = pytest.mark.versions
SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "firstname": {"type": "string"}, "seats": {"type": "integer"},
    "shoe_size": {"type": "number"}}}
CREATE_SCHEMA = {"type": "object", "properties": {
    "email": {"type": "string"}, "firstname": {"type": "string"}, "seats": {"type": "integer"},
    "shoe_size": {"type": "number"}}}
COMPANY_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "companyname": {"type": "string"}, "companyannual_revenue": {"type": "number"}}}


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
        after = lead_row(sim, id=row["id"])
        assert (after["firstname"], after["seats"], float(after["shoe_size"])) == ("Kept", 4, 9.5)
        writes = [r for r in run.requests if r["method"] in ("POST", "PATCH", "PUT")]
        assert [r["method"] for r in writes] == ["PATCH"]
        assert all("seats" not in item and "shoe_size" not in item for item in writes[0]["body"])


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_fractions_are_sent_on_creates_and_reported_when_batch_new_matched(version: str, tmp_path: Path):
    """Real 5.1.0 (2026-12-06): POST /api/contacts/batch/new [{existing email, acc_ratio 0.61}, {new email,
    acc_ratio 0.61}, {new email, acc_ratio 0}] -> statusCodes [200, 201, 201]; MariaDB: the matched contact
    unchanged, the new one 0.61, the zero one NULL. The target cannot know before sending which items match, so
    it sends the fraction and reads the answer: created -> stored, no note; matched (an edit) -> noted."""
    with Simulator(contacts=30, seed=12, username=SIM_USER, password=SIM_PASSWORD,
                   mautic_version=version) as sim:
        existing = sim.query("SELECT id, email FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 1")[0]
        sim.execute("UPDATE leads SET shoe_size = 9.5 WHERE id = ?", (existing["id"],))
        records = [{"email": "frac.new@example.org", "shoe_size": 0.55},
                   {"email": "zero.new@example.org", "firstname": "Zero", "seats": 0},
                   {"email": existing["email"], "shoe_size": 0.37}]
        # the batch/new path (compare_before_write looks the email up first and never sends the fraction)
        run = run_target(sim, tmp_path, messages("contacts", CREATE_SCHEMA, records), compare_before_write=False)
        created = run.result_for(email="frac.new@example.org")
        assert (created["outcome"], created["message"]) == ("created", None)
        assert lead_row(sim, email="frac.new@example.org")["shoe_size"] == 0.55
        zero = run.result_for(email="zero.new@example.org")
        zero_warnings = " ".join(zero["warnings"])  # written, with a warning: the line's warnings
        assert zero["outcome"] == "created" and "left empty in Mautic" in zero_warnings
        assert "seats=0" in zero_warnings and lead_row(sim, email="zero.new@example.org")["seats"] is None
        matched = run.result_for(email=existing["email"])
        assert matched["outcome"] == "updated"
        matched_warnings = " ".join(matched["warnings"])
        assert "batch/new matched an existing contact by email, an edit" in matched_warnings
        assert "shoe_size=0.37" in matched_warnings and "mautic#16590" in matched_warnings
        assert float(lead_row(sim, id=existing["id"])["shoe_size"]) == 9.5
        writes = [r for r in run.requests if r["method"] in ("POST", "PATCH", "PUT")]
        assert [r["path"] for r in writes] == ["/api/contacts/batch/new"]
        assert [item.get("shoe_size") for item in writes[0]["body"]] == [0.55, None, 0.37]


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_company_zero_and_fractions_are_written(version: str, tmp_path: Path):
    """Real 5.1.0 (2026-12-06): company POST/PATCH (single and batch) store 0 and 0.55; nothing is held back."""
    with Simulator(contacts=5, seed=12, username=SIM_USER, password=SIM_PASSWORD, mautic_version=version) as sim:
        records = [{"companyname": "Fraction Ltd", "companyannual_revenue": 0.55},
                   {"companyname": "Zero Ltd", "companyannual_revenue": 0}]
        run = run_target(sim, tmp_path, messages("companies", COMPANY_SCHEMA, records))
        assert [(r["outcome"], r["message"]) for r in run.results] == [("created", None), ("created", None)]
        rows = sim.query("SELECT companyname, companyannual_revenue AS v FROM companies WHERE companyname LIKE '%Ltd' "
                         "AND companyname IN ('Fraction Ltd', 'Zero Ltd') ORDER BY companyname")
        assert rows == [{"companyname": "Fraction Ltd", "v": 0.55}, {"companyname": "Zero Ltd", "v": 0.0}]
        ids = {r["companyname"]: r["mautic_id"] for r in [{**x, "companyname": x["key"]["companyname"]} for x in run.results]}
        again = [{"id": ids["Fraction Ltd"], "companyannual_revenue": 0},
                 {"id": ids["Zero Ltd"], "companyannual_revenue": -0.25}]
        run = run_target(sim, tmp_path, messages("companies", COMPANY_SCHEMA, again))
        assert [(r["outcome"], r["message"]) for r in run.results] == [("updated", None), ("updated", None)]
        assert [r["v"] for r in sim.query("SELECT companyannual_revenue AS v FROM companies WHERE id IN (?, ?) ORDER BY id",
                                          (ids["Fraction Ltd"], ids["Zero Ltd"]))] == [0.0, -0.25]


def test_capability_map_per_version():
    assert unwritable_values({"a": 0.5, "b": 0, "c": 2, "d": True}, {"a", "b", "c", "d"},
                             capabilities("7.2.0")).keys() == {"b"}
    for header in ("5.1.0", "6.0.4", "7.1.3", None):
        assert unwritable_values({"a": -0.25, "b": 0, "c": 1.0}, {"a", "b", "c"},
                                 capabilities(header)).keys() == {"a", "b"}
        # a contact create stores fractions; company writes store both (real 5.1.0; later versions inferred)
        assert unwritable_values({"a": -0.25, "b": 0}, {"a", "b"}, capabilities(header), create=True).keys() == {"b"}
        assert unwritable_values({"a": -0.25, "b": 0}, {"a", "b"}, capabilities(header), object_="company") == {}
    assert capabilities("6.0.4").date_modified_moves_on_update is False
    assert capabilities("5.2.5").date_modified_moves_on_update and not capabilities("5.2.5").dnc_moves_date_modified
    assert not capabilities("7.1.3").rate_limiter and capabilities("6.0.4").rate_limiter
    assert capabilities(None).date_modified_moves_on_update is False  # unknown: the safe side
