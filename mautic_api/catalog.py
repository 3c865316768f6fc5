"""The catalog of Mautic contexts, as data: one row per context of the PHP library.

INTERFACE: ``Context`` fields below are fixed; the table ``CONTEXTS`` is completed by the mautic_api work
from ../shared/mautic-5.1.0/NOTES.md (list keys, containers, total types) and mautic-api.md section 2.
"""

from __future__ import annotations

from dataclasses import dataclass

LIST, GET, NEW, EDIT, DELETE, BATCH = "list", "get", "new", "edit", "delete", "batch"
ALL_OPS = frozenset({LIST, GET, NEW, EDIT, DELETE, BATCH})


@dataclass(frozen=True)
class Context:
    name: str  # the PHP library's context name: "contacts", "contactFields", "pointTriggers", ...
    stream: str  # our snake_case stream name: "contacts", "contact_fields", "point_triggers", ...
    path: str  # under /api: "contacts", "fields/contact", "points/triggers", "hooks", ...
    item_key: str  # key of one item in get/create/edit answers: "contact", "field", "trigger", ...
    list_key: str  # key of the records in list answers: "contacts", "fields", "triggers", "lists", ...
    id_keyed: bool  # True when a non-empty list comes as an object keyed by id, False for an array
    snake_case: bool  # True when orderBy/where take DB column names (contacts, companies, stats)
    operations: frozenset[str] = ALL_OPS
    modified_column: str | None = None  # orderBy/where column of the last-modified date, in this naming
    added_column: str | None = None  # orderBy/where column of the creation date
    total_is_string: bool = False  # as recorded on 5.1.0
    minimal: bool = False  # the list honours ?minimal=1


CONTEXTS: dict[str, Context] = {}


def get_context(name: str) -> Context:
    """Look a context up by PHP name or stream name."""
    raise NotImplementedError
