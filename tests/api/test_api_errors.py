"""Error mapping of mautic_api, on the bodies recorded from a real Mautic 5.1.0 (request-mocked).

Each body below is copied from the recording named in the comment (../shared/mautic-5.1.0/). The
assertions check the exception class, that the one-line message names the cause and the fix, and that no
secret ever appears in it.
"""

from __future__ import annotations

import logging

import pytest
import requests
import responses

from mautic_api import (
    AuthError,
    BatchLimitError,
    ConfigurationError,
    MauticAPIError,
    MauticClient,
    NotFoundError,
    PermissionDeniedError,
)

BASE = "http://mautic.test"
PASSWORD = "pw-s3cr3t-XYZ"
CLIENT_SECRET = "cs-s3cr3t-QRS"
ACCESS_TOKEN = "at-s3cr3t-LMN"

BODY_API_DISABLED = (  # 706-api-disabled-get-contacts-basic.http
    '{"errors":[{"message":"API disabled. You need to enable the API in the API settings of Mautic\\u0027s '
    'Configuration.","code":403,"type":"api_disabled"}]}'
)
BODY_BASIC_DISABLED = (  # 711-basic-disabled-get-contacts-basic-correct-password.http
    '{"errors":[{"message":"Basic Auth disabled. You need to enable HTTP basic auth in the API settings of '
    'Mautic\\u0027s Configuration.","code":403,"type":"access_denied"}]}'
)
BODY_INVALID_CREDENTIALS = (  # 686-errors-wrong-password.http
    '{"errors":[{"message":"Authorization denied, invalid credentials.","code":401,"type":"access_denied"}]}'
)
BODY_NO_AUTH = (  # 685-errors-no-auth.http
    '{"errors":[{"message":"API authorization denied.","code":401,"type":"access_denied"}]}'
)
BODY_BOGUS_BEARER = (  # 666-oauth2-bearer-bogus-token.http
    '{"errors":[{"message":"The access token provided is invalid.","code":401,"type":"invalid_grant"}]}'
)
BODY_INVALID_CLIENT = (  # 659-oauth2-token-client_credentials-wrong-secret.http
    '{"errors":[{"message":"The client credentials are invalid","code":400,"type":"invalid_client"}]}'
)
BODY_INVALID_REFRESH = (  # 679-oauth2-refresh-2-same-token-reused.http
    '{"errors":[{"message":"Invalid refresh token","code":400,"type":"invalid_grant"}]}'
)
BODY_UNAUTHORIZED_CLIENT = (  # 662-oauth2-token-password-grant-not-allowed.http
    '{"errors":[{"message":"The grant type is unauthorized for this client_id","code":400,'
    '"type":"unauthorized_client"}]}'
)
BODY_NOT_FOUND = '{"errors":[{"code":404,"message":"Item was not found.","details":[]}]}'  # 169
BODY_BATCH_LIMIT = (  # 699-errors-batch-new-201-items.http
    '{"errors":[{"code":500,"message":"A max of 200 entities are supported at a time.","details":[]}]}'
)
BODY_GENERIC_500 = (  # 574-contacts-list-orderBy-unknown.http
    '{"errors":[{"message":"Looks like I encountered an error (error #500). If I do it again, please report '
    'me to the system administrator!","code":500,"type":null}]}'
)
BODY_STATS_BAD_COLUMN = (  # 656-stats-audit_log-where-bad-col.http (HTTP 200)
    '{"errors":[{"message":"An exception occurred while executing a query: SQLSTATE[42S22]: Column not '
    "found: 1054 Unknown column 'e.nosuch' in 'where clause'\",\"code\":1054}]}"
)
BODY_VALIDATION_400 = (  # 013-contacts-seed-create-2.http
    '{"errors":[{"code":400,"message":"state: This value is not valid.","details":{"state":["This value is '
    'not valid."]}}]}'
)


pytestmark = pytest.mark.usefixtures("retry_waits")


def basic(**extra):
    return {"base_url": BASE, "username": "admin", "password": PASSWORD, "max_retries": 2, **extra}


def oauth2(**extra):
    return {"base_url": BASE, "client_id": "1_abc", "client_secret": CLIENT_SECRET, "max_retries": 2, **extra}


def _assert_clean(text: str) -> None:
    for secret in (PASSWORD, CLIENT_SECRET, ACCESS_TOKEN, "YWRtaW46"):  # YWRtaW46 = base64("admin:")
        assert secret not in text


def _raise_on(config, status, body, *, path="contacts", content_type="application/json"):
    url = f"{BASE}{path}" if path.startswith("/") else f"{BASE}/api/{path}"
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, url, body=body, status=status, content_type=content_type)
        with pytest.raises(Exception) as info:
            MauticClient(config).request("GET", path)
        calls = len(rs.calls)
    _assert_clean(str(info.value))
    return info.value, calls


@pytest.mark.parametrize(
    ("status", "body", "cls", "fragments"),
    [
        (403, BODY_API_DISABLED, AuthError, ["API is disabled", "Configuration > API Settings"]),
        (403, BODY_BASIC_DISABLED, AuthError, ["Basic auth is disabled", "oauth2"]),
        (401, BODY_INVALID_CREDENTIALS, AuthError, ["username", "password"]),
        (401, BODY_NO_AUTH, AuthError, ["denied", "username"]),
        (404, BODY_NOT_FOUND, NotFoundError, ["Item was not found"]),
        (500, BODY_BATCH_LIMIT, BatchLimitError, ["A max of 200"]),
        (500, BODY_GENERIC_500, MauticAPIError, ["error #500"]),
        (400, BODY_VALIDATION_400, MauticAPIError, ["state: This value is not valid"]),
        (422, BODY_VALIDATION_400, MauticAPIError, ["state"]),
        (
            403,
            '{"errors":[{"code":403,"message":"You do not have access to the requested area/action.",'
            '"details":[]}]}',
            PermissionDeniedError,
            ["do not have access"],
        ),
    ],
)
def test_basic_auth_error_mapping_is_one_line_with_cause_and_fix(status, body, cls, fragments):
    exc, calls = _raise_on(basic(), status, body)
    assert type(exc) is cls
    assert exc.status == status
    assert "\n" not in str(exc)
    for fragment in fragments:
        assert fragment.lower() in str(exc).lower()
    assert calls == 1  # none of these is retried


def test_api_disabled_is_a_configuration_error_with_the_fix():
    exc, _ = _raise_on(basic(), 403, BODY_API_DISABLED)
    assert isinstance(exc, ConfigurationError)
    assert "enable the API in Mautic's Configuration > API Settings" in str(exc)
    assert exc.errors[0]["type"] == "api_disabled"


def test_bogus_bearer_is_invalid_token_error():
    exc, _calls = _raise_on(oauth2(access_token=ACCESS_TOKEN), 401, BODY_BOGUS_BEARER)
    assert isinstance(exc, AuthError)
    assert "access token is invalid or expired" in str(exc)
    assert "authorize again" in str(exc)


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (BODY_INVALID_CLIENT, ["client_id", "client_secret"]),
        (BODY_INVALID_REFRESH, ["refresh token was rejected", "single-use", "refresh_token"]),
        (BODY_UNAUTHORIZED_CLIENT, ["may not use", "admin"]),
    ],
)
def test_token_endpoint_errors(body, fragments, tmp_path):
    config = oauth2(refresh_token="rt-s3cr3t-1") if "refresh" in body else oauth2()
    with responses.RequestsMock() as rs:
        rs.add(
            responses.POST, f"{BASE}/oauth/v2/token", body=body, status=400, content_type="application/json"
        )
        with pytest.raises(AuthError) as info:
            MauticClient(config).request("GET", "contacts")
        assert len(rs.calls) == 1  # the token request is not retried, the API call never sent
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    _assert_clean(message)
    assert "rt-s3cr3t-1" not in message


def test_404_on_api_root_and_html_answers_point_at_base_url():
    exc, _ = _raise_on(
        basic(), 404, '{"errors":[{"message":"Requested URL not found: \\/api","code":404}]}', path="/api"
    )
    assert isinstance(exc, ConfigurationError)
    assert "base_url" in str(exc)
    html = "<html><head><title>Welcome to nginx</title></head><body>hi</body></html>"
    exc, _ = _raise_on(basic(), 200, html, content_type="text/html")
    assert isinstance(exc, ConfigurationError)
    assert "base_url" in str(exc) and "nginx" in str(exc)
    exc, _ = _raise_on(basic(), 404, html, content_type="text/html")
    assert isinstance(exc, ConfigurationError)


def test_stats_errors_inside_200():
    exc, _ = _raise_on(basic(), 200, BODY_STATS_BAD_COLUMN, path="stats/audit_log")
    assert type(exc) is MauticAPIError
    assert "Unknown column" in str(exc)
    exc, _ = _raise_on(
        basic(), 200, '{"errors":[{"message":"You do not have access","code":403}]}', path="stats/email_stats"
    )
    assert isinstance(exc, PermissionDeniedError)


def test_old_and_raw_oauth_shapes():
    exc, _ = _raise_on(basic(), 400, '{"error":{"message":"Bad thing","code":400}}')
    assert type(exc) is MauticAPIError and "Bad thing" in str(exc)
    exc, _ = _raise_on(
        oauth2(access_token=ACCESS_TOKEN),
        401,
        '{"error":"invalid_grant","error_description":"The access token provided has expired."}',
    )
    assert isinstance(exc, AuthError) and "expired" in str(exc)


def test_tls_failure_names_verify_ssl():
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BASE}/api/contacts",
            body=requests.exceptions.SSLError("certificate verify failed"),
        )
        with pytest.raises(ConfigurationError) as info:
            MauticClient(basic()).request("GET", "contacts")
        assert len(rs.calls) == 1
    assert "verify_ssl" in str(info.value)


def test_secrets_never_in_messages_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    config = oauth2(access_token=ACCESS_TOKEN, access_token_expires=4_000_000_000)
    with responses.RequestsMock() as rs:
        # a 503 whose body echoes the token, then a 401: retried, logged, raised
        rs.add(
            responses.GET,
            f"{BASE}/api/contacts",
            status=503,
            body=f'{{"errors":[{{"message":"upstream said access_token={ACCESS_TOKEN}","code":503}}]}}',
            content_type="application/json",
        )
        rs.add(
            responses.GET,
            f"{BASE}/api/contacts",
            status=401,
            body=BODY_BOGUS_BEARER,
            content_type="application/json",
        )
        rs.add(
            responses.POST,
            f"{BASE}/oauth/v2/token",
            status=400,
            body=BODY_INVALID_CLIENT,
            content_type="application/json",
        )
        with pytest.raises(AuthError) as info:
            MauticClient(config).request("GET", "contacts", params={"access_token": ACCESS_TOKEN})
    text = str(info.value) + "\n" + caplog.text
    _assert_clean(text)
    assert "upstream said" in caplog.text  # the retry was logged, with the secret scrubbed
