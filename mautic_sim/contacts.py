"""Contacts and companies: SimApp's DBAL-backed contexts with custom fields as columns.

Reads and writes live here; JSON shapes are in contact_json.py, field value rules in field_values.py.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mautic_sim.contact_json import ContactSerialization
from mautic_sim.field_values import (
    _int_or_none,
    _is_fraction,
    _is_zero,
    clean_value,
    parse_dt,
    too_long,
)
from mautic_sim.mariadb import fold
from mautic_sim.merges import change_details, delete_contact_rows, field_changes, php_datetime
from mautic_sim.services import SimApp
from mautic_sim.util import ApiError, db_ts, php_serialize, request_failed, validation_error

CONTACT_COLUMN_ALIASES = {  # top-level camelCase where columns -> DB columns (convertOrmProperties)
    "dateAdded": "date_added", "dateModified": "date_modified", "dateIdentified": "date_identified",
    "lastActive": "last_active", "isPublished": "is_published", "createdBy": "created_by",
    "modifiedBy": "modified_by", "owner": "owner_id", "stage": "stage_id",
}




def _has_nul(values: dict[str, Any]) -> bool:
    """A NUL byte in a saved value: real 5.1.0 saves the contact, then its audit log row fails ("Serialized
    array includes null-byte") and the request answers 500; in batch/new of 50 with the bad item at index 26,
    items 0-26 were saved (2026-12-06)."""
    return any(isinstance(v, str) and "\x00" in v for v in values.values())


def _special_columns(payload: Any, mode: str, row: dict[str, Any] | None) -> dict[str, Any]:
    """The ``leads`` columns a save sets from keys outside the fields: owner, stage, lastActive, points."""
    special: dict[str, Any] = {}
    if "owner" in payload:
        special["owner_id"] = _int_or_none(payload["owner"])
    elif mode == "put" and row is not None:
        special["owner_id"] = None
    if "stage" in payload:
        special["stage_id"] = _int_or_none(payload["stage"])
    if payload.get("lastActive"):
        dt = parse_dt(payload["lastActive"])
        if dt is not None:
            special["last_active"] = dt.strftime("%Y-%m-%d %H:%M:%S")
    if "points" in payload and not _is_zero(payload["points"]):
        with contextlib.suppress(TypeError, ValueError):
            special["points"] = int(float(payload["points"]))
    return special


def _zero_date(row: dict[str, Any]) -> bool:
    """A stored ``0000-00-00`` date (written by SQL, not the API): real 5.1.0 answers an edit of that contact
    with 500 "Unable to transform data for property path" before saving it; PATCH batch/edit of 6 with it at
    index 3 saved items 0-2 (2026-12-06)."""
    return any(isinstance(v, str) and v.startswith("0000-00-00") for v in row.values())


_IDENTIFYING = ("email", "firstname", "lastname", "company", "facebook", "foursquare", "instagram", "linkedin",
                "skype", "twitter")


@functools.lru_cache(maxsize=64)
def _insert_sql(columns: tuple[str, ...]) -> str:
    return f'INSERT INTO leads ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)}) VALUES ({", ".join("?" * len(columns))})'


def _newest_first(row: dict[str, Any]) -> tuple[bool, str, int]:
    """The sort key of ``ORDER BY date_added DESC, id DESC`` (NULL dates sort last)."""
    return (row["date_added"] is not None, row["date_added"] or "", row["id"])


@dataclass
class PreparedContact:
    """One batch item's save, prepared outside the store lock (``Contacts.prepare_contact``)."""

    payload: dict[str, Any]
    row: dict[str, Any] | None  # the contact it edits (None: a create)
    status: int
    source: str
    fields: list[dict[str, Any]]
    checks: list[tuple[str, tuple[Any, ...], Any, str]]  # (SQL, params, found, "one" row | "rows" | "none")
    rec: dict[str, Any]  # the leads columns to write
    now: str
    user: dict[str, Any]
    audits: list[tuple[str, str]]
    events: list[str]
    submitted: set[str]


@dataclass
class PreparedRows:
    """Audit and event rows of a batch's prepared saves, written together in their order by :meth:`flush`."""

    audits: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)

    def flush(self, store: Any) -> None:
        if self.audits:
            store.conn.executemany(
                "INSERT INTO audit_log (user_id, user_name, bundle, object, object_id, action, details, date_added,"
                " ip_address) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self.audits)
        if self.events:
            store.conn.executemany(
                "INSERT INTO lead_event_log (lead_id, bundle, object, action, object_id, date_added, properties) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", self.events)
        self.audits, self.events = [], []


class Contacts(ContactSerialization):
    """Contact and company reads/writes on the store."""

    def __init__(self, app: SimApp):
        self.app = app
        self.store = app.store
        self._tl = threading.local()  # per-request caches of one page (owners, stages, UTM tags)
        self._stamp: tuple[datetime, str, Any] | None = None  # a prepared save's clock: as DB and PHP dates

    # -- reads ------------------------------------------------------------------------------------
    def get_row(self, table: str, row_id: Any) -> dict[str, Any] | None:
        try:
            row_id = int(row_id)
        except (TypeError, ValueError):
            return None
        return self.store.one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))

    # -- writes -----------------------------------------------------------------------------------
    def apply_fields(self, obj: str, payload: dict[str, Any], row: dict[str, Any] | None, mode: str,
                     overwrite_blank: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """Column values to write and validation errors, from a contact/company payload."""
        values: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for f in self.store.fields(obj):
            alias = f["alias"]
            if alias in ("points", "last_active") and obj == "lead":
                continue
            if alias not in payload:
                if mode == "put" and obj == "lead":  # Mautic blanks omitted fields on PUT: '' (0.0 for numbers)
                    values[alias] = 0.0 if f["type"] == "number" else ""
                elif mode == "put" and row is not None and row.get(alias) is not None:
                    values[alias] = None
                continue
            raw = payload[alias]
            if obj == "lead" and self.dropped_on_write(f, raw, mode):
                continue
            value, err = clean_value(f, raw)
            if not err:
                err = too_long(f, value)
            if err:
                errors[alias] = [err]
                continue
            if value is None and not (overwrite_blank or mode == "put"):
                continue
            values[alias] = value
        return values, errors

    def dropped_on_write(self, field: dict[str, Any], raw: Any, mode: str) -> bool:
        """Whether a contact POST/PATCH leaves ``raw`` unstored (contacts only: companies store both).

        Real 5.1.0 (2026-12-06, tests/real/test_real_writes.py): POST /api/contacts/new with a number field at 0.55
        -> 201, stored 0.55; at 0 -> 201, NULL; PATCH /api/contacts/{id}/edit with 0.37 or 0 -> 200, unchanged
        (also on NULL); POST new / batch/new matching by email (an edit) with 0.37 -> 200, unchanged. Zero:
        mautic#15030; fractions on edits: mautic#16590, fixed in 7.2 (5.2-7.1 *inferred*)."""
        if mode not in ("new", "patch") or isinstance(raw, bool):
            return False
        if _is_zero(raw):
            return True
        return (mode == "patch" and self.app.version.drops_fractions_on_edit and field["type"] == "number"
                and _is_fraction(raw))

    def unique_violations(self, obj: str, values: dict[str, Any], row: dict[str, Any] | None) -> None:
        """422 when a unique identifier field (contact email, company name) would be held by another record.

        Mautic's UniqueCustomField constraint (LeadBundle/Form/Validator/Constraints/UniqueCustomFieldValidator,
        on Lead and Company since 5.0, still on Lead in 7.x) checks each published unique field's form value,
        the submitted one or else the current one: valid when no record holds it or only this one. Real 5.1.0
        (2026-12-06): PATCH /api/contacts/1/edit {"email": <contact 2's email>} -> 422
        {"errors":[{"code":422,"message":"email: This field must be unique.","details":{"email":["This field
        must be unique."]}}]}, nothing merged or deleted; the same for PUT, for another case of the email, for
        companyname on companies (also batch/new and POST new with force), and for a PATCH of a contact whose
        email a second contact holds too."""
        details: dict[str, list[str]] = {}
        for alias, sql, params in self._unique_queries(obj, values, row):
            holders = self.store.query(sql, params)
            if self._held_by_another(holders, row):
                details[alias] = ["This field must be unique."]
        if details:
            raise ApiError(422, ", ".join(f"{k}: {' '.join(v)}" for k, v in details.items()), details=details)

    @staticmethod
    def _held_by_another(holders: list[dict[str, Any]], row: dict[str, Any] | None) -> bool:
        return len(holders) > 1 or bool(holders and (row is None or holders[0]["id"] != row["id"]))

    def _unique_queries(self, obj: str, values: dict[str, Any],
                        row: dict[str, Any] | None) -> list[tuple[str, str, tuple[Any, ...]]]:
        """(alias, SQL, params) of the holders of each unique field's value (see ``unique_violations``)."""
        table = "leads" if obj == "lead" else "companies"
        out = []
        for f in self.store.fields(obj):
            if not f["is_unique_identifier"] or not f["is_published"]:
                continue
            alias = f["alias"]
            value = values.get(alias) if alias in values else (row or {}).get(alias)
            if value in (None, "") or isinstance(value, dict | list):
                continue
            out.append((alias, f'SELECT id FROM {table} WHERE "{alias}" = ? LIMIT 2',  # case-insensitive
                        (str(value).strip(),)))
        return out

    def moves_modified(self, row: dict[str, Any], dnc_only: bool = False) -> bool:
        """Whether an update of ``row`` sets date_modified on the simulated version (versions sheet §5).

        5.1: always. 5.2+: not for a do-not-contact-only save (SkipModifiedInterface, PR #13994). 6.0+: only
        while it is empty (FormModel::setModifiedData guard, mautic#15418; 7.x *inferred*)."""
        version = self.app.version
        if dnc_only and not version.dnc_moves_modified:
            return False
        return version.modified_on_update or not row.get("date_modified")

    def find_duplicate(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        query = self._duplicate_query(payload)
        return None if query is None else self.store.one(*query)

    def _duplicate_query(self, payload: dict[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
        """The SQL and params that find the contact a create matches on its unique fields (None: nothing to
        match on)."""
        terms = self._duplicate_terms(payload)
        return self._query_for_terms(terms) if terms else None

    @staticmethod
    def _query_for_terms(terms: list[tuple[str, str]]) -> tuple[str, tuple[Any, ...]]:
        clauses = " OR ".join(f'"{alias}" = ?' for alias, _ in terms)
        return (f"SELECT * FROM leads WHERE {clauses} ORDER BY date_added DESC, id DESC LIMIT 1",
                tuple(v for _, v in terms))

    def _duplicate_terms(self, payload: dict[str, Any],
                         fields: list[dict[str, Any]] | None = None) -> list[tuple[str, str]]:
        """(unique field, value) pairs a create is matched on."""
        uniques = [f["alias"] for f in (fields or self.store.fields("lead")) if f["is_unique_identifier"]]
        terms = []
        for alias in uniques:
            v = payload.get(alias)
            if v not in (None, "") and not isinstance(v, dict | list):
                terms.append((alias, str(v).strip()))
        return terms

    def save_contact(self, payload: Any, mode: str, row: dict[str, Any] | None,
                     source: str = "api-single") -> tuple[dict[str, Any], int]:
        """Create or edit one contact. mode: new | patch | put. Returns (row, status).

        The whole de-duplicate-then-write runs under the store lock, so two concurrent creates with one email
        make one contact."""
        with self.store.lock:
            return self._save_contact(payload, mode, row, source)

    def _save_contact(self, payload: Any, mode: str, row: dict[str, Any] | None,
                      source: str) -> tuple[dict[str, Any], int]:
        if not isinstance(payload, dict):
            payload = {}
        status = 200
        if mode == "new":
            dup = self.find_duplicate(payload)
            if dup is not None:
                row, mode = dup, "patch"
            else:
                status = 201
        if row is not None and _zero_date(row):
            raise request_failed()  # the edit form cannot load the stored date (see _zero_date)
        overwrite = bool(payload.get("overwriteWithBlank")) or mode == "put"
        values, errors = self.apply_fields("lead", payload, row, mode, overwrite)
        if errors:
            raise validation_error(errors)
        # an edit giving this contact another contact's email is refused, never merged (real 5.1.0: 422)
        self.unique_violations("lead", values, row)
        app = self.app
        app.request_local.submitted = set(payload)
        now = db_ts(app.now())
        user = app.current_user()
        special = _special_columns(payload, mode, row)
        with self.store.lock:
            if row is None:
                # not anonymous once it has a name, email, company or social handle (Lead::isAnonymous); an
                # empty body makes an anonymous contact with dateIdentified null (recorded, 696)
                identified = any(values.get(a) for a in _IDENTIFYING)
                rec = {"date_added": now, "created_by": user["id"], "created_by_user": user["name"],
                       "is_published": 1, "points": 0, "date_identified": now if identified else None,
                       **values, **special}
                if app.version.modified_on_create:  # 6.0+ (versions sheet §5, PR #14433)
                    rec["date_modified"] = now
                lead_id = self.store.insert("leads", rec)
                if _has_nul(values):
                    raise request_failed()  # saved, then its audit log row fails (see _has_nul)
                if identified:
                    app.log_event(lead_id, "lead", source, "identified_contact",
                                  json.dumps({"object_description": user["name"]}))
                changes = field_changes(self.store.fields("lead"), None, {**values, "points": special.get("points")})
                if changes and changes[-1][0] == "points":  # a new contact's points change from int 0
                    changes[-1] = ("points", 0, changes[-1][2])
                app.audit("lead", "lead", lead_id, "create", change_details(
                    changes, extra={"dateIdentified": ["", php_datetime(app.now())]} if identified else None,
                    manipulator=f"lead:{source}", user_name=user["name"]))
                if identified:  # recorded (633): an "identified" row follows the "create" row
                    app.audit("lead", "lead", lead_id, "identified", {})
            else:
                lead_id = row["id"]
                rec = {**values, **special, "modified_by": user["id"], "modified_by_user": user["name"]}
                if self.moves_modified(row, dnc_only=not values and not special and "doNotContact" in payload):
                    rec["date_modified"] = now
                changes = field_changes(self.store.fields("lead"), row,
                                        {**values, **({"points": special["points"]} if "points" in special else {})})
                self.store.update("leads", lead_id, rec)
                if _has_nul(values):
                    raise request_failed()  # saved, then the audit log refuses the NUL (real 5.1.0)
                details = change_details(changes, manipulator=f"lead:{source}", user_name=user["name"])
                if "points" in details:  # the entity's own points change starts from the stored integer
                    details["points"] = [int(row.get("points") or 0), details["points"][1]]
                app.audit("lead", "lead", lead_id, "update", details)
            self._apply_tags(lead_id, payload.get("tags"))
            if values.get("company"):
                self._link_company_by_name(lead_id, values["company"], now)
            if isinstance(payload.get("companies"), list):
                self._set_companies(lead_id, payload["companies"], now)
            if "stage_id" in special and special["stage_id"] and (row is None or row.get("stage_id") != special["stage_id"]):
                st = app.generic.get_raw("stages", special["stage_id"])
                self.store.insert("lead_stages_change_log", {
                    "lead_id": lead_id, "stage_id": special["stage_id"], "event_name": (st or {}).get("name"),
                    "action_name": "Stage changed via API", "date_added": now})
            for d in payload.get("doNotContact") or []:
                if isinstance(d, dict):
                    if int(d.get("reason", 3) or 0) == 0:
                        self.remove_dnc(lead_id, d.get("channel", "email"))
                    else:
                        self.add_dnc(lead_id, d.get("channel", "email"), int(d.get("reason", 3)),
                                     d.get("comments") or "", d.get("channelId"))
            saved = self.store.one("SELECT * FROM leads WHERE id = ?", (lead_id,))
        assert saved is not None
        return saved, status

    # -- a batch's saves, prepared outside the store lock ------------------------------------------
    def duplicates_by_email(self, payloads: list[Any]) -> dict[str, dict[str, Any]] | None:
        """For a batch/new matched on email alone (the recorded default: email the one unique field): the
        contact each email finds, by its folded form (as ``MAUTIC_CI`` compares), from one query for the
        batch instead of one per item. None when another unique field takes part. What it finds is checked
        again under the lock, so this is a shortcut, never the answer."""
        uniques = [f["alias"] for f in self.store.fields("lead") if f["is_unique_identifier"]]
        if uniques != ["email"]:
            return None
        emails = sorted({term for p in payloads if isinstance(p, dict)
                         for alias, term in self._duplicate_terms(p) if alias == "email"})
        best: dict[str, dict[str, Any]] = {}
        for start in range(0, len(emails), 500):
            chunk = emails[start:start + 500]
            for r in self.store.query(f'SELECT * FROM leads WHERE "email" IN ({",".join("?" * len(chunk))})', chunk):
                if not isinstance(r["email"], str):
                    continue
                key = fold(r["email"])
                have = best.get(key)  # ORDER BY date_added DESC, id DESC: NULL dates last
                if have is None or _newest_first(r) > _newest_first(have):
                    best[key] = r
        return best

    def prepare_contact(self, payload: Any, mode: str, row: dict[str, Any] | None,
                        source: str, dups: dict[str, dict[str, Any]] | None = None) -> PreparedContact | None:
        """Everything of ``_save_contact`` that only reads, done before the batch takes the store lock: the
        de-duplication and unique look-ups (kept, to be run again under the lock), the column values, the
        audit and event rows (PHP-serialized). None when the item takes ``_save_contact`` itself under the lock:
        an error to answer, a NUL byte, tags, companies, a stage or do-not-contact entries."""
        if not isinstance(payload, dict) or payload.get("tags") or payload.get("doNotContact") or (
                "stage" in payload or isinstance(payload.get("companies"), list)):
            return None
        fields = self.store.fields("lead")
        checks: list[tuple[str, tuple[Any, ...], Any, str]] = []  # (SQL, params, what it found, kind)
        status = 200
        unmatched: set[tuple[str, str]] = set()  # (unique field, value) a create matched no contact on
        if mode == "new":
            terms = self._duplicate_terms(payload, fields)
            dup = None
            if terms:
                query = self._query_for_terms(terms)
                if dups is not None and len(terms) == 1 and terms[0][0] == "email":
                    dup = dups.get(fold(terms[0][1]))
                else:
                    dup = self.store.one(*query)
                if dup is None:  # under the lock: still no contact matches
                    checks.append((query[0].replace("SELECT *", "SELECT 1", 1), query[1], None, "none"))
                else:
                    checks.append((*query, dup, "one"))
            if dup is not None:
                row, mode = dup, "patch"
            else:
                status = 201
                unmatched.update(terms)
        elif row is not None:
            checks.append(("SELECT * FROM leads WHERE id = ?", (row["id"],), row, "one"))
        if row is not None and _zero_date(row):
            return None
        overwrite = bool(payload.get("overwriteWithBlank")) or mode == "put"
        values, errors = self.apply_fields("lead", payload, row, mode, overwrite)
        if errors or _has_nul(values) or values.get("company"):
            return None
        for alias, sql, params in self._unique_queries("lead", values, row):
            if (alias, params[0]) in unmatched:  # no contact holds it: the no-match check under the lock says so
                continue
            holders = self.store.query(sql, params)
            if self._held_by_another(holders, row):
                return None
            checks.append((sql, params, holders, "rows"))
        app = self.app
        moment = app.now()
        stamp = self._stamp
        if stamp is None or stamp[0] != moment:  # the clock moves by seconds: one conversion per second
            stamp = self._stamp = (moment, db_ts(moment), php_datetime(moment))
        now = stamp[1]
        user = app.current_user()
        special = _special_columns(payload, mode, row)  # no stage here: such an item is not prepared
        audits: list[tuple[str, str]] = []  # (action, PHP-serialized details)
        events: list[str] = []  # identified_contact properties
        if row is None:
            identified = any(values.get(a) for a in _IDENTIFYING)
            rec = {"date_added": now, "created_by": user["id"], "created_by_user": user["name"],
                   "is_published": 1, "points": 0, "date_identified": now if identified else None,
                   **values, **special}
            if app.version.modified_on_create:
                rec["date_modified"] = now
            if identified:
                events.append(json.dumps({"object_description": user["name"]}))
            changes = field_changes(fields, None, {**values, "points": special.get("points")})
            if changes and changes[-1][0] == "points":
                changes[-1] = ("points", 0, changes[-1][2])
            audits.append(("create", php_serialize(change_details(
                changes, extra={"dateIdentified": ["", stamp[2]]} if identified else None,
                manipulator=f"lead:{source}", user_name=user["name"]) or {})))
            if identified:
                audits.append(("identified", php_serialize({})))
        else:
            rec = {**values, **special, "modified_by": user["id"], "modified_by_user": user["name"]}
            if self.moves_modified(row, dnc_only=not values and not special and "doNotContact" in payload):
                rec["date_modified"] = now
            changes = field_changes(fields, row,
                                    {**values, **({"points": special["points"]} if "points" in special else {})})
            details = change_details(changes, manipulator=f"lead:{source}", user_name=user["name"])
            if "points" in details:
                details["points"] = [int(row.get("points") or 0), details["points"][1]]
            audits.append(("update", php_serialize(details or {})))
        return PreparedContact(payload, row, status, source, fields, checks, rec, now, user, audits, events,
                               set(payload))

    def write_prepared(self, p: PreparedContact, rows: PreparedRows) -> int | None:
        """Under the store lock: the prepared save's look-ups run again and, when each finds what it found
        before, its contact row is written (audit and event rows go to ``rows``, written in order by
        ``PreparedRows.flush``); its id, or None when the item must take ``_save_contact`` instead."""
        store = self.store
        for sql, params, found, kind in p.checks:
            if kind == "none":
                if store.conn.execute(sql, params).fetchone() is not None:
                    return None
            elif (store.one(sql, params) if kind == "one" else store.query(sql, params)) != found:
                return None
        if p.row is None:
            lead_id = store.conn.execute(_insert_sql(tuple(p.rec)), tuple(p.rec.values())).lastrowid or 0
            for props in p.events:
                rows.events.append((lead_id, "lead", p.source, "identified_contact", None, p.now, props))
        else:
            lead_id = p.row["id"]
            sets = ", ".join(f'"{c}" = ?' for c in p.rec)
            store.conn.execute(f"UPDATE leads SET {sets} WHERE id = ?", [*p.rec.values(), lead_id])
        for action, details in p.audits:
            rows.audits.append((p.user["id"] or 0, p.user["name"], "lead", "lead", lead_id, action, details, p.now,
                                "127.0.0.1"))
        return lead_id

    def _apply_tags(self, lead_id: int, tags: Any) -> None:
        if not tags:
            return
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",")]
        for t in tags:
            name = str(t.get("tag") if isinstance(t, dict) else t).strip()
            if not name:
                continue
            if name.startswith("-"):
                tag = self.app.generic.find_tag(name[1:])
                if tag:
                    self.store.execute("DELETE FROM lead_tags_xref WHERE lead_id = ? AND tag_id = ?", (lead_id, tag))
                continue
            tag_id = self.app.generic.find_tag(name) or self.app.generic.create_tag(name)
            self.store.execute("INSERT OR IGNORE INTO lead_tags_xref (lead_id, tag_id) VALUES (?, ?)",
                               (lead_id, tag_id))

    def _link_company_by_name(self, lead_id: int, name: str, now: str) -> None:
        comp = self.store.one("SELECT id FROM companies WHERE companyname = ? ORDER BY id LIMIT 1", (name,))
        if comp is None:
            user = self.app.current_user()
            cid = self.store.insert("companies", {"companyname": name, "date_added": now, "created_by": user["id"],
                                                  "created_by_user": user["name"], "social_cache": "a:0:{}"})
        else:
            cid = comp["id"]
        self.link_company(cid, lead_id, now, primary=True)

    def link_company(self, company_id: int, lead_id: int, now: str, primary: bool = True) -> None:
        if primary:
            self.store.execute("UPDATE companies_leads SET is_primary = 0 WHERE lead_id = ?", (lead_id,))
        self.store.execute("INSERT OR REPLACE INTO companies_leads (company_id, lead_id, date_added, is_primary) "
                           "VALUES (?, ?, ?, ?)", (company_id, lead_id, now, int(primary)))
        self.store.insert("lead_companies_change_log", {"lead_id": lead_id, "company_id": company_id,
                                                        "type": "API", "event_name": "added",
                                                        "action_name": "API", "date_added": now})

    def unlink_company(self, company_id: int, lead_id: int, now: str) -> None:
        self.store.execute("DELETE FROM companies_leads WHERE company_id = ? AND lead_id = ?", (company_id, lead_id))
        self.store.insert("lead_companies_change_log", {"lead_id": lead_id, "company_id": company_id,
                                                        "type": "API", "event_name": "removed",
                                                        "action_name": "API", "date_added": now})

    def _set_companies(self, lead_id: int, ids: list[Any], now: str) -> None:
        wanted = {i for i in (_int_or_none(x) for x in ids) if i}
        have = {r["company_id"] for r in self.store.query(
            "SELECT company_id FROM companies_leads WHERE lead_id = ?", (lead_id,))}
        for cid in have - wanted:
            self.unlink_company(cid, lead_id, now)
        for cid in wanted - have:
            if self.get_row("companies", cid):
                self.link_company(cid, lead_id, now, primary=False)

    def add_dnc(self, lead_id: int, channel: str, reason: int, comments: str, channel_id: Any = None) -> None:
        existing = self.store.one("SELECT id FROM lead_donotcontact WHERE lead_id = ? AND channel = ?",
                                  (lead_id, channel))
        now = db_ts(self.app.now())
        if existing:
            self.store.update("lead_donotcontact", existing["id"], {"reason": reason, "comments": comments})
        else:
            self.store.insert("lead_donotcontact", {"lead_id": lead_id, "date_added": now, "reason": reason,
                                                    "channel": channel, "channel_id": channel_id,
                                                    "comments": comments})

    def remove_dnc(self, lead_id: int, channel: str) -> bool:
        existing = self.store.one("SELECT id FROM lead_donotcontact WHERE lead_id = ? AND channel = ?",
                                  (lead_id, channel))
        if existing:
            self.store.execute("DELETE FROM lead_donotcontact WHERE id = ?", (existing["id"],))
        return existing is not None

    def delete_contact(self, row: dict[str, Any]) -> dict[str, Any]:
        body = self.serialize(row, "repo", deleted=True)
        with self.store.lock:
            delete_contact_rows(self, row)  # with the rows MariaDB's foreign keys delete or unlink
        return body

    def save_company(self, payload: Any, mode: str, row: dict[str, Any] | None,
                     dedupe: bool) -> tuple[dict[str, Any], int]:
        with self.store.lock:
            return self._save_company(payload, mode, row, dedupe)

    def _save_company(self, payload: Any, mode: str, row: dict[str, Any] | None,
                      dedupe: bool) -> tuple[dict[str, Any], int]:
        if not isinstance(payload, dict):
            payload = {}
        status = 200
        if mode == "new":
            name = payload.get("companyname")
            dup = None
            if dedupe and name and not payload.get("force"):
                dup = self.store.one("SELECT * FROM companies WHERE companyname = ? ORDER BY id LIMIT 1", (name,))
            if dup is not None:
                row, mode = dup, "patch"
            else:
                status = 201
        values, errors = self.apply_fields("company", payload, row, mode, True)
        if errors:
            raise validation_error(errors)
        # batch/new does not match by name, so an existing name is refused (real 5.1.0: 422), as on edits
        self.unique_violations("company", values, row)
        now = db_ts(self.app.now())
        user = self.app.current_user()
        with self.store.lock:
            if row is None:
                cid = self.store.insert("companies", {"date_added": now, "created_by": user["id"],
                                                      "created_by_user": user["name"], "social_cache": "a:0:{}",
                                                      **({"date_modified": now}
                                                         if self.app.version.modified_on_create else {}),
                                                      **values})
                self.app.audit("lead", "company", cid, "create", change_details(
                    field_changes(self.store.fields("company"), None, values), top_level=()))
            else:
                cid = row["id"]
                rec = {**values, "modified_by": user["id"], "modified_by_user": user["name"]}
                if self.moves_modified(row):
                    rec["date_modified"] = now
                self.store.update("companies", cid, rec)
                self.app.audit("lead", "company", cid, "update", change_details(
                    field_changes(self.store.fields("company"), row, values), top_level=()))
            saved = self.store.one("SELECT * FROM companies WHERE id = ?", (cid,))
        assert saved is not None
        return saved, status

    def delete_company(self, row: dict[str, Any]) -> dict[str, Any]:
        body = self.serialize_company(row, deleted=True)
        with self.store.lock:
            self.store.execute("DELETE FROM companies WHERE id = ?", (row["id"],))
            self.store.execute("DELETE FROM companies_leads WHERE company_id = ?", (row["id"],))
            self.app.audit("lead", "company", row["id"], "delete", {"name": row.get("companyname")})
        return body


