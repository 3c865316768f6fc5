"""Seeded data (issue 3 point 7): deterministic, every field type, anonymous and never-modified contacts,
owners, stages, tags, memberships and rows in every stats table."""

from __future__ import annotations

import requests

from mautic_sim import Simulator
from mautic_sim.util import RECORDED

TYPES = {"text", "textarea", "number", "boolean", "date", "datetime", "email", "url", "tel", "select", "multiselect",
         "country", "locale", "timezone", "lookup"}


def test_seed_is_deterministic_and_varied() -> None:
    a, b = Simulator(contacts=2000, seed=3), Simulator(contacts=2000, seed=3)
    try:
        cols = "id, email, firstname, date_modified IS NULL AS never, owner_id, stage_id, points, is_vip, plan"  # dates follow the clock
        assert a.query(f"SELECT {cols} FROM leads ORDER BY id") == b.query(f"SELECT {cols} FROM leads ORDER BY id")
        n = a.query("SELECT COUNT(*) AS n FROM leads")[0]["n"]
        assert n == 2000
        anon = a.query("SELECT COUNT(*) AS n FROM leads WHERE date_identified IS NULL AND email IS NULL")[0]["n"]
        never = a.query("SELECT COUNT(*) AS n FROM leads WHERE date_modified IS NULL")[0]["n"]
        assert 0.05 * n < anon < 0.2 * n and 0.2 * n < never < 0.5 * n
        assert a.query("SELECT COUNT(DISTINCT owner_id) AS n FROM leads")[0]["n"] >= 3
        assert a.query("SELECT COUNT(DISTINCT stage_id) AS n FROM leads")[0]["n"] >= 3
        custom = {r["type"] for r in a.query("SELECT type FROM lead_fields WHERE object = 'lead' AND id > 43")}
        assert custom == TYPES
        assert a.query("SELECT COUNT(*) AS n FROM lead_fields WHERE type = 'number' AND properties LIKE '%scale%'")[0]["n"] >= 2
        for table in RECORDED["stats_tables"]:
            assert a.query(f'SELECT COUNT(*) AS n FROM "{table}"')[0]["n"] > 0, table
        assert a.query("SELECT COUNT(*) AS n FROM companies")[0]["n"] == 100
        assert a.query("SELECT COUNT(*) AS n FROM lead_tags_xref")[0]["n"] > 0
        assert Simulator(contacts=2000, seed=4).query("SELECT email FROM leads WHERE id = 5") != a.query("SELECT email FROM leads WHERE id = 5")
    finally:
        a.stop()
        b.stop()


def test_seeded_values_as_the_api_shows_them() -> None:
    with Simulator(contacts=50, seed=9) as sim:
        params: dict[str, str | int] = {"limit": 50, "orderBy": "id", "search": "!is:anonymous"}
        body = requests.get(f"{sim.url}/api/contacts", params=params,
                            auth=("admin", "mautic"), timeout=10).json()
        contacts = list(body["contacts"].values())
        all_ = contacts[0]["fields"]["all"]
        assert isinstance(all_["shoe_size"], float) and isinstance(all_["seats"], int)
        assert all_["is_vip"] in ("0", "1")  # lists show booleans as strings, as recorded
        assert len(all_["last_purchase_at"]) == 19 and all_["last_purchase_at"].endswith(":00")
        assert any(c["dateModified"] is None for c in contacts) and any(c["dateModified"] for c in contacts)
        assert any(c["owner"] for c in contacts) and any(c["tags"] for c in contacts)
        for path in ("/api/dynamiccontents", "/api/focus", "/api/messages", "/api/notifications", "/api/tweets",
                     "/api/points/triggers", "/api/devices", "/api/emails", "/api/segments", "/api/campaigns"):
            r = requests.get(f"{sim.url}{path}", auth=("admin", "mautic"), timeout=10).json()
            assert r["total"] > 0, path
