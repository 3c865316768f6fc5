"""`make demo`: the main job end to end on the embedded simulator.

Starts `mautic-sim` with seeded data, runs `tap-mautic` (discovery, then a full sync and an incremental re-run
with the state of the first) into files under ``demo-output/``, then loads the synced contacts into a second,
empty simulator with `target-mautic` (reverse ETL) and prints a short summary of each step.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "demo-output"
BIN = Path(sys.executable).parent
CONTACTS = int(os.environ.get("DEMO_CONTACTS", "1000"))


def start_sim(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start a simulator process and return it with its URL (the first stdout line)."""
    proc = subprocess.Popen(
        [str(BIN / "mautic-sim"), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("MAUTIC_SIM_URL="):
        proc.kill()
        sys.exit(f"demo: the simulator did not start (first line: {line!r})")
    return proc, line.split("=", 1)[1]


def run(cmd: list[str], *, stdin: Path | None = None, stdout: Path) -> float:
    """Run one plugin command, its Singer output to ``stdout``; stop the demo if it fails."""
    started = time.monotonic()
    with stdout.open("w") as out, (stdin.open() if stdin else open(os.devnull)) as inp:
        done = subprocess.run(cmd, stdin=inp, stdout=out, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode:
        sys.exit(f"demo: {' '.join(Path(c).name for c in cmd[:1])} failed:\n{done.stderr[-2000:]}")
    return time.monotonic() - started


def summarise(path: Path) -> tuple[collections.Counter[str], dict | None]:
    """Records per stream and the last STATE of a Singer file."""
    counts: collections.Counter[str] = collections.Counter()
    state = None
    for line in path.read_text().splitlines():
        msg = json.loads(line)
        if msg["type"] == "RECORD":
            counts[msg["stream"]] += 1
        elif msg["type"] == "STATE":
            state = msg["value"]
    return counts, state


def contacts_for_another_instance(path: Path) -> list[str]:
    """The contacts stream of a sync, keyed by email: ids of one instance mean nothing in another."""
    lines = []
    for line in path.read_text().splitlines():
        msg = json.loads(line)
        if msg.get("stream") != "contacts" or msg["type"] not in ("SCHEMA", "RECORD"):
            continue
        if msg["type"] == "SCHEMA":
            msg["key_properties"] = []
            msg["schema"]["properties"].pop("id", None)
            msg["schema"]["required"] = [k for k in msg["schema"].get("required", []) if k != "id"]
        elif msg["record"].get("email"):
            msg["record"].pop("id", None)
        else:
            continue  # an anonymous visitor: nothing to match it on elsewhere
        lines.append(json.dumps(msg) + "\n")
    return lines


def main() -> None:
    OUT.mkdir(exist_ok=True)
    source, url = start_sim("--contacts", str(CONTACTS), "--seed", "42")
    target_sim, target_url = start_sim("--contacts", "0", "--seed", "1")
    try:
        config = {
            "base_url": url,
            "username": "admin",
            "password": "mautic",
            "start_date": "2000-01-01T00:00:00Z",
        }
        (OUT / "tap_config.json").write_text(json.dumps(config, indent=2))
        print(f"Mautic simulator with {CONTACTS} seeded contacts at {url}")

        tap = [str(BIN / "tap-mautic"), "--config", str(OUT / "tap_config.json")]
        run([*tap, "--discover"], stdout=OUT / "catalog.json")
        streams = json.loads((OUT / "catalog.json").read_text())["streams"]
        print(f"discovery: {len(streams)} streams")

        seconds = run(tap, stdout=OUT / "sync.singer.jsonl")
        counts, state = summarise(OUT / "sync.singer.jsonl")
        (OUT / "state.json").write_text(json.dumps(state, indent=2))
        print(f"full sync: {sum(counts.values())} records from {len(counts)} streams in {seconds:.1f} s")
        for stream, n in sorted(counts.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {stream:<28} {n:>7}")

        seconds = run([*tap, "--state", str(OUT / "state.json")], stdout=OUT / "incremental.singer.jsonl")
        again, _ = summarise(OUT / "incremental.singer.jsonl")
        print(
            f"incremental re-run with that state: {again.get('contacts', 0)} contacts in {seconds:.1f} s"
            " (those changed at or after the bookmark, less the 1 s look-back)"
        )

        contacts_only = OUT / "contacts.singer.jsonl"
        contacts_only.write_text("".join(contacts_for_another_instance(OUT / "sync.singer.jsonl")))
        target_config = {
            "base_url": target_url,
            "username": "admin",
            "password": "mautic",
            "ignore_unknown_fields": True,
            "results_path": str(OUT / "results.jsonl"),
            "on_record_error": "report",
        }
        (OUT / "target_config.json").write_text(json.dumps(target_config, indent=2))
        target = [str(BIN / "target-mautic"), "--config", str(OUT / "target_config.json")]
        seconds = run(target, stdin=contacts_only, stdout=OUT / "target_state.jsonl")
        outcomes = collections.Counter(
            json.loads(line)["outcome"] for line in (OUT / "results.jsonl").read_text().splitlines()
        )
        print(f"reverse ETL of identified contacts into an empty Mautic: {dict(outcomes)}, {seconds:.1f} s")
        print(f"files in {OUT.relative_to(ROOT)}/")
    finally:
        for proc in (source, target_sim):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
