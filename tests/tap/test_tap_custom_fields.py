"""Custom fields end to end: a typed top-level property per alias, strings converted, bad values null."""

from __future__ import annotations

import logging

from mautic_api.client import MauticClient
from tap_mautic.tap import TapMautic
from tests.support.config import basic_config
from tests.support.tap import make_tap, sync

# alias -> (Mautic type, expected JSON-schema type, format)
EXPECTED_TYPES = {
    "favorite_color": ("text", ["string", "null"], None),
    "bio": ("textarea", ["string", "null"], None),
    "x_html": ("html", ["string", "null"], None),
    "email": ("email", ["string", "null"], None),
    "office_phone": ("tel", ["string", "null"], None),
    "blog_url": ("url", ["string", "null"], None),
    "seats": ("number", ["integer", "null"], None),
    "shoe_size": ("number", ["number", "null"], None),
    "is_vip": ("boolean", ["boolean", "null"], None),
    "birthday_date": ("date", ["string", "null"], "date"),
    "last_purchase_at": ("datetime", ["string", "null"], "date-time"),
    "x_time": ("time", ["string", "null"], None),
    "plan": ("select", ["string", "null"], None),
    "interests": ("multiselect", ["array", "null"], None),
    "salutation": ("lookup", ["string", "null"], None),
    "home_country": ("country", ["string", "null"], None),
    "state": ("region", ["string", "null"], None),
    "spoken_locale": ("locale", ["string", "null"], None),
    "home_timezone": ("timezone", ["string", "null"], None),
}


def test_every_field_type_is_typed_and_converted(sim, caplog):
    cfg = basic_config(sim)
    client = MauticClient(cfg)
    # Field types the simulator does not seed are created through the API, as a user would.
    for kind in ("time", "html"):
        client.create("contactFields", {"label": f"X {kind}", "alias": f"x_{kind}", "type": kind})
    fields = {f["alias"]: f["type"] for f in client.fields("contact")}
    expected_kinds = {alias: kind for alias, (kind, _, _) in EXPECTED_TYPES.items()}
    assert {alias: fields.get(alias) for alias in EXPECTED_TYPES} == expected_kinds

    _, typed = client.create("contacts", {
        "firstname": "Typed", "email": "typed@example.com", "shoe_size": "39.5", "seats": "3",
        "is_vip": "yes",
        "birthday_date": "1990-05-17", "last_purchase_at": "2024-03-01 12:34:56", "plan": "pro",
        "interests": ["sports", "tech"], "x_time": "13:45:00", "x_html": "<b>hi</b>", "bio": "two\nlines",
    })
    broken_id = 1
    sim.execute("UPDATE leads SET birthday_date = '0000-00-00', seats = 'abc', "
                "last_purchase_at = '0000-00-00 00:00:00', is_vip = 7 WHERE id = ?", (broken_id,))

    with caplog.at_level(logging.WARNING):
        result = sync(cfg, streams=["contacts"])
    schema = result.schemas["contacts"]["properties"]
    for alias, (_, types, fmt) in EXPECTED_TYPES.items():
        assert schema[alias]["type"] == types, alias
        assert schema[alias].get("format") == fmt, alias
    assert schema["interests"]["items"] == {"type": "string"}
    assert "fields" not in schema

    records = {rec["id"]: rec for rec in result.records["contacts"]}
    rec = records[typed["id"]]
    assert "fields" not in rec
    assert rec["shoe_size"] == 39.5 and rec["seats"] == 3 and isinstance(rec["seats"], int)
    assert rec["is_vip"] is True
    assert rec["birthday_date"] == "1990-05-17"
    assert rec["last_purchase_at"] == "2024-03-01T12:34:00+00:00"  # Mautic drops the seconds
    assert rec["interests"] == ["sports", "tech"]
    assert rec["plan"] == "pro" and rec["x_time"] == "13:45:00" and rec["x_html"] == "<b>hi</b>"
    assert rec["firstname"] == "Typed" and rec["email"] == "typed@example.com"

    broken = records[broken_id]
    assert broken["birthday_date"] is None and broken["seats"] is None
    assert broken["last_purchase_at"] is None and broken["is_vip"] is None
    warned = {alias for alias in ("birthday_date", "seats", "last_purchase_at", "is_vip")
              if any(f"'{alias}'" in r.getMessage() and f"record id {broken_id}" in r.getMessage()
                     for r in caplog.records)}
    assert warned == {"birthday_date", "seats", "last_purchase_at", "is_vip"}


def test_new_custom_field_appears_on_next_discovery(sim):
    cfg = basic_config(sim)
    first = sync(cfg, streams=["contacts"])
    assert "loyalty_tier" not in first.schemas["contacts"]["properties"]
    MauticClient(cfg).create("contactFields",
                             {"label": "Loyalty tier", "alias": "loyalty_tier", "type": "text"})
    second = sync(cfg, streams=["contacts"])
    assert second.schemas["contacts"]["properties"]["loyalty_tier"]["type"] == ["string", "null"]
    assert all("loyalty_tier" in rec for rec in second.records["contacts"])


def test_company_fields_are_flattened_and_typed(sim):
    result = sync(basic_config(sim), streams=["companies"])
    schema = result.schemas["companies"]["properties"]
    assert schema["companyannual_revenue"]["type"] == ["number", "null"]
    assert schema["companynumber_of_employees"]["type"] == ["integer", "null"]
    names = {r["id"]: r["companyname"] for r in sim.query("SELECT id, companyname FROM companies")}
    assert {rec["id"]: rec["companyname"] for rec in result.records["companies"]} == names


def test_a_field_created_after_discovery_is_not_emitted(sim):
    cfg = basic_config(sim)
    tap = make_tap(cfg, streams=["contacts"])  # discovered before the field exists
    MauticClient(cfg).create("contactFields",
                             {"label": "Loyalty tier", "alias": "loyalty_tier", "type": "text"})
    result = sync(cfg, tap=tap)
    assert result.records["contacts"]
    assert "loyalty_tier" not in result.schemas["contacts"]["properties"]
    assert not [rec["id"] for rec in result.records["contacts"] if "loyalty_tier" in rec]


def test_properties_left_out_of_the_catalog_are_not_emitted(sim, caplog):
    """A catalog narrower than discovery: a top-level property (``points``) and a custom field
    (``favorite_color``) removed from its schema are in every answer, and in no record."""
    cfg = basic_config(sim)
    catalog = make_tap(cfg).catalog_dict
    removed = ("points", "favorite_color")
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] == "contacts"
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = chosen
        if chosen:
            for name in removed:
                del entry["schema"]["properties"][name]
            entry["metadata"] = [m for m in entry["metadata"] if not set(m["breadcrumb"][1:]) & set(removed)]
    tap = TapMautic(config=cfg, catalog=catalog, parse_env_config=False)
    with caplog.at_level(logging.WARNING):
        result = sync(cfg, tap=tap)
    records = result.records["contacts"]
    assert len(records) == sim.query("SELECT COUNT(*) AS n FROM leads")[0]["n"]
    assert not [rec["id"] for rec in records if set(removed) & set(rec)]
    assert all("email" in rec and "dateAdded" in rec for rec in records)
    warned = [r.getMessage() for r in caplog.records if "not in the schema" in r.getMessage()]
    assert len(warned) == 1 and all(name in warned[0] for name in removed)
