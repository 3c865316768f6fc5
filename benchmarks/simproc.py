"""Child processes measured for peak memory (the simulator's own process: :mod:`mautic_sim.process`).

A child is forked from a small launcher so that wait4's ru_maxrss is that process's alone.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RECORD_PREFIXES = (b'{"type":"RECORD"', b'{"type": "RECORD"')

__all__ = ["RECORD_PREFIXES", "ChildRun", "run_child"]


@dataclass
class ChildRun:
    """One measured child process: exit code, Singer records it printed, wall time, peak RSS."""

    returncode: int
    records: int
    seconds: float
    peak_rss_mb: float
    stderr_tail: str


# Forks the measured command and reports its peak RSS. Why a launcher: Linux carries the RSS of the process
# that forks into the child's ru_maxrss across exec, so a child forked straight from a benchmark holding
# 100 MB would never report less; forked from this small interpreter it reports its own peak.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\nPEAK_RSS_KB=%d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child(cmd: list[str], stdin_path: Path | None = None, cwd: Path | None = None) -> ChildRun:
    """Run ``cmd``, count the RECORD lines of its stdout, and take its own peak RSS (``wait4`` of exactly that
    process, in a small launcher; ``RUSAGE_CHILDREN`` would mix in every child reaped before)."""
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(tempfile.TemporaryFile("w+"))
        stdin = stack.enter_context((stdin_path or Path(os.devnull)).open("rb"))
        began = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, *cmd], stdin=stdin,
                                stdout=subprocess.PIPE, stderr=err, cwd=cwd)
        assert proc.stdout is not None
        records = sum(1 for line in proc.stdout if line.startswith(RECORD_PREFIXES))
        proc.wait()
        seconds = time.perf_counter() - began
        err.seek(0)
        lines = err.read().splitlines()
    peak = next((int(line.split("=", 1)[1]) for line in reversed(lines) if line.startswith("PEAK_RSS_KB=")),
                0)
    tail = "\n".join(line for line in lines[-6:] if not line.startswith("PEAK_RSS_KB="))
    return ChildRun(proc.returncode, records, seconds, peak / 1024, tail)  # ru_maxrss: KiB on Linux
