"""What Mautic's MariaDB and PHP do to compared values, for a SQLite store.

Mautic's tables use ``utf8mb4_unicode_ci``: ``=``, ``IN``, ``LIKE`` and ``ORDER BY`` on text columns ignore
case and accents (``Ada@Example.org`` = ``ada@example.org``, ``Müller`` = ``muller``) and trailing spaces
(PAD SPACE). SQLite compares bytes, so the store registers ``MAUTIC_CI`` (a collation declared on the text
columns) and replaces ``LIKE`` with the same folding.
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
    fa, fb = fold(a), fold(b)
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
