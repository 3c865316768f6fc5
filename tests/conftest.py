"""Fixtures of every test folder: the simulators, the recorded retry waits, the concurrency parameters.

Every simulator here is started by a fixture, on an ephemeral loopback port, and stopped after its scope.
Helpers that are not fixtures (configs, runners, schemas) are in tests/support.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mautic_sim import Simulator
from tap_mautic.base_stream import DEFAULT_MAX_CONCURRENCY as TAP_MAX_CONCURRENCY
from target_mautic.connector import DEFAULT_MAX_CONCURRENCY
from tests.support.config import SIM_PASSWORD, SIM_USER


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The retry waits of mautic_api, recorded instead of slept (each client has its own session)."""
    waits: list[float] = []
    monkeypatch.setattr("mautic_api.http._sleep", waits.append)
    yield waits


@pytest.fixture(scope="session")
def session_sim() -> Iterator[Simulator]:
    """The shared, read-mostly simulator, one per test process (do not write to it in tests)."""
    with Simulator(contacts=120, seed=7, username=SIM_USER, password=SIM_PASSWORD) as shared:
        yield shared


@pytest.fixture
def sim() -> Iterator[Simulator]:
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


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test``: ``-n 2 --dist loadgroup``) the end-to-end tests all run on one
    worker: they share the checkout's Meltano project (``.meltano``), where two Meltano commands must never
    run at once, and its throwaway PostgreSQL cluster."""
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("e2e"))
