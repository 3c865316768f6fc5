"""The simulator's ``--mautic-version``: each difference of ../shared/mautic-versions.md, one test each.

Only 5.1 is recorded; the later behaviours follow the versions sheet (the section is cited per test), and
what it marks *inferred* is inferred here too. Plain HTTP with ``requests``: the client package is not used.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import requests

from mautic_sim import Simulator
from mautic_sim.cli import build_parser
from mautic_sim.versions import VERSIONS, get_version

AUTH = ("admin", "mautic")
ALL = sorted(VERSIONS)
OLD = "2001-01-01 00:00:00"


@pytest.fixture(params=ALL)
def vsim(request):
    with Simulator(contacts=20, seed=3, mautic_version=request.param) as sim:
        yield sim


def _patch(sim: Simulator, cid: int, body: dict) -> requests.Response:
    return requests.patch(f"{sim.url}/api/contacts/{cid}/edit", json=body, auth=AUTH, timeout=10)


def _new(sim: Simulator, **fields: Any) -> dict:
    n = len(sim.query("SELECT id FROM leads"))
    r = requests.post(f"{sim.url}/api/contacts/new", json={"email": f"v{n}@example.com", **fields}, auth=AUTH,
                      timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["contact"]


def _modified(sim: Simulator, cid: int) -> str:
    """dateModified of a contact whose value the test has set (to OLD) first."""
    modified = sim.query("SELECT date_modified FROM leads WHERE id = ?", (cid,))[0]["date_modified"]
    assert modified is not None
    return modified


def test_mautic_version_header(vsim):
    """§8: every controller answer carries Mautic-Version."""
    r = requests.get(f"{vsim.url}/api/contacts", params={"limit": 1}, auth=AUTH, timeout=10)
    assert r.headers["Mautic-Version"] == vsim.version.header
    assert r.headers["Mautic-Version"].startswith(vsim.version.name + ".")


def test_date_modified_set_on_create_from_6_0(vsim):
    """§5: 6.0 sets dateModified on create (PR #14433) and its migration fills NULLs from dateAdded."""
    contact = _new(vsim, firstname="Fresh")
    r = requests.post(f"{vsim.url}/api/pages/new", json={"title": "P", "template": "blank"}, auth=AUTH, timeout=10)
    page = r.json()["page"]
    seeded_nulls = vsim.query("SELECT COUNT(*) AS n FROM leads WHERE date_modified IS NULL")[0]["n"]
    if vsim.version.modified_on_create:
        assert contact["dateModified"] == contact["dateAdded"]
        assert page["dateModified"] == page["dateAdded"]
        assert seeded_nulls == 0
    else:
        assert contact["dateModified"] is None and page["dateModified"] is None
        assert seeded_nulls > 0


def test_updates_do_not_move_date_modified_from_6_0(vsim):
    """§5: on 6.0 (and, inferred, 7.x) updates leave a set dateModified alone (mautic#15418, #15511)."""
    cid = _new(vsim, firstname="Before")["id"]
    vsim.execute("UPDATE leads SET date_modified = ? WHERE id = ?", (OLD, cid))
    assert _patch(vsim, cid, {"firstname": "After"}).status_code == 200
    assert vsim.query("SELECT firstname FROM leads WHERE id = ?", (cid,))[0]["firstname"] == "After"
    if vsim.version.modified_on_update:
        assert _modified(vsim, cid) > OLD
    else:
        assert _modified(vsim, cid) == OLD
    # the same for the other contexts (landing pages: mautic#15511)
    page = requests.post(f"{vsim.url}/api/pages/new", json={"title": "P", "template": "blank"}, auth=AUTH,
                         timeout=10).json()["page"]
    backend = vsim.app.generic.backends["pages"]
    backend.update(page["id"], {**backend.get(page["id"]), "dateModified": "2001-01-01T00:00:00+00:00"})
    r = requests.patch(f"{vsim.url}/api/pages/{page['id']}/edit", json={"title": "Q"}, auth=AUTH, timeout=10)
    assert r.json()["page"]["title"] == "Q"
    assert (r.json()["page"]["dateModified"] != "2001-01-01T00:00:00+00:00") == vsim.version.modified_on_update


def test_do_not_contact_change_moves_date_modified_only_on_5_1(vsim):
    """§5: from 5.2 a do-not-contact-only save skips dateModified (SkipModifiedInterface, PR #13994)."""
    cid = _new(vsim, firstname="Dnc")["id"]
    vsim.execute("UPDATE leads SET date_modified = ? WHERE id = ?", (OLD, cid))
    r = requests.post(f"{vsim.url}/api/contacts/{cid}/dnc/email/add", json={"reason": 3}, auth=AUTH, timeout=10)
    assert r.status_code == 200
    assert vsim.query("SELECT COUNT(*) AS n FROM lead_donotcontact WHERE lead_id = ?", (cid,))[0]["n"] == 1
    assert (_modified(vsim, cid) > OLD) == (vsim.version.name == "5.1")
    # a PATCH carrying only doNotContact is the same kind of save
    assert _patch(vsim, cid, {"doNotContact": [{"channel": "sms", "reason": 3}]}).status_code == 200
    assert (_modified(vsim, cid) > OLD) == (vsim.version.name == "5.1")


@pytest.mark.parametrize("name", ALL)
def test_rate_limiter_is_gone_in_7(name):
    """§8: api_rate_limiter_limit answers 429 + X-RateLimit-* on 5.x/6.x; 7.0 removed it (PR #14876)."""
    with Simulator(contacts=0, mautic_version=name, rate_limit=2) as sim:
        statuses = [requests.get(f"{sim.url}/api/users/self", auth=AUTH, timeout=10) for _ in range(3)]
    if get_version(name).rate_limiter:
        assert [r.status_code for r in statuses] == [200, 200, 429]
        assert statuses[2].headers["X-RateLimit-Limit"] and statuses[2].json()["errors"][0]["code"] == 429
    else:
        assert [r.status_code for r in statuses] == [200, 200, 200]


def test_injected_429_on_7_1_is_a_proxy_answer():
    """§8 / consequence 10: 7.x never sends Mautic's own 429, so a 429 can only be a proxy's."""
    with Simulator(contacts=0, mautic_version="7.1") as sim:
        sim.schedule_fault("429")
        r = requests.get(f"{sim.url}/api/users/self", auth=AUTH, timeout=10)
    assert r.status_code == 429 and "Mautic-Version" not in r.headers and "X-RateLimit-Limit" not in r.headers


def test_where_and_published_both_apply_on_7_1(vsim):
    """§4: 5.1-6.x let `where` replace the forced published=1 filter; a later 7.x applies both
    (idx@002d4b68; the release is not known, 7.1 here is *inferred*)."""
    seg = requests.post(f"{vsim.url}/api/segments/new", json={"name": "Hidden", "isPublished": False}, auth=AUTH,
                        timeout=10).json()["list"]
    params = {"published": 1, "where[0][col]": "id", "where[0][expr]": "eq", "where[0][val]": seg["id"]}
    got = requests.get(f"{vsim.url}/api/segments", params=params, auth=AUTH, timeout=10).json()["lists"]
    ids = [int(s["id"]) for s in (got.values() if isinstance(got, dict) else got)]
    assert ids == ([] if vsim.version.where_keeps_forced_filters else [seg["id"]])
    # the same on the DBAL lists (contacts)
    cid = _new(vsim, firstname="Unpub", isPublished=False)["id"]
    vsim.execute("UPDATE leads SET is_published = 0 WHERE id = ?", (cid,))
    params = {"published": 1, "where[0][col]": "id", "where[0][expr]": "eq", "where[0][val]": cid}
    got = requests.get(f"{vsim.url}/api/contacts", params=params, auth=AUTH, timeout=10).json()["contacts"]
    assert (len(got) == 0) == vsim.version.where_keeps_forced_filters


def test_contact_edits_drop_zero_and_fractions_creates_store_fractions(vsim):
    """§6 as a real 5.1.0 answered (2026-12-06, tests/real/test_real_writes.py; 5.2-7.1 *inferred*): a contact
    CREATE stores 0 < |v| < 1 (POST /api/contacts/new {"acc_ratio": 0.55} -> 201, 0.55 in MariaDB) and leaves 0
    NULL; an EDIT leaves both unchanged: PATCH /api/contacts/{id}/edit {"acc_ratio": 0.37} or {"acc_ratio": 0}
    -> 200, unchanged, and so do POST /new and batch/new matching the contact by email (item 200). The same
    batch/new stores the fraction of its new contact (item 201). mautic#15030 (zero), mautic#16590 (fixed in
    7.2 by PR #16591, so no simulated version stores fractions on edits)."""
    created = _new(vsim, shoe_size=0.5, seats=0)
    row = vsim.query("SELECT email, shoe_size, seats FROM leads WHERE id = ?", (created["id"],))[0]
    assert (row["shoe_size"], row["seats"]) == (0.5, None)
    cid = created["id"]
    assert _patch(vsim, cid, {"shoe_size": 4.5, "seats": 3}).status_code == 200
    assert _patch(vsim, cid, {"shoe_size": 0.25, "seats": 0}).status_code == 200
    row = vsim.query("SELECT shoe_size, seats FROM leads WHERE id = ?", (cid,))[0]
    assert (float(row["shoe_size"]), int(row["seats"])) == (4.5, 3)
    r = requests.post(f"{vsim.url}/api/contacts/batch/new", auth=AUTH, timeout=10, json=[
        {"email": row_email, "shoe_size": 0.75} for row_email in (created["fields"]["all"]["email"], "fresh@example.org")])
    assert r.json()["statusCodes"] == [200, 201]
    got = {x["email"]: x["shoe_size"] for x in vsim.query("SELECT email, shoe_size FROM leads WHERE email IN (?, ?)",
                                                           (created["fields"]["all"]["email"], "fresh@example.org"))}
    assert got == {created["fields"]["all"]["email"]: 4.5, "fresh@example.org": 0.75}
    assert _patch(vsim, cid, {"shoe_size": 1.5, "seats": 2}).status_code == 200
    row = vsim.query("SELECT shoe_size, seats FROM leads WHERE id = ?", (cid,))[0]
    assert (float(row["shoe_size"]), int(row["seats"])) == (1.5, 2)
    assert all(v.drops_fractions_on_edit for v in VERSIONS.values()), "no simulated version is 7.2+"


def test_company_writes_store_zero_and_fractions(vsim):
    """Real 5.1.0 (2026-12-06): POST /api/companies/new {"co_ratio": 0.55} -> 201, 0.55 stored; {"co_ratio": 0}
    -> 0.0 stored; PATCH /api/companies/{id}/edit with 0.37, then 0 -> both stored; batch/new and batch/edit
    too. The zero and fraction drops are contact-only (other versions *inferred*)."""
    r = requests.post(f"{vsim.url}/api/companies/new", json={"companyname": "Ratio Ltd", "companyannual_revenue": 0.55},
                      auth=AUTH, timeout=10)
    assert r.status_code == 201
    comp = r.json()["company"]["id"]
    assert vsim.query("SELECT companyannual_revenue AS v FROM companies WHERE id = ?", (comp,))[0]["v"] == 0.55
    for value in (0.37, 0):
        r = requests.patch(f"{vsim.url}/api/companies/{comp}/edit", json={"companyannual_revenue": value}, auth=AUTH,
                           timeout=10)
        assert r.status_code == 200
        assert vsim.query("SELECT companyannual_revenue AS v FROM companies WHERE id = ?", (comp,))[0]["v"] == value


def test_audit_log_rows_for_contact_changes(vsim):
    """§5 consequence 3b (*inferred* from 5.x LeadSubscriber, open question 8): create, identified, update and
    delete of a contact are in audit_log on every version, dateModified or not."""
    cid = _new(vsim, firstname="Audited")["id"]
    assert _patch(vsim, cid, {"lastname": "Changed"}).status_code == 200
    assert requests.delete(f"{vsim.url}/api/contacts/{cid}/delete", auth=AUTH, timeout=10).status_code == 200
    r = requests.get(f"{vsim.url}/api/stats/audit_log", auth=AUTH, timeout=10, params={
        "where[0][col]": "object_id", "where[0][expr]": "eq", "where[0][val]": cid,
        "where[1][col]": "object", "where[1][expr]": "eq", "where[1][val]": "lead",
        "order[0][col]": "id", "order[0][dir]": "ASC"})
    assert [row["action"] for row in r.json()["stats"]] == ["create", "identified", "update", "delete"]


def test_cli_flag():
    assert build_parser().parse_args(["--mautic-version", "6.0"]).mautic_version == "6.0"
    assert build_parser().parse_args([]).mautic_version == "5.1"
    bad = subprocess.run([sys.executable, "-m", "mautic_sim.cli", "--mautic-version", "4.4"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--mautic-version" in bad.stderr
