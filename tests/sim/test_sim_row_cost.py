"""``row_ms``: a batch write costs ``write_ratio`` (3.8) times a read of the same contacts (real 5.1.0).

The cost is checked as the server time the simulator added (``Simulator.row_seconds``), never with a clock."""

from __future__ import annotations

import pytest

from mautic_api.client import MauticClient
from mautic_sim import Simulator
from mautic_sim.cli import main as sim_main
from mautic_sim.server import WRITE_RATIO


def test_a_batch_edit_costs_write_ratio_times_the_read_of_the_same_contacts() -> None:
    with Simulator(contacts=30, seed=5, row_ms=2.0) as sim:
        client = MauticClient({"base_url": sim.url, "username": sim.username, "password": sim.password})
        ids = [int(r["id"]) for r in sim.query("SELECT id FROM leads ORDER BY id LIMIT 20")]
        before = sim.row_seconds
        page = client.list_page("contacts", start=0, limit=20, order_by="id", order_dir="ASC",
                                where=[{"col": "id", "expr": "in", "val": ids}])
        read = sim.row_seconds - before
        assert len(page.records) == 20
        assert read == pytest.approx(20 * 2.0 / 1000)

        before = sim.row_seconds
        client.batch_edit("contacts", [{"id": i, "city": "Oslo"} for i in ids])
        write = sim.row_seconds - before
        assert write == pytest.approx(read * WRITE_RATIO)

        before = sim.row_seconds
        client.request("GET", "fields/contact")  # not a contacts or companies answer: no row cost
        assert sim.row_seconds == before


def test_row_cost_is_off_by_default() -> None:
    with Simulator(contacts=5, seed=5) as sim:
        client = MauticClient({"base_url": sim.url, "username": sim.username, "password": sim.password})
        client.list_page("contacts", start=0, limit=5)
        assert sim.row_seconds == 0


def test_bad_row_cost_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_main(["--row-ms", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "mautic-sim: --row-ms must be >= 0 and --write-ratio > 0"
