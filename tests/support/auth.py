"""OAuth helpers for tests against the simulator."""

from __future__ import annotations

import secrets
import time

from mautic_sim import Simulator


def new_refresh_token(sim: Simulator) -> str:
    """A refresh token as the authorization_code flow would have issued it (sim store, test API)."""
    token = secrets.token_urlsafe(32)
    sim.execute(
        "INSERT INTO oauth2_tokens (token, kind, client_id, user_id, expires_at, used) "
        "VALUES (?, 'refresh', ?, 1, ?, 0)",
        (token, sim.client_id, time.time() + 14 * 86400),
    )
    return token
