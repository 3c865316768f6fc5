"""meltano.yml declares exactly the settings the plugins accept, with secrets marked sensitive."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts.meltano_settings import SDK_BUILTIN
from scripts.pipeline import MELTANO as MELTANO_BIN
from scripts.pipeline import MELTANO_OFFLINE, ROOT
from tap_mautic.tap import TapMautic
from target_mautic.target import TargetMautic

MELTANO = yaml.safe_load((Path(__file__).resolve().parents[1] / "meltano.yml").read_text())
PLUGINS = {p["name"]: p for p in MELTANO["plugins"]["extractors"] + MELTANO["plugins"]["loaders"]}


@pytest.mark.parametrize(("plugin", "cls"), [("tap-mautic", TapMautic), ("target-mautic", TargetMautic)])
def test_settings_match_config_schema(plugin: str, cls: type) -> None:
    declared = {s["name"]: s for s in PLUGINS[plugin]["settings"]}
    accepted = {k: v for k, v in cls.config_jsonschema["properties"].items() if k not in SDK_BUILTIN}
    assert set(declared) == set(accepted)
    for name, spec in accepted.items():
        assert bool(declared[name].get("sensitive")) == bool(spec.get("secret")), name


@pytest.mark.parametrize("plugin", ["tap-mautic", "target-mautic"])
def test_plugins_install_from_this_folder(plugin: str) -> None:
    assert PLUGINS[plugin]["pip_url"] == "-e ."
    assert PLUGINS[plugin]["executable"] == plugin


@pytest.fixture
def project_yml(tmp_path: Path) -> Path:
    if not MELTANO_BIN.exists():
        pytest.fail("Meltano is not installed: run `make meltano` (make test does)")
    shutil.copy(ROOT / "meltano.yml", tmp_path / "meltano.yml")
    return tmp_path / "meltano.yml"


def _meltano(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **MELTANO_OFFLINE}
    return subprocess.run([str(MELTANO_BIN), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True, timeout=120)


def test_meltano_config_set_of_a_secret_leaves_meltano_yml_byte_for_byte(project_yml: Path) -> None:
    before = project_yml.read_text()
    for plugin in ("tap-mautic", "target-mautic"):
        _meltano(project_yml.parent, "config", "set", plugin, "password", "Sekrit-123")
        _meltano(project_yml.parent, "config", "set", plugin, "client_secret", "Sekrit-456")
    assert project_yml.read_text() == before
    env_file = (project_yml.parent / ".env").read_text()
    assert "TAP_MAUTIC_PASSWORD='Sekrit-123'" in env_file
    assert "TARGET_MAUTIC_CLIENT_SECRET='Sekrit-456'" in env_file


def test_meltano_config_set_of_a_plain_setting_only_adds_it(project_yml: Path) -> None:
    before = project_yml.read_text().splitlines()
    _meltano(project_yml.parent, "config", "set", "tap-mautic", "base_url", "https://mautic.example.com")
    after = project_yml.read_text().splitlines()
    added = [line for line in difflib.ndiff(before, after) if line.startswith(("+ ", "- "))]
    assert added == ["+       base_url: https://mautic.example.com"]


def test_dot_env_and_warehouse_files_are_ignored_by_git() -> None:
    for name in (".env", "output/warehouse.duckdb", ".meltano/meltano.db",
                 "output/target-mautic-results.jsonl"):
        done = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, check=False)
        assert done.returncode == 0, name
