"""meltano.yml and the Hub definitions in plugins/ declare exactly the settings the plugins accept, with
secrets marked sensitive: the code, the project and the definition files are kept in sync
(scripts/meltano_settings.py writes the last two from the first)."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from singer_sdk.plugin_base import PluginBase

from scripts.meltano_settings import (
    DISTRIBUTION,
    PIP_URL_FORM,
    PIP_URLS,
    PLUGINS_DIR,
    REPOSITORY,
    SDK_BUILTIN,
    UNSUPPORTED_BUILTIN,
    about_schema,
    definition_path,
    plugin_settings,
    render_definition,
)
from scripts.pipeline import MELTANO as MELTANO_BIN
from scripts.pipeline import MELTANO_OFFLINE, ROOT
from tap_mautic.tap import TapMautic
from target_mautic.target import TargetMautic

MELTANO = yaml.safe_load((ROOT / "meltano.yml").read_text())
PLUGINS = {p["name"]: p for p in MELTANO["plugins"]["extractors"] + MELTANO["plugins"]["loaders"]}


@pytest.mark.parametrize(("plugin", "cls"), [("tap-mautic", TapMautic), ("target-mautic", TargetMautic)])
def test_settings_match_config_schema(plugin: str, cls: type[PluginBase]) -> None:
    declared = {s["name"]: s for s in PLUGINS[plugin]["settings"]}
    accepted = {k: v for k, v in cls.config_jsonschema["properties"].items() if k not in SDK_BUILTIN}
    assert set(declared) == set(accepted)
    for name, spec in accepted.items():
        assert bool(declared[name].get("sensitive")) == bool(spec.get("secret")), name


@pytest.mark.parametrize(("plugin", "cls"), [("tap-mautic", TapMautic), ("target-mautic", TargetMautic)])
def test_settings_are_what_the_generator_writes(plugin: str, cls: type[PluginBase]) -> None:
    # descriptions, kinds and options too, not only the names
    assert PLUGINS[plugin]["settings"] == plugin_settings(cls.config_jsonschema)


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


HUB = {name: yaml.safe_load(definition_path(name).read_text()) for name in ("tap-mautic", "target-mautic")}
HUB_ONLY_KEYS = {"label", "value"}  # what a Hub setting adds to meltano.yml's entry


@pytest.mark.parametrize("plugin", ["tap-mautic", "target-mautic"])
def test_definition_files_are_what_the_generator_writes(plugin: str) -> None:
    # byte for byte: a setting added to the code without `python scripts/meltano_settings.py` fails here
    assert definition_path(plugin).read_text() == render_definition(plugin)


@pytest.mark.parametrize(("plugin", "cls"), [("tap-mautic", TapMautic), ("target-mautic", TargetMautic)])
def test_definitions_declare_every_supported_setting_as_meltano_yml_does(
    plugin: str, cls: type[PluginBase]
) -> None:
    hub = {s["name"]: s for s in HUB[plugin]["settings"]}
    about = about_schema(cls)["properties"]  # what `<plugin> --about` prints: the SDK's built-ins added
    assert set(hub) == set(about) - UNSUPPORTED_BUILTIN
    # the SDK's built-ins are declared too (not compared with cls.config_jsonschema: singer-sdk adds them to
    # that class attribute in place once a plugin of the class has run in this process)
    assert {"stream_maps", "flattening_enabled"} <= set(hub)
    for name, entry in {s["name"]: s for s in PLUGINS[plugin]["settings"]}.items():
        assert {k: v for k, v in hub[name].items() if k not in HUB_ONLY_KEYS} == entry, name
    for name, spec in about.items():
        if name in hub:
            assert bool(hub[name].get("sensitive")) == bool(spec.get("secret")), name
            assert hub[name].get("value") == spec.get("default"), name
            assert hub[name]["label"] and hub[name]["kind"], name
    assert sorted(HUB[plugin]["capabilities"]) == sorted(str(c) for c in cls.capabilities)
    assert set(PLUGINS[plugin]["capabilities"]) <= set(HUB[plugin]["capabilities"])
    groups = {frozenset(g) for g in HUB[plugin]["settings_group_validation"]}
    assert groups == {frozenset(g) for g in PLUGINS[plugin]["settings_group_validation"]}


@pytest.mark.parametrize("plugin", ["tap-mautic", "target-mautic"])
def test_definitions_carry_the_hub_metadata(plugin: str) -> None:
    hub = HUB[plugin]
    assert hub["name"] == hub["executable"] == plugin and hub["namespace"] == plugin.replace("-", "_")
    assert hub["maintenance_status"] == "active" and "meltano_sdk" in hub["keywords"]
    assert hub["docs"].startswith(REPOSITORY) and hub["repo"] == REPOSITORY
    assert hub["description"] and hub["label"] == "Mautic" and hub["domain_url"].startswith("https://")
    assert definition_path(plugin).name == f"{plugin}--{hub['variant']}.yml"
    # from git until the upload to PyPI, then the distribution pyproject.toml builds
    assert hub["pip_url"] == PIP_URLS[PIP_URL_FORM] and PIP_URLS["git"] == f"git+{REPOSITORY}.git"
    assert re.search(rf'^name = "{DISTRIBUTION}"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert PIP_URLS["index"] == DISTRIBUTION == TapMautic.package_name == TargetMautic.package_name
    assert f"pip_url: {DISTRIBUTION}\n" in render_definition(plugin, "index")


def test_target_jsonl_definition_is_meltano_yml_s() -> None:
    definition = yaml.safe_load((PLUGINS_DIR / "loaders" / "target-jsonl--andyh1203.yml").read_text())
    declared = PLUGINS["target-jsonl"]
    assert {k: definition[k] for k in ("name", "namespace", "pip_url", "executable")} == {
        k: declared[k] for k in ("name", "namespace", "pip_url", "executable")}
    assert [s["name"] for s in definition["settings"]] == [s["name"] for s in declared["settings"]]
