"""The session of one run: a pooled :class:`~mautic_api.http.MauticSession` with its authenticator attached.

Why a layer of its own: http knows nothing of auth, and auth sends its token requests through http, so the
two are put together here, above both. A plugin run builds ONE session (through its one ``MauticClient``) and
every stream or sink shares it: one connection pool, one token (a single-use OAuth2 refresh token is spent
once), and the advice logged once. Nothing is cached per process.
"""

from __future__ import annotations

import logging
from typing import Any

import urllib3

from mautic_api.auth import build_auth
from mautic_api.errors import scrub_url
from mautic_api.http import MauticSession, default_user_agent

LOGGER = logging.getLogger("mautic_api")


def open_session(settings: Any) -> MauticSession:
    """A new pooled session for these settings (a frozen :class:`~mautic_api.settings.Settings`).

    The authenticator is attached as ``session.auth`` so every request through this session is
    authenticated, including the re-authentication on a 401 (a response hook of the authenticator).
    """
    session = MauticSession(
        timeout=settings.request_timeout,
        verify=settings.verify_ssl,
        user_agent=settings.user_agent or default_user_agent(),
    )
    session.auth = build_auth(settings, session)
    if not settings.verify_ssl:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        LOGGER.warning(
            "verify_ssl is false: TLS certificates of %s are not checked.", scrub_url(settings.base_url)
        )
    return session
