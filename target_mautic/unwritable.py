"""Values a Mautic version does not store on a contact POST/PATCH, found before sending so each is reported.

Why: Mautic answers 200/201 and simply does not store some numbers (real 5.1.0,
tests/real/test_real_writes.py): numeric 0 on any contact write (a create leaves the field empty, an edit
leaves it unchanged; every version, mautic#15030), and values with 0 < |v| < 1 on a contact EDIT (PATCH,
batch/edit, or batch/new matching an existing contact by email) up to 7.1 (mautic#16590, fixed in 7.2 by PR
#16591; 5.2-7.1 *inferred*). A contact CREATE stores fractions, and company writes store both. The only
request that would store them is PUT, which blanks every field it does not name, so it is never used: the
record's other values are written and its result line names what Mautic did not store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mautic_api.versions import Capabilities


def unwritable_values(
    payload: Mapping[str, Any], keys: Any, caps: Capabilities, *, object_: str = "contact",
    create: bool = False,
) -> dict[str, str]:
    """``{key: why}`` for the numeric values of ``payload`` (among ``keys``) that a contact ``create`` or edit
    does not store on ``caps``' version; always empty for companies."""
    out: dict[str, str] = {}
    if object_ != "contact":
        return out
    for key, value in payload.items():
        if key not in keys or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if value == 0 and caps.drops_zero:
            out[key] = f"{key}=0 (Mautic does not store the value 0 on contacts, mautic#15030)"
        elif 0 < abs(value) < 1 and caps.drops_fractions_on_edit and not create:
            out[key] = (f"{key}={value} (Mautic before 7.2 does not store values between -1 and 1 when it "
                        "edits a contact, mautic#16590)")
    return out


def unwritable_note(found: Mapping[str, str], caps: Capabilities, *, create: bool = False,
                    matched: bool = False) -> str:
    """The result line's note: what was not stored, and that the rest of the record was written.

    ``create``: the contact was created without them (empty); ``matched``: batch/new matched an existing
    contact by email, which is an edit (unchanged)."""
    left = "left empty in Mautic" if create else "left unchanged in Mautic"
    why = ("batch/new matched an existing contact by email, an edit: " if matched else "")
    return (f"not writable on {caps.label}, {left}: {why}{'; '.join(found.values())}; "
            "the record's other values were written")


__all__ = ["unwritable_note", "unwritable_values"]
