"""Issue 9's figures P1-P3: tap and target against what the server allows, with the simulator as a process.

- P1: tap-mautic contacts sync against the sequential raw keyset loop, no latency, tap at concurrency 1.
- P2: tap-mautic at its default settings against the sequential and the N-slice raw keyset loops, on a
  simulator with latency and N workers (a real Mautic: slow pages, a few PHP workers).
- P3: 10,000 contact upserts with latency: HTTP calls and wall time at concurrency 1 and at the target's
  default ``max_concurrency`` (n/a while the target has no such setting).

The tap and target run in this process (as singer-sdk's test helpers run them); the simulator never does.
"""

from __future__ import annotations

import contextlib
import functools
import io
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from benchmarks import bench_target, rawloop
from benchmarks.simproc import RECORD_PREFIXES
from mautic_sim.process import SimProcess
from tap_mautic.tap import TapMautic
from target_mautic.target import TargetMautic

CONCURRENCY = "max_concurrency"  # the setting issue 9 adds to the tap and the target


def setting_default(plugin: type[TapMautic] | type[TargetMautic], name: str = CONCURRENCY) -> Any:
    """The default of a setting, or None when the plugin has no such setting (yet)."""
    prop = plugin.config_jsonschema.get("properties", {}).get(name)
    if prop is None:
        return None
    return prop.get("default", "unset")


def with_concurrency(plugin: type[TapMautic] | type[TargetMautic], value: int) -> dict[str, Any]:
    """``{"max_concurrency": value}`` where the plugin has the setting, else nothing (it is sequential)."""
    return {CONCURRENCY: value} if setting_default(plugin) is not None else {}


@dataclass
class TapRun:
    records: int
    list_requests: int
    seconds: float
    max_in_flight: int = 0

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@contextlib.contextmanager
def singer_stdout() -> Iterator[io.BytesIO]:
    """stdout redirected to bytes, read once the block ends: tap-mautic's msgspec writer writes to
    ``sys.stdout.buffer``, which a ``StringIO`` does not have."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    try:
        with contextlib.redirect_stdout(out):
            yield raw
    finally:
        out.flush()
        out.detach()  # leaves ``raw`` open for the caller


def contacts_output(config: dict[str, Any], state: dict[str, Any] | None = None) -> tuple[bytes, float]:
    """One in-process tap-mautic sync of the contacts stream only: its Singer output, seconds."""
    tap = TapMautic(config=config, state=state, parse_env_config=False)
    for name, stream in tap.streams.items():
        stream.selected = name == "contacts"
    began = time.perf_counter()
    with singer_stdout() as buf:
        tap.sync_all()
    return buf.getvalue(), time.perf_counter() - began


def sync_contacts(config: dict[str, Any]) -> tuple[int, float]:
    """One in-process tap-mautic sync of the contacts stream: records emitted, seconds."""
    output, seconds = contacts_output(config)
    records = sum(1 for line in output.splitlines() if line.startswith(RECORD_PREFIXES))
    return records, seconds


def tap_on(sim: SimProcess, **settings: Any) -> TapRun:
    before = sim.requests("/api/contacts")
    records, seconds = sync_contacts(sim.config(**settings))
    return TapRun(records, sim.requests("/api/contacts") - before, seconds)


@dataclass
class P1:
    """Tap against the sequential raw loop on one simulator (best of ``repeat`` runs each)."""

    contacts: int
    start_s: float
    raw: rawloop.RawRead
    tap: TapRun
    tap_settings: dict[str, Any]

    @property
    def ratio(self) -> float:
        return self.tap.records_per_s / self.raw.records_per_s


def measure_p1(contacts: int, repeat: int = 2) -> P1:
    settings = with_concurrency(TapMautic, 1)
    with SimProcess(contacts=contacts, seed=1) as sim:
        raws, taps = [], []
        for _ in range(max(1, repeat)):  # alternate, so a busy moment of the machine hits both
            raws.append(rawloop.sequential(sim.url, sim.username, sim.password))
            taps.append(tap_on(sim, **settings))
    raw = min(raws, key=lambda r: r.seconds)
    tap = min(taps, key=lambda r: r.seconds)
    return P1(contacts, sim.start_s, raw, tap, settings)


@dataclass
class P2:
    """Tap at default settings, sequential loop and N-slice loop, each on a fresh simulator with latency."""

    contacts: int
    latency_ms: int
    workers: int
    slices: int
    tap_default: Any
    tap: TapRun
    sequential: rawloop.RawRead
    sliced: rawloop.RawRead
    in_flight: dict[str, int] = field(default_factory=dict)  # max requests the server had at once, per reader

    @property
    def vs_sequential(self) -> float:
        """Tap time / sequential loop time (goal <= 0.3)."""
        return self.tap.seconds / self.sequential.seconds

    @property
    def vs_sliced(self) -> float:
        """Tap rate / N-slice loop rate (goal >= 0.85)."""
        return self.tap.records_per_s / self.sliced.records_per_s


def measure_p2(contacts: int, latency_ms: int = 200, workers: int = 4, slices: int = 4) -> P2:
    knobs = functools.partial(SimProcess, contacts=contacts, seed=1, latency_ms=latency_ms, workers=workers)
    in_flight: dict[str, int] = {}
    with knobs() as sim:
        tap = tap_on(sim)
    in_flight["tap"] = sim.summary.get("max_in_flight", 0)
    with knobs() as sim:
        seq = rawloop.sequential(sim.url, sim.username, sim.password)
    in_flight["sequential"] = sim.summary.get("max_in_flight", 0)
    with knobs() as sim:
        sli = rawloop.sliced(sim.url, sim.username, sim.password, slices)
    in_flight["sliced"] = sim.summary.get("max_in_flight", 0)
    return P2(contacts, latency_ms, workers, slices, setting_default(TapMautic), tap, seq, sli, in_flight)


def existing_emails(sim: SimProcess, limit: int = 200) -> list[str]:
    """Emails of the simulator's seeded contacts, in id order (so every target run gets the same input)."""
    body = requests.get(f"{sim.url}/api/contacts", auth=(sim.username, sim.password), timeout=60,
                        params={"limit": str(limit), "orderBy": "id", "orderByDir": "ASC"}).json()
    contacts = body["contacts"].values() if isinstance(body["contacts"], dict) else body["contacts"]
    return [c["fields"]["all"]["email"] for c in contacts if c["fields"]["all"].get("email")]


def contact_records(existing: list[str], n: int) -> list[dict[str, Any]]:
    """The target's input: the simulator's existing emails first (updates), then new ones (creates)."""
    return [
        {
            "email": existing[i] if i < len(existing) else f"bench{i}@example.org",
            "firstname": f"Bench {i}",
            "plan": ("free", "pro", "enterprise")[i % 3],
            "is_vip": i % 7 == 0,
            "last_purchase_at": "2024-03-01T12:34:56+00:00",
        }
        for i in range(n)
    ]


@dataclass
class TargetRun:
    records: int
    http_calls: int
    seconds: float
    outcomes: dict[str, int]

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def upsert(sim: SimProcess, text: str, records: int, **settings: Any) -> TargetRun:
    """One in-process target-mautic run over ``text`` (Singer lines): calls counted by the simulator."""
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        before = sim.requests()
        # the write path is measured: compare before write (one more read per batch) is off unless asked for
        config = sim.config(results_path=str(results), **{"compare_before_write": False, **settings})
        seconds, outcomes = bench_target.listen(config, text)
    return TargetRun(records, sim.requests() - before, seconds, dict(outcomes))


def contacts_input(sim: SimProcess, n: int) -> str:
    records = contact_records(existing_emails(sim), n)
    return bench_target.singer("contacts", bench_target.CONTACT_SCHEMA, records)


@dataclass
class P3:
    upserts: int
    latency_ms: int
    target_default: Any
    processes: int  # the simulator's worker processes (PHP workers running in parallel)
    one: TargetRun
    default: TargetRun | None  # None: the target has no max_concurrency setting yet

    @property
    def speedup(self) -> float | None:
        """Concurrency-1 time / default time (goal >= 3)."""
        return self.one.seconds / self.default.seconds if self.default else None


def measure_p3(upserts: int, latency_ms: int = 200, processes: int = 4) -> P3:
    """Each run on a fresh simulator with the same 50 seeded contacts, so both get the same work; the
    simulator
    runs its app in ``processes`` worker processes, as a PHP server runs its workers on their own cores."""
    knobs = functools.partial(SimProcess, contacts=50, seed=21, latency_ms=latency_ms, processes=processes)
    default = setting_default(TargetMautic)
    with knobs() as sim:
        one = upsert(sim, contacts_input(sim, upserts), upserts, **with_concurrency(TargetMautic, 1))
    at_default = None
    if default is not None:
        with knobs() as sim:
            at_default = upsert(sim, contacts_input(sim, upserts), upserts)
    return P3(upserts, latency_ms, default, processes, one, at_default)
