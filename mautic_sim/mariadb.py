"""What Mautic's MariaDB and PHP do to compared values, for a SQLite store.

Mautic's tables use ``utf8mb4_unicode_ci``: ``=``, ``IN``, ``LIKE`` and ``ORDER BY`` on text columns ignore
case and accents (``Ada@Example.org`` = ``ada@example.org``, ``Müller`` = ``muller``) and trailing spaces
(PAD SPACE). SQLite compares bytes, so the store registers ``MAUTIC_CI`` (a collation declared on the text
columns) and replaces ``LIKE`` with the same folding. The PHP side: ``where`` values pass
``FILTER_SANITIZE_SPECIAL_CHARS`` and ``in``/``notIn`` values are then read with
``str_getcsv(html_entity_decode(value))``.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from functools import lru_cache

COLLATION = "MAUTIC_CI"


@lru_cache(maxsize=65536)
def _fold_unicode(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().rstrip(" ")


def fold(value: str) -> str:
    """The comparison key of ``utf8mb4_unicode_ci`` at the level the API shows: case, accents and trailing
    spaces do not count (``ß`` = ``ss``). Not the full UCA weight table: punctuation keeps its code order."""
    if value.isascii():
        return value.lower().rstrip(" ")
    return _fold_unicode(value)


def collate(a: str, b: str) -> int:
    """SQLite's comparison under ``MAUTIC_CI``: ``fold`` inlined for ASCII, as an index look-up calls it a
    dozen times per query."""
    fa = a.lower().rstrip(" ") if a.isascii() else _fold_unicode(a)
    fb = b.lower().rstrip(" ") if b.isascii() else _fold_unicode(b)
    return (fa > fb) - (fa < fb)


def _fold_char(ch: str) -> str:
    return ch.lower() if ch.isascii() else _fold_like(ch)


@lru_cache(maxsize=256)
def _like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if escape is not None and ch == escape and i + 1 < len(pattern):
            out.append(re.escape(_fold_char(pattern[i + 1])))
            i += 2
            continue
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(_fold_char(ch)))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def like(pattern: object, value: object, escape: str | None = None) -> int | None:
    """SQL ``value LIKE pattern`` under ``utf8mb4_unicode_ci`` (SQLite calls ``like(pattern, value)``). LIKE
    does not pad: a trailing space in the value counts."""
    if pattern is None or value is None:
        return None
    if not isinstance(pattern, str):
        pattern = str(pattern)
    text = value if isinstance(value, str) else str(value)
    key = text.lower() if text.isascii() else _fold_like(text)
    return int(_like_regex(pattern, escape).fullmatch(key) is not None)


@lru_cache(maxsize=65536)
def _fold_like(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def register(conn: sqlite3.Connection) -> None:
    """Install the collation and LIKE on one connection (each connection to the store needs them)."""
    conn.create_collation(COLLATION, collate)
    conn.create_function("like", 2, like, deterministic=True)
    conn.create_function("like", 3, like, deterministic=True)


# -- PHP ---------------------------------------------------------------------------------------------------
def special_chars(value: str) -> str:
    """``FILTER_SANITIZE_SPECIAL_CHARS`` as Mautic applies it to where values: ``' " < > &`` and control
    characters become ``&#NN;``, so an ``eq`` on such a value matches nothing (``in``/``notIn`` decode)."""
    return "".join(f"&#{ord(ch)};" if ch in "'\"<>&" or ord(ch) < 32 else ch for ch in value)


_NUMERIC_ENTITY = re.compile(r"&#(\d+);")


def entity_decode(value: str) -> str:
    """``html_entity_decode`` for what ``special_chars`` produces (every ``&`` of the raw value is encoded, so
    only numeric entities occur): one pass, ``&#38;amp;`` -> ``&amp;``. Control characters other than tab, LF
    and CR stay encoded, as PHP's HTML 4.01 table does not allow them."""
    def one(m: re.Match[str]) -> str:
        code = int(m.group(1))
        if code in (9, 10, 13) or 32 <= code <= 0x10FFFF:
            return chr(code)
        return m.group(0)
    return _NUMERIC_ENTITY.sub(one, value)


_C_SPACE = " \t\n\v\f\r"


def _strip_line_end(value: str) -> str:
    if value.endswith("\r\n"):
        return value[:-2]
    if value.endswith(("\n", "\r")):
        return value[:-1]
    return value


def str_getcsv(line: str, delimiter: str = ",", enclosure: str = '"', escape: str = "\\") -> list[str | None]:
    """PHP 8's ``str_getcsv``: spaces before an opening quote are skipped, other spaces are kept; ``""``
    inside quotes is one quote; the escape character keeps the next character (both stay in the value);
    text after a closing quote is appended; an empty line is ``[null]``."""
    line_end = line[len(_strip_line_end(line)):]
    s = line[: len(line) - len(line_end)]
    n, i, first = len(s), 0, True
    out: list[str | None] = []
    while True:
        if i < n:
            j = i
            while j < n and s[j] != delimiter and s[j] in _C_SPACE:
                j += 1
            if j < n and s[j] == enclosure:
                i = j
        if first and i == n:
            return [None]
        first = False
        if i < n and s[i] == enclosure:
            i += 1
            parts, start, state = [], i, 0
            while i < n:
                ch = s[i]
                if state == 1:
                    state = 0
                elif state == 2:
                    if ch != enclosure:  # the quote before was the closing one
                        parts.append(s[start:i - 1])
                        start = i
                        break
                    parts.append(s[start:i])  # "" -> one quote
                    start, state = i + 1, 0
                elif ch == enclosure:
                    state = 2
                elif ch == escape:
                    state = 1
                i += 1
            else:
                if state == 2:
                    parts.append(s[start:i - 1])
                else:  # unterminated: the rest, with the line end
                    parts.append(s[start:i] + line_end)
                out.append("".join(parts))
                return out
            k = s.find(delimiter, i)
            parts.append(s[start:] if k < 0 else s[start:k])
            out.append("".join(parts))
            if k < 0:
                return out
            i = k + 1
        else:
            k = s.find(delimiter, i)
            if k < 0:
                out.append(_strip_line_end(s[i:]))
                return out
            out.append(_strip_line_end(s[i:k]))
            i = k + 1


def in_values(raw: str) -> list[str | None]:
    """The list an ``in``/``notIn`` where value becomes in Mautic: sanitized, decoded, then read as CSV."""
    return str_getcsv(entity_decode(special_chars(raw)))
