"""Every shell command of the README runs here (or in the Meltano end-to-end tests), as written.

The only changes: the example instance (https://mautic.example.com, api-user, its password) is replaced by a
simulator's URL and credentials, and the Meltano block runs in a copy of the project, so that its `meltano
config set` and `meltano select` edit the copy's meltano.yml and .env, not this checkout's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mautic_sim import Simulator
from scripts.pipeline import MELTANO, MELTANO_OFFLINE, duckdb_query, tap_record_counts
from tests.support.config import SIM_USER
from tests.support.paths import ROOT
from tests.support.readme import bash_block, run_bash

SIM_PASSWORD = "Readme-s3cret-pw"  # distinctive, so that a leak into meltano.yml or a log would be found

@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(contacts=80, seed=31, username=SIM_USER, password=SIM_PASSWORD) as fresh:
        yield fresh


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The checkout's files (as git sees them), with this checkout's virtualenvs linked in."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    copy = tmp_path / "project"
    for name in listed:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    for venv in (".venv", ".venv-meltano"):
        (copy / venv).symlink_to(ROOT / venv)
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    return copy


def test_meltano_block_runs_as_written(project_copy: Path, sim: Simulator) -> None:
    assert MELTANO.exists(), "run `make meltano` first (make test does)"
    script = (bash_block("## Meltano: the main job")
              .replace("'the-api-user-password'", f"'{SIM_PASSWORD}'")
              .replace("https://mautic.example.com", sim.url)
              .replace("api-user", SIM_USER))
    assert sim.url in script and SIM_PASSWORD in script
    original = yaml.safe_load((project_copy / "meltano.yml").read_text())
    env = {**os.environ, **MELTANO_OFFLINE}
    env = {k: v for k, v in env.items() if not k.startswith(("TAP_MAUTIC", "TARGET_", "MELTANO_DATABASE"))}
    done = run_bash(script, project_copy, env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    output = done.stdout + done.stderr

    # The password went to .env, which git ignores; meltano.yml gained only the two plain settings and the
    # selection (no secret, no deprecated kind rewritten).
    assert (project_copy / ".env").read_text().strip() == f"TAP_MAUTIC_PASSWORD='{SIM_PASSWORD}'"
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=project_copy, check=False)
    assert ignored.returncode == 0
    text = (project_copy / "meltano.yml").read_text()
    assert SIM_PASSWORD not in text and "kind: password" not in text
    assert SIM_PASSWORD not in output  # Meltano and the plugins never print it
    changed = yaml.safe_load(text)
    tap = next(p for p in changed["plugins"]["extractors"] if p["name"] == "tap-mautic")
    assert tap["config"]["base_url"] == sim.url and tap["config"]["username"] == SIM_USER
    assert tap["select"] == ["contacts.*", "deletions.*", "lead_event_log.*"]
    for plugin in changed["plugins"]["extractors"]:
        plugin.pop("select", None)
        plugin.get("config", {}).pop("base_url", None)
        plugin.get("config", {}).pop("username", None)
    assert changed == original

    # Two runs: everything, then nothing new; the warehouse holds every contact; the bookmark is kept.
    warehouse = project_copy / "output" / "warehouse.duckdb"
    # (the seed merges a contact: its row stays, marked deleted); the job's dbt build made the marts too,
    # with two of the streams they read not selected (read as empty)
    contacts = duckdb_query(warehouse, "SELECT COUNT(*) AS n FROM mautic.contacts "
                                       "WHERE _sdc_deleted_at IS NULL")[0]["n"]
    marts = duckdb_query(warehouse, "SELECT COUNT(*) AS n FROM analytics.contacts")[0]["n"]
    assert contacts == marts == len(sim.query("SELECT id FROM leads")) == 80
    assert "Plugin configuration is valid" in output
    state = json.loads(next(line for line in done.stdout.splitlines() if line.startswith('{"singer_state"')))
    assert set(state["singer_state"]["bookmarks"]) >= {"contacts", "lead_event_log"}
    rows = duckdb_query(warehouse, "SELECT COUNT(*) AS n FROM mautic.contacts")[0]["n"]  # with the marker
    assert tap_record_counts(output)["contacts"] == rows  # the second run added none
    assert "mautic-to-duckdb-hourly" in done.stdout


def test_simulator_block_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_MAUTIC", "MAUTIC_SIM"))}
    # the trap only cleans up if the block fails before its own `kill %1`
    script = "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + bash_block("## Using the simulator")
    done = run_bash(script, tmp_path, env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(json.loads((tmp_path / "two-contacts.json").read_text())["contacts"]) == 2  # the curl answer
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    assert len(catalog["streams"]) >= 60
    records = [json.loads(line) for line in (tmp_path / "sync.singer.jsonl").read_text().splitlines()]
    assert sum(1 for m in records if m["type"] == "RECORD" and m["stream"] == "contacts") == 1000


def test_target_block_runs_as_written(tmp_path: Path, sim: Simulator) -> None:
    block = bash_block("## Loading data into Mautic")
    lines = [line for line in block.splitlines() if line.strip()]
    # `meltano run postgres-to-mautic` is run by tests/e2e/test_meltano_e2e.py (against its own PostgreSQL)
    assert lines[0].startswith("meltano run postgres-to-mautic")
    test_source = (ROOT / "tests" / "e2e" / "test_meltano_e2e.py").read_text()
    assert '"run", "postgres-to-mautic"' in test_source
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "target_config.json").write_text(json.dumps(
        {"base_url": sim.url, "username": SIM_USER, "password": SIM_PASSWORD,
         "results_path": str(tmp_path / "results.jsonl")}))
    messages = [
        {"type": "SCHEMA", "stream": "contacts", "key_properties": ["email"],
         "schema": {"properties": {"email": {"type": "string"}, "city": {"type": ["string", "null"]}}}},
        {"type": "RECORD", "stream": "contacts", "record": {"email": "readme@example.org", "city": "Oslo"}},
    ]
    (tmp_path / "rows.singer.jsonl").write_text("".join(json.dumps(m) + "\n" for m in messages))
    done = run_bash("\n".join(lines[1:]), tmp_path, dict(os.environ))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| base_url " in done.stdout or "base_url" in done.stdout  # the --about table
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [(r["key"], r["outcome"]) for r in results] == [({"email": "readme@example.org"}, "created")]
    assert sim.query("SELECT city FROM leads WHERE email = 'readme@example.org'") == [{"city": "Oslo"}]
