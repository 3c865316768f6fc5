"""Helpers of the Meltano end-to-end tests (tests/e2e/): a run's environment against a simulator, the check
that Meltano is installed, Postgres connection settings, and a segment's members as the simulator holds them.

Each run gets its own Meltano system database and results file (scripts/pipeline.meltano_env), so nothing
here touches a user's state in .meltano/.
"""

from __future__ import annotations

from pathlib import Path

from mautic_sim import Simulator
from scripts.pipeline import DUCKDB_PYTHON, MELTANO, meltano_env
from tests.support.config import SIM_PASSWORD
from tests.support.postgres import PostgresServer


def require_meltano() -> None:
    """Fail (not skip) without Meltano: the tests would prove nothing, and `make test` installs it first."""
    assert MELTANO.exists() and DUCKDB_PYTHON.exists(), (
        "Meltano and its plugins are not installed: run `make meltano` (make test does)"
    )


def sim_env(tmp_path: Path, sim: Simulator, **extra: str) -> dict[str, str]:
    """The environment of `meltano --environment sim ...` against ``sim``, isolated under ``tmp_path``."""
    return meltano_env(tmp_path, {"MAUTIC_SIM_URL": sim.url, "MAUTIC_SIM_PASSWORD": SIM_PASSWORD, **extra})


def pg_env(pg: PostgresServer, database: str) -> dict[str, str]:
    """The PG_* variables meltano.yml reads for tap-postgres and target-postgres."""
    return {"PG_HOST": pg.host, "PG_PORT": str(pg.port), "PG_USER": pg.user, "PG_PASSWORD": pg.password,
            "PG_DATABASE": database}


def segment_members(sim: Simulator, segment: int) -> set[int]:
    """Contacts in ``segment`` as the simulator's lead_lists_leads holds them (removed ones excluded)."""
    return {r["lead_id"] for r in sim.query("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = ? "
                                            "AND manually_removed = 0", (segment,))}


def fill_segment(sim: Simulator, size: int) -> tuple[int, list[int]]:
    """The first segment, made to hold exactly the first ``size`` contacts by id: (segment, contact ids)."""
    segment = sim.query("SELECT id FROM lead_lists ORDER BY id LIMIT 1")[0]["id"]
    ids = [r["id"] for r in sim.query("SELECT id FROM leads ORDER BY id LIMIT ?", (size,))]
    sim.execute("DELETE FROM lead_lists_leads WHERE leadlist_id = ?", (segment,))
    for i in ids:
        sim.execute("INSERT INTO lead_lists_leads (leadlist_id, lead_id, date_added, manually_removed, "
                    "manually_added) VALUES (?, ?, '2026-01-01 00:00:00', 0, 1)", (segment, i))
    assert segment_members(sim, segment) == set(ids)
    return segment, ids
