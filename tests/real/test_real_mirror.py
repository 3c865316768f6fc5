"""sync_mode mirror on a real Mautic 5.1.0: a completed snapshot takes the member it lacks out of the segment
(MariaDB shows it), and a refusal above mirror_max_removals leaves every member in."""

from __future__ import annotations

from pathlib import Path

from tests.real.conftest import RealMautic
from tests.real.support import run_target, seed, singer

SCHEMA = {"type": "object",
          "properties": {"contact_id": {"type": "integer"}, "segment_id": {"type": "integer"}}}
MIRROR = {"sync_mode": "mirror", "stream_contexts": {"members": "segment_memberships"}}


def _members(real: RealMautic, segment: int) -> set[int]:
    rows = real.sql("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = %s AND manually_removed = 0",
                    segment)
    return {int(r["lead_id"]) for r in rows}


def _snapshot(segment: int, ids: list[int]) -> list[dict]:
    lines = singer("members", SCHEMA, [{"contact_id": i, "segment_id": segment} for i in ids])
    for line in lines[1:]:
        line["version"] = 11
    return [*lines, {"type": "ACTIVATE_VERSION", "stream": "members", "version": 11}]


def test_mirror_removes_the_member_missing_from_the_snapshot_and_refuses_above_the_limit(
    real: RealMautic, tmp_path: Path
):
    seeded = seed(real, contacts=10)
    ids = sorted(seeded.contacts)
    before = _members(real, seeded.segment)
    assert set(ids) <= before
    code, _, err = run_target(real, tmp_path, _snapshot(seeded.segment, ids[3:]), mirror_max_removals=1,
                              **MIRROR)
    assert code == 1 and "nothing removed" in err
    assert _members(real, seeded.segment) == before
    kept = sorted(before - {ids[0]})
    code, results, err = run_target(real, tmp_path, _snapshot(seeded.segment, kept), mirror_max_removals=1,
                                    **MIRROR)
    assert code == 0, err[-2000:]
    assert [r["key"] for r in results if r["outcome"] == "removed"] == [
        {"contact_id": ids[0], "segment_id": seeded.segment}]
    assert _members(real, seeded.segment) == set(kept)
