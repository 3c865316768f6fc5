"""Identity and history streams read from Mautic's ``audit_log``: field changes and merges.

Why: Mautic's audit log keeps every create and update of a contact or company with each changed field's old
and new value (``details``, PHP-serialized: ``{fields: {alias: [old, new]}, manipulated_by, manipulator_key}``
plus the entity's own properties at the top level), and one ``merge`` row per merged contact
(``{merged_into: victor}``) before the loser's ``delete`` row. Field history and merges are otherwise lost:
``contacts`` holds only the current values, and a merged contact looks like a deleted one.

All three streams are incremental on the audit log id (keyset, like ``audit_log`` and ``deletions``) and need
an administrator (audit_log access); without it they are skipped with one warning.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from mautic_api.paging import KeysetPaginator, Paginator
from mautic_api.php_serial import PhpObject, PhpSerialError, loads
from tap_mautic.base_stream import FilterIgnoredError, MauticStream, QueryPass
from tap_mautic.fields import DATETIME, INTEGER, STRING, converter_for, field_schema, to_datetime
from tap_mautic.schemas import object_schema
from tap_mautic.streams import StatsStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

# A changed value: typed by its field's type, then written as text so that one column holds every field's
# values (a union type becomes JSON in target-duckdb and text[] in target-postgres, where a string fails).
VALUE: dict[str, Any] = STRING

FIELD_CHANGE_PROPERTIES: dict[str, Any] = {
    "audit_id": INTEGER, "object_id": INTEGER, "alias": STRING, "field_type": STRING,
    "old_value": VALUE, "new_value": VALUE, "action": STRING, "changed_at": DATETIME,
    "user_id": INTEGER, "user_name": STRING, "manipulator": STRING, "manipulated_by": STRING,
}
MERGE_PROPERTIES: dict[str, Any] = {
    "id": INTEGER, "loser_id": INTEGER, "victor_id": INTEGER, "merged_at": DATETIME,
    "user_id": INTEGER, "user_name": STRING,
}
# audit_log actions whose details carry field changes
CHANGE_ACTIONS = ("create", "update")


def parse_details(text: Any) -> dict[Any, Any] | None:
    """An audit row's ``details`` as a PHP array, or None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = loads(text)
    except PhpSerialError:
        return None
    return value if isinstance(value, dict) else None


def changed_fields(details: Mapping[Any, Any], aliases: frozenset[str]) -> dict[str, tuple[Any, Any]]:
    """``alias -> (old, new)`` of one audit row: every entry of ``fields``, plus the top-level entries named
    like a field that ``fields`` lacks (``points`` changed by ``/points/plus`` is only at the top level)."""
    out: dict[str, tuple[Any, Any]] = {}
    fields = details.get("fields")
    if isinstance(fields, Mapping):
        for alias, pair in fields.items():
            change = _pair(pair)
            if change is not None:
                out[str(alias)] = change
    for key, pair in details.items():
        if isinstance(key, str) and key in aliases and key not in out:
            change = _pair(pair)
            if change is not None:
                out[key] = change
    return out


def _pair(pair: Any) -> tuple[Any, Any] | None:
    if isinstance(pair, Mapping) and set(pair) == {0, 1}:
        return pair[0], pair[1]
    return None


def _php_plain(value: Any) -> Any:
    """A change value as text or list: a DateTime becomes its ``Y-m-d H:i:s`` (UTC as Mautic stores it),
    an array its values (multiselect)."""
    if isinstance(value, PhpObject):
        date = value.properties.get("date")
        return str(date)[:19] if date else None
    if isinstance(value, Mapping):
        return [str(v) for v in value.values()]
    if isinstance(value, bool):
        return value
    return value


class FieldChangesStream(StatsStream):
    """``contact_field_changes`` / ``company_field_changes``: one record per changed field per audit row.

    Creates are changes from null. Values are typed by the field's type as ``contacts``/``companies`` type
    them (``mautic_api.values``); a field deleted since is kept as text. ``manipulator`` is the channel of the
    change as Mautic names it (``api-single``, ``api-batch``, ``import``, a form, the UI...), null for merges
    and point changes, which record none.
    """

    def __init__(self, tap: Any, *, audit_object: str, field_object: str, **kwargs: Any) -> None:
        self.audit_object = audit_object
        self.field_object = field_object
        self._readers: dict[str, tuple[str | None, Any]] | None = None
        self._bad_details = 0
        super().__init__(tap, **kwargs)

    @property
    @override
    def is_sorted(self) -> bool:
        return True

    def start_token(self) -> Any:
        value = self.get_starting_replication_key_value(self.context)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return int(value)
        return None

    def base_where(self) -> list[dict[str, Any]]:
        return [{"col": "bundle", "expr": "eq", "val": "lead"},
                {"col": "object", "expr": "eq", "val": self.audit_object}, *super().base_where()]

    def new_walk(self, query: QueryPass, context: Context | None) -> Paginator:
        obj = self.audit_object
        return KeysetPaginator(
            page_size=self.page_size, where=self.base_where(), label=self.label(), error=FilterIgnoredError,
            lower=self.start_token(),
            check=lambda row: row.get("object") == obj and row.get("bundle") == "lead",
            messages={"check": "{label}: Mautic ignored the filter 'object eq " + obj + "' (audit_log row id "
                               "{got}); refusing to continue."})

    def readers(self) -> dict[str, tuple[str | None, Any]]:
        """alias -> (field type, reader) of the fields as they are now."""
        if self._readers is None:
            self._readers = {
                str(f["alias"]): (f.get("type"), converter_for(field_schema(f)))
                for f in self.tap.custom_fields(self.field_object) if f.get("alias")}
            if self.field_object == "contact":
                self._readers.setdefault("points", ("number", converter_for(INTEGER)))
        return self._readers

    def read_pages(self, walk: Paginator, context: Context | None) -> Iterator[list[dict[str, Any]]]:
        for rows in super().read_pages(walk, context):
            yield [change for row in rows for change in self.expand(row)]

    def resume_token(self, walk: Paginator, rows: list[dict[str, Any]]) -> Any:
        return int(rows[-1]["audit_id"])

    def expand(self, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The field-change records of one audit row (none for rows without changes)."""
        if row.get("action") not in CHANGE_ACTIONS:
            return []
        details = parse_details(row.get("details"))
        if details is None:
            self._bad_details += 1
            if self._bad_details == 1:
                self.logger.warning("Stream '%s': audit_log row %s has details that are not PHP-serialized; "
                                    "its changes are left out (further such rows are counted).",
                                    self.name, row.get("id"))
            return []
        readers = self.readers()
        manipulator = details.get("manipulator_key")
        if isinstance(manipulator, str) and ":" in manipulator:
            manipulator = manipulator.split(":", 1)[1]
        out = []
        for alias, (old, new) in changed_fields(details, frozenset(readers)).items():
            field_type, reader = readers.get(alias, (None, None))
            out.append({
                "audit_id": int(row["id"]), "object_id": _int(row.get("object_id")), "alias": alias,
                "field_type": field_type, "old_value": _typed(reader, old), "new_value": _typed(reader, new),
                "action": row.get("action"), "changed_at": to_datetime(row.get("date_added")),
                "user_id": _int(row.get("user_id")), "user_name": row.get("user_name"),
                "manipulator": manipulator if isinstance(manipulator, str) else None,
                "manipulated_by": details.get("manipulated_by") if isinstance(
                    details.get("manipulated_by"), str) else None,
            })
        return out

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        return row  # typed in expand()


def _typed(reader: Any, value: Any) -> str | None:
    """One side of a change, typed as the stream's other records type the field, as text: numbers and
    booleans in their JSON form (``3``, ``1.25``, ``true``), dates ``YYYY-MM-DD``, date-times ISO 8601 UTC,
    a multiselect as a JSON array; a field gone since as Mautic logged it."""
    plain = _php_plain(value)
    if plain is None:
        return None
    if reader is not None:
        if isinstance(plain, float) and plain.is_integer():
            plain = int(plain)  # Mautic types every number change as float: 3.0 for an integer field's 3
        with contextlib.suppress(ValueError):  # a value the field's type cannot read stays as logged
            plain = reader(plain)
    if plain is None or isinstance(plain, str):
        return plain
    return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


class ContactMergesStream(StatsStream):
    """``contact_merges``: one record per merged contact (audit_log ``action=merge``): the loser, the
    victor it was merged into, when and by whom (user 0 "System" for the deduplicate command)."""

    def base_where(self) -> list[dict[str, Any]]:
        return [{"col": "bundle", "expr": "eq", "val": "lead"},
                {"col": "object", "expr": "eq", "val": "lead"},
                {"col": "action", "expr": "eq", "val": "merge"}, *super().base_where()]

    def new_walk(self, query: QueryPass, context: Context | None) -> Paginator:
        return KeysetPaginator(
            page_size=self.page_size, where=self.base_where(), label=self.label(), error=FilterIgnoredError,
            lower=self.start_token(), check=lambda row: row.get("action") == "merge",
            messages={"check": "{label}: Mautic ignored the filter 'action eq merge' (audit_log row id "
                               "{got}); refusing to continue."})

    _trimmed = False

    def trim_page(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = super().trim_page(rows)
        if len(kept) < len(rows):
            self._trimmed = True
        return kept

    def read_pages(self, walk: Paginator, context: Context | None) -> Iterator[list[dict[str, Any]]]:
        """The merge rows the run's shared merge walk already read (tap_mautic.changes), when it covers this
        stream's bookmark: no call of its own; else its own keyset walk."""
        start = self.start_token()
        cached = None if start is None else self.tap.change_tracking.cached_merge_rows(start)
        if cached is None:
            read: list[dict[str, Any]] = []
            for rows in super().read_pages(walk, context):
                read += rows
                yield rows
            if not self._trimmed:  # the settle window held rows back: they are not all read
                self.tap.change_tracking.remember_merge_rows(start or 0, read)
            return
        self.logger.info("Stream '%s': %d merge row(s) from this run's merge walk (no call).", self.name,
                         len(cached))
        rows = self.trim_page(sorted(cached, key=lambda row: int(row["id"])))
        if rows:
            yield rows

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        details = parse_details(row.get("details")) or {}
        merge = {"id": row.get("id"), "loser_id": row.get("object_id"),
                 "victor_id": _int(details.get("merged_into")), "merged_at": row.get("date_added"),
                 "user_id": row.get("user_id"), "user_name": row.get("user_name")}
        return MauticStream.post_process(self, merge, context)


def build_history_streams(tap: Any, tables: Mapping[str, list[str]]) -> list[MauticStream]:
    """The field-change and merge streams, when /api/stats lists audit_log."""
    if "audit_log" not in tables:
        return []
    columns = list(tables["audit_log"])
    common: dict[str, Any] = {"path": "/stats/audit_log", "list_key": "stats",
                              "permission": "an administrator role", "table": "audit_log", "columns": columns}
    streams: list[MauticStream] = [
        FieldChangesStream(tap, name=f"{obj}_field_changes", audit_object=audit, field_object=obj,
                           schema=object_schema(dict(FIELD_CHANGE_PROPERTIES),
                                                required=("audit_id", "alias")),
                           primary_keys=("audit_id", "alias"), replication_key="audit_id", **common)
        for obj, audit in (("contact", "lead"), ("company", "company"))
    ]
    streams.append(ContactMergesStream(
        tap, name="contact_merges", replication_key="id",
        schema=object_schema(dict(MERGE_PROPERTIES), required=("id",)), **common))
    return streams


__all__ = ["FIELD_CHANGE_PROPERTIES", "MERGE_PROPERTIES", "ContactMergesStream", "FieldChangesStream",
           "build_history_streams", "changed_fields", "parse_details"]

