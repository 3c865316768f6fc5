"""`make demo`'s reverse-ETL step says what a marketer checks: the rerun writes nothing, the plan shows each
change and the totals, an audience mirrored into a segment loses the contact the query no longer selects,
and every run's results land in the warehouse table ``mautic_sync_results``."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from scripts.pipeline import MELTANO, ROOT


@pytest.mark.skipif(not MELTANO.exists(), reason="needs `make meltano`")
def test_demo_reverse_etl_lines() -> None:
    done = subprocess.run([sys.executable, "-m", "scripts.demo"], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, check=False, env={**os.environ, "DEMO_CONTACTS": "300"})
    out = done.stdout
    assert done.returncode == 0, (out + done.stderr)[-3000:]
    first = re.search(r"first run: contacts updated (\d+), segment_memberships created (\d+); "
                      r"(\d+) write calls", out)
    assert first and int(first.group(3)) >= 2, out[-2000:]
    n = int(first.group(1))
    assert (f"rerun of the same input: contacts unchanged {n}, segment_memberships unchanged {n}; "
            "0 write calls") in out
    assert re.search(r"plan of the changed model \(dry_run\): contacts unchanged \d+, "
                     rf"contacts would_update 3, segment_memberships unchanged {n}; 0 write calls", out)
    assert len(re.findall(r"would_update contacts \{\"email\": .*\}: seats: \d+ -> \d+", out)) == 3
    assert re.search(r"stream +create +update +unchanged +delete +skip +fail not_written", out)
    assert f"audience mirror, first run: segment_memberships created {n}; 1 write calls" in out
    assert (f"audience mirror, the query now selects {n - 1}: segment_memberships removed 1, "
            f"segment_memberships unchanged {n - 1}; 1 write calls") in out
    assert re.search(rf"removed from segment \d+: contact \d+ \(\S+@\S+\), no longer selected; the segment "
                     rf"holds {n - 1} contacts", out)
    assert re.search(rf"mautic_sync_results in DuckDB: 5 runs, {8 * n} lines: contacts unchanged", out)
