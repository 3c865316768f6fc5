"""``make bench-real``: the tap against the raw keyset loops on a real Mautic 5.1.0 (opt-in, never in CI).

Why: the simulator's latency model says what the tap could reach; only a real server (PHP workers, MariaDB)
says what it does. For each size the instance is reset, seeded straight through its MariaDB (``leads`` rows,
seconds instead of minutes through the API), then read by the sequential raw loop, the 4-slice raw loop
(``benchmarks/rawloop.py``) and the tap as a whole process at its defaults (``python -m tap_mautic`` with a
catalog selecting contacts: start-up, discovery and sync all count). Ratios are of one run on one machine.
The instance comes from ``scripts/real_mautic.sh env`` (MAUTIC_REAL_URL, MAUTIC_REAL_HOME, MAUTIC_REAL_DB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import rawloop

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results.md"
HEADING = "## Real Mautic 5.1.0 (make bench-real)"
USER, PASSWORD = "admin", "Mautic12345"  # the throwaway loopback instance's admin (../shared/real-mautic)


@dataclass
class SizeRow:
    """One size: records/s of the three readers."""

    contacts: int
    sequential: float
    sliced: float
    tap: float

    @property
    def tap_vs_sliced(self) -> float:
        return self.tap / self.sliced if self.sliced else 0.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks.real", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3000,10000", help="contacts per measurement, comma-separated")
    parser.add_argument("--slices", type=int, default=4, help="slices of the raw sliced loop")
    parser.add_argument("--write", action="store_true", help="also write the table to benchmarks/results.md")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be integers separated by commas (got {args.sizes!r})")
    if not args.sizes or min(args.sizes) < 1 or args.slices < 1:
        parser.error("--sizes and --slices must be positive")
    return args


def format_table(rows: list[SizeRow], slices: int) -> str:
    """The Markdown table of one run: records/s of each reader and the tap's ratio to the sliced loop."""
    lines = [f"| contacts | sequential loop | {slices}-slice loop | tap (process, defaults) | tap / sliced |",
             "|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.contacts:,} | {r.sequential:.0f}/s | {r.sliced:.0f}/s | {r.tap:.0f}/s | "
              f"{r.tap_vs_sliced:.2f}x |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    cpus = os.cpu_count() or 0
    load = os.getloadavg()[0]
    return f"{platform.machine()}, {cpus} cores, Python {platform.python_version()}, load {load:.1f}"


def seed(n: int) -> None:
    """The fresh install, then ``n`` identified contacts inserted in the instance's MariaDB."""
    import pymysql  # only this opt-in benchmark and tests/real need it

    subprocess.run([str(REPO / "scripts" / "real_mautic.sh"), "reset"], check=True, capture_output=True)
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="mautic", password="mauticdbpass",
                           database=os.environ["MAUTIC_REAL_DB"], autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO leads (is_published, date_added, date_modified, date_identified, points, "
                "firstname, lastname, email, city) SELECT 1, NOW(), NOW(), NOW(), 0, CONCAT('First', seq), "
                "CONCAT('Last', seq), CONCAT('bench', seq, '@example.org'), CONCAT('City ', seq % 7) "
                f"FROM seq_1_to_{int(n)}")
    finally:
        conn.close()


def contacts_catalog(config_path: Path, out: Path) -> None:
    """A catalog from ``--discover`` (not timed) with only the contacts stream selected."""
    found = subprocess.run([sys.executable, "-m", "tap_mautic", "--config", str(config_path), "--discover"],
                           check=True, capture_output=True, text=True).stdout
    catalog: dict[str, Any] = json.loads(found)
    for stream in catalog["streams"]:
        for entry in stream.get("metadata", []):
            if entry.get("breadcrumb") == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "contacts"
    out.write_text(json.dumps(catalog))


def tap_process(config_path: Path, catalog: Path) -> tuple[int, float]:
    """Records emitted and seconds of one whole ``python -m tap_mautic`` run."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tap_mautic", "--config", str(config_path),
                           "--catalog", str(catalog)], check=True, capture_output=True)
    seconds = time.perf_counter() - began
    return sum(1 for line in done.stdout.splitlines() if line.startswith(b'{"type":"RECORD"')), seconds


def measure(n: int, url: str, slices: int) -> SizeRow:
    seed(n)
    seq = rawloop.sequential(url, USER, PASSWORD)
    sli = rawloop.sliced(url, USER, PASSWORD, slices)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps({"base_url": url, "username": USER, "password": PASSWORD}))
        catalog = Path(tmp) / "catalog.json"
        contacts_catalog(config, catalog)
        records, seconds = tap_process(config, catalog)
    if records != n or seq.records != n or sli.records != n:
        raise SystemExit(f"bench-real: read {records} (tap), {seq.records}, {sli.records} of {n} contacts")
    return SizeRow(n, seq.records_per_s, sli.records_per_s, records / seconds)


def write(table: str, described: str) -> None:
    """The section of results.md under HEADING replaced (the simulator's sections kept)."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    head, _, rest = text.partition(HEADING)
    tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
    RESULTS.write_text(f"{head.rstrip()}\n\n{HEADING}\n\n{described}\n\n{table}\n{tail}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    url = os.environ.get("MAUTIC_REAL_URL")
    if not url or not os.environ.get("MAUTIC_REAL_DB"):
        raise SystemExit('bench-real: no real Mautic named: eval "$(scripts/real_mautic.sh env)" first')
    rows = [measure(n, url.rstrip("/"), args.slices) for n in args.sizes]
    table = format_table(rows, args.slices)
    described = (f"{time.strftime('%Y-%m-%d', time.gmtime())}, Mautic 5.1.0 on `php -S` with 2 PHP workers "
                 f"and MariaDB 10.11 on loopback; {machine()} (shared with other work: compare the columns "
                 "of one row, never absolute figures).")
    print(described)
    print(table)
    if args.write:
        write(table, described)


if __name__ == "__main__":
    main()
