"""The context catalog against the 5.1.0 recording (../shared/mautic-5.1.0/NOTES.md list table)."""

from __future__ import annotations

import pytest

from mautic_api.catalog import ALL_OPS, BATCH, CONTEXTS, EDIT, GET, LIST, NEW, get_context

# context -> (path, list key, id-keyed object?, total sent as a string?) as recorded on 5.1.0
RECORDED = {
    "assets": ("assets", "assets", False, False),
    "campaigns": ("campaigns", "campaigns", True, False),
    "categories": ("categories", "categories", False, False),
    "companies": ("companies", "companies", True, True),
    "companyFields": ("fields/company", "fields", True, False),
    "contactFields": ("fields/contact", "fields", True, False),
    "contacts": ("contacts", "contacts", True, True),
    "devices": ("devices", "devices", False, False),
    "dynamicContents": ("dynamiccontents", "dynamicContents", True, False),
    "emails": ("emails", "emails", True, False),
    "focus": ("focus", "focus", True, False),
    "forms": ("forms", "forms", False, False),
    "messages": ("messages", "messages", False, False),
    "notes": ("notes", "notes", False, False),
    "notifications": ("notifications", "notifications", True, False),
    "pages": ("pages", "pages", False, False),
    "pointTriggers": ("points/triggers", "triggers", False, False),
    "points": ("points", "points", False, False),
    "reports": ("reports", "reports", False, False),
    "roles": ("roles", "roles", False, False),
    "segments": ("segments", "lists", True, False),
    "smses": ("smses", "smses", True, False),
    "stages": ("stages", "stages", False, False),
    "tags": ("tags", "tags", True, False),
    "tweets": ("tweets", "tweets", True, False),
    "users": ("users", "users", False, False),
    "webhooks": ("hooks", "hooks", True, False),
    "campaignEvents": ("campaigns/events", "events", False, False),
    "pointGroups": ("points/groups", "pointGroups", False, False),
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_catalog_matches_the_recording(name):
    ctx = CONTEXTS[name]
    assert (ctx.path, ctx.list_key, ctx.id_keyed, ctx.total_is_string) == RECORDED[name]


def test_every_php_library_context_is_there_with_naming_and_operations():
    php_names = set(RECORDED) | {"files", "themes", "stats"}
    assert php_names <= set(CONTEXTS)
    assert {c.name for c in CONTEXTS.values() if c.snake_case} == {"contacts", "companies", "stats"}
    assert CONTEXTS["contacts"].modified_column == "date_modified"
    assert CONTEXTS["emails"].modified_column == "dateModified"
    assert CONTEXTS["tags"].modified_column is None
    assert CONTEXTS["reports"].operations == {LIST, GET}
    assert CONTEXTS["campaignEvents"].operations == {LIST, GET}
    assert CONTEXTS["contacts"].operations == ALL_OPS
    assert not CONTEXTS["stats"].supports(NEW) and not CONTEXTS["reports"].supports(EDIT)
    assert CONTEXTS["contacts"].minimal and CONTEXTS["contacts"].supports(BATCH)
    streams = [c.stream for c in CONTEXTS.values()]
    assert len(streams) == len(set(streams)) and all(s == s.lower() for s in streams)


def test_get_context_by_php_name_stream_name_or_path():
    assert get_context("pointTriggers") is get_context("point_triggers") is get_context("points/triggers")
    assert get_context("dynamicContents").stream == "dynamic_contents"
    assert get_context("hooks") is CONTEXTS["webhooks"]
    assert get_context(CONTEXTS["tags"]) is CONTEXTS["tags"]
    with pytest.raises(KeyError, match="unknown Mautic context"):
        get_context("leads")
