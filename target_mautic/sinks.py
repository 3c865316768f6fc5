"""The sinks by the Mautic target they load: one class per target, no string dispatch.

Layout: :mod:`~target_mautic.base` (rows and results), :mod:`~target_mautic.upserts` (contacts, companies),
:mod:`~target_mautic.links` (the link base) with :mod:`~target_mautic.memberships`,
:mod:`~target_mautic.do_not_contact`, :mod:`~target_mautic.notes` and :mod:`~target_mautic.tags`; all I/O in
:mod:`~target_mautic.connector`.
"""

from __future__ import annotations

from target_mautic.base import MauticSink
from target_mautic.do_not_contact import DoNotContactSink
from target_mautic.links import LinkSink
from target_mautic.memberships import CampaignMembershipsSink, CompanyMembershipsSink, SegmentMembershipsSink
from target_mautic.notes import NotesSink
from target_mautic.rows import StreamSetupError
from target_mautic.tags import ContactTagsSink
from target_mautic.upserts import CompaniesSink, ContactsSink, UpsertSink

SINK_CLASSES: dict[str, type[MauticSink]] = {
    sink.canonical: sink
    for sink in (
        ContactsSink,
        CompaniesSink,
        SegmentMembershipsSink,
        CampaignMembershipsSink,
        CompanyMembershipsSink,
        DoNotContactSink,
        NotesSink,
        ContactTagsSink,
    )
}

__all__ = [
    "SINK_CLASSES",
    "CompaniesSink",
    "ContactsSink",
    "LinkSink",
    "MauticSink",
    "StreamSetupError",
    "UpsertSink",
]
