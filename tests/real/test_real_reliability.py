"""Issue 19's reliability defects against a real Mautic 5.1.0 (opt-in: ``make test-real``).

The oracle is the instance's MariaDB, never the API under test.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mautic_api.client import MauticClient

BIN = Path(sys.executable).parent


def run(tool: str, tmp_path: Path, config: dict[str, Any], *args: str, stdin: str = ""
        ) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{tool}.json"
    path.write_text(json.dumps(config))
    return subprocess.run([str(BIN / tool), "--config", str(path), *args], input=stdin, capture_output=True,
                          text=True, timeout=600, check=False, cwd=str(tmp_path))


# -- defect 4: a SCHEMA naming a field deleted in Mautic --------------------------------------------------
def test_a_field_deleted_after_the_input_was_produced(real: Any, tmp_path: Path) -> None:
    """Real Mautic 5.1.0, 2026-12-06: POST /api/fields/contact/new (alias favourite_colour) -> 201, DELETE
    /api/fields/contact/{id}/delete -> 200; GET /api/fields/contact no longer lists it, so the target refuses
    a SCHEMA with that property. Every record of the input gets a not_written line; nothing is written."""
    client = MauticClient(real.config())
    body = client.request("POST", "fields/contact/new",
                          json={"label": "Favourite colour", "alias": "favourite_colour", "type": "text"})
    field_id = body["field"]["id"]
    client.request("DELETE", f"fields/contact/{field_id}/delete")
    assert not real.sql("SELECT id FROM lead_fields WHERE alias = 'favourite_colour'")

    properties = {"email": {"type": "string"}, "favourite_colour": {"type": "string"}}
    schema = {"type": "SCHEMA", "stream": "contacts", "key_properties": ["email"],
              "schema": {"type": "object", "properties": properties}}
    rows = [{"email": f"deleted.field.{i}@example.org", "favourite_colour": "teal"} for i in range(12)]
    text = "\n".join([json.dumps(schema), *(json.dumps({"type": "RECORD", "stream": "contacts", "record": r})
                                           for r in rows)]) + "\n"
    results = tmp_path / "results.jsonl"
    done = run("target-mautic", tmp_path, real.config(results_path=str(results)), stdin=text)

    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert "'favourite_colour'" in last and len(last.split("| ", 2)[-1]) < 300, last
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [line["key"] for line in lines] == [{"email": r["email"]} for r in rows]
    assert {line["outcome"] for line in lines} == {"not_written"}
    assert all(line["message"].startswith("the run stopped before this record: ") for line in lines)
    assert not real.sql("SELECT id FROM leads WHERE email LIKE 'deleted.field.%%'")


# -- defect 3: Mautic going down while the tap reads a stream --------------------------------------------
class GoingDown:
    """A TCP relay in front of the real server that goes down (closes everything, refuses new connections)
    at the ``nth`` request line for ``path``: the real server's answers, the outage of the trial."""

    def __init__(self, upstream: tuple[str, int], path: str, nth: int) -> None:
        self.upstream, self.path, self.nth = upstream, path.encode(), nth
        self.seen = 0
        self.down = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.down.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        try:
            while data := src.recv(65536):
                if requests and data.startswith(b"GET " + self.path):
                    self.seen += 1
                    if self.seen == self.nth:
                        self.go_down()
                        return
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)  # the real server ends an answer by closing (HTTP/1.0, no length)
        except OSError:
            pass

    def go_down(self) -> None:
        self.down.set()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def relay(real: Any) -> Iterator[GoingDown]:
    """Three contacts (three pages of one), and the relay going down at the second page."""
    MauticClient(real.config()).request("POST", "contacts/batch/new", json=[
        {"email": f"outage.{i}@example.org"} for i in range(3)])
    host, port = real.url.split("//", 1)[1].split(":")
    proxy = GoingDown((host, int(port.rstrip("/"))), "/api/contacts?", nth=2)
    yield proxy
    proxy.go_down()


def test_an_outage_during_a_stream_read_ends_in_one_line(real: Any, relay: GoingDown, tmp_path: Path) -> None:
    """The relay passes the field discovery and the first page of contacts, then Mautic is gone (real
    Mautic 5.1.0 behind it, 2026-12-06)."""
    config = real.config(base_url=f"http://127.0.0.1:{relay.port}", page_size=1, max_concurrency=1,
                                max_retries=2, backoff_factor=0.1)
    catalog = tmp_path / "catalog.json"
    discovered = run("tap-mautic", tmp_path, config, "--discover")
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    entries = json.loads(discovered.stdout)
    for entry in entries["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == "contacts"
    catalog.write_text(json.dumps(entries))
    done = run("tap-mautic", tmp_path, config, "--catalog", str(catalog))

    assert relay.down.is_set()
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    cause = [line for line in done.stderr.splitlines() if "gave up after" in line]
    assert len(cause) == 1 and cause[0].startswith("tap-mautic: Stream 'contacts': GET /api/contacts: ")
    assert "(check 'base_url'" in cause[0] and cause[0].endswith("(gave up after 3 attempts)")
