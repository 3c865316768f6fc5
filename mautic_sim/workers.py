"""Worker processes: the app runs in N processes, as PHP-FPM runs Mautic in N PHP workers.

Why: one simulator process runs its app on one core (its threads share the GIL), so a client with 4 lanes
waits for the simulator's CPU, not for Mautic's latency; a real Mautic runs its workers in parallel. With
``processes`` N > 1 the HTTP server (latency, faults, worker slots, the request log) stays in the simulator's
process and hands each request to an idle worker process (``python -m mautic_sim.workers``, one pipe each; a
request waits while all N are busy): each worker has its own :class:`~mautic_sim.app.Mautic` over its own
connection to the one SQLite file (shared mode, see ``mautic_sim.store``), handles one request at a time and
sends back the encoded answer.

What stays per process (as it does per PHP worker without a shared cache): the OAuth1 nonces, the authorize
flow's login sessions and registered redirect URIs, a test's clock (keep ``processes`` 1 for those tests);
tokens, contacts and every other entity live in the database.
"""

from __future__ import annotations

import json
import pickle
import queue
import struct
import subprocess
import sys
from typing import IO, Any

from mautic_sim.messages import Request, Response

_HEAD = struct.Struct("!I")


def _send(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEAD.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    head = stream.read(_HEAD.size)
    if len(head) < _HEAD.size:
        raise EOFError("worker pipe closed")
    size = _HEAD.unpack(head)[0]
    return pickle.loads(stream.read(size))


class _Worker:
    def __init__(self, db_path: str, app_kwargs: dict[str, Any], base_url: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "mautic_sim.workers", db_path, base_url,
                                      json.dumps(app_kwargs)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def call(self, req: Request) -> tuple[Any, ...]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        _send(self.proc.stdin, (req.method, req.path, req.query_string, req.headers, req.body))
        answer: tuple[Any, ...] = _receive(self.proc.stdout)
        return answer

    def ready(self) -> None:
        assert self.proc.stdout is not None
        if _receive(self.proc.stdout) != "ready":
            raise RuntimeError("mautic-sim worker did not start")

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class WorkerPool:
    """``processes`` worker processes over the database at ``db_path``; :meth:`handle` blocks the calling
    thread until an idle worker has answered."""

    def __init__(self, processes: int, db_path: str, app_kwargs: dict[str, Any], base_url: str) -> None:
        self.processes = processes
        self._all = [_Worker(db_path, app_kwargs, base_url) for _ in range(processes)]
        self._idle: queue.Queue[_Worker] = queue.Queue()
        try:
            for w in self._all:  # every worker up before the first request (an interpreter, imports each)
                w.ready()
                self._idle.put(w)
        except BaseException:
            self.close()
            raise

    def handle(self, req: Request) -> Response:
        worker = self._idle.get()
        try:
            status, payload, headers, version_header, http10, content_type = worker.call(req)
        finally:
            self._idle.put(worker)
        return Response(status, payload, headers, version_header=version_header, http10=http10,
                        content_type=content_type)

    def close(self) -> None:
        for w in self._all:
            w.stop()


def main() -> None:
    """A worker: read requests from stdin, write answers to stdout, until stdin closes."""
    from mautic_sim.app import Mautic
    from mautic_sim.store import Store

    db_path, base_url, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    app = Mautic(Store(db_path, shared=True), **kwargs)
    app.base_url = base_url
    out, inp = sys.stdout.buffer, sys.stdin.buffer
    sys.stdout = sys.stderr  # anything printed goes to the log, never into the pipe
    _send(out, "ready")
    while True:
        try:
            method, path, qs, headers, body = _receive(inp)
        except EOFError:
            return
        resp = app.handle(Request(method, path, qs, headers, body))
        _send(out, (resp.status, resp.payload(), resp.headers, resp.version_header, resp.http10,
                    resp.content_type))


if __name__ == "__main__":
    main()
