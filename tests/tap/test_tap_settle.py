"""The settle window: an event row whose id was taken before a newer one's but committed after it is not lost.

Mautic's ids come from AUTO_INCREMENT at insert and become visible at commit, so id N+1 can be readable while
id N is not yet. A sync that reads N+1 and bookmarks it would never read N. The tap leaves rows younger than
``stats_settle_seconds`` (by Mautic's clock at the start of the run) to the next run.
"""

from __future__ import annotations

from datetime import timedelta

from tests.support.config import basic_config
from tests.support.tap import sync


def _copy_hit(sim, source_id: int, new_id: int, when: str) -> None:
    columns = [c["name"] for c in sim.query("PRAGMA table_info(page_hits)")]
    names = ", ".join(c for c in columns if c not in ("id", "date_hit"))
    sim.execute(
        f"INSERT INTO page_hits (id, date_hit, {names}) SELECT ?, ?, {names} FROM page_hits WHERE id = ?",
        (new_id, when, source_id),
    )


def _late_commit_scenario(sim, settle: int, slices: dict) -> set[int]:
    """Ids of page_hits delivered over two runs when id M+1 commits after M+2 was already readable."""
    old = (sim.now() - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    sim.execute("UPDATE page_hits SET date_hit = ? WHERE date_hit > ?", (old, old))  # the seed has settled
    newest = sim.query("SELECT MAX(id) AS m FROM page_hits")[0]["m"]
    now = sim.now().strftime("%Y-%m-%d %H:%M:%S")
    _copy_hit(sim, newest, newest + 2, now)  # M+2 committed; M+1 still in flight
    config = basic_config(sim, stats_settle_seconds=settle, page_size=10, **slices)
    first = sync(config, streams=["page_hits"])
    _copy_hit(sim, newest, newest + 1, now)  # M+1 commits late
    sim.execute("UPDATE page_hits SET date_hit = ? WHERE id > ?", (old, newest))  # both have settled now
    second = sync(config, streams=["page_hits"], state=first.last_state)
    return first.ids("page_hits") | second.ids("page_hits")


def test_a_late_commit_is_read_by_the_next_run(sim, slices) -> None:
    expected = {r["id"] for r in sim.query("SELECT id FROM page_hits")}
    newest = max(expected)
    delivered = _late_commit_scenario(sim, settle=30, slices=slices)
    assert delivered == expected | {newest + 1, newest + 2}


def test_without_the_window_the_late_row_is_lost(sim, slices) -> None:
    """The same scenario with the window off: the test above would fail without the window."""
    newest = sim.query("SELECT MAX(id) AS m FROM page_hits")[0]["m"]
    delivered = _late_commit_scenario(sim, settle=0, slices=slices)
    assert newest + 2 in delivered
    assert newest + 1 not in delivered
