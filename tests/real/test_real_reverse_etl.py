"""Compare before write on a real Mautic 5.1.0: what the target compares is what Mautic stores.

The target runs through a counting proxy (loopback, ephemeral port) that forwards to the real server and
logs each request, so the writes are counted on the wire; MariaDB (``date_modified``, ``audit_log``) shows
that Mautic changed nothing on a rerun.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mautic_api.client import MauticClient
from mautic_api.errors import MauticAPIError
from tests.real.conftest import RealMautic
from tests.real.support import campaign, client, run_target, seed, singer

# one field of each kind the comparison normalizes (the seed adds number scale 2, boolean, date, select)
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "seen_at": {"type": "datetime"},
    "hobbies": {"type": "multiselect", "properties": {"list": [
        {"label": "Chess", "value": "chess"}, {"label": "Golf", "value": "golf"},
        {"label": "Jazz", "value": "jazz"}]}},
}
SCHEMA = {"type": "object", "properties": {
    "email": {"type": "string"}, "firstname": {"type": ["string", "null"]},
    "city": {"type": ["string", "null"]}, "acc_ratio": {"type": ["number", "null"]},
    "is_vip": {"type": ["boolean", "null"]}, "renewal_on": {"type": ["string", "null"], "format": "date"},
    "plan": {"type": ["string", "null"]}, "seen_at": {"type": ["string", "null"], "format": "date-time"},
    "hobbies": {"type": ["array", "null"], "items": {"type": "string"}}}}


class _Proxy(BaseHTTPRequestHandler):
    """Forwards every request to the real server and logs (method, path, parsed body)."""

    def _forward(self) -> None:
        server: Any = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection(server.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        with server.lock:
            server.log.append((self.command, self.path.split("?")[0], json.loads(body) if body else None))
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def proxy(real: RealMautic) -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    server.upstream = urlsplit(real.url).netloc
    server.log, server.lock = [], threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _writes(log: list[tuple[str, str, Any]]) -> list[tuple[str, str, Any]]:
    return [entry for entry in log if entry[0] in ("POST", "PATCH", "PUT", "DELETE")]


def test_rerun_is_unchanged_without_writes_and_one_change_writes_one_alias(
    real: RealMautic, proxy: Any, tmp_path: Path
):
    seed(real, contacts=20)
    api = client(real)
    try:
        for alias, extra in EXTRA_FIELDS.items():
            api.request("POST", "/api/fields/contact/new", json={
                "label": alias.title(), "alias": alias, "object": "contact", **extra})
    finally:
        api.close()
    emails = [r["email"] for r in real.sql("SELECT email FROM leads ORDER BY id LIMIT 10")]
    records: list[dict[str, Any]] = []
    # scale 2, roundmode 4: halves of the last digit, to see how Mautic rounds them
    ratios = [12.345, 12.355, 1.005, 2.675, 7.5, 3.14159, 100, 5.125, 9.995, 4.444]
    for n, email in enumerate(emails):
        records.append({"email": email, "city": f"Reverse {n}", "acc_ratio": ratios[n],
                        "is_vip": n % 2 == 0, "renewal_on": "2028-02-29", "plan": "Pro",  # a label
                        "seen_at": "2024-03-01T14:34:56+02:00",  # stored as 12:34:56 UTC
                        "hobbies": ["jazz", "chess"]})
    for n in range(3):  # and created ones
        records.append({"email": f"retl{n}@example.org", "firstname": f"R{n}", "city": "New",
                        "plan": "free", "hobbies": ["golf"], "is_vip": True})
    config = {"base_url": f"http://127.0.0.1:{proxy.server_address[1]}"}
    lines = singer("contacts", SCHEMA, records, ["email"])
    code, results, err = run_target(real, tmp_path, lines, **config)
    assert code == 0, err[-2000:]
    assert sorted(r["outcome"] for r in results) == ["created"] * 3 + ["updated"] * 10
    stored = {r["email"]: r for r in real.sql(
        "SELECT email, acc_ratio, seen_at, hobbies, plan FROM leads WHERE email = %s", emails[0])}
    # what Mautic stored (real 5.1.0, 2026-12-06): 12.34 (the float 12.345 is 12.34499..., rounded to the
    # field's scale 2 as Python's round() does), '2024-03-01 12:34:00' (seconds dropped), 'pro'
    row = stored[emails[0]]
    assert str(row["acc_ratio"]) == "12.34" and row["plan"] == "pro"
    kept = {r["email"]: float(r["acc_ratio"]) for r in real.sql(
        "SELECT email, acc_ratio FROM leads WHERE acc_ratio IS NOT NULL")}
    # half to even on the decimal text (ICU's ROUND_HALFEVEN, roundmode 4)
    assert [kept[e] for e in emails] == [12.34, 12.36, 1.0, 2.68, 7.5, 3.14, 100.0, 5.12, 10.0, 4.44]
    assert str(row["seen_at"]) == "2024-03-01 12:34:00"
    assert set(row["hobbies"].split("|")) == {"jazz", "chess"}

    before = {r["id"]: r["date_modified"] for r in real.sql("SELECT id, date_modified FROM leads")}
    audit = real.sql("SELECT COUNT(*) AS n FROM audit_log")[0]["n"]
    proxy.log.clear()
    code, results, err = run_target(real, tmp_path, lines, **config)
    assert code == 0, err[-2000:]
    assert [r["outcome"] for r in results] == ["unchanged"] * len(records), [
        (r["key"], r["outcome"], r.get("changes")) for r in results if r["outcome"] != "unchanged"]
    assert _writes(proxy.log) == []
    assert {r["id"]: r["date_modified"] for r in real.sql("SELECT id, date_modified FROM leads")} == before
    assert real.sql("SELECT COUNT(*) AS n FROM audit_log")[0]["n"] == audit

    records[4] = {**records[4], "city": "Changed once"}
    proxy.log.clear()
    code, results, err = run_target(real, tmp_path, singer("contacts", SCHEMA, records, ["email"]), **config)
    assert code == 0, err[-2000:]
    sent = _writes(proxy.log)
    assert [(method, path) for method, path, _ in sent] == [("PATCH", "/api/contacts/batch/edit")]
    body = sent[0][2]
    assert len(body) == 1 and set(body[0]) == {"id", "city"}
    changed = [r for r in results if r["outcome"] == "updated"]
    assert len(changed) == 1 and changed[0]["changes"] == {"city": ["Reverse 4", "Changed once"]}
    assert real.sql("SELECT city FROM leads WHERE email = %s", emails[4])[0]["city"] == "Changed once"


def test_segment_members_already_in_are_unchanged_and_manually_removed_ones_are_added(
    real: RealMautic, proxy: Any, tmp_path: Path
):
    """Mautic's ``segment:<alias>`` search command counts only members not manually removed (LeadRepository,
    lla.manually_removed = 0): a contact removed by hand is added again, the others cost no write."""
    seeded = seed(real, contacts=10)
    ids = sorted(seeded.contacts)
    api = client(real)
    try:
        for contact_id in ids[:2]:
            api.request("POST", f"/api/segments/{seeded.segment}/contact/{contact_id}/remove")
    finally:
        api.close()
    schema = {"type": "object", "properties": {"contact_id": {"type": "integer"},
                                               "segment_id": {"type": "integer"}}}
    records = [{"contact_id": i, "segment_id": seeded.segment} for i in ids]
    code, results, err = run_target(real, tmp_path, singer("segment_memberships", schema, records),
                                    base_url=f"http://127.0.0.1:{proxy.server_address[1]}")
    assert code == 0, err[-2000:]
    assert [r["outcome"] for r in results] == ["created"] * 2 + ["unchanged"] * 8
    sent = _writes(proxy.log)
    assert len(sent) == 1 and sent[0][1] == f"/api/segments/{seeded.segment}/contacts/add"
    assert sorted(sent[0][2]["ids"]) == ids[:2]
    rows = real.sql("SELECT lead_id, manually_removed FROM lead_lists_leads WHERE leadlist_id = %s",
                    seeded.segment)
    assert {r["lead_id"]: r["manually_removed"] for r in rows} == dict.fromkeys(ids, 0)


LINK_SQL = {  # stream -> the MariaDB query of a target's members
    "campaign_memberships": "SELECT lead_id FROM campaign_leads WHERE campaign_id = %s "
                            "AND manually_removed = 0",
    "company_memberships": "SELECT lead_id FROM companies_leads WHERE company_id = %s",
}


def test_campaign_and_company_links_held_already_are_unchanged_and_a_rerun_writes_nothing(
    real: RealMautic, proxy: Any, tmp_path: Path
):
    """The reads of target_mautic.mirror.stats_linked on the real server: ``/api/stats`` with ``lead_id in``
    a comma-separated string answers exactly the batch's linked contacts (a campaign's removed-by-hand ones
    left out by ``manually_removed eq 0``), and ``total`` counts the whole query whatever the ``limit`` (what
    the one-page read trusts); an array ``in`` is an HTTP 500. Then a load and its rerun through the
    counting proxy: one read per stream and batch, a POST only for a link Mautic lacks, none on the rerun."""
    seeded = seed(real, contacts=10)  # companies[0] holds contacts[:5]
    ids = sorted(seeded.contacts)
    company = seeded.companies[0]
    api = client(real)
    try:
        camp = campaign(api, seeded.segment)
        for cid in ids[:4]:
            api.request("POST", f"/api/campaigns/{camp}/contact/{cid}/add")
        api.request("POST", f"/api/campaigns/{camp}/contact/{ids[1]}/remove")  # manually_removed = 1
        batch = ",".join(str(i) for i in ids[:6])
        page = api.stats_page("campaign_leads", limit=6, order=[{"col": "lead_id", "dir": "ASC"}], where=[
            {"col": "campaign_id", "expr": "eq", "val": camp},
            {"col": "manually_removed", "expr": "eq", "val": 0},
            {"col": "lead_id", "expr": "in", "val": batch}])
        assert [int(r["lead_id"]) for r in page.records] == [ids[0], ids[2], ids[3]] and page.total == 3
        page = api.stats_page("companies_leads", limit=2, order=[{"col": "lead_id", "dir": "ASC"}], where=[
            {"col": "company_id", "expr": "eq", "val": company},
            {"col": "lead_id", "expr": "in", "val": batch}])
        assert [int(r["lead_id"]) for r in page.records] == ids[:2] and page.total == 5
    finally:
        api.close()
    once = MauticClient({"base_url": real.url, "username": real.username, "password": real.password,
                         "max_retries": 0})
    try:
        with pytest.raises(MauticAPIError) as raised:
            once.request("GET", "/api/stats/companies_leads", params={"where": [
                {"col": "company_id", "expr": "eq", "val": company},
                {"col": "lead_id", "expr": "in", "val": ids[:3]}]})
        assert raised.value.status == 500
    finally:
        once.close()

    lines = []
    for stream, column, target in (("campaign_memberships", "campaign_id", camp),
                                   ("company_memberships", "company_id", company)):
        schema = {"type": "object",
                  "properties": {"contact_id": {"type": "integer"}, column: {"type": "integer"}}}
        lines += singer(stream, schema, [{"contact_id": i, column: target} for i in ids])
    config = {"base_url": f"http://127.0.0.1:{proxy.server_address[1]}"}
    code, results, err = run_target(real, tmp_path, lines, **config)
    assert code == 0, err[-2000:]
    outcome = {(r["stream"], r["key"]["contact_id"]): r["outcome"] for r in results}
    held = {("campaign_memberships", i) for i in (ids[0], ids[2], ids[3])} | {
        ("company_memberships", i) for i in ids[:5]}
    assert outcome == {k: "unchanged" if k in held else "created" for k in outcome} and len(outcome) == 20
    reads = [path for method, path, _ in proxy.log if method == "GET" and path.startswith("/api/stats/")]
    assert sorted(reads) == ["/api/stats/campaign_leads", "/api/stats/companies_leads"]
    assert len(_writes(proxy.log)) == 20 - len(held)
    for stream, query in LINK_SQL.items():
        target = camp if stream == "campaign_memberships" else company
        assert {int(r["lead_id"]) for r in real.sql(query, target)} == set(ids), stream

    proxy.log.clear()
    code, results, err = run_target(real, tmp_path, lines, **config)
    assert code == 0, err[-2000:]
    assert [r["outcome"] for r in results] == ["unchanged"] * 20
    assert _writes(proxy.log) == []
    assert sorted(path for method, path, _ in proxy.log if path.startswith("/api/stats/")) == [
        "/api/stats/campaign_leads", "/api/stats/companies_leads"]


def test_tags_and_do_not_contact_held_already_are_unchanged_and_a_rerun_writes_nothing(
    real: RealMautic, proxy: Any, tmp_path: Path
):
    """contact_tags and do_not_contact on the real server: the first load writes (a batch/edit of tags, a
    POST per do-not-contact entry); the rerun reads the contacts once per stream and writes nothing; MariaDB
    holds the tags and the entries (reason 3)."""
    seeded = seed(real, contacts=6)
    ids = sorted(seeded.contacts)[:3]
    tag_schema = {"type": "object", "properties": {"contact_id": {"type": "integer"},
                                                   "tag": {"type": "string"}}}
    dnc_schema = {"type": "object", "properties": {"contact_id": {"type": "integer"},
                                                   "channel": {"type": "string"}}}
    lines = [*singer("contact_tags", tag_schema, [{"contact_id": i, "tag": "rerun-tag"} for i in ids]),
             *singer("do_not_contact", dnc_schema, [{"contact_id": i, "channel": "email"} for i in ids])]
    config = {"base_url": f"http://127.0.0.1:{proxy.server_address[1]}"}
    code, results, err = run_target(real, tmp_path, lines, **config)
    assert code == 0, err[-2000:]
    assert [r["outcome"] for r in results] == ["created"] * 6
    assert len(_writes(proxy.log)) == 1 + 3
    tagged = real.sql("SELECT x.lead_id FROM lead_tags_xref x JOIN lead_tags t ON t.id = x.tag_id "
                      "WHERE t.tag = 'rerun-tag'")
    assert {int(r["lead_id"]) for r in tagged} == set(ids)
    dnc = real.sql("SELECT lead_id, reason FROM lead_donotcontact WHERE channel = 'email' AND lead_id IN %s",
                   tuple(ids))
    assert {(int(r["lead_id"]), int(r["reason"])) for r in dnc} == {(i, 3) for i in ids}

    proxy.log.clear()
    code, results, err = run_target(real, tmp_path, lines, **config)
    assert code == 0, err[-2000:]
    assert [r["outcome"] for r in results] == ["unchanged"] * 6
    assert _writes(proxy.log) == []
    assert len([p for m, p, _ in proxy.log if m == "GET" and p == "/api/contacts"]) == 2  # one per stream
