"""tap-mautic contacts sync at several page sizes: records/s and requests, side by side.

Why: ``page_size`` is the tap's main performance knob (Mautic hydrates every contact of a page, and each
request has a fixed cost), and its default must come from a measurement. Run::

    .venv/bin/python -m benchmarks.bench_tap [--contacts 20000] [--latency-ms 0] [--sizes 30,100,200,500]
                                             [--repeat 2] [--workers 0]

The simulator runs as its own process on loopback; ``--latency-ms`` adds a per-request delay to mimic a
remote Mautic (where the fixed cost per request dominates), ``--workers`` limits the requests it serves at
once.
"""

from __future__ import annotations

import argparse
import logging

from benchmarks.throughput import tap_on
from mautic_sim.process import SimProcess


def run_once(sim: SimProcess, page_size: int) -> tuple[int, int, float]:
    """One contacts sync: records, list requests, seconds."""
    run = tap_on(sim, page_size=page_size)
    return run.records, run.list_requests, run.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--sizes", default="30,100,200,500")
    parser.add_argument("--repeat", type=int, default=2, help="runs per page size; the fastest counts")
    parser.add_argument("--workers", type=int, default=0, help="simulator workers (0 = no limit)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",")]
    with SimProcess(contacts=args.contacts, seed=1, latency_ms=args.latency_ms, workers=args.workers) as sim:
        rows = []
        for size in sizes:
            runs = [run_once(sim, size) for _ in range(max(1, args.repeat))]
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
