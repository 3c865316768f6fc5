"""tap-mautic contacts sync at several page sizes: records/s and requests, side by side.

Why: ``page_size`` is the tap's main performance knob (Mautic hydrates every contact of a page, and each
request has a fixed cost), and its default must come from a measurement. Run::

    .venv/bin/python -m benchmarks.bench_tap [--contacts 20000] [--latency-ms 0] [--sizes 30,100,200,500]
                                             [--repeat 2]

The simulator runs in-process on loopback; ``--latency-ms`` adds a per-request delay to mimic a remote
Mautic (where the fixed cost per request dominates).
"""

from __future__ import annotations

import argparse
import io
import logging
import time
from contextlib import redirect_stdout

from mautic_sim import Simulator
from tap_mautic.tap import TapMautic


def run_once(url: str, page_size: int, sim: Simulator) -> tuple[int, int, float]:
    config = {"base_url": url, "username": "admin", "password": "mautic", "page_size": page_size}
    tap = TapMautic(config=config, parse_env_config=False)
    for name, stream in tap.streams.items():
        stream.selected = name == "contacts"
    sim.clear_log()
    buf = io.StringIO()
    start = time.perf_counter()
    with redirect_stdout(buf):
        tap.sync_all()
    elapsed = time.perf_counter() - start
    records = sum(1 for line in buf.getvalue().splitlines() if line.startswith('{"type":"RECORD"')
                  or line.startswith('{"type": "RECORD"'))
    requests_sent = sum(1 for e in sim.request_log if e["path"] == "/api/contacts")
    return records, requests_sent, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--sizes", default="30,100,200,500")
    parser.add_argument("--repeat", type=int, default=2, help="runs per page size; the fastest counts")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",")]
    with Simulator(contacts=args.contacts, seed=1, latency_ms=args.latency_ms) as sim:
        rows = []
        for size in sizes:
            runs = [run_once(sim.url, size, sim) for _ in range(max(1, args.repeat))]
            records, reqs, elapsed = min(runs, key=lambda r: r[2])
            rows.append((size, records, reqs, elapsed, records / elapsed))
    base = next((r for r in rows if r[0] == 200), rows[0])
    print(f"contacts={args.contacts} latency_ms={args.latency_ms}")
    print(f"{'page_size':>9} {'records':>8} {'requests':>8} {'seconds':>8} {'records/s':>10} "
          f"{'vs 200':>7} {'req vs 200':>10}")
    for size, records, reqs, elapsed, rate in rows:
        print(f"{size:>9} {records:>8} {reqs:>8} {elapsed:>8.2f} {rate:>10.0f} {rate / base[4]:>7.2f} "
              f"{reqs / base[2]:>10.2f}")


if __name__ == "__main__":
    main()
