"""Bad input ends a run with one line naming what is at fault: exit 1, no traceback, no secret, no record."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mautic_sim import Simulator
from tests.support.config import basic_config

BIN = Path(sys.executable).parent
SECRET = "Sekr3t-Value-42"


def run(tool: str, tmp_path: Path, config: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / tool), "--config", str(path), *args],
        input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess, *expected: str) -> None:
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr


@pytest.mark.parametrize("tool", ["tap-mautic", "target-mautic"])
@pytest.mark.parametrize("bad", [12345678901, [SECRET], {"value": SECRET}])
def test_a_secret_of_the_wrong_type_is_named_not_shown(session_sim: Simulator, tool: str, bad: object,
                                                     tmp_path: Path) -> None:
    config = basic_config(session_sim, client_secret=bad)
    done = run(tool, tmp_path, config, *(["--test"] if tool == "tap-mautic" else []))
    assert_one_line_error(done, "'client_secret' must be a string")
    assert SECRET not in done.stderr + done.stdout
    assert "12345678901" not in done.stderr + done.stdout


def test_a_bad_tap_setting_is_named(session_sim: Simulator, tmp_path: Path) -> None:
    done = run("tap-mautic", tmp_path, basic_config(session_sim, page_size="abc"), "--test")
    assert_one_line_error(done, "config['page_size']")


def test_a_state_file_that_is_not_json(session_sim: Simulator, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    done = run("tap-mautic", tmp_path, basic_config(session_sim), "--state", str(state))
    assert_one_line_error(done, "is not JSON")


def test_a_truncated_input_line_is_reported_without_its_data(session_sim: Simulator, tmp_path: Path) -> None:
    schema = {"type": "SCHEMA", "stream": "contacts", "key_properties": [],
              "schema": {"type": "object", "properties": {"email": {"type": "string"}}}}
    truncated = '{"type": "RECORD", "stream": "contacts", "record": {"email": "private@x.org"'
    stdin = json.dumps(schema) + "\n" + truncated + "\n"
    done = run("target-mautic", tmp_path, basic_config(session_sim), stdin=stdin)
    assert_one_line_error(done, "Invalid input: line 2 is not valid JSON")
    assert "private@x.org" not in done.stderr


def test_a_record_before_its_schema(session_sim: Simulator, tmp_path: Path) -> None:
    stdin = json.dumps({"type": "RECORD", "stream": "contacts", "record": {"email": "a@b.org"}}) + "\n"
    done = run("target-mautic", tmp_path, basic_config(session_sim), stdin=stdin)
    assert_one_line_error(done, "Invalid input: line 1: A record for stream 'contacts' was encountered")


@pytest.mark.parametrize(
    ("tool", "setting"),
    [
        ("tap-mautic", {"page_size": 0}),
        ("tap-mautic", {"stream_options": {"contacts": {"page_size": -5}}}),
        ("target-mautic", {"batch_size": 0}),
    ],
)
def test_sizes_must_be_positive(session_sim: Simulator, tool: str, setting: dict, tmp_path: Path) -> None:
    args = ["--test"] if tool == "tap-mautic" else []
    done = run(tool, tmp_path, basic_config(session_sim, **setting), *args)
    assert_one_line_error(done, "is less than the minimum of 1")


def test_connection_test_against_a_wrong_url_retries_once(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {"base_url": f"http://127.0.0.1:{port}", "username": "admin", "password": SECRET}
    done = run("tap-mautic", tmp_path, config, "--test")
    assert_one_line_error(done, "cannot connect (check 'base_url'", "gave up after 2 attempts")
    assert SECRET not in done.stderr
