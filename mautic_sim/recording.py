"""Parser for the recorded Mautic exchanges (``NNN-context-what.http`` files).

Each file holds ``### REQUEST`` (request line, headers, body) and ``### RESPONSE`` (status line, headers,
body) as raw bytes with CRLF line ends. Used by the conformance replay and by the template extractor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_REQ = b"### REQUEST\r\n"
_RESP = b"\r\n### RESPONSE\r\n"


@dataclass
class Exchange:
    """One recorded request/response pair."""

    name: str
    method: str
    target: str
    req_headers: dict[str, str]
    req_body: bytes
    status: int
    http_version: str
    resp_headers: dict[str, str]
    resp_body: bytes
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def resp_json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.resp_body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def req_json(self) -> Any:
        try:
            return json.loads(self.req_body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


def _head(block: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = block.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return lines[0], headers, body


def parse_file(path: Path) -> Exchange:
    raw = path.read_bytes()
    if not raw.startswith(_REQ):
        raise ValueError(f"{path.name}: no ### REQUEST header")
    req, sep, resp = raw[len(_REQ):].partition(_RESP)
    if not sep:
        raise ValueError(f"{path.name}: no ### RESPONSE section")
    first, req_headers, req_body = _head(req)
    method, target, _ = first.split(" ", 2)
    status_line, resp_headers, resp_body = _head(resp)
    version, code = status_line.split(" ", 2)[:2]
    if resp_body.endswith(b"\r\n"):
        resp_body = resp_body[:-2]
    return Exchange(path.name, method, target, req_headers, req_body, int(code), version,
                    resp_headers, resp_body)


def load_all(folder: Path) -> list[Exchange]:
    """Every exchange in ``folder``, in file-name (recording) order."""
    return [parse_file(p) for p in sorted(folder.glob("*.http"))]
