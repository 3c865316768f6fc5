"""The simulator's load knobs for the adaptive-concurrency benchmark: a per-second budget of API calls
answered 429 with Retry-After beyond it (counted), and the options' validation on the CLI."""

from __future__ import annotations

import requests

from mautic_sim import Simulator
from mautic_sim.cli import main
from mautic_sim.server import SimServer


def test_calls_beyond_the_per_second_budget_get_429_with_retry_after() -> None:
    with Simulator(contacts=3, rate_per_second=1_000_000, rate_retry_after=3,
                   latency_per_inflight_ms=1) as sim:
        server = sim._server
        assert isinstance(server, SimServer)
        assert requests.get(f"{sim.url}/api/contacts", auth=(sim.username, sim.password), timeout=10).ok
        server.rate_per_second = 1  # from now on one call a second: two calls in a row, one refused
        answers = [requests.get(f"{sim.url}/api/contacts", auth=(sim.username, sim.password), timeout=10)
                   for _ in range(3)]
        refused = [a for a in answers if a.status_code == 429]
        assert refused and len(refused) >= len(answers) - 2  # at most one a second gets through
        assert refused[0].headers["Retry-After"] == "3"
        assert sim.concurrency()["over_budget"] == len(refused)
        assert "Too many requests" in refused[0].json()["errors"][0]["message"]


def test_the_budget_is_off_by_default() -> None:
    with Simulator(contacts=3) as sim:
        answers = [requests.get(f"{sim.url}/api/contacts", auth=(sim.username, sim.password), timeout=10)
                   for _ in range(5)]
        assert all(a.ok for a in answers)
        assert sim.concurrency()["over_budget"] == 0


def test_cli_refuses_negative_load_options(capsys) -> None:
    assert main(["--rate-per-second", "-1"]) == 2
    assert main(["--latency-per-inflight-ms", "-5"]) == 2
    assert "must be >= 0" in capsys.readouterr().err
