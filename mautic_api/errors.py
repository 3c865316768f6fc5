"""Mautic's error shapes, parsed into a small exception hierarchy.

Every exception carries ``status`` (HTTP status or None), ``errors`` (the parsed list of
``{"code","message","details","type"}`` dicts) and a one-line ``str()`` that never contains a secret:
messages are built from Mautic's own error text, the HTTP method and the URL *path* (never the query
string, which may hold ``access_token``, and never request headers).

Shapes understood (mautic-api.md section 6.3 and the 5.1.0 recordings):

* ``{"errors": [{"code", "message", "details", "type"}]}`` (4.x/5.x; also inside HTTP 200 for /stats);
* the raw OAuth shape ``{"error": "invalid_grant", "error_description": "..."}``;
* the pre-3.0 shape ``{"error": {"message", "code"}}``;
* non-JSON bodies (HTML from a wrong URL or a proxy, truncated JSON).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


class MauticError(Exception):
    """Base of every error raised by the shared API layer."""

    def __init__(
        self, message: str, *, status: int | None = None, errors: list[dict[str, Any]] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.errors = errors or []


class ConfigurationError(MauticError):
    """A setting is wrong or missing; the message names the setting and the fix. Exit without traceback."""


class AuthError(ConfigurationError):
    """401/403 caused by credentials or instance configuration (API disabled, Basic auth disabled, ...)."""


class PermissionDeniedError(MauticError):
    """The credentials may not read/write this resource (403, or a 200 carrying errors code 403)."""


class NotFoundError(MauticError):
    """404 "Item was not found." (also Mautic's answer to a wrong HTTP method)."""


class MauticAPIError(MauticError):
    """Any other error answer from Mautic (400/422 validation, request-caused 500s, 200 with errors)."""


class BatchLimitError(MauticAPIError):
    """500 "A max of N entities are supported at a time.": the caller must send smaller chunks."""


class RetryableError(MauticError):
    """429, 502/503/504, connection resets, timeouts: worth another try after ``wait_seconds``.

    ``maybe_applied`` is True when the request may have reached Mautic and been carried out (a read timeout,
    a reset or truncated answer, a 502/504 from a proxy): resending is safe for reads and upserts, not for a
    create Mautic does not de-duplicate (companies, notes), which would then exist twice.
    """

    def __init__(
        self, message: str, *, wait_seconds: float | None = None, maybe_applied: bool = False, **kwargs: Any
    ):
        super().__init__(message, **kwargs)
        self.wait_seconds = wait_seconds
        self.maybe_applied = maybe_applied


class SerializerBugError(MauticAPIError):
    """A non-empty list whose items lack ``id``: Mautic 5.0's jms/serializer bug (mautic#13243)."""


RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# A proxy's 502/504 can come after Mautic carried the request out; 429 and 503 come before it runs.
MAYBE_APPLIED_STATUSES = frozenset({502, 504})
OAUTH_ERROR_TYPES = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        "unauthorized_client",
        "invalid_request",
        "unsupported_grant_type",
        "invalid_scope",
        "redirect_uri_mismatch",
        "access_denied",
    }
)

# ---------------------------------------------------------------------------------------------- parsing


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return []


def _norm_error(entry: Any) -> dict[str, Any]:
    if isinstance(entry, dict):
        return {
            "code": entry.get("code"),
            "message": str(
                entry.get("message") or entry.get("error_description") or entry.get("error") or ""
            ),
            "details": entry.get("details"),
            "type": entry.get("type"),
        }
    return {"code": None, "message": str(entry), "details": None, "type": None}


def parse_errors(body: Any) -> list[dict[str, Any]]:
    """The error entries of a decoded body, whatever the shape; [] when there are none.

    ``errors`` may be a list or (batch answers) an object keyed by input index; the OAuth shape and the
    pre-3.0 ``error`` object each become one entry.
    """
    if not isinstance(body, dict):
        return []
    found: list[dict[str, Any]] = []
    if body.get("errors"):
        found.extend(_norm_error(e) for e in _as_list(body["errors"]) if e is not None)
        if not found and isinstance(body["errors"], str):
            found.append(_norm_error(body["errors"]))
    error = body.get("error")
    if not found and error:
        if isinstance(error, dict):  # pre-3.0 {"error": {"message", "code"}}
            found.append(_norm_error(error))
        else:  # raw OAuth {"error": "invalid_grant", "error_description": "..."}
            found.append(
                {
                    "code": None,
                    "message": str(body.get("error_description") or error),
                    "details": None,
                    "type": str(error),
                }
            )
    return found


# ---------------------------------------------------------------------------------------------- scrubbing

_QUERY_SECRET = re.compile(r"(?i)((?:access_token|refresh_token|client_secret|password|code)=)[^&\s]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic|oauth)\s+[A-Za-z0-9._~+/=-]{6,}")


_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")


def scrub_url(text: str) -> str:
    """``scheme://user:password@host`` -> ``scheme://<redacted>@host`` wherever a URL appears in ``text``."""
    return _URL_USERINFO.sub(r"\1<redacted>@", text)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove secrets from ``text``: known values, credentials inside URLs, ``token=...`` query pairs,
    Authorization values."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "<redacted>")
    text = scrub_url(text)
    text = _QUERY_SECRET.sub(r"\1<redacted>", text)
    return _BEARER.sub(r"\1 <redacted>", text)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------- mapping

API_SETTINGS_FIX = "enable the API in Mautic's Configuration > API Settings"


def auth_error_for(
    status: int,
    errors: list[dict[str, Any]],
    *,
    where: str,
    token_endpoint: bool = False,
    auth_method: str | None = None,
    grant: str | None = None,
) -> MauticError | None:
    """The configuration error for an auth failure (cause and fix in one line), or None if not one."""
    first = errors[0] if errors else {"message": "", "type": None, "code": None}
    kind = (first.get("type") or "").lower()
    msg = str(first.get("message") or "")
    low = msg.lower()

    def err(text: str, cls: type[MauticError] = AuthError) -> MauticError:
        return cls(f"{where} -> {status}: {text}", status=status, errors=errors)

    if kind == "api_disabled" or low.startswith("api disabled"):
        return err(f'Mautic\'s API is disabled: {API_SETTINGS_FIX} ("API enabled" = Yes).')
    if "basic auth disabled" in low:
        return err(
            'HTTP Basic auth is disabled on this Mautic: enable "Enable HTTP basic auth" in Mautic\'s '
            "Configuration > API Settings, or use auth_method oauth2 with client_id/client_secret."
        )
    if kind == "invalid_client":
        return err(
            "the OAuth2 client credentials are invalid: check settings 'client_id' and 'client_secret'."
        )
    if kind == "unauthorized_client":
        return err(
            f"this OAuth2 client may not use the {grant or 'requested'} grant: client_credentials needs a "
            "client created by an admin user on Mautic >= 4; otherwise authorize it and set 'refresh_token'."
        )
    if kind == "invalid_grant":
        if token_endpoint and "refresh" in low:
            return err(
                f"the OAuth2 refresh token was rejected ({_one_line(msg, 80)}; "
                "refresh tokens are single-use): "
                "authorize again and set a new 'refresh_token' (and 'token_store_path' so rotations persist)."
            )
        if token_endpoint:
            return err(f"the OAuth2 grant was rejected ({_one_line(msg, 80)}): authorize again.")
        return err(
            f"the OAuth2 access token is invalid or expired ({_one_line(msg, 80)}): refresh it or authorize "
            "again (check 'access_token', 'refresh_token', 'client_id'/'client_secret')."
        )
    if "invalid credentials" in low:
        return err("Mautic rejected the username/password: check settings 'username' and 'password'.")
    if "authorization denied" in low or kind == "access_denied":
        hint = (
            "OAuth1a was removed in Mautic 4; use auth_method basic or oauth2"
            if auth_method == "oauth1a"
            else "set 'username'/'password' (Basic auth) or 'client_id'/'client_secret' (OAuth2)"
        )
        return err(f"Mautic denied access without valid credentials ({_one_line(msg, 80)}): {hint}.")
    if status == 401:
        return err(f"not authenticated ({_one_line(msg, 120) or 'no message'}): check the auth settings.")
    return None


def exception_for(
    status: int,
    body: Any,
    *,
    method: str,
    path: str,
    is_json: bool = True,
    wait_seconds: float | None = None,
    token_endpoint: bool = False,
    auth_method: str | None = None,
    grant: str | None = None,
    secrets: Iterable[str] = (),
    batch: bool = False,
) -> MauticError | None:
    """Map one answer to the exception it means, or None when it is a success.

    ``path`` must be the URL path without the query string. ``body`` is the decoded JSON (or the raw
    text when ``is_json`` is False). 2xx answers with a top-level ``errors`` are errors too, except batch
    answers (``batch=True`` or a body holding ``statusCodes``), whose ``errors`` the caller reads per item.
    ``wait_seconds`` is the wait the answer's headers ask for (:func:`mautic_api.retry.wait_from_headers`),
    carried by a :class:`RetryableError`.
    """
    where = f"{method.upper()} {path}"
    secrets = list(secrets)

    def make(cls: type[MauticError], text: str, errors: list[dict[str, Any]] | None = None,
             **kw: Any) -> MauticError:
        return cls(
            scrub(f"{where} -> {status}: {_one_line(text)}", secrets),
            status=status,
            errors=errors or [],
            **kw,
        )

    if not is_json:
        text = str(body or "")
        if status in RETRYABLE_STATUSES:
            return make(
                RetryableError,
                "transient server answer (non-JSON body)",
                wait_seconds=wait_seconds,
                maybe_applied=status in MAYBE_APPLIED_STATUSES,
            )
        stripped = text.lstrip()
        if 200 <= status < 300 and stripped[:1] in ("{", "["):
            return make(RetryableError, "truncated or malformed JSON body", maybe_applied=True)
        if 200 <= status < 300 and not stripped:
            return None
        if status >= 500:  # a PHP fatal error or a proxy page: not Mautic's JSON, not worth a retry
            return make(MauticAPIError, "server error with a non-JSON body (PHP fatal error or proxy page?)")
        if status in (401, 403):
            return make(
                AuthError, "access denied with a non-JSON answer: check 'base_url' and the credentials."
            )
        title = re.search(r"(?is)<title>(.*?)</title>", text)
        shown = f" (page title {title.group(1).strip()[:60]!r})" if title else ""
        return make(
            ConfigurationError,
            f"the answer is not Mautic API JSON{shown}: check setting 'base_url' "
            "(the instance URL, without /api).",
        )

    errors = parse_errors(body)

    if 200 <= status < 300:
        if not errors or batch or (isinstance(body, dict) and "statusCodes" in body):
            return None
        codes = {str(e.get("code")) for e in errors}
        if "403" in codes:
            return make(PermissionDeniedError, f"permission denied: {errors[0]['message']}", errors)
        return make(MauticAPIError, errors[0]["message"] or "error in a 200 answer", errors)

    if status in RETRYABLE_STATUSES:
        text = errors[0]["message"] if errors else "transient server answer"
        return make(
            RetryableError,
            text,
            errors,
            wait_seconds=wait_seconds,
            maybe_applied=status in MAYBE_APPLIED_STATUSES,
        )

    message = errors[0]["message"] if errors else ""

    if status in (400, 401, 403):
        auth = auth_error_for(
            status, errors, where=where, token_endpoint=token_endpoint, auth_method=auth_method, grant=grant
        )
        oauth_type = bool(errors) and errors[0].get("type") in OAUTH_ERROR_TYPES
        if auth is not None and (status != 400 or token_endpoint or oauth_type):
            auth.args = (scrub(str(auth), secrets),)
            return auth
        if status == 403:
            return make(
                PermissionDeniedError,
                f"permission denied: {message or 'no access'} (check the Mautic user's role)",
                errors,
            )

    if status == 404:
        if path.rstrip("/") in ("/api", "") or path.rstrip("/").endswith("/api"):
            return make(ConfigurationError, "no Mautic API here: check setting 'base_url'.", errors)
        if message.lower().startswith("requested url not found") and path.startswith("/oauth"):
            return make(ConfigurationError, f"{message}: check setting 'base_url' and 'auth_method'.", errors)
        return make(NotFoundError, message or "Item was not found.", errors)

    if status == 500 and re.match(r"(?i)a max of \d+ entities are supported", message):
        return make(BatchLimitError, message, errors)

    return make(MauticAPIError, message or "error answer without a message", errors)
