"""Mautic going down while the tap reads a stream (issue 19, defect 3): retries spent end in one line.

Before the fix a stream read whose retries ran out ended in ~170 lines of chained tracebacks finishing with
``requests.exceptions.ConnectionError ... Max retries exceeded``, while the target and the field discovery
said "cannot connect (check 'base_url' ...) (gave up after N attempts)"; and the default retry budget was
15-31 s of waiting. The simulator goes down at a chosen request (``Simulator.go_down``: new connections
refused, open ones reset), as the real server's host did in the trial.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
import requests

from mautic_api.client import MauticClient
from mautic_api.errors import RetryableError
from mautic_api.retry import wait_generator
from mautic_api.settings import Settings
from mautic_sim import Simulator
from tap_mautic.base_stream import MauticStream
from tests.support.config import basic_config
from tests.support.tap import catalog_for, make_tap, run_cli


def down_at(sim: Simulator, nth: int, path: str = "/api/contacts") -> Callable[[str, str, str], None]:
    """A hook taking the simulator down at the ``nth`` request to ``path`` (that request is reset)."""
    seen = 0

    def hook(method: str, request_path: str, query: str) -> None:
        nonlocal seen
        if request_path == path:
            seen += 1
            if seen == nth:
                sim.go_down()

    return hook


def assert_gave_up_in_one_line(stderr: str, attempts: int) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "Max retries exceeded" not in stderr  # the raw requests text, in no line
    cause = [line for line in stderr.splitlines() if "gave up after" in line]
    assert len(cause) == 1, stderr[-3000:]
    # the next attempt is refused (cannot connect) or, on a connection kept alive, reset: both name base_url
    assert cause[0].startswith("tap-mautic: Stream 'contacts': GET /api/contacts: "), cause[0]
    assert "(check 'base_url'" in cause[0], cause[0]
    assert cause[0].endswith(f"(gave up after {attempts} attempts)"), cause[0]
    assert len(cause[0]) < 300


@pytest.mark.parametrize(("settings", "nth"), [
    ({"max_concurrency": 1}, 1),  # the first page
    ({"max_concurrency": 1}, 3),  # a page fetched ahead, on the read-ahead thread
    ({"max_concurrency": 3}, 4),  # a concurrent slice (1: first page, 2: the largest-id probe)
], ids=["first-page", "read-ahead", "slice"])
def test_a_stream_read_whose_retries_run_out_ends_in_one_line(
        sim: Simulator, tmp_path: Path, settings: dict, nth: int) -> None:
    config = basic_config(sim, page_size=10, max_retries=1, backoff_factor=0.01, **settings)
    catalog = catalog_for(config, ["contacts"])
    sim.add_hook(down_at(sim, nth))
    done = run_cli(tmp_path, config, catalog=catalog)
    assert done.returncode == 1
    assert_gave_up_in_one_line(done.stderr, attempts=2)


def test_the_field_discovery_and_the_stream_read_say_the_same(sim: Simulator, tmp_path: Path) -> None:
    """The same cause in the same words, wherever the retries ran out."""
    config = basic_config(sim, page_size=10, max_retries=1, backoff_factor=0.01, max_concurrency=1)
    catalog = catalog_for(config, ["contacts"])
    sim.go_down()
    done = run_cli(tmp_path, config, catalog=catalog)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert ("cannot connect (check 'base_url': is Mautic at that address?) [ConnectionError] (gave up after "
            in last)


# -- the retry budget ------------------------------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as sock:  # nobody listens there once closed
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_default_budget_rides_out_a_minute(retry_waits: list[float]) -> None:
    """Defaults: 8 retries, at most 120 s of waiting; the waits add up to more than a minute (91.5 s at the
    least: 0.5 + 1 + 2 + 4 + 8 + 16 + 30 + 30), never more than the budget. The waits are jittered: when they
    run long the budget ends the retries after the seventh, so only bounds are checked."""
    client = MauticClient({"base_url": f"http://127.0.0.1:{closed_port()}", "username": "u", "password": "p"})
    assert (client.settings.max_retries, client.settings.max_retry_seconds) == (8, 120.0)
    with pytest.raises(RetryableError, match=r"cannot connect .* \(gave up after \d attempts\)") as raised:
        client.request("GET", "contacts")
    assert len(retry_waits) in (7, 8)
    assert f"(gave up after {len(retry_waits) + 1} attempts)" in str(raised.value)
    assert 91.5 <= sum(retry_waits) <= 120.0 + 1e-9


def test_max_retry_seconds_ends_the_retries_first(retry_waits: list[float]) -> None:
    client = MauticClient({"base_url": f"http://127.0.0.1:{closed_port()}", "username": "u", "password": "p",
                           "max_retries": 50, "max_retry_seconds": 10})
    with pytest.raises(RetryableError, match=r"gave up after \d attempts\)$"):
        client.request("GET", "contacts")
    assert sum(retry_waits) == pytest.approx(10.0)  # the last wait is what was left of the budget
    assert len(retry_waits) < 8


def test_max_retry_seconds_zero_means_no_retry(retry_waits: list[float]) -> None:
    client = MauticClient({"base_url": f"http://127.0.0.1:{closed_port()}", "username": "u", "password": "p",
                           "max_retry_seconds": 0})
    with pytest.raises(RetryableError, match=r"gave up after 1 attempts\)$"):
        client.request("GET", "contacts")
    assert retry_waits == []


def answer_429(seconds: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = seconds
    return response


def test_a_server_requested_wait_is_not_counted_in_the_budget() -> None:
    """Mautic's rate limit asks for its own time (up to 300 s honoured): the budget is for outages."""
    waits = wait_generator(budget=10.0)
    waits.send(None)
    assert 40.0 <= waits.send(answer_429("40")) <= 41.0
    own: list[float] = []
    with pytest.raises(StopIteration):
        for _ in range(20):
            own.append(waits.send(requests.ConnectionError("refused")))
    assert sum(own) == pytest.approx(10.0)  # the whole budget is still there for an outage


def test_the_stream_retry_loop_has_the_same_budget(session_sim: Simulator) -> None:
    """singer-sdk's loop (the tap's streams) takes its waits from the same generator and budget."""
    tap = make_tap(basic_config(session_sim, max_retry_seconds=3, max_retries=50))
    stream = cast(MauticStream, tap.streams["contacts"])
    waits = stream.backoff_wait_generator()
    waits.send(None)
    spent = []
    with pytest.raises(StopIteration):
        for _ in range(50):
            spent.append(waits.send(requests.ConnectionError("refused")))
    assert sum(spent) == pytest.approx(3.0)


@pytest.mark.parametrize("bad", [-1, "soon", float("inf"), 86401])
def test_a_bad_max_retry_seconds_is_named(bad: object) -> None:
    with pytest.raises(Exception, match="'max_retry_seconds'"):
        Settings.from_config({"base_url": "http://m.test", "username": "a", "password": "b",
                              "max_retry_seconds": bad})
