"""Shared settings: the schema both plugins concatenate, PHP aliases, inference and one-line errors."""

from __future__ import annotations

import logging

import pytest
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from mautic_api import ConfigurationError
from mautic_api.settings import (
    PHP_ALIASES,
    SECRET_SETTINGS,
    normalize_config,
)
from mautic_singer.config_schema import MAUTIC_SETTINGS
from mautic_singer.sdk import MauticConfigMixin

EXPECTED = [
    "base_url",
    "auth_method",
    "username",
    "password",
    "client_id",
    "client_secret",
    "access_token",
    "access_token_secret",
    "refresh_token",
    "access_token_expires",
    "token_store_path",
    "request_timeout",
    "max_retries",
    "max_retry_seconds",
    "concurrency_mode",
    "user_agent",
    "verify_ssl",
]


def test_schema_names_secrets_and_defaults():
    schema = th.PropertiesList(*MAUTIC_SETTINGS).to_dict()
    props = schema["properties"]
    assert list(props) == EXPECTED
    assert schema["required"] == ["base_url"]
    assert {name for name, p in props.items() if p.get("secret")} == set(SECRET_SETTINGS)
    assert props["request_timeout"]["default"] == 60
    assert (props["max_retries"]["default"], props["max_retry_seconds"]["default"]) == (8, 120)
    assert props["verify_ssl"]["default"] is True
    assert props["auth_method"]["enum"] == ["basic", "oauth2", "oauth1a"]
    assert props["concurrency_mode"]["enum"] == ["adaptive", "fixed", "polite"]
    assert props["concurrency_mode"]["default"] == "adaptive"


@pytest.mark.parametrize(("given", "expected"), [(None, "adaptive"), ("", "adaptive"), (" Polite ", "polite"),
                                                 ("fixed", "fixed")])
def test_concurrency_mode_normalised(given, expected):
    config = {"base_url": "http://localhost", "username": "u", "password": "p", "concurrency_mode": given}
    assert normalize_config(config)["concurrency_mode"] == expected


def test_unknown_concurrency_mode_is_one_line():
    config = {"base_url": "http://localhost", "username": "u", "password": "p", "concurrency_mode": "turbo"}
    with pytest.raises(ConfigurationError, match="'concurrency_mode' must be one of adaptive, fixed, polite"):
        normalize_config(config)


def test_php_settings_array_with_one_warning_per_alias(caplog):
    logger = logging.getLogger("test-settings")
    caplog.set_level(logging.WARNING, logger="test-settings")
    php = {
        "baseUrl": "https://mautic.example.com/api/",
        "version": "OAuth2",
        "clientKey": "1_abc",
        "clientSecret": "cs-VALUE-1",
        "accessToken": "at-VALUE-2",
        "accessTokenExpires": "1700000000",
        "refreshToken": "rt-VALUE-3",
    }
    out = normalize_config(php, logger)
    assert out["base_url"] == "https://mautic.example.com"
    assert out["auth_method"] == "oauth2"
    assert (out["client_id"], out["client_secret"], out["access_token"], out["refresh_token"]) == (
        "1_abc",
        "cs-VALUE-1",
        "at-VALUE-2",
        "rt-VALUE-3",
    )
    assert out["access_token_expires"] == 1_700_000_000
    for alias in php:
        assert caplog.text.count(f"'{alias}' is deprecated") == 1
        assert alias not in out
    assert "VALUE" not in caplog.text  # values are never logged
    # idempotent and silent on the second pass (apart from the token_store_path advice)
    caplog.clear()
    assert normalize_config(out, logger) == out
    assert "deprecated" not in caplog.text


def test_basic_php_names_and_inference():
    out = normalize_config({"baseUrl": "http://m.test/", "userName": "admin", "password": "pw"})
    assert out["auth_method"] == "basic" and out["username"] == "admin" and out["base_url"] == "http://m.test"
    assert normalize_config({"base_url": "http://m.test", "client_id": "a", "client_secret": "b"})[
        "auth_method"
    ] == ("oauth2")
    out = normalize_config(
        {
            "base_url": "http://m.test",
            "version": "OAuth1a",
            "clientKey": "k",
            "clientSecret": "s",
            "accessToken": "t",
            "accessTokenSecret": "ts",
        }
    )
    assert out["auth_method"] == "oauth1a" and out["access_token_secret"] == "ts"
    assert set(PHP_ALIASES) == {
        "baseUrl",
        "version",
        "clientKey",
        "clientSecret",
        "accessToken",
        "accessTokenSecret",
        "accessTokenExpires",
        "refreshToken",
        "userName",
    }


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({}, "base_url"),
        ({"base_url": "mautic.example.com", "username": "a", "password": "b"}, "base_url"),
        ({"base_url": "http://m.test", "username": "a"}, "password"),
        ({"base_url": "http://m.test", "auth_method": "oauth2", "client_secret": "x"}, "client_id"),
        ({"base_url": "http://m.test", "client_id": "x"}, "client_secret"),
        (
            {"base_url": "http://m.test", "auth_method": "oauth1a", "client_id": "a", "client_secret": "b"},
            "access_token",
        ),
        ({"base_url": "http://m.test", "auth_method": "ntlm"}, "auth_method"),
        (
            {"base_url": "http://m.test", "username": "a", "password": "b", "request_timeout": 0},
            "request_timeout",
        ),
        ({"base_url": "http://m.test", "username": "a", "password": "b", "max_retries": -1}, "max_retries"),
        (
            {"base_url": "http://m.test", "username": "a", "password": "b", "access_token_expires": "soon"},
            "access_token_expires",
        ),
        (
            {"base_url": "http://m.test", "baseUrl": "http://other.test", "username": "a", "password": "b"},
            "base_url",
        ),
    ],
)
def test_bad_settings_raise_one_line_naming_the_setting(config, named):
    with pytest.raises(ConfigurationError) as info:
        normalize_config(config)
    message = str(info.value)
    assert f"'{named}'" in message
    assert "\n" not in message


class _Tap(MauticConfigMixin, Tap):
    name = "tap-mautic-settings-test"
    config_jsonschema = th.PropertiesList(
        *MAUTIC_SETTINGS, th.Property("page_size", th.IntegerType)
    ).to_dict()

    def discover_streams(self):
        return []


def test_mixin_normalises_before_sdk_validation():
    tap = _Tap(config={"baseUrl": "https://mautic.example.com/api", "userName": "u", "password": "p"})
    assert tap.config["base_url"] == "https://mautic.example.com"
    assert tap.config["auth_method"] == "basic"
    assert tap.config["request_timeout"] == 60 and tap.config["verify_ssl"] is True
    with pytest.raises(ConfigValidationError) as info:
        _Tap(config={"base_url": "https://mautic.example.com", "auth_method": "oauth2"})
    assert info.value.errors == [
        "Settings 'client_id' and 'client_secret' are missing: auth_method oauth2 needs 'client_id' and "
        "'client_secret'."
    ]


@pytest.mark.parametrize(("config", "message"), [
    ({}, "No credentials are set: set 'username' and 'password' (Basic auth); or 'client_id' and "
         "'client_secret' (OAuth2); or 'client_id', 'client_secret', 'access_token' and "
         "'access_token_secret' (OAuth1a)."),
    ({"username": "u"}, "Setting 'password' is missing: auth_method basic needs 'username' and 'password'."),
    ({"client_id": "1_a"},
     "Setting 'client_secret' is missing: auth_method oauth2 needs 'client_id' and 'client_secret'."),
    ({"auth_method": "oauth1a", "client_id": "k", "client_secret": "s"},
     "Settings 'access_token' and 'access_token_secret' are missing: auth_method oauth1a needs 'client_id', "
     "'client_secret', 'access_token' and 'access_token_secret'."),
])
def test_missing_credentials_name_every_missing_setting_for_the_auth_method(config, message):
    with pytest.raises(ConfigValidationError) as info:
        _Tap(config={"base_url": "https://mautic.example.com", **config})
    assert info.value.errors == [message]
    # --about and friends construct without validation: aliases are still mapped, nothing raises
    assert (
        _Tap(config={"baseUrl": "https://x.test/"}, validate_config=False).config["base_url"]
        == "https://x.test"
    )


@pytest.mark.parametrize(("url", "warned"), [
    ("http://mautic.example.com", True),
    ("https://mautic.example.com", False),
    ("http://127.0.0.1:8080", False),  # loopback (the simulator) never leaves the machine
])
def test_basic_auth_over_plain_http_is_warned_against(url, warned, caplog):
    logger = logging.getLogger("basic-http-test")
    with caplog.at_level(logging.WARNING, logger="basic-http-test"):
        normalize_config({"base_url": url, "username": "u", "password": "s3cr3t-pw"}, logger)
    lines = [r.getMessage() for r in caplog.records if "plain HTTP" in r.getMessage()]
    assert len(lines) == int(warned)
    assert not any("s3cr3t-pw" in line for line in lines)
