"""Table of bad configurations for both plugins: one line naming the setting, no traceback, no secret.

Each row: the plugin, what is wrong (merged over a working Basic-auth config, or a raw config file text), and
the text the one line must hold. ``exit`` 1 rows cannot go on; ``warn`` rows run (exit 0) and must say so.
The tap is run with ``--test`` (config validation and one cheap call), or a sync of one small stream when
the setting only matters while syncing; the target reads one contact.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from tests.support.secrets import assert_no_secrets

BIN = Path(sys.executable).parent
PASSWORD = "Pw-BadConfig-Sekr3t"
SECRET = "Another-Sekr3t-Value"
DROP = object()  # remove the setting

# (plugin, change, expected text in the error or warning, "exit" | "warn" | "sync")
TAP = "tap-mautic"
TARGET = "target-mautic"
BOTH = (TAP, TARGET)

COMMON: list[tuple[dict[str, Any] | str, str]] = [
    ({"base_url": DROP}, "'base_url'"),
    ({"base_url": ""}, "'base_url'"),
    ({"base_url": "mautic.example.com"}, "'base_url' must start with http"),
    ({"base_url": "ftp://mautic.example.com"}, "'base_url' must start with http"),
    ({"base_url": f"http://admin:{PASSWORD}@127.0.0.1"}, "'base_url' must not hold credentials"),
    ({"base_url": "http://127.0.0.1/?x=1"}, "'base_url' must not contain a query"),
    ({"base_url": 42}, "base_url"),
    ({"auth_method": "digest"}, "auth_method"),
    ({"username": DROP, "auth_method": "basic"}, "'username'"),
    ({"password": DROP}, "'password'"),
    ({"password": ["x", SECRET]}, "'password' must be a string"),
    ({"password": {"v": SECRET}}, "'password' must be a string"),
    ({"client_secret": 123456789}, "'client_secret' must be a string"),
    ({"username": DROP, "password": DROP}, "'client_id'"),
    ({"auth_method": "oauth1a"}, "'client_id'"),
    ({"request_timeout": 0}, "'request_timeout'"),
    ({"request_timeout": -3}, "'request_timeout'"),
    ({"request_timeout": "soon"}, "'request_timeout'"),
    ({"request_timeout": 1e12}, "'request_timeout'"),
    ({"max_retries": -1}, "'max_retries'"),
    ({"max_retries": "many"}, "'max_retries'"),
    ({"max_retries": 10**9}, "'max_retries'"),
    ({"access_token_expires": "tomorrow"}, "'access_token_expires'"),
    ({"verify_ssl": "maybe"}, "verify_ssl"),
    ({"version": "OAuth3"}, "'version'"),
    ({"userName": "someone-else"}, "'username' and its alias 'userName' disagree"),
    ({"baseUrl": "http://other.example.com"}, "'base_url' and its alias 'baseUrl' disagree"),
    ("{not json", "not JSON"),
    ("[1, 2]", "config"),
    ({"token_store_path": "__DIR__", "username": DROP, "password": DROP, "client_id": "1_x",
      "client_secret": SECRET, "refresh_token": "Rt-Sekr3t-Value-1"}, "'token_store_path'"),
]
COMMON_WARN: list[tuple[dict[str, Any], str]] = [
    ({"passwrd": "x"}, "'passwrd' is not a setting of {tool}; did you mean 'password'"),
    ({"usrname": "x"}, "'usrname' is not a setting of {tool}; did you mean 'username'"),
    ({"request_timout": 5}, "did you mean 'request_timeout'"),
    ({"userName": "admin", "username": DROP}, "deprecated"),
]
TAP_ONLY: list[tuple[dict[str, Any], str]] = [
    ({"page_size": 0}, "page_size"),
    ({"page_size": "abc"}, "page_size"),
    ({"stream_options": {"contacts": {"page_size": -5}}}, "page_size"),
    ({"stream_options": {"contacts": {"colour": "red"}}}, "colour"),
    ({"stream_options": "contacts"}, "stream_options"),
    ({"start_date": "yesterday"}, "'start_date'"),
    ({"start_date": "2024-13-45"}, "'start_date'"),
    ({"start_date": "12:00"}, "'start_date'"),  # a bare time: pendulum would put it on today
    ({"start_date": "2024-060"}, "'start_date'"),  # an ordinal date the streams cannot read
    ({"partition_count": 3, "partition_index": 3, "partition_id_span": 9},
     "'partition_index' must be 0 to partition_count - 1"),
    ({"partition_index": 1}, "'partition_index' must be 0 to partition_count - 1"),
    ({"partition_count": 0}, "partition_count"),
    ({"partition_index": -1}, "partition_index"),
    ({"partition_count": 3, "partition_index": 1}, "'partition_id_span' is required"),
    ({"partition_count": 3, "partition_index": 1, "partition_id_span": 0}, "partition_id_span"),
    ({"lookback_seconds": -5}, "lookback_seconds"),
    ({"backoff_factor": -1}, "backoff_factor"),
    ({"backoff_factor": 0}, "backoff_factor"),
    ({"backoff_factor": 1e9}, "backoff_factor"),
    ({"stats_settle_seconds": -1}, "stats_settle_seconds"),
    ({"include_deletes": "perhaps"}, "include_deletes"),
]
TAP_WARN: list[tuple[dict[str, Any], str]] = [
    ({"stream_options": {"contactz": {"page_size": 5}}}, "'contactz' is not a stream; did you mean"),
]
TARGET_ONLY: list[tuple[dict[str, Any], str]] = [
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": "big"}, "batch_size"),
    ({"on_record_error": "ignore"}, "on_record_error"),
    ({"load_method": "replace"}, "load_method"),
    ({"sync_mode": "replace"}, "sync_mode"),
    ({"max_failed_percent": 150}, "max_failed_percent"),
    ({"match_on": "email"}, "match_on"),
    ({"match_on": ["no_such_field"]}, "'match_on'"),
    ({"stream_contexts": {"contacts": "people"}}, "stream_contexts"),
    ({"results_path": "__FILE__/results.jsonl"}, "'results_path'"),
    ({"results_path": "__DIR__"}, "'results_path'"),
    ({"create_if_missing": "yes please"}, "create_if_missing"),
]
TARGET_WARN: list[tuple[dict[str, Any], str]] = [
    ({"batch_sise": 10}, "did you mean 'batch_size'"),
]

CASES = (
    [(tool, change, text, "exit") for tool in BOTH for change, text in COMMON]
    + [(tool, change, text, "warn") for tool in BOTH for change, text in COMMON_WARN]
    + [(TAP, change, text, "exit") for change, text in TAP_ONLY]
    + [(TAP, change, text, "warn") for change, text in TAP_WARN]
    + [(TARGET, change, text, "exit") for change, text in TARGET_ONLY]
    + [(TARGET, change, text, "warn") for change, text in TARGET_WARN]
)


@pytest.fixture(scope="module")
def config_sim():
    with Simulator(contacts=5, seed=2, username="admin", password=PASSWORD) as sim:
        yield sim


def config_text(sim: Simulator, change: dict[str, Any] | str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    base: dict[str, Any] = {"base_url": sim.url, "username": "admin", "password": PASSWORD}
    if isinstance(change, str):
        return change, base
    for key, value in change.items():
        if value is DROP:
            base.pop(key, None)
        elif value == "__DIR__":
            base[key] = str(tmp_path)
        elif isinstance(value, str) and value.startswith("__FILE__"):
            (tmp_path / "a-file").write_text("x")
            base[key] = value.replace("__FILE__", str(tmp_path / "a-file"))
        else:
            base[key] = value
    return json.dumps(base), base


CONTACT = "\n".join(json.dumps(m) for m in [
    {"type": "SCHEMA", "stream": "contacts", "key_properties": [],
     "schema": {"type": "object", "properties": {"email": {"type": "string"}}}},
    {"type": "RECORD", "stream": "contacts", "record": {"email": "bad.config@example.org"}},
]) + "\n"


def run_tool(tool: str, text: str, tmp_path: Path, sync: bool) -> subprocess.CompletedProcess:
    path = tmp_path / "config.json"
    path.write_text(text)
    if tool == TARGET:
        args, stdin = [], CONTACT
    elif sync:
        catalog = tmp_path / "catalog.json"
        catalog.write_text(json.dumps({"streams": [{
            "tap_stream_id": "stages", "stream": "stages", "schema": {"type": "object", "properties": {}},
            "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}]}))
        args, stdin = ["--catalog", str(catalog)], ""
    else:
        args, stdin = ["--test"], ""
    return subprocess.run([str(BIN / tool), "--config", str(path), *args], input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("tool", "change", "expected", "kind"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_configuration(config_sim: Simulator, tmp_path: Path, tool: str, change: Any, expected: str,
                           kind: str) -> None:
    text, config = config_text(config_sim, change, tmp_path)
    done = run_tool(tool, text, tmp_path, sync=kind == "warn" and tool == TAP)
    assert "Traceback" not in done.stderr, done.stderr
    assert expected.format(tool=tool) in done.stderr, done.stderr
    if kind == "exit":
        assert done.returncode == 1, done.stderr
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line or line.startswith(tool)]
        assert len(errors) <= 2, done.stderr  # one line (the SDK may add a "Config validation failed" line)
    else:
        assert done.returncode == 0, done.stderr
    assert_no_secrets(config, done.stdout, done.stderr, tmp_path, extra=[PASSWORD, SECRET])


def test_the_table_is_at_least_forty_per_plugin() -> None:
    for tool in BOTH:
        assert sum(1 for case in CASES if case[0] == tool) >= 40
