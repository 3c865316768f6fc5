"""The connection settings of both plugins as plain data: name, JSON type, default, secret, description.

Why data and not a singer-sdk schema: ``mautic_api`` must import without singer-sdk (a script's client);
the plugins render this table as their config schema (``mautic_singer.config_schema``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AUTH_METHODS = ("basic", "oauth2", "oauth1a")
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 8
DEFAULT_MAX_RETRY_SECONDS = 120.0


@dataclass(frozen=True)
class SettingSpec:
    """One connection setting; ``kind`` is its JSON type (string, integer, number, boolean)."""

    name: str
    kind: str
    required: bool = False
    secret: bool = False
    default: Any = None
    description: str = ""
    allowed_values: tuple[str, ...] | None = None
    examples: tuple[str, ...] | None = None


MAUTIC_SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "base_url",
        "string",
        required=True,
        description="Mautic instance URL without /api, e.g. https://mautic.example.com",
        examples=("https://mautic.example.com",),
    ),
    SettingSpec(
        "auth_method",
        "string",
        allowed_values=AUTH_METHODS,
        description="basic | oauth2 | oauth1a; default basic when username is set, else oauth2",
    ),
    SettingSpec("username", "string", description="Mautic user for Basic auth"),
    SettingSpec("password", "string", secret=True, description="Password of that user (Basic auth)"),
    SettingSpec(
        "client_id",
        "string",
        description="OAuth2 client id (public id, <id>_<random>) or OAuth1a consumer key",
    ),
    SettingSpec(
        "client_secret",
        "string",
        secret=True,
        description="OAuth2 client secret / OAuth1a consumer secret",
    ),
    SettingSpec(
        "access_token",
        "string",
        secret=True,
        description="OAuth2 access token (optional; fetched when absent) or OAuth1a access token",
    ),
    SettingSpec("access_token_secret", "string", secret=True, description="OAuth1a access token secret"),
    SettingSpec(
        "refresh_token",
        "string",
        secret=True,
        description="OAuth2 refresh token (authorization_code clients); rotated on every refresh",
    ),
    SettingSpec(
        "access_token_expires", "integer", description="UNIX time at which access_token expires"
    ),
    SettingSpec(
        "token_store_path",
        "string",
        description="File where rotated OAuth2 tokens are kept between runs (read first, written 0600)",
    ),
    SettingSpec("request_timeout", "number", default=DEFAULT_TIMEOUT, description="Seconds per request"),
    SettingSpec(
        "max_retries",
        "integer",
        default=DEFAULT_MAX_RETRIES,
        description="Retries of 429/502/503/504, resets and timeouts (attempts = max_retries + 1)",
    ),
    SettingSpec(
        "max_retry_seconds",
        "number",
        default=DEFAULT_MAX_RETRY_SECONDS,
        description="Seconds one request may spend waiting between its retries in all; it gives up at "
                    "max_retries or this, whichever comes first",
    ),
    SettingSpec(
        "concurrency_mode",
        "string",
        default="adaptive",
        allowed_values=("adaptive", "fixed", "polite"),
        description="adaptive: requests in flight start at min(4, max_concurrency), grow while latency "
                    "holds, halve on 429/502/503/504 or rising latency; fixed: always max_concurrency; "
                    "polite (shared hosting): start at 1, at most 2, every request waits out a 429's "
                    "Retry-After",
    ),
    SettingSpec("user_agent", "string", description="User-Agent header sent to Mautic"),
    SettingSpec("verify_ssl", "boolean", default=True, description="Verify the TLS certificate"),
)


