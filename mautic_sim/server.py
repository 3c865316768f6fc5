"""HTTP layer: a ThreadingHTTPServer in a daemon thread, with latency, worker slots, fault injection and a request log.

Worker slots: with ``workers`` N > 0 at most N requests are handled at once and the others wait for a slot, as
requests queue for PHP-FPM's N workers behind a web server; latency is spent inside the slot (PHP time). 0 = no
limit (every connection is served at once).

Row cost (``row_ms``, off at 0): a contacts or companies answer costs ``row_ms`` per item it holds, and
``row_ms * write_ratio`` per item when the request writes (POST, PATCH, PUT, DELETE), spent in the slot
after the app answered. Why: on a real Mautic 5.1.0 a ``batch/edit`` of 200 contacts whose values are
already the same took ~2.3 s of server time and reading the same 200 by id ~0.6 s (3.8x); a flat
``latency_ms`` makes a write cost what a read costs, so it cannot show what compare before write saves.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mautic_sim.app import Mautic, Request, Response

WRITE_RATIO = 3.8  # a batch write of n contacts against a read of the same n (real 5.1.0: ~2.3 s / ~0.6 s)
ROW_PATHS = ("/api/contacts", "/api/companies")
FAULT_KINDS = ("429", "500", "502", "503", "504", "reset", "timeout", "malformed", "slow")


def parse_fault_spec(spec: str | None) -> list[tuple[str, float]]:
    """``"429:0.1,reset:0.02"`` -> [("429", 0.1), ("reset", 0.02)]; raises ValueError naming the bad part."""
    out: list[tuple[str, float]] = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        kind, _, prob = part.partition(":")
        kind = kind.strip()
        if kind not in FAULT_KINDS:
            raise ValueError(f"--faults: unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})")
        try:
            p = float(prob)
        except ValueError:
            raise ValueError(f"--faults: probability of {kind!r} must be a number, got {prob!r}") from None
        if not 0 <= p <= 1:
            raise ValueError(f"--faults: probability of {kind!r} must be between 0 and 1, got {p}")
        out.append((kind, p))
    return out


class Faults:
    """Random faults (seeded) and scheduled one-shot faults."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.random: list[tuple[str, float]] = []
        self.rng = random.Random(0)
        self.scheduled: list[dict[str, Any]] = []

    def set(self, spec: str | None, seed: int = 0) -> None:
        with self.lock:
            self.random = parse_fault_spec(spec)
            self.rng = random.Random(seed)

    def schedule(self, kind: str, nth: int = 1, path: str | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self.lock:
            self.scheduled.append({"kind": kind, "left": max(1, int(nth)), "path": path})

    def pick(self, path: str) -> str | None:
        with self.lock:
            hit = None
            for s in list(self.scheduled):
                if s["path"] and s["path"] not in path:
                    continue
                s["left"] -= 1
                if s["left"] == 0:
                    self.scheduled.remove(s)
                    if hit is None:
                        hit = s["kind"]
            if hit:
                return hit
            if self.random:
                r = self.rng.random()
                acc = 0.0
                for kind, p in self.random:
                    acc += p
                    if r < acc:
                        return kind
        return None


class WorkerSlots:
    """At most ``workers`` requests inside at once (0 = unlimited); counts what the server saw, for tests and
    benchmarks: requests in a slot now and at most, requests waiting for one now and at most."""

    def __init__(self, workers: int = 0) -> None:
        if workers < 0:
            raise ValueError("workers must be >= 0 (0 = unlimited)")
        self.workers = workers
        self._slots = threading.Semaphore(workers) if workers else None
        self._lock = threading.Lock()
        self.in_flight = self.max_in_flight = self.queued = self.max_queued = self.served = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if self._slots is not None and not self._slots.acquire(blocking=False):
            with self._lock:
                self.queued += 1
                self.max_queued = max(self.max_queued, self.queued)
            self._slots.acquire()
            with self._lock:
                self.queued -= 1
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1
                self.served += 1
            if self._slots is not None:
                self._slots.release()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"workers": self.workers, "served": self.served, "in_flight": self.in_flight,
                    "max_in_flight": self.max_in_flight, "queued": self.queued, "max_queued": self.max_queued}


def row_cost_s(method: str, path: str, resp: Response, row_ms: float, write_ratio: float = WRITE_RATIO) -> float:
    """Server time the items of a contacts or companies answer cost (see the module docstring); 0 when off."""
    if not row_ms or not path.startswith(ROW_PATHS) or resp.status >= 400:
        return 0.0
    body = resp.body
    if isinstance(body, bytes) and resp.content_type == "application/json":  # from a worker process
        try:
            body = json.loads(body)
        except ValueError:
            return 0.0
    if not isinstance(body, dict):
        return 0.0
    items = body.get("contacts", body.get("companies"))
    single = 1 if ("contact" in body or "company" in body) else 0
    n = len(items) if isinstance(items, (list, dict)) else single
    return n * row_ms * (1.0 if method in ("GET", "HEAD") else write_ratio) / 1000


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], app: Mautic, *, latency_ms: int = 0, faults: Faults,
                 timeout_fault_s: float = 3.0, log: Callable[[str], None] | None = None, workers: int = 0,
                 row_ms: float = 0.0, write_ratio: float = WRITE_RATIO, latency_per_inflight_ms: float = 0.0,
                 rate_per_second: int = 0, rate_retry_after: int = 1):
        self.row_ms, self.write_ratio = row_ms, write_ratio
        # latency that rises with load: each other request in a slot at arrival adds this much
        self.latency_per_inflight_ms = latency_per_inflight_ms
        # a per-second budget of API calls (a proxy's or a host's limit): above it 429 + Retry-After
        self.rate_per_second = rate_per_second
        self.rate_retry_after = rate_retry_after  # the Retry-After (seconds) of such a 429
        self._second: tuple[int, int] = (0, 0)  # (second, calls in it)
        self.over_budget = 0  # 429s answered by the per-second budget
        self.row_seconds = 0.0  # server time spent on row cost so far (what a test reads instead of a clock)
        self.slots = WorkerSlots(workers)
        super().__init__(addr, Handler)
        self.app = app
        # who runs a request: this process's app, or a worker process (mautic_sim.workers, ``processes``)
        self.run_app: Callable[[Request], Response] = app.handle
        self.latency_ms = latency_ms
        self.faults = faults
        self.timeout_fault_s = timeout_fault_s
        self.log_line = log
        self.request_log: list[dict[str, Any]] = []
        self.log_lock = threading.Lock()
        self.hooks: list[Callable[[str, str, str], Any]] = []
        self.write_lock = threading.Lock()
        self.rate_limit = 0  # api_rate_limiter_limit: API calls per hour, 0 = off (Mautic's default)
        self._rate_window: tuple[int, int] = (0, 0)  # (hour, calls in it)
        self.down = False  # the host went down: every request on an open connection is reset

    def go_down(self) -> None:
        """The host goes down for good: the listening socket is closed (a new connection is refused, as by a
        stopped web server) and a request on a connection kept open is reset. Safe to call from a hook."""
        self.down = True
        self.shutdown()  # from a handler thread: serve_forever runs on its own thread
        self.server_close()

    def over_second_budget(self) -> bool:
        """More than ``rate_per_second`` API calls in this wall-clock second (counted, answered 429)."""
        if not self.rate_per_second:
            return False
        with self.log_lock:
            now = int(time.time())
            second, calls = self._second
            calls = calls + 1 if second == now else 1
            self._second = (now, calls)
            if calls > self.rate_per_second:
                self.over_budget += 1
                return True
            return False

    def rate_limited(self) -> bool:
        """Mautic's API rate limiter (5.x, 6.x; removed in 7.0, so never on 7.1)."""
        if not self.rate_limit or not self.app.version.rate_limiter:
            return False
        with self.log_lock:
            hour = int(time.time()) // 3600
            start, calls = self._rate_window
            calls = calls + 1 if start == hour else 1
            self._rate_window = (hour, calls)
            return calls > self.rate_limit


class Handler(BaseHTTPRequestHandler):
    server: SimServer
    protocol_version = "HTTP/1.1"
    server_version = "mautic-sim"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        t0 = time.perf_counter()
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""  # the web server reads the request before FPM
        path, _, qs = self.path.partition("?")
        with srv.slots.slot():
            answer = self._handle(path, qs, body)
        if answer is None:
            return
        resp, payload, fault = answer
        self._send(resp, payload, slow=fault == "slow")
        if srv.log_line:
            ms = (time.perf_counter() - t0) * 1000
            srv.log_line(f"{self.command} {self.path} {resp.status} {ms:.1f}ms" + (f" fault={fault}" if fault else ""))

    def _handle(self, path: str, qs: str, body: bytes) -> tuple[Response, bytes, str | None] | None:
        """One request inside a worker slot: hooks, latency, faults, the app; None when the connection was dropped."""
        srv = self.server
        for hook in list(srv.hooks):
            hook(self.command, path, qs)
        if srv.down:
            self._record(path, qs, 0, b"")
            self._reset()
            return None
        if path.startswith("/api") and srv.over_second_budget():  # refused at once, before any work
            resp = Response(429, {"errors": [{"code": 429, "message": "Too many requests this second.",
                                              "details": []}]},
                            {"Retry-After": str(srv.rate_retry_after),
                             "X-RateLimit-Limit": str(srv.rate_per_second)},
                            version_header=False)
            self._record(path, qs, resp.status, body)
            return resp, resp.payload(), "budget"
        delay_ms = srv.latency_ms + srv.latency_per_inflight_ms * max(0, srv.slots.in_flight - 1)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        fault = srv.faults.pick(path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if fault == "reset":
            self._record(path, qs, 0, b"")
            self._reset()
            return None
        if fault == "timeout":
            time.sleep(srv.timeout_fault_s)
            self._record(path, qs, 0, b"")
            self._reset()
            return None
        if fault in ("429", "500", "502", "503", "504"):
            resp = self._fault_response(int(fault))
        elif path.startswith("/api") and srv.rate_limited():
            resp = self._fault_response(429)
        else:
            resp = srv.run_app(Request(self.command, path, qs, headers, body))
            cost = row_cost_s(self.command, path, resp, srv.row_ms, srv.write_ratio)
            if cost:
                with srv.log_lock:
                    srv.row_seconds += cost
                time.sleep(cost)
        payload = resp.payload()
        if fault == "malformed":
            resp.status, payload = 200, payload[: max(1, len(payload) // 2)]
        self._record(path, qs, resp.status, body)  # logged before the answer leaves, so a client never races it
        return resp, payload, fault

    def _fault_response(self, status: int) -> Response:
        if status == 429 and not self.server.app.version.rate_limiter:
            # 7.0 removed Mautic's rate limiter (PR #14876): a 429 can only come from a proxy in front
            return Response(429, "<html><body><h1>429 Too Many Requests</h1></body></html>", {"Retry-After": "1"},
                            version_header=False, content_type="text/html")
        if status == 429:
            reset = int(time.time()) + 1
            return Response(429, {"errors": [{"code": 429, "message": "You exceeded the rate limit of 1000 API calls "
                                                                      "per hour.", "details": []}]},
                            {"Retry-After": "1", "X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": str(reset)}, version_header=False)
        text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                504: "Gateway Timeout"}[status]
        return Response(status, f"<html><body><h1>{status} {text}</h1></body></html>", version_header=False,
                        content_type="text/html")

    def _reset(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, resp: Response, payload: bytes, slow: bool = False) -> None:
        version = "HTTP/1.0" if resp.http10 else "HTTP/1.1"
        if resp.http10:
            self.close_connection = True
        reason = self.responses.get(resp.status, ("",))[0]
        lines = [f"{version} {resp.status} {reason}"]
        hdrs = {"Date": formatdate(usegmt=True), "Connection": "close" if self.close_connection else "keep-alive",
                "X-Powered-By": "mautic-sim"}
        if resp.version_header:
            hdrs["Mautic-Version"] = self.server.app.version.header
        hdrs.setdefault("Cache-Control", "no-cache, private")
        hdrs.update(resp.headers)
        hdrs["Content-Type"] = resp.content_type
        hdrs["Content-Length"] = str(len(payload))
        lines += [f"{k}: {v}" for k, v in hdrs.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            if slow:
                self.wfile.write(head)
                self.wfile.flush()
                step = max(1, len(payload) // 10)
                for i in range(0, len(payload), step):
                    self.wfile.write(payload[i:i + step])
                    self.wfile.flush()
                    time.sleep(0.05)
            else:
                self.wfile.write(head + payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _record(self, path: str, qs: str, status: int, body: bytes) -> None:
        # the body is kept as sent and parsed when the log is read (parse_logged_bodies): a benchmark's
        # server never reads its log, and parsing 200 contacts per batch was a tenth of its work
        with self.server.log_lock:
            self.server.request_log.append({"method": self.command, "path": path, "query": qs, "status": status,
                                            "body": LoggedBody(body)})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class LoggedBody(bytes):
    """A request body in the log, not parsed yet."""


def parse_logged_bodies(log: list[dict[str, Any]]) -> None:
    """Replace each entry's :class:`LoggedBody` by its JSON (None when empty, text when not JSON), in place."""
    for entry in log:
        body = entry.get("body")
        if isinstance(body, LoggedBody):
            try:
                entry["body"] = json.loads(body) if body else None
            except ValueError:
                entry["body"] = body.decode("utf-8", "replace")


def serve_in_thread(srv: SimServer) -> threading.Thread:
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="mautic-sim")
    t.start()
    return t


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
