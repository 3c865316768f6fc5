"""TLS end to end against ``Simulator(tls=True)`` (issue 11, defect 9): each test failed before its fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mautic_sim import Simulator
from tests.support.secrets import assert_no_secrets

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not available")
BIN = Path(sys.executable).parent
PASSWORD = "Pw-TLS-Sekr3t-value"
CONTACT = "\n".join(json.dumps(m) for m in [
    {"type": "SCHEMA", "stream": "contacts", "key_properties": [],
     "schema": {"type": "object", "properties": {"email": {"type": "string"}}}},
    {"type": "RECORD", "stream": "contacts", "record": {"email": "over.tls@example.org"}},
]) + "\n"


@pytest.fixture(scope="module")
def tls_sim():
    with Simulator(contacts=8, seed=4, username="admin", password=PASSWORD, tls=True) as sim:
        yield sim


def run(tool: str, tmp_path: Path, config: dict, *args: str, env: dict | None = None,
        stdin: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "config.json").write_text(json.dumps(config))
    environment = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    return subprocess.run([str(BIN / tool), "--config", str(tmp_path / "config.json"), *args], input=stdin,
                          env={**environment, **(env or {})}, capture_output=True, text=True, timeout=120,
                          check=False)


def catalog(tmp_path: Path, config: dict, env: dict | None = None, stream: str = "contacts") -> str:
    """The discovered catalog (over TLS too) with only ``stream`` selected."""
    discovered = run("tap-mautic", tmp_path, config, "--discover", env=env)
    assert discovered.returncode == 0, discovered.stderr
    entries = json.loads(discovered.stdout)["streams"]
    for entry in entries:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == stream
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"streams": entries}))
    return str(path)


def records(done: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines() if '"RECORD"' in line]


def test_sim_serves_https_with_a_certificate_for_loopback(tls_sim: Simulator) -> None:
    assert tls_sim.url.startswith("https://") and tls_sim.cert_file and Path(tls_sim.cert_file).exists()


def test_a_self_signed_certificate_is_one_line_naming_verify_ssl(tls_sim: Simulator, tmp_path: Path) -> None:
    config = {"base_url": tls_sim.url, "username": "admin", "password": PASSWORD}
    done = run("tap-mautic", tmp_path, config, "--test")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "certificate verification failed" in done.stderr and "'verify_ssl'" in done.stderr
    assert_no_secrets(config, done.stdout, done.stderr)


def test_verify_ssl_false_syncs_over_tls(tls_sim: Simulator, tmp_path: Path) -> None:
    config = {"base_url": tls_sim.url, "username": "admin", "password": PASSWORD, "verify_ssl": False}
    done = run("tap-mautic", tmp_path, config, "--catalog", catalog(tmp_path, config))
    assert done.returncode == 0, done.stderr
    assert len(records(done)) == 8
    assert "verify_ssl is false" in done.stderr
    assert_no_secrets(config, done.stdout, done.stderr)


def test_a_trusted_ca_bundle_is_used_by_every_request(tls_sim: Simulator, tmp_path: Path) -> None:
    """Discovery and the stream requests both trust REQUESTS_CA_BUNDLE (the streams did not)."""
    config = {"base_url": tls_sim.url, "username": "admin", "password": PASSWORD}
    env = {"REQUESTS_CA_BUNDLE": str(tls_sim.cert_file)}
    done = run("tap-mautic", tmp_path, config, "--catalog", catalog(tmp_path, config, env), env=env)
    assert done.returncode == 0, done.stderr
    assert len(records(done)) == 8
    target = run("target-mautic", tmp_path, config, env=env, stdin=CONTACT)
    assert target.returncode == 0, target.stderr
    assert tls_sim.query("SELECT id FROM leads WHERE email = 'over.tls@example.org'")
    assert_no_secrets(config, done.stderr, target.stderr, target.stdout)


@pytest.mark.parametrize("verify", [True, False])
def test_https_to_a_plain_http_port_says_so(tmp_path: Path, verify: bool) -> None:
    with Simulator(contacts=1, seed=1, username="admin", password=PASSWORD) as plain:
        config = {"base_url": plain.url.replace("http://", "https://"), "username": "admin",
                  "password": PASSWORD, "verify_ssl": verify}
        done = run("tap-mautic", tmp_path, config, "--test")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "certificate verification failed" not in done.stderr, done.stderr
    assert "plain HTTP" in done.stderr and "'base_url'" in done.stderr, done.stderr
