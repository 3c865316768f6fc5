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
