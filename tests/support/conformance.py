"""Replay the recorded Mautic 5.1.0 exchanges against one fresh simulator and compare shapes.

Placeholders in the recorded requests (``Basic <admin:password>``, ``<client_id>``, tokens, the session cookie,
the authorization code) are replaced by the simulator's values; ids the recording created are mapped to the
ids the simulator assigned (learned by walking both responses in parallel). Each response is compared on
status, the presence of the ``Mautic-Version`` header and the JSON shape: keys, value types and container kinds
(id-keyed object vs array). Values, lengths and ``null`` vs a value are not compared (they depend on time,
ids and data). Run ``python -m tests.support.conformance`` for a report.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import http.client
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from mautic_sim import Simulator
from mautic_sim.recording import Exchange, load_all

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "mautic-5.1.0"
DOCS = REPO / "docs" / "simulator.md"
USER, PASSWORD = "admin", "corpus-pass"

# item/list keys (and some reference keys) -> id namespace
NAMESPACES = {
    "contact": "contacts", "contacts": "contacts", "lead": "contacts", "company": "companies", "companies": "companies",
    "field": "fields", "fields": "fields", "list": "segments", "lists": "segments", "campaign": "campaigns",
    "campaigns": "campaigns", "tag": "tags", "tags": "tags", "stage": "stages", "stages": "stages",
    "category": "categories", "categories": "categories", "note": "notes", "notes": "notes", "asset": "assets",
    "assets": "assets", "form": "forms", "forms": "forms", "page": "pages", "pages": "pages", "email": "emails",
    "emails": "emails", "point": "points", "points": "points", "trigger": "pointtriggers", "triggers": "pointtriggers",
    "hook": "webhooks", "hooks": "webhooks", "role": "roles", "roles": "roles", "user": "users", "users": "users",
    "owner": "users", "dynamicContent": "dynamiccontents", "dynamicContents": "dynamiccontents", "focus": "focus",
    "sms": "smses", "smses": "smses", "message": "messages", "messages": "messages", "notification": "notifications",
    "notifications": "notifications", "device": "devices", "devices": "devices", "report": "reports",
    "reports": "reports", "tweet": "tweets", "tweets": "tweets", "event": "campaignevents", "events": "campaignevents",
    "utmtags": "utm", "submission": "submissions", "submissions": "submissions",
}
# path words -> namespace of the number that follows
PATH_NS = {
    "contacts": "contacts", "contact": "contacts", "companies": "companies", "segments": "segments",
    "campaigns": "campaigns", "events": "campaignevents", "stages": "stages", "forms": "forms", "emails": "emails",
    "smses": "smses", "users": "users", "reports": "reports", "assets": "assets", "pages": "pages", "notes": "notes",
    "tags": "tags", "roles": "roles", "categories": "categories", "hooks": "webhooks", "focus": "focus",
    "dynamiccontents": "dynamiccontents", "messages": "messages", "notifications": "notifications",
    "devices": "devices", "tweets": "tweets", "triggers": "pointtriggers", "points": "points", "utm": "utm",
    "submissions": "submissions", "clone": "campaigns", "groups": "pointgroups",
}
BODY_NS = {"lead": "contacts", "owner": "users", "stage": "stages", "category": "categories", "companies": "companies",
           "role": "roles", "eventId": "campaignevents", "contactId": "contacts", "lists": "segments"}


@dataclass
class Result:
    name: str
    ok: bool
    problems: list[str] = field(default_factory=list)


def kind(v: Any) -> str:
    if v is None or v == "":
        return "null"  # Mautic serializes blanks as null or "": both mean "no value"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "idmap" if v and all(re.fullmatch(r"-?\d+", k) for k in v) else "object"
    return type(v).__name__


def merged(items: list[Any]) -> Any:
    """The elements of a list as one: objects are merged key by key (the first non-null value wins), so rows that
    leave out null keys (stats) still show every key the list uses."""
    if not all(isinstance(x, dict) for x in items) or any(kind(x) == "idmap" for x in items):
        return next((x for x in items if kind(x) != "null"), items[0])
    out: dict[str, Any] = {}
    for item in items:
        for k, v in item.items():
            if kind(out.get(k)) == "null":
                out[k] = v
    return out


def shape_diff(rec: Any, sim: Any, path: str = "$") -> list[str]:
    """Differences in shape between a recorded and a simulated JSON value."""
    kr, ks = kind(rec), kind(sim)
    if "null" in (kr, ks):
        return []
    if {kr, ks} == {"object", "idmap"}:
        # an empty object is both; otherwise keys that are data (ids, indexes) vs named keys is a real difference
        return [] if not rec or not sim else [f"{path}: container {kr} vs {ks}"]
    if kr != ks:
        return [f"{path}: {kr} vs {ks}"]
    if kr == "array":
        if rec and sim:
            return shape_diff(merged(rec), merged(sim), f"{path}[*]")
        return []
    if kr == "idmap":
        return shape_diff(merged(list(rec.values())), merged(list(sim.values())), f"{path}{{*}}")
    if kr == "object":
        out = []
        missing = [k for k in rec if k not in sim]
        extra = [k for k in sim if k not in rec]
        if missing:
            out.append(f"{path}: missing keys {missing[:8]}")
        if extra:
            out.append(f"{path}: extra keys {extra[:8]}")
        for k in rec:
            if k in sim:
                out += shape_diff(rec[k], sim[k], f"{path}.{k}")
        return out
    return []


def error_messages(body: Any) -> list[str]:
    """The ``errors[].message`` texts, with numbers and file paths masked (they depend on ids and the host)."""
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list | dict):
        return []
    errors = body["errors"].values() if isinstance(body["errors"], dict) else body["errors"]
    out = []
    for e in errors:
        msg = str(e.get("message", "")) if isinstance(e, dict) else str(e)
        out.append(re.sub(r"\d+", "#", re.sub(r'"/[^"]*"', '"<path>"', msg)))
    return out


class Replayer:
    """Runs the corpus against one simulator, keeping the id maps and the credentials the recording used."""

    def __init__(self, sim: Simulator):
        self.sim = sim
        self.ids: dict[str, dict[int, int]] = {}
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.auth_code: str | None = None
        self.cookie: str | None = None
        self.strings: dict[str, str] = {}
        self.bogus: str | None = None

    def follow_recorded_time(self, ex: Exchange) -> None:
        """The simulator's clock reads the recording's ``Date``, so rows created while replaying are as far
        apart as they were on the real server: an event list ordered by timestamp then orders them as the
        recording does, however fast (or slowly, on a loaded machine) the replay runs."""
        stamp = ex.resp_headers.get("date")
        if stamp:
            moment = email.utils.parsedate_to_datetime(stamp).astimezone(timezone.utc)
            self.sim.app.clock = lambda: moment

    # -- id mapping ---------------------------------------------------------------------------
    def learn(self, rec: Any, sim: Any, ns: str | None) -> None:
        if isinstance(rec, dict) and isinstance(sim, dict):
            if kind(rec) == "idmap":  # keyed by id or by batch index: the values share the namespace
                for k, v in rec.items():
                    if k in sim:
                        self.learn(v, sim[k], ns)
                return
            rid, sid = rec.get("id"), sim.get("id")
            if ns and isinstance(rid, int) and isinstance(sid, int) and not isinstance(rid, bool):
                self.ids.setdefault(ns, {}).setdefault(rid, sid)
            for k, v in rec.items():
                if k in sim and k not in ("fields", "all"):
                    self.learn(v, sim[k], NAMESPACES.get(k))
        elif isinstance(rec, list) and isinstance(sim, list) and len(rec) == len(sim):
            def key(x: Any) -> str:
                return str(x.get("tag") or x.get("name") or x.get("alias") or x.get("title") or "") if isinstance(x, dict) else ""
            if all(isinstance(x, dict) for x in rec + sim):
                rec, sim = sorted(rec, key=key), sorted(sim, key=key)
            for a, b in zip(rec, sim, strict=False):
                self.learn(a, b, ns)

    def map_id(self, ns: str | None, value: str) -> str:
        if ns is None or not value.isdigit():
            return value
        return str(self.ids.get(ns, {}).get(int(value), int(value)))

    def map_path(self, path: str) -> str:
        parts = path.split("/")
        ns = None
        out = []
        for i, p in enumerate(parts):
            if p.isdigit():
                prev = parts[i - 1] if i else ""
                if prev in ("plus", "minus", "times", "divide", "set"):
                    out.append(p)
                else:
                    out.append(self.map_id(ns, p))
                continue
            if (p == "contact" and i >= 2 and parts[i - 1] == "fields") or (p == "company" and i >= 2 and parts[i - 1] == "fields"):
                ns = "fields"
            elif p in PATH_NS:
                ns = PATH_NS[p]
            out.append(p)
        return "/".join(out)

    def map_body(self, v: Any, ns: str | None, key: str | None = None) -> Any:
        if isinstance(v, dict):
            return {k: self.map_body(x, BODY_NS.get(k, ns if k in ("id", "ids") else None), k) for k, x in v.items()}
        if isinstance(v, list):
            return [self.map_body(x, ns, key) for x in v]
        if isinstance(v, int) and not isinstance(v, bool) and ns:
            return int(self.map_id(ns, str(v)))
        if isinstance(v, str) and v.isdigit() and ns:
            return self.map_id(ns, v)
        return v

    # -- request building -----------------------------------------------------------------------
    def substitute(self, text: str) -> str:
        basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        text = text.replace("<admin:password>", basic).replace("<client_id>", self.sim.client_id)
        text = text.replace("<client_secret>", self.sim.client_secret).replace("<password>", PASSWORD)
        if self.access_token:
            text = text.replace("<access_token>", self.bogus or self.access_token)
        if self.refresh_token:
            text = text.replace("<refresh_token>", self.refresh_token)
        if self.auth_code:
            text = text.replace("<auth_code>", self.auth_code)
        return text

    def build(self, ex: Exchange) -> tuple[str, str, dict[str, str], bytes]:
        path_ns = None
        raw_path = ex.path
        for old, new in self.strings.items():
            raw_path = raw_path.replace(old, new)
        path = self.map_path(raw_path)
        for word in reversed(ex.path.split("/")):
            if word in PATH_NS and not word.isdigit():
                path_ns = PATH_NS[word]
                break
        query = self.substitute(ex.query)
        if query:
            pairs = []
            for k, v in parse_qsl(query, keep_blank_values=True):
                if k == "ids":
                    v = ",".join(self.map_id(path_ns, x) for x in v.split(","))
                elif k == "search" and v.startswith("ids:"):
                    v = "ids:" + ",".join(self.map_id("contacts", x) for x in v[4:].split(","))
                pairs.append((k, v))
            query = urlencode(pairs, quote_via=quote, safe="<>")
        headers = {}
        for k, v in ex.req_headers.items():
            if k in ("host", "content-length", "connection"):
                continue
            if k == "cookie":
                if self.cookie:
                    headers["Cookie"] = self.cookie
                continue
            headers[k] = self.substitute(v)
        body = ex.req_body
        ctype = ex.req_headers.get("content-type", "")
        if body and "multipart" not in ctype:
            text = self.substitute(body.decode("utf-8"))
            if "json" in ctype:
                with contextlib.suppress(ValueError):
                    text = json.dumps(self.map_body(json.loads(text), path_ns))
            body = text.encode("utf-8")
        target = path + (f"?{query}" if query else "")
        return ex.method, target, headers, body

    # -- run ------------------------------------------------------------------------------------
    def configure(self, ex: Exchange) -> None:
        """Files 706-713 come from a copy of the instance with the API or Basic auth switched off (NOTES.md)."""
        n = int(ex.name[:3])
        app = self.sim.app
        app.api_enabled = not (706 <= n <= 710)
        app.basic_auth = not (711 <= n <= 713)

    def run_one(self, ex: Exchange) -> Result:
        self.configure(ex)
        self.follow_recorded_time(ex)
        # the recording hides every bearer token behind one placeholder, including the deliberately bogus one
        self.bogus = "bogus-token-0000" if "bogus-token" in ex.name else None
        method, target, headers, body = self.build(ex)
        conn = http.client.HTTPConnection(self.sim.host, self.sim.port, timeout=30)
        headers["Content-Length"] = str(len(body))
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        sim_headers = {k.lower(): v for k, v in resp.getheaders()}
        conn.close()
        self.remember(sim_headers, raw)
        rec_body = ex.resp_json()
        if isinstance(rec_body, dict) and isinstance(rec_body.get("file"), dict):
            try:
                sim_file = json.loads(raw).get("file") or {}
                self.strings[rec_body["file"]["name"]] = sim_file["name"]
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
        problems = []
        if resp.status != ex.status:
            problems.append(f"status {ex.status} vs {resp.status}")
        # Set-Cookie matters for the OAuth2 login flow only (elsewhere it is PHP's session start, not API data)
        for header in ("mautic-version", "location", "set-cookie"):
            if header == "set-cookie" and not ex.path.startswith("/oauth"):
                continue
            if (header in ex.resp_headers) != (header in sim_headers):
                problems.append(f"{header} header recorded={header in ex.resp_headers} sim={header in sim_headers}")
        if ex.http_version != f"HTTP/{resp.version / 10:.1f}":
            problems.append(f"status line {ex.http_version} vs HTTP/{resp.version / 10:.1f}")
        rec_json = ex.resp_json()
        try:
            sim_json = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            sim_json = None
        if rec_json is None:
            rtype = ex.resp_headers.get("content-type", "").split(";")[0]
            stype = sim_headers.get("content-type", "").split(";")[0]
            if rtype != stype:
                problems.append(f"content-type {rtype} vs {stype}")
        elif sim_json is None and raw:
            problems.append("simulator answered non-JSON")
        else:
            if resp.status == ex.status:
                problems += shape_diff(rec_json, sim_json)
                rec_msgs, sim_msgs = error_messages(rec_json), error_messages(sim_json)
                if rec_msgs != sim_msgs:
                    problems.append(f"error messages {rec_msgs} vs {sim_msgs}")
                for key in ("statusCodes", "success", "recordFound"):  # outcomes that follow from the request alone
                    if isinstance(rec_json, dict) and isinstance(sim_json, dict) and key in rec_json and \
                            rec_json[key] != sim_json.get(key):
                        problems.append(f"{key} {rec_json[key]} vs {sim_json.get(key)}")
            learnable = ex.method in ("POST", "PUT", "PATCH") and resp.status == ex.status
            if learnable and isinstance(rec_json, dict) and isinstance(sim_json, dict):
                for k in rec_json:
                    if k in sim_json and k in NAMESPACES:
                        self.learn(rec_json[k], sim_json[k], NAMESPACES[k])
        return Result(ex.name, not problems, problems)

    def remember(self, headers: dict[str, str], raw: bytes) -> None:
        if "set-cookie" in headers:
            self.cookie = headers["set-cookie"].split(";")[0]
        loc = headers.get("location", "")
        m = re.search(r"[?&]code=([^&]+)", loc)
        if m:
            self.auth_code = m.group(1)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return
        if isinstance(body, dict) and isinstance(body.get("access_token"), str):
            self.access_token = body["access_token"]
            if body.get("refresh_token") and self.refresh_token is None:
                self.refresh_token = body["refresh_token"]


def listed_differences(docs: Path = DOCS, section: str = "## deliberate differences") -> dict[str, str]:
    """The deliberate differences declared in docs/simulator.md: ``- `NNN-name.http`: reason`` lines."""
    out: dict[str, str] = {}
    if not docs.exists():
        return out
    in_section = False
    for line in docs.read_text().splitlines():
        if line.startswith("## "):
            in_section = line.strip().lower().startswith(section)
            continue
        m = re.match(r"- `(\d{3}-[^`]+\.http)`:\s*(.+)", line.strip())
        if in_section and m:
            out[m.group(1)] = m.group(2)
    return out


def replay_all(corpus: Path = CORPUS, switches: bool = True) -> list[Result]:
    """Every exchange of ``corpus`` against one fresh simulator; ``switches``: the corpus's 706-713 ran with the API
    or Basic auth off (other folders, such as tests/fixtures/real-5.1.0, ran with both on)."""
    exchanges = load_all(corpus)
    with Simulator(contacts=0, seed=1, username=USER, password=PASSWORD) as sim:
        rp = Replayer(sim)
        if not switches:
            rp.configure = lambda ex: None  # type: ignore[method-assign]  # this run: no per-exchange switches
        return [rp.run_one(ex) for ex in exchanges]


def main() -> int:
    if not CORPUS.exists():
        print(f"corpus not found: {CORPUS}")
        return 2
    results = replay_all()
    listed = listed_differences()
    bad = [r for r in results if not r.ok]
    for r in bad:
        tag = "LISTED" if r.name in listed else "FAIL"
        print(f"{tag} {r.name}: {'; '.join(r.problems)[:400]}")
    print(f"{len(results) - len(bad)} of {len(results)} pass, {len(listed)} listed, "
          f"{len([r for r in bad if r.name not in listed])} unlisted failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
