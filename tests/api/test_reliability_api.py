"""Reliability defects of the shared layer and the tap (issue 11): each test failed before its fix.

Runs against simulators with long, distinctive secrets, and scans every output for them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mautic_sim import Simulator
from tests.support.auth import new_refresh_token
from tests.support.secrets import assert_no_secrets

BIN = Path(sys.executable).parent
PASSWORD = "Pw-Reliab1lity-Sekr3t"
CLIENT_SECRET = "Cs-Reliab1lity-Sekr3t"


@pytest.fixture
def strong_sim():
    with Simulator(contacts=20, seed=5, username="admin", password=PASSWORD,
                   client_secret=CLIENT_SECRET) as sim:
        yield sim


def run(tool: str, tmp_path: Path, config: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run([str(BIN / tool), "--config", str(path), *args],
                          input=stdin, capture_output=True, text=True, timeout=120, check=False)


def one_line_error(done: subprocess.CompletedProcess, *expected: str) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr


# -- defect 2: a single-use refresh token is never spent unless the new one can be stored ------------------
@pytest.mark.parametrize("store_kind", ["directory", "unwritable parent"])
def test_refresh_token_is_not_spent_when_the_store_cannot_be_written(
    strong_sim: Simulator, tmp_path: Path, store_kind: str
) -> None:
    token = new_refresh_token(strong_sim)
    if store_kind == "directory":
        store = tmp_path / "store-is-a-dir"
        store.mkdir()
    else:
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        store = blocker / "tokens.json"
    config = {"base_url": strong_sim.url, "client_id": strong_sim.client_id, "client_secret": CLIENT_SECRET,
              "refresh_token": token, "token_store_path": str(store)}
    done = run("tap-mautic", tmp_path, config, "--test")
    one_line_error(done, "'token_store_path'")
    assert strong_sim.query("SELECT used FROM oauth2_tokens WHERE token = ?", (token,))[0]["used"] == 0
    assert_no_secrets(config, done.stdout, done.stderr, extra=[token])

    good = {**config, "token_store_path": str(tmp_path / "ok" / "tokens.json")}
    again = run("tap-mautic", tmp_path, good, "--test")  # the token still works
    assert again.returncode == 0, again.stderr
    stored = json.loads((tmp_path / "ok" / "tokens.json").read_text())
    assert stored["refresh_token"] != token  # rotated, and the new one kept
    # the configured secrets (the spent refresh token too) are in no output, not even the token store
    assert_no_secrets(good, again.stdout, again.stderr, tmp_path / "ok", extra=[token, CLIENT_SECRET])


# -- defect 5: credentials inside base_url are refused and never printed ----------------------------------
@pytest.mark.parametrize("tool", ["tap-mautic", "target-mautic"])
@pytest.mark.parametrize(
    "url",
    [
        "http://admin:{pw}@{host}",
        "ftp://admin:{pw}@{host}",
        "https://admin:{pw}@{host}",
    ],
)
def test_credentials_in_base_url_are_refused_without_being_shown(
    strong_sim: Simulator, tmp_path: Path, tool: str, url: str
) -> None:
    base_url = url.format(pw=PASSWORD, host=strong_sim.url.split("://")[1])
    config = {"base_url": base_url, "username": "admin", "password": "Other-Passw0rd-x", "verify_ssl": False}
    done = run(tool, tmp_path, config, *(["--test"] if tool == "tap-mautic" else []))
    one_line_error(done, "'base_url'")
    assert_no_secrets(config, done.stdout, done.stderr, extra=[PASSWORD])


def test_connected_message_shows_no_credentials(strong_sim: Simulator, tmp_path: Path) -> None:
    config = {"base_url": strong_sim.url, "username": "admin", "password": PASSWORD}
    done = run("tap-mautic", tmp_path, config, "--test")
    assert done.returncode == 0, done.stderr
    assert f"at {strong_sim.url} as admin" in done.stderr
    assert_no_secrets(config, done.stdout, done.stderr)


# -- defect 10: a missing --config file; defect 11: a catalog naming only streams that do not exist --------
@pytest.mark.parametrize("tool", ["tap-mautic", "target-mautic"])
def test_a_missing_config_file_is_one_line(tmp_path: Path, tool: str) -> None:
    done = subprocess.run([str(BIN / tool), "--config", str(tmp_path / "nowhere.json")], input="",
                          capture_output=True, text=True, timeout=60, check=False)
    one_line_error(done, "file is missing", "nowhere.json")


def test_a_catalog_of_unknown_streams_says_so(strong_sim: Simulator, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"streams": [{
        "tap_stream_id": "contactz", "stream": "contactz", "schema": {"type": "object", "properties": {}},
        "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}]}))
    config = {"base_url": strong_sim.url, "username": "admin", "password": PASSWORD}
    done = run("tap-mautic", tmp_path, config, "--catalog", str(catalog))
    assert done.returncode == 0, done.stderr
    assert "'contactz' is not a stream; did you mean 'contacts'?" in done.stderr
    assert "selects no stream" in done.stderr
    assert not [line for line in done.stdout.splitlines() if '"RECORD"' in line]
