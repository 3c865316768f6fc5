"""The benchmarks still run and still measure what they claim (figures only; nothing here is timed)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from benchmarks import run
from benchmarks.changes import offset_under_changes, tap_under_changes


def test_run_prints_and_writes_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.md"
    monkeypatch.setattr(run, "RESULTS", results)
    try:
        code = run.main(["--contacts", "300", "--sim-pages", "2", "--target-contacts", "200",
                         "--naive-contacts", "40", "--write"])
    finally:
        logging.disable(logging.NOTSET)
    out = capsys.readouterr().out
    assert code == 0
    assert "target: 200 contact upserts, HTTP calls" in out
    assert "measured 40, x5" in out  # the scaled baseline says so
    text = results.read_text()
    assert text.startswith("# Benchmark results")
    assert "| lost (existed throughout, never delivered) | 0 |" in text


def test_changes_hit_offset_paging_but_not_the_tap() -> None:
    """Same schedule for both readers: offset paging loses and duplicates contacts, keyset does neither."""
    logging.disable(logging.WARNING)
    try:
        ours = tap_under_changes(600, change_pct=10, new_pct=2)
        base = offset_under_changes(600, change_pct=10, new_pct=2, order_by=None)
    finally:
        logging.disable(logging.NOTSET)
    for figures in (ours, base):
        assert figures.modified == 60 and figures.new_total == 12
    assert (ours.lost, ours.duplicated, ours.new_seen) == (0, 0, 12)
    assert ours.extra["changes_caught_next_run"] == ours.extra["changes"] == 72
    assert base.lost > 0 and base.duplicated > 0
