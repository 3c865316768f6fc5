"""What Mautic 5.1 does to a field value before it stores it, and the values it cannot store at all.

Why one module: a load that compares what it sent with what Mautic holds (the target's warnings, any later
read-back or diff) must apply the same rules, or every altered value looks like a lost write. The rules, each
checked on a real Mautic 5.1.0 (POST /api/contacts/new, 2026-12-06) and read in its source:

* every form field (Symfony's ``trim`` option, on by default: ``Form/Util/StringUtil::trim``): leading and
  trailing separators, control and format characters (Unicode classes Z, Cc, Cf) are cut: ``"x\\u202e"`` and
  ``"\\u200bz"`` are stored as ``x`` and ``z``; the same characters inside the value are kept;
* email fields (``RequestTrait::cleanFields`` -> ``InputHelper::email``): the first 254 characters, then PHP's
  ``FILTER_SANITIZE_EMAIL`` removes every character but ASCII letters, digits and ``!#$%&'*+-=?^_`{|}~@.[]``:
  ``ünï@example.com`` is stored as ``n@example.com``, ``a(b)@example.com`` as ``ab@example.com``;
* url fields (Symfony's ``UrlType``, ``default_protocol`` http: ``FixUrlProtocolListener``): a value that does
  not start with ``/``, ``.``, ``scheme://`` or ``user@`` gets ``http://`` in front: ``javascript:alert(1)``
  is stored as ``http://javascript:alert(1)``, ``example.com`` as ``http://example.com``.

Values Mautic cannot store (:func:`unstorable`): a NUL character (the contact is saved, then its audit log row
fails: "Serialized array includes null-byte", and the request answers 500 after the earlier items of a batch
were saved) and a lone UTF-16 surrogate (PHP's ``json_decode`` refuses the whole body: 400). Other control
characters (U+0001-U+001F, U+007F, U+0085) and non-characters (U+FFFE, U+FFFF) are stored as sent.
"""

from __future__ import annotations

import re
import string
import unicodedata
from typing import Any

EMAIL_MAX = 254  # InputHelper::email cuts here before sanitising
_EMAIL_KEEP = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-=?^_`{|}~@.[]")
_URL_HAS_PROTOCOL = re.compile(r"^(?:[/.]|[\w+.-]+://|[^:/?@#]+@)")


def _trimmed(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] == "Z" or category in ("Cc", "Cf")


def trim(value: str) -> str:
    """Symfony's form trim: separators, control and format characters cut at both ends."""
    start, end = 0, len(value)
    while start < end and _trimmed(value[start]):
        start += 1
    while end > start and _trimmed(value[end - 1]):
        end -= 1
    return value[start:end]


def email(value: str) -> str:
    """An email as Mautic stores it (trimmed, cut at 254, only the characters FILTER_SANITIZE_EMAIL keeps)."""
    return "".join(ch for ch in trim(value)[:EMAIL_MAX] if ch in _EMAIL_KEEP).strip()


def url(value: str) -> str:
    """A url as Mautic stores it: trimmed, ``http://`` in front when it names no protocol."""
    value = trim(value)
    if value and not _URL_HAS_PROTOCOL.match(value):
        return "http://" + value
    return value


def text(value: str) -> str:
    """Any other text field: trimmed."""
    return trim(value)


def stored(field_type: str, value: Any) -> Any:
    """``value`` as Mautic will store it in a field of ``field_type``; non-strings are returned as given."""
    if not isinstance(value, str):
        return value
    if field_type == "email":
        return email(value)
    if field_type == "url":
        return url(value)
    return text(value)


def unstorable(value: Any) -> str | None:
    """Why Mautic cannot store ``value`` (a string, or a list/dict of them), or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (U+0000), which Mautic cannot store"
        for ch in value:
            if "\ud800" <= ch <= "\udfff":
                return f"contains a lone UTF-16 surrogate (U+{ord(ch):04X}), which Mautic cannot read"
        return None
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return next((why for why in map(unstorable, value) if why is not None), None)
    return None


__all__ = ["EMAIL_MAX", "email", "stored", "text", "trim", "unstorable", "url"]
