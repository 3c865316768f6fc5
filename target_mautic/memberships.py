"""Membership links: a contact in a segment, a campaign or a company.

Why apart from the other links: all three are one POST per link (``{base}/{id}/contact/{contact}/add``),
except adding to a segment, which goes in one call per batch where the instance has the route.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from mautic_api.errors import MauticError
from target_mautic.links import LinkSink
from target_mautic.mirror import CAMPAIGNS, COMPANIES, SEGMENTS
from target_mautic.results import CREATED, UNCHANGED, WOULD_CREATE
from target_mautic.rows import Row, as_int, reraise_fatal


class MembershipSink(LinkSink):
    """A contact added to (or, for a deletion marker, removed from) the target named by ``target_id``."""

    link_path: str = ""  # the API path of the target's context (segments, campaigns, companies)

    def write(self, pairs: list[tuple[Row, int]]) -> None:
        """One call per link; links Mautic holds are ``unchanged``, not sent (:meth:`drop_members`)."""
        adds: dict[int, list[Row]] = defaultdict(list)
        for row, tid in pairs:
            if not row.deleted:
                adds[tid].append(row)
        keep: set[int] = set()
        for tid, rows in adds.items():
            keep.update(id(row) for row in self.drop_members(tid, rows))
        self.link_one_by_one([(r, t) for r, t in pairs if r.deleted or id(r) in keep], self.link_path)

    def drop_members(self, tid: int, rows: list[Row]) -> list[Row]:
        """Compare before write (also in a dry run): contacts the target holds already are ``unchanged`` and
        not sent; the rest are returned. A mirror stream compares with the members it reads once per run;
        any other reads this batch's contacts (``MirrorLink.which``: one read per target and 200 contacts)."""
        if self.settings.get("compare_before_write") is False or not rows:
            return rows
        mirrored = self.drop_linked(tid, rows)
        if mirrored is not None:
            return mirrored
        link = self.mirror_link
        if link is None or link.which is None:
            return rows
        try:
            linked = link.which(self.connector, tid, [r.mautic_id for r in rows if r.mautic_id is not None])
        except MauticError as exc:
            reraise_fatal(exc)
            self.logger.warning("Stream '%s': could not read which contacts %s %s holds (%s); every row is "
                                "sent.", self.stream_name, link.noun, tid, exc)
            return rows  # the read is an optimisation: without it, every row is sent
        if linked is None:
            return rows
        keep = []
        for row in rows:
            if row.mautic_id in linked:
                self.report(row, UNCHANGED, f"contact {row.mautic_id} is in {link.noun} {tid} already "
                                            "(nothing sent)")
            else:
                keep.append(row)
        return keep


class SegmentMembershipsSink(MembershipSink):
    """segment_memberships: adds go in one call per segment and batch (removals one by one)."""

    canonical = "segment_memberships"
    target_id = "segment_id"
    target_alt = "segment_alias"
    target_alt_what = "segment with alias"
    link_path = "segments"
    mirror_link = SEGMENTS

    def targets_by_alt(self, values: list[Any]) -> dict[str, int]:
        return self.connector.segment_aliases()

    def write(self, pairs: list[tuple[Row, int]]) -> None:
        adds: dict[int, list[Row]] = defaultdict(list)
        removes: list[tuple[Row, int]] = []
        for row, tid in pairs:
            if row.deleted:
                removes.append((row, tid))
            else:
                adds[tid].append(row)
        self.link_one_by_one(removes, self.link_path)
        for tid, rows in adds.items():
            rows = self.drop_members(tid, rows)
            if self.dry_run:
                for row in rows:
                    self.report(row, WOULD_CREATE, "dry run")
                continue
            for start in range(0, len(rows), self.batch_size):
                self.add_chunk(tid, rows[start : start + self.batch_size])

    def add_chunk(self, tid: int, chunk: list[Row]) -> None:
        ids = sorted({r.mautic_id for r in chunk if r.mautic_id is not None})
        try:
            answer = self.connector.add_to_segment(tid, ids)
        except MauticError as exc:
            reraise_fatal(exc)
            for row in chunk:
                self.fail(row, str(exc))
            return
        if answer is None:  # an instance without the batch route: one call per contact instead
            self.link_one_by_one([(row, tid) for row in chunk], self.link_path)
            return
        details = answer.get("details", {}) if isinstance(answer, Mapping) else {}
        for row in chunk:
            item = (
                details.get(str(row.mautic_id), details.get(row.mautic_id))
                if isinstance(details, Mapping)
                else None
            )
            if isinstance(item, Mapping) and not item.get("success", True):
                self.fail(row, f"Mautic could not add contact {row.mautic_id} to segment {tid}")
            else:
                self.report(row, CREATED)


class CampaignMembershipsSink(MembershipSink):
    """campaign_memberships: by ``campaign_id`` only."""

    canonical = "campaign_memberships"
    target_id = "campaign_id"
    link_path = "campaigns"
    mirror_link = CAMPAIGNS


class CompanyMembershipsSink(MembershipSink):
    """company_memberships: by ``company_id``, or by ``companyname`` looked up among the companies."""

    canonical = "company_memberships"
    target_id = "company_id"
    target_alt = "companyname"
    target_alt_what = "company named"
    link_path = "companies"
    mirror_link = COMPANIES

    def targets_by_alt(self, values: list[Any]) -> dict[str, int]:
        found = self.connector.lookup("companies", "companyname", values)
        return {k: as_int(v[0].get("id")) or 0 for k, v in found.items()}
