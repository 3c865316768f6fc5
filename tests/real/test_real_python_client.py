"""README "Using the Python client": every Python block runs, in order, against a real Mautic 5.1.0.

As in tests/e2e/test_readme_python_client.py, the blocks run as written; only the example instance URL and the
example Basic credentials (``api-user`` / ``secret``) are replaced by the real instance's. The README's OAuth2
client is registered in the instance's database with the README's client id and secret, so the first block
really authenticates with the client_credentials grant. Results are checked in MariaDB.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.real.conftest import RealMautic
from tests.real.support import client
from tests.support.readme import CLIENT_ID, CLIENT_SECRET, EXAMPLE_URL, section_blocks

# the PHP-serialized arrays Mautic keeps in oauth2_clients (the real-mautic README shows the format)
GRANTS = 'a:2:{i:0;s:18:"client_credentials";i:1;s:13:"refresh_token";}'
REDIRECTS = 'a:1:{i:0;s:30:"http://127.0.0.1:8765/callback";}'


def test_python_blocks_run_against_a_real_mautic(real: RealMautic, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    row_id, random_id = CLIENT_ID.split("_", 1)
    real.execute("INSERT INTO oauth2_clients (id, role_id, name, random_id, secret, redirect_uris, "
                 "allowed_grant_types) VALUES (%s, 1, 'README client', %s, %s, %s, %s)",
                 int(row_id), random_id, CLIENT_SECRET, REDIRECTS, GRANTS)
    api = client(real)
    try:  # 30 contacts: 20 with an @example.com address, 10 anonymous visitors (no email)
        items = [{"email": f"person{i}@example.com", "firstname": f"P{i}"} if i % 3
                 else {"firstname": f"V{i}"} for i in range(30)]
        assert all(r.ok for r in api.batch_new("contacts", items))
    finally:
        api.close()
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "readme"}
    blocks = [code for lang, code in section_blocks() if lang == "python"]
    for index, code in enumerate(blocks):
        code = code.replace(EXAMPLE_URL, real.url).replace('"api-user"', repr(real.username))
        code = code.replace('"secret"', repr(real.password))
        exec(compile(code, f"README python block {index + 1}", "exec"), namespace)
        if index == 0:  # the README's OAuth2 client really authenticates
            assert namespace["client"].context("contacts").get_list(limit=1).total == 30

    assert namespace["contact"]["fields"]["all"]["firstname"] == "Updated Name"
    created = real.sql("SELECT id, firstname, lastname FROM leads WHERE email = 'ada@example.org'")
    assert created == []  # deleted by the README's delete block
    assert namespace["deleted"]
    assert namespace["recent"] == [int(r["id"]) for r in real.sql("SELECT id FROM leads WHERE id <= 50 "
                                                                  "ORDER BY id")]
    with_email = real.sql("SELECT COUNT(*) AS n FROM leads WHERE email LIKE '%%@example.com'")[0]["n"]
    assert with_email == 20 and namespace["total_contacts"] == 20 and len(namespace["contacts"]) == 10
    assert real.sql("SELECT COUNT(*) AS n FROM leads WHERE email IN ('a@example.org', 'b@example.org')"
                    )[0]["n"] == 0
    printed = capsys.readouterr().out
    assert re.search(r"^404 DELETE /api/contacts/\d+/delete -> 404: Item was not found\.$", printed, re.M)
