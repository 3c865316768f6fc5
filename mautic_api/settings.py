"""Connection settings shared by tap-mautic and target-mautic.

Why one module: users, Meltano and our scripts rely on exactly these names in both plugins, and a user
migrating from the PHP library should be able to paste the settings array they already have.

How the tap and target use it (both plugin classes)::

    from singer_sdk import typing as th
    from mautic_singer.sdk import MauticConfigMixin
    from mautic_singer.config_schema import MAUTIC_SETTINGS

    class TapMautic(MauticConfigMixin, Tap):          # the mixin must come BEFORE Tap / Target
        config_jsonschema = th.PropertiesList(
            *MAUTIC_SETTINGS,                         # base_url, auth_method, ..., verify_ssl
            th.Property("start_date", th.DateTimeType),  # plugin-specific settings after them
        ).to_dict()

``MauticConfigMixin`` (in :mod:`mautic_singer.sdk`, with every other private SDK override) overrides
singer-sdk's ``PluginBase._validate_config`` (called from
``PluginBase.__init__`` right after the config dict is loaded and before JSON-schema validation) and
replaces ``self._config`` with :func:`normalize_config`'s result: PHP aliases mapped (one deprecation
warning each), ``base_url`` stripped of ``/api`` and ``/``, ``auth_method`` inferred. A bad or missing
setting becomes singer-sdk's ``ConfigValidationError``, which the SDK CLI prints as one line and exits 1
without a traceback. ``MauticClient(self.config)`` can then be built from the plugin's config as is.
This module itself needs no singer-sdk: the settings are data (:mod:`mautic_api.setting_specs`).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from mautic_api.concurrency import DEFAULT_MODE, MODES
from mautic_api.errors import ConfigurationError, scrub_url
from mautic_api.setting_specs import (
    AUTH_METHODS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_TIMEOUT,
    MAUTIC_SETTING_SPECS,
)

# Together the defaults ride out an outage of at least 90 s: 8 retries wait 0.5-1, 1-2, ... s (doubling, at
# most 60 s each), 91.5 s at the least, and the waits of one request stop at max_retry_seconds.
MAX_RETRY_SECONDS = 86400.0  # a day of waiting for one request
MAX_TIMEOUT = 3600.0  # an hour per request; more overflows the socket layer (1e12 raised OverflowError)
MAX_RETRIES = 100
_FALSE_WORDS = ("0", "false", "no", "off")
_TRUE_WORDS = ("1", "true", "yes", "on")
# singer-sdk's own settings, added to config_jsonschema after validation (stream maps, flattening, ...)
SDK_SETTINGS = frozenset({
    "stream_maps", "stream_map_config", "faker_config", "flattening_enabled", "flattening_max_depth",
    "flattening_max_key_length", "flattening_separator", "batch_size_rows", "add_record_metadata",
    "validate_records", "load_method", "batch_config", "hard_delete", "default_target_schema",
    "process_activate_version_messages",
})

SETTING_NAMES = tuple(spec.name for spec in MAUTIC_SETTING_SPECS)
SECRET_SETTINGS = ("password", "client_secret", "access_token", "access_token_secret", "refresh_token")

# The PHP library's setting names (ApiAuth::newAuth($settings)) -> ours.
PHP_ALIASES: Mapping[str, str] = MappingProxyType({
    "baseUrl": "base_url",
    "version": "auth_method",
    "clientKey": "client_id",
    "clientSecret": "client_secret",
    "accessToken": "access_token",
    "accessTokenSecret": "access_token_secret",
    "accessTokenExpires": "access_token_expires",
    "refreshToken": "refresh_token",
    "userName": "username",
})
# ``password`` is the same name in both.

_PHP_VERSIONS = MappingProxyType({
    "oauth2": "oauth2",
    "oauth1a": "oauth1a",
    "oauth1": "oauth1a",
    "basicauth": "basic",
    "basic": "basic",
})


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _apply_aliases(config: Mapping[str, Any], logger: logging.Logger | None) -> dict[str, Any]:
    out = dict(config)
    for alias, name in PHP_ALIASES.items():
        if alias not in out:
            continue
        value = out.pop(alias)
        if logger is not None:
            logger.warning("Setting '%s' is deprecated (PHP library name); use '%s' instead.", alias, name)
        if name == "auth_method" and isinstance(value, str):
            mapped = _PHP_VERSIONS.get(value.strip().lower())
            if mapped is None:
                raise ConfigurationError(
                    f"Setting 'version' (auth_method) has unknown value {value!r}; "
                    "use OAuth2, OAuth1a or basic."
                )
            value = mapped
        if _blank(value):
            continue
        current = out.get(name)
        if not _blank(current) and current != value:
            shown = value if name not in SECRET_SETTINGS else "<set>"
            raise ConfigurationError(
                f"Settings '{name}' and its alias '{alias}' disagree ({shown!s}); keep only '{name}'."
            )
        out[name] = value
    return out


def _clean_base_url(value: Any) -> str:
    if _blank(value):
        raise ConfigurationError(
            "Setting 'base_url' is required: the Mautic instance URL without /api, e.g. https://mautic.example.com"
        )
    url = str(value).strip()
    if "@" in urlsplit(url).netloc:
        raise ConfigurationError(
            "Setting 'base_url' must not hold credentials (user:password@host; the URL is not shown): "
            "put them in 'username'/'password' or 'client_id'/'client_secret'."
        )
    if not url.lower().startswith(("http://", "https://")):
        raise ConfigurationError(
            f"Setting 'base_url' must start with http:// or https:// (got {scrub_url(url)!r})."
        )
    if "?" in url or "#" in url:
        raise ConfigurationError("Setting 'base_url' must not contain a query string or fragment.")
    url = url.rstrip("/")
    if url.lower().endswith("/api"):
        url = url[: -len("/api")].rstrip("/")
    return url


# auth_method -> (what it is, the settings it needs)
AUTH_NEEDS: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType({
    "basic": ("Basic auth", ("username", "password")),
    "oauth2": ("OAuth2", ("client_id", "client_secret")),
    "oauth1a": ("OAuth1a", ("client_id", "client_secret", "access_token", "access_token_secret")),
})
CREDENTIAL_SETTINGS = ("username", "password", "client_id", "client_secret", "access_token",
                       "access_token_secret", "refresh_token")


def _names(names: Iterable[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def normalize_config(
    config: Mapping[str, Any],
    logger: logging.Logger | None = None,
    *,
    strict: bool = True,
    advise: bool = True,
) -> dict[str, Any]:
    """Return a copy of ``config`` with PHP aliases mapped, ``base_url`` cleaned and ``auth_method`` set.

    ``advise``: log the security advice (basic auth over plain HTTP, no token store) to ``logger``; a
    plugin advises once, when it validates its config, and builds its client with ``advise=False``.

    Raises :class:`ConfigurationError` (one line naming the setting) for missing or inconsistent
    settings; with ``strict=False`` only the alias mapping and cleaning are done (used when the SDK is
    asked not to validate, e.g. ``--about``). Idempotent: a normalised config passes through silently.
    """
    out = _apply_aliases(config, logger)
    if not strict:
        if not _blank(out.get("base_url")):
            with contextlib.suppress(ConfigurationError):
                out["base_url"] = _clean_base_url(out["base_url"])
        return out

    out["base_url"] = _clean_base_url(out.get("base_url"))

    method = out.get("auth_method")
    if _blank(method) and all(_blank(out.get(n)) for n in CREDENTIAL_SETTINGS):
        raise ConfigurationError(
            "No credentials are set: set " + "; or ".join(
                f"{_names(names)} ({how})" for how, names in AUTH_NEEDS.values()) + "."
        )
    if _blank(method):
        method = "basic" if not _blank(out.get("username")) else "oauth2"
    method = str(method).strip().lower()
    if method not in AUTH_METHODS:
        raise ConfigurationError(
            f"Setting 'auth_method' must be one of basic, oauth2, oauth1a (got {method!r})."
        )
    out["auth_method"] = method

    _, needed = AUTH_NEEDS[method]
    missing = [name for name in needed if _blank(out.get(name))]
    if missing:
        raise ConfigurationError(
            f"{'Setting' if len(missing) == 1 else 'Settings'} {_names(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing: auth_method {method} needs "
            f"{_names(needed)}."
        )

    expires: Any = out.get("access_token_expires")
    if not _blank(expires):
        try:
            out["access_token_expires"] = int(float(expires))
        except (TypeError, ValueError):
            raise ConfigurationError(
                "Setting 'access_token_expires' must be a UNIX time in seconds (an integer)."
            ) from None
    else:
        out.pop("access_token_expires", None)

    timeout: Any = out.get("request_timeout")
    if _blank(timeout):
        out["request_timeout"] = DEFAULT_TIMEOUT
    else:
        try:
            out["request_timeout"] = float(timeout)
        except (TypeError, ValueError):
            raise ConfigurationError("Setting 'request_timeout' must be a number of seconds.") from None
        if not math.isfinite(out["request_timeout"]) or not 0 < out["request_timeout"] <= MAX_TIMEOUT:
            raise ConfigurationError(
                f"Setting 'request_timeout' must be a positive number of seconds, at most {MAX_TIMEOUT:g}."
            )

    retries: Any = out.get("max_retries")
    if _blank(retries):
        out["max_retries"] = DEFAULT_MAX_RETRIES
    else:
        try:
            out["max_retries"] = int(retries)
        except (TypeError, ValueError):
            raise ConfigurationError("Setting 'max_retries' must be a non-negative integer.") from None
        if not 0 <= out["max_retries"] <= MAX_RETRIES:
            raise ConfigurationError(
                f"Setting 'max_retries' must be an integer from 0 to {MAX_RETRIES} (retries back off "
                "exponentially: more would wait for days)."
            )

    budget: Any = out.get("max_retry_seconds")
    if _blank(budget):
        out["max_retry_seconds"] = DEFAULT_MAX_RETRY_SECONDS
    else:
        try:
            out["max_retry_seconds"] = float(budget)
        except (TypeError, ValueError):
            raise ConfigurationError("Setting 'max_retry_seconds' must be a number of seconds.") from None
        seconds = out["max_retry_seconds"]
        if not math.isfinite(seconds) or not 0 <= seconds <= MAX_RETRY_SECONDS:
            raise ConfigurationError(
                f"Setting 'max_retry_seconds' must be a number of seconds from 0 to {MAX_RETRY_SECONDS:g}."
            )

    mode: Any = out.get("concurrency_mode")
    if _blank(mode):
        out["concurrency_mode"] = DEFAULT_MODE
    else:
        out["concurrency_mode"] = str(mode).strip().lower()
        if out["concurrency_mode"] not in MODES:
            raise ConfigurationError(
                f"Setting 'concurrency_mode' must be one of {', '.join(MODES)} (got {str(mode)[:40]!r})."
            )

    verify = out.get("verify_ssl")
    if verify is None:
        out["verify_ssl"] = True
    elif isinstance(verify, str):
        word = verify.strip().lower()
        if word not in (*_FALSE_WORDS, *_TRUE_WORDS):
            raise ConfigurationError("Setting 'verify_ssl' must be true or false.")
        out["verify_ssl"] = word not in _FALSE_WORDS
    else:
        out["verify_ssl"] = bool(verify)

    host = (urlsplit(out["base_url"]).hostname or "").lower()
    if (
        method == "basic"
        and out["base_url"].lower().startswith("http://")
        and host not in ("localhost", "127.0.0.1", "::1")
        and logger is not None
        and advise
    ):
        logger.warning(
            "Basic auth over plain HTTP ('base_url' is http://%s): the password travels readable with every "
            "request. Use https://, or OAuth2.", host,
        )
    if (
        method == "oauth2"
        and not _blank(out.get("refresh_token"))
        and _blank(out.get("token_store_path"))
        and logger is not None
        and advise
    ):
        logger.warning(
            "Setting 'token_store_path' is not set: the rotated OAuth2 refresh token will not survive this "
            "run, and the next run will need a new refresh_token."
        )
    return out


@dataclass(frozen=True)
class Settings:
    """The normalised connection settings, typed (what auth and http read)."""

    base_url: str
    auth_method: str
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    access_token: str | None = None
    access_token_secret: str | None = None
    refresh_token: str | None = None
    access_token_expires: int | None = None
    token_store_path: str | None = None
    request_timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS
    user_agent: str | None = None
    verify_ssl: bool = True
    concurrency_mode: str = DEFAULT_MODE

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], logger: logging.Logger | None = None, *, advise: bool = True
    ) -> Settings:
        norm = normalize_config(config, logger, advise=advise)
        given: dict[str, Any] = {name: norm[name] for name in SETTING_NAMES if norm.get(name) is not None}
        return cls(**given)

    def __repr__(self) -> str:  # never show secrets
        shown = {
            name: ("<redacted>" if name in SECRET_SETTINGS and getattr(self, name) else getattr(self, name))
            for name in SETTING_NAMES
        }
        return f"Settings({shown})"

    def secrets(self) -> list[str]:
        """The secret values in use (for scrubbing text before it is logged or raised)."""
        return [v for v in (getattr(self, n) for n in SECRET_SETTINGS) if isinstance(v, str) and v]

