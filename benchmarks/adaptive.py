"""Row (g): adaptive concurrency against the best fixed setting, on a simulator whose latency rises with the
requests in flight and which answers 429 beyond a per-second budget (issue 23, point 4).

Why this simulator: with a latency that grows with concurrency alone, more concurrency always reads faster
(throughput n / (base + k * (n - 1)) keeps rising), so the best fixed setting is the ceiling; with a budget
of calls per second, the settings that exceed it are answered 429 (Retry-After: 1) and lose a second per
refusal. The best fixed setting sits between the two, and an adaptive run has to find it without being
told. Reads: the tap's contacts sync (concurrent id-range slices); writes: the target's contact upserts
(batch lanes). Each setting runs ``runs`` times, the settings alternated so a busy moment of the machine
hits them all; the median run counts. Lost = records the run should have delivered and did not.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks import bench_target
from benchmarks.simproc import RECORD_PREFIXES
from benchmarks.throughput import contact_records, existing_emails, singer_stdout
from mautic_api.client import MauticClient
from mautic_api.concurrency import ConcurrencyLimiter
from mautic_sim.process import SimProcess
from tap_mautic.tap import TapMautic

FIXED = (1, 2, 4, 8)
CEILING = 8  # max_concurrency of the adaptive runs
LATENCY_MS = 40  # the server's own latency per request
PER_INFLIGHT_MS = 15.0  # and this much more per other request in flight
BUDGET = 25  # API calls per second; beyond, 429
RETRY_AFTER = 1  # seconds the 429 asks for (what the simulator sends by default)
PAGE_SIZE = 100  # the tap's page size: many requests per run, so the limit has calls to learn from
BATCH_SIZE = 50  # the target's batch size, for the same reason


@dataclass
class Run:
    """One run: records delivered (reads) or written (writes), seconds, 429s, the limiter's changes."""

    records: int
    seconds: float
    refused: int
    changes: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@dataclass
class Setting:
    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> Run:
        ordered = sorted(self.runs, key=lambda r: r.seconds)
        return ordered[len(ordered) // 2]


@dataclass
class Side:
    """Reads or writes: every setting's runs, the records each run had to deliver."""

    what: str
    expected: int
    settings: list[Setting]

    def best_fixed(self) -> Setting:
        return max((s for s in self.settings if s.label != "adaptive"), key=lambda s: s.median.per_s)

    def adaptive(self) -> Setting:
        return next(s for s in self.settings if s.label == "adaptive")

    @property
    def ratio(self) -> float:
        """Adaptive throughput / best fixed throughput (medians; goal >= 0.85)."""
        return self.adaptive().median.per_s / self.best_fixed().median.per_s

    @property
    def lost(self) -> int:
        return max(self.expected - min(r.records for s in self.settings for r in s.runs), 0)


@dataclass
class Adaptive:
    contacts: int
    upserts: int
    runs: int
    reads: Side
    writes: Side


def sim_knobs(contacts: int, seed: int) -> dict[str, Any]:
    return {"contacts": contacts, "seed": seed, "latency_ms": LATENCY_MS,
            "latency_per_inflight_ms": PER_INFLIGHT_MS, "rate_per_second": BUDGET,
            "rate_retry_after": RETRY_AFTER}


def modes() -> list[tuple[str, dict[str, Any]]]:
    fixed = [(str(n), {"max_concurrency": n, "concurrency_mode": "fixed"}) for n in FIXED]
    return [*fixed, ("adaptive", {"max_concurrency": CEILING, "concurrency_mode": "adaptive"})]


@contextlib.contextmanager
def limiters() -> Iterator[list[ConcurrencyLimiter]]:
    """The limiters of the clients built in the block (a run's client is closed, and dropped, at its end)."""
    seen: list[ConcurrencyLimiter] = []
    built = MauticClient.__init__

    def init(self: MauticClient, *args: Any, **kwargs: Any) -> None:
        built(self, *args, **kwargs)
        limiter = getattr(self.session, "limiter", None)
        if limiter is not None:
            seen.append(limiter)

    with mock.patch.object(MauticClient, "__init__", init):
        yield seen


def changes_of(seen: list[ConcurrencyLimiter]) -> list[str]:
    """The limit's changes of a finished run ("4->2"; none in fixed mode)."""
    return [f"{c.old}->{c.new}" for limiter in seen for c in limiter.changes]


def read_once(sim: SimProcess, knobs: dict[str, Any]) -> Run:
    """One in-process contacts sync: distinct record ids delivered, seconds, 429s, the limit's changes."""
    with limiters() as seen:
        tap = TapMautic(config=sim.config(page_size=PAGE_SIZE, **knobs), parse_env_config=False)
        for name, stream in tap.streams.items():
            stream.selected = name == "contacts"
        before = sim.requests(status=429)
        began = time.perf_counter()
        with singer_stdout() as buf:
            tap.sync_all()
        seconds = time.perf_counter() - began
    ids = {line.split(b'"id":', 1)[1].split(b",", 1)[0]
           for line in buf.getvalue().splitlines() if line.startswith(RECORD_PREFIXES)}
    return Run(len(ids), seconds, sim.requests(status=429) - before, changes_of(seen))


def measure_reads(contacts: int, runs: int) -> Side:
    settings = [Setting(label) for label, _ in modes()]
    with SimProcess(**sim_knobs(contacts, 5)) as sim:
        for _ in range(runs):
            for setting, (_, knobs) in zip(settings, modes(), strict=True):
                setting.runs.append(read_once(sim, knobs))
    return Side("reads", contacts, settings)


def write_once(sim: SimProcess, text: str, knobs: dict[str, Any]) -> Run:
    """One in-process target run: records with a written outcome (created/updated), seconds, the changes."""
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        config = sim.config(results_path=str(results), compare_before_write=False, batch_size=BATCH_SIZE,
                            **knobs)
        with limiters() as seen:
            seconds, outcomes = bench_target.listen(config, text)
    return Run(outcomes["created"] + outcomes["updated"], seconds, 0, changes_of(seen))


def measure_writes(upserts: int, runs: int) -> Side:
    settings = [Setting(label) for label, _ in modes()]
    for _ in range(runs):
        for setting, (_, knobs) in zip(settings, modes(), strict=True):
            with SimProcess(**sim_knobs(50, 21)) as sim:  # each on a fresh simulator: the same work
                text = bench_target.singer("contacts", bench_target.CONTACT_SCHEMA,
                                           contact_records(existing_emails(sim), upserts))
                before = sim.requests(status=429)
                run = write_once(sim, text, knobs)
                run.refused = sim.requests(status=429) - before
                setting.runs.append(run)
    return Side("writes", upserts, settings)


def measure_adaptive(contacts: int, upserts: int, runs: int = 3) -> Adaptive:
    return Adaptive(contacts, upserts, runs, measure_reads(contacts, runs), measure_writes(upserts, runs))


def describe() -> str:
    return (f"simulator process with --latency-ms {LATENCY_MS} --latency-per-inflight-ms {PER_INFLIGHT_MS:g} "
            f"--rate-per-second {BUDGET} --rate-retry-after {RETRY_AFTER} (429 with Retry-After beyond)")


__all__ = ["Adaptive", "Run", "Setting", "Side", "describe", "measure_adaptive", "measure_reads",
           "measure_writes"]
