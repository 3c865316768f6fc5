"""The shared Mautic API layer used by tap-mautic and target-mautic.

One place for settings, authentication, HTTP (session, retries, PHP query encoding), error parsing and the
catalog of Mautic contexts. Tap and target build a :class:`MauticClient` from their config and never talk
to Mautic any other way.

The same client is a documented Python API for scripts (the successor of the PHP ``mautic/api-library``):
``MauticClient(config).context("contacts")`` gives a :class:`ContextApi` with ``get``, ``get_list``,
``iter_all``, ``get_field_list``, ``create``, ``edit``, ``delete`` and the batch calls; errors are the
exceptions below. See the README section "Using the Python client". Needs no singer-sdk: the plugins'
singer-sdk side (the seam, the config schema) is :mod:`mautic_singer`.
"""

from mautic_api.answers import BatchItemResult, ListPage
from mautic_api.authorize import AuthorizationError
from mautic_api.catalog import CONTEXTS, Context, get_context
from mautic_api.client import MauticClient
from mautic_api.contexts import ContextApi
from mautic_api.errors import (
    AuthError,
    BatchLimitError,
    ConfigurationError,
    MauticAPIError,
    MauticError,
    NotFoundError,
    PermissionDeniedError,
    RetryableError,
    SerializerBugError,
)
from mautic_api.settings import normalize_config

__all__ = [
    "CONTEXTS",
    "AuthError",
    "AuthorizationError",
    "BatchItemResult",
    "BatchLimitError",
    "ConfigurationError",
    "Context",
    "ContextApi",
    "ListPage",
    "MauticAPIError",
    "MauticClient",
    "MauticError",
    "NotFoundError",
    "PermissionDeniedError",
    "RetryableError",
    "SerializerBugError",
    "get_context",
    "normalize_config",
]
