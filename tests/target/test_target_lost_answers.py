"""target-mautic recovers from a lost answer to a company create without creating anything twice."""

from __future__ import annotations

from pathlib import Path

from tests.support.target import COMPANY_SCHEMA, count, messages, run_target


def test_lost_answer_to_company_batch_is_checked_not_resent(
    sim, tmp_path: Path, lanes: dict[str, int]
) -> None:
    before = count(sim, "companies")
    names = [f"Recovered {n} GmbH" for n in range(5)]
    source = messages("companies", COMPANY_SCHEMA, [{"companyname": n, "companycity": "Bonn"} for n in names])
    sim.schedule_fault("malformed", nth=1, path="/api/companies/batch/new")  # written, answer garbled

    run = run_target(sim, tmp_path, source, **lanes)

    assert run.error is None
    assert run.outcomes("companies") == {"created": 5}
    assert count(sim, "companies") == before + 5  # each exactly once
    stored = {r["companyname"]: r["id"] for r in sim.query("SELECT id, companyname FROM companies")}
    assert {r["key"]["companyname"]: r["mautic_id"] for r in run.results} == {n: stored[n] for n in names}
    creates = [r for r in run.requests if r["method"] == "POST" and r["path"].endswith("/batch/new")]
    assert len(creates) == 1  # not resent: the look-up found all five


def test_lost_answer_with_only_part_written_sends_the_rest(
    sim, tmp_path: Path, lanes: dict[str, int]
) -> None:
    before = count(sim, "companies")
    names = [f"Partial {n} AG" for n in range(4)]
    source = messages("companies", COMPANY_SCHEMA, [{"companyname": n} for n in names])
    # "timeout" answers after the client gave up; the simulator does not run the write, as if it had not
    # reached Mautic: the look-up then finds none and all four are sent again.
    sim.schedule_fault("timeout", nth=1, path="/api/companies/batch/new")

    run = run_target(sim, tmp_path, source, request_timeout=1, **lanes)

    assert run.outcomes("companies") == {"created": 4}
    assert count(sim, "companies") == before + 4
