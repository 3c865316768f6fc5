"""Values a Mautic version drops silently on POST/PATCH, found before sending so each is reported.

Why: Mautic answers 200/201 and simply does not store numeric 0 (every version, mautic#15030) nor values with
0 < |v| < 1 (up to 7.1, mautic#16590; fixed in 7.2 by PR #16591; *inferred* for 5.x/6.x). The only request
that would store them is PUT, which blanks every field it does not name, so it is never used: the record's
other values are written and its result line names what Mautic could not store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mautic_api.versions import Capabilities


def unwritable_values(payload: Mapping[str, Any], keys: Any, caps: Capabilities) -> dict[str, str]:
    """``{key: why}`` for the numeric values of ``payload`` (among ``keys``) that ``caps``' version drops."""
    out: dict[str, str] = {}
    for key, value in payload.items():
        if key not in keys or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if value == 0 and caps.drops_zero:
            out[key] = f"{key}=0 (Mautic does not store the value 0, mautic#15030)"
        elif 0 < abs(value) < 1 and caps.drops_fractions:
            out[key] = (f"{key}={value} (Mautic before 7.2 does not store values between -1 and 1, "
                        "mautic#16590)")
    return out


def unwritable_note(found: Mapping[str, str], caps: Capabilities) -> str:
    """The result line's note: what was not written, and that the rest of the record was."""
    return (f"not writable on {caps.label}, left unchanged in Mautic: {'; '.join(found.values())}; "
            "the record's other values were written")


__all__ = ["unwritable_note", "unwritable_values"]
