"""One authenticator interface for tap and target: ``requests.auth.AuthBase`` subclasses.

* :class:`BasicAuth` -- ``Authorization: Basic``.
* :class:`ClientCredentialsAuth` -- OAuth2 ``client_credentials`` (Mautic >= 4, admin-created client): a
  token is fetched from ``/oauth/v2/token``, re-fetched shortly before expiry and once on a 401. No
  refresh token exists for this grant.
* :class:`RefreshTokenAuth` -- OAuth2 ``access_token`` + ``refresh_token``: refreshed shortly before
  ``access_token_expires`` and once on a 401. Mautic rotates refresh tokens and each is single-use, so
  the new pair is written atomically (temp file + ``os.replace``, mode 0600) to ``token_store_path`` and
  read from there first on the next run. Refreshes are serialised by a lock within the process and by
  an advisory file lock (``<store>.lock``) between processes sharing the store.
* :class:`OAuth1aAuth` -- HMAC-SHA1 request signing through requests-oauthlib (Mautic < 4 only).

Why a response hook: the 401 retry must work for code that sends through the session directly
(singer-sdk's ``RESTStream`` uses ``session.send``) as well as inside ``MauticClient``. Like requests'
``HTTPDigestAuth``, the authenticator registers a response hook on each request it signs; on a 401 it
re-authenticates once and resends the request with the new credential.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.auth import AuthBase, _basic_auth_str

from mautic_api.errors import ConfigurationError, MauticError, scrub
from mautic_api.http import send

LOGGER = logging.getLogger("mautic_api")
EXPIRY_SKEW_SECONDS = 60  # refresh this long before the announced expiry
TOKEN_PATH = "/oauth/v2/token"

try:  # POSIX advisory locks between processes sharing a token store
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None  # type: ignore[assignment]  # no fcntl on Windows: the lock is skipped


class TokenStoreError(ConfigurationError):
    """``token_store_path`` cannot be written: a single-use refresh token must not be spent."""


class NoAuth(AuthBase):
    """Send a request without credentials (the token endpoint) even on a session that has auth."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class MauticAuth(AuthBase):
    """Base authenticator: apply the credential, and re-authenticate once on a 401."""

    method = "none"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        self.apply(r)
        if self._handle_401 not in r.hooks["response"]:
            r.register_hook("response", self._handle_401)
        return r

    def apply(self, r: requests.PreparedRequest) -> None:
        raise NotImplementedError

    def reauthenticate(self, used_credential: str | None) -> bool:
        """Obtain a fresh credential after a 401 with ``used_credential``; True when the retry may help."""
        return False

    def secrets(self) -> list[str]:
        """Secret values currently held (scrubbed from messages)."""
        return []

    def _handle_401(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        request = r.request
        if r.status_code != 401 or request is None or getattr(request, "_mautic_reauthed", False):
            return r
        used = request.headers.get("Authorization")
        if isinstance(used, bytes):
            used = used.decode("latin-1")
        try:
            renewed = self.reauthenticate(used)
        except MauticError as exc:  # keep the original 401 for the caller to map; say why renewal failed
            LOGGER.warning("Re-authentication after a 401 failed: %s", exc)
            return r
        if not renewed:
            return r
        _ = r.content  # consume so the connection can be reused
        r.close()
        retry = request.copy()
        retry._mautic_reauthed = True  # type: ignore[attr-defined]  # a mark on the retried request object
        self.apply(retry)
        LOGGER.info("Re-authenticated (%s) after a 401; resending the request once.", self.method)
        kwargs = {k: v for k, v in kwargs.items() if k in ("timeout", "verify", "proxies", "stream", "cert")}
        new = r.connection.send(retry, **kwargs)
        new.history.append(r)
        new.request = retry
        return new


class BasicAuth(MauticAuth):
    method = "basic"

    def __init__(self, username: str, password: str) -> None:
        self._header = _basic_auth_str(username, password)
        self._password = password

    def apply(self, r: requests.PreparedRequest) -> None:
        r.headers["Authorization"] = self._header

    def secrets(self) -> list[str]:
        return [self._password, self._header.split(" ", 1)[1]]

    def __repr__(self) -> str:
        return "BasicAuth(<redacted>)"


class _OAuth2Base(MauticAuth):
    """Bearer tokens from ``/oauth/v2/token``: shared token state, lock and token request."""

    method = "oauth2"
    grant = ""

    def __init__(self, settings: Any, session: requests.Session) -> None:
        self.settings = settings
        self.session = session
        self.base_url = settings.base_url
        self.client_id = settings.client_id
        self.client_secret = settings.client_secret
        self._lock = threading.RLock()
        self._access_token: str | None = settings.access_token
        self._expires_at: float | None = (
            float(settings.access_token_expires) if settings.access_token_expires else None
        )
        self.token_requests = 0  # how many token requests this authenticator made (tests, logs)

    # -- credential ---------------------------------------------------------------------------------
    def _expired(self) -> bool:
        return self._expires_at is not None and time.time() >= self._expires_at - EXPIRY_SKEW_SECONDS

    def access_token(self) -> str:
        with self._lock:
            if not self._access_token or self._expired():
                self._renew(reason="expired" if self._access_token else "none yet")
            assert self._access_token
            return self._access_token

    def apply(self, r: requests.PreparedRequest) -> None:
        r.headers["Authorization"] = f"Bearer {self.access_token()}"

    def reauthenticate(self, used_credential: str | None) -> bool:
        with self._lock:
            current = f"Bearer {self._access_token}" if self._access_token else None
            if used_credential is not None and current is not None and used_credential != current:
                return True  # another thread already renewed it
            self._renew(reason="401")
            return True

    def _renew(self, *, reason: str) -> None:
        raise NotImplementedError

    def secrets(self) -> list[str]:
        return [s for s in (self.client_secret, self._access_token) if s]

    # -- token endpoint -----------------------------------------------------------------------------
    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        self.token_requests += 1
        _, body = send(
            self.session,
            "POST",
            f"{self.base_url}{TOKEN_PATH}",
            data=form,
            auth=NoAuth(),
            max_retries=self.settings.max_retries,
            max_retry_seconds=self.settings.max_retry_seconds,
            secrets=[*self.secrets(), *(v for k, v in form.items() if k not in ("grant_type", "client_id"))],
            auth_method="oauth2",
        )
        if not isinstance(body, dict) or not body.get("access_token"):
            raise ConfigurationError(
                f"POST {TOKEN_PATH}: the answer holds no access_token: check setting 'base_url'."
            )
        return body

    def _take(self, body: dict[str, Any]) -> None:
        self._access_token = str(body["access_token"])
        expires_in = body.get("expires_in")
        try:
            self._expires_at = time.time() + float(expires_in) if expires_in is not None else None
        except (TypeError, ValueError):
            self._expires_at = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"


class ClientCredentialsAuth(_OAuth2Base):
    """OAuth2 ``client_credentials``: a new token on expiry or on a 401; no refresh token."""

    grant = "client_credentials"

    def _renew(self, *, reason: str) -> None:
        body = self._token_request(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        )
        self._take(body)
        LOGGER.info("Fetched an OAuth2 access token (client_credentials; reason: %s).", reason)


class RefreshTokenAuth(_OAuth2Base):
    """OAuth2 with a rotating, single-use refresh token, persisted to ``token_store_path``."""

    grant = "refresh_token"

    def __init__(self, settings: Any, session: requests.Session) -> None:
        super().__init__(settings, session)
        self._refresh_token: str | None = settings.refresh_token
        self.store_path: str | None = settings.token_store_path
        stored = self._read_store()
        if stored:
            self._adopt(stored)
        if not self._refresh_token:
            raise ConfigurationError(
                "Setting 'refresh_token' is required for the OAuth2 refresh flow "
                "(none in the config or the token store)."
            )

    # -- store --------------------------------------------------------------------------------------
    def _read_store(self) -> dict[str, Any] | None:
        if not self.store_path or not os.path.exists(self.store_path):
            return None
        try:
            with open(self.store_path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            LOGGER.warning("Token store %s is unreadable; using the tokens from the config.", self.store_path)
            return None
        if not isinstance(data, dict) or not data.get("refresh_token"):
            return None
        if data.get("base_url") not in (None, self.base_url) or data.get("client_id") not in (
            None,
            self.client_id,
        ):
            LOGGER.warning(
                "Token store %s belongs to another instance or client; ignoring it.", self.store_path
            )
            return None
        return data

    def _adopt(self, data: dict[str, Any]) -> None:
        self._refresh_token = str(data["refresh_token"])
        self._access_token = data.get("access_token") or None
        expires = data.get("access_token_expires")
        self._expires_at = float(expires) if expires else None

    def _write_store(self) -> None:
        if not self.store_path:
            return
        data = {
            "base_url": self.base_url,
            "client_id": self.client_id,
            "access_token": self._access_token,
            "refresh_token": self._refresh_token,
            "access_token_expires": int(self._expires_at) if self._expires_at else None,
            "saved_at": int(time.time()),
        }
        directory = os.path.dirname(os.path.abspath(self.store_path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".mautic-token-", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.store_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def check_store_writable(self) -> None:
        """Mautic's refresh tokens are single-use: before one is spent, prove the new one can be kept.

        A real probe (a temporary file in the store's folder, and the store itself opened for writing when
        it exists) rather than ``os.access``, which root and network file systems answer loosely.
        """
        if not self.store_path:
            return
        path = os.path.abspath(self.store_path)
        try:
            if os.path.isdir(path):
                raise IsADirectoryError(21, "it is a directory")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".mautic-token-probe-", dir=os.path.dirname(path))
            os.close(fd)
            os.unlink(probe)
            if os.path.exists(path):
                with open(path, "a", encoding="utf-8"):
                    pass
        except OSError as exc:
            raise TokenStoreError(
                f"Setting 'token_store_path' ({self.store_path}) cannot be written "
                f"({exc.strerror or type(exc).__name__}): the refresh token was not used, so it stays valid; "
                "fix the path and run again."
            ) from None

    @contextlib.contextmanager
    def _store_lock(self) -> Iterator[None]:
        if not self.store_path or fcntl is None:
            yield
            return
        lock_path = os.path.abspath(self.store_path) + ".lock"
        try:
            os.makedirs(os.path.dirname(lock_path), exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise TokenStoreError(
                f"Setting 'token_store_path' ({self.store_path}): its lock file cannot be created "
                f"({exc.strerror or type(exc).__name__}); the refresh token was not used."
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # -- refresh ------------------------------------------------------------------------------------
    def _renew(self, *, reason: str) -> None:
        self.check_store_writable()
        with self._store_lock():
            stored = self._read_store()
            if stored and stored.get("refresh_token") != self._refresh_token:
                # Another process rotated the pair meanwhile: its refresh token is the live one.
                self._adopt(stored)
                if self._access_token and not self._expired():
                    return
            body = self._token_request(
                {
                    "grant_type": "refresh_token",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "refresh_token": self._refresh_token or "",
                }
            )
            self._take(body)
            if body.get("refresh_token"):
                self._refresh_token = str(body["refresh_token"])
            try:
                self._write_store()
            except OSError as exc:  # checked just before: only a race or a full disk gets here
                raise TokenStoreError(
                    f"Setting 'token_store_path' ({self.store_path}): the rotated refresh token could not be "
                    f"saved ({exc.strerror or type(exc).__name__}); authorize again to get a new one."
                ) from None
        LOGGER.info(
            "Refreshed the OAuth2 access token (reason: %s)%s.",
            reason,
            "; new refresh token saved to token_store_path" if self.store_path else "",
        )

    def secrets(self) -> list[str]:
        return [*super().secrets(), *([self._refresh_token] if self._refresh_token else [])]


class OAuth1aAuth(MauticAuth):
    """OAuth1a HMAC-SHA1 signing (Mautic < 4; removed in 4.0)."""

    method = "oauth1a"

    def __init__(self, settings: Any) -> None:
        from requests_oauthlib import OAuth1

        self._oauth = OAuth1(
            client_key=settings.client_id,
            client_secret=settings.client_secret,
            resource_owner_key=settings.access_token,
            resource_owner_secret=settings.access_token_secret,
            signature_method="HMAC-SHA1",
            signature_type="AUTH_HEADER",
        )
        self._secrets = [settings.client_secret, settings.access_token, settings.access_token_secret]
        # requests-oauthlib logs the signed headers (with the access token) at DEBUG: keep them out of logs.
        for name in ("requests_oauthlib", "oauthlib"):
            lib_logger = logging.getLogger(name)
            if lib_logger.getEffectiveLevel() < logging.INFO:
                lib_logger.setLevel(logging.INFO)

    def apply(self, r: requests.PreparedRequest) -> None:
        self._oauth(r)

    def secrets(self) -> list[str]:
        return [s for s in self._secrets if s]

    def __repr__(self) -> str:
        return "OAuth1aAuth(<redacted>)"


def build_auth(settings: Any, session: requests.Session) -> MauticAuth:
    """The authenticator for normalised :class:`~mautic_api.settings.Settings`."""
    if settings.auth_method == "basic":
        return BasicAuth(settings.username, settings.password)
    if settings.auth_method == "oauth1a":
        return OAuth1aAuth(settings)
    has_store = bool(settings.token_store_path) and os.path.exists(settings.token_store_path)
    if settings.refresh_token or has_store:
        try:
            return RefreshTokenAuth(settings, session)
        except ConfigurationError as exc:
            if settings.refresh_token or isinstance(exc, TokenStoreError):
                raise
    return ClientCredentialsAuth(settings, session)


__all__ = [
    "BasicAuth",
    "ClientCredentialsAuth",
    "MauticAuth",
    "NoAuth",
    "OAuth1aAuth",
    "RefreshTokenAuth",
    "TokenStoreError",
    "build_auth",
    "scrub",
]
