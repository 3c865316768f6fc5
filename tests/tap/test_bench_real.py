"""benchmarks.real's pure parts (arguments, table, results.md section); the measuring needs a real Mautic."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import real


def test_sizes_are_parsed_and_bad_sizes_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert real.parse_args(["--sizes", "3000, 10000"]).sizes == [3000, 10000]
    assert real.parse_args([]).sizes == [3000, 10000]
    with pytest.raises(SystemExit):
        real.parse_args(["--sizes", "3k"])
    assert "--sizes must be integers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        real.parse_args(["--sizes", "0"])


def test_table_shows_rates_and_tap_to_sliced_ratio() -> None:
    table = real.format_table([real.SizeRow(10000, 335.0, 660.0, 561.0)], 4)
    assert "4-slice loop" in table.splitlines()[0]
    assert "| 10,000 | 335/s | 660/s | 561/s | 0.85x |" in table


def test_write_replaces_only_its_own_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results.md"
    results.write_text(f"# Bench\n\nsim table\n\n{real.HEADING}\n\nold\n\n## Profile\n\nprofile\n")
    monkeypatch.setattr(real, "RESULTS", results)
    real.write("| new |", "described")
    text = results.read_text()
    assert "sim table" in text and "## Profile\n\nprofile" in text
    assert "old" not in text and "described\n\n| new |" in text
    assert text.count(real.HEADING) == 1


def test_upsert_rows_on_the_simulator_count_created_updated_unchanged() -> None:
    """The target rows' code path at a tiny size: counts and write calls only (no timing)."""
    from mautic_sim import Simulator

    with Simulator(contacts=0, seed=3) as sim:
        connection = {"base_url": sim.url, "username": sim.username, "password": sim.password}
        resets: list[int] = []

        def reset() -> None:
            resets.append(sim.execute("DELETE FROM leads"))

        rows = real.measure_upserts(7, connection, reset)
        ours = sim.query("SELECT email, firstname FROM leads WHERE email LIKE 'upsert%'")
    assert len(resets) == 2  # and "all 7 created" at the defaults: the second setting starts without ours
    assert [r.step for r in rows] == ["new", "changed", "unchanged"]
    assert [r.check for r in rows] == ["all 7 created", "all 7 updated", "all 7 unchanged"]
    assert all(r.one_lane.writes > 0 and r.default.writes > 0 for r in rows[:2])
    assert (rows[2].one_lane.writes, rows[2].default.writes) == (0, 0)
    assert {(r["email"], r["firstname"]) for r in ours} == {(f"upsert{i}@example.org", f"Changed {i}")
                                                            for i in range(7)}
    table = real.format_upserts(rows)
    assert table.splitlines()[0].startswith("| upserts | step | 1 lane | target defaults |")
    assert "| 7 | unchanged |" in table and "| 0, 0 | all 7 unchanged |" in table


def test_upsert_check_says_what_went_wrong() -> None:
    from collections import Counter

    ok = real.UpsertRun(5, 1.0, 0, Counter({"unchanged": 5}))
    wrote = real.UpsertRun(5, 1.0, 1, Counter({"unchanged": 4, "updated": 1}))
    row = real.UpsertRow(5, "unchanged", "unchanged", ok, wrote)
    assert row.check == "default: 4 unchanged, 1 updated; default: 1 write calls"
    assert real.parse_args(["--upserts", "0"]).upserts == 0
    assert real.parse_args([]).upserts == 1000
