"""P3's ceiling on this machine: the target's two P3 runs against a server whose app costs no CPU.

Why: P3 (``benchmarks.throughput.measure_p3``) compares 10,000 upserts at one lane and at the default lanes
with 200 ms of latency. Its ratio depends on the simulator's CPU per batch and on the target's own. This
script takes the simulator's CPU out: it records every answer of one run on an in-process simulator, then
serves those answers again (looked up by method, path, query and body) from a child process that has the
simulator's HTTP layer and latency but no app work. What the two runs reach there is what the target allows;
no simulator, however fast, gives more on the same machine.

Run::

    .venv/bin/python -m benchmarks.canned_server [--upserts 10000] [--latency-ms 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import bench_target
from benchmarks.throughput import contact_records, setting_default
from mautic_sim import Simulator
from mautic_sim.messages import Request, Response
from mautic_sim.server import Faults, SimServer
from mautic_sim.versions import get_version
from target_mautic.target import TargetMautic

Key = tuple[str, str, str, str]


def _key(req: Request) -> Key:
    return req.method, req.path, req.query_string, hashlib.sha1(req.body or b"").hexdigest()


def record(upserts: int, path: Path) -> str:
    """One run at one lane on an in-process simulator (50 seeded contacts, as P3): its input and answers."""
    with Simulator(contacts=50, seed=21) as sim:
        rows = sim.query("SELECT email FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 200")
        text = bench_target.singer("contacts", bench_target.CONTACT_SCHEMA,
                                   contact_records([r["email"] for r in rows], upserts))
        answers: dict[Key, tuple[Any, ...]] = {}
        app = sim.app

        def keep(req: Request) -> Response:
            resp = app.handle(req)
            answers[_key(req)] = (resp.status, resp.payload(), resp.headers, resp.version_header, resp.http10,
                                  resp.content_type)
            return resp

        assert sim._server is not None
        sim._server.run_app = keep
        with tempfile.TemporaryDirectory() as tmp:
            bench_target.listen(_config(sim.url, tmp, 1), text)
    path.write_bytes(pickle.dumps(answers))
    return text


class _Canned:
    """The app of the canned server: a recorded answer, or a 500 for a request the recording lacks."""

    version = get_version("5.1")

    def __init__(self, answers: dict[Key, tuple[Any, ...]]) -> None:
        self.answers = answers

    def handle(self, req: Request) -> Response:
        found = self.answers.get(_key(req))
        if found is None:
            return Response(500, {"errors": [{"code": 500, "message": "not in the recording"}]})
        status, payload, headers, version_header, http10, content_type = found
        return Response(status, payload, headers, version_header=version_header, http10=http10,
                        content_type=content_type)


def serve(path: Path, latency_ms: int) -> None:
    """The child process: the simulator's HTTP server and latency over the recorded answers."""
    srv = SimServer(("127.0.0.1", 0), _Canned(pickle.loads(path.read_bytes())),  # type: ignore[arg-type]
                    latency_ms=latency_ms, faults=Faults(), log=lambda line: None)
    print(f"URL=http://127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


def _config(url: str, tmp: str, concurrency: int | None) -> dict[str, Any]:
    config: dict[str, Any] = {"base_url": url, "username": "admin", "password": "mautic",
                              "results_path": str(Path(tmp) / "results.jsonl"), "compare_before_write": False}
    if concurrency is not None:
        config["max_concurrency"] = concurrency
    return config


def timed_run(path: Path, text: str, latency_ms: int, concurrency: int | None) -> float:
    """Seconds of one target run against a fresh canned server."""
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.canned_server", "--serve", str(path),
                              "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip().split("=", 1)[1]
        with tempfile.TemporaryDirectory() as tmp:
            seconds, outcomes = bench_target.listen(_config(url, tmp, concurrency), text)
        if set(outcomes) - {"created", "updated"}:
            raise SystemExit(f"canned server: unexpected outcomes {dict(outcomes)}")
        return seconds
    finally:
        child.terminate()
        child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upserts", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.latency_ms)
        return 0
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.pickle"
        text = record(args.upserts, path)
        one, default = [], []
        for _ in range(args.runs):
            one.append(timed_run(path, text, args.latency_ms, 1))
            default.append(timed_run(path, text, args.latency_ms, None))
    a, b = statistics.median(one), statistics.median(default)
    print(f"{args.upserts:,} upserts, latency {args.latency_ms} ms, server without app CPU, median of "
          f"{args.runs}: 1 lane {a:.1f} s, default ({setting_default(TargetMautic)}) {b:.1f} s: {a / b:.2f}x "
          f"(runs {', '.join(f'{x:.1f}' for x in one)} / {', '.join(f'{x:.1f}' for x in default)}; "
          f"load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
