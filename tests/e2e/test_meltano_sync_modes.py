"""target-mautic's sync modes as users run them: real Meltano (plugins installed by `make meltano`) against a
simulator, checked in the simulator's tables and the results file.

`update` and `insert` go through `meltano run tap-postgres target-mautic` from a Postgres table. The mirror
goes through `meltano invoke target-mautic` fed a Singer file with ACTIVATE_VERSION after the records, as
`make demo` does: tap-postgres 0.10.0 sends it only before them, which a mirror never takes as a complete
snapshot (tests/e2e/test_meltano_e2e.py checks that case).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from scripts.pipeline import meltano
from tests.support.config import SIM_PASSWORD, SIM_USER
from tests.support.meltano import fill_segment, pg_env, require_meltano, segment_members, sim_env

pytestmark = pytest.mark.e2e

NEW_EMAIL = "sync.mode.new@example.org"
UNMARKED = "sync_mode mirror removed nothing: no ACTIVATE_VERSION followed its records"


@pytest.fixture(scope="module", autouse=True)
def _meltano_installed() -> None:
    require_meltano()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(contacts=30, seed=23, username=SIM_USER, password=SIM_PASSWORD) as fresh:
        yield fresh


def results(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "target-mautic-results.jsonl").read_text().splitlines()]


def city_by_email(sim: Simulator, *emails: str) -> dict[str, str | None]:
    """The city of each contact with one of ``emails`` (a contact missing from Mautic is absent)."""
    marks = ", ".join("?" * len(emails))
    rows = sim.query(f"SELECT email, city FROM leads WHERE email IN ({marks})", emails)
    return {r["email"]: r["city"] for r in rows}


@pytest.mark.parametrize(("mode", "existing_outcome", "new_outcome"),
                         [("update", "updated", "skipped"), ("insert", "skipped", "created")])
def test_update_and_insert_through_tap_postgres_write_only_what_the_mode_allows(
        tmp_path, sim, pg, mode, existing_outcome, new_outcome):
    """A table with one contact Mautic holds and one it does not: `update` changes the first and never creates
    the second, `insert` creates the second and never changes the first; each skip is reported."""
    existing = sim.query("SELECT email, city FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 1")[0]
    database = f"feed_{mode}"
    pg.psql(f"CREATE DATABASE {database}")
    pg.psql("CREATE TABLE public.feed (email text PRIMARY KEY, city text); "
            f"INSERT INTO public.feed VALUES ('{existing['email']}', 'Warehouse City'), "
            f"('{NEW_EMAIL}', 'New City');", database)
    env = sim_env(tmp_path, sim, **pg_env(pg, database), TAP_POSTGRES__SELECT=json.dumps(["public-feed.*"]),
                  TARGET_MAUTIC_STREAM_CONTEXTS=json.dumps({"public-feed": "contacts"}),
                  TARGET_MAUTIC_SYNC_MODE=mode)
    meltano("--environment", "sim", "run", "tap-postgres", "target-mautic", env=env)

    # update: the new contact never created; insert: the existing one never changed
    expected = ({existing["email"]: "Warehouse City"} if mode == "update"
                else {existing["email"]: existing["city"], NEW_EMAIL: "New City"})
    assert city_by_email(sim, existing["email"], NEW_EMAIL) == expected
    assert {r["key"]["email"]: r["outcome"] for r in results(tmp_path)} == {
        existing["email"]: existing_outcome, NEW_EMAIL: new_outcome}


def snapshot(path: Path, segment: int, members: list[int], *, complete: bool = True) -> Path:
    """A full snapshot of ``segment``'s members as Singer messages: ACTIVATE_VERSION 1, its records, then
    (when ``complete``) the ACTIVATE_VERSION that ends it and a STATE. Not complete: the input as a run cut
    short just before that message leaves it."""
    schema = {"type": "object", "properties": {"contact_id": {"type": "integer"},
                                               "segment_id": {"type": "integer"}}}
    messages: list[dict[str, Any]] = [
        {"type": "SCHEMA", "stream": "segment_memberships", "key_properties": [], "schema": schema},
        {"type": "ACTIVATE_VERSION", "stream": "segment_memberships", "version": 1}]
    messages += [{"type": "RECORD", "stream": "segment_memberships", "version": 1,
                  "record": {"contact_id": i, "segment_id": segment}} for i in members]
    if complete:
        messages += [{"type": "ACTIVATE_VERSION", "stream": "segment_memberships", "version": 1},
                     {"type": "STATE", "value": {"audience": "v1"}}]
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return path


def invoke_mirror(tmp_path: Path, sim: Simulator, singer: Path, **settings: str) -> tuple[str, int]:
    """`meltano invoke target-mautic` under sync_mode mirror, fed ``singer``: (its output, its exit code)."""
    env = sim_env(tmp_path, sim, TARGET_MAUTIC_SYNC_MODE="mirror", **settings)
    done = meltano("--environment", "sim", "invoke", "target-mautic", env=env, stdin=singer, check=False)
    return done.stdout, done.returncode


def test_a_completed_snapshot_removes_the_member_it_lacks(tmp_path, sim):
    segment, ids = fill_segment(sim, 10)
    output, code = invoke_mirror(tmp_path, sim, snapshot(tmp_path / "audience.jsonl", segment, ids[1:]),
                                 TARGET_MAUTIC_MIRROR_MAX_REMOVALS="1")
    assert code == 0, output[-2000:]
    assert segment_members(sim, segment) == set(ids[1:])
    removed = [r for r in results(tmp_path) if r["outcome"] == "removed"]
    assert [(r["mautic_id"], r["key"]) for r in removed] == [(ids[0], {"contact_id": ids[0],
                                                                       "segment_id": segment})]
    assert sorted(r["outcome"] for r in results(tmp_path)) == ["removed"] + ["unchanged"] * 9


def test_a_snapshot_cut_short_before_activate_version_removes_nothing(tmp_path, sim):
    """The same snapshot without its end: even with no removal limit, the member it lacks stays."""
    segment, ids = fill_segment(sim, 10)
    cut = snapshot(tmp_path / "audience.cut.jsonl", segment, ids[1:], complete=False)
    output, code = invoke_mirror(tmp_path, sim, cut, TARGET_MAUTIC_MIRROR_MAX_REMOVALS="100%")
    assert code == 0, output[-2000:]
    assert segment_members(sim, segment) == set(ids)
    assert sum(UNMARKED in line for line in output.splitlines()) == 1
    assert sorted(r["outcome"] for r in results(tmp_path)) == ["unchanged"] * 9


def test_more_removals_than_mirror_max_removals_remove_nothing_and_fail(tmp_path, sim):
    segment, ids = fill_segment(sim, 10)
    output, code = invoke_mirror(tmp_path, sim, snapshot(tmp_path / "audience.jsonl", segment, ids[3:]),
                                 TARGET_MAUTIC_MIRROR_MAX_REMOVALS="2")
    assert code != 0
    assert segment_members(sim, segment) == set(ids)
    why = [line for line in output.splitlines() if "more than mirror_max_removals" in line]
    assert len(why) == 1 and "3 of 10 segment members are not in the snapshot" in why[0], output[-2000:]
    assert "nothing removed" in why[0] and "Traceback" not in output
    assert not [r for r in results(tmp_path) if r["outcome"] == "removed"]
