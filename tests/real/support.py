"""Seed data for the real-server suite, written through Mautic's API, and checked against MariaDB.

The seed is small enough to write in a few seconds at ~0.4 s a request (batches of 100), large enough that
the tap pages (more than one page of contacts at ``page_size`` 100) and that the stats tables hold rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mautic_api.client import MauticClient
from tests.real.conftest import RealMautic
from tests.support.api import batch_item

ROOT = Path(__file__).resolve().parents[2]

# custom contact fields of every kind the codec types (alias -> (type, extra properties))
CONTACT_FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    "acc_ratio": ("number", {"properties": {"roundmode": 4, "scale": 2}}),
    "is_vip": ("boolean", {"properties": {"no": "No", "yes": "Yes"}}),
    "renewal_on": ("date", {}),
    "plan": ("select", {"properties": {"list": [{"label": "Free", "value": "free"},
                                                {"label": "Pro", "value": "pro"}]}}),
}


@dataclass
class Seed:
    """What the seed wrote: ids by kind, so tests can pick records to edit or delete."""

    contacts: list[int] = field(default_factory=list)
    companies: list[int] = field(default_factory=list)
    segment: int = 0
    notes: list[int] = field(default_factory=list)


def client(real: RealMautic) -> MauticClient:
    return MauticClient({"base_url": real.url, "username": real.username, "password": real.password})


def seed(real: RealMautic, contacts: int = 230) -> Seed:
    """Custom fields, contacts (custom values set), companies, a segment with members, notes, points."""
    api = client(real)
    out = Seed()
    try:
        for alias, (kind, extra) in CONTACT_FIELDS.items():
            api.request("POST", "/api/fields/contact/new",
                        json={"label": alias.replace("_", " ").title(), "alias": alias, "type": kind,
                              "object": "contact", **extra})
        for start in range(0, contacts, 100):
            items = [
                {"email": f"real{i}@example.org", "firstname": f"First{i}", "lastname": f"Last{i}",
                 "city": f"City {i % 7}", "acc_ratio": 1 + (i % 50) / 4, "is_vip": i % 3 == 0,
                 "renewal_on": f"2027-0{1 + i % 9}-1{i % 10}", "plan": "pro" if i % 2 else "free"}
                for i in range(start, min(start + 100, contacts))
            ]
            out.contacts += [int(batch_item(r)["id"]) for r in api.batch_new("contacts", items) if r.ok]
        for name in ("Acme Real", "Globex Real", "Initech Real"):
            _, item = api.create("companies", {"companyname": name, "companycity": "Lyon"})
            out.companies.append(int(item["id"]))
        _, segment = api.create("segments", {"name": "Real members", "alias": "real-members",
                                             "isPublished": True})
        out.segment = int(segment["id"])
        api.request("POST", f"/api/segments/{out.segment}/contacts/add",
                    json={"ids": out.contacts[:40]})
        for contact_id in out.contacts[:5]:
            api.request("POST", f"/api/companies/{out.companies[0]}/contact/{contact_id}/add")
            api.request("POST", f"/api/contacts/{contact_id}/points/plus/7")
            _, note = api.create("notes", {"lead": contact_id, "text": f"note of {contact_id}",
                                           "type": "general"})
            out.notes.append(int(note["id"]))
    finally:
        api.close()
    return out


def campaign(api: MauticClient, segment: int, name: str = "Real campaign") -> int:
    """An unpublished campaign on ``segment`` (5.1.0 refuses one without an event, HTTP 400: one points
    action, never triggered); its id."""
    _, item = api.create("campaigns", {
        "name": name, "isPublished": False, "lists": [{"id": segment}],
        "events": [{"id": "new_1", "name": "Points", "type": "lead.changepoints", "eventType": "action",
                    "order": 1, "properties": {"points": 1}, "triggerMode": "immediate",
                    "triggerInterval": 0, "triggerIntervalUnit": "d", "decisionPath": None,
                    "parent": None, "anchor": "leadsource"}],
        "canvasSettings": {"nodes": [{"id": "new_1", "positionX": "100", "positionY": "200"},
                                     {"id": "lists", "positionX": "100", "positionY": "50"}],
                           "connections": [{"sourceId": "lists", "targetId": "new_1",
                                            "anchors": {"source": "leadsource", "target": "top"}}]}})
    return int(item["id"])


def run_target(real: RealMautic, tmp_path: Path, lines: Iterable[Mapping[str, Any]],
               **settings: Any) -> tuple[int, list[dict[str, Any]], str]:
    """``target-mautic`` as a process over Singer lines: (exit code, results lines, stderr)."""
    results = tmp_path / f"results-{len(list(tmp_path.glob('results-*')))}.jsonl"
    config = tmp_path / "target-config.json"
    config.write_text(json.dumps(real.config(results_path=str(results), **settings)))
    text = "".join(json.dumps(line) + "\n" for line in lines)
    done = subprocess.run([str(Path(sys.executable).parent / "target-mautic"), "--config", str(config)],
                          input=text, capture_output=True, text=True, timeout=600, cwd=ROOT)
    rows = [json.loads(x) for x in results.read_text().splitlines()] if results.exists() else []
    return done.returncode, rows, done.stderr


def singer(stream: str, schema: dict[str, Any], records: Iterable[Mapping[str, Any]],
           key: list[str] | None = None) -> list[dict[str, Any]]:
    """SCHEMA then RECORD messages of one stream."""
    out: list[dict[str, Any]] = [{"type": "SCHEMA", "stream": stream, "schema": schema,
                                  "key_properties": key or []}]
    out += [{"type": "RECORD", "stream": stream, "record": dict(r)} for r in records]
    return out


def snapshot(stream: str, schema: dict[str, Any], records: Iterable[Mapping[str, Any]], version: int,
             key: list[str] | None = None) -> list[dict[str, Any]]:
    """A full snapshot of one stream: SCHEMA, ACTIVATE_VERSION, the RECORDs of ``version``, ACTIVATE_VERSION
    again (sync_mode mirror acts only on a snapshot begun and completed in the input)."""
    lines = singer(stream, schema, records, key)
    for line in lines[1:]:
        line["version"] = version
    opening = {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}
    return [lines[0], opening, *lines[1:], opening]
