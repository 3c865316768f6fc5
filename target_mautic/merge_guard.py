"""The merge guard: refuse a contact PATCH that would make Mautic merge two contacts.

Why: Mautic answers a PATCH that sets a unique field (email) to another contact's value by merging that
other contact into the patched one and deleting it. Unless ``allow_merge``, such rows are refused (failed),
and so is a later edit of the same batch giving another contact a value an earlier edit just gave away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from target_mautic.rows import Row, as_int, field_value, norm

if TYPE_CHECKING:
    from target_mautic.connector import MauticConnector


class MergeGuard:
    """Checks a batch of edits against the current values and the holders of the new unique values."""

    def __init__(self, connector: MauticConnector, context: str, unique_fields: Sequence[str]) -> None:
        self.connector = connector
        self.context = context
        self.unique_fields = list(unique_fields)

    def check(
        self, edits: list[Row], refuse: Callable[[Row, str], None]
    ) -> tuple[list[Row], list[Row]]:
        """Returns (edits to send, rows whose id does not exist); ``refuse`` reports each refused row.

        The current values are read by id first (one call per 200 rows); only values that would change are
        then looked up among the other contacts, so a steady-state load pays one extra call per 200 rows.
        """
        unique = [f for f in self.unique_fields if any(r.payload.get(f) for r in edits)]
        if not unique:
            return edits, []
        carrying = [r for r in edits if any(r.payload.get(f) for f in unique)]
        current = self.connector.records_by_id(
            self.context, (r.mautic_id for r in carrying if r.mautic_id is not None)
        )
        absent: list[Row] = []
        changing: list[Row] = []
        for row in carrying:
            record = current.get(row.mautic_id or 0)
            if record is None:
                # an id that is gone cannot be merged into: it takes the create path (batch/new then
                # matches the holder of the email, which is what the record means)
                row.add_note(f"id {row.mautic_id} not found in Mautic")
                absent.append(row)
            elif any(
                row.payload.get(f) and norm(row.payload[f]) != norm(field_value(record, f) or "")
                for f in unique
            ):
                changing.append(row)
        holders: dict[str, dict[str, list[int]]] = {}
        for alias in unique:
            values = [r.payload.get(alias) for r in changing if r.payload.get(alias)]
            found = self.connector.lookup(self.context, alias, values) if values else {}
            holders[alias] = {k: [as_int(rec.get("id")) or 0 for rec in v] for k, v in found.items()}
        refused: set[int] = set()
        # a new value claimed by an earlier edit of this batch: that edit gives it to its contact first, so a
        # later edit of another contact would merge that one away (lanes keep rows sharing a value in order)
        claimed: dict[tuple[str, str], int | None] = {}
        for row in sorted(changing, key=lambda r: r.seq):
            for alias in unique:
                value = row.payload.get(alias)
                others = (
                    [i for i in holders[alias].get(norm(value), []) if i != row.mautic_id] if value else []
                )
                earlier = claimed.get((alias, norm(value))) if value else None
                if not others and earlier is not None and earlier != row.mautic_id:
                    others = [earlier]
                if others:
                    refuse(
                        row,
                        f"refused: {alias} {value!r} belongs to contact {others[0]}"
                        f"{' (set by an earlier record of this batch)' if others == [earlier] else ''}; "
                        f"this PATCH would merge contact {others[0]} into {row.mautic_id} and delete it "
                        "(set allow_merge: true to allow)",
                    )
                    refused.add(id(row))
                    break
            else:
                for alias in unique:
                    if row.payload.get(alias):
                        claimed.setdefault((alias, norm(row.payload[alias])), row.mautic_id)
        skip = refused | {id(r) for r in absent}
        return [r for r in edits if id(r) not in skip], absent
