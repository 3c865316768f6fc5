"""Regenerate the `settings` of tap-mautic and target-mautic in meltano.yml from their config_jsonschema.

Run after adding a setting: ``.venv/bin/python scripts/meltano_settings.py``. tests/test_meltano_yml.py fails
when the two drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tap_mautic.tap import TapMautic
from target_mautic.target import TargetMautic

MELTANO_YML = Path(__file__).resolve().parents[1] / "meltano.yml"
# Settings singer-sdk adds to every plugin; Meltano knows them without a declaration.
SDK_BUILTIN = frozenset(
    {
        "stream_maps", "stream_map_config", "faker_config", "flattening_enabled", "flattening_max_depth",
        "flattening_max_key_length", "flattening_separator", "batch_config", "add_record_metadata",
        "batch_size_rows", "validate_records", "load_method",
    }
)
KINDS = {"string": "string", "integer": "integer", "number": "decimal", "boolean": "boolean",
         "object": "object", "array": "array"}


def _kind(name: str, spec: dict[str, Any]) -> str:
    types = spec.get("type") or ["string"]
    types = [t for t in (types if isinstance(types, list) else [types]) if t != "null"] or ["string"]
    if spec.get("enum"):
        return "options"
    if name == "start_date":
        return "date_iso8601"
    return KINDS.get(types[0], "string")


def plugin_settings(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Meltano setting definitions for every non-built-in property of ``schema``."""
    out = []
    for name, spec in schema["properties"].items():
        if name in SDK_BUILTIN:
            continue
        setting: dict[str, Any] = {"name": name, "kind": _kind(name, spec)}
        if spec.get("description"):
            setting["description"] = spec["description"]
        if spec.get("secret") or spec.get("writeOnly"):
            # Meltano 4 writes it to .env, never to meltano.yml; `kind: password` is deprecated
            setting["sensitive"] = True
        if setting["kind"] == "options":
            setting["options"] = [{"label": v, "value": v} for v in spec["enum"] if v is not None]
        out.append(setting)
    return out


def main() -> None:
    doc = yaml.safe_load(MELTANO_YML.read_text())
    header = "".join(line + "\n" for line in MELTANO_YML.read_text().splitlines() if line.startswith("#"))
    for plugin in doc["plugins"]["extractors"] + doc["plugins"]["loaders"]:
        if plugin["name"] == "tap-mautic":
            plugin["settings"] = plugin_settings(TapMautic.config_jsonschema)
        elif plugin["name"] == "target-mautic":
            plugin["settings"] = plugin_settings(TargetMautic.config_jsonschema)
    MELTANO_YML.write_text(header + yaml.dump(doc, Dumper=_NoAliasDumper, sort_keys=False, width=10**6))


class _NoAliasDumper(yaml.SafeDumper):
    """Meltano rewrites meltano.yml without YAML aliases and with unwrapped lines; writing it the same way
    keeps `meltano config set` / `meltano select` diffs down to the values they set."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Meltano (ruamel) double-quotes a string holding an apostrophe; PyYAML would single-quote and double it.
    plain = dumper.analyze_scalar(value).allow_block_plain if value else False
    style = '"' if "'" in value and not plain else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_NoAliasDumper.add_representer(str, _str)


if __name__ == "__main__":
    main()
