"""Look-ups by match_on survive the CSV rules Mautic applies to ``where ... in`` values."""

from __future__ import annotations

from pathlib import Path

from mautic_api.client import MauticClient
from tests.support.config import basic_config
from tests.support.target import COMPANY_SCHEMA, count, messages, run_target


def test_a_name_ending_in_backslash_does_not_hide_its_neighbours(sim, tmp_path: Path) -> None:
    """In a quoted CSV value PHP's str_getcsv reads a backslash before a quote as an escape: such a value
    is looked up with ``eq``, or it would swallow the names after it and those would be created twice."""
    names = ["Ends With Backslash, Inc\\", "Globex Neighbour"]
    client = MauticClient(basic_config(sim))
    for name in names:
        assert client.create("companies", {"companyname": name})[0] == 201
    before = count(sim, "companies")

    records = [{"companyname": n, "companycity": "Oslo"} for n in names]
    run = run_target(sim, tmp_path, messages("companies", COMPANY_SCHEMA, records))

    assert run.outcomes("companies") == {"updated": 2}
    assert count(sim, "companies") == before
