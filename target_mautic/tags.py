"""contact_tags: a tag on (or, for a deletion marker, off) a contact."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from target_mautic.compare import tag_names
from target_mautic.links import LinkSink
from target_mautic.mirror import TAGS
from target_mautic.results import CREATED, DELETED, UNCHANGED, WOULD_CREATE, WOULD_DELETE
from target_mautic.rows import Row


class ContactTagsSink(LinkSink):
    """One PATCH item per contact in batch/edit (``-tag`` removes); its rows share the outcome."""

    canonical = "contact_tags"
    columns = ("tag",)
    required_any = ("tag",)
    key_columns = ("tag",)
    mirror_link = TAGS

    def mirror_target(self, row: Row, target_id: int) -> Any:
        """Tags are one per name, case-insensitively (Mautic's tag table): the snapshot keys them so."""
        return str(row.record.get("tag") or "").strip().lstrip("-").casefold() or None

    def drop_held(self, per_contact: dict[int, list[Row]]) -> dict[int, list[Row]]:
        """Compare before write (also in a dry run): a tag the contact carries already (or a removal of one
        it does not carry) is ``unchanged`` and not sent; Mautic's tags are one per name, case-insensitively.
        A contact whose current record was not read keeps every row."""
        current = self.current_contacts([r for rows in per_contact.values() for r in rows])
        if not current:
            return per_contact
        kept: dict[int, list[Row]] = {}
        for cid, rows in per_contact.items():
            record = current.get(cid)
            if record is None:
                kept[cid] = rows
                continue
            held = tag_names(record.get("tags"))
            for row in rows:
                tag = str(row.record["tag"]).strip().lstrip("-")
                if (tag.casefold() in held) != row.deleted:
                    what = "does not carry" if row.deleted else "carries"
                    self.report(row, UNCHANGED, f"contact {cid} {what} tag {tag!r} already (nothing sent)")
                else:
                    kept.setdefault(cid, []).append(row)
        return kept

    def write(self, pairs: list[tuple[Row, int]]) -> None:
        per_contact: dict[int, list[Row]] = defaultdict(list)
        for row, _ in pairs:
            tag = str(row.record.get("tag") or "").strip()
            if not tag:
                self.fail(row, "empty 'tag'")
                continue
            per_contact[row.mautic_id or 0].append(row)
        per_contact = self.drop_held(per_contact)
        if self.dry_run:
            for rows in per_contact.values():
                for row in rows:
                    self.report(row, WOULD_DELETE if row.deleted else WOULD_CREATE, "dry run")
            return
        items: list[tuple[dict[str, Any], list[Row]]] = []
        for cid, rows in per_contact.items():
            tags = []
            for row in rows:
                tag = str(row.record["tag"]).strip().lstrip("-")
                tags.append(f"-{tag}" if row.deleted else tag)
            items.append(({"id": cid, "tags": tags}, rows))
        # one PATCH item per contact; the rows of that contact share its outcome
        todo = [
            (payload, Row(seq=0, record={}, deleted=False, key={}, mautic_id=rows[0].mautic_id))
            for payload, rows in items
        ]
        groups = {id(r): rows for (_, r), (_, rows) in zip(todo, items, strict=True)}
        for carrier, result, error in self.connector.batches(
            todo, lambda batch: self.connector.batch_edit("contacts", batch)
        ):
            for row in groups[id(carrier)]:
                if error is not None:
                    self.fail(row, error)
                elif result is not None and result.status in (200, 201):
                    self.report(row, DELETED if row.deleted else CREATED)
                else:
                    status = result.status if result else "?"
                    self.fail(row, f"HTTP {status}: {(result.error if result else None) or 'rejected'}")
