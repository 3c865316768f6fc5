"""The catalog of Mautic contexts, as data: one row per context of the PHP library.

Why data and not one class per context: every context is the same REST pattern (list, get, new, edit,
delete, batch) with a different path, envelope keys, list container and column naming, so a table is the
whole difference. Sources: the recorded 5.1.0 exchanges (../shared/mautic-5.1.0/NOTES.md, which win) and
mautic-api.md section 2.

Column naming: contacts, companies and stats filter and sort on DB columns (``date_modified``); every
other context on ORM property names (``dateModified``). ``modified_column``/``added_column`` are given in
that naming, and are None where the entity has no such column (tags, categories in the list answer,
campaign events, reports, devices, notes (``dateTime`` is the note's own date), files, themes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

LIST, GET, NEW, EDIT, DELETE, BATCH = "list", "get", "new", "edit", "delete", "batch"
ALL_OPS = frozenset({LIST, GET, NEW, EDIT, DELETE, BATCH})
READ_ONLY = frozenset({LIST, GET})


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

    def supports(self, operation: str) -> bool:
        """True when the context offers ``operation`` (one of list/get/new/edit/delete/batch)."""
        return operation in self.operations


_ORM_DATES = MappingProxyType({"modified_column": "dateModified", "added_column": "dateAdded"})
_DB_DATES = MappingProxyType({"modified_column": "date_modified", "added_column": "date_added"})

# (name, stream, path, item_key, list_key, id_keyed, extra fields)
_ROWS: tuple[tuple[str, str, str, str, str, bool, Mapping[str, Any]], ...] = (
    (
        "contacts",
        "contacts",
        "contacts",
        "contact",
        "contacts",
        True,
        {"snake_case": True, "total_is_string": True, "minimal": True, **_DB_DATES},
    ),
    (
        "companies",
        "companies",
        "companies",
        "company",
        "companies",
        True,
        {"snake_case": True, "total_is_string": True, **_DB_DATES},
    ),
    ("segments", "segments", "segments", "list", "lists", True, _ORM_DATES),
    ("campaigns", "campaigns", "campaigns", "campaign", "campaigns", True, _ORM_DATES),
    (
        "campaignEvents",
        "campaign_events",
        "campaigns/events",
        "event",
        "events",
        False,
        {"operations": READ_ONLY},
    ),
    ("emails", "emails", "emails", "email", "emails", True, _ORM_DATES),
    ("forms", "forms", "forms", "form", "forms", False, _ORM_DATES),
    ("pages", "pages", "pages", "page", "pages", False, _ORM_DATES),
    ("assets", "assets", "assets", "asset", "assets", False, _ORM_DATES),
    ("notes", "notes", "notes", "note", "notes", False, {}),
    ("stages", "stages", "stages", "stage", "stages", False, _ORM_DATES),
    ("tags", "tags", "tags", "tag", "tags", True, {}),
    ("users", "users", "users", "user", "users", False, _ORM_DATES),
    ("roles", "roles", "roles", "role", "roles", False, _ORM_DATES),
    ("categories", "categories", "categories", "category", "categories", False, {}),
    ("contactFields", "contact_fields", "fields/contact", "field", "fields", True, _ORM_DATES),
    ("companyFields", "company_fields", "fields/company", "field", "fields", True, _ORM_DATES),
    ("points", "points", "points", "point", "points", False, _ORM_DATES),
    ("pointTriggers", "point_triggers", "points/triggers", "trigger", "triggers", False, _ORM_DATES),
    ("pointGroups", "point_groups", "points/groups", "pointGroup", "pointGroups", False, _ORM_DATES),
    ("webhooks", "webhooks", "hooks", "hook", "hooks", True, _ORM_DATES),
    ("focus", "focus", "focus", "focus", "focus", True, _ORM_DATES),
    (
        "dynamicContents",
        "dynamic_contents",
        "dynamiccontents",
        "dynamicContent",
        "dynamicContents",
        True,
        _ORM_DATES,
    ),
    ("smses", "smses", "smses", "sms", "smses", True, _ORM_DATES),
    ("messages", "marketing_messages", "messages", "message", "messages", False, _ORM_DATES),
    ("notifications", "notifications", "notifications", "notification", "notifications", True, _ORM_DATES),
    ("reports", "reports", "reports", "report", "reports", False, {"operations": READ_ONLY}),
    ("devices", "devices", "devices", "device", "devices", False, {}),
    ("tweets", "tweets", "tweets", "tweet", "tweets", True, _ORM_DATES),
    # files live under files/{dir} (images, media): the caller appends the folder, like L's setFolder().
    ("files", "files", "files", "file", "files", False, {"operations": frozenset({LIST, NEW, DELETE})}),
    # themes list as an object keyed by theme key; get returns a zip.
    (
        "themes",
        "themes",
        "themes",
        "theme",
        "themes",
        True,
        {"operations": frozenset({LIST, GET, NEW, DELETE})},
    ),
    # stats/{table}: raw rows, snake_case, string total; /stats alone lists the tables.
    (
        "stats",
        "stats",
        "stats",
        "stat",
        "stats",
        False,
        {"snake_case": True, "total_is_string": True, "operations": frozenset({LIST})},
    ),
)

CONTEXTS: Mapping[str, Context] = MappingProxyType({
    name: Context(
        name=name,
        stream=stream,
        path=path,
        item_key=item,
        list_key=lst,
        id_keyed=keyed,
        **{"snake_case": False, **extra},
    )
    for name, stream, path, item, lst, keyed, extra in _ROWS
})


def _by_any_name() -> Mapping[str, Context]:
    """Every name a context goes by (PHP name, stream, lower-case, path, PHP aliases) -> the context."""
    names: dict[str, Context] = {}
    for ctx in CONTEXTS.values():
        for key in (ctx.name, ctx.stream, ctx.name.lower(), ctx.path):
            names.setdefault(key, ctx)
    names.setdefault("hooks", CONTEXTS["webhooks"])
    names.setdefault("marketingmessages", CONTEXTS["messages"])
    return MappingProxyType(names)


_BY_ANY_NAME = _by_any_name()


def get_context(name: str | Context) -> Context:
    """Look a context up by PHP name (``pointTriggers``), stream name (``point_triggers``) or path."""
    if isinstance(name, Context):
        return name
    ctx = _BY_ANY_NAME.get(name) or _BY_ANY_NAME.get(name.lower())
    if ctx is None:
        known = ", ".join(sorted(CONTEXTS))
        raise KeyError(f"unknown Mautic context {name!r}; known contexts: {known}")
    return ctx
