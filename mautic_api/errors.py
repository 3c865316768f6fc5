"""Mautic's error shapes, parsed into a small exception hierarchy.

INTERFACE (filled in by the mautic_api work): every exception carries ``status`` (HTTP status or None),
``errors`` (the parsed list of ``{"code","message","details","type"}`` dicts) and a one-line ``str()``
that never contains a secret.
"""

from __future__ import annotations

from typing import Any


class MauticError(Exception):
    """Base of every error raised by the shared API layer."""

    def __init__(self, message: str, *, status: int | None = None, errors: list[dict[str, Any]] | None = None):
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
    """429, 502/503/504, connection resets, timeouts: worth another try after ``wait_seconds``."""

    def __init__(self, message: str, *, wait_seconds: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.wait_seconds = wait_seconds
