"""OAuth 1.0a (HMAC-SHA1, RFC 5849) as Mautic < 4 had it, behind ``Simulator(oauth1a=True)``.

Mautic 5.1 has no OAuth1a (recorded: ``/oauth/v1/*`` is a 404, an ``OAuth`` header a 401), so this is off by
default and its answers are not from a recording: ``request_token`` and ``access_token`` answer form-encoded
``oauth_token``/``oauth_token_secret``; ``authorize`` approves at once and redirects to the callback with the
verifier; a bad signature, stale timestamp or replayed nonce is a 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from mautic_sim.util import ApiError

MAX_SKEW_S = 300


def pct(s: str) -> str:
    return quote(s, safe="~-._")


def parse_header(value: str) -> dict[str, str]:
    out = {}
    for part in value[len("OAuth "):].split(","):
        if "=" in part:
            k, v = part.strip().split("=", 1)
            out[unquote(k)] = unquote(v.strip('"'))
    return out


def signature(method: str, url: str, params: list[tuple[str, str]], consumer_secret: str, token_secret: str) -> str:
    norm = "&".join(f"{k}={v}" for k, v in sorted((pct(k), pct(v)) for k, v in params))
    base = "&".join([method.upper(), pct(url), pct(norm)])
    key = f"{pct(consumer_secret)}&{pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()


def _deny(message: str) -> ApiError:
    return ApiError(401, message, type_="invalid_signature", controller=False, http10=True)


class OAuth1:
    """Consumer = the simulator's client id/secret; tokens live in memory."""

    def __init__(self, consumer_key: str, consumer_secret: str):
        self.key, self.secret = consumer_key, consumer_secret
        self.lock = threading.Lock()
        self.request_tokens: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, str] = {}
        self.nonces: set[tuple[str, str]] = set()

    def verify(self, method: str, url: str, query: str, headers: dict[str, str], body: bytes,
               token_kind: str) -> dict[str, str]:
        """Check the signature; returns the oauth parameters. token_kind: none | request | access."""
        oauth = parse_header(headers.get("authorization", ""))
        if oauth.get("oauth_consumer_key") != self.key:
            raise _deny("Invalid consumer key.")
        if oauth.get("oauth_signature_method") != "HMAC-SHA1":
            raise _deny("Unsupported signature method.")
        try:
            ts = int(oauth.get("oauth_timestamp", "0"))
        except ValueError:
            ts = 0
        if abs(time.time() - ts) > MAX_SKEW_S:
            raise _deny("Timestamp is out of range.")
        token = oauth.get("oauth_token", "")
        token_secret = ""
        with self.lock:
            if token_kind == "request":
                rt = self.request_tokens.get(token)
                if rt is None or rt["verifier"] != oauth.get("oauth_verifier"):
                    raise _deny("Invalid request token or verifier.")
                token_secret = rt["secret"]
            elif token_kind == "access":
                if token not in self.access_tokens:
                    raise _deny("Invalid access token.")
                token_secret = self.access_tokens[token]
            nonce = (oauth.get("oauth_nonce", ""), str(ts))
            if not nonce[0] or nonce in self.nonces:
                raise _deny("Nonce already used.")
        params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)]
        if "application/x-www-form-urlencoded" in headers.get("content-type", "") and body:
            params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params += [(k, v) for k, v in oauth.items() if k != "oauth_signature" and k != "realm"]
        expected = signature(method, url, params, self.secret, token_secret)
        if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
            raise _deny("Invalid signature.")
        with self.lock:
            self.nonces.add(nonce)
        return oauth

    def request_token(self, oauth: dict[str, str]) -> str:
        token, secret = secrets.token_hex(16), secrets.token_hex(16)
        with self.lock:
            self.request_tokens[token] = {"secret": secret, "callback": oauth.get("oauth_callback", "oob"),
                                          "verifier": secrets.token_hex(8)}
        return urlencode({"oauth_token": token, "oauth_token_secret": secret, "oauth_callback_confirmed": "true"})

    def authorize(self, token: str) -> str | None:
        with self.lock:
            rt = self.request_tokens.get(token)
        if rt is None:
            return None
        sep = "&" if "?" in rt["callback"] else "?"
        return f"{rt['callback']}{sep}{urlencode({'oauth_token': token, 'oauth_verifier': rt['verifier']})}"

    def access_token(self, oauth: dict[str, str]) -> str:
        token, secret = secrets.token_hex(16), secrets.token_hex(16)
        with self.lock:
            self.request_tokens.pop(oauth.get("oauth_token", ""), None)
            self.access_tokens[token] = secret
        return urlencode({"oauth_token": token, "oauth_token_secret": secret})
