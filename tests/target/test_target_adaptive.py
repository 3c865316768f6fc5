"""Adaptive concurrency on the target's lanes: under 429s every record gets exactly one result and is
written once, and the limit went down on the 429s, then up again (the limiter's record; nothing timed)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from mautic_sim import Simulator
from target_mautic.target import TargetMautic
from tests.support.config import basic_config
from tests.support.target import CONTACT_SCHEMA, messages, results


def test_writes_under_429s_keep_every_outcome_once_and_the_limit_goes_down_then_up(tmp_path: Path) -> None:
    records = [{"email": f"adaptive{i}@example.org", "firstname": f"A{i}"} for i in range(1200)]
    with Simulator(contacts=5, seed=4, latency_ms=10) as sim:
        for nth in range(3, 7):  # the 3rd to 6th batch call are refused (Retry-After: 1)
            sim.faults.schedule("429", nth=nth, path="/api/contacts/batch/new")
        config = basic_config(sim, results_path=str(tmp_path / "results.jsonl"), batch_size=10,
                              max_concurrency=8, concurrency_mode="adaptive", compare_before_write=False)
        target = TargetMautic(config=config, parse_env_config=False)
        limiter = target.connector.client.session.limiter
        assert limiter is not None
        with contextlib.redirect_stdout(io.StringIO()):
            target.listen(io.StringIO(messages("contacts", CONTACT_SCHEMA, records)))
        stored = [row["email"] for row in sim.store.query(
            "SELECT email FROM leads WHERE email LIKE 'adaptive%'")]
    outcomes = results(tmp_path)
    assert sorted(r["key"]["email"] for r in outcomes) == sorted(r["email"] for r in records)  # each once
    assert {r["outcome"] for r in outcomes} == {"created"}
    assert sorted(stored) == sorted(r["email"] for r in records)  # written once each: 0 lost, none twice
    steps = [(c.old, c.new, c.reason) for c in limiter.changes]
    down = next(i for i, (old, new, reason) in enumerate(steps) if new < old and reason == "429")
    assert any(new > old for old, new, _ in steps[down + 1:]), steps
