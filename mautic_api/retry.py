"""The retry policy's waits: what a 429/503 answer asks for (``Retry-After``, ``X-RateLimit-Reset``) and the
jittered exponential backoff otherwise.

Why a layer of its own: the same policy drives :func:`mautic_api.http.send` and singer-sdk's own request loop
(``backoff_wait_generator`` of a tap stream), and :mod:`mautic_api.errors` stays free of it (the wait is
computed here and handed to the exception).
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Generator, Mapping
from typing import Any

import backoff
import requests

from mautic_api.errors import RETRYABLE_STATUSES, RetryableError

MAX_WAIT_SECONDS = 300.0  # cap for server-requested waits (Retry-After / X-RateLimit-Reset)
BACKOFF_FACTOR = 1.0  # first exponential wait is ~0.5-1 s, then doubling
BACKOFF_MAX = 60.0  # cap of the exponential waits


def _parse_float(value: Any) -> float | None:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def wait_from_headers(
    status: int | None, headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """The wait (seconds, capped) a 429/503 answer asks for, or None when it asks for none."""
    if not headers or status not in RETRYABLE_STATUSES:
        return None
    now = time.time() if now is None else now
    retry_after = headers.get("Retry-After")
    if retry_after:
        seconds = _parse_float(retry_after)
        if seconds is None:
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
                seconds = when.timestamp() - now
            except (TypeError, ValueError, IndexError):
                seconds = None
        if seconds is not None:
            return max(0.0, min(seconds, MAX_WAIT_SECONDS))
    reset = _parse_float(headers.get("X-RateLimit-Reset"))
    if reset is not None:
        seconds = reset - now if reset > 1_000_000_000 else reset  # epoch or seconds-from-now
        return max(0.0, min(seconds, MAX_WAIT_SECONDS))
    return None


def retry_wait_seconds(exc_or_response: Any) -> float | None:
    """Seconds the server asked us to wait before retrying, or None (use exponential backoff).

    Accepts a :class:`requests.Response`, a :class:`RetryableError`, or any exception with a
    ``response`` attribute (singer-sdk ``RetriableAPIError``, ``requests.HTTPError``) or a
    ``RetryableError`` as ``__cause__``.
    """
    if exc_or_response is None:
        return None
    if isinstance(exc_or_response, requests.Response):
        return wait_from_headers(exc_or_response.status_code, exc_or_response.headers)
    if isinstance(exc_or_response, RetryableError):
        return exc_or_response.wait_seconds
    cause = getattr(exc_or_response, "__cause__", None)
    if isinstance(cause, RetryableError) and cause.wait_seconds is not None:
        return cause.wait_seconds
    response = getattr(exc_or_response, "response", None)
    if isinstance(response, requests.Response):
        return wait_from_headers(response.status_code, response.headers)
    return None


def wait_generator(
    *, factor: float = BACKOFF_FACTOR, max_value: float = BACKOFF_MAX, budget: float | None = None
) -> Generator[float, Any, None]:
    """``backoff`` wait generator for the Mautic policy: server hint if any, else jittered exponential.

    ``budget``: the seconds our own backoff waits of one request may add up to (``max_retry_seconds``;
    None: no limit); the last is shortened to what is left. The generator ends (``StopIteration``) once
    the budget is spent: the caller gives up, as after ``max_retries``. A wait the server asks for (429)
    is neither shortened nor counted: the server said when it will answer (an earlier retry only earns
    another 429), and Mautic's rate limit may ask for minutes; ``max_retries`` and ``MAX_WAIT_SECONDS``
    bound those. Waiting time is what is counted, not the time the attempts took, so a budget means the
    same with any ``request_timeout`` and tests can record the waits instead of sleeping them.

    Protocol of ``backoff.on_exception``: primed with ``send(None)``, then sent each exception.
    """
    expo = backoff.expo(base=2, factor=factor, max_value=max_value)
    next(expo)
    left = math.inf if budget is None else max(0.0, budget)
    exc = yield 0
    while True:
        step = next(expo)
        hinted = retry_wait_seconds(exc)
        if hinted is not None:
            value = hinted + random.uniform(0, min(1.0, hinted * 0.1 + 0.05))
        elif left <= 0:
            return
        else:  # "equal jitter": half fixed, half random, never ~0
            value = min(step / 2 + backoff.full_jitter(step / 2), left)
            left -= value
        exc = yield value
