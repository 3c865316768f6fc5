"""PHP ``unserialize()`` for the values Mautic stores as text (``audit_log.details``, field properties).

Why a parser of our own: Mautic's audit log keeps every field change as PHP-serialized text
(``a:3:{s:6:"fields";a:1:{s:5:"email";a:2:{i:0;N;i:1;s:9:"a@b.c.de";}}...}``), and the few Python ports of
``unserialize`` are unmaintained. The format is small: ``N;``, ``b:0;``, ``i:5;``, ``d:1.5;``,
``s:<bytes>:"...";``, ``a:<n>:{key value ...}``, objects ``O:<len>:"Class":<n>:{...}``, enums
``E:<len>:"Class:Case";`` and back-references ``r:<n>;``/``R:<n>;``. Strings count UTF-8 *bytes*, so the
input is parsed as bytes, and a string cut inside a multi-byte character is decoded with replacement (Mautic
truncates long values by bytes).

Arrays become ``dict`` (keys ``int`` or ``str``, PHP's order kept); :func:`as_list` turns a 0..n-1 keyed one
into a list. Objects become :class:`PhpObject` (class name and properties, private/protected markers removed).
Anything else raises :class:`PhpSerialError` naming the offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class PhpSerialError(ValueError):
    """The text is not PHP-serialized (or uses a form this parser does not read)."""


@dataclass
class PhpObject:
    """A serialized PHP object (``O:``): its class and properties (e.g. a ``DateTime`` in a change)."""

    class_name: str
    properties: dict[Any, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PhpEnum:
    """A serialized PHP 8.1 enum case (``E:``)."""

    class_name: str
    case: str


# nesting deeper than this is not Mautic data; refuse it instead of exhausting the stack
MAX_DEPTH = 64


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.values: list[Any] = []  # every value in order, for r:/R: back-references (1-based)

    def fail(self, what: str) -> PhpSerialError:
        return PhpSerialError(f"PHP-serialized text: {what} at byte {self.pos}")

    def expect(self, token: bytes) -> None:
        if self.data[self.pos:self.pos + len(token)] != token:
            raise self.fail(f"expected {token.decode()!r}")
        self.pos += len(token)

    def until(self, stop: bytes) -> bytes:
        end = self.data.find(stop, self.pos)
        if end < 0:
            raise self.fail(f"missing {stop.decode()!r}")
        chunk = self.data[self.pos:end]
        self.pos = end + len(stop)
        return chunk

    def integer(self, stop: bytes) -> int:
        raw = self.until(stop)
        text = raw.decode("ascii", errors="replace")
        body = text[1:] if text[:1] in "+-" else text
        if not body.isdigit():
            raise self.fail(f"bad integer {text!r}")
        return int(text)

    def length(self) -> int:
        n = self.integer(b":")
        if n < 0:
            raise self.fail("negative length")
        return n

    def quoted(self, n: int) -> bytes:
        self.expect(b'"')
        end = self.pos + n
        if end > len(self.data):
            raise self.fail(f"string of {n} bytes runs past the end")
        raw = self.data[self.pos:end]
        self.pos = end
        self.expect(b'"')
        return raw

    def value(self, depth: int = 0, *, key: bool = False) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail("nesting too deep")
        if self.pos >= len(self.data):
            raise self.fail("unexpected end")
        tag = self.data[self.pos:self.pos + 2]
        self.pos += 2
        if tag == b"N;":
            out: Any = None
        elif tag == b"b:":
            flag = self.until(b";")
            if flag not in (b"0", b"1"):
                raise self.fail(f"bad boolean {flag!r}")
            out = flag == b"1"
        elif tag == b"i:":
            out = self.integer(b";")
        elif tag == b"d:":
            out = self._double(self.until(b";"))
        elif tag == b"s:":
            raw = self.quoted(self.length())
            self.expect(b";")
            out = raw.decode("utf-8", errors="replace")
        elif tag == b"a:" and not key:
            n = self.length()
            out = {}
            self.values.append(out)
            self.expect(b"{")
            self._members(out, n, depth)
            return out
        elif tag == b"O:" and not key:
            name = self.quoted(self.length()).decode("utf-8", errors="replace")
            self.expect(b":")
            obj = PhpObject(name)
            self.values.append(obj)
            n = self.length()
            self.expect(b"{")
            self._members(obj.properties, n, depth, strip=True)
            return obj
        elif tag == b"E:" and not key:
            enum = self.quoted(self.length()).decode("utf-8", errors="replace")
            self.expect(b";")
            name, sep, case = enum.partition(":")
            if not sep:
                raise self.fail(f"bad enum {enum!r}")
            out = PhpEnum(name, case)
        elif tag in (b"r:", b"R:") and not key:
            ref = self.integer(b";")
            if not 1 <= ref <= len(self.values):
                raise self.fail(f"back-reference {ref} to no value")
            out = self.values[ref - 1]
        else:
            raise self.fail(f"unknown or misplaced type {tag.decode(errors='replace')!r}")
        if not key:
            self.values.append(out)
        return out

    def _members(self, into: dict[Any, Any], n: int, depth: int, strip: bool = False) -> None:
        for _ in range(n):
            k = self.value(depth + 1, key=True)
            if not isinstance(k, int | str) or isinstance(k, bool):
                raise self.fail("array key is neither an integer nor a string")
            if strip and isinstance(k, str) and k.startswith("\0"):
                k = k.rsplit("\0", 1)[-1]  # "\0Class\0private" / "\0*\0protected" -> the property name
            into[k] = self.value(depth + 1)
        self.expect(b"}")

    def _double(self, raw: bytes) -> float:
        text = raw.decode("ascii", errors="replace")
        special = {"INF": float("inf"), "-INF": float("-inf"), "NAN": float("nan")}
        if text in special:
            return special[text]
        try:
            return float(text)
        except ValueError:
            raise self.fail(f"bad float {text!r}") from None


def loads(text: str | bytes) -> Any:
    """The value of one PHP-serialized text; :class:`PhpSerialError` when it is not one (or has a tail)."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    reader = _Reader(data)
    out = reader.value()
    if reader.pos != len(data):
        raise reader.fail("trailing data")
    return out


def dumps(value: Any) -> str:
    """PHP ``serialize()`` of plain values (None, bool, int, float, str, list, dict): for tests and tools."""
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        if value != value:
            return "d:NAN;"
        if value in (float("inf"), float("-inf")):
            return "d:INF;" if value > 0 else "d:-INF;"
        return f"d:{value!r};"
    if isinstance(value, str):
        return f's:{len(value.encode("utf-8"))}:"{value}";'
    if isinstance(value, list | tuple):
        value = dict(enumerate(value))
    if isinstance(value, dict):
        body = "".join(dumps(k) + dumps(v) for k, v in value.items())
        return f"a:{len(value)}:{{{body}}}"
    raise TypeError(f"cannot PHP-serialize a {type(value).__name__}")


def as_list(value: Any) -> Any:
    """A PHP array keyed 0..n-1 as a list; anything else unchanged."""
    if isinstance(value, dict) and list(value) == list(range(len(value))):
        return list(value.values())
    return value


def plain(value: Any) -> Any:
    """``value`` with every array keyed 0..n-1 turned into a list, at every depth (objects kept)."""
    if isinstance(value, dict):
        listed = as_list(value)
        if isinstance(listed, list):
            return [plain(v) for v in listed]
        return {k: plain(v) for k, v in value.items()}
    return value


__all__ = ["MAX_DEPTH", "PhpEnum", "PhpObject", "PhpSerialError", "as_list", "dumps", "loads", "plain"]
