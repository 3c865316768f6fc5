"""``make test``: the suite in two lanes run side by side, each a plain pytest process.

Why two lanes and not pytest-xdist: the end-to-end tests share the checkout's Meltano project (``.meltano``),
where two Meltano commands must never run at once, so they all belong in one process; pytest-xdist 3.8's
``--dist loadgroup`` does not group under pytest 9 (it renames ``item._nodeid``, which pytest 9 no longer
reads). Lane 1: ``tests/e2e``. Lane 2: every other folder but ``tests/real``, then the tap and target suites
again at ``max_concurrency`` 1. Each lane's output is printed whole when it ends; the exit code is non-zero
when any pytest run failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

LANES: list[list[tuple[dict[str, str], list[str]]]] = [
    [({}, ["tests/e2e"])],
    [({}, ["--ignore=tests/real", "--ignore=tests/e2e", "tests"]),
     ({"MAUTIC_TEST_MAX_CONCURRENCY": "1"}, ["-m", "not slow", "tests/tap", "tests/target"])],
]


def run_lane(number: int, steps: list[tuple[dict[str, str], list[str]]], codes: list[int],
             lock: threading.Lock) -> None:
    """The lane's pytest runs one after the other (all of them, even after a failure)."""
    for env, args in steps:
        command = [sys.executable, "-m", "pytest", "-q", *args]
        began = time.monotonic()
        done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=False)
        label = " ".join(f"{k}={v}" for k, v in env.items()) + " pytest -q " + " ".join(args)
        with lock:
            print(f"\n=== lane {number}: {label.strip()} (exit {done.returncode}, "
                  f"{time.monotonic() - began:.0f} s)", flush=True)
            sys.stdout.write(done.stdout[-200_000:])
            sys.stderr.write(done.stderr[-20_000:])
            sys.stdout.flush()
            codes.append(done.returncode)


def main() -> int:
    codes: list[int] = []
    lock = threading.Lock()
    threads = [threading.Thread(target=run_lane, args=(n, steps, codes, lock)) for n, steps in
               enumerate(LANES, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [c for c in codes if c != 0]
    print(f"\n=== make test: {len(codes) - len(failed)} of {len(codes)} pytest runs passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
