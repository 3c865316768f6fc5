"""mautic_api against the Mautic 5.1.0 simulator over loopback: auth flows, faults, errors, every context.

The retry loop's sleep is replaced (the simulator's own timing is untouched), so the tests never wait for
a backoff; the waits the client asked for are recorded and asserted instead.
"""

from __future__ import annotations

import json
import logging
import threading

import pytest

from mautic_api import (
    CONTEXTS,
    AuthError,
    BatchLimitError,
    ConfigurationError,
    MauticAPIError,
    MauticClient,
    NotFoundError,
    RetryableError,
)
from mautic_api.auth import ClientCredentialsAuth, RefreshTokenAuth
from mautic_api.catalog import LIST
from mautic_sim import Simulator
from tests.support.api import batch_item
from tests.support.auth import new_refresh_token
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config

STRONG_PASSWORD = "pw-Zq81-strong"


@pytest.fixture(autouse=True)
def waits(retry_waits: list[float]) -> list[float]:
    return retry_waits


def oauth2_config(sim: Simulator, **extra):
    return {"base_url": sim.url, "client_id": sim.client_id, "client_secret": sim.client_secret, **extra}


# ---------------------------------------------------------------------------------------------- reads


def test_basic_auth_keyset_paging_reads_every_contact(session_sim):
    client = MauticClient(basic_config(session_sim))
    ids: list[int] = []
    last = 0
    while True:
        page = client.list_page(
            "contacts",
            limit=50,
            order_by="id",
            order_dir="ASC",
            where=[{"col": "id", "expr": "gt", "val": last}],
        )
        if not page.records:
            break
        assert isinstance(page.total, int)
        ids.extend(r["id"] for r in page.records)
        last = page.records[-1]["id"]
    expected = [row["id"] for row in session_sim.query("SELECT id FROM leads ORDER BY id")]
    assert ids == expected and len(ids) >= 120
    assert client.version == "5.1.0"
    one = client.get("contacts", ids[0])
    assert one["id"] == ids[0]


def test_every_listable_context_normalises(session_sim):
    client = MauticClient(basic_config(session_sim))
    checked = []
    for ctx in CONTEXTS.values():
        if not ctx.supports(LIST) or ctx.name in ("files", "themes", "stats"):
            continue
        page = client.list_page(ctx, limit=5)
        assert isinstance(page.records, list) and isinstance(page.total, int), ctx.name
        assert all(isinstance(r, dict) and "id" in r for r in page.records), ctx.name
        assert page.total >= len(page.records)
        checked.append(ctx.name)
    assert len(checked) >= 25
    tables = client.stats_tables()
    assert "audit_log" in tables
    page = client.stats_page("audit_log", limit=3, order=[{"col": "id", "dir": "ASC"}])
    assert isinstance(page.total, int) and len(page.records) <= 3
    fields = client.fields("contact")
    assert {"email", "firstname"} <= {f["alias"] for f in fields}


def test_writes_and_batch_partial_success(sim):
    client = MauticClient(basic_config(sim))
    status, created = client.create("contacts", {"email": "api.layer@example.com", "firstname": "Api"})
    assert status == 201
    status, again = client.create("contacts", {"email": "api.layer@example.com", "lastname": "Layer"})
    assert (status, again["id"]) == (200, created["id"])  # matched by email: merged
    assert client.edit("contacts", created["id"], {"city": "Oslo"})["id"] == created["id"]
    with pytest.raises(NotFoundError):
        client.edit("contacts", 999999, {"city": "x"})
    results = client.batch_new(
        "contacts",
        [
            {"email": "b1@example.com"},
            {"email": "b2@example.com", "state": "Lombardy"},
            {"email": "b3@example.com"},
        ],
    )
    assert [r.status for r in results] == [201, 400, 201]
    assert results[1].error and "state" in results[1].error
    assert batch_item(results[0])["id"] != batch_item(results[2])["id"]
    edits = client.batch_edit(
        "contacts", [{"id": batch_item(results[0])["id"], "city": "Rome"}, {"id": 999999, "city": "x"}]
    )
    assert [r.status for r in edits] == [200, 404]
    with pytest.raises(BatchLimitError):
        client.batch_new("contacts", [{"email": f"x{i}@example.com"} for i in range(201)])
    deleted = client.batch_delete("contacts", [batch_item(results[0])["id"], 999999])
    assert [d["id"] for d in deleted] == [batch_item(results[0])["id"]]
    assert client.delete("contacts", created["id"])["id"] == created["id"]


# ---------------------------------------------------------------------------------------------- auth


def count_token_requests(sim: Simulator) -> list[str]:
    """Token requests seen by the simulator, recorded by a hook that runs BEFORE each request is handled
    (so it is complete when the client has its answer, unlike the request log written after answering)."""
    seen: list[str] = []
    sim.add_hook(lambda method, path, query: seen.append(path) if path == "/oauth/v2/token" else None)
    return seen


def statuses(response) -> list[int]:
    return [r.status_code for r in response.history] + [response.status_code]


def test_client_credentials_refetch_after_expire_tokens(sim):
    tokens = count_token_requests(sim)
    client = MauticClient(oauth2_config(sim))
    assert isinstance(client.auth, ClientCredentialsAuth)
    response, _ = client.request_full("GET", "contacts", params={"limit": 1})
    assert (statuses(response), len(tokens)) == ([200], 1)
    sim.expire_tokens()
    response, _ = client.request_full("GET", "contacts", params={"limit": 1})
    assert statuses(response) == [401, 200]  # the 401 re-fetched a token and resent once
    assert len(tokens) == 2


def test_refresh_token_rotation_persisted_across_two_runs(sim, tmp_path):
    tokens = count_token_requests(sim)
    store = tmp_path / "mautic-tokens.json"
    first = new_refresh_token(sim)
    config = oauth2_config(sim, refresh_token=first, token_store_path=str(store))
    # run 1: no access token yet -> one refresh; the rotated pair is saved
    client = MauticClient(config)
    assert isinstance(client.auth, RefreshTokenAuth)
    client.list_page("contacts", limit=1)
    saved = json.loads(store.read_text())
    assert saved["refresh_token"] != first
    assert sim.query("SELECT used FROM oauth2_tokens WHERE token = ?", (first,))[0]["used"] == 1
    assert len(tokens) == 1
    # run 2: the same (now stale) config; the store is read first, so the next refresh uses the saved token
    sim.expire_tokens()
    client = MauticClient(config)
    response, _ = client.request_full("GET", "contacts", params={"limit": 1})
    assert statuses(response) == [401, 200]
    assert len(tokens) == 2
    second = json.loads(store.read_text())["refresh_token"]
    assert second not in (first, saved["refresh_token"])
    assert (
        sim.query("SELECT used FROM oauth2_tokens WHERE token = ?", (saved["refresh_token"],))[0]["used"] == 1
    )
    # a third run without the store would replay the first, single-use token: one clear line
    with pytest.raises(AuthError, match="refresh token was rejected"):
        MauticClient({**config, "token_store_path": None}).list_page("contacts", limit=1)


def test_concurrent_refresh_in_threads_is_one_refresh(sim, tmp_path):
    config = oauth2_config(
        sim, refresh_token=new_refresh_token(sim), token_store_path=str(tmp_path / "t.json")
    )
    client = MauticClient(config)
    client.list_page("contacts", limit=1)
    sim.expire_tokens()
    tokens = count_token_requests(sim)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            client.list_page("contacts", limit=2)
        except BaseException as exc:  # pragma: no cover - asserted below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(tokens) == 1


@pytest.mark.parametrize(
    ("sim_kwargs", "config_kwargs", "cls", "fragment"),
    [
        ({"api": False}, {}, AuthError, "enable the API in Mautic's Configuration > API Settings"),
        ({"basic_auth": False}, {}, AuthError, "Basic auth is disabled"),
        ({}, {"password": "wrong-password-123"}, AuthError, "check settings 'username' and 'password'"),
        (
            {},
            {"auth_method": "oauth2", "client_id": "sim-client", "client_secret": "bad-secret-456"},
            AuthError,
            "check settings 'client_id' and 'client_secret'",
        ),
        (
            {},
            {
                "auth_method": "oauth1a",
                "client_id": "k",
                "client_secret": "s",
                "access_token": "t",
                "access_token_secret": "ts",
            },
            AuthError,
            "OAuth1a was removed in Mautic 4",
        ),
    ],
)
def test_error_mapping_against_the_simulator(sim_kwargs, config_kwargs, cls, fragment, caplog):
    caplog.set_level(logging.DEBUG)
    with Simulator(contacts=3, seed=1, username=SIM_USER, password=STRONG_PASSWORD, **sim_kwargs) as small:
        config = {"base_url": small.url, "username": SIM_USER, "password": STRONG_PASSWORD, **config_kwargs}
        if config_kwargs.get("auth_method") in ("oauth2", "oauth1a"):
            config.pop("username")
            config.pop("password")
        with pytest.raises(cls) as info:
            MauticClient(config).list_page("contacts", limit=1)
    message = str(info.value)
    assert fragment in message and "\n" not in message
    for secret in (STRONG_PASSWORD, "wrong-password-123", "bad-secret-456", "sim-secret", 'oauth_token="t"'):
        assert secret not in message and secret not in caplog.text


def test_wrong_base_url_is_a_configuration_error(session_sim):
    with pytest.raises(ConfigurationError, match="base_url"):
        MauticClient(basic_config(session_sim, base_url=session_sim.url + "/nosuch")).request(
            "GET", "/nosuch/api"
        )


# ---------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", ["429", "502", "503", "504", "reset", "malformed"])
def test_transient_faults_are_retried(sim, kind, waits):
    client = MauticClient(basic_config(sim, max_retries=2))
    sim.schedule_fault(kind, nth=1, path="/api/contacts")
    page = client.list_page("contacts", limit=3, order_by="id")
    assert len(page.records) == 3
    assert len(waits) == 1
    if kind == "429":
        assert 1.0 <= waits[0] < 1.5  # the simulator sends Retry-After: 1


def test_read_timeout_is_retried(waits):
    # The fault stalls 3 s; the client waits 1 s, ample for the retried answer even on a loaded machine.
    with Simulator(
        contacts=3, seed=1, username=SIM_USER, password=SIM_PASSWORD, timeout_fault_s=3.0
    ) as small:
        client = MauticClient(basic_config(small, request_timeout=1.0, max_retries=1))
        small.schedule_fault("timeout", nth=1, path="/api/contacts")
        assert client.list_page("contacts", limit=2).total == 3
    assert len(waits) == 1


def test_generic_500_is_not_retried(sim, waits):
    client = MauticClient(basic_config(sim))
    seen: list[str] = []
    sim.add_hook(lambda method, path, query: seen.append(path))
    sim.schedule_fault("500", nth=1, path="/api/contacts")
    with pytest.raises(MauticAPIError) as info:
        client.list_page("contacts", limit=1)
    assert not isinstance(info.value, RetryableError)
    assert seen == ["/api/contacts"] and waits == []


def test_random_faults_never_lose_a_page(sim):
    sim.set_faults("429:0.15,502:0.1,reset:0.05,malformed:0.05", seed=3)
    client = MauticClient(basic_config(sim, max_retries=8))
    ids: list[int] = []
    last = 0
    while True:
        page = client.list_page(
            "contacts", limit=7, order_by="id", where=[{"col": "id", "expr": "gt", "val": last}]
        )
        if not page.records:
            break
        ids.extend(r["id"] for r in page.records)
        last = ids[-1]
    sim.set_faults(None)
    assert ids == [row["id"] for row in sim.query("SELECT id FROM leads ORDER BY id")]
