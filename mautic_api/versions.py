"""What the connectors may rely on per Mautic version, keyed on the ``Mautic-Version`` header.

Why a map: the v1 API is the same from 5.1 to 7.x, but some server behaviours changed silently
(../shared/mautic-versions.md). 5.1 is proven by recordings; everything later is read from Mautic's source
and issues, and the entries the sheet marks *inferred* are marked so below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^\s*(\d+)\.(\d+)")


def parse_version(header: str | None) -> tuple[int, int] | None:
    """``"6.0.4"`` -> ``(6, 0)``; None when there is no usable header."""
    match = _VERSION.match(header or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class Capabilities:
    """Behaviours of one Mautic version that the tap and the target act on."""

    version: str | None
    # sheet §5: from 6.0 an update no longer moves dateModified (mautic#15418, #15511; fix PR #15591 open);
    # 7.x has the same guard in its code (*inferred*). Unknown version: not trusted.
    date_modified_moves_on_update: bool
    # sheet §5: from 5.2 do-not-contact-only saves do not move dateModified (PR #13994)
    dnc_moves_date_modified: bool
    # sheet §6: a contact EDIT (PATCH, batch/edit, or POST/batch/new matching an existing contact by email)
    # does not store values with 0 < |v| < 1 up to 7.1 (mautic#16590; fixed in 7.2 by PR #16591); a contact
    # CREATE stores them. Proven on a real 5.1.0 (tests/real/test_real_writes.py); 5.2-7.1 *inferred*.
    # Numeric 0 is never stored by a contact POST/PATCH on any version (mautic#15030, fix PR #17318 open).
    # Company writes store both (real 5.1.0; later versions *inferred*): see target_mautic.unwritable.
    drops_fractions_on_edit: bool
    drops_zero: bool = True
    # sheet §8: the API rate limiter (429 + X-RateLimit-*) was removed in 7.0 (PR #14876)
    rate_limiter: bool = True

    @property
    def label(self) -> str:
        return f"Mautic {self.version}" if self.version else "Mautic (version unknown)"


def capabilities(header: str | None) -> Capabilities:
    """The capability map entry for a ``Mautic-Version`` header (None or unparsable: the safe side)."""
    parsed = parse_version(header)
    if parsed is None:
        return Capabilities(None, date_modified_moves_on_update=False, dnc_moves_date_modified=False,
                            drops_fractions_on_edit=True)
    return Capabilities(
        header,
        date_modified_moves_on_update=parsed < (6, 0),
        dnc_moves_date_modified=parsed < (5, 2),
        drops_fractions_on_edit=parsed < (7, 2),
        rate_limiter=parsed < (7, 0),
    )


__all__ = ["Capabilities", "capabilities", "parse_version"]
