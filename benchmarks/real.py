"""``make bench-real``: the tap against the raw keyset loops on a real Mautic 5.1.0 (opt-in, never in CI).

Why: the simulator's latency model says what the tap could reach; only a real server (PHP workers, MariaDB)
says what it does. For each size the instance is reset, seeded straight through its MariaDB (``leads`` rows,
seconds instead of minutes through the API), then read by the sequential raw loop, the 4-slice raw loop
(``benchmarks/rawloop.py``) and the tap as a whole process at its defaults (``python -m tap_mautic`` with a
catalog selecting contacts: start-up, discovery and sync all count). Then the target's upserts of
``--upserts`` contacts matched by email, in-process (``benchmarks.bench_target.listen``) on a freshly reset
instance, at one lane (``max_concurrency: 1``, ``concurrency_mode: fixed``) and at its defaults: new (all
created), the same with one field changed (all updated), the same again (all unchanged by compare before
write, no write call).
Ratios are of one run on one machine.
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
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mautic_api.client
from benchmarks import rawloop
from benchmarks.bench_target import listen, singer

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


# the three upsert steps: the outcome each of the N records must get
STEPS = (("new", "created"), ("changed", "updated"), ("unchanged", "unchanged"))
# fields every Mautic has (the simulator's bench schema adds custom ones a fresh install lacks)
UPSERT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"email": {"type": "string"},
                                                                   "firstname": {"type": "string"}}}
ONE_LANE: dict[str, Any] = {"max_concurrency": 1, "concurrency_mode": "fixed"}


@dataclass
class UpsertRun:
    """One target run: records/s, the write calls it sent and the outcomes it reported."""

    records: int
    seconds: float
    writes: int
    outcomes: Counter[str]

    @property
    def per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@dataclass
class UpsertRow:
    """One step of the upserts: the one-lane run and the run at the target's defaults."""

    contacts: int
    step: str
    expected: str
    one_lane: UpsertRun
    default: UpsertRun

    @property
    def ratio(self) -> float:
        return self.default.per_s / self.one_lane.per_s if self.one_lane.per_s else 0.0

    @property
    def check(self) -> str:
        """``all N <outcome>`` (and no write call when unchanged), else what each run reported."""
        problems = []
        for label, run in (("1 lane", self.one_lane), ("default", self.default)):
            if run.outcomes != Counter({self.expected: self.contacts}):
                got = ", ".join(f"{v} {k}" for k, v in sorted(run.outcomes.items())) or "nothing"
                problems.append(f"{label}: {got}")
            if self.expected == "unchanged" and run.writes:
                problems.append(f"{label}: {run.writes} write calls")
        return "; ".join(problems) if problems else f"all {self.contacts:,} {self.expected}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks.real", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3000,10000", help="contacts per measurement, comma-separated")
    parser.add_argument("--slices", type=int, default=4, help="slices of the raw sliced loop")
    parser.add_argument("--upserts", type=int, default=1000,
                        help="contacts the target upserts in each step (0: no target rows)")
    parser.add_argument("--write", action="store_true", help="also write the table to benchmarks/results.md")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be integers separated by commas (got {args.sizes!r})")
    if not args.sizes or min(args.sizes) < 1 or args.slices < 1:
        parser.error("--sizes and --slices must be positive")
    if args.upserts < 0:
        parser.error("--upserts must be 0 or more")
    return args


def format_table(rows: list[SizeRow], slices: int) -> str:
    """The Markdown table of one run: records/s of each reader and the tap's ratio to the sliced loop."""
    lines = [f"| contacts | sequential loop | {slices}-slice loop | tap (process, defaults) | tap / sliced |",
             "|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.contacts:,} | {r.sequential:.0f}/s | {r.sliced:.0f}/s | {r.tap:.0f}/s | "
              f"{r.tap_vs_sliced:.2f}x |" for r in rows]
    return "\n".join(lines)


def format_upserts(rows: list[UpsertRow]) -> str:
    """The Markdown table of the target's upserts: records/s at 1 lane and at the defaults, their ratio."""
    lines = ["| upserts | step | 1 lane | target defaults | defaults / 1 lane "
             "| write calls (1 lane, defaults) | outcomes |",
             "|---:|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r.contacts:,} | {r.step} | {r.one_lane.per_s:.0f}/s | {r.default.per_s:.0f}/s | "
              f"{r.ratio:.2f}x | {r.one_lane.writes}, {r.default.writes} | {r.check} |" for r in rows]
    return "\n".join(lines)


@contextmanager
def counting_writes() -> Iterator[Counter[str]]:
    """Count the HTTP calls other than GET that mautic_api sends meanwhile (a real server keeps no request
    log; this is how ``unchanged`` is shown to cost no write)."""
    calls: Counter[str] = Counter()
    lock = threading.Lock()
    module: Any = mautic_api.client  # the name the client sends through
    original = module.send

    def counted(session: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        if method.upper() != "GET":
            with lock:
                calls["write"] += 1
        return original(session, method, *args, **kwargs)

    module.send = counted
    try:
        yield calls
    finally:
        module.send = original


def upsert_input(n: int, step: str) -> str:
    """Singer input of ``n`` contacts matched by email; from ``changed`` on, each first name changed."""
    name = "First" if step == "new" else "Changed"
    records = [{"email": f"upsert{i}@example.org", "firstname": f"{name} {i}"} for i in range(n)]
    return singer("contacts", UPSERT_SCHEMA, records)


def upsert_runs(n: int, connection: dict[str, Any], settings: dict[str, Any]) -> list[UpsertRun]:
    """The three steps, in order, on an instance without those contacts, with the target ``settings``."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for step, _ in STEPS:
            config = {**connection, **settings, "results_path": str(Path(tmp) / f"{step}.jsonl")}
            with counting_writes() as calls:
                seconds, outcomes = listen(config, upsert_input(n, step))
            runs.append(UpsertRun(n, seconds, calls["write"], outcomes))
    return runs


def measure_upserts(n: int, connection: dict[str, Any], reset: Callable[[], None]) -> list[UpsertRow]:
    """One row per step: the steps at one lane on a fresh instance, then at the defaults on another."""
    reset()
    one_lane = upsert_runs(n, connection, ONE_LANE)
    reset()
    default = upsert_runs(n, connection, {})
    return [UpsertRow(n, step, expected, one, dflt)
            for (step, expected), one, dflt in zip(STEPS, one_lane, default, strict=True)]


def reset_real() -> None:
    """The real instance back to its fresh install."""
    subprocess.run([str(REPO / "scripts" / "real_mautic.sh"), "reset"], check=True, capture_output=True)


def machine() -> str:
    cpus = os.cpu_count() or 0
    load = os.getloadavg()[0]
    return f"{platform.machine()}, {cpus} cores, Python {platform.python_version()}, load {load:.1f}"


def seed(n: int) -> None:
    """The fresh install, then ``n`` identified contacts inserted in the instance's MariaDB."""
    import pymysql  # only this opt-in benchmark and tests/real need it

    reset_real()
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
    load_before = os.getloadavg()[0]
    rows = [measure(n, url.rstrip("/"), args.slices) for n in args.sizes]
    table = format_table(rows, args.slices)
    if args.upserts:
        connection = {"base_url": url.rstrip("/"), "username": USER, "password": PASSWORD}
        upserts = format_upserts(measure_upserts(args.upserts, connection, reset_real))
        table += ("\n\nThe target (in-process), contacts matched by email on a fresh install; 1 lane = "
                  "`max_concurrency: 1`, `concurrency_mode: fixed`; defaults = compare before write on, "
                  f"`max_concurrency` 4, adaptive:\n\n{upserts}")
    described = (f"{time.strftime('%Y-%m-%d', time.gmtime())}, Mautic 5.1.0 on `php -S` with 2 PHP workers "
                 f"and MariaDB 10.11 on loopback; {machine()} at the end, {load_before:.1f} at the start "
                 "(shared with other work: compare the columns "
                 "of one row, never absolute figures).")
    print(described)
    print(table)
    if args.write:
        write(table, described)


if __name__ == "__main__":
    main()
