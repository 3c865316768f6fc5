"""Shared fixtures: one Mautic simulator on an ephemeral loopback port for the whole session.

It is started at import time (not in a fixture) because the singer-sdk standard tap suite runs discovery
while pytest collects the tests. Tests that change data or inject faults start their own ``Simulator``.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

import pytest

from mautic_sim import Simulator
from tap_mautic.base_stream import DEFAULT_MAX_CONCURRENCY as TAP_MAX_CONCURRENCY
from target_mautic.connector import DEFAULT_MAX_CONCURRENCY

SIM_USER, SIM_PASSWORD = "admin", "mautic"
# `make test` runs the tap and target suites twice: at the plugins' default max_concurrency, then with this
# set to 1 (one request / batch call at a time). A test that sets max_concurrency itself keeps its own value.
CONCURRENCY_OVERRIDE = os.environ.get("MAUTIC_TEST_MAX_CONCURRENCY")

SESSION_SIM = Simulator(contacts=120, seed=7, username=SIM_USER, password=SIM_PASSWORD).start()
atexit.register(SESSION_SIM.stop)


def basic_config(sim: Simulator, **extra: Any) -> dict[str, Any]:
    """A tap/target config for ``sim`` with Basic auth.

    ``stats_settle_seconds`` is 0: the tests read event rows moments after writing them, which the tap's
    settle window would hold back to the next run (tests/test_tap_settle.py tests the window itself).
    """
    config = {"base_url": sim.url, "username": SIM_USER, "password": SIM_PASSWORD, "stats_settle_seconds": 0}
    if CONCURRENCY_OVERRIDE:
        config["max_concurrency"] = int(CONCURRENCY_OVERRIDE)
    return {**config, **extra}


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch):
    """The retry waits of mautic_api, recorded instead of slept (each client has its own session)."""
    waits: list[float] = []
    monkeypatch.setattr("mautic_api.http._sleep", waits.append)
    yield waits


@pytest.fixture(scope="session")
def session_sim() -> Simulator:
    """The shared, read-mostly simulator (do not write to it in tests)."""
    return SESSION_SIM


@pytest.fixture
def sim():
    """A fresh simulator for a test that writes, injects faults or changes data while paging."""
    with Simulator(contacts=60, seed=11, username=SIM_USER, password=SIM_PASSWORD) as fresh:
        yield fresh


@pytest.fixture(params=[1, DEFAULT_MAX_CONCURRENCY], ids=["lanes-1", "lanes-default"])
def lanes(request: pytest.FixtureRequest) -> dict[str, int]:
    """Target settings for one batch call at a time, and for the default number of lanes."""
    return {"max_concurrency": request.param}


@pytest.fixture(params=[1, TAP_MAX_CONCURRENCY], ids=["slices-1", "slices-default"])
def slices(request: pytest.FixtureRequest) -> dict[str, int]:
    """Tap settings for one request at a time, and for the default number of concurrent id-range slices."""
    return {"max_concurrency": request.param}
