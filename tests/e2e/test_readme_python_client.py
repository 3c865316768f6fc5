"""The README section "Using the Python client": every Python block runs, in order, against the simulator.

The blocks are executed as written; only the instance URL ``https://mautic.example.com`` is replaced by the
simulator's, whose user and OAuth2 client carry the README's example credentials.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mautic_sim import Simulator
from tests.support.readme import CLIENT_ID, CLIENT_SECRET, EXAMPLE_URL, section_blocks


def test_each_php_example_has_its_python_equivalent() -> None:
    languages = [lang for lang, _ in section_blocks()]
    assert languages.count("python") >= 10
    assert languages.count("php") == languages.count("python")
    pairs = list(zip(languages[::2], languages[1::2], strict=True))
    assert all(pair == ("php", "python") for pair in pairs), languages  # side by side: PHP, then Python


def test_python_blocks_run_against_the_simulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    with Simulator(contacts=30, username="api-user", password="secret", client_id=CLIENT_ID,
                   client_secret=CLIENT_SECRET) as sim:
        namespace: dict[str, Any] = {"__name__": "readme"}
        blocks = [code for lang, code in section_blocks() if lang == "python"]
        for index, code in enumerate(blocks):
            exec(compile(code.replace(EXAMPLE_URL, sim.url), f"README python block {index + 1}", "exec"), namespace)
            if index == 0:  # the OAuth2 client really authenticates (client_credentials: no tokens stored yet)
                assert namespace["client"].context("contacts").get_list(limit=1).total == 30
                assert any(r["path"] == "/oauth/v2/token" and r["status"] == 200 for r in sim.request_log)

        assert namespace["contact"]["fields"]["all"]["firstname"] == "Updated Name"
        assert namespace["contact"]["fields"]["all"]["lastname"] == "Lovelace"  # PATCH kept it
        assert namespace["deleted"] and namespace["recent"] == list(range(1, 31))
        with_email = sim.query("SELECT COUNT(*) AS n FROM leads WHERE email LIKE '%@example.com'")[0]["n"]
        assert 10 < with_email < 30  # the seed has anonymous visitors: the search really filtered
        assert namespace["total_contacts"] == with_email and len(namespace["contacts"]) == 10
        assert sim.query("SELECT COUNT(*) AS n FROM leads WHERE email = 'ada@example.org'")[0]["n"] == 0
        assert sim.query("SELECT COUNT(*) AS n FROM leads WHERE email IN ('a@example.org', 'b@example.org')"
                         )[0]["n"] == 0
        assert not any(r["method"] == "PUT" for r in sim.request_log)
        printed = capsys.readouterr().out
        assert re.search(r"^404 DELETE /api/contacts/\d+/delete -> 404: Item was not found\.$", printed, re.M)
