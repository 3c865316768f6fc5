# ruff: noqa: E501
"""Simulator benchmark: seed time for N contacts and the rate of 200-contact pages served over HTTP.

Usage: python -m benchmarks.bench_sim [--contacts 100000] [--pages 50] [--minimal]
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
from base64 import b64encode

from mautic_sim import Simulator


def measure(contacts: int, pages: int, limit: int = 200, minimal: bool = False) -> dict[str, float]:
    """Seed a simulator, then read ``pages`` keyset pages over raw HTTP; the figures ``main`` prints."""
    t0 = time.perf_counter()
    sim = Simulator(contacts=contacts, seed=42)
    seed_s = time.perf_counter() - t0
    sim.start()
    try:
        auth = "Basic " + b64encode(b"admin:mautic").decode()
        conn = http.client.HTTPConnection(sim.host, sim.port, timeout=60)
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
    finally:
        sim.stop()
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
    print(f"seed: {args.contacts} contacts in {seed_s:.1f} s")
    print(f"pages: {pages:.0f} x {args.limit} contacts{' (minimal)' if args.minimal else ''} in {elapsed:.2f} s "
          f"= {pages / elapsed:.1f} pages/s, {records / elapsed:.0f} contacts/s, {nbytes / elapsed / 1e6:.1f} MB/s")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
