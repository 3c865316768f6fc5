"""sync_mode mirror fed by a real extractor: the README's block ("Mirror", `meltano run --full-refresh
tap-postgres-snapshot target-mautic`, pipelinewise-tap-postgres 1.8.4) run as written, against a simulator
and a real PostgreSQL cluster.

Why this extractor: a mirror removes members only when ACTIVATE_VERSION follows a stream's records, and
tap-postgres 0.10.0 sends it only before them (tests/e2e/test_meltano_e2e.py). pipelinewise-tap-postgres
sends it after every FULL_TABLE sync, of a table or a view. Why --full-refresh: after a run cut short, the
tap resumes a table from its saved xmin bookmark with the same version, so the next run would send part of
the table followed by ACTIVATE_VERSION, a snapshot that looks complete; --full-refresh ignores that bookmark.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from scripts.pipeline import MELTANO, meltano
from tests.support.config import SIM_PASSWORD, SIM_USER
from tests.support.meltano import fill_segment, pg_env, require_meltano, segment_members, sim_env
from tests.support.paths import ROOT
from tests.support.postgres import PostgresServer
from tests.support.readme import bash_block, run_bash
from tests.support.target import settled_log

pytestmark = pytest.mark.e2e

# The README's block: the settings of a mirror of the view public.audience, then the run
README_BLOCK = bash_block("#### Mirror (segment, campaign and company memberships, tags)")
STATE_ID = "sim:tap-postgres-snapshot-to-target-mautic"


@pytest.fixture(scope="module", autouse=True)
def _meltano_installed() -> None:
    require_meltano()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(contacts=30, seed=23, username=SIM_USER, password=SIM_PASSWORD) as fresh:
        yield fresh


def audience(pg: PostgresServer, database: str, segment: int, members: list[int]) -> None:
    """A table ``members`` with one row per contact, each inserted in its own transaction (so each has its
    own xmin, as rows loaded over time have), and a view ``audience`` selecting it."""
    pg.psql(f"CREATE DATABASE {database}")
    pg.psql("CREATE TABLE public.members (contact_id integer PRIMARY KEY, segment_id integer)", database)
    for contact in members:
        pg.psql(f"INSERT INTO public.members VALUES ({contact}, {segment})", database)
    pg.psql("CREATE VIEW public.audience AS SELECT contact_id, segment_id FROM public.members", database)


def mirror_env(tmp_path: Path, sim: Simulator, pg: PostgresServer, database: str, results: str,
               **extra: str) -> dict[str, str]:
    """The environment of a run against ``sim`` and ``database`` (`meltano` on PATH, environment `sim`, as a
    user's shell has them); the results of this run go to ``results``."""
    return sim_env(tmp_path, sim, **pg_env(pg, database), MELTANO_ENVIRONMENT="sim",
                   PATH=f"{MELTANO.parent}:{os.environ['PATH']}",
                   TARGET_MAUTIC_RESULTS_PATH=str(tmp_path / results), **extra)


def readme_block(stream: str, env: dict[str, str]) -> str:
    """Run the README's block for ``stream`` (it names public-audience); its output."""
    script = README_BLOCK.replace("public-audience", stream)
    assert "meltano run --full-refresh tap-postgres-snapshot target-mautic" in script
    done = run_bash(script, ROOT, env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout + done.stderr


def outcomes(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("stream", ["public-audience", "public-members"], ids=["view", "table"])
def test_a_snapshot_from_tap_postgres_snapshot_removes_exactly_the_absent_member(tmp_path, sim, pg, stream):
    """A segment of 10 contacts, a view (or table) of 9 of them: the one it lacks is removed, the 9 stay;
    the same snapshot again finds nothing to do and writes nothing."""
    segment, ids = fill_segment(sim, 10)
    database = "audience_" + stream.split("-")[1]
    audience(pg, database, segment, ids[1:])

    first = readme_block(stream, mirror_env(tmp_path, sim, pg, database, "first.jsonl"))
    assert "removed nothing" not in first
    assert segment_members(sim, segment) == set(ids[1:])
    results = outcomes(tmp_path / "first.jsonl")
    assert [(r["mautic_id"], r["key"]) for r in results if r["outcome"] == "removed"] == [
        (ids[0], {"contact_id": ids[0], "segment_id": segment})]
    assert sorted(r["outcome"] for r in results) == ["removed"] + ["unchanged"] * 9

    sim.clear_log()
    readme_block(stream, mirror_env(tmp_path, sim, pg, database, "second.jsonl"))
    assert segment_members(sim, segment) == set(ids[1:])
    assert sorted(r["outcome"] for r in outcomes(tmp_path / "second.jsonl")) == ["unchanged"] * 9
    assert [r for r in settled_log(sim) if r["method"] != "GET"] == []


def test_full_refresh_reads_the_whole_table_after_a_run_cut_short(tmp_path, sim, pg):
    """The state a run cut short leaves (an xmin bookmark in the middle of the table, its version) makes the
    tap resume there: without --full-refresh the next run's snapshot holds only the rows after it, closed by
    an ACTIVATE_VERSION that no ACTIVATE_VERSION opened in this run, so the mirror removes nothing and says
    why (even with a mirror_max_removals that would let all 6 go); with it, the whole table is read and
    exactly the absent member goes."""
    segment, ids = fill_segment(sim, 10)
    audience(pg, "audience_cut", segment, ids[1:])
    xmins = pg.psql("SELECT xmin FROM public.members ORDER BY contact_id", "audience_cut").split()
    cut = {"singer_state": {"bookmarks": {"public-members": {
        "last_replication_method": "FULL_TABLE", "version": 1, "xmin": int(xmins[5])}}}}
    env = mirror_env(tmp_path, sim, pg, "audience_cut", "resumed.jsonl",
                     TAP_POSTGRES_SNAPSHOT__SELECT=json.dumps(["public-members.*"]),
                     TARGET_MAUTIC_STREAM_CONTEXTS=json.dumps({"public-members": "segment_memberships"}),
                     TARGET_MAUTIC_SYNC_MODE="mirror", TARGET_MAUTIC_MIRROR_MAX_REMOVALS="100%")
    meltano("state", "set", "--force", STATE_ID, json.dumps(cut), env=env)

    resumed = meltano("run", "tap-postgres-snapshot", "target-mautic", env=env, check=False)
    assert resumed.returncode == 0, resumed.stdout[-2000:]
    assert "Resuming Full Table replication" in resumed.stdout
    assert ("sync_mode mirror removed nothing: no ACTIVATE_VERSION came before its records"
            in resumed.stdout), resumed.stdout[-2000:]
    assert segment_members(sim, segment) == set(ids)

    meltano("state", "set", "--force", STATE_ID, json.dumps(cut), env=env)
    readme_block("public-members", mirror_env(tmp_path, sim, pg, "audience_cut", "full.jsonl"))
    assert segment_members(sim, segment) == set(ids[1:])
    assert sorted(r["outcome"] for r in outcomes(tmp_path / "full.jsonl")) == ["removed"] + ["unchanged"] * 9
