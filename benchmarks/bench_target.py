"""Benchmark target-mautic: 10,000 contact upserts (and 1,000 companies) against the simulator.

Prints HTTP calls (counted by the simulator's request log) and records/s. The goal of issue 5 is at most 60
calls for 10,000 contacts, look-ups included. Run: ``python -m benchmarks.bench_target [--contacts N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mautic_sim import Simulator
from target_mautic.target import TargetMautic

CONTACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "email": {"type": "string"},
        "firstname": {"type": ["string", "null"]},
        "plan": {"type": ["string", "null"]},
        "is_vip": {"type": ["boolean", "null"]},
        "last_purchase_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
COMPANY_SCHEMA = {
    "type": "object",
    "properties": {"companyname": {"type": "string"}, "companycity": {"type": ["string", "null"]}},
}


def singer(stream: str, schema: dict, records: list[dict[str, Any]]) -> str:
    lines = [json.dumps({"type": "SCHEMA", "stream": stream, "key_properties": [], "schema": schema})]
    lines += [json.dumps({"type": "RECORD", "stream": stream, "record": r}) for r in records]
    lines.append(json.dumps({"type": "STATE", "value": {"bookmarks": {stream: {"n": len(records)}}}}))
    return "\n".join(lines) + "\n"


def listen(config: dict[str, Any], text: str) -> tuple[float, Counter[str]]:
    """One in-process target run over Singer ``text``: wall time and outcomes (read from ``results_path``)."""
    target = TargetMautic(config=config, parse_env_config=False)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        target.listen(io.StringIO(text))
    elapsed = time.perf_counter() - started
    lines = Path(config["results_path"]).read_text().splitlines()
    return elapsed, Counter(json.loads(line)["outcome"] for line in lines)


def run(sim: Simulator, text: str, label: str, count: int, **settings: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = {
            "base_url": sim.url,
            "username": sim.username,
            "password": sim.password,
            "results_path": str(Path(tmp) / "results.jsonl"),
            "compare_before_write": False,  # the write path is measured (compare adds one read per batch)
            **settings,
        }
        sim.clear_log()
        elapsed, outcomes = listen(config, text)
    calls = Counter(f"{r['method']} {r['path']}" for r in sim.request_log)
    figures = {
        "run": label,
        "records": count,
        "http_calls": sum(calls.values()),
        "seconds": round(elapsed, 2),
        "records_per_s": round(count / elapsed, 1),
        "outcomes": dict(outcomes),
        "calls": dict(calls),
    }
    print(json.dumps(figures))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--companies", type=int, default=1_000)
    args = parser.parse_args()
    with Simulator(contacts=50, seed=21) as sim:
        existing = [r["email"] for r in sim.query("SELECT email FROM leads WHERE email IS NOT NULL")]
        contacts = [
            {
                "email": existing[i] if i < len(existing) else f"bench{i}@example.org",
                "firstname": f"Bench {i}",
                "plan": ("free", "pro", "enterprise")[i % 3],
                "is_vip": i % 7 == 0,
                "last_purchase_at": "2024-03-01T12:34:56+00:00",
            }
            for i in range(args.contacts)
        ]
        first = run(sim, singer("contacts", CONTACT_SCHEMA, contacts), "contacts: first load", args.contacts)
        run(sim, singer("contacts", CONTACT_SCHEMA, contacts), "contacts: rerun (all updates)", args.contacts)
        by_id = sim.query("SELECT id, email FROM leads WHERE email IS NOT NULL ORDER BY id")
        round_trip = [{"id": r["id"], "email": r["email"], "firstname": f"RT {r['id']}"} for r in by_id]
        run(
            sim,
            singer(
                "contacts",
                CONTACT_SCHEMA | {"properties": {**CONTACT_SCHEMA["properties"], "id": {"type": "integer"}}},
                round_trip,
            ),
            "contacts: round trip with id + email",
            len(round_trip),
        )
        companies = [{"companyname": f"Bench Co {i}", "companycity": "Oslo"} for i in range(args.companies)]
        run(sim, singer("companies", COMPANY_SCHEMA, companies), "companies: first load", args.companies)
        run(sim, singer("companies", COMPANY_SCHEMA, companies), "companies: rerun", args.companies)
        goal = "met" if first["http_calls"] <= 60 else "MISSED"
        print(f"goal (<= 60 calls for {args.contacts} contacts): {goal} with {first['http_calls']} calls")


if __name__ == "__main__":
    main()
