"""Resumable mid-stream (issue 9, point 2): a tap killed anywhere resumes at its last checkpoint.

The tap runs as a subprocess; it is killed with SIGKILL once about half the contacts were written, and the
second run starts from the last STATE the first one wrote.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess

from mautic_sim import Simulator
from tap_mautic.checkpoint import CHECKPOINT_KEY
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config
from tests.support.tap import ROOT, SyncResult, catalog_for, tap_command

CONTACTS = 4000
PAGE = 50


def _killed_run(tmp, config, catalog, kill_after: int) -> tuple[set[int], dict]:
    """Run the tap, SIGKILL it after ``kill_after`` contact records; its contact ids and last STATE."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(tap_command(tmp, config, catalog=catalog), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=str(tmp))
    ids: set[int] = set()
    state: dict = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            msg = json.loads(line)
            if msg["type"] == "RECORD" and msg["stream"] == "contacts":
                ids.add(msg["record"]["id"])
                if len(ids) >= kill_after:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            elif msg["type"] == "STATE":
                state = msg["value"]
    finally:
        proc.kill()
        proc.wait()
    return ids, state


def _run(tmp, config, catalog, state) -> SyncResult:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(tap_command(tmp, config, catalog=catalog, state=state), capture_output=True,
                          text=True, timeout=300, env=env, cwd=str(tmp))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return SyncResult.from_lines(proc.stdout.splitlines())


def test_killed_run_resumes_where_it_stopped(tmp_path, slices):
    with Simulator(contacts=CONTACTS, seed=5, username=SIM_USER, password=SIM_PASSWORD) as sim:
        config = basic_config(sim, page_size=PAGE, **slices)
        catalog = catalog_for(config, ["contacts"])
        first, state = _killed_run(tmp_path, config, catalog, CONTACTS // 2)
        checkpoint = state["bookmarks"]["contacts"][CHECKPOINT_KEY]
        assert checkpoint["last_id"] is not None and checkpoint["window"][1]
        # STATE never claims more than what was written before it
        assert checkpoint["last_id"] <= max(first)
        second = _run(tmp_path, config, catalog, state)
        every = {int(row["id"]) for row in sim.query("SELECT id FROM leads")}
    again = second.ids("contacts")
    assert len(first) >= CONTACTS // 2
    assert len(every) == CONTACTS
    assert (first | again) == every
    assert len(first & again) <= 0.1 * len(first), len(first & again)
    final = second.final_state["bookmarks"]["contacts"]
    assert CHECKPOINT_KEY not in final  # the final bookmark is as it always was
    # the bookmark is the first (interrupted) run's start: what changed since is read again next time
    assert final["replication_key_value"] == checkpoint["window"][1]


def test_resumed_pass_is_read_after_the_checkpoint(session_sim, slices):
    """In-process: a stored checkpoint makes the pass start after its last id (no id at or below it)."""
    from tests.support.tap import sync

    config = basic_config(session_sim, page_size=10, **slices)
    full = sync(config, streams=["contacts"])
    mark = full.states[2]["bookmarks"]["contacts"][CHECKPOINT_KEY]
    assert mark["last_id"] is not None
    resumed = sync(config, streams=["contacts"], state={"bookmarks": {"contacts": {CHECKPOINT_KEY: mark}}})
    ids = resumed.ids("contacts")
    assert ids and min(ids) > mark["last_id"]
    assert ids | {i for i in full.ids("contacts") if i <= mark["last_id"]} == full.ids("contacts")


def test_no_message_says_progress_is_not_resumable(session_sim, caplog):
    """singer-sdk says "Stream is assumed to be unsorted, progress is not resumable if interrupted" in its log
    and "Progress is not resumable if interrupted." in every mid-stream STATE; the checkpoint makes both
    untrue (the test above resumes exactly), so neither is said. The stream stays unsorted for the SDK: its
    bookmark is still kept as the largest value seen (``progress_markers``) until the stream ends."""
    from tap_mautic.checkpoint import RESUMABLE_NOTE
    from tests.support.tap import sync

    caplog.set_level(logging.INFO)
    result = sync(basic_config(session_sim, page_size=10), streams=["contacts"])
    assert not [r for r in caplog.records if "not resumable" in r.getMessage()]
    mid_stream = [s["bookmarks"]["contacts"] for s in result.states
                  if CHECKPOINT_KEY in s.get("bookmarks", {}).get("contacts", {})]
    assert mid_stream and all(b["progress_markers"]["Note"] == RESUMABLE_NOTE for b in mid_stream)
    assert "not resumable" not in json.dumps(result.states)
    final = result.final_state["bookmarks"]["contacts"]
    assert "progress_markers" not in final and final["replication_key_value"]
