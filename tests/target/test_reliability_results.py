"""target-mautic's results file after a fatal error (issue 19, defect 4) and its one vocabulary of outcomes.

Before the fix a SCHEMA the target refused (properties that are not fields of the instance, e.g. a field
deleted in Mautic after the input was produced) ended the run with one line of 4,000 characters and no result
line for the records read after it: the README promises a line for every record read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mautic_sim import Simulator
from tests.support.target import cli, contact_lines, emails, results

OUTCOMES = {"created", "updated", "unchanged", "skipped", "deleted", "failed", "not_written"}
LINE_FIELDS = {"run_id", "run_at", "stream", "key", "mautic_id", "outcome", "message", "warnings", "changes"}
STOPPED = "the run stopped before this record: "


def refused_schema(stream: str, unknown: int, key_properties: list[str]) -> str:
    properties: dict[str, Any] = {"id": {"type": ["integer", "null"]}, "email": {"type": ["string", "null"]}}
    properties |= {f"deleted_field_{i}": {"type": ["string", "null"]} for i in range(unknown)}
    return json.dumps({"type": "SCHEMA", "stream": stream, "key_properties": key_properties,
                       "schema": {"type": "object", "properties": properties}})


def records(stream: str, rows: list[dict[str, Any]]) -> list[str]:
    return [json.dumps({"type": "RECORD", "stream": stream, "record": row}) for row in rows]


def assert_line_shape(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        assert set(line) == LINE_FIELDS and line["outcome"] in OUTCOMES, line
        assert isinstance(line["warnings"], list)


def test_a_refused_schema_gives_every_record_read_a_not_written_line(sim: Simulator, tmp_path: Path) -> None:
    rows = [{"id": 1000 + i, "email": f"gone.{i}@example.org", "deleted_field_0": "x"} for i in range(20)]
    text = "\n".join([refused_schema("contacts", 200, ["id"]), *records("contacts", rows)]) + "\n"
    done = cli(sim, tmp_path, text)

    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    cause = last.split("| ", 2)[-1] if "| " in last else last
    assert len(cause) < 300, cause
    assert "200 properties ('deleted_field_0', 'deleted_field_1', 'deleted_field_2' and 197 more)" in cause
    out = results(tmp_path)
    assert_line_shape(out)
    assert [line["key"] for line in out] == [{"id": row["id"]} for row in rows]  # the SCHEMA's key_properties
    assert {line["outcome"] for line in out} == {"not_written"}
    assert all(line["message"].startswith(STOPPED + "Stream 'contacts': 200 properties") for line in out)
    assert all(len(line["message"]) < 400 for line in out)
    assert not sim.query("SELECT id FROM leads WHERE email LIKE 'gone.%'")


def test_records_before_and_after_a_refused_schema_each_get_one_line(sim: Simulator, tmp_path: Path) -> None:
    """Contacts buffered before another stream's SCHEMA is refused, and the records after it."""
    before = emails(5, "before")
    companies = [{"id": None, "email": None, "deleted_field_0": "x"}] * 3
    text = "\n".join([*contact_lines(before), refused_schema("companies", 1, []),
                      *records("companies", companies), *records("contacts", emails(4, "after"))]) + "\n"
    done = cli(sim, tmp_path, text)

    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "'deleted_field_0'" in done.stderr.splitlines()[-1]
    out = results(tmp_path)
    assert_line_shape(out)
    assert [line["stream"] for line in out] == ["contacts"] * 5 + ["companies"] * 3 + ["contacts"] * 4
    assert [line["key"].get("email") for line in out if line["stream"] == "contacts"] == [
        r["email"] for r in [*before, *emails(4, "after")]]  # keyed as the contacts sink keys them
    assert {line["outcome"] for line in out} == {"not_written"}
    assert not sim.query("SELECT id FROM leads WHERE email LIKE 'before.%' OR email LIKE 'after.%'")


def test_records_after_an_unreadable_line_are_reported_not_written(sim: Simulator, tmp_path: Path) -> None:
    lines = contact_lines(emails(3, "ok"))
    lines += ["this is not JSON", *contact_lines(emails(2, "unread"))[1:]]
    done = cli(sim, tmp_path, "\n".join(lines) + "\n")

    assert done.returncode == 1 and "line 5" in done.stderr
    out = results(tmp_path)
    assert_line_shape(out)
    assert [(line["key"]["email"].split(".")[0], line["outcome"]) for line in out] == [
        ("ok", "created")] * 3 + [("unread", "not_written")] * 2
    assert out[-1]["message"] == STOPPED + "line 5 cannot be read"
