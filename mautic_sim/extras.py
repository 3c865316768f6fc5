"""Mautic's special endpoints: memberships, contact actions, sub-resources and the smaller contexts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mautic_sim.app import Mautic, Response


class Extras:
    def __init__(self, app: Mautic):
        self.app = app

    def routes(self) -> list[tuple[str, tuple[str, ...], Callable[..., Response]]]:
        return []

    def _unused(self) -> Any:
        return None
