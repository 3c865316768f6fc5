"""The connection settings (:mod:`mautic_api.setting_specs`) as singer-sdk config-schema properties.

Usage: ``config_jsonschema = th.PropertiesList(*MAUTIC_SETTINGS, *PLUGIN_SETTINGS).to_dict()``.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

from mautic_api.setting_specs import MAUTIC_SETTING_SPECS, SettingSpec

JSON_TYPES: dict[str, type[th.JSONTypeHelper[Any]]] = {
    "string": th.StringType, "integer": th.IntegerType, "number": th.NumberType, "boolean": th.BooleanType,
}


def setting_property(spec: SettingSpec) -> th.Property[Any]:
    """One setting as a singer-sdk ``Property`` (only the attributes the spec sets are passed)."""
    extra: dict[str, Any] = {}
    if spec.default is not None:
        extra["default"] = spec.default
    if spec.allowed_values is not None:
        extra["allowed_values"] = list(spec.allowed_values)
    if spec.examples is not None:
        extra["examples"] = list(spec.examples)
    if spec.required:
        extra["required"] = True
    if spec.secret:
        extra["secret"] = True
    return th.Property(spec.name, JSON_TYPES[spec.kind], description=spec.description, **extra)


MAUTIC_SETTINGS = th.PropertiesList(*(setting_property(spec) for spec in MAUTIC_SETTING_SPECS))
