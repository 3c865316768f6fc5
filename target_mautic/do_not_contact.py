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
        """Compare before write (also in a dry run): a contact on the channel's list with the same reason
        (an add), or not on it (a removal), is ``unchanged`` and not sent; Mautic would otherwise write the
        contact again (an add on the list moves its ``dateModified``, recorded on 5.1.0)."""
        current = self.current_contacts([row for row, _ in pairs])
        for row, _ in pairs:
            channel = str(row.record.get("channel") or "email")
            action = "remove" if row.deleted else "add"
            reason: int | None = None
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
            held = self.held(current.get(row.mautic_id or 0), channel)
            if held is not None and ((row.deleted and not held) or (not row.deleted and reason in held)):
                where = (f"not on the {channel} do-not-contact list" if row.deleted
                         else f"on the {channel} do-not-contact list with reason {reason} already")
                self.report(row, UNCHANGED, f"contact {row.mautic_id} is {where} (nothing sent)")
                continue
            if self.dry_run:
                self.report(row, WOULD_DELETE if row.deleted else WOULD_CREATE, "dry run")
                continue
            body: dict[str, Any] | None = None
            if not row.deleted:
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

    @staticmethod
    def held(record: Mapping[str, Any] | None, channel: str) -> set[int] | None:
        """The reasons the contact is on ``channel``'s do-not-contact list for (empty: not on it); None when
        its record was not read."""
        if record is None:
            return None
        return {int(d.get("reason") or 0) for d in record.get("doNotContact") or []
                if isinstance(d, Mapping) and str(d.get("channel") or "") == channel}
