"""Where tap-mautic's time goes: a pyinstrument profile of a contacts sync, no latency, concurrency 1.

Why: issue 9 asks for the tap at >= 0.9x a raw keyset loop over the same pages; cutting the overhead needs
to know what it is. The simulator runs as its own process, so its time shows up here only as waiting on
the socket. Prints (and with ``--write`` puts into the "Profile" section of ``benchmarks/results.md``) the
top frames by self time and the self time per package. Run::

    .venv/bin/python -m benchmarks.profile_tap [--contacts 20000] [--top 10] [--write]

Needs pyinstrument (in the dev extras).
"""

from __future__ import annotations

import argparse
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks import run
from benchmarks.throughput import sync_contacts, with_concurrency
from mautic_sim.process import SimProcess
from tap_mautic.tap import TapMautic

SITE = re.compile(r"site-packages/([^/]+)")
STDLIB = re.compile(r"lib/python3\.\d+/([^/]+)")


def package(path: str) -> str:
    """``singer_sdk``, ``requests``, ``json`` (stdlib), ``tap_mautic``, ... for a frame's file."""
    found = SITE.search(path)
    if found:
        return found.group(1).removesuffix(".py")
    for project in ("tap_mautic", "mautic_api", "benchmarks"):
        if f"/{project}/" in path or path.startswith(f"{project}/"):
            return project
    found = STDLIB.search(path)
    if found:
        return found.group(1).removesuffix(".py") + " (stdlib)"
    return path or "?"


Frames = Counter[tuple[str, str, int]]


OURS = ("tap_mautic", "mautic_api", "singer_sdk")


@dataclass
class Profile:
    """Self time per (function, file, line), self time per package (a built-in function counts for the
    package that called it), total time of the tap's and singer-sdk's functions (outermost call only),
    and the whole."""

    frames: Frames = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)
    inclusive: Frames = field(default_factory=Counter)
    total: float = 0.0


def self_times(root: Any) -> Profile:
    out = Profile(total=root.time)
    stack: list[tuple[Any, str, frozenset[tuple[str, str, int]]]] = [(root, "?", frozenset())]
    while stack:
        frame, caller, open_keys = stack.pop()
        path = frame.file_path or ""
        key = (frame.function, path, frame.line_no or 0)
        pkg = caller if not path or path.startswith("<built-in") else package(path)
        real = [c for c in frame.children if not c.is_synthetic_leaf]
        own = frame.time - sum(c.time for c in real)
        if own > 0:
            out.frames[key] += own
            out.packages[pkg] += own
        if pkg in OURS and key not in open_keys:  # recursion counted once
            out.inclusive[key] += frame.time
        stack.extend((c, pkg, open_keys | {key}) for c in real)
    return out


def profile(contacts: int) -> tuple[Profile, int]:
    from pyinstrument import Profiler

    with SimProcess(contacts=contacts, seed=1) as sim:
        config = sim.config(**with_concurrency(TapMautic, 1))
        sync_contacts(config)  # warm-up: imports, discovery caches
        profiler = Profiler(interval=0.0005)
        profiler.start()
        records, _ = sync_contacts(config)
        session = profiler.stop()
    return self_times(session.root_frame()), records


ROOT = Path(__file__).resolve().parents[1]


def short(path: str) -> str:
    """A frame's file relative to site-packages, the project (whatever its checkout is called) or Python."""
    for marker, prefix in (("site-packages/", ""), (f"{ROOT}/", ""), ("/lib/python3", "python3")):
        if marker in path:
            return prefix + path.split(marker, 1)[1]
    return path


def render(contacts: int, records: int, prof: Profile, top: int) -> str:
    frames, by_package, total = prof.frames, prof.packages, prof.total
    when = datetime.now(timezone.utc)
    lines = [
        run.PROFILE_HEADING,
        "",
        f"Date: {when:%Y-%m-%d %H:%M} UTC. Machine: {run.machine_note()}. Command: `python -m "
        f"benchmarks.profile_tap --contacts {contacts} --write` (pyinstrument, wall-clock sampling every "
        "0.5 ms, after one warm-up sync).",
        f"tap-mautic contacts sync of {records:,} records in-process, concurrency 1, no latency, simulator "
        f"as its own process (its work appears only as waiting in `socket.recv_into`); {total:.2f} s "
        "profiled.",
        "",
        f"Top {top} frames by self time:",
        "",
        "| % of total | self s | function | file:line |",
        "|---|---|---|---|",
    ]
    for (function, path, line), t in frames.most_common(top):
        lines.append(f"| {100 * t / total:.1f} % | {t:.2f} | `{function}` | {short(path)}:{line} |")
    lines += ["", "Self time per package (built-in functions count for the package that called them):", "",
              "| % of total | self s | package |", "|---|---|---|"]
    for name, t in by_package.most_common(12):
        lines.append(f"| {100 * t / total:.1f} % | {t:.2f} | {name} |")
    lines += ["", f"Top {top} functions of tap_mautic, mautic_api and singer_sdk by total time (callees "
              "included; the sync's own entry points, above 90 %, left out):", "",
              "| % of total | total s | function | file:line |", "|---|---|---|---|"]
    inner = [(k, t) for k, t in prof.inclusive.most_common() if t < 0.9 * total][:top]
    for (function, path, line), t in inner:
        lines.append(f"| {100 * t / total:.1f} % | {t:.2f} | `{function}` | {short(path)}:{line} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--write", action="store_true",
                        help=f"replace the '{run.PROFILE_HEADING}' section of {run.RESULTS}")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    prof, records = profile(args.contacts)
    text = render(args.contacts, records, prof, args.top)
    print(text)
    if args.write:
        run.replace_section(run.PROFILE_HEADING, text, run.RESULTS)  # later sections (a reading) stay
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
