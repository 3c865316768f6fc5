"""Sync modes: what a contacts/companies stream may do to Mautic (create, update, or both).

Why a setting per stream: reverse-ETL jobs differ per destination (an enrichment model must never create
contacts; an event log must never overwrite them). ``sync_mode`` is one value or an object by stream name (or
by the target stream it loads); singer-sdk's ``load_method`` and the older ``create_if_missing: false`` map
onto it. The order, first that is set: ``sync_mode[stream]``, ``sync_mode`` (one value), ``load_method``
other than its default, ``create_if_missing: false`` (deprecated alias of ``update``), ``upsert``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UPSERT, UPDATE, INSERT, MIRROR = "upsert", "update", "insert", "mirror"
SYNC_MODES = (UPSERT, UPDATE, INSERT, MIRROR)
# singer-sdk's load_method values -> sync_mode
LOAD_METHODS = {"upsert": UPSERT, "append-only": INSERT, "overwrite": MIRROR}


class SyncModeError(ValueError):
    """A ``sync_mode`` value that is not one of SYNC_MODES (one line naming the setting)."""


def _checked(value: Any, where: str) -> str:
    if value not in SYNC_MODES:
        raise SyncModeError(
            f"Setting 'sync_mode'{where} must be one of {', '.join(SYNC_MODES)}, got {value!r}."
        )
    return str(value)


def config_problem(config: Mapping[str, Any]) -> str | None:
    """The one line refusing a bad ``sync_mode`` or ``load_method`` at start, or None."""
    configured = config.get("sync_mode")
    try:
        if isinstance(configured, Mapping):
            for stream, value in configured.items():
                _checked(value, f" for stream '{stream}'")
        elif configured is not None:
            _checked(configured, "")
    except SyncModeError as exc:
        return str(exc)
    method = config.get("load_method")
    if method is not None and method not in LOAD_METHODS:
        return f"Setting 'load_method' must be one of {', '.join(LOAD_METHODS)}, got {method!r}."
    return None


def sync_mode(config: Mapping[str, Any], stream: str, canonical: str) -> str:
    """The sync mode of ``stream`` (which loads ``canonical``), by the order in the module docstring."""
    configured = config.get("sync_mode")
    if isinstance(configured, Mapping):
        for name in (stream, canonical):
            if configured.get(name) is not None:
                return _checked(configured[name], f" for stream '{name}'")
    elif configured is not None:
        return _checked(configured, "")
    method = config.get("load_method")
    if method not in (None, "upsert"):
        return LOAD_METHODS.get(str(method), UPSERT)
    if config.get("create_if_missing") is False:
        return UPDATE
    return UPSERT


DEFAULT_MAX_REMOVALS = "10%"


def removal_limit(value: Any, tracked: int) -> int | None:
    """``mirror_max_removals`` as a count for a tracked set of ``tracked``: a number, or a percent like "5%"
    (rounded down); None when the value is neither (the caller refuses it in one line)."""
    if value is None:
        value = DEFAULT_MAX_REMOVALS
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    text = str(value).strip()
    try:
        if text.endswith("%"):
            percent = float(text[:-1])
            return int(tracked * percent / 100) if percent >= 0 else None
        number = int(text)
    except ValueError:
        return None
    return number if number >= 0 else None


def removal_refusal(setting: Any, stream: str, count: int, tracked: int, what: str) -> str | None:
    """The one line refusing a mirror's ``count`` removals out of ``tracked`` (``what``: "segment members
    are", ...): a ``mirror_max_removals`` that is not a limit, or one that ``count`` exceeds; None when they
    may go."""
    limit = removal_limit(setting, tracked)
    if limit is None:
        return (f"Setting 'mirror_max_removals' must be a number or a percent like \"5%\", got "
                f"{setting!r}; stream '{stream}': nothing removed.")
    if count > limit:
        shown = setting if setting is not None else DEFAULT_MAX_REMOVALS
        return (f"Stream '{stream}' (mirror): {count} of {tracked} {what} not in the snapshot, more than "
                f"mirror_max_removals ({shown} = {limit}): nothing removed.")
    return None


__all__ = [
    "DEFAULT_MAX_REMOVALS",
    "INSERT",
    "LOAD_METHODS",
    "MIRROR",
    "SYNC_MODES",
    "UPDATE",
    "UPSERT",
    "config_problem",
    "removal_limit",
    "removal_refusal",
    "sync_mode",
]
