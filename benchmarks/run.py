"""All benchmarks in one run, side by side with ratios and issue 9's goals (``make bench``).

The simulator runs as its own process (``mautic_sim/process.py``), as a real Mautic is to its clients,
except in (d), where it must change data from inside while the reader pages. Rows:

(a) the simulator: start with N contacts (process start to ready) and the rate of raw keyset pages of 200;
P1  tap-mautic contacts sync against the sequential raw keyset loop, no latency, tap at concurrency 1
    (this replaces the former row (b));
P2  tap-mautic at its default settings against the sequential raw keyset loop and an N-slice raw loop, on a
    simulator with ``--latency-ms 200 --workers 4`` (what a real Mautic with 4 PHP workers allows);
P3  10,000 contact upserts at ``--latency-ms 200``: calls and wall time at concurrency 1 and at the target's
    default ``max_concurrency`` (n/a while the target has no such setting);
(c) target-mautic: 10,000 contact upserts (HTTP calls, records/s) against the per-record pattern of today's
    warehouse-to-Mautic tools (``benchmarks/baselines.py``: look up by email, then create or PATCH);
(d) a contacts read while ~10 % of contacts change and new ones are created (``benchmarks/changes.py``):
    tap-mautic's keyset sync against OFFSET paging over Mautic's default order and ``orderBy=last_active``;
P4  peak RSS of the tap and the target as processes at 10,000 and 100,000 records, and its growth;
(e) contact merges (``benchmarks/merges.py``, in-process simulator): requests of an incremental run without
    merges with ``include_merges`` on and off (equal: no extra call), then per merged contact the extra
    requests, records (re-read event rows, tombstones) and seconds of the next run;
(f) reverse ETL reruns (``benchmarks/retl.py``) on a simulator with ``--row-ms`` (a written contact costs 3.8x
    a read one, as on a real 5.1.0): N contacts already in Mautic rerun unchanged with compare before write
    on and off, 1 % changed (on, off), and an audience of N with 1 % churn (mirror removals pending: measured
    as the upsert of the audience);
(g) adaptive concurrency (``benchmarks/adaptive.py``): on a simulator whose latency rises with the requests
    in flight and which answers 429 beyond a per-second budget, the tap's contacts read and the target's
    contact upserts at fixed 1, 2, 4, 8 and adaptive (ceiling 8), median of 3 runs each, side by side with
    the ratio adaptive / best fixed (goal: within 15 %) and the records lost (goal: 0).

Run::

    .venv/bin/python -m benchmarks.run [--quick] [--write] [--contacts 20000] [--p2-contacts 20000]
        [--p3-upserts 10000] [--target-contacts 10000] [--naive-contacts 5000] [--p4-sizes 10000,100000]
        [--retl-contacts 10000] [--row-ms 3] [--adaptive-contacts 20000] [--only f|g] ...

``--quick`` scales every size down (a check that each row is produced, in about a minute); ``--write``
also writes the table to ``benchmarks/results.md``, keeping its "Profile" section
(``benchmarks/profile_tap.py`` writes that one). ``--only f`` (or ``g``) measures that row alone; with
``--write`` it replaces only those rows of results.md's table and their note. Timings are for comparing the
columns of one run on one machine, never absolute promises.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import adaptive, bench_target
from benchmarks.baselines import per_record_upsert
from benchmarks.changes import ReadFigures, offset_under_changes, tap_under_changes
from benchmarks.memory import P4, measure_p4
from benchmarks.merges import MergeCost, measure_merges
from benchmarks.retl import ROW_MS, Retl, RetlRun, measure_retl
from benchmarks.throughput import (
    P1,
    P2,
    P3,
    TargetRun,
    contact_records,
    existing_emails,
    measure_p1,
    measure_p2,
    measure_p3,
    upsert,
)
from mautic_sim.process import SimProcess
from mautic_sim.server import WRITE_RATIO

RESULTS = Path(__file__).with_name("results.md")
PROFILE_HEADING = "## Profile"
RTT_MS = 50  # a remote Mautic: used only for the computed "time in round trips" row, never measured

# Sizes of a full run and of --quick; a flag given on the command line wins over both.
FULL = {"contacts": 20_000, "p2_contacts": 20_000, "p3_upserts": 10_000, "target_contacts": 10_000,
        "naive_contacts": 5_000, "p4_sizes": "10000,100000", "repeat": 2,
        "merge_contacts": 5_000, "merges": 500, "retl_contacts": 10_000, "adaptive_contacts": 20_000,
        "adaptive_upserts": 10_000, "adaptive_runs": 3}
QUICK = {"contacts": 600, "p2_contacts": 600, "p3_upserts": 300, "target_contacts": 200,
         "naive_contacts": 40, "p4_sizes": "300,1500", "repeat": 1,
         "merge_contacts": 300, "merges": 20, "retl_contacts": 300, "adaptive_contacts": 600,
         "adaptive_upserts": 300, "adaptive_runs": 1}

Row = tuple[str, str, str, str, str]  # figure, ours, baseline, ratio, issue-9 goal


def say(text: str) -> None:
    """Progress on stderr, so stdout carries the table only."""
    print(text, file=sys.stderr, flush=True)


def num(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "NOT met")


@dataclass
class Figures:
    """Everything one run measured."""

    p1: P1
    p2: P2
    p3: P3
    target: TargetRun
    naive: TargetRun
    reads: list[ReadFigures]
    p4: P4
    merges: MergeCost
    retl: Retl
    adaptive: adaptive.Adaptive


def measure_target(contacts: int, naive_contacts: int) -> tuple[TargetRun, TargetRun]:
    """(c): target-mautic and the per-record baseline, each on a fresh, identically seeded simulator."""
    say(f"(c) target-mautic: {contacts:,} contact upserts ...")
    with SimProcess(contacts=50, seed=21) as sim:
        records = contact_records(existing_emails(sim), contacts)
        ours = upsert(sim, bench_target.singer("contacts", bench_target.CONTACT_SCHEMA, records), contacts)
    say(f"(c) baseline: {naive_contacts:,} per-record upserts (look up by email, then POST or PATCH) ...")
    with SimProcess(contacts=50, seed=21) as sim:
        result = per_record_upsert(sim.url, sim.username, sim.password, records[:naive_contacts])
        naive = TargetRun(naive_contacts, sim.requests(), result.seconds, dict(result.outcomes))
    return ours, naive


def measure_changes(contacts: int, change_pct: float, new_pct: float) -> list[ReadFigures]:
    say(f"(d) reads of {contacts:,} contacts while {change_pct:g}% change and {new_pct:g}% are created ...")
    return [
        tap_under_changes(contacts, change_pct, new_pct),
        offset_under_changes(contacts, change_pct, new_pct, None),
        offset_under_changes(contacts, change_pct, new_pct, "last_active"),
    ]


def throughput_rows(f: Figures) -> list[Row]:
    """(a), P1, P2, P3."""
    p1, p2, p3 = f.p1, f.p2, f.p3
    raw = p1.raw
    conc1 = ", max_concurrency 1" if p1.tap_settings else " (sequential: no max_concurrency setting)"
    rows: list[Row] = [
        (f"(a) simulator process: start with {p1.contacts:,} contacts", f"{p1.start_s:.1f} s", "", "", ""),
        ("(a) simulator: raw keyset pages of 200, sequential",
         f"{raw.pages / raw.seconds:.1f} pages/s, {num(raw.records_per_s)} contacts/s", "", "", ""),
        (f"P1 tap vs raw loop: {p1.contacts:,} contacts, no latency{conc1}",
         f"{num(p1.tap.records_per_s)} records/s, {p1.tap.list_requests} list requests",
         f"raw loop: {num(raw.records_per_s)} contacts/s, {raw.pages} pages",
         f"{p1.ratio:.2f}x of raw", f">= 0.9x: {verdict(p1.ratio >= 0.9)}"),
    ]
    default = "none yet: sequential" if p2.tap_default is None else p2.tap_default
    latency = f"latency {p2.latency_ms} ms, {p2.workers} workers"
    rows += [
        (f"P2 tap at default settings (max_concurrency {default}): {p2.contacts:,} contacts, {latency}",
         f"{p2.tap.seconds:.1f} s, {num(p2.tap.records_per_s)} records/s, at most "
         f"{p2.in_flight.get('tap', 0)} request(s) at once", "", "", ""),
        ("P2   vs sequential raw keyset loop (tap time / loop time)", "",
         f"{p2.sequential.seconds:.1f} s, {num(p2.sequential.records_per_s)} contacts/s, at most "
         f"{p2.in_flight.get('sequential', 0)} at once",
         f"{p2.vs_sequential:.2f}x the time", f"<= 0.3x: {verdict(p2.vs_sequential <= 0.3)}"),
        (f"P2   vs {p2.slices}-slice raw keyset loop (tap rate / loop rate)", "",
         f"{p2.sliced.seconds:.1f} s, {num(p2.sliced.records_per_s)} contacts/s, at most "
         f"{p2.in_flight.get('sliced', 0)} at once",
         f"{p2.vs_sliced:.2f}x the rate", f">= 0.85x: {verdict(p2.vs_sliced >= 0.85)}"),
    ]
    one = p3.one
    rows.append((f"P3 {p3.upserts:,} contact upserts, latency {p3.latency_ms} ms, concurrency 1",
                 f"{one.http_calls} calls, {one.seconds:.1f} s, {num(one.records_per_s)} records/s",
                 "", "", ""))
    if p3.default is None:
        rows.append((f"P3 {p3.upserts:,} contact upserts at the target's default max_concurrency",
                     "n/a (target has no max_concurrency setting)", "concurrency 1 (row above)", "n/a",
                     ">= 3x faster: n/a"))
    else:
        d = p3.default
        speedup = p3.speedup or 0.0
        rows.append((f"P3 {p3.upserts:,} contact upserts at default max_concurrency {p3.target_default}",
                     f"{d.http_calls} calls, {d.seconds:.1f} s, {num(d.records_per_s)} records/s",
                     f"concurrency 1: {one.seconds:.1f} s", f"{speedup:.1f}x faster",
                     f">= 3x faster: {verdict(speedup >= 3)}"))
    return rows


def target_rows(target: TargetRun, naive: TargetRun) -> list[Row]:
    """(c)."""
    n, m = target.records, naive.records
    scale = n / m
    naive_calls_n = naive.http_calls * scale
    scaled = "" if m == n else f" (measured {m:,}, x{scale:.3g})"
    calls_ratio = naive_calls_n / target.http_calls
    return [
        (f"(c) target: {n:,} contact upserts, HTTP calls", f"{target.http_calls:,}",
         f"{num(naive_calls_n)}{scaled}", f"{calls_ratio:.0f}x fewer",
         "<= 60 (issue 5): " + verdict(target.http_calls <= 60) if n == 10_000 else ""),
        (f"(c) target: {n:,} contact upserts, records/s", num(target.records_per_s),
         num(naive.records_per_s) + ("" if m == n else f" (on {m:,})"),
         f"{target.records_per_s / naive.records_per_s:.1f}x faster", ""),
        (f"(c) target: round trips at {RTT_MS} ms each (computed)",
         f"{target.http_calls * RTT_MS / 1000:.1f} s",
         f"{num(naive_calls_n * RTT_MS / 1000)} s", f"{calls_ratio:.0f}x less", ""),
    ]


def change_rows(contacts: int, reads: list[ReadFigures]) -> list[Row]:
    """(d)."""
    ours, *bases = reads

    def each(attr: str) -> str:
        return "; ".join(f"{getattr(b, attr):,}" for b in bases)

    return [
        (f"(d) read of {contacts:,} contacts, {ours.modified:,} modified + {ours.new_total:,} created "
         "meanwhile", "tap-mautic keyset sync", "offset paging: " + "; ".join(b.label for b in bases),
         "", ""),
        ("  lost (existed throughout, never delivered)", f"{ours.lost:,}", each("lost"), "", ""),
        ("  duplicated (delivered more than once)", f"{ours.duplicated:,}", each("duplicated"), "", ""),
        ("  new contacts delivered", f"{ours.new_seen:,} of {ours.new_total:,}",
         "; ".join(f"{b.new_seen:,} of {b.new_total:,}" for b in bases), "", ""),
        ("  requests (list pages)", f"{ours.requests:,} ({ours.list_requests:,})",
         "; ".join(f"{b.requests:,} ({b.list_requests:,})" for b in bases), "", ""),
        ("  next incremental run: changes picked up", f"{ours.extra['changes_caught_next_run']:,} of "
         f"{ours.extra['changes']:,} ({ours.extra['next_run_records']:,} rec, "
         f"{ours.extra['next_run_requests']} req)", "n/a", "", ""),
    ]


def memory_rows(p4: P4) -> list[Row]:
    """P4."""
    small, large = p4.sizes
    rows: list[Row] = []
    for name, runs in (("tap-mautic (contacts)", p4.tap), ("target-mautic (contact upserts)", p4.target)):
        growth = p4.growth(runs)
        peak = max(r.peak_rss_mb for r in runs)
        rows.append((f"P4 peak RSS {name}: {small:,} / {large:,} records",
                     f"{runs[0].peak_rss_mb:.0f} MB / {runs[1].peak_rss_mb:.0f} MB "
                     f"({runs[0].seconds:.0f} s / {runs[1].seconds:.0f} s)", "",
                     f"growth {growth:.2f}x",
                     f"< 150 MB: {verdict(peak < 150)}; <= 1.2x: {verdict(growth <= 1.2)}"))
    return rows


def merge_rows(m: MergeCost) -> list[Row]:
    """Cost of merges: the incremental run after ``m.merges`` merges against one without merges."""
    return [
        ("(e) incremental run without merges: requests (include_merges on / off)",
         f"{m.quiet_requests:,} / {m.quiet_requests_merges_off:,}", "", "",
         f"no extra call: {verdict(m.quiet_requests == m.quiet_requests_merges_off)}"),
        (f"(e) after {m.merges:,} merges: extra requests per merged contact",
         f"{m.per_merge('merged_requests', 'quiet_requests'):.2f} "
         f"({m.merged_requests - m.quiet_requests:,} in all)", "", "", ""),
        ("(e) extra records per merged contact (re-read rows, tombstones, merges, deletions)",
         f"{m.per_merge('merged_records', 'quiet_records'):.1f} ({m.tombstones:,} tombstones in all)",
         "", "", ""),
        ("(e) extra seconds per merged contact (simulator, no latency)",
         f"{m.per_merge('merged_seconds', 'quiet_seconds') * 1000:.2f} ms", "", "", ""),
    ]


def retl_rows(r: Retl) -> list[Row]:
    """(f): compare before write on against off, side by side."""
    def cell(run: RetlRun) -> str:
        outcomes = ", ".join(f"{n:,} {o}" for o, n in sorted(run.outcomes.items()))
        return f"{run.calls} calls, {run.write_calls} write calls, {run.seconds:.1f} s ({outcomes})"

    n = r.contacts
    on, off, con, coff = r.unchanged_on, r.unchanged_off, r.changed_on, r.changed_off
    ratio = r.speedup
    mirrored = r.mirror.outcomes.get("removed") == r.churn and r.mirror.outcomes.get("created") == r.churn
    return [
        (f"(f) {n:,} contacts in Mautic rerun unchanged, compare on / off (row cost {r.row_ms:g} ms)",
         cell(on), "off: " + cell(off), f"{ratio:.1f}x faster",
         f">= 3x faster, 0 writes: {verdict(ratio >= 3 and on.write_calls == 0)}"),
        (f"(f) {n:,} contacts, {r.changed:,} changed (1 %), compare on / off", cell(con),
         "off: " + cell(coff),
         f"{coff.seconds / con.seconds:.1f}x faster" if con.seconds else "",
         f"writes only the changed: {verdict(con.outcomes.get('updated') == r.changed)}"),
        (f"(f) audience of {n:,}, 1 % churn ({r.churn:,} out, {r.churn:,} in), compare on",
         cell(r.audience), "", "", "the upsert of the audience's contacts"),
        (f"(f) audience mirror of {n:,} into a segment, 1 % churn (sync_mode mirror)", cell(r.mirror), "", "",
         f"removes the {r.churn:,} dropped, adds the {r.churn:,} new: {verdict(mirrored)}"),
    ]


def adaptive_rows(a: adaptive.Adaptive) -> list[Row]:
    rows: list[Row] = []
    sides = ((a.reads, f"{a.contacts:,} contacts read"), (a.writes, f"{a.upserts:,} contact upserts"))
    for side, size in sides:
        fixed = " / ".join(f"{s.label}: {num(s.median.per_s)}"
                           for s in side.settings if s.label != "adaptive")
        mine = side.adaptive().median
        rows.append((
            f"(g) {size} under load and a 429 budget, records/s (median of {a.runs}): adaptive vs fixed",
            f"{num(mine.per_s)} (limit changed {len(mine.changes)} times, {mine.refused} x 429)",
            f"{fixed} (best {side.best_fixed().label})",
            f"{side.ratio:.2f}x best",
            f"within 15 %: {verdict(side.ratio >= 0.85)}; lost {side.lost}: {verdict(side.lost == 0)}"))
    return rows


def adaptive_note(a: adaptive.Adaptive) -> str:
    return (f"(g): {adaptive.describe()}; reads: tap-mautic's contacts sync in-process (page_size "
            f"{adaptive.PAGE_SIZE}) on one simulator process, the settings alternated, {a.runs} runs each; "
            f"writes: target-mautic's contact upserts (batch_size {adaptive.BATCH_SIZE}, compare off) each "
            f"on a fresh simulator process (50 seeded contacts); fixed = concurrency_mode fixed with that "
            f"max_concurrency, adaptive = the default mode with max_concurrency {adaptive.CEILING}. "
            "records/s of the median run (by time); 429s counted by the simulator; changes = the limiter's "
            "own record of the median adaptive run. Lost: records delivered (distinct ids) or written "
            "(created/updated outcomes) short of the input, over every run.")


def build_rows(args: argparse.Namespace, f: Figures) -> list[Row]:
    """(figure, ours, baseline, ratio, goal) rows of the final table, in the order of the docstring."""
    return (throughput_rows(f) + target_rows(f.target, f.naive) + change_rows(args.contacts, f.reads)
            + memory_rows(f.p4) + merge_rows(f.merges) + retl_rows(f.retl) + adaptive_rows(f.adaptive))


HEADER: Row = ("figure", "tap-mautic / target-mautic", "baseline", "ratio", "goal (issue 9)")


def render_text(rows: list[Row]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(HEADER)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(lines)


def machine_note() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = f"load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    return (f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {load}; simulator as its own process (in-process only for "
            "(d)), loopback HTTP")


def notes(args: argparse.Namespace, f: Figures) -> list[str]:
    """What the rows mean; printed under the table and written to results.md."""
    out = [
        "P1: records/s of an in-process tap-mautic contacts sync (singer-sdk, JSON on stdout) against the "
        "same keyset pages (orderBy=id, id gt last, 200 a page, until an empty page) read with http.client "
        "and json.loads only (benchmarks/rawloop.py); best of --repeat runs each, alternated, on one "
        "simulator process without latency.",
        f"P2: each reader on a fresh simulator process with --latency-ms {f.p2.latency_ms} --workers "
        f"{f.p2.workers} (at most {f.p2.workers} requests handled at once, the rest wait, as on PHP-FPM); "
        f"the {f.p2.slices}-slice loop cuts the id range into {f.p2.slices} equal slices read by as many "
        "threads. "
        "'at most k at once' is what the simulator saw (its exit summary). Goals: tap time <= 0.3x the "
        "sequential loop, tap rate >= 0.85x the sliced loop.",
        f"P3: target-mautic in-process against a simulator process with --latency-ms {f.p3.latency_ms} (no "
        f"worker limit) --processes {f.p3.processes} (its app in as many worker processes sharing one SQLite "
        "file, as PHP workers run in parallel), 50 seeded contacts, the rest created; calls counted by the "
        "simulator. The default column reads the target's max_concurrency setting; n/a while it has none.",
        "P4: `python -m tap_mautic` (contacts selected, stdout counted) and `python -m target_mautic` "
        "(contact upserts from a file on stdin) as processes; peak RSS is wait4's ru_maxrss of that "
        "process alone, forked from a small launcher (benchmarks/simproc.py). Goals: < 150 MB, growth "
        "<= 1.2x.",
        f"(c): target-mautic (batch/new, Mautic de-duplicates on email) against benchmarks/baselines.py "
        f"per_record_upsert (GET search=email:..., then PATCH /{{id}}/edit or POST /new); same input "
        f"(50 existing emails, the rest new), fresh identically seeded simulators; outcomes ours "
        f"{f.target.outcomes}, baseline {f.naive.outcomes}. The round-trip row is arithmetic "
        f"(calls x {RTT_MS} ms, a remote Mautic), not a measurement.",
        f"(d): before each contacts list request after the first, an equal slice of a seeded "
        f"{args.change_pct:g} % sample of the contacts is modified (touch_contacts, i.e. date_modified = "
        f"now, and last_active = now as tracked activity does) and {args.new_pct:g} % new contacts are "
        "created (create_contacts); every reader gets the same schedule on an identically seeded "
        "in-process simulator. Offset paging = start/limit 200 over Mautic's default order (last_active "
        "DESC) or with orderBy=last_active (benchmarks/baselines.py offset_read). Lost = existed from start "
        "to end, never delivered. The tap's requests include discovery (fields, stats, users/self).",
    ]
    if f.naive.records != f.target.records:
        out.append(f"(c) baseline measured on {f.naive.records:,} records and scaled x"
                   f"{f.target.records / f.naive.records:.3g} (its per-record cost grows with the table, "
                   f"so scaling flatters it); --naive-contacts {f.target.records} measures all.")
    out.append(retl_note(f.retl))
    out.append(adaptive_note(f.adaptive))
    if args.quick:
        out.append("--quick: sizes scaled down to check that every row is produced; the figures and goal "
                   "verdicts of a quick run mean nothing.")
    return out


def retl_note(r: Retl) -> str:
    write_ms = r.row_ms * WRITE_RATIO
    return (f"(f): one simulator process seeded with {r.contacts:,} contacts and --row-ms {r.row_ms:g} (a "
            f"contact read costs {r.row_ms:g} ms of server time, a contact written {write_ms:g} ms: on a "
            "real 5.1.0 a batch/edit of 200 contacts whose values are already the same took ~2.3 s, reading "
            "the same 200 by id ~0.6 s); the input names every contact by id with the values Mautic holds "
            "(email, firstname, lastname, city), loaded once before the runs; target-mautic in-process at "
            "its defaults (batch_size 200, max_concurrency 4); calls and write calls (POST/PATCH/PUT/DELETE) "
            "counted by the simulator. 1 % changed: a new city on every 100th record, a fresh 1 % for the "
            "run with compare off. Audience: 1 % of the rows dropped, as many new contacts (by email). "
            "Audience mirror: the audience before the churn loaded into a new segment first "
            "(segment_memberships by contact id, new contacts by email; not reported), then the churned "
            "audience as a full snapshot (ACTIVATE_VERSION before and after the records, sync_mode mirror, "
            "mirror_max_removals 2%): calls include the new contacts' email look-up, the membership reads, "
            "one add call per 200 new members and one remove call per dropped member.")


def render_markdown(rows: list[Row], started: datetime, seconds: float, machine: str,
                    footnotes: list[str], profile: str) -> str:
    cmd = ("python -m benchmarks.run " + " ".join(sys.argv[1:])).strip()
    out = [
        "# Benchmark results",
        "",
        f"Date: {started:%Y-%m-%d %H:%M} UTC, whole run {seconds:.0f} s. Machine: {machine}. "
        f"Command: `{cmd}` (`make bench BENCH_ARGS=--write`; `make bench` alone only prints).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---|---|---|---|---|",
    ]
    out += [f"| {' | '.join(c.strip().replace('|', '/') for c in row)} |" for row in rows]
    out += [""]
    out += [f"- {n}" for n in footnotes]
    text = "\n".join(out) + "\n"
    return text + ("\n" + profile if profile else "")


def replace_section(heading: str, text: str, path: Path | None = None) -> None:
    """Write ``text`` (starting with ``heading``) as that section of results.md: in place of the section of
    the same heading when there is one, else at the end; every other section stays."""
    path = path or RESULTS
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    at = old.find("\n" + heading)
    if at < 0:
        path.write_text(old.rstrip("\n") + "\n\n" + text)
        return
    after = old.find("\n## ", at + 1)
    path.write_text(old[:at + 1] + text + (old[after:] if after >= 0 else ""))


def kept_profile(path: Path) -> str:
    """The "Profile" section of an existing results.md (written by benchmarks/profile_tap.py), to keep."""
    if not path.exists():
        return ""
    text = path.read_text()
    at = text.find("\n" + PROFILE_HEADING)
    return text[at + 1:] if at >= 0 else ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="scale every size down (checks that each row is produced; figures mean nothing)")
    parser.add_argument("--contacts", type=int,
                        help=f"contacts for (a), P1 and (d) (full {FULL['contacts']:,})")
    parser.add_argument("--p2-contacts", type=int, help=f"contacts for P2 (full {FULL['p2_contacts']:,})")
    parser.add_argument("--latency-ms", type=int, default=200, help="simulator latency for P2 and P3")
    parser.add_argument("--workers", type=int, default=4, help="simulator workers for P2")
    parser.add_argument("--slices", type=int, help="slices of the sliced raw loop in P2 (default: --workers)")
    parser.add_argument("--p3-upserts", type=int,
                        help=f"contact upserts for P3 (full {FULL['p3_upserts']:,})")
    parser.add_argument("--target-contacts", type=int,
                        help=f"contact upserts for (c) (full {FULL['target_contacts']:,})")
    parser.add_argument("--naive-contacts", type=int,
                        help="records for the per-record baseline, scaled to --target-contacts (the "
                             "baseline slows as the table grows, so scaling flatters it)")
    parser.add_argument("--p4-sizes", help=f"the two record counts of P4 (full {FULL['p4_sizes']})")
    parser.add_argument("--repeat", type=int, help="runs of P1's tap and raw loop; the fastest counts")
    parser.add_argument("--change-pct", type=float, default=10.0,
                        help="%% of contacts modified during a read")
    parser.add_argument("--new-pct", type=float, default=2.0, help="%% new contacts created during a read")
    parser.add_argument("--merge-contacts", type=int,
                        help=f"contacts of the merge cost run (e) (full {FULL['merge_contacts']:,})")
    parser.add_argument("--merges", type=int, help=f"merges of run (e) (full {FULL['merges']:,})")
    parser.add_argument("--retl-contacts", type=int,
                        help=f"contacts of the reverse-ETL reruns (f) (full {FULL['retl_contacts']:,})")
    parser.add_argument("--row-ms", type=float, default=ROW_MS,
                        help="simulator row cost for (f): ms per contact read (a write costs 3.8x)")
    parser.add_argument("--adaptive-contacts", type=int,
                        help=f"contacts read in (g) (full {FULL['adaptive_contacts']:,})")
    parser.add_argument("--adaptive-upserts", type=int,
                        help=f"contact upserts of (g) (full {FULL['adaptive_upserts']:,})")
    parser.add_argument("--adaptive-runs", type=int, help="runs of each setting in (g); the median counts")
    parser.add_argument("--only", choices=["f", "g"],
                        help="measure only these rows (with --write: replace only them in results.md)")
    parser.add_argument("--write", action="store_true", help=f"also write the table to {RESULTS}")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.naive_contacts = min(args.naive_contacts, args.target_contacts)
    args.slices = args.slices or args.workers
    small, large = (int(x) for x in str(args.p4_sizes).split(","))
    args.p4 = (small, large)
    return args


def measure(args: argparse.Namespace) -> Figures:
    say(f"(a)/P1: {args.contacts:,} contacts, tap vs raw keyset loop, no latency ...")
    p1 = measure_p1(args.contacts, args.repeat)
    say(f"P2: {args.p2_contacts:,} contacts, latency {args.latency_ms} ms, {args.workers} workers: tap, "
        f"sequential loop, {args.slices}-slice loop ...")
    p2 = measure_p2(args.p2_contacts, args.latency_ms, args.workers, args.slices)
    say(f"P3: {args.p3_upserts:,} upserts at latency {args.latency_ms} ms ...")
    p3 = measure_p3(args.p3_upserts, args.latency_ms)
    target, naive = measure_target(args.target_contacts, args.naive_contacts)
    reads = measure_changes(args.contacts, args.change_pct, args.new_pct)
    say(f"P4: peak RSS of tap and target at {args.p4[0]:,} and {args.p4[1]:,} records ...")
    p4 = measure_p4(*args.p4)
    say(f"(e) merges: {args.merges:,} merges among {args.merge_contacts:,} contacts, the next run ...")
    merges = measure_merges(args.merge_contacts, args.merges)
    return Figures(p1, p2, p3, target, naive, reads, p4, merges, measure_f(args), measure_g(args))


def measure_g(args: argparse.Namespace) -> adaptive.Adaptive:
    say(f"(g) adaptive concurrency: {args.adaptive_contacts:,} contacts read, {args.adaptive_upserts:,} "
        f"upserts, fixed 1/2/4/8 and adaptive, {args.adaptive_runs} runs each ...")
    return adaptive.measure_adaptive(args.adaptive_contacts, args.adaptive_upserts, args.adaptive_runs)


def measure_f(args: argparse.Namespace) -> Retl:
    say(f"(f) reverse ETL reruns: {args.retl_contacts:,} contacts, row cost {args.row_ms:g} ms ...")
    return measure_retl(args.retl_contacts, args.row_ms)


def replace_rows(text: str, prefix: str, rows: list[Row], note: str) -> str:
    """results.md with the table rows starting with ``prefix`` (and their note) replaced, or appended to the
    table and its notes when there were none: what ``--only`` writes, leaving every other row as it was."""
    lines = [line for line in text.splitlines() if not line.startswith((f"| {prefix}", f"- {prefix}:"))]
    at = next(i for i, line in enumerate(lines) if line.startswith("|"))  # the first table: the main one
    while at < len(lines) and lines[at].startswith("|"):
        at += 1
    lines[at:at] = [f"| {' | '.join(c.strip().replace('|', '/') for c in row)} |" for row in rows]
    end = next((i for i in range(at, len(lines)) if lines[i].startswith("#")), len(lines))
    notes = [i for i in range(at, end) if lines[i].startswith("- ")]
    lines.insert(notes[-1] + 1 if notes else at + len(rows), f"- {note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.disable(logging.WARNING)
    if threading.current_thread() is threading.main_thread():
        # a SIGTERM unwinds the context managers, so no simulator process outlives the run
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.now(timezone.utc)
    machine = machine_note()
    began = time.perf_counter()
    if args.only is not None:
        if args.only == "f":
            retl = measure_f(args)
            rows, note = retl_rows(retl), retl_note(retl)
        else:
            found = measure_g(args)
            rows, note = adaptive_rows(found), adaptive_note(found)
        print(f"benchmarks.run --only {args.only} {started:%Y-%m-%d %H:%M} UTC, "
              f"{time.perf_counter() - began:.0f} s, {machine}")
        print(render_text(rows))
        print(f"- {note}")
        if args.write:  # the table's date is the full run's: these rows say their own
            note += f" Measured {started:%Y-%m-%d %H:%M} UTC (--only {args.only}), {machine}."
            RESULTS.write_text(replace_rows(RESULTS.read_text(), f"({args.only})", rows, note))
            say(f"wrote the ({args.only}) rows of {RESULTS}")
        return 0
    figures = measure(args)
    seconds = time.perf_counter() - began

    rows = build_rows(args, figures)
    print(f"benchmarks.run {started:%Y-%m-%d %H:%M} UTC, {seconds:.0f} s, {machine}")
    print(render_text(rows))
    footnotes = notes(args, figures)
    print("\n".join(f"- {n}" for n in footnotes))
    if args.write:
        RESULTS.write_text(render_markdown(rows, started, seconds, machine, footnotes, kept_profile(RESULTS)))
        say(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
