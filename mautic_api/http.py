"""HTTP for Mautic: the pooled session class, PHP query encoding, classification of answers, the send loop.

Why here and not in the tap/target: the retry policy (which statuses, how long to wait, when to give up)
and the reading of Mautic's answers must be the same for every request either plugin sends, whether it
goes through :class:`~mautic_api.client.MauticClient` or through singer-sdk's own request loop.

Layer: errors <- retry <- **http** <- auth <- session <- client <- sdk. Nothing here knows about auth: the
session with its authenticator is put together by :mod:`mautic_api.session`.

Pieces for a singer-sdk ``RESTStream`` (see ``tap_mautic``):

* :func:`classify_response` -- raise the right :mod:`mautic_api.errors` exception for an answer (also
  for ``errors`` inside a 200 and for truncated JSON), or return the decoded body;
* :func:`transport_error` -- the same for a transport failure (reset, timeout, TLS);
* :mod:`mautic_api.retry` -- the waits (server-requested or jittered exponential).
"""

from __future__ import annotations

import importlib.metadata
import json as jsonlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
import requests
import urllib3

from mautic_api.answers import BatchAnswerShape, ListAnswerShape
from mautic_api.concurrency import ConcurrencyLimiter
from mautic_api.errors import (
    ConfigurationError,
    MauticAPIError,
    MauticError,
    RetryableError,
    exception_for,
    scrub,
)
from mautic_api.retry import wait_from_headers, wait_generator
from mautic_api.values import wire_datetime

LOGGER = logging.getLogger("mautic_api")


# Indirection so tests can replace the sleep without touching time.sleep (the simulator uses it).
_sleep = time.sleep

# ---------------------------------------------------------------------------------------------- query


def _format_scalar(value: Any) -> str:
    if isinstance(value, bool):  # PHP http_build_query: true -> 1, false -> 0 ("false" would be truthy)
        return "1" if value else "0"
    if isinstance(value, datetime):  # Mautic compares naive UTC "Y-m-d H:i:s"
        return wire_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:  # http_build_query skips nulls
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]" if prefix else str(key), item, out)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, out)
    else:
        out.append((prefix, _format_scalar(value)))


def php_query(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Flatten nested dicts/lists into PHP bracket pairs, like PHP's ``http_build_query``.

    ``{"where": [{"col": "id", "expr": "gt", "val": 10}]}`` gives
    ``[("where[0][col]", "id"), ("where[0][expr]", "gt"), ("where[0][val]", "10")]``; requests then
    percent-encodes them (a literal ``+`` becomes ``%2B``, as Mautic needs).
    """
    out: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        _flatten(str(key), value, out)
    return out


# ---------------------------------------------------------------------------------------------- answers


_UTF8 = frozenset({"utf-8", "utf8"})


def response_json(response: requests.Response,
                  shape: ListAnswerShape | BatchAnswerShape | None = None) -> tuple[bool, Any]:
    """``(is_json, body)`` of an answer, decoded once and cached on the response object.

    A UTF-8 body is decoded by msgspec (a page of 200 contacts is megabytes), to ``shape`` when given and
    the answer fits it (:mod:`mautic_api.answers`); a body msgspec refuses (not JSON, NaN, a BOM, another
    charset) goes the way of ``json.loads`` as before, with the same outcome."""
    cached: tuple[bool, Any] | None = getattr(response, "_mautic_decoded", None)
    if cached is not None:
        return cached
    content_type = (response.headers.get("Content-Type") or "").lower()
    if response.content and content_type.startswith(("application/zip", "application/octet-stream")):
        result_bin: tuple[bool, Any] = (True, response.content)  # a theme download: not JSON by design
        # [attr-defined] below: the decoded body is cached on the response
        response._mautic_decoded = result_bin  # type: ignore[attr-defined]
        return result_bin
    if response.content and (response.encoding or "").lower().replace("_", "-") in _UTF8:
        fitted = shape.decode(response.content) if shape is not None else None
        try:  # msgspec reads a page twice as fast as json; what it refuses takes json's path below
            decoded: tuple[bool, Any] = (
                True, fitted if fitted is not None else msgspec.json.decode(response.content))
        except msgspec.DecodeError:
            pass
        else:
            # [attr-defined] below: the decoded body is cached on the response
            response._mautic_decoded = decoded  # type: ignore[attr-defined]
            return decoded
    text = response.text if response.content else ""
    if not text.strip():
        result: tuple[bool, Any] = (True, None)
    else:
        try:
            result = (True, jsonlib.loads(text))
        except ValueError:
            result = (False, text)
    # [attr-defined] below: the decoded body is cached on the response
    response._mautic_decoded = result  # type: ignore[attr-defined]
    return result


def classify_response(
    response: requests.Response,
    *,
    secrets: Iterable[str] = (),
    auth_method: str | None = None,
    batch: bool = False,
    warned: LoggedOnce | None = None,
    shape: BatchAnswerShape | None = None,
) -> Any:
    """Return the decoded JSON body of a successful answer, or raise the mautic_api exception it means.

    Raises :class:`RetryableError` for 429/502/503/504 and for a truncated JSON body on a 2xx, so a retry
    loop can catch exactly that class; every other error is final. ``warned`` holds the advice already
    logged in this run (a session's ``warned``), so a redirect is warned about once per run, not per page.
    """
    _check_redirects(response, warned)
    is_json, body = response_json(response, shape if 200 <= response.status_code < 300 else None)
    path = urlsplit(response.url or "").path or "/"
    grant = None
    if path.endswith("/oauth/v2/token") and response.request is not None:
        grant = _grant_of(response.request)
    exc = exception_for(
        response.status_code,
        body,
        method=(response.request.method if response.request is not None else "GET") or "GET",
        path=path,
        is_json=is_json,
        wait_seconds=wait_from_headers(response.status_code, response.headers),
        token_endpoint=path.endswith("/oauth/v2/token"),
        auth_method=auth_method,
        grant=grant,
        secrets=secrets,
        batch=batch,
    )
    if exc is not None:
        raise exc
    return body


def _check_redirects(response: requests.Response, warned: LoggedOnce | None) -> None:
    """A redirected API call means base_url is not the final address: requests turns a redirected POST
    into a GET and drops the Authorization header on another host, so writes would silently misbehave."""
    hops = [r for r in response.history if 300 <= r.status_code < 400]
    if not hops:
        return
    first = hops[0]
    method = (first.request.method if first.request is not None else "GET") or "GET"
    final = urlsplit(response.url or "")
    where = f"{final.scheme}://{final.hostname}" + (f":{final.port}" if final.port else "")
    message = (
        f"{method} {urlsplit(first.url or '').path} was redirected ({first.status_code}) to {where}: "
        f"set 'base_url' to the final address"
    )
    if method.upper() not in ("GET", "HEAD"):
        raise ConfigurationError(message + " (a redirected write is not safe).", status=first.status_code)
    if warned is None or warned.first(message):
        LOGGER.warning("%s.", message)


class LoggedOnce:
    """Advice already logged in this run. :meth:`first` checks and records under a lock, so threads sharing
    the session (the target's lanes, the tap's slices) log a message once, never once each."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def first(self, message: str) -> bool:
        """True the first time ``message`` is seen (the caller logs it), False after."""
        with self._lock:
            if message in self._seen:
                return False
            self._seen.add(message)
            return True

    def __contains__(self, message: object) -> bool:
        with self._lock:
            return message in self._seen


def _grant_of(request: requests.PreparedRequest) -> str | None:
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and "grant_type=" in body:
        return body.split("grant_type=", 1)[1].split("&", 1)[0]
    return None


# ---------------------------------------------------------------------------------------------- session

class WholeBodyAdapter(requests.adapters.HTTPAdapter):
    """Reads a body in pieces of 1 MiB instead of requests' 10 KB: a page of 200 contacts is megabytes, and
    each piece is a round through urllib3 in Python (~5 ms of CPU per page, on the tap's critical path).
    Still through ``iter_content``, so a broken answer raises the same requests exceptions."""

    BODY_CHUNK = 1 << 20

    # [override]: the adapter's keyword arguments are passed on as they are, not re-declared
    # [override] below: passes the adapter's keyword arguments on
    def send(self, request: requests.PreparedRequest, stream: bool = False,  # type: ignore[override]
             **kwargs: Any) -> requests.Response:
        response = super().send(request, stream=stream, **kwargs)
        if not stream:  # what Session.send does next (``response.content``), in bigger pieces
            response._content = b"".join(response.iter_content(self.BODY_CHUNK)) or b""
        return response


class MauticSession(requests.Session):
    """A requests.Session that remembers the Mautic-Version it saw and the advice it already logged.

    One per plugin run (built by :func:`mautic_api.session.open_session` for its ``MauticClient``): what
    must live across calls of the run lives here, never in a module-level global.
    """

    def __init__(self, *, timeout: float, verify: bool, user_agent: str | None) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.verify = (ca_bundle_from_env() or True) if verify and self.trust_env else verify
        self.mautic_version: str | None = None
        self.first_date: str | None = None  # the Date header of the run's first answer (Mautic's clock)
        self.warned = LoggedOnce()  # advice logged once per run (a redirected base_url)
        # the run's adaptive concurrency (mautic_api.concurrency); None: fixed, no gate
        self.limiter: ConcurrencyLimiter | None = None
        self._version_lock = threading.Lock()
        self.headers["Accept"] = "application/json"
        if user_agent:
            self.headers["User-Agent"] = user_agent
        self.hooks["response"].append(self._on_response)
        adapter = WholeBodyAdapter(pool_connections=4, pool_maxsize=16)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        date = response.headers.get("Date")
        if date and self.first_date is None and response.status_code < 400:
            with self._version_lock:
                if self.first_date is None:
                    self.first_date = date
        version = response.headers.get("Mautic-Version")
        if version and self.mautic_version is None:
            with self._version_lock:
                first = self.mautic_version is None
                self.mautic_version = version
            if first:
                LOGGER.info("Mautic-Version: %s", version)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """One exchange, inside a slot of the run's limiter when there is one: every request of the run
        (singer-sdk's loop, the client's calls, the tap's slices, the target's lanes) waits for a slot here
        and reports its latency and status, which is what the limit learns from."""
        limiter = self.limiter
        if limiter is None:
            return super().send(request, **kwargs)
        with limiter.slot() as done:
            try:
                response = super().send(request, **kwargs)
            except requests.RequestException:
                done(None, None)
                raise
            done(response.status_code, wait_from_headers(response.status_code, response.headers))
            return response

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        # Explicit, or REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment would override verify=False
        # (requests merges the environment over the session); True still picks up such a CA bundle.
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]  # bytes work


def default_user_agent() -> str:
    try:
        ours = importlib.metadata.version("mautic-singer")
    except Exception:
        ours = "0"
    library = str(getattr(requests, "__version__", "0"))  # set by requests; its hints do not export it
    return f"mautic-singer/{ours} (+python-requests/{library})"


# ---------------------------------------------------------------------------------------------- sending


_PLAIN_HTTP_SIGNS = ("wrong_version_number", "wrong version number", "unknown protocol", "record layer",
                     "packet length too long", "http request")


def tls_error_text(exc: BaseException) -> str:
    """What a TLS failure means, in one line: an untrusted certificate, or a port that speaks plain HTTP."""
    text = str(exc).lower()
    if "certificate_verify_failed" in text or "certificate verify failed" in text:
        return ("TLS certificate verification failed for 'base_url': fix the certificate (or trust its CA "
                "with REQUESTS_CA_BUNDLE), or set 'verify_ssl' to false for a trusted test instance.")
    if any(sign in text for sign in _PLAIN_HTTP_SIGNS):
        return ("TLS handshake failed: the server at 'base_url' answers in plain HTTP on that port; use "
                "http:// in 'base_url' or the instance's HTTPS port.")
    return ("TLS handshake with 'base_url' failed: check the scheme and port in 'base_url' and the server's "
            "TLS setup.")


def ca_bundle_from_env() -> str | None:
    """The CA bundle requests would take from the environment (only ``Session.request`` reads it; singer-sdk
    sends through ``Session.send``, which does not, so the session carries it itself)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def transport_error(exc: requests.RequestException, method: str, path: str) -> MauticError:
    where = f"{method.upper()} {path}"
    if isinstance(exc, requests.exceptions.SSLError):
        return ConfigurationError(f"{where}: {tls_error_text(exc)}")
    if isinstance(exc, requests.exceptions.InvalidJSONError):  # raised before sending: nothing to retry
        return MauticAPIError(f"{where}: the request body is not valid JSON (NaN or Infinity in a value?)")
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema,
    ):
        return ConfigurationError(f"{where}: setting 'base_url' is not a valid URL.")
    maybe_applied = True  # the request may have reached Mautic
    if isinstance(exc, requests.exceptions.ReadTimeout):
        reason = "read timeout (raise 'request_timeout' if Mautic is just slow)"
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        reason, maybe_applied = "connect timeout (check 'base_url')", False
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        reason = "connection broken mid-answer"
    else:
        cause = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(cause, urllib3.exceptions.NewConnectionError):  # refused or unresolvable: never sent
            reason, maybe_applied = "cannot connect (check 'base_url': is Mautic at that address?)", False
        else:
            reason = "connection failed or reset (check 'base_url' if this persists)"
    return RetryableError(f"{where}: {reason} [{type(exc).__name__}]", maybe_applied=maybe_applied)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | list[tuple[str, str]] | None = None,
    json: Any = None,
    data: Any = None,
    auth: Any = None,
    max_retries: int = 5,
    max_retry_seconds: float | None = None,
    timeout: float | None = None,
    secrets: Iterable[str] = (),
    auth_method: str | None = None,
    logger: logging.Logger | None = None,
    batch: bool = False,
    idempotent: bool = True,
    shape: BatchAnswerShape | None = None,
) -> tuple[requests.Response, Any]:
    """Send one request with the retry policy; return ``(response, decoded body)`` or raise (a 2xx body
    decoded to ``shape`` when given and it fits).

    Retries (up to ``max_retries`` times, and while the waits add up to at most ``max_retry_seconds``) on
    :class:`RetryableError`: 429 (waiting as the server asks),
    502/503/504, connection errors and resets, read timeouts and truncated JSON on a 2xx. Never on
    400/401/403/404/422 nor on Mautic's request-caused 500s. A request that is not ``idempotent`` is not
    resent after an error that may have followed its execution (``RetryableError.maybe_applied``): the
    caller checks what was written instead of creating it twice.
    """
    log = logger or LOGGER
    secrets = [s for s in secrets if s]
    query = php_query(params) if isinstance(params, Mapping) else params
    path = urlsplit(url).path
    waits = wait_generator(budget=max_retry_seconds)
    next(waits)
    attempt = 0
    started = time.monotonic()
    resent_after_maybe_applied = False
    while True:
        attempt += 1
        try:
            kwargs: dict[str, Any] = {"params": query}
            if json is not None:
                kwargs["json"] = json  # requests sets Content-Type: application/json
            if data is not None:
                kwargs["data"] = data
            if auth is not None:
                kwargs["auth"] = auth
            if timeout is not None:
                kwargs["timeout"] = timeout
            try:
                response = session.request(method, url, **kwargs)
            except requests.RequestException as exc:
                raise transport_error(exc, method, path) from None
            body = classify_response(response, secrets=secrets, auth_method=auth_method, batch=batch,
                                     warned=getattr(session, "warned", None), shape=shape)
            if resent_after_maybe_applied:  # an earlier attempt may have done the work: say since when
                # [attr-defined] below: a figure carried by the response
                response.mautic_first_attempt_age = time.monotonic() - started  # type: ignore[attr-defined]
            return response, body
        except MauticError as exc:
            exc.attempts = attempt  # type: ignore[attr-defined]  # callers tell a retried write from a first try
            if not isinstance(exc, RetryableError):
                raise
            if exc.maybe_applied and not idempotent:
                exc.args = (f"{exc.args[0]} (not resent: the write may have been carried out)",)
                raise
            if attempt > max_retries:
                exc.args = (f"{exc.args[0]} (gave up after {attempt} attempts)",)
                raise
            resent_after_maybe_applied = resent_after_maybe_applied or exc.maybe_applied
            try:
                wait = waits.send(exc)
            except StopIteration:  # max_retry_seconds spent
                exc.args = (f"{exc.args[0]} (gave up after {attempt} attempts)",)
                raise exc from None
            log.warning("%s; retry %d/%d in %.1f s", scrub(str(exc), secrets), attempt, max_retries, wait)
            _sleep(wait)
