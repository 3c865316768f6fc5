"""target-mautic's reliability defects (issue 11): each test failed before its fix.

Every test checks the accounting invariant on the way: each input record ends as exactly one result line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from mautic_sim import Simulator
from tests.support.config import basic_config
from tests.support.secrets import assert_no_secrets
from tests.support.target import (
    BIN,
    CONTACT_SCHEMA,
    cli,
    contact_lines,
    count,
    emails,
    lead,
    lead_row,
    results,
    run_target,
)


# -- defect 1: a NaN/Infinity value fails its record only --------------------------------------------------
@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_a_nan_value_fails_its_record_only(sim: Simulator, tmp_path: Path, retry_waits, bad: str) -> None:
    records = emails(3, "nan")
    lines = contact_lines(records)
    schema = {**CONTACT_SCHEMA, "properties": {**CONTACT_SCHEMA["properties"],
                                                "points": {"type": ["number", "null"]}}}
    lines[0] = json.dumps({"type": "SCHEMA", "stream": "contacts", "key_properties": [], "schema": schema})
    record = '{"email": "bad.nan@example.org", "points": ' + bad + "}"
    lines.insert(2, '{"type": "RECORD", "stream": "contacts", "record": ' + record + "}")
    run = run_target(sim, tmp_path, "\n".join(lines) + "\n", on_record_error="report", write_points=True)

    assert run.error is None
    assert len(run.results) == 4
    failed = run.result_for(email="bad.nan@example.org")
    assert failed["outcome"] == "failed" and "'points'" in failed["message"]
    assert run.outcomes() == {"created": 3, "failed": 1}
    assert all(lead(sim, email=r["email"]) is not None for r in records)
    assert retry_waits == []  # not mistaken for a transient fault


# -- defect 6: blank lines and a BOM are tolerated; a bad line loses nothing before it ---------------------
def test_blank_lines_and_a_bom_are_tolerated(sim: Simulator, tmp_path: Path) -> None:
    lines = contact_lines(emails(3, "blank"))
    stdin = "\ufeff" + lines[0] + "\n\n" + lines[1] + "\n   \n" + "\n".join(lines[2:]) + "\n\n\n"
    done = cli(sim, tmp_path, stdin)
    assert done.returncode == 0, done.stderr
    assert [r["outcome"] for r in results(tmp_path)] == ["created"] * 3


def test_an_unreadable_line_loses_nothing_before_it(sim: Simulator, tmp_path: Path) -> None:
    before = count(sim, "leads")
    lines = contact_lines(emails(1500, "before.bad"))
    state = json.dumps({"type": "STATE", "value": {"n": 1500}})
    truncated = '{"type": "RECORD", "stream": "contacts", "record": {"email": "x@y.org"'
    stdin = "\n".join([*lines, state, truncated, *contact_lines(emails(2, "after.bad"))[1:]]) + "\n"
    done = cli(sim, tmp_path, stdin)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "x@y.org" not in done.stderr
    assert "line 1503" in done.stderr, done.stderr
    assert count(sim, "leads") == before + 1500  # all 1,500 records before the bad line were written
    out = results(tmp_path)  # the records after the bad line: read to the end, reported, never loaded
    assert len(out) == 1502 and [r["outcome"] for r in out[1500:]] == ["not_written"] * 2
    assert json.loads(done.stdout.splitlines()[-1]) == {"n": 1500}  # the state before it is good


# -- defect 7: a record missing its key property is reported, its batch written -----------------------------
def test_a_record_missing_its_key_property_is_reported(sim: Simulator, tmp_path: Path) -> None:
    records = [*emails(2, "key"), {"firstname": "No email"}, *emails(2, "key2")]
    run = run_target(sim, tmp_path, "\n".join(contact_lines(records, ["email"])) + "\n",
                     on_record_error="report")
    assert run.error is None
    assert len(run.results) == 5
    assert run.outcomes() == {"created": 4, "failed": 1}
    failed = next(r for r in run.results if r["outcome"] == "failed")
    assert "key property 'email'" in failed["message"]


# -- defect 8: the results file is opened (and truncated) before the first write ----------------------------
def test_an_unwritable_results_path_refuses_to_start(sim: Simulator, tmp_path: Path) -> None:
    before = count(sim, "leads")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    stdin = "\n".join(contact_lines(emails(3, "unwritable"))) + "\n"
    config = basic_config(sim, results_path=str(blocker / "results.jsonl"))
    (tmp_path / "config.json").write_text(json.dumps(config))
    done = subprocess.run([str(BIN / "target-mautic"), "--config", str(tmp_path / "config.json")],
                          input=stdin, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "'results_path'" in done.stderr, done.stderr
    assert count(sim, "leads") == before  # nothing written


def test_an_old_results_file_is_truncated_at_start(sim: Simulator, tmp_path: Path) -> None:
    (tmp_path / "results.jsonl").write_text('{"stale": true}\n')
    seen_at_first_request: list[str] = []
    sim.add_hook(lambda *_: seen_at_first_request.append((tmp_path / "results.jsonl").read_text()))
    done = cli(sim, tmp_path, "\n".join(contact_lines([{"email": "slow.start@example.org"}])) + "\n")
    assert done.returncode == 0, done.stderr
    assert "stale" not in seen_at_first_request[0]  # truncated before anything was sent
    assert [r["outcome"] for r in results(tmp_path)] == ["created"]


# -- the accounting invariant: SIGTERM ----------------------------------------------------------------------
def test_sigterm_finishes_the_batch_in_flight_and_reports_the_rest(sim: Simulator, tmp_path: Path,
                                                                    lanes: dict[str, int]) -> None:
    """SIGTERM arrives while 200 contacts are being sent: they finish; 50 buffered companies are reported.
    With lanes the target reads on while a full batch is sent: contacts read meanwhile are reported too."""
    company_schema = {"type": "object", "properties": {"companyname": {"type": "string"}}}
    schema = {"type": "SCHEMA", "stream": "companies", "key_properties": [], "schema": company_schema}
    lines = [json.dumps(schema)]
    lines += [json.dumps({"type": "RECORD", "stream": "companies", "record": {"companyname": f"Term {i} AG"}})
              for i in range(50)]
    lines += contact_lines(emails(200, "term"))
    lines += contact_lines(emails(10, "unread"))[1:]
    config = basic_config(sim, results_path=str(tmp_path / "results.jsonl"), batch_size_rows=200, **lanes)
    (tmp_path / "config.json").write_text(json.dumps(config))
    proc = subprocess.Popen([str(BIN / "target-mautic"), "--config", str(tmp_path / "config.json")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    signalled: list[bool] = []

    def terminate(method: str, path: str, query: str) -> None:
        if path == "/api/contacts/batch/new" and not signalled:
            signalled.append(True)
            os.kill(proc.pid, signal.SIGTERM)

    sim.add_hook(terminate)
    companies_before = count(sim, "companies")
    _, err = proc.communicate("\n".join(lines) + "\n", timeout=120)

    assert signalled and proc.returncode == 143, err
    assert "Traceback" not in err and "SIGTERM" in err, err
    out = results(tmp_path)
    contacts = [r for r in out if r["stream"] == "contacts"]
    read_ahead = contacts[200:]  # read while the full batch was sent in the background (lanes only)
    if lanes["max_concurrency"] == 1:
        assert len(out) == 250  # every record read: 200 contacts, 50 companies
    assert len(out) == 250 + len(read_ahead) and len(read_ahead) <= 10
    assert [r["outcome"] for r in contacts[:200]] == ["created"] * 200
    assert all(r["outcome"] == "not_written" and "stopped before this record" in r["message"]
               for r in read_ahead)
    assert not sim.query("SELECT id FROM leads WHERE email LIKE 'unread.%'")
    companies = [r for r in out if r["stream"] == "companies"]
    assert len(companies) == 50 and {r["outcome"] for r in companies} == {"not_written"}
    assert all("SIGTERM" in r["message"] for r in companies)
    assert count(sim, "companies") == companies_before
    assert_no_secrets(config, err, tmp_path)


# -- defect 3: lost answers while recovering; created/updated and written notes told right -----------------
COMPANY_SCHEMA = {"type": "object", "properties": {"companyname": {"type": "string"}}}


def test_a_second_lost_answer_while_recovering_companies(sim: Simulator, tmp_path: Path, retry_waits) -> None:
    before = count(sim, "companies")
    names = [f"Twice Lost {n} SA" for n in range(6)]
    source = "\n".join([
        json.dumps({"type": "SCHEMA", "stream": "companies", "key_properties": [], "schema": COMPANY_SCHEMA}),
        *(json.dumps({"type": "RECORD", "stream": "companies", "record": {"companyname": n}}) for n in names),
    ]) + "\n"
    sim.schedule_fault("timeout", nth=1, path="/api/companies/batch/new")  # not written; answer lost
    sim.schedule_fault("malformed", nth=2, path="/api/companies/batch/new")  # the resend: written, garbled

    run = run_target(sim, tmp_path, source, request_timeout=1)

    assert run.error is None
    assert run.outcomes("companies") == {"created": 6}
    assert count(sim, "companies") == before + 6  # each exactly once
    stored = {r["companyname"]: r["id"] for r in sim.query("SELECT id, companyname FROM companies")}
    assert {r["key"]["companyname"]: r["mautic_id"] for r in run.results} == {n: stored[n] for n in names}


def test_contacts_created_by_a_lost_attempt_are_reported_created(sim: Simulator, tmp_path: Path,
                                                                   retry_waits) -> None:
    records = emails(5, "lost.create")
    sim.schedule_fault("malformed", nth=1, path="/api/contacts/batch/new")  # written, answer garbled
    run = run_target(sim, tmp_path, "\n".join(contact_lines(records)) + "\n")
    assert run.error is None
    assert run.outcomes() == {"created": 5}
    seeded = lead_row(sim, id=3)
    again = run_target(sim, tmp_path, "\n".join(contact_lines([{"email": seeded["email"], "firstname": "Z"}]))
                       + "\n")
    assert again.outcomes() == {"updated": 1}  # an existing contact stays "updated"


def test_notes_written_by_a_lost_attempt_are_reported_created(sim: Simulator, tmp_path: Path,
                                                                retry_waits) -> None:
    schema = {"type": "object", "properties": {"contact_id": {"type": "integer"}, "text": {"type": "string"}}}
    notes = [{"contact_id": 4, "text": f"Lost answer note {n}"} for n in range(3)]
    source = "\n".join([
        json.dumps({"type": "SCHEMA", "stream": "notes", "key_properties": [], "schema": schema}),
        *(json.dumps({"type": "RECORD", "stream": "notes", "record": n}) for n in notes),
    ]) + "\n"
    before = count(sim, "lead_notes")
    sim.schedule_fault("malformed", nth=1, path="/api/notes/batch/new")
    run = run_target(sim, tmp_path, source)
    assert run.error is None
    assert run.outcomes() == {"created": 3}
    assert count(sim, "lead_notes") == before + 3
    assert all(r["mautic_id"] for r in run.results)


# -- defect 12: over-long values are refused as Mautic does, and reported per record -----------------------
def test_over_long_values_are_refused_and_reported(sim: Simulator, tmp_path: Path) -> None:
    long_email = "x" * 300 + "@example.org"  # 312 characters
    records = [
        {"email": "huge.name@example.org", "firstname": "N" * 1_000_000},
        {"email": long_email},
        {"email": "fine.one@example.org", "firstname": "F" * 191},
        {"email": "fine.two@example.org", "firstname": "Ok"},
    ]
    run = run_target(sim, tmp_path, "\n".join(contact_lines(records)) + "\n", on_record_error="report")
    assert len(run.results) == 4
    assert run.result_for(email="huge.name@example.org")["outcome"] == "failed"
    assert "firstname" in run.result_for(email="huge.name@example.org")["message"]
    # real 5.1.0 (2026-12-06): InputHelper::email cuts an email at 254 characters, then "… is invalid."
    assert "is invalid" in run.result_for(email=long_email)["message"]
    fine = [run.result_for(email=f"fine.{n}@example.org")["outcome"] for n in ("one", "two")]
    assert fine == ["created", "created"]
    longest = sim.query("SELECT MAX(LENGTH(firstname)) AS n, MAX(LENGTH(email)) AS e FROM leads")[0]
    assert longest["n"] <= 191 and longest["e"] <= 191


def test_line_separators_in_values_keep_one_result_per_line(sim: Simulator, tmp_path: Path) -> None:
    """U+0085, U+2028 and U+2029 are valid raw in JSON but split lines for str.splitlines() readers."""
    records = [{"email": "a\x85b@example.org"}, {"email": "sep.\u2028@example.org"},
               {"email": "ok@example.org"}]
    run = run_target(sim, tmp_path, "\n".join(contact_lines(records)) + "\n", on_record_error="report")
    assert [r["key"]["email"] for r in run.results] == [r["email"] for r in records]


def test_a_fatal_error_in_the_last_drain_still_gives_every_record_its_line(sim: Simulator, tmp_path: Path,
                                                                           lanes) -> None:
    """Credentials revoked while the end of input is being written: the run stops with one line, and every
    record read still has exactly one result line (before the fix the results file was closed first)."""
    records = emails(450, "last")
    calls = {"n": 0}

    def revoke(method: str, path: str, query: str) -> None:
        if path == "/api/contacts/batch/new":
            calls["n"] += 1
            if calls["n"] == 3:  # the end-of-input drain at one lane; the third chunk of it at the default
                sim.app.password = "revoked"

    sim.add_hook(revoke)
    done = cli(sim, tmp_path, "\n".join(contact_lines(records)) + "\n", **lanes)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = results(tmp_path)
    assert sorted(r["key"]["email"] for r in lines) == sorted(r["email"] for r in records)
    failed = [r for r in lines if r["outcome"] in ("failed", "not_written")]
    assert failed and all("stopped before this record" in r["message"] or "401" in r["message"]
                          or "credential" in r["message"].lower() for r in failed)
