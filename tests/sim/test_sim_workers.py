"""``workers``: the simulator serves at most N requests at once and queues the rest, as PHP-FPM does.

Counts are what the server saw (in a worker slot, waiting for one), never wall times. A hook that blocks until
released holds its worker slot the way a slow PHP request does, so the counts are exact.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
import requests

from mautic_sim import Simulator

AUTH = ("admin", "mautic")


def _fire(url: str, n: int) -> tuple[list[threading.Thread], list[int]]:
    """``n`` concurrent list requests, each on its own connection."""
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        r = requests.get(f"{url}/api/contacts", params={"limit": 1}, auth=AUTH, timeout=60)
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    return threads, statuses


def _wait_for(sim: Simulator, cond: Callable[[dict[str, int]], bool]) -> dict[str, int]:
    """Poll the server's counts until ``cond`` holds (a generous deadline only guards against a hang)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = sim.concurrency()
        if cond(seen):
            return seen
        time.sleep(0.01)
    raise AssertionError(f"server never reached the expected counts: {sim.concurrency()}")


def _blocking_hook() -> tuple[threading.Event, Callable[[str, str, str], None]]:
    release = threading.Event()

    def hook(method: str, path: str, query: str) -> None:
        release.wait(60)

    return release, hook


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_more_requests_than_workers_queue(workers: int) -> None:
    with Simulator(contacts=3, workers=workers) as sim:
        release, hook = _blocking_hook()
        sim.add_hook(hook)
        threads, statuses = _fire(sim.url, 8)
        seen = _wait_for(sim, lambda s: s["in_flight"] == workers and s["queued"] == 8 - workers)
        assert seen["served"] == 0
        release.set()
        for t in threads:
            t.join(60)
        final = sim.concurrency()
    assert statuses == [200] * 8
    assert final["max_in_flight"] == workers  # never more than N in a slot
    assert final["max_queued"] == 8 - workers
    assert (final["served"], final["in_flight"], final["queued"]) == (8, 0, 0)


def test_unlimited_by_default_serves_all_at_once() -> None:
    with Simulator(contacts=3) as sim:
        assert sim.workers == 0
        release, hook = _blocking_hook()
        sim.add_hook(hook)
        threads, statuses = _fire(sim.url, 8)
        _wait_for(sim, lambda s: s["in_flight"] == 8)
        release.set()
        for t in threads:
            t.join(60)
        final = sim.concurrency()
    assert statuses == [200] * 8
    assert (final["max_in_flight"], final["max_queued"], final["served"]) == (8, 0, 8)


def test_latency_is_spent_inside_a_worker() -> None:
    """8 requests with 200 ms each on 2 workers: two at a time, the others wait (about 4 rounds)."""
    with Simulator(contacts=3, latency_ms=200, workers=2) as sim:
        threads, statuses = _fire(sim.url, 8)
        for t in threads:
            t.join(60)
        final = sim.concurrency()
    assert statuses == [200] * 8
    assert final["max_in_flight"] == 2
    assert final["max_queued"] >= 1
    assert final["served"] == 8


def test_negative_workers_are_refused() -> None:
    with pytest.raises(ValueError, match="workers"):
        Simulator(contacts=0, workers=-1)


def test_console_script_workers_and_summary_line() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "mautic_sim.cli", "--contacts", "3", "--port", "0",
                             "--workers", "1", "--latency-ms", "100"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None  # a PIPE
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("MAUTIC_SIM_URL=http://127.0.0.1:")
        threads, statuses = _fire(line.split("=", 1)[1], 3)
        for t in threads:
            t.join(60)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert statuses == [200] * 3
    last = err.strip().splitlines()[-1]
    assert last.startswith("mautic-sim: served 3 requests, at most 1 at once, at most ")
    assert last.endswith("(workers 1)")
    bad = subprocess.run([sys.executable, "-m", "mautic_sim.cli", "--workers", "-2"], capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode == 2 and "--workers" in bad.stderr and bad.stderr.count("\n") == 1
