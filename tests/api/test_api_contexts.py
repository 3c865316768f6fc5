"""The public context API (mautic_api.contexts): the PHP library's methods over the shared client."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest

import mautic_api
from mautic_api import ContextApi, ListPage, MauticAPIError, MauticClient, NotFoundError
from tests.support.api import batch_item
from tests.support.config import basic_config


def _client(sim: Any, **extra: Any) -> MauticClient:
    return MauticClient(basic_config(sim, **extra))


def _queries(sim: Any, method: str, path: str) -> list[dict[str, list[str]]]:
    return [parse_qs(r["query"]) for r in sim.request_log if r["method"] == method and r["path"] == path]


def test_public_names_are_exported() -> None:
    for name in mautic_api.__all__:
        assert getattr(mautic_api, name) is not None
    assert "ContextApi" in mautic_api.__all__


def test_context_names_and_timeout(session_sim: Any) -> None:
    client = _client(session_sim, request_timeout=7.5)
    segments = client.context("segments")
    assert isinstance(segments, ContextApi)
    assert (segments.item_name, segments.list_name) == ("list", "lists")
    assert client.context("pointTriggers").item_name == "trigger"
    assert segments.request_timeout == 7.5
    # what every request of this client is sent with
    assert client.session.default_timeout == 7.5
    with pytest.raises(KeyError, match="unknown Mautic context"):
        client.context("leads")


def test_get_list_sends_every_seed_parameter(sim: Any) -> None:
    contacts = _client(sim).context("contacts")
    sim.clear_log()
    page = contacts.get_list("example", 2, 5, "id", "DESC", True, True,
                             where=[{"col": "id", "expr": "lte", "val": 40}])
    assert isinstance(page, ListPage)
    ids = [int(r["id"]) for r in page.records]
    assert ids == sorted(ids, reverse=True) and max(ids) <= 40 and len(ids) == 5
    query = _queries(sim, "GET", "/api/contacts")[-1]
    assert query["search"] == ["example"] and query["start"] == ["2"] and query["limit"] == ["5"]
    assert query["orderBy"] == ["id"] and query["orderByDir"] == ["DESC"]
    assert query["published"] == ["1"] and query["minimal"] == ["1"]
    assert query["where[0][col]"] == ["id"] and query["where[0][expr]"] == ["lte"]


def test_get_list_like_php_omits_a_zero_limit(session_sim: Any) -> None:
    session_sim.clear_log()
    page = _client(session_sim).context("contacts").get_list(limit=0)
    assert len(page.records) == 30  # Mautic's default page, as with the PHP library's getList()
    assert "limit" not in _queries(session_sim, "GET", "/api/contacts")[-1]


def test_get_list_refuses_a_where_mautic_would_drop(session_sim: Any) -> None:
    with pytest.raises(ValueError, match="unsupported expr"):
        _client(session_sim).context("contacts").get_list(where=[{"col": "id", "expr": "greater", "val": 1}])


def test_stats_are_read_per_table(session_sim: Any) -> None:
    with pytest.raises(ValueError, match="stats_page"):
        next(_client(session_sim).context("stats").iter_all())


def test_iter_all_is_keyset_and_loses_nothing_when_rows_are_deleted_meanwhile(sim: Any) -> None:
    client = _client(sim)
    contacts = client.context("contacts")
    expected = {int(r["id"]) for r in contacts.get_list(limit=200).records}
    sim.clear_log()
    seen: list[int] = []
    for record in contacts.iter_all(page_size=7):
        seen.append(int(record["id"]))
        if len(seen) == 7:  # delete three rows already read: offset paging would now skip three unread ones
            client.context("contacts").delete_batch(seen[:3])
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert set(seen) == expected
    pages = _queries(sim, "GET", "/api/contacts")
    assert all(q["orderBy"] == ["id"] and "start" not in q for q in pages)
    assert pages[1]["where[0][expr]"] == ["gt"] and pages[1]["where[0][val]"] == [str(seen[6])]


def test_iter_all_with_a_filter_and_offset_contexts(session_sim: Any) -> None:
    client = _client(session_sim)
    some = [int(r["id"]) for r in client.context("contacts").iter_all(
        where=[{"col": "id", "expr": "lte", "val": 20}], page_size=6)]
    assert some == list(range(1, 21))
    fields = list(client.context("contactFields").iter_all(page_size=10))
    assert len(fields) == client.context("contactFields").get_list(limit=1).total


class _StuckClient:
    """A client whose Mautic ignores the keyset filter: the same page every time."""

    base_url = "http://stuck.invalid"
    batch_limit = 200

    def list_page(self, *_: Any, **__: Any) -> ListPage:
        return ListPage(records=[{"id": 1}, {"id": 2}], total=2)


def test_iter_all_refuses_a_dropped_keyset_filter() -> None:
    api = ContextApi(_StuckClient(), "segments")  # type: ignore[arg-type]  # a stand-in: only list_page
    with pytest.raises(MauticAPIError, match="ignored the keyset filter"):
        list(api.iter_all())


def test_get_field_list(session_sim: Any) -> None:
    client = _client(session_sim)
    aliases = {f["alias"] for f in client.context("contacts").get_field_list()}
    assert {"email", "firstname", "plan"} <= aliases
    assert "companyname" in {f["alias"] for f in client.context("companies").get_field_list()}
    with pytest.raises(ValueError, match="no field list"):
        client.context("segments").get_field_list()


def test_edit_patches_and_create_if_not_exists_creates_without_put(sim: Any) -> None:
    contacts = _client(sim).context("contacts")
    made = contacts.create({"firstname": "Ada", "lastname": "Byron", "email": "ada@example.org"})
    edited = contacts.edit(made["id"], {"lastname": "Lovelace"})
    assert edited["fields"]["all"]["firstname"] == "Ada"  # PATCH: omitted fields keep their values
    assert edited["fields"]["all"]["lastname"] == "Lovelace"
    with pytest.raises(NotFoundError, match="404"):
        contacts.edit(987654, {"firstname": "Nobody"})
    sim.clear_log()
    created = contacts.edit(987654, {"firstname": "Grace", "email": "grace@example.org"},
                            create_if_not_exists=True)
    assert created["id"] != 987654 and created["fields"]["all"]["email"] == "grace@example.org"
    assert [(r["method"], r["status"]) for r in sim.request_log] == [("PATCH", 404), ("POST", 201)]
    assert contacts.get(created["id"])["fields"]["all"]["firstname"] == "Grace"
    deleted = contacts.delete(created["id"])
    assert deleted["id"] == created["id"]
    with pytest.raises(NotFoundError):
        contacts.get(created["id"])


def test_batches_are_chunked_and_edit_batch_creates_missing(sim: Any) -> None:
    client = _client(sim)
    client.batch_limit = 3
    companies = client.context("companies")
    sim.clear_log()
    results = companies.create_batch([{"companyname": f"Batch Co {i}"} for i in range(7)])
    assert [r.index for r in results] == list(range(7)) and all(r.status == 201 for r in results)
    assert len([r for r in sim.request_log if r["path"] == "/api/companies/batch/new"]) == 3
    ids = [batch_item(r)["id"] for r in results]
    sim.clear_log()
    edited = companies.edit_batch(
        [{"id": ids[0], "companycity": "Oslo"}, {"id": 999999, "companyname": "Revived Co"}],
        create_if_not_exists=True,
    )
    assert [(r.index, r.status) for r in edited] == [(0, 200), (1, 201)]
    assert batch_item(edited[1])["fields"]["all"]["companyname"] == "Revived Co"
    assert not any(r["method"] == "PUT" for r in sim.request_log)
    plain = companies.edit_batch([{"id": 999998, "companyname": "Ghost"}])
    assert plain[0].status == 404 and not plain[0].ok
    gone = companies.delete_batch([*ids, batch_item(edited[1])["id"]])
    assert sorted(int(g["id"]) for g in gone) == sorted([*ids, batch_item(edited[1])["id"]])
