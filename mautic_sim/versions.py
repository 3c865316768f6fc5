"""What the simulator does differently per Mautic version (``--mautic-version``), as data.

5.1 is the recorded version (../shared/mautic-5.1.0) and the default. The other versions follow
../shared/mautic-versions.md, which was read from Mautic's source and issues, not recorded: every flag
below names its source there, and the ones the sheet marks *inferred* say so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MauticVersion:
    """One simulated Mautic release line and the behaviours that differ from 5.1."""

    name: str
    header: str  # Mautic-Version header value (versions sheet §8: sent by every controller answer)
    # §5: 6.0 sets dateModified on create (PR #14433, with a migration filling NULLs from dateAdded)
    modified_on_create: bool = False
    # §5: 6.0 only sets dateModified while it is empty, so updates never move it (mautic#15418, #15511;
    # fix PR #15591 still open). 7.x: same guard in the code, *inferred* to persist.
    modified_on_update: bool = True
    # §5: from 5.2 do-not-contact-only and manipulator-only saves skip dateModified (SkipModifiedInterface,
    # PR #13994)
    dnc_moves_modified: bool = True
    # §8: the API rate limiter (api_rate_limiter_limit, 429 + X-RateLimit-*) was removed in 7.0 (PR #14876)
    rate_limiter: bool = True
    # §4: a later 7.x applies both `where` and the forced filters (published=1, "view own"); 5.1-6.x let
    # `where` replace them. Which 7.x release changed it is not known (*inferred* for 7.1 here).
    where_keeps_forced_filters: bool = False
    # §6: a contact EDIT (PATCH, batch/edit, or POST/batch/new matching an existing contact by email) does not
    # store values with 0 < |v| < 1 up to 7.1 (mautic#16590, fixed by PR #16591 in 7.2); a CREATE stores them.
    # Proven on a real 5.1.0 (tests/real/test_real_writes.py, 2026-12-06); 5.2-7.1 *inferred* (same code).
    # Numeric 0 is never stored by a contact POST/PATCH (create: NULL, edit: unchanged; mautic#15030). Company
    # writes store both (real 5.1.0; other versions *inferred*).
    drops_fractions_on_edit: bool = True

    @property
    def date_modified_reliable(self) -> bool:
        return self.modified_on_update


VERSIONS: dict[str, MauticVersion] = {
    "5.1": MauticVersion("5.1", "5.1.0"),
    "5.2": MauticVersion("5.2", "5.2.5", dnc_moves_modified=False),
    "6.0": MauticVersion("6.0", "6.0.4", modified_on_create=True, modified_on_update=False,
                         dnc_moves_modified=False),
    "7.1": MauticVersion("7.1", "7.1.3", modified_on_create=True, modified_on_update=False,
                         dnc_moves_modified=False, rate_limiter=False, where_keeps_forced_filters=True),
}
DEFAULT_VERSION = "5.1"


def get_version(name: str | None) -> MauticVersion:
    """The simulated version ``name``: ``5.1``, ``5.2``, ``6.0`` or ``7.1`` (``6.0.4`` works too)."""
    key = ".".join(str(name or DEFAULT_VERSION).split(".")[:2])
    if key not in VERSIONS:
        raise ValueError(f"--mautic-version: unknown version {name!r} (known: {', '.join(VERSIONS)})")
    return VERSIONS[key]


__all__ = ["DEFAULT_VERSION", "VERSIONS", "MauticVersion", "get_version"]
