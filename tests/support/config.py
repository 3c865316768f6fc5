"""Simulator credentials and the plugins' config for a simulator (imported by tests and conftest files)."""

from __future__ import annotations

import os
from typing import Any

from mautic_sim import Simulator

SIM_USER, SIM_PASSWORD = "admin", "mautic"
# `make test` runs the tap and target suites twice: at the plugins' default max_concurrency, then with this
# set to 1 (one request / batch call at a time). A test that sets max_concurrency itself keeps its own value.
CONCURRENCY_OVERRIDE = os.environ.get("MAUTIC_TEST_MAX_CONCURRENCY")


def basic_config(sim: Simulator, **extra: Any) -> dict[str, Any]:
    """A tap/target config for ``sim`` with Basic auth.

    ``stats_settle_seconds`` is 0: the tests read event rows moments after writing them, which the tap's
    settle window would hold back to the next run (tests/tap/test_tap_settle.py tests the window itself).
    """
    config: dict[str, Any] = {"base_url": sim.url, "username": SIM_USER, "password": SIM_PASSWORD,
                              "stats_settle_seconds": 0}
    if CONCURRENCY_OVERRIDE:
        config["max_concurrency"] = int(CONCURRENCY_OVERRIDE)
    return {**config, **extra}
