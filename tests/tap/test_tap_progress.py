"""Progress lines: one per stream about every 10 s and one at the end, with total, rate and ETA."""

from __future__ import annotations

import logging

import pytest

from tap_mautic import progress as progress_module
from tap_mautic.progress import Progress
from tests.support.config import basic_config
from tests.support.tap import sync


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_interval_with_total_rate_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    logger = logging.getLogger("test.progress")
    p = Progress("contacts", logger, interval=10, clock=clock)
    p.expect(600)
    p.expect(5)  # a later page of the same walk does not count again
    p.start_walk()
    p.expect(400)  # a second walk (query pass) adds its own total
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for _ in range(319):
            clock.now += 1 / 32  # 32 records/s
            p.tick()
        assert caplog.messages == []  # not yet 10 s
        clock.now += 1 / 32
        p.tick()
        assert len(caplog.messages) == 1
        for _ in range(32):
            clock.now += 1 / 32
            p.tick()
        p.finish()
    assert caplog.messages[0] == (
        "Stream 'contacts': 320 records of about 1,000 in 10s (32/s), about 21s left.")
    assert caplog.messages[-1] == "Stream 'contacts': 352 records in 11s (32/s), done."
    assert len(caplog.messages) == 2


def test_a_real_sync_logs_progress_with_mautic_total(sim, caplog, monkeypatch) -> None:
    monkeypatch.setattr(progress_module, "PROGRESS_INTERVAL_SECONDS", 0.0)
    with caplog.at_level(logging.INFO):
        result = sync(basic_config(sim, page_size=50), streams=["contacts"])
    n = len(result.records["contacts"])
    lines = [m for m in caplog.messages if m.startswith("Stream 'contacts':")]
    assert lines[-1].startswith(f"Stream 'contacts': {n:,} records in ") and lines[-1].endswith(", done.")
    assert any(f"of about {n:,}" in line for line in lines[:-1]), lines[:3]

