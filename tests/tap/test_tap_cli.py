"""``tap-mautic --test``: one cheap call reporting the version, or one line naming cause and fix, exit 1."""

from __future__ import annotations

import json
import socket

import pytest

from mautic_sim import Simulator
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config
from tests.support.tap import run_cli

FAST = {"max_retries": 1, "request_timeout": 5}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _one_line_failure(proc) -> str:
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("tap-mautic: ")]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert proc.stdout.strip() == ""
    return lines[0]


def test_connection_test_reports_the_version(session_sim: Simulator, tmp_path):
    proc = run_cli(tmp_path, basic_config(session_sim, **FAST), "--test")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Connected to Mautic 5.1.0" in proc.stderr


def test_bad_password(session_sim: Simulator, tmp_path):
    line = _one_line_failure(run_cli(tmp_path, basic_config(session_sim, password="wrong", **FAST), "--test"))
    assert "password" in line.lower() or "credentials" in line.lower()
    assert "wrong" not in line


@pytest.mark.parametrize(("flags", "words"), [
    ({"api": False}, ("api", "enable")),
    ({"basic_auth": False}, ("basic", "enable")),
])
def test_instance_configuration_errors(tmp_path, flags, words):
    with Simulator(contacts=3, username=SIM_USER, password=SIM_PASSWORD, **flags) as sim:
        line = _one_line_failure(run_cli(tmp_path, basic_config(sim, **FAST), "--test"))
    assert all(w in line.lower() for w in words), line


def test_wrong_url(tmp_path):
    config = {"base_url": f"http://127.0.0.1:{_closed_port()}", "username": SIM_USER,
              "password": SIM_PASSWORD, **FAST}
    line = _one_line_failure(run_cli(tmp_path, config, "--test"))
    assert "base_url" in line


def test_tls_failure(session_sim: Simulator, tmp_path):
    config = basic_config(session_sim, base_url=session_sim.url.replace("http://", "https://"), **FAST)
    line = _one_line_failure(run_cli(tmp_path, config, "--test"))
    # https:// to a plain-HTTP port is not a certificate problem: verify_ssl would not help (issue 11, #9)
    assert "TLS handshake failed" in line and "plain HTTP" in line and "'base_url'" in line


def test_bad_setting_is_one_line(tmp_path):
    proc = run_cli(tmp_path, {"base_url": "mautic.example.com", "username": "u", "password": "p"}, "--test")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "base_url" in proc.stderr


def test_discover_lists_streams(session_sim: Simulator, tmp_path):
    proc = run_cli(tmp_path, basic_config(session_sim), "--discover")
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {entry["tap_stream_id"] for entry in json.loads(proc.stdout)["streams"]}
    assert {"contacts", "companies", "form_submissions_results", "audit_log", "marketing_messages"} <= names
