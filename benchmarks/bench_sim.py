"""Simulator benchmark: start time with N contacts and the rate of 200-contact pages served over HTTP.

The simulator runs as its own process (``mautic_sim/process.py``), so the reader does not share its GIL.

Usage: python -m benchmarks.bench_sim [--contacts 100000] [--pages 50] [--minimal]
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
from base64 import b64encode

from mautic_sim.process import SimProcess


def measure(contacts: int, pages: int, limit: int = 200, minimal: bool = False) -> dict[str, float]:
    """Start a seeded simulator process, then read ``pages`` keyset pages over raw HTTP; the figures ``main``
    prints (``seed_s``: process start to ready, seeding included)."""
    with SimProcess(contacts=contacts, seed=42) as sim:
        seed_s = sim.start_s
        auth = "Basic " + b64encode(b"admin:mautic").decode()
        host, port = sim.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        last_id, records, nbytes = 0, 0, 0
        t1 = time.perf_counter()
        for _ in range(pages):
            q = (f"/api/contacts?limit={limit}&orderBy=id&orderByDir=ASC&where[0][col]=id&where[0][expr]=gt"
                 f"&where[0][val]={last_id}" + ("&minimal=true" if minimal else ""))
            conn.request("GET", q, headers={"Authorization": auth, "Accept": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
            nbytes += len(raw)
            page = json.loads(raw)["contacts"]
            if not page:
                break
            records += len(page)
            last_id = max(int(k) for k in page)
        elapsed = time.perf_counter() - t1
        conn.close()
    return {"seed_s": seed_s, "pages": records / limit, "records": records, "elapsed": elapsed, "nbytes": nbytes}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--pages", type=int, default=50)
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--minimal", action="store_true")
    args = p.parse_args(argv)
    m = measure(args.contacts, args.pages, args.limit, args.minimal)
    seed_s, pages, records, elapsed, nbytes = m["seed_s"], m["pages"], m["records"], m["elapsed"], m["nbytes"]
    print(f"start (seeding included): {args.contacts} contacts in {seed_s:.1f} s")
    print(f"pages: {pages:.0f} x {args.limit} contacts{' (minimal)' if args.minimal else ''} in {elapsed:.2f} s "
          f"= {pages / elapsed:.1f} pages/s, {records / elapsed:.0f} contacts/s, {nbytes / elapsed / 1e6:.1f} MB/s")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
