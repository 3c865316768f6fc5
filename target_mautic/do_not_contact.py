"""do_not_contact: a contact on (or, for a deletion marker, off) a channel's do-not-contact list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from target_mautic.links import LinkSink
from target_mautic.results import CREATED, DELETED, UNCHANGED, WOULD_CREATE, WOULD_DELETE
from target_mautic.rows import Row

DNC_REASONS = {"unsubscribed": 1, "bounced": 2, "manual": 3, "1": 1, "2": 2, "3": 3}


class DoNotContactSink(LinkSink):
    """One POST contacts/{id}/dnc/{channel}/add|remove per record (channel defaults to email)."""

    canonical = "do_not_contact"
    columns = ("channel", "reason", "comments", "channel_id")
    key_columns = ("channel",)

    def write(self, pairs: list[tuple[Row, int]]) -> None:
        for row, _ in pairs:
            channel = str(row.record.get("channel") or "email")
            action = "remove" if row.deleted else "add"
            if self.dry_run:
                self.report(row, WOULD_DELETE if row.deleted else WOULD_CREATE, "dry run")
                continue
            body: dict[str, Any] | None = None
            if not row.deleted:
                reason_raw = row.record.get("reason")
                reason = DNC_REASONS.get(str(reason_raw).strip().lower()) if reason_raw is not None else 3
                if reason is None:
                    self.fail(
                        row,
                        f"property 'reason': {reason_raw!r} is not one of "
                        f"unsubscribed, bounced, manual (1-3)",
                    )
                    continue
                body = {"reason": reason}
                if row.record.get("comments"):
                    body["comments"] = str(row.record["comments"])
                if row.record.get("channel_id") is not None:
                    body["channelId"] = row.record["channel_id"]
            answer = self.call(
                row, "POST", f"contacts/{row.mautic_id}/dnc/{channel}/{action}", json_body=body
            )
            if answer is None:
                continue
            if row.deleted and isinstance(answer, Mapping) and answer.get("recordFound") is False:
                self.report(row, UNCHANGED, f"contact was not on the {channel} do-not-contact list")
            else:
                self.report(row, DELETED if row.deleted else CREATED)
