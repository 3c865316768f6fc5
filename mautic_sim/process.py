"""The simulator as its own process: what the demo and the benchmarks start.

Why: a simulator in the caller's process shares the GIL with the client being measured, so the client's
time includes the server's work and the server cannot run while the client parses. ``mautic-sim`` in its own
process (``python -m mautic_sim.cli --port 0``) is to the client what a real Mautic is: another program.
Requests are counted from its per-request log lines (stderr, kept in a file); its last line says how many
requests it had in a worker slot at once (``--workers``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SUMMARY = re.compile(r"mautic-sim: served (\d+) requests, at most (\d+) at once, at most (\d+) waiting")
OVER_BUDGET = re.compile(r"(\d+) over the per-second budget")


class SimProcess:
    """``mautic-sim`` in a child process; a context manager that yields once its URL is printed."""

    username = "admin"
    password = "mautic"

    def __init__(self, contacts: int = 100, seed: int = 42, latency_ms: int = 0, workers: int = 0,
                 row_ms: float = 0.0, db: str | None = None, processes: int = 1,
                 latency_per_inflight_ms: float = 0.0, rate_per_second: int = 0,
                 rate_retry_after: int = 1) -> None:
        self.args = ["--port", "0", "--contacts", str(contacts), "--seed", str(seed),
                     "--latency-ms", str(latency_ms), "--workers", str(workers), "--row-ms", str(row_ms),
                     "--processes", str(processes), "--latency-per-inflight-ms", str(latency_per_inflight_ms),
                     "--rate-per-second", str(rate_per_second), "--rate-retry-after", str(rate_retry_after),
                     *(["--db", db] if db else []),
                     "--username", self.username, "--password", self.password]
        self.url = ""
        self.start_s = 0.0  # process start to ready: interpreter, imports, schema, seeding
        self.summary: dict[str, int] = {}
        self._proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def __enter__(self) -> SimProcess:
        self._log = tempfile.NamedTemporaryFile("w+", prefix="mautic-sim-", suffix=".log")
        began = time.perf_counter()
        self._proc = subprocess.Popen([sys.executable, "-m", "mautic_sim.cli", *self.args],
                                      stdout=subprocess.PIPE, stderr=self._log, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.startswith("MAUTIC_SIM_URL="):
            self.__exit__()
            raise RuntimeError(f"mautic-sim did not start: {self.log_lines()[-3:]}")
        self.start_s = time.perf_counter() - began
        self.url = line.split("=", 1)[1]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            for line in reversed(self.log_lines()):
                found = SUMMARY.search(line)
                if found:
                    served, in_flight, queued = (int(g) for g in found.groups())
                    self.summary = {"served": served, "max_in_flight": in_flight, "max_queued": queued}
                    over = OVER_BUDGET.search(line)
                    if over:
                        self.summary["over_budget"] = int(over.group(1))
                    break
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def pid(self) -> int:
        """The simulator's process id (0 when not running), to read its CPU time."""
        return self._proc.pid if self._proc is not None else 0

    def log_lines(self) -> list[str]:
        if self._log is None:
            return []
        return Path(self._log.name).read_text().splitlines()

    def requests(self, path: str | None = None, method: str | None = None, status: int | None = None) -> int:
        """Requests served so far (optionally only to ``path``, without query, with ``method`` or answered
        ``status``)."""
        n = 0
        for line in self.log_lines():
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[0] not in METHODS:
                continue
            if status is not None and parts[2] != str(status):
                continue
            if method and parts[0] != method:
                continue
            if path and parts[1].partition("?")[0] != path:
                continue
            n += 1
        return n

    def config(self, **settings: Any) -> dict[str, Any]:
        """A tap's or target's config for this simulator."""
        return {"base_url": self.url, "username": self.username, "password": self.password, **settings}
