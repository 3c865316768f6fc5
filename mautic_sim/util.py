"""Small helpers shared by the simulator modules: time formats, PHP serialization, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RECORDED: dict[str, Any] = json.loads((Path(__file__).with_name("data") / "recorded.json").read_text())

GENERIC_500 = ("Looks like I encountered an error (error #500). If I do it again, please report me to the "
               "system administrator!")
GENERIC_400 = ("Looks like I encountered an error (error #400). If I do it again, please report me to the "
               "system administrator!")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def db_ts(dt: datetime) -> str:
    """Mautic's DB format (UTC, no offset)."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def iso(value: str | None) -> str | None:
    """A stored ``Y-m-d H:i:s`` value as the API serializes it: ISO 8601 with ``+00:00``."""
    if not value:
        return None
    return value.replace(" ", "T") + "+00:00" if "T" not in value else value


class PhpObject:
    """A PHP object for :func:`php_serialize` (a ``DateTime`` in an audit row's details)."""

    __slots__ = ("class_name", "properties")

    def __init__(self, class_name: str, properties: dict[str, Any]) -> None:
        self.class_name = class_name
        self.properties = properties


def php_serialize(value: Any) -> str:
    """PHP ``serialize()`` for the plain values Mautic stores (field properties, audit details)."""
    out: list[str] = []
    _php_serialize(value, out)
    return "".join(out)


def _leaf(v: Any) -> str | None:
    """The serialized text of a plain leaf (None, bool, int, ASCII str), or None for anything else."""
    kind = type(v)
    if kind is str:
        return f's:{len(v)}:"{v}";' if v.isascii() else None
    if v is None:
        return "N;"
    if kind is bool:
        return "b:1;" if v else "b:0;"
    if kind is int:
        return f"i:{v};"
    return None


def _php_serialize(value: Any, out: list[str]) -> None:
    """``php_serialize`` into ``out``: one list for the whole value (an audit row has many parts); the
    plain leaves and ``[before, after]`` pairs of them written inline (an audit row's details are mostly
    those)."""
    kind = type(value)
    if kind is str:
        out.append(f's:{len(value) if value.isascii() else len(value.encode("utf-8"))}:"{value}";')
    elif value is None:
        out.append("N;")
    elif kind is bool:
        out.append(f"b:{int(value)};")
    elif kind is int:
        out.append(f"i:{value};")
    elif isinstance(value, PhpObject | list | tuple | dict):
        if isinstance(value, PhpObject):
            name = value.class_name
            out.append(f'O:{len(name.encode("utf-8"))}:"{name}":{len(value.properties)}:{{')
            items: Iterable[tuple[Any, Any]] = value.properties.items()
        else:
            items = value.items() if isinstance(value, dict) else enumerate(value)
            out.append(f"a:{len(value)}:{{")
        for k, v in items:
            text = _leaf(k)
            if text is None:
                _php_serialize(k, out)
            else:
                out.append(text)
            text = _leaf(v)
            if text is not None:
                out.append(text)
                continue
            if type(v) is list and len(v) == 2:
                before, after = _leaf(v[0]), _leaf(v[1])
                if before is not None and after is not None:
                    out.append(f"a:2:{{i:0;{before}i:1;{after}}}")
                    continue
            _php_serialize(v, out)
        out.append("}")
    elif isinstance(value, bool):
        out.append(f"b:{int(value)};")
    elif isinstance(value, int):
        out.append(f"i:{value};")
    elif isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            out.append(f"d:{int(value)};")  # PHP writes 3.0 as d:3 (serialize_precision -1)
        else:
            out.append(f"d:{value!r};")
    elif isinstance(value, str):
        out.append(f's:{len(value.encode("utf-8"))}:"{value}";')
    else:
        _php_serialize(str(value), out)


class Raw:
    """Pre-encoded JSON text spliced into a response as is (the contacts page builds its fields as text).

    Not a ``str``: the JSON encoder hands it to :func:`dumps`' ``default`` hook, so a body without fragments
    (a batch answer of 200 contacts) is encoded in one pass of the C encoder, never walked in Python."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


_RAW_MARK = re.compile(r'"\\u0000RAW(\d+)\\u0000"')


def dumps(body: Any) -> bytes:
    """Compact JSON like Mautic's, with ``Raw`` fragments spliced in."""
    raws: list[str] = []

    def fragment(v: Any) -> str:
        if isinstance(v, Raw):
            raws.append(v.text)
            return f"\x00RAW{len(raws) - 1}\x00"
        raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")

    text = json.dumps(body, separators=(",", ":"), default=fragment)
    if raws:
        text = _RAW_MARK.sub(lambda m: raws[int(m.group(1))], text)
    return text.encode()


def js(v: Any) -> str:
    """One scalar as JSON text, fast."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return _enc(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else "null"
    return json.dumps(v, separators=(",", ":"))


_enc = json.encoder.encode_basestring_ascii


class ApiError(Exception):
    """An error answer. ``controller`` errors carry ``details`` and the Mautic-Version header; the others
    (exceptions, auth, routing) carry ``type`` and no version header, as recorded."""

    def __init__(self, status: int, message: str, *, details: Any = None, type_: str | None = None,
                 controller: bool = True, http10: bool = False, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.type_ = status, message, details, type_
        self.controller, self.http10, self.headers = controller, http10, headers or {}

    def body(self) -> dict[str, Any]:
        if self.controller:
            return {"errors": [{"code": self.status, "message": self.message,
                                "details": self.details if self.details is not None else []}]}
        return {"errors": [{"message": self.message, "code": self.status, "type": self.type_}]}


def not_found() -> ApiError:
    return ApiError(404, "Item was not found.")


class RequestFailed(ApiError):
    """An uncaught exception in Mautic: the whole request answers 500, even inside a batch (whose earlier
    items stay saved)."""


def request_failed() -> RequestFailed:
    return RequestFailed(500, GENERIC_500, controller=False)


def server_error() -> ApiError:
    return ApiError(500, GENERIC_500, controller=False)


def validation_error(details: dict[str, list[str]]) -> ApiError:
    msg = ", ".join(f"{k}: {' '.join(v)}" for k, v in details.items())
    return ApiError(400, msg, details=details)
