"""Stats tables whose rows Mautic changes or deletes in place are re-read, so the warehouse follows them."""

from __future__ import annotations

from mautic_api.client import MauticClient
from tests.support.config import basic_config
from tests.support.tap import make_tap, sync


def test_changed_and_removed_do_not_contact_rows_reach_the_next_sync(sim) -> None:
    config = basic_config(sim)
    client = MauticClient(config)
    stream = make_tap(config).streams["lead_donotcontact"]
    assert stream.replication_method == "FULL_TABLE"

    client.request("POST", "contacts/3/dnc/email/add", json={"reason": 3, "comments": "manual"})
    client.request("POST", "contacts/4/dnc/email/add", json={"reason": 3, "comments": "manual"})
    first = sync(config, streams=["lead_donotcontact"])
    rows = {r["lead_id"]: r for r in first.records["lead_donotcontact"]}
    assert rows[3]["reason"] == 3 and 4 in rows

    # a new reason updates the row in place; a removal deletes it
    client.request("POST", "contacts/3/dnc/email/add", json={"reason": 2, "comments": "bounced"})
    client.request("POST", "contacts/4/dnc/email/remove")
    second = sync(config, streams=["lead_donotcontact"], state=first.last_state)
    rows = {r["lead_id"]: r for r in second.records["lead_donotcontact"] if r.get("channel") == "email"}
    assert rows[3]["reason"] == 2 and rows[3]["comments"] == "bounced"
    assert 4 not in rows
