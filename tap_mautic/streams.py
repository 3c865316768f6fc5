"""The streams of tap-mautic, built from data (``mautic_api.catalog``, ``/api/fields``, ``/api/stats``).

Why so few classes: Mautic's contexts differ in path, list key, column naming and properties, which are
data; behaviour differs only for the custom-field entities (contacts, companies: flattened typed fields,
deletes), the ``/api/stats`` tables (string values typed by column, id or composite keys) and the form
submissions child stream. Those are the subclasses below; everything else is one ``EntityStream``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from mautic_api import php_serial
from mautic_api.answers import ListAnswerShape
from mautic_api.catalog import get_context
from mautic_api.errors import MauticError, PermissionDeniedError
from mautic_api.paging import (
    CompositeKeysetPaginator,
    KeysetPaginator,
    OffsetPaginator,
    PageQuery,
    Paginator,
)
from mautic_api.php_serial import PhpSerialError
from mautic_api.values import wire_datetime  # Mautic's `where` value for a timestamp
from tap_mautic.base_stream import FilterIgnoredError, MauticStream, QueryPass, StreamTap, modified_at
from tap_mautic.changes import id_batches
from tap_mautic.fields import DATETIME, INTEGER, STRING, field_schema, stats_column_schema, to_datetime
from tap_mautic.retract import (
    CASCADED_WITH_LOSER,
    IDS_EMITTED,
    MERGE_POSITION,
    add_ids,
    cascade_tombstones,
    id_tombstones,
    merge_tombstones,
)
from tap_mautic.schemas import (
    COMPANY_SPEC,
    CONTACT_RELATIONS,
    CONTACT_SPEC,
    DELETED_AT,
    MODIFIED_AT,
    SPECS,
    SUBMISSION_SPEC,
    object_schema,
    properties_from_spec,
)

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


# stream -> (catalog context, incremental on dateModified/dateAdded?, permission Mautic checks)
ENTITY_STREAMS: dict[str, tuple[str, bool, str]] = {
    "segments": ("segments", True, "lead:lists:viewother"),
    "campaigns": ("campaigns", True, "campaign:campaigns:view"),
    "campaign_events": ("campaignEvents", False, "campaign:campaigns:view"),
    "emails": ("emails", True, "email:emails:viewown/viewother"),
    "forms": ("forms", False, "form:forms:viewown/viewother"),
    "pages": ("pages", True, "page:pages:viewown/viewother"),
    "assets": ("assets", True, "asset:assets:viewown/viewother"),
    "notes": ("notes", False, "lead:leads:viewown/viewother"),
    "stages": ("stages", True, "stage:stages:view"),
    "tags": ("tags", False, "lead:leads:viewother"),
    "users": ("users", False, "user:users:view"),
    "roles": ("roles", False, "user:roles:view"),
    "categories": ("categories", False, "category:categories:view"),
    "contact_fields": ("contactFields", False, "lead:fields:full"),
    "company_fields": ("companyFields", False, "lead:fields:full"),
    "points": ("points", True, "point:points:view"),
    "point_triggers": ("pointTriggers", True, "point:triggers:view"),
    "webhooks": ("webhooks", True, "webhook:webhooks:viewown/viewother"),
    "focus": ("focus", True, "focus:items:viewown/viewother"),
    "dynamic_contents": ("dynamicContents", True, "dynamiccontent:dynamiccontents:viewown/viewother"),
    "smses": ("smses", True, "sms:smses:viewown/viewother"),
    "marketing_messages": ("messages", True, "channel:messages:viewown/viewother"),
    "notifications": ("notifications", True, "notification:notifications:viewown/viewother"),
    "reports": ("reports", False, "report:reports:viewown/viewother"),
    "devices": ("devices", False, "lead:leads:viewother"),
}

# /api/stats tables. Append-only tables are incremental on ``id``; tables whose rows change or disappear in
# place are read in full (keyset on id, or on their composite key when they have no id): lead_donotcontact
# (a new reason updates the row, a removal deletes it), campaign_lead_event_log (scheduled rows are updated
# when they run), lead_utmtags (removed through the API), email_stats (opens), the membership tables.
APPEND_ONLY_TABLES = {
    "audit_log", "lead_event_log", "page_hits", "form_submissions", "lead_points_change_log",
    "lead_stages_change_log", "asset_downloads", "email_stat_replies", "lead_companies_change_log",
    "video_hits", "focus_stats", "dynamic_content_lead_data", "webhook_logs", "email_stats_devices",
}
COMPOSITE_KEYS: dict[str, tuple[str, str]] = {
    "lead_lists_leads": ("leadlist_id", "lead_id"),
    "campaign_leads": ("campaign_id", "lead_id"),
    "companies_leads": ("company_id", "lead_id"),
    "point_lead_action_log": ("point_id", "lead_id"),
    "point_lead_event_log": ("event_id", "lead_id"),
    "stage_lead_action_log": ("stage_id", "lead_id"),
}
REQUIRED_TABLES = (
    "audit_log", "lead_event_log", "email_stats", "page_hits", "form_submissions",
    "campaign_lead_event_log", "campaign_leads", "lead_lists_leads", "companies_leads",
    "lead_points_change_log", "lead_stages_change_log", "lead_donotcontact", "asset_downloads",
)
# Columns as recorded on Mautic 5.1.0 (GET /api/stats): used when /api/stats cannot be read at discovery.
RECORDED_TABLE_COLUMNS: dict[str, list[str]] = {
    "asset_downloads": ["asset_id", "code", "date_download", "email_id", "id", "ip_id", "lead_id", "referer",
                        "source", "source_id", "tracking_id", "utm_campaign", "utm_content", "utm_medium",
                        "utm_source", "utm_term"],
    "audit_log": ["action", "bundle", "date_added", "details", "id", "ip_address", "object", "object_id",
                  "user_id", "user_name"],
    "campaign_lead_event_log": ["campaign_id", "channel", "channel_id", "date_triggered", "event_id", "id",
                                "ip_id", "is_scheduled", "lead_id", "metadata", "non_action_path_taken",
                                "rotation", "system_triggered", "trigger_date"],
    "campaign_leads": ["campaign_id", "date_added", "date_last_exited", "lead_id", "manually_added",
                       "manually_removed", "rotation"],
    "companies_leads": ["company_id", "date_added", "is_primary", "lead_id"],
    "email_stats": ["copy_id", "date_read", "date_sent", "email_address", "email_id", "id", "ip_id",
                    "is_failed", "is_read", "last_opened", "lead_id", "list_id", "open_count", "open_details",
                    "retry_count", "source", "source_id", "tokens", "tracking_hash", "viewed_in_browser"],
    "form_submissions": ["date_submitted", "form_id", "id", "ip_id", "lead_id", "page_id", "referer",
                         "tracking_id"],
    "lead_donotcontact": ["channel", "channel_id", "comments", "date_added", "id", "lead_id", "reason"],
    "lead_event_log": ["action", "bundle", "date_added", "id", "lead_id", "object", "object_id", "properties",
                       "user_id", "user_name"],
    "lead_lists_leads": ["date_added", "leadlist_id", "lead_id", "manually_added", "manually_removed"],
    "lead_points_change_log": ["action_name", "date_added", "delta", "event_name", "group_id", "id", "ip_id",
                               "lead_id", "type"],
    "lead_stages_change_log": ["action_name", "date_added", "event_name", "id", "lead_id", "stage_id"],
    "page_hits": ["browser_languages", "city", "code", "country", "date_hit", "date_left", "device_id",
                  "email_id", "id", "ip_id", "isp", "lead_id", "organization", "page_id", "page_language",
                  "query", "redirect_id", "referer", "region", "remote_host", "source", "source_id",
                  "tracking_id", "url", "url_title", "user_agent"],
}
# Id-incremental tables whose lead_id a merge rewrites in place (the updateLead methods the 5.1.0 merge
# subscribers call; mautic_sim.merges.REPOINTED): their rows under the victor are read again after a merge.
# (email_stats and dynamic_content_stats are re-pointed too, but read in full every run.)
REPOINTED_BY_MERGE = frozenset({"lead_event_log", "lead_points_change_log", "asset_downloads",
                                "form_submissions", "page_hits", "video_hits"})
_DATE_COLUMN_PREFERENCE = ("date_added", "date_hit", "date_triggered", "date_submitted", "date_download",
                           "date_sent", "date_fired", "date_replied", "date_opened")


# ------------------------------------------------------------------------------------ entities


class EntityStream(MauticStream):
    """A plain Mautic context (segments, emails, ...): keyset on id; incremental ones on modification.

    Incremental walks are two top-level-AND queries (Mautic cannot be trusted with a nested OR):
    ``dateModified isNull AND dateAdded gte T`` (created, never touched) then ``dateModified gte T``, where T
    is the bookmark minus a look-back, de-duplicated by id within the run.
    """

    modified_column: str | None = None
    added_column: str | None = None

    def __init__(self, tap: StreamTap, *, modified_column: str | None = None, added_column: str | None = None,
                 **kwargs: Any) -> None:
        self.modified_column = modified_column
        self.added_column = added_column
        super().__init__(tap, **kwargs)

    def base_where(self) -> list[dict[str, Any]]:
        return []

    def base_check(self, row: Mapping[str, Any]) -> bool:
        return True

    def query_passes(self, context: Context | None) -> Iterable[QueryPass]:
        base = self.base_where()
        start = self.starting_time(context) if self.replication_key else None
        if start is None or not (self.modified_column and self.added_column):
            return [QueryPass("all", list(base), self.base_check)]
        tracking = self.tap.change_tracking
        if not isinstance(self, CustomFieldStream) and not tracking.instance_moves_date_modified():
            # updates do not move dateModified (Mautic 6.0+): a small context is read in full
            return [QueryPass("all (dateModified not moved by updates)", list(base), self.base_check)]
        when = wire_datetime(start)
        floor = start.replace(microsecond=0)

        def created_since(row: Mapping[str, Any]) -> bool:
            if not self.base_check(row):
                return False
            if "dateModified" not in row and "dateAdded" not in row:
                return True  # the context does not return its dates (companies on 5.1.0)
            added = _parse(row.get("dateAdded"))
            return not row.get("dateModified") and added is not None and added >= floor

        def modified_since(row: Mapping[str, Any]) -> bool:
            if not self.base_check(row):
                return False
            if "dateModified" not in row:
                return True
            modified = _parse(row.get("dateModified"))
            return modified is not None and modified >= floor

        return [
            QueryPass(f"{self.added_column} gte {when} (never modified)",
                      [*base, {"col": self.modified_column, "expr": "isNull"},
                       {"col": self.added_column, "expr": "gte", "val": when}], created_since),
            QueryPass(f"{self.modified_column} gte {when}",
                      [*base, {"col": self.modified_column, "expr": "gte", "val": when}], modified_since),
        ]

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        if self.replication_key == MODIFIED_AT and MODIFIED_AT not in row:
            row[MODIFIED_AT] = modified_at(row)
        return super().post_process(row, context)


class WebhooksStream(EntityStream):
    """Webhooks: the signing secret is not replicated."""

    drop_properties = ("secret",)


class FormsStream(EntityStream):
    """Forms: parent of form_submissions_results (one child walk per form).

    Not partitioned: partition 0 reads every form, so that it reads every form's submissions."""

    id_partitioned = False

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        return {"form_id": record["id"]}


# --------------------------------------------------------------------------- contacts, companies


class CustomFieldStream(EntityStream):
    """Contacts and companies: ``fields.all`` flattened into one typed property per field alias; deletes.

    Deletes come from ``/api/stats/audit_log`` (bundle=lead, object=lead|company, action=delete) since the
    bookmark, emitted as ``{id, _sdc_deleted_at}`` after the changed records. When the user may not read
    audit_log (it needs an administrator), one warning is logged and no deletes are emitted.
    """

    audit_object = "lead"
    eager_probe = True

    def __init__(self, tap: StreamTap, *, field_aliases: list[str], **kwargs: Any) -> None:
        self.field_aliases = field_aliases
        self._shape: ListAnswerShape | None = None
        super().__init__(tap, **kwargs)

    def answer_shape(self) -> ListAnswerShape:
        """Pages decoded to the schema's own properties and ``fields.all`` only: the per-group copies of
        every field (``fields.core``, ...) are nine tenths of a page and never read. An answer with any other
        key (one the catalog's schema lacks, an alias sent at the top level) is decoded in full as before."""
        if self._shape is None:
            aliases = set(self.field_aliases)
            own = [key for key in self.effective_schema.get("properties", {}) if key not in aliases]
            self._shape = ListAnswerShape(self.list_key, own, {"fields": ("all",)})
        return self._shape

    def base_where(self) -> list[dict[str, Any]]:
        if self.name == "contacts" and self.config.get("exclude_anonymous"):
            return [{"col": "date_identified", "expr": "isNotNull"}]
        return []

    def base_check(self, row: Mapping[str, Any]) -> bool:
        if self.name == "contacts" and self.config.get("exclude_anonymous") and "dateIdentified" in row:
            return row.get("dateIdentified") is not None
        return True

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        if row.get(DELETED_AT) is not None:
            # A deletion marker is exactly {id, _sdc_deleted_at}: an explicit null for every other property
            # would make an upserting loader blank the row it marks.
            return row
        fields = row.pop("fields", None)
        values = fields.get("all") if isinstance(fields, Mapping) else None
        if not isinstance(values, Mapping):
            values = {}
        for alias in self.field_aliases:
            if alias not in row:
                row[alias] = values.get(alias)
        ips = row.get("ipAddresses")
        if isinstance(ips, Mapping):  # keyed by IP when there are any, [] when none
            row["ipAddresses"] = [
                {"ipAddress": ip, **(v if isinstance(v, Mapping) else {})} for ip, v in ips.items()
            ]
        return super().post_process(row, context)

    def query_passes(self, context: Context | None) -> Iterable[QueryPass]:
        """By dateModified where updates move it; else plus the ids audit_log names, or a periodic full
        re-read when audit_log is not readable (tap_mautic.changes)."""
        start = self.starting_time(context)
        tracking = self.tap.change_tracking
        if start is None or not tracking.uses_audit_log():
            yield from super().query_passes(context)
            return
        changed = tracking.changed_ids(self.name, self.audit_object, start, self.page_size)
        if changed is None:
            state = self.get_context_state(context)
            full = tracking.full_read_due(state, int(self.config.get("full_resync_every", 1)))
            if full:
                yield QueryPass("all (full_resync_every)", self.base_where(), self.base_check)
            else:
                yield from super().query_passes(context)
            tracking.count_run(state, full)  # reached only once every pass above was read
            return
        yield from super().query_passes(context)
        emitted = set(self._seen_keys)  # contacts/companies: one key, kept as the id itself
        yield from id_batches(changed - emitted, self.page_size, self.base_where(), self.base_check)

    def extra_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        if not self.config.get("include_deletes", True) or not self.replication_key:
            return
        if self.tap.change_tracking.audit_denied:
            return  # already warned: audit_log is not readable
        start = self.starting_time(context)
        if start is None:
            return  # first full read: deleted records are simply absent
        yield from self._deletion_markers(start)

    def _deletion_markers(self, start: datetime) -> Iterable[dict[str, Any]]:
        floor = start.replace(microsecond=0)

        def is_delete(entry: Mapping[str, Any]) -> bool:
            when = _parse(entry.get("date_added"))
            return (entry.get("action") == "delete" and entry.get("object") == self.audit_object
                    and when is not None and when >= floor)

        entries = self.tap.client.iter_stats(
            "audit_log", page_size=self.page_size, check=is_delete, where=[
                {"col": "bundle", "expr": "eq", "val": "lead"},
                {"col": "object", "expr": "eq", "val": self.audit_object},
                {"col": "action", "expr": "eq", "val": "delete"},
                {"col": "date_added", "expr": "gte", "val": wire_datetime(start)},
            ], label=self.label(), error=MauticError, messages={
                "order": "{label}: audit_log answer does not match the delete filter (ids out of order); "
                         "refusing to continue.",
                **dict.fromkeys(("keyset", "check"), "{label}: audit_log answer does not match the delete "
                                "filter (row id {got}); refusing to continue.")})
        try:
            for entry in entries:
                yield {"id": int(entry["object_id"]), DELETED_AT: to_datetime(entry.get("date_added"))}
        except PermissionDeniedError as exc:
            self.logger.warning(
                "Stream '%s': deletes are not emitted because the Mautic user may not read audit_log "
                "(it needs an administrator role): %s", self.name, str(exc)[:200],
            )


class ContactsStream(CustomFieldStream):
    audit_object = "lead"


class CompaniesStream(CustomFieldStream):
    audit_object = "company"


# ------------------------------------------------------------------------------------ stats tables


class StatsStream(MauticStream):
    """One ``/api/stats/{table}``: rows of strings typed by column; ordered by id (or the composite key)."""

    list_key = "stats"
    # Id-ordered tables are resumable: emit STATE about once per default page, not once per 10,000 records.
    STATE_MSG_FREQUENCY = 200

    def __init__(self, tap: StreamTap, *, table: str, columns: list[str], **kwargs: Any) -> None:
        self.table = table
        self.columns = columns
        self.date_column = next((c for c in _DATE_COLUMN_PREFERENCE if c in columns), None)
        # rows a merge's loser takes with it: their ids are kept (tap_mautic.retract.cascade_tombstones)
        self.keeps_ids = table in CASCADED_WITH_LOSER
        self._pending_ids: list[int] = []  # emitted since the last checkpoint
        self._emitted_now: set[int] = set()  # emitted this run
        super().__init__(tap, **kwargs)

    @property
    @override
    def is_sorted(self) -> bool:
        """Id-ordered incremental tables advance their bookmark as they go (resumable mid-stream)."""
        return self.replication_key == "id"

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        if row.get(DELETED_AT) is not None and len(row) == 2:
            return row  # a tombstone (tap_mautic.retract): its id and _sdc_deleted_at, typed already
        for column in self.columns:  # every column in every record, null when the answer left it out
            row.setdefault(column, None)
        if self.keeps_ids and str(row.get("id")).isdigit():
            self._pending_ids.append(int(row["id"]))
        return super().post_process(row, context)

    @override
    def write_checkpoint(self, state: dict[str, Any], mark: Any) -> None:
        self.fold_emitted(state)
        super().write_checkpoint(state, mark)

    def fold_emitted(self, state: dict[str, Any]) -> None:
        """The ids emitted since the last checkpoint, into the state's ``ids_emitted`` (``keeps_ids``)."""
        if self._pending_ids:
            self._emitted_now.update(self._pending_ids)
            state[IDS_EMITTED] = add_ids(state.get(IDS_EMITTED) or [], self._pending_ids)
            self._pending_ids.clear()

    def trim_page(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Id-incremental tables stop at the first row younger than the settle window.

        Mautic's ids are taken at insert and become visible at commit, so under concurrent writes id N+1 can
        be readable before id N; an id bookmark past N+1 would skip N forever. Rows of the last
        ``stats_settle_seconds`` (ordered by id, from the first such row on) are read by the next run.
        """
        settle = int(self.config.get("stats_settle_seconds", 30))
        if not self.is_sorted or not self.date_column or settle <= 0:
            return rows
        cutoff = self.tap.server_start_time() - timedelta(seconds=settle)
        for n, row in enumerate(rows):
            when = _parse(row.get(self.date_column))
            if when is not None and when >= cutoff:
                return rows[:n]  # the rest of the table is left for the next run
        return rows

    def start_token(self) -> Any:
        if self.replication_key == "id":
            # The SDK seeds the start value with start_date when there is no bookmark yet; an id
            # bookmark is an int, start_date becomes a date filter instead (list_params).
            value = self.get_starting_replication_key_value(self.context)
            if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                return int(value)
        return None

    def base_where(self) -> list[dict[str, Any]]:
        """``start_date`` as a filter on the table's date column on a first run (no id bookmark yet)."""
        if self.start_token() is None and self.replication_key and self.date_column and self.config.get(
                "start_date"):
            start = to_datetime(self.config["start_date"])
            if start:
                return [{"col": self.date_column, "expr": "gte",
                         "val": wire_datetime(datetime.fromisoformat(start))}]
        return []

    def new_walk(self, query: QueryPass, context: Context | None) -> Paginator:
        self._walk_start = self.start_token()
        return KeysetPaginator(page_size=self.page_size, where=self.base_where(), label=self.label(),
                               error=FilterIgnoredError, lower=self._walk_start)

    def page_params(self, query: PageQuery) -> dict[str, Any]:
        return query.stats_params()

    # ------------------------------------------------------------------ rows re-pointed by merges

    def extra_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """After the new rows: the rows a merge moved to its victor since the last run, at or below the
        bookmark this run started from (rows above it were just read with their current ``lead_id``).

        Why: Mautic rewrites ``lead_id`` in place on a merge, so an id bookmark never sees those rows again.
        They are emitted on this stream, after the sorted pass, without moving the bookmark (it stays at the
        highest new id): singer-sdk's sort check and the resumable bookmark hold, and a loader upserting by
        ``id`` replaces the rows it holds under the loser. The merges come from audit_log (one walk per run,
        shared by the streams); the stream keeps the last merge it handled (``merges_read_up_to``), so a
        merge during a run is handled by the next run.
        """
        if not self.replication_key:  # read in full: the rows gone since the last read (tap_mautic.retract)
            yield from id_tombstones(self, context, getattr(self, "_read_bounds", None),
                                     getattr(self, "_read_whole", False))
            return
        if self.keeps_ids and self.replication_key == "id":
            self.fold_emitted(self.get_context_state(context))
            yield from cascade_tombstones(self, context, self._emitted_now)
            return
        if (self.table not in REPOINTED_BY_MERGE or self.replication_key != "id"
                or not self.config.get("include_merges", True)):
            return
        state = self.get_context_state(context)
        position = state.get(MERGE_POSITION)
        merges = self.tap.change_tracking.merges_after(int(position or 0), self.page_size)
        if merges is None:
            return  # audit_log not readable: warned about by the streams that read it
        start = getattr(self, "_walk_start", None)
        victors = sorted({victor for _, _, victor in merges if victor is not None})
        if position is not None and start is not None and victors:
            self.bookmark_frozen = True  # these rows are below the bookmark: it stays at the highest new id
            try:
                for n in range(0, len(victors), 100):
                    batch = victors[n:n + 100]
                    wanted = frozenset(batch)
                    walk = KeysetPaginator(
                        page_size=self.page_size, label=self.label(), error=FilterIgnoredError, upper=start,
                        where=[{"col": "lead_id", "expr": "in", "val": ",".join(map(str, batch))}],
                        check=partial(_lead_in, wanted),
                        what=f"rows of {len(batch)} merged contacts")
                    for rows in self.read_pages(walk, context):
                        yield from rows
            finally:
                self.bookmark_frozen = False
        if merges or position is None:
            state[MERGE_POSITION] = max([int(position or 0), *(m[0] for m in merges)])


class DeletionsStream(StatsStream):
    """Who and what was deleted, and why, read from ``audit_log`` (``action=delete``), one record each.

    Why: a deletion marker in ``contacts``/``companies`` carries only the id, and a loader that upserts it
    blanks the row, so the warehouse loses who was deleted. Mautic's audit log keeps the object, its id, its
    name (in ``details``, PHP-serialized) and the user who deleted it. Incremental on the audit log id.

    A merged contact is deleted too: Mautic writes its ``merge`` row (``{merged_into: victor}``) just before
    its ``delete`` row, so the walk reads ``action in (delete, merge)`` in id order and a deletion that
    follows a merge of the same contact gets ``reason: merge`` and ``merged_into`` (merge rows themselves are
    the ``contact_merges`` stream). Checked on a real 5.1.0 (2026-12-06): ``where action in delete,merge`` on
    /api/stats/audit_log answered the merge row 12 and the delete row 13.
    """

    SCHEMA_PROPERTIES: dict[str, Any] = {
        "id": INTEGER, "object": STRING, "bundle": STRING, "object_id": INTEGER, "name": STRING,
        "deleted_at": DATETIME, "user_id": INTEGER, "user_name": STRING, "reason": STRING,
        "merged_into": INTEGER,
    }

    def __init__(self, tap: StreamTap, **kwargs: Any) -> None:
        self._merged: dict[int, int | None] = {}  # loser id -> victor, from the merge rows read so far
        super().__init__(tap, **kwargs)

    def base_where(self) -> list[dict[str, Any]]:
        return [{"col": "action", "expr": "in", "val": "delete,merge"}, *super().base_where()]

    def new_walk(self, query: QueryPass, context: Context | None) -> Paginator:
        return KeysetPaginator(
            page_size=self.page_size, where=self.base_where(), label=self.label(), error=FilterIgnoredError,
            lower=self.start_token(), check=lambda row: row.get("action") in ("delete", "merge"),
            messages={"check": "{label}: Mautic ignored the filter 'action in delete,merge' (audit_log row "
                               "id {got}); refusing to continue."})

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        if row.get("action") == "merge":
            if row.get("object") == "lead" and row.get("object_id") is not None:
                self._merged[int(row["object_id"])] = merged_into_of(row.get("details"))
            return None
        deletion = {name: row.get(name) for name in ("id", "object", "bundle", "object_id", "user_id",
                                                      "user_name")}
        deletion["name"] = php_serialized_name(row.get("details"))
        deletion["deleted_at"] = row.get("date_added")
        loser = int(row["object_id"]) if row.get("object") == "lead" and row.get("object_id") else None
        if loser is not None and loser in self._merged:
            deletion["reason"], deletion["merged_into"] = "merge", self._merged.pop(loser)
        else:
            deletion["reason"], deletion["merged_into"] = "delete", None
        # typed like every other record (MauticStream's converter), not as an audit_log row
        return MauticStream.post_process(self, deletion, context)


def merged_into_of(details: Any) -> int | None:
    """The victor named by a ``merge`` audit row's details (``a:1:{s:11:"merged_into";i:2;}``)."""
    if not isinstance(details, str):
        return None
    try:
        value = php_serial.loads(details)
    except PhpSerialError:
        return None
    victor = value.get("merged_into") if isinstance(value, dict) else None
    try:
        return int(victor) if victor is not None else None
    except (TypeError, ValueError):
        return None


def php_serialized_name(details: Any) -> str | None:
    """The ``name`` entry of an audit log's PHP-serialized ``details`` (``a:1:{s:4:"name";s:5:"Putty";}``).

    PHP's ``s:N:`` counts bytes, so the value is cut by its UTF-8 length, not by searching for a quote.
    """
    if not isinstance(details, str):
        return None
    marker = 's:4:"name";s:'
    at = details.find(marker)
    if at < 0:
        return None
    rest = details[at + len(marker):]
    length, sep, tail = rest.partition(':"')
    if not sep or not length.isdigit():
        return None
    raw = tail.encode("utf-8")[: int(length)]
    return raw.decode("utf-8", errors="replace")


class CompositeStatsStream(StatsStream):
    """A stats table without an id column (memberships): keyset on its two-column key.

    Token ``("eq", a, b)`` reads the rest of group ``a`` (``A eq a AND B gt b``); when that is empty,
    ``("gt", a, b)`` reads the following groups (``A gt a``). Only top-level ANDs, never an offset.
    """

    id_partitioned = False

    def __init__(self, tap: StreamTap, *, key: tuple[str, str], **kwargs: Any) -> None:
        self.key = key
        super().__init__(tap, primary_keys=key, **kwargs)

    def start_token(self) -> Any:
        return None

    def new_walk(self, query: QueryPass, context: Context | None) -> Paginator:
        return CompositeKeysetPaginator(page_size=self.page_size, key=self.key, label=self.label(),
                                        error=FilterIgnoredError)

    def extra_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Tombstones of the loser's rows after a merge (tap_mautic.retract)."""
        return merge_tombstones(self, context)

    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        if row.get(DELETED_AT) is not None:
            return row  # a tombstone is exactly its key and _sdc_deleted_at, typed already
        return super().post_process(row, context)


# ------------------------------------------------------------------------------ form submissions


class FormSubmissionsResultsStream(MauticStream):
    """The submitted values of every form (``/api/forms/{id}/submissions``), child of ``forms``.

    This endpoint has its own query (no ``where``/``orderBy`` honoured, order ``date_submitted ASC``), so it
    is read with ``start``/``limit``: submissions are append-only (new ones sort last), which keeps the
    offsets stable; ids are de-duplicated within the run.
    """

    parent_stream_type = FormsStream
    id_partitioned = False  # offsets, no id filter: read whole by partition 0
    state_partitioning_keys: list[str] = []  # one state for the stream, not one per form

    def new_walk(self, query: QueryPass, context: Context | None) -> Paginator:
        return OffsetPaginator(page_size=self.page_size, label=self.label(), error=FilterIgnoredError)

    def page_params(self, query: PageQuery) -> dict[str, Any]:
        return {"start": query.start or 0, "limit": query.limit}

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        form_id = (context or {}).get("form_id")
        lead = row.get("lead")
        form = row.get("form")
        if form_id is None and isinstance(form, Mapping):
            form_id = form.get("id")
        row["form_id"] = form_id
        row["lead_id"] = lead.get("id") if isinstance(lead, Mapping) else lead
        results = row.get("results")
        row["results"] = dict(results) if isinstance(results, Mapping) else {}
        return super().post_process(row, context)


# ---------------------------------------------------------------------------------------- builder


def _lead_in(wanted: frozenset[int], row: Mapping[str, Any]) -> bool:
    """Whether a stats row belongs to one of the ``wanted`` contacts (its ``lead_id``)."""
    return _int_or_none(row.get("lead_id")) in wanted


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _parse(value: Any) -> datetime | None:
    text = to_datetime(value) if value else None
    return datetime.fromisoformat(text) if text else None


def _custom_field_properties(fields: list[dict[str, Any]], fixed: dict[str, Any]) -> tuple[dict, list[str]]:
    props: dict[str, Any] = {}
    aliases: list[str] = []
    for field in sorted(fields, key=lambda f: (f.get("order") or 0, str(f.get("alias")))):
        alias = field.get("alias")
        if not alias or alias in fixed or alias in props:
            continue
        props[alias] = field_schema(field)
        aliases.append(alias)
    return props, aliases


def build_streams(tap: StreamTap, tables: Mapping[str, list[str]] | None = None) -> list[MauticStream]:
    """Every stream of the tap but the history ones (tap_mautic.history), from the catalog of contexts and
    what the instance reports at discovery (``tables``: /api/stats, read here when not given)."""
    streams: list[MauticStream] = []
    for name, (ctx_name, incremental, permission) in ENTITY_STREAMS.items():
        ctx = get_context(ctx_name)
        props = properties_from_spec(SPECS[name])
        rep_key = None
        if incremental and ctx.modified_column and ctx.added_column:
            props[MODIFIED_AT] = dict(DATETIME)
            rep_key = MODIFIED_AT
        cls = {"forms": FormsStream, "webhooks": WebhooksStream}.get(name, EntityStream)
        streams.append(cls(
            tap, name=name, path=f"/{ctx.path}", list_key=ctx.list_key, schema=object_schema(props),
            replication_key=rep_key, supports_minimal=ctx.minimal,
            permission=permission, modified_column=ctx.modified_column if rep_key else None,
            added_column=ctx.added_column if rep_key else None,
        ))

    for name, custom_cls, spec, obj, permission in (
        ("contacts", ContactsStream, CONTACT_SPEC, "contact", "lead:leads:viewown/viewother"),
        ("companies", CompaniesStream, COMPANY_SPEC, "company", "lead:leads:viewother"),
    ):
        ctx = get_context(name)
        fixed = properties_from_spec(spec)
        if name == "contacts":
            fixed.update(CONTACT_RELATIONS)
        custom, aliases = _custom_field_properties(tap.custom_fields(obj), fixed)
        props = {**fixed, **custom, MODIFIED_AT: dict(DATETIME), DELETED_AT: dict(DATETIME)}
        streams.append(custom_cls(
            tap, name=name, path=f"/{ctx.path}", list_key=ctx.list_key, schema=object_schema(props),
            replication_key=MODIFIED_AT, supports_minimal=ctx.minimal,
            permission=permission, modified_column=ctx.modified_column or "date_modified",
            added_column=ctx.added_column or "date_added", field_aliases=aliases,
        ))

    forms_ctx = get_context("forms")
    sub_props = properties_from_spec(SUBMISSION_SPEC)
    sub_props["results"] = {"type": ["object", "null"], "additionalProperties": True}
    streams.append(FormSubmissionsResultsStream(
        tap, name="form_submissions_results", path=f"/{forms_ctx.path}/{{form_id}}/submissions",
        list_key="submissions", schema=object_schema(sub_props), permission="form:forms:viewown/viewother",
    ))

    if tables is None:
        tables = tap.stats_tables()
    for table in sorted(tables):
        columns = list(tables[table])
        if "id" not in columns and table not in COMPOSITE_KEYS:
            continue
        props = {col: stats_column_schema(col) for col in columns}
        permission = "an administrator role" if table == "audit_log" else "lead:leads:viewown/viewother"
        common: dict[str, Any] = {"name": table, "path": f"/stats/{table}", "list_key": "stats",
                  "permission": permission, "table": table, "columns": columns}
        if table in COMPOSITE_KEYS:
            key = COMPOSITE_KEYS[table]
            if not all(k in columns for k in key):
                continue
            props[DELETED_AT] = dict(DATETIME)  # tombstones after merges (tap_mautic.retract)
            streams.append(CompositeStatsStream(
                tap, key=key, schema=object_schema(props, required=key), **common))
        else:
            rep_key = "id" if table in APPEND_ONLY_TABLES else None
            if (rep_key is None and "lead_id" in columns) or table in CASCADED_WITH_LOSER:
                props[DELETED_AT] = dict(DATETIME)  # tombstones for rows gone (tap_mautic.retract)
            streams.append(StatsStream(
                tap, schema=object_schema(props), replication_key=rep_key, **common))
    if "audit_log" in tables:
        streams.append(DeletionsStream(
            tap, name="deletions", path="/stats/audit_log", list_key="stats",
            permission="an administrator role", table="audit_log", columns=list(tables["audit_log"]),
            schema=object_schema(dict(DeletionsStream.SCHEMA_PROPERTIES), required=("id",)),
            replication_key="id",
        ))
    return streams
