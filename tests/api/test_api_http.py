"""mautic_api HTTP layer: PHP query encoding, retry policy and wait headers, list and batch normalisation.

Request-mocked with ``responses`` (retry and error paths need exact fault sequences); the sleep of the
retry loop is replaced so the tests never wait, and records the requested waits instead.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses

from mautic_api import (
    BatchLimitError,
    ConfigurationError,
    MauticAPIError,
    MauticClient,
    NotFoundError,
    RetryableError,
    SerializerBugError,
)
from mautic_api.client import as_records, as_total
from mautic_api.http import LoggedOnce, MauticSession, php_query
from mautic_api.paging import check_where
from mautic_api.retry import retry_wait_seconds, wait_from_headers, wait_generator

BASE = "http://mautic.test"
CONFIG = {"base_url": BASE, "username": "admin", "password": "pw", "max_retries": 3}
JSON = "application/json"


@pytest.fixture(autouse=True)
def sleeps(retry_waits: list[float]) -> list[float]:
    return retry_waits


# ---------------------------------------------------------------------------------------------- query


def test_php_bracket_encoding_of_nested_where_and_order():
    pairs = php_query(
        {
            "where": [{"col": "id", "expr": "gt", "val": 10}, {"col": "date_modified", "expr": "isNull"}],
            "order": [{"col": "id", "dir": "asc"}],
            "minimal": True,
            "published": False,
            "search": None,
        }
    )
    assert pairs == [
        ("where[0][col]", "id"),
        ("where[0][expr]", "gt"),
        ("where[0][val]", "10"),
        ("where[1][col]", "date_modified"),
        ("where[1][expr]", "isNull"),
        ("order[0][col]", "id"),
        ("order[0][dir]", "asc"),
        ("minimal", "1"),
        ("published", "0"),
    ]


def test_php_encoding_on_the_wire_between_dates_and_plus():
    aware = datetime(2024, 3, 1, 13, 4, 5, tzinfo=timezone.utc)
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BASE}/api/contacts", json={"total": 0, "contacts": {}})
        MauticClient(CONFIG).request(
            "GET",
            "contacts",
            params={
                "search": "a+b",
                "where": [{"col": "date_added", "expr": "between", "val": [aware, "2025-01-01"]}],
            },
        )
        url = rs.calls[0].request.url
    assert url is not None
    query = urlsplit(url).query
    assert "search=a%2Bb" in query  # a literal + must reach Mautic as %2B
    assert "where%5B0%5D%5Bval%5D%5B0%5D=2024-03-01+13%3A04%3A05" in query
    assert dict(parse_qsl(query))["where[0][val][1]"] == "2025-01-01"


def test_where_validation_refuses_what_mautic_would_silently_drop():
    assert check_where([{"col": "id", "expr": "in", "val": [7, 8]}]) == [
        {"col": "id", "expr": "in", "val": "7,8"}
    ]
    for bad in (
        {"col": "id", "expr": "greater", "val": 1},
        {"col": "id", "expr": "between", "val": [1]},
        {"expr": "eq", "val": 1},
        {"col": "id", "expr": "eq", "val": [1, 2]},
    ):
        with pytest.raises(ValueError):
            check_where([bad])


# ---------------------------------------------------------------------------------------------- lists


@pytest.mark.parametrize(
    ("container", "ids"),
    [
        ({"47": {"id": 47}, "3": {"id": 3}}, [47, 3]),  # id-keyed object, order kept
        ([{"id": 1}, {"id": 2}], [1, 2]),
        ({}, []),
        ([], []),
        (None, []),
    ],
)
def test_list_containers_normalise(container, ids):
    assert [r["id"] for r in as_records(container)] == ids


@pytest.mark.parametrize(("total", "expected"), [("3", 3), (3, 3), (3.0, 3), ("0", 0), (None, 2)])
def test_total_is_int(total, expected):
    assert as_total(total, 2) == expected


def test_list_page_normalises_each_recorded_shape():
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BASE}/api/contacts",
            json={"total": "2", "contacts": {"8": {"id": 8}, "2": {"id": 2}}},
        )
        rs.add(responses.GET, f"{BASE}/api/users", json={"total": 2, "users": [{"id": 1}, {"id": 2}]})
        rs.add(responses.GET, f"{BASE}/api/contacts", json={"total": "2", "contacts": {}})
        rs.add(responses.GET, f"{BASE}/api/segments", json={"total": 5, "lists": []})
        client = MauticClient(CONFIG)
        page = client.list_page("contacts", limit=2, order_by="id", minimal=True)
        assert ([r["id"] for r in page.records], page.total) == ([8, 2], 2)
        assert dict(parse_qsl(urlsplit(rs.calls[0].request.url or "").query)) == {
            "limit": "2",
            "orderBy": "id",
            "minimal": "1",
        }
        page = client.list_page("users", published_only=True)
        assert (len(page.records), page.total) == (2, 2)
        # the server reads `published`, not publishedOnly
        assert "published=1" in (rs.calls[1].request.url or "")
        assert client.list_page("contacts", start=2).records == []
        page = client.list_page("segment" + "s", start=30)
        assert (page.records, page.total) == ([], 5)


def test_list_page_refuses_limit_zero_and_put():
    client = MauticClient(CONFIG)
    with pytest.raises(ValueError):
        client.list_page("contacts", limit=0)
    with pytest.raises(ValueError):
        client.request("PUT", "contacts/1/edit", json={})


def test_serializer_bug_is_loud():
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BASE}/api/contacts", json={"total": "2", "contacts": {"1": {}, "2": {}}})
        with pytest.raises(SerializerBugError, match="serializer bug"):
            MauticClient(CONFIG).list_page("contacts", limit=2)


def test_stats_tables_and_page():
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BASE}/api/stats",
            json={
                "availableTables": ["audit_log", "email_stats"],
                "tableColumns": {"audit_log": ["id", "action"]},
            },
        )
        rs.add(responses.GET, f"{BASE}/api/stats/audit_log", json={"total": "320", "stats": [{"id": "1"}]})
        rs.add(responses.GET, f"{BASE}/api/stats/nosuch", json={"availableTables": [], "tableColumns": {}})
        client = MauticClient(CONFIG)
        assert client.stats_tables() == {"audit_log": ["id", "action"], "email_stats": []}
        page = client.stats_page(
            "audit_log",
            limit=10,
            order=[{"col": "id", "dir": "ASC"}],
            where=[{"col": "id", "expr": "gt", "val": 0}],
        )
        assert (page.records, page.total) == ([{"id": "1"}], 320)
        assert "order%5B0%5D%5Bcol%5D=id" in (rs.calls[1].request.url or "")
        with pytest.raises(NotFoundError):
            client.stats_page("nosuch")


def test_fields_reads_every_page():
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BASE}/api/fields/contact",
            json={"total": 3, "fields": {"1": {"id": 1}, "2": {"id": 2}}},
        )
        rs.add(responses.GET, f"{BASE}/api/fields/contact", json={"total": 3, "fields": {"3": {"id": 3}}})
        fields = MauticClient(CONFIG).fields("contact")
        assert [f["id"] for f in fields] == [1, 2, 3]
        assert "start=2" in (rs.calls[1].request.url or "")


# ---------------------------------------------------------------------------------------------- writes


def test_single_writes_use_post_and_patch_with_json():
    with responses.RequestsMock() as rs:
        rs.add(responses.POST, f"{BASE}/api/contacts/new", json={"contact": {"id": 9}}, status=201)
        rs.add(responses.POST, f"{BASE}/api/contacts/new", json={"contact": {"id": 9}}, status=200)
        rs.add(responses.PATCH, f"{BASE}/api/contacts/9/edit", json={"contact": {"id": 9, "city": "Oslo"}})
        rs.add(responses.DELETE, f"{BASE}/api/contacts/9/delete", json={"contact": {"id": None}})
        rs.add(
            responses.PATCH,
            f"{BASE}/api/contacts/999/edit",
            status=404,
            json={"errors": [{"code": 404, "message": "Item was not found.", "details": []}]},
        )
        client = MauticClient(CONFIG)
        assert client.create("contacts", {"email": "a@b.c"}) == (201, {"id": 9})
        assert client.create("contacts", {"email": "a@b.c"})[0] == 200
        assert client.edit("contacts", 9, {"city": "Oslo"})["city"] == "Oslo"
        assert client.delete("contacts", 9) == {"id": 9}
        with pytest.raises(NotFoundError):
            client.edit("contacts", 999, {"city": "x"})
        first = rs.calls[0].request
        assert first.headers["Content-Type"] == "application/json"
        assert first.headers["Accept"] == "application/json"
        assert first.body == b'{"email": "a@b.c"}'


def test_batch_new_partial_success_keyed_by_index():
    # 175-contacts-batch-new-2good-1invalid.http
    body = {
        "contacts": {"0": {"id": 21}, "2": {"id": 22}},
        "statusCodes": [201, 400, 201],
        "errors": {
            "1": {"code": 400, "message": "email: A valid email is required.", "details": {}, "type": None}
        },
    }
    with responses.RequestsMock() as rs:
        rs.add(responses.POST, f"{BASE}/api/contacts/batch/new", json=body, status=201)
        results = MauticClient(CONFIG).batch_new(
            "contacts", [{"email": "a@x"}, {"email": "bad"}, {"email": "c@x"}]
        )
    assert [(r.index, r.status, r.item and r.item["id"], r.error) for r in results] == [
        (0, 201, 21, None),
        (1, 400, None, "email: A valid email is required."),
        (2, 201, 22, None),
    ]
    assert [r.ok for r in results] == [True, False, True]


def test_batch_edit_arrays_and_missing_ids():
    # 176: good, missing, invalid -> list keyed {"0"}, errors keyed {"1","2"}; here the array variant too
    body = {
        "contacts": [{"id": 5}],
        "statusCodes": [200, 404, 400],
        "errors": {
            "1": {"message": "Item was not found.", "code": 404, "type": "api"},
            "2": {"message": "email: bad", "code": 400, "type": "api"},
        },
    }
    with responses.RequestsMock() as rs:
        rs.add(responses.PATCH, f"{BASE}/api/contacts/batch/edit", json=body)
        results = MauticClient(CONFIG).batch_edit(
            "contacts", [{"id": 5}, {"id": 999}, {"id": 6, "email": "x"}]
        )
    assert [(r.status, r.error) for r in results] == [
        (200, None),
        (404, "Item was not found."),
        (400, "email: bad"),
    ]
    with pytest.raises(ValueError):
        MauticClient(CONFIG).batch_edit("contacts", [{"email": "no id"}])


def test_batch_without_status_codes_and_error_array():
    # 587-campaignevents-batch-edit.http shape: errors as an array, no statusCodes
    body = {"notes": {"0": {"id": 1}}, "errors": [None, {"code": 404, "message": "Item was not found."}]}
    with responses.RequestsMock() as rs:
        rs.add(responses.PATCH, f"{BASE}/api/notes/batch/edit", json=body)
        results = MauticClient(CONFIG).batch_edit("notes", [{"id": 1}, {"id": 2}])
    assert [(r.status, r.error) for r in results] == [(200, None), (404, "Item was not found.")]


def test_batch_limit_and_delete():
    with responses.RequestsMock() as rs:
        rs.add(
            responses.POST,
            f"{BASE}/api/contacts/batch/new",
            status=500,
            json={
                "errors": [
                    {"code": 500, "message": "A max of 200 entities are supported at a time.", "details": []}
                ]
            },
        )
        rs.add(responses.DELETE, f"{BASE}/api/contacts/batch/delete", json={"contacts": [{"id": 4}]})
        client = MauticClient(CONFIG)
        with pytest.raises(BatchLimitError):
            client.batch_new("contacts", [{"email": f"{i}@x"} for i in range(201)])
        assert len(rs.calls) == 1  # never retried
        assert client.batch_delete("contacts", [4, 900000]) == [{"id": 4}]
        assert "ids=4%2C900000" in (rs.calls[1].request.url or "")


# ---------------------------------------------------------------------------------------------- retries


def _ok():
    return {"total": "1", "contacts": {"1": {"id": 1}}}


@pytest.mark.parametrize("status", [502, 503, 504])
def test_retry_on_gateway_errors(status, sleeps):
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BASE}/api/contacts", status=status, body="<html>Bad gateway</html>")
        rs.add(responses.GET, f"{BASE}/api/contacts", json=_ok())
        assert MauticClient(CONFIG).list_page("contacts", limit=1).total == 1
        assert len(rs.calls) == 2
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 1.0


def test_retry_after_is_honoured(sleeps):
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BASE}/api/contacts",
            status=429,
            headers={"Retry-After": "7"},
            json={
                "errors": [{"code": 429, "message": "You exceeded the rate limit of 10 API calls per hour."}]
            },
        )
        rs.add(responses.GET, f"{BASE}/api/contacts", json=_ok())
        MauticClient(CONFIG).request("GET", "contacts")
    assert len(sleeps) == 1 and 7 <= sleeps[0] < 8


def test_x_ratelimit_reset_epoch_and_seconds(sleeps):
    epoch = str(int(time.time()) + 30)
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BASE}/api/contacts", status=429, headers={"X-RateLimit-Reset": epoch})
        rs.add(responses.GET, f"{BASE}/api/contacts", status=429, headers={"X-RateLimit-Reset": "12"})
        rs.add(responses.GET, f"{BASE}/api/contacts", status=429, headers={"X-RateLimit-Reset": str(10**10)})
        rs.add(responses.GET, f"{BASE}/api/contacts", json=_ok())
        MauticClient(CONFIG).request("GET", "contacts")
    assert 27 <= sleeps[0] <= 32
    assert 12 <= sleeps[1] < 13.5
    assert 300 <= sleeps[2] < 301.5  # capped


@pytest.mark.parametrize(
    "fault",
    [
        requests.exceptions.ConnectionError("Connection reset by peer"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ChunkedEncodingError("broken"),
    ],
)
def test_retry_on_transport_faults(fault, sleeps):
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BASE}/api/contacts", body=fault)
        rs.add(responses.GET, f"{BASE}/api/contacts", json=_ok())
        assert MauticClient(CONFIG).list_page("contacts").total == 1
    assert len(sleeps) == 1


def test_retry_on_truncated_json_200(sleeps):
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BASE}/api/contacts",
            body='{"total":"1","contacts":{"1":{"id"',
            content_type=JSON,
        )
        rs.add(responses.GET, f"{BASE}/api/contacts", json=_ok())
        assert MauticClient(CONFIG).list_page("contacts").records == [{"id": 1}]
    assert len(sleeps) == 1


def test_gives_up_after_max_retries_with_growing_waits(sleeps):
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BASE}/api/contacts", status=503, body="")
        with pytest.raises(RetryableError, match="gave up after 4 attempts"):
            MauticClient(CONFIG).request("GET", "contacts")
        assert len(rs.calls) == 4  # max_retries=3 -> 4 attempts
    assert len(sleeps) == 3
    assert sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0  # exponential, jittered


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            400,
            {"errors": [{"code": 400, "message": "This is a bad request.", "details": []}]},
            MauticAPIError,
        ),
        (
            401,
            {"errors": [{"message": "API authorization denied.", "code": 401, "type": "access_denied"}]},
            Exception,
        ),
        (403, {"errors": [{"code": 403, "message": "You do not have access."}]}, Exception),
        (404, {"errors": [{"code": 404, "message": "Item was not found.", "details": []}]}, NotFoundError),
        (422, {"errors": [{"code": 422, "message": "email: bad", "details": {}}]}, MauticAPIError),
        (
            500,
            {"errors": [{"message": "Looks like I encountered an error (error #500).", "code": 500}]},
            MauticAPIError,
        ),
        (
            500,
            {"errors": [{"code": 500, "message": "A max of 200 entities are supported at a time."}]},
            BatchLimitError,
        ),
    ],
)
def test_no_retry_on_request_caused_errors(status, body, cls, sleeps):
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BASE}/api/contacts", status=status, json=body)
        with pytest.raises(cls) as info:
            MauticClient(CONFIG).request("GET", "contacts")
        assert len(rs.calls) == 1
    assert not isinstance(info.value, RetryableError)
    assert sleeps == []


def test_wait_helpers():
    assert wait_from_headers(429, {"Retry-After": "3"}) == 3
    assert wait_from_headers(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0  # in the past
    assert wait_from_headers(429, {"X-RateLimit-Reset": "100"}, now=0) == 100
    assert wait_from_headers(429, {"X-RateLimit-Reset": "2000000100"}, now=2_000_000_000) == 100
    assert wait_from_headers(500, {"Retry-After": "3"}) is None
    assert wait_from_headers(429, {}) is None
    assert retry_wait_seconds(RetryableError("x", wait_seconds=4)) == 4
    assert retry_wait_seconds(requests.exceptions.ReadTimeout()) is None
    gen = wait_generator()
    assert gen.send(None) == 0
    assert 5 <= gen.send(RetryableError("x", wait_seconds=5)) < 6
    assert 1 <= gen.send(None) <= 2  # second step of the exponential series, jittered


def test_mautic_version_logged_once(caplog):
    caplog.set_level("INFO", logger="mautic_api")
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BASE}/api/contacts", json=_ok(), headers={"Mautic-Version": "5.1.0"})
        rs.add(responses.GET, f"{BASE}/api/contacts", json=_ok(), headers={"Mautic-Version": "5.1.0"})
        client = MauticClient(CONFIG)
        assert client.version is None
        client.request("GET", "contacts")
        client.request("GET", "contacts")
    assert client.version == "5.1.0"
    assert caplog.text.count("Mautic-Version: 5.1.0") == 1


def test_redirects_warn_on_reads_and_stop_writes(caplog):
    caplog.set_level("WARNING", logger="mautic_api")
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BASE}/api/contacts",
            status=301,
            headers={"Location": "https://new.test/api/contacts"},
        )
        rs.add(responses.GET, "https://new.test/api/contacts", json=_ok())
        rs.add(
            responses.POST,
            f"{BASE}/api/contacts/new",
            status=301,
            headers={"Location": "https://new.test/api/contacts/new"},
        )
        rs.add(
            responses.GET,
            "https://new.test/api/contacts/new",
            status=404,
            json={"errors": [{"message": "Requested URL not found: /api/contacts/new", "code": 404}]},
        )
        client = MauticClient(CONFIG)
        assert client.list_page("contacts").total == 1
        assert "redirected (301) to https://new.test: set 'base_url'" in caplog.text
        with pytest.raises(ConfigurationError, match="redirected write is not safe"):
            client.create("contacts", {"email": "a@b.c"})


def test_redirect_advice_is_logged_once_by_threads_sharing_the_session(caplog):
    """Lanes and slices share one session: the check-and-record of the advice is atomic, one line per run."""
    caplog.set_level("WARNING", logger="mautic_api")
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BASE}/api/contacts", status=301,
               headers={"Location": "https://new.test/api/contacts"})
        rs.add(responses.GET, "https://new.test/api/contacts", json=_ok())
        client = MauticClient(CONFIG)
        start = threading.Barrier(8)

        def read() -> None:
            start.wait()
            for _ in range(5):
                client.list_page("contacts")

        threads = [threading.Thread(target=read) for _ in range(8)]
        previous = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as possible: a check-then-add would race
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            sys.setswitchinterval(previous)
    assert caplog.text.count("set 'base_url' to the final address") == 1


def test_logged_once_says_first_once():
    seen = LoggedOnce()
    assert seen.first("a") and not seen.first("a") and seen.first("b") and "a" in seen


def test_binary_answers_are_returned_as_bytes():
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET, f"{BASE}/api/themes/aurora", body=b"PK\x03\x04zip", content_type="application/zip"
        )
        assert MauticClient(CONFIG).request("GET", "themes/aurora") == b"PK\x03\x04zip"


class _BigAnswers(BaseHTTPRequestHandler):
    """``/big``: a 3 MB body; ``/cut``: announces 3 MB, sends half and hangs up."""

    BODY = b"x" * (3 << 20)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY if self.path == "/big" else self.BODY[: len(self.BODY) // 2])
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def big_answers():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BigAnswers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_session_reads_a_body_of_several_pieces_whole_and_a_cut_one_fails_as_requests_does(big_answers):
    session = MauticSession(timeout=30, verify=False, user_agent=None)
    assert session.get(f"{big_answers}/big").content == _BigAnswers.BODY
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(f"{big_answers}/cut")
