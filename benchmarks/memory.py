"""Issue 9's P4: peak RSS of the tap and the target as processes, at two sizes, and how it grows.

Why: a sync of millions of contacts must run in bounded memory. The tap (``python -m tap_mautic``, contacts
selected) and the target (``python -m target_mautic``, contact upserts from a file on stdin) run as the
real CLIs do; each one's peak RSS comes from ``os.wait4`` (that child only). The simulator is a process of
its own, never counted.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import bench_target
from benchmarks.simproc import ChildRun, run_child
from benchmarks.throughput import contact_records, existing_emails
from mautic_sim.process import SimProcess
from tap_mautic.tap import TapMautic


def contacts_catalog(config: dict[str, Any]) -> dict[str, Any]:
    """The tap's catalog with only ``contacts`` selected."""
    catalog = TapMautic(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == "contacts"
    return catalog


def tap_peak(contacts: int) -> ChildRun:
    """tap-mautic reading ``contacts`` contacts to stdout (counted, then dropped)."""
    with SimProcess(contacts=contacts, seed=1) as sim, tempfile.TemporaryDirectory() as tmp:
        config = sim.config()
        (Path(tmp) / "config.json").write_text(json.dumps(config))
        (Path(tmp) / "catalog.json").write_text(json.dumps(contacts_catalog(config)))
        run = run_child([sys.executable, "-m", "tap_mautic", "--config", "config.json",
                         "--catalog", "catalog.json"], cwd=Path(tmp))
    if run.returncode != 0 or run.records != contacts:
        raise RuntimeError(f"P4 tap run at {contacts:,}: exit {run.returncode}, {run.records:,} records; "
                           f"{run.stderr_tail}")
    return run


def target_peak(records: int) -> ChildRun:
    """target-mautic upserting ``records`` contacts read from stdin (a file, as a pipe from a tap)."""
    with SimProcess(contacts=50, seed=21) as sim, tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        (Path(tmp) / "config.json").write_text(json.dumps(sim.config(results_path=str(results))))
        text = bench_target.singer("contacts", bench_target.CONTACT_SCHEMA,
                                   contact_records(existing_emails(sim), records))
        (Path(tmp) / "input.jsonl").write_text(text)
        del text
        run = run_child([sys.executable, "-m", "target_mautic", "--config", "config.json"],
                        stdin_path=Path(tmp) / "input.jsonl", cwd=Path(tmp))
        outcomes = sum(1 for _ in results.open()) if results.exists() else 0
    if run.returncode != 0 or outcomes != records:
        raise RuntimeError(f"P4 target run at {records:,}: exit {run.returncode}, {outcomes:,} outcomes; "
                           f"{run.stderr_tail}")
    return run


@dataclass
class P4:
    sizes: tuple[int, int]
    tap: tuple[ChildRun, ChildRun]
    target: tuple[ChildRun, ChildRun]

    @staticmethod
    def growth(runs: tuple[ChildRun, ChildRun]) -> float:
        """Peak RSS at the larger size / at the smaller (goal <= 1.2)."""
        return runs[1].peak_rss_mb / runs[0].peak_rss_mb


def measure_p4(small: int, large: int) -> P4:
    return P4((small, large), (tap_peak(small), tap_peak(large)), (target_peak(small), target_peak(large)))
