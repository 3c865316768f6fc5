"""OAuth1a (Mautic < 4) end to end: our signed requests are accepted by a server that checks signatures."""

from __future__ import annotations

import pytest
import requests
from requests_oauthlib import OAuth1Session

from mautic_api.client import MauticClient
from mautic_api.errors import AuthError
from mautic_sim import Simulator
from tests.support.tap import sync


def three_legged_tokens(sim: Simulator) -> dict[str, str]:
    """The token and secret a user gets by authorising the consumer (once, outside the connector)."""
    session = OAuth1Session("sim-client", client_secret="sim-secret", callback_uri="http://127.0.0.1/cb")
    request_token = session.fetch_request_token(f"{sim.url}/oauth/v1/request_token")
    approved = requests.get(
        f"{sim.url}/oauth/v1/authorize",
        params={"oauth_token": request_token["oauth_token"]},
        allow_redirects=False,
        timeout=10,
    )
    session.parse_authorization_response(approved.headers["Location"])
    return session.fetch_access_token(f"{sim.url}/oauth/v1/access_token")


def test_client_and_tap_sign_with_oauth1a() -> None:
    with Simulator(contacts=25, oauth1a=True) as sim:
        tokens = three_legged_tokens(sim)
        config = {
            "base_url": sim.url,
            "auth_method": "oauth1a",
            "client_id": "sim-client",
            "client_secret": "sim-secret",
            "access_token": tokens["oauth_token"],
            "access_token_secret": tokens["oauth_token_secret"],
        }
        page = MauticClient(config).list_page("contacts", limit=5, order_by="id")
        assert [r["id"] for r in page.records] == [1, 2, 3, 4, 5]
        assert page.total == 25

        result = sync(config, streams=["contacts"])
        assert result.ids("contacts") == set(range(1, 26))

        wrong = {**config, "access_token_secret": "not-the-secret"}
        with pytest.raises(AuthError):
            MauticClient(wrong).list_page("contacts", limit=1)
