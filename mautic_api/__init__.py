"""The shared Mautic API layer used by tap-mautic and target-mautic.

One place for settings, authentication, HTTP (session, retries, PHP query encoding), error parsing and the
catalog of Mautic contexts. Tap and target build a :class:`MauticClient` from their config and never talk
to Mautic any other way.
"""

from mautic_api.catalog import CONTEXTS, Context, get_context
from mautic_api.client import ListPage, MauticClient
from mautic_api.errors import (
    AuthError,
    BatchLimitError,
    ConfigurationError,
    MauticAPIError,
    MauticError,
    NotFoundError,
    PermissionDeniedError,
    RetryableError,
)

__all__ = [
    "CONTEXTS",
    "AuthError",
    "BatchLimitError",
    "ConfigurationError",
    "Context",
    "ListPage",
    "MauticAPIError",
    "MauticClient",
    "MauticError",
    "NotFoundError",
    "PermissionDeniedError",
    "RetryableError",
    "get_context",
]
