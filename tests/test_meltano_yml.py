"""meltano.yml declares exactly the settings the plugins accept, with secrets marked sensitive."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scripts.meltano_settings import SDK_BUILTIN
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
