"""Where P3's time goes: CPU seconds of the target and of the simulator beside the wall time of each run.

P3 asks whether batch calls in lanes hide Mautic's latency. Each call costs latency (``--latency-ms``, spent
in a worker, overlapped by lanes) and CPU on both sides: the target builds, sends and decodes batches; the
simulator parses, saves and answers them. The simulator is one Python process, so its concurrent requests take
turns on one core (the GIL), where a real Mautic's PHP workers run side by side; this machine has two cores
for both processes. This script measures, for 10,000 contact upserts:

- at concurrency 1 without latency: the CPU that lanes cannot hide;
- at concurrency 1 and at the default with latency: wall time, the target's CPU (its process, lane threads
  included) and the simulator's (its process, from /proc),

and derives the lower bound of the default run on this machine: the simulator's CPU (one core, serialized),
the target's CPU, and the latency divided among the lanes, whichever is largest; and what rounds of
concurrent calls cost when their server CPU takes turns on one core, or runs in parallel as on PHP-FPM.

Run::

    .venv/bin/python -m benchmarks.profile_target [--upserts 10000] [--latency-ms 200] [--write]

``--write`` replaces the "## P3: where the time goes" section of benchmarks/results.md (the rest stays).
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import run
from benchmarks.throughput import contacts_input, setting_default, upsert
from mautic_sim.process import SimProcess
from target_mautic.target import TargetMautic

HEADING = "## P3: where the time goes"


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Split:
    label: str
    concurrency: int
    latency_ms: int
    calls: int
    wall_s: float
    target_cpu_s: float
    sim_cpu_s: float


def measure(label: str, upserts: int, latency_ms: int, concurrency: int) -> Split:
    with SimProcess(contacts=50, seed=21, latency_ms=latency_ms) as sim:
        text = contacts_input(sim, upserts)
        sim_before, own_before = process_cpu(sim.pid), own_cpu()
        began = time.perf_counter()
        done = upsert(sim, text, upserts, max_concurrency=concurrency, compare_before_write=False)
        wall = time.perf_counter() - began
        sim_cpu, target_cpu = process_cpu(sim.pid) - sim_before, own_cpu() - own_before
    return Split(label, concurrency, latency_ms, done.http_calls, wall, target_cpu, sim_cpu)


def render(upserts: int, latency_ms: int, runs: list[Split]) -> str:
    cpu_only, one, default = runs
    latency_s = default.calls * latency_ms / 1000
    floor = max(default.sim_cpu_s, default.target_cpu_s, latency_s / default.concurrency)
    per_call = default.sim_cpu_s / max(1, default.calls)
    waves = -(-default.calls // default.concurrency)
    rounds = waves * (latency_ms / 1000 + default.concurrency * per_call)
    parallel = waves * (latency_ms / 1000 + per_call)
    lines = [
        HEADING, "",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: {run.machine_note()}. Command: "
        f"`python -m benchmarks.profile_target --upserts {upserts} --latency-ms {latency_ms} --write`. "
        f"{upserts:,} contact upserts in-process (50 seeded contacts, the rest created), the simulator as "
        "its own process; CPU seconds from the target's rusage (lane threads included) and the simulator's "
        "/proc stat.",
        "",
        "| run | calls | wall s | target CPU s | simulator CPU s |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r.label} | {r.calls} | {r.wall_s:.1f} | {r.target_cpu_s:.1f} | {r.sim_cpu_s:.1f} |"
              for r in runs]
    lines += [
        "",
        f"- Without latency, one call at a time takes {cpu_only.wall_s:.1f} s: that is CPU, not waiting "
        f"(target {cpu_only.target_cpu_s:.1f} s, simulator {cpu_only.sim_cpu_s:.1f} s, "
        f"{1000 * cpu_only.sim_cpu_s / max(1, cpu_only.calls):.0f} ms of simulator CPU a call). Lanes can "
        f"hide only the latency: {one.calls} calls x {latency_ms} ms = {latency_s:.1f} s of the "
        f"{one.wall_s:.1f} s at concurrency 1.",
        f"- At the default ({default.concurrency} lanes) the simulator's {default.sim_cpu_s:.1f} s of CPU "
        "take turns on one core (its threads share the GIL), the target's "
        f"{default.target_cpu_s:.1f} s run on the other, and the latency shared by {default.concurrency} "
        f"lanes is {latency_s / default.concurrency:.1f} s: with perfect overlap no run on this machine "
        f"could beat about {floor:.1f} s ({one.wall_s / floor:.1f}x); measured {default.wall_s:.1f} s "
        f"({one.wall_s / default.wall_s:.1f}x).",
        f"- Why not that floor: the lanes' calls arrive together (a drain starts every lane at once), wait "
        f"their latency together, then queue for the simulator's one core. Rounds of {default.concurrency} "
        f"calls each costing {latency_ms} ms + {default.concurrency} x {1000 * per_call:.0f} ms give "
        f"{rounds:.1f} s, close to the {default.wall_s:.1f} s measured.",
        f"- A real Mautic runs its PHP workers in parallel, on its own cores: the same rounds would cost "
        f"{latency_ms} ms + {1000 * per_call:.0f} ms each, {parallel:.1f} s in all, about "
        f"{one.wall_s / parallel:.1f}x faster than concurrency 1 (an estimate from these figures, not a "
        "measurement).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upserts", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--write", action="store_true",
                        help=f"replace the '{HEADING}' section of {run.RESULTS}")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    default = int(setting_default(TargetMautic))
    latency = args.latency_ms
    runs = [measure("concurrency 1, no latency", args.upserts, 0, 1),
            measure(f"concurrency 1, latency {latency} ms", args.upserts, latency, 1),
            measure(f"default ({default}), latency {latency} ms", args.upserts, latency, default)]
    text = render(args.upserts, args.latency_ms, runs)
    print(text)
    if args.write:
        run.replace_section(HEADING, text, run.RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
