"""PHP-style query/form parsing: ``where[0][col]=id`` -> ``{"where": {"0": {"col": "id"}}}``."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"\[([^\]]*)\]")


def parse(qs: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw_key, value in parse_qsl(qs, keep_blank_values=True):
        base, _, rest = raw_key.partition("[")
        parts = [base] + (_KEY.findall("[" + rest) if rest else [])
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list) and (part == "" or not last):
                if last:
                    node.append(value)
                    break
                node.append({} if parts[i + 1] != "" else [])
                node = node[-1]
                continue
            if part == "" and isinstance(node, dict):
                part = str(len(node))
            if last:
                node[part] = value
            else:
                nxt = parts[i + 1]
                if part not in node or not isinstance(node[part], dict | list):
                    node[part] = [] if nxt == "" else {}
                node = node[part]
    return out


def as_list(v: Any) -> list[Any]:
    """A PHP array value (dict keyed by index, list or scalar) as a list."""
    if isinstance(v, dict):
        return list(v.values())
    if isinstance(v, list):
        return v
    return [] if v is None else [v]
