"""The simulator's own request and response objects, apart from the routing so every handler module can
import them at load time (no cycle through app.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mautic_sim import phpquery
from mautic_sim.util import dumps


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.query = phpquery.parse(self.query_string)


@dataclass
class Response:
    status: int
    body: Any = None                    # JSON-serializable, or bytes/str for raw bodies
    headers: dict[str, str] = field(default_factory=dict)
    version_header: bool = True
    http10: bool = False
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str) and self.content_type != "application/json":
            return self.body.encode()
        return dumps(self.body)
