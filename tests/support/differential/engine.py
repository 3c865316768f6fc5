"""Send one scripted list of requests to two Mautic servers and report how their answers differ.

A :class:`Step` is data: method, path, query, body, how to authenticate, and which earlier answers' values it
uses (``${name}`` in the path, query or body; ``name`` is what an earlier step ``save``d or ``capture``d). Each
side (:class:`Side`) keeps its own values for those names, its session cookie and its tokens, so ids, tokens and
authorization codes map by name, as the conformance replay maps the recorded ids.

Compared per step (:func:`compare`): the status and status line, the headers that carry meaning
(``HEADERS``), the JSON shape (``tests.support.conformance.shape_diff``: keys, value types, id-keyed object vs
array) and the values, with volatile ones (ids, times, tokens, codes; ``VOLATILE_KEYS`` and the time patterns)
left out. Non-JSON bodies are compared on content type only.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from tests.support.conformance import kind, shape_diff

# headers whose presence and value matter to a client (Location is compared with its host and volatile parts masked)
HEADERS = ("content-type", "mautic-version", "www-authenticate", "location", "allow", "retry-after",
           "x-ratelimit-limit")
# keys whose values depend on time, ids or secrets (compared for presence and type only)
VOLATILE_KEYS = {
    "id", "dateAdded", "dateModified", "dateIdentified", "lastActive", "dateTime", "date_added", "date_modified",
    "date_identified", "last_active", "access_token", "refresh_token", "token", "code", "revision", "publicId",
    "timestamp", "dateLastActive", "lastLogin", "checkedOut", "lead", "lead_id", "leadId", "contactId", "object_id",
    "objectId", "lastSubmission", "dateTriggered", "dateFired", "date_triggered", "manipulator", "actionId",
    "uniqueId", "uniqueHash", "tempName", "trackingId", "secret", "randomId", "fingerprint", "ipAddress",
    "ip_address", "ipAddresses", "dateLastLogin", "sessionId", "deviceFingerprint", "lastLoggedIn", "date_last_active",
    "dateRead", "dateSent", "checkedOutBy", "eventId", "campaignId", "event_id",
    "campaign_id", "internal_id", "channelId", "channel_id", "stage_id", "owner_id", "form_id", "list_id",
}
# arrays whose order is not defined when their sort key ties (the activity timeline sorts by a timestamp)
UNORDERED = {"events"}
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?([+-]\d{2}:?\d{2}|Z)?$")
_REF = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


@dataclass
class Step:
    """One request of the script; ``save`` names the id of the created/edited item (first object with an ``id``),
    ``capture`` names other values: ``{name: ("json", "a.b.0") | ("location", regex) | ("body", regex)}``."""

    name: str
    method: str
    path: str
    query: list[tuple[str, str]] | dict[str, str] | None = None
    body: Any = None
    form: bool = False  # send body form-encoded (application/x-www-form-urlencoded)
    raw: str | None = None  # send this text as the body, verbatim (with ${ref}s filled), as JSON
    auth: str = "basic"  # basic | badpass | none | bearer:<ref> | user:<username>:<password> | token-query:<ref>
    save: str | None = None
    capture: dict[str, tuple[str, str]] = field(default_factory=dict)
    cookie: bool = False  # send the side's session cookie
    headers: dict[str, str] = field(default_factory=dict)
    note: str = ""  # why the step exists (shown in the report and the recording index)


@dataclass
class Answer:
    status: int
    version: str
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except (UnicodeDecodeError, ValueError):
            return None


@dataclass
class Sent:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes


class Side:
    """One server and what the script has learned from its answers (ids, tokens, cookie) by name."""

    def __init__(self, label: str, url: str, username: str, password: str, client_id: str = "", client_secret: str = ""):
        self.label = label
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.username, self.password = username, password
        self.refs: dict[str, Any] = {"client_id": client_id, "client_secret": client_secret,
                                     "password": password, "username": username}
        self.cookie: str | None = None

    # -- filling the step -------------------------------------------------------------------------
    def fill(self, value: Any) -> Any:
        """``${name}`` replaced by this side's value (a lone ``${name}`` keeps the value's type)."""
        if isinstance(value, str):
            whole = _REF.fullmatch(value)
            if whole:
                return self.refs.get(whole.group(1), 999998)
            return _REF.sub(lambda m: str(self.refs.get(m.group(1), 999998)), value)
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.fill(v) for v in value]
        return value

    def build(self, step: Step) -> Sent:
        path = self.fill(step.path)
        target = quote(path, safe="/:@!$&'()*+,;=-._~%")
        query = step.query.items() if isinstance(step.query, dict) else (step.query or [])
        pairs = [(str(self.fill(k)), str(self.fill(v))) for k, v in query]
        auth = step.auth
        if auth.startswith("token-query:"):
            pairs.append(("access_token", str(self.refs.get(auth.split(":", 1)[1], "none"))))
        if pairs:
            target += "?" + urlencode(pairs, quote_via=quote)
        headers: list[tuple[str, str]] = [("Host", f"{self.host}:{self.port}"), ("Accept", "application/json")]
        if auth in ("basic", "badpass") or auth.startswith("user:"):
            user, pw = self.username, self.password
            if auth == "badpass":
                pw = "wrong-password"
            elif auth.startswith("user:"):
                _, user, pw = auth.split(":", 2)
            headers.append(("Authorization", "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()))
        elif auth.startswith("bearer:"):
            token = self.refs.get(auth.split(":", 1)[1], auth.split(":", 1)[1])
            headers.append(("Authorization", f"Bearer {token}"))
        for k, v in step.headers.items():
            headers.append((k, str(self.fill(v))))
        if step.cookie and self.cookie:
            headers.append(("Cookie", self.cookie))
        body = b""
        if step.raw is not None:
            body = str(self.fill(step.raw)).encode()
            headers.append(("Content-Type", "application/json"))
        elif step.body is not None:
            data = self.fill(step.body)
            if step.form:
                body = urlencode(_flatten(data), quote_via=quote).encode()
                headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            else:
                body = json.dumps(data).encode()
                headers.append(("Content-Type", "application/json"))
        if body or step.method in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(body))))
        headers.append(("Connection", "close"))
        return Sent(step.method, target, headers, body)

    # -- sending ----------------------------------------------------------------------------------
    def send(self, sent: Sent, timeout: float = 60) -> Answer:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(sent.method, sent.target, skip_host=True, skip_accept_encoding=True)
            for k, v in sent.headers:
                conn.putheader(k, v)
            conn.endheaders(sent.body or None)
            resp = conn.getresponse()
            body = resp.read()
            return Answer(resp.status, f"HTTP/{resp.version / 10:.1f}", resp.reason, resp.getheaders(), body)
        finally:
            conn.close()

    def learn(self, step: Step, answer: Answer) -> None:
        """Remember the session cookie and what the step saves or captures."""
        cookie = answer.header("set-cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        data = answer.json()
        if step.save and 200 <= answer.status < 300:
            found = _first_id(data)
            if found is not None:
                self.refs[step.save] = found
        for name, (where, what) in step.capture.items():
            value: Any = None
            if where == "json":
                value = _dig(data, what)
            else:
                text = answer.header("location") or "" if where == "location" else answer.body.decode("utf-8", "replace")
                m = re.search(what, text)
                value = m.group(1) if m else None
            if value is not None:
                self.refs[name] = value


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """PHP bracket form encoding of nested dicts/lists."""
    if isinstance(data, dict):
        out: list[tuple[str, str]] = []
        for k, v in data.items():
            out += _flatten(v, f"{prefix}[{k}]" if prefix else str(k))
        return out
    if isinstance(data, list):
        out = []
        for i, v in enumerate(data):
            out += _flatten(v, f"{prefix}[{i}]")
        return out
    return [(prefix, "" if data is None else str(data))]


def _first_id(data: Any) -> Any:
    if isinstance(data, dict):
        if isinstance(data.get("id"), int) and not isinstance(data.get("id"), bool):
            return data["id"]
        for v in data.values():
            if isinstance(v, dict | list):
                found = _first_id(v)
                if found is not None:
                    return found
    if isinstance(data, list):
        for v in data:
            found = _first_id(v)
            if found is not None:
                return found
    return None


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part) if part in data else (list(data.values())[int(part[1:])] if part.startswith("#") and data else None)
        elif isinstance(data, list) and part.lstrip("#").isdigit() and int(part.lstrip("#")) < len(data):
            data = data[int(part.lstrip("#"))]
        else:
            return None
    return data


# -- comparison -------------------------------------------------------------------------------------
def _mask_location(value: str, side: Side) -> str:
    value = value.replace(side.base, "<base>")
    value = re.sub(r"(code|state)=[^&]+", r"\1=<v>", value)
    value = re.sub(r"client_id=[^&]+", "client_id=<client>", value)
    return re.sub(r"/\d+(?=/|$|\?)", "/<id>", value)


def header_diff(real: Answer, sim: Answer, real_side: Side, sim_side: Side) -> list[str]:
    out = []
    for name in HEADERS:
        a, b = real.header(name), sim.header(name)
        if name == "location":
            a = _mask_location(a, real_side) if a else a
            b = _mask_location(b, sim_side) if b else b
        if name == "content-type":
            a = a.replace(" ", "").lower() if a else a
            b = b.replace(" ", "").lower() if b else b
        if a != b:
            out.append(f"header {name}: real={a!r} sim={b!r}")
    return out


def _volatile(key: str | None, value: Any) -> bool:
    if key in VOLATILE_KEYS:
        return True
    return isinstance(value, str) and bool(_TIME.match(value))


def value_diff(real: Any, sim: Any, path: str = "$", key: str | None = None) -> list[str]:
    """Differences in values, ids/times/tokens left out; id-keyed objects are compared by position."""
    if _volatile(key, real) or _volatile(key, sim):
        return []
    kr, ks = kind(real), kind(sim)
    if kr != ks:
        return []  # a type difference is shape_diff's to report
    if kr == "null":
        return [] if real == sim else [f"{path}: real={real!r} sim={sim!r}"]
    if kr == "idmap":
        real, sim = list(real.values()), list(sim.values())
        kr = "array"
    if kr == "array" and key in UNORDERED and len(real) == len(sim) and sorted(map(_stable, real)) == sorted(map(_stable, sim)):
        return []  # the same rows in another order: rows with one timestamp come in any order
    if kr == "array":
        out = [] if len(real) == len(sim) else [f"{path}: length real={len(real)} sim={len(sim)}"]
        for i, (a, b) in enumerate(zip(real, sim, strict=False)):
            out += value_diff(a, b, f"{path}[{i}]", key)
        return out
    if kr == "object":
        out = []
        for k in real:
            if k in sim:
                out += value_diff(real[k], sim[k], f"{path}.{k}", k)
        return out
    if isinstance(real, float) or isinstance(sim, float):
        return [] if float(real) == float(sim) and type(real) is type(sim) else [f"{path}: real={real!r} sim={sim!r}"]
    return [] if real == sim else [f"{path}: real={_short(real)} sim={_short(sim)}"]


def _stable(v: Any, key: str | None = None) -> str:
    """A value as text with its volatile parts blanked (to compare rows regardless of order)."""
    def strip(x: Any, k: str | None) -> Any:
        if _volatile(k, x):
            return "<v>"
        if isinstance(x, dict):
            return {a: strip(b, a) for a, b in x.items()}
        if isinstance(x, list):
            return [strip(b, k) for b in x]
        return x
    return json.dumps(strip(v, key), sort_keys=True)


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 120 else text[:117] + "..."


def _unbased(answer: Answer, side: Side) -> Any:
    """The JSON body with the server's own base URL replaced by ``<base>`` (links differ by port only)."""
    if answer.json() is None:
        return None
    text = answer.body.decode("utf-8")
    text = text.replace(side.base.replace("/", "\\/"), "<base>").replace(side.base, "<base>")
    return json.loads(text)


def compare(real: Answer, sim: Answer, real_side: Side, sim_side: Side) -> list[str]:
    """Every difference between two answers to the same step, one line each."""
    out = []
    if real.status != sim.status:
        out.append(f"status real={real.status} sim={sim.status}")
    if real.version != sim.version:
        out.append(f"status line real={real.version} sim={sim.version}")
    out += header_diff(real, sim, real_side, sim_side)
    rj, sj = _unbased(real, real_side), _unbased(sim, sim_side)
    if rj is None or sj is None:
        if (rj is None) != (sj is None) and (real.body.strip() or sim.body.strip()):
            out.append(f"body real={'JSON' if rj is not None else 'non-JSON'} sim={'JSON' if sj is not None else 'non-JSON'}")
        return out
    out += [f"shape {d}" for d in shape_diff(rj, sj)]
    out += [f"value {d}" for d in value_diff(rj, sj)]
    return out


@dataclass
class Outcome:
    step: Step
    real_sent: Sent
    real: Answer
    sim: Answer
    differences: list[str]


def run(steps: list[Step], real: Side, sim: Side, progress: Callable[[str], None] | None = None) -> list[Outcome]:
    """Each step to both sides in order; a side's answers feed its own later steps."""
    outcomes = []
    for step in steps:
        sent_real, sent_sim = real.build(step), sim.build(step)
        a, b = real.send(sent_real), sim.send(sent_sim)
        real.learn(step, a)
        sim.learn(step, b)
        diffs = compare(a, b, real, sim)
        outcomes.append(Outcome(step, sent_real, a, b, diffs))
        if progress:
            progress(f"{step.name}: {a.status}/{b.status} {len(diffs)} difference(s)")
    return outcomes
