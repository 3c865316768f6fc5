"""The base of the link streams: one record = one link between a contact and something (a segment, a campaign,
a company, a channel's do-not-contact list, a note, a tag).

Why a base class: every link stream names its contact the same way (``contact_id`` or ``email``, or the tap's
``lead`` object) and most name their target by id or by an alternative column; each subclass declares its
columns and implements :meth:`LinkSink.write` (one class per link type, see ``target_mautic.sinks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mautic_api import normalize
from mautic_api.errors import MauticError, NotFoundError
from target_mautic.base import MauticSink
from target_mautic.mirror import MirroredLinks
from target_mautic.results import CREATED, DELETED, UNCHANGED, WOULD_CREATE, WOULD_DELETE
from target_mautic.rows import Row, StreamSetupError, as_int, norm, reraise_fatal

CONTACT_COLUMNS = ("contact_id", "email")
# tap-mautic's notes name their contact as an object ``lead: {id, ...}``; read as contact_id so that the
# tap's output loads as it is.
TAP_CONTACT_OBJECT = "lead"


class LinkSink(MirroredLinks, MauticSink):
    """Resolves each row's contact (and target), then hands (row, target id) pairs to :meth:`write`; on a
    mirror stream, notes each link of the snapshot first (:mod:`target_mautic.mirror`)."""

    target_id: str | None = None  # column holding the target's id (segment_id, campaign_id, company_id)
    target_alt: str | None = None  # alternative column (segment_alias, companyname)
    target_alt_what: str = ""  # how a failure names the target by ``target_alt`` ("segment with alias")
    columns: tuple[str, ...] = ()  # further columns the record may carry
    required_any: tuple[str, ...] = ()  # at least one of these columns must be in the schema
    key_columns: tuple[str, ...] = ()  # further columns that name the record in its result line

    @property
    def target_columns(self) -> list[str]:
        return [c for c in (self.target_id, self.target_alt) if c]

    def setup(self) -> None:
        super().setup()
        props = set(self.schema.get("properties", {}))
        contact_columns = {*CONTACT_COLUMNS, TAP_CONTACT_OBJECT}
        allowed = contact_columns | set(self.columns) | set(self.target_columns)
        if not props & contact_columns:
            raise StreamSetupError(
                f"Stream '{self.stream_name}' ({self.canonical}) needs a 'contact_id' or 'email' property "
                "to name the contact."
            )
        targets = self.target_columns
        if targets and not props & set(targets):
            raise StreamSetupError(
                f"Stream '{self.stream_name}' ({self.canonical}) needs a "
                f"{' or '.join(repr(t) for t in targets)} property."
            )
        if self.required_any and not props & set(self.required_any):
            raise StreamSetupError(
                f"Stream '{self.stream_name}' ({self.canonical}) needs a "
                f"{' or '.join(repr(t) for t in self.required_any)} property."
            )
        self.check_unknown(
            sorted(p for p in props if p not in allowed and not p.startswith("_sdc_") and p not in ("id",))
        )

    def preprocess_record(self, record: dict, context: dict) -> dict:
        lead = record.pop(TAP_CONTACT_OBJECT, None)
        if record.get("contact_id") is None and isinstance(lead, Mapping) and lead.get("id") is not None:
            record["contact_id"] = lead["id"]
        return super().preprocess_record(record, context)

    def key_of(self, record: Mapping[str, Any]) -> dict[str, Any]:
        names = [*CONTACT_COLUMNS, *self.target_columns, *self.key_columns]
        return {n: record[n] for n in names if record.get(n) is not None}

    # -- resolution ------------------------------------------------------------------------------------
    def resolve_contacts(self, rows: list[Row]) -> list[Row]:
        """Sets row.mautic_id to the contact id; fails rows whose contact cannot be found."""
        emails = [r.record.get("email") for r in rows if as_int(r.record.get("contact_id")) is None]
        # the email as given and as Mautic stores it once written through its API (``ünï@x`` as ``n@x``:
        # mautic_api.normalize), in one look-up: a contacts stream of the same run may have just cleaned it
        wanted = list(dict.fromkeys(v for e in emails if isinstance(e, str) and e
                                    for v in (e, normalize.email(e)) if v))
        found = self.connector.lookup("contacts", "email", wanted) if wanted else {}
        ok = []
        for row in rows:
            cid = as_int(row.record.get("contact_id"))
            if cid is None:
                email = row.record.get("email")
                if not email:
                    self.fail(row, "no 'contact_id' or 'email' to name the contact")
                    continue
                matches = found.get(norm(email)) or found.get(norm(normalize.email(str(email))), [])
                if not matches:
                    self.fail(row, f"no contact with email {email!r} in Mautic")
                    continue
                cid = as_int(matches[0].get("id"))
            row.mautic_id = cid
            ok.append(row)
        return ok

    def targets_by_alt(self, values: list[Any]) -> dict[str, int]:
        """Normalised ``target_alt`` value -> target id (only link types with a ``target_alt``)."""
        raise NotImplementedError

    def resolve_targets(self, rows: list[Row]) -> list[tuple[Row, int]]:
        """(row, target id) for link streams that point at a segment, campaign or company."""
        if self.target_id is None:
            return [(row, 0) for row in rows]
        alt_values = [
            r.record.get(self.target_alt)
            for r in rows
            if self.target_alt and r.record.get(self.target_id) is None
        ]
        by_alt = self.targets_by_alt([v for v in alt_values if v]) if any(alt_values) else {}
        out = []
        for row in rows:
            tid = as_int(row.record.get(self.target_id))
            if tid is None:
                alt = row.record.get(self.target_alt) if self.target_alt else None
                if alt is None:
                    self.fail(
                        row,
                        f"no '{self.target_id}'" + (f" or '{self.target_alt}'" if self.target_alt else ""),
                    )
                    continue
                tid = by_alt.get(norm(alt))
                if tid is None:
                    self.fail(row, f"no {self.target_alt_what} {alt!r} in Mautic")
                    continue
            out.append((row, tid))
        return out

    # -- main ----------------------------------------------------------------------------------------
    def process_batch(self, context: dict) -> None:
        rows = self.resolve_contacts(self.rows(context))
        pairs = self.resolve_targets(rows)
        for row, tid in pairs:
            if not row.deleted:
                self.note_member(self.mirror_target(row, tid), row.mautic_id)
        self.write(pairs)

    def drop_linked(self, target_id: int, rows: list[Row]) -> list[Row] | None:
        """Compare before write on a mirror stream: contacts the target holds already (its members, read once
        for the mirror) are ``unchanged`` and not sent; the rest are returned. None when the stream is not
        mirrored, compare is off or the members cannot be read (the caller sends every row)."""
        if not self.mirrored or self.settings.get("compare_before_write") is False:
            return None
        try:
            found = self.current_members(target_id)
        except MauticError as exc:
            reraise_fatal(exc)
            return None  # the read is an optimisation: without it, every row is sent (the mirror reads again)
        if found is None:
            return None
        keep = []
        for row in rows:
            if row.mautic_id in found[0]:
                self.report(row, UNCHANGED, f"contact {row.mautic_id} is linked to {target_id} already "
                                            "(nothing sent)")
            else:
                keep.append(row)
        return keep

    def current_contacts(self, rows: list[Row]) -> dict[int, dict[str, Any]]:
        """Compare before write of tags and do-not-contact: the full records of the rows' contacts (their
        ``tags`` and ``doNotContact``; one read per 200 contacts). Empty when compare is off or the read
        failed: every row is then sent (the read is an optimisation)."""
        ids = [r.mautic_id for r in rows if r.mautic_id is not None]
        if self.settings.get("compare_before_write") is False or not ids:
            return {}
        try:
            return self.connector.records_by_id("contacts", ids, minimal=False)
        except MauticError as exc:
            reraise_fatal(exc)
            self.logger.warning("Stream '%s': could not read the contacts' current values (%s); every row is "
                                "sent.", self.stream_name, exc)
            return {}

    def mirror_target(self, row: Row, target_id: int) -> Any:
        """What a mirror snapshot names the row's target by: its id (a tag: its name)."""
        return target_id

    def write(self, pairs: list[tuple[Row, int]]) -> None:
        """Write the links of resolved rows, reporting one outcome per row."""
        raise NotImplementedError

    def call(self, row: Row, method: str, path: str, *, json_body: Any = None) -> Any:
        """One link call; reports failure and returns None on error."""
        try:
            return self.connector.request(method, path, json=json_body)
        except NotFoundError as exc:
            self.fail(row, f"not found: {exc}")
        except MauticError as exc:
            reraise_fatal(exc)
            self.fail(row, str(exc))
        return None

    def link_one_by_one(self, pairs: list[tuple[Row, int]], base: str) -> None:
        """POST {base}/{target}/contact/{contact}/add|remove for each row."""
        for row, tid in pairs:
            action = "remove" if row.deleted else "add"
            if self.dry_run:
                self.report(row, WOULD_DELETE if row.deleted else WOULD_CREATE, "dry run")
                continue
            answer = self.call(row, "POST", f"{base}/{tid}/contact/{row.mautic_id}/{action}")
            if answer is None:
                continue
            if isinstance(answer, Mapping) and not answer.get("success", True):
                self.fail(row, f"Mautic answered success=false for {action}")
            else:
                self.report(row, DELETED if row.deleted else CREATED, mautic_id=row.mautic_id)
