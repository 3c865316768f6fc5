"""The benchmarks still run and still measure what they claim (figures only; nothing here is timed)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from benchmarks import rawloop, run
from benchmarks.changes import offset_under_changes, tap_under_changes
from benchmarks.retl import WRITES, existing_contacts, runs
from benchmarks.simproc import run_child
from mautic_sim import Simulator

# The first words of every row `make bench` prints (one per figure, in order).
ROWS = [
    "(a) simulator process: start with",
    "(a) simulator: raw keyset pages of 200",
    "P1 tap vs raw loop",
    "P2 tap at default settings",
    "P2   vs sequential raw keyset loop",
    "P2   vs 4-slice raw keyset loop",
    "P3 300 contact upserts, latency 200 ms, concurrency 1",
    "P3 300 contact upserts at",
    "(c) target: 200 contact upserts, HTTP calls",
    "(c) target: 200 contact upserts, records/s",
    "(c) target: round trips",
    "(d) read of 600 contacts",
    "lost (existed throughout, never delivered)",
    "duplicated (delivered more than once)",
    "new contacts delivered",
    "requests (list pages)",
    "next incremental run: changes picked up",
    "P4 peak RSS tap-mautic (contacts): 300 / 1,500 records",
    "P4 peak RSS target-mautic (contact upserts): 300 / 1,500 records",
    "(f) 300 contacts in Mautic rerun unchanged, compare on / off",
    "(f) 300 contacts, 3 changed (1 %), compare on / off",
    "(f) audience of 300, 1 % churn (3 out, 3 in), compare on",
    "(f) audience mirror of 300 into a segment, 1 % churn (sync_mode mirror)",
    "(g) 600 contacts read under load and a 429 budget",
    "(g) 300 contact upserts under load and a 429 budget",
]


def test_quick_run_prints_every_row_and_keeps_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`--quick` runs the whole harness (simulators as processes) at small sizes: every row, no timing."""
    results = tmp_path / "results.md"
    results.write_text("# Benchmark results\n\nold table\n\n## Profile\n\nkept profile\n")
    monkeypatch.setattr(run, "RESULTS", results)
    try:
        code = run.main(["--quick", "--write"])
    finally:
        logging.disable(logging.NOTSET)
    out = capsys.readouterr().out
    assert code == 0
    table = [line for line in out.splitlines() if line.strip()]
    starts = [next((i for i, line in enumerate(table) if line.lstrip().startswith(row)), -1) for row in ROWS]
    assert -1 not in starts, [row for row, i in zip(ROWS, starts, strict=True) if i < 0]
    assert starts == sorted(starts)  # in the documented order
    assert "measured 40, x5" in out  # the scaled baseline says so
    sliced = next(line for line in table if line.startswith("P2   vs 4-slice"))
    assert "at most 4 at once" in sliced  # the simulator saw the 4 slices at once (4 workers)
    text = results.read_text()
    assert text.startswith("# Benchmark results")
    assert "old table" not in text and text.rstrip().endswith("kept profile")
    assert "| lost (existed throughout, never delivered) | 0 |" in text
    assert "| P1 tap vs raw loop" in text and "goal (issue 9)" in text


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


def test_raw_loops_read_every_contact_once() -> None:
    """The floor of P1/P2 reads the same contacts as the tap: all of them, none twice, in any slicing."""
    with Simulator(contacts=450, seed=3, workers=3) as sim:
        seq = rawloop.sequential(sim.url, sim.username, sim.password)
        sliced = rawloop.sliced(sim.url, sim.username, sim.password, slices=3)
        seen = sim.concurrency()
    assert (seq.records, seq.pages) == (450, 4)  # 200 + 200 + 50 + the empty page
    assert (sliced.records, sliced.pages) == (450, 6)  # each slice of 150: one page + the empty page
    assert seen["max_in_flight"] <= 3


def test_child_peak_rss_is_its_own(tmp_path: Path) -> None:
    """P4's figure is the child's own peak, not the size of the benchmark process that started it."""
    ballast = bytearray(120 * 1024 * 1024)  # this process is big; a forked child would inherit its RSS
    code = "x = bytearray(200 * 1024 * 1024); print('{\"type\":\"RECORD\"}')"
    big = run_child([sys.executable, "-c", code])
    small = run_child([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert len(ballast) and big.returncode == 0 and big.records == 1
    assert big.peak_rss_mb >= 200
    assert small.returncode == 3 and small.peak_rss_mb < 60


def test_p3_time_split_is_written_in_its_own_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/profile_target.py measures CPU beside wall time and replaces only its own section."""
    from benchmarks import profile_target

    results = tmp_path / "results.md"
    results.write_text("# Benchmark results\n\ntable\n\n## Profile\n\nkept\n\n"
                       f"{profile_target.HEADING}\n\nold split\n")
    monkeypatch.setattr(run, "RESULTS", results)
    try:
        assert profile_target.main(["--upserts", "300", "--latency-ms", "20", "--write"]) == 0
    finally:
        logging.disable(logging.NOTSET)
    text = results.read_text()
    assert "old split" not in text and "table" in text and "kept" in text
    assert text.count(profile_target.HEADING) == 1
    rows = [line for line in text.splitlines() if line.startswith("| concurrency 1") or
            line.startswith("| default")]
    assert len(rows) == 3
    for row in rows:
        calls, wall, target_cpu, sim_cpu = (float(c) for c in row.strip("|").split("|")[1:])
        assert calls == 3  # 300 upserts: 1 field read + 2 batches of 200 (a count, not a measurement)
        # measured figures: only their form is checked (a small run's CPU may round to 0.0)
        assert min(wall, target_cpu, sim_cpu) >= 0


def test_reverse_etl_reruns_write_only_what_changed() -> None:
    """Row (f) at a small size, by calls (never timings): an unchanged rerun sends no write; 1 % changed sends
    one PATCH of those records only, each with ``id`` and the changed ``city``; compare off writes all."""
    logging.disable(logging.WARNING)
    try:
        with Simulator(contacts=400, seed=8) as sim:
            records = existing_contacts(sim.db_path)
            log: list[dict] = []

            def calls() -> tuple[int, int]:
                log[:] = sim.request_log
                return len(log), sum(1 for r in log if r["method"] in WRITES)

            figures = runs(sim.url, records, calls)
            patches = [r for r in sim.request_log if r["method"] == "PATCH"]
    finally:
        logging.disable(logging.NOTSET)
    on, off = figures["unchanged_on"], figures["unchanged_off"]
    assert on.outcomes == {"unchanged": 400} and on.write_calls == 0
    assert off.outcomes == {"updated": 400} and off.write_calls == 2  # 400 / batch_size 200
    changed = figures["changed_on"]
    assert figures["changed"] == 4
    assert changed.outcomes == {"unchanged": 396, "updated": 4} and changed.write_calls == 1
    audience = figures["audience"]
    assert figures["churn"] == 4 and audience.outcomes == {"unchanged": 396, "created": 4}
    assert audience.write_calls == 1  # one batch/new of the 4 new contacts
    mirror = figures["mirror"]  # the churned audience mirrored into the segment that held it before
    assert mirror.outcomes == {"unchanged": 396, "created": 4, "removed": 4}
    assert mirror.write_calls == 1 + 4  # one segment batch add of the 4 new, one remove call per dropped
    # compare off sends whole records; the one PATCH of only changed aliases is the 1 % run's, with its 4
    only_city = [p for p in patches if all(set(item) == {"id", "city"} for item in p["body"])]
    assert [len(p["body"]) for p in only_city] == [4]
