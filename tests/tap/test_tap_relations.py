"""A contact's relations (owner, stage, tags, UTM tags, DNC entries, IP addresses) come out typed."""

from __future__ import annotations

import jsonschema

from mautic_api.client import MauticClient
from mautic_sim import Simulator
from tests.support.config import basic_config
from tests.support.tap import make_tap, sync


def test_contact_relations_are_typed(sim) -> None:
    config = basic_config(sim)
    client = MauticClient(config)
    status, contact = client.create(
        "contacts",
        {"email": "rel.test@example.org", "tags": ["vip"], "owner": 1, "stage": 1},
    )
    assert status == 201
    cid = contact["id"]
    client.request("POST", f"contacts/{cid}/dnc/email/add", json={"reason": 3, "comments": "asked by phone"})
    client.request("POST", f"contacts/{cid}/utm/add", json={"utm_source": "google", "utm_campaign": "spring"})

    result = sync(config, streams=["contacts"])
    schema = result.schemas["contacts"]
    record = next(r for r in result.records["contacts"] if r["id"] == cid)
    jsonschema.validate(record, schema)

    assert isinstance(record["owner"]["id"], int)
    assert isinstance(record["stage"]["id"], int) and record["stage"]["name"]
    assert [t["tag"] for t in record["tags"]] == ["vip"] and isinstance(record["tags"][0]["id"], int)
    dnc = record["doNotContact"]
    assert dnc[0]["channel"] == "email" and dnc[0]["reason"] == 3 and isinstance(dnc[0]["id"], int)
    assert record["utmtags"][0]["utmSource"] == "google"
    for name in ("owner", "stage", "tags", "utmtags", "doNotContact", "ipAddresses"):
        assert "object" in str(schema["properties"][name]), name  # typed, not "any JSON"


def test_ip_addresses_keyed_by_ip_become_a_list(session_sim: Simulator) -> None:
    """Older Mautic sent ``ipAddresses`` keyed by IP (5.1 sends a list, recorded): the tap emits a list."""
    stream = make_tap(basic_config(session_sim)).streams["contacts"]
    details = {"city": "Paris", "country": "France"}
    row = {"id": 1, "fields": {"all": {}}, "ipAddresses": {"203.0.113.5": {"ipDetails": details}}}
    record = stream.post_process(row)
    assert record is not None
    assert record["ipAddresses"] == [{"ipAddress": "203.0.113.5", "ipDetails": details}]
    jsonschema.validate(record["ipAddresses"], stream.schema["properties"]["ipAddresses"])
    empty = stream.post_process({"id": 2, "fields": {"all": {}}, "ipAddresses": []})
    assert empty is not None and empty["ipAddresses"] == []
