"""The floor a tap is measured against: raw keyset loops over ``/api/contacts``, sequential and in N slices.

Why: "as fast as the server allows" needs a number for what the server allows. The sequential loop asks the
same pages as tap-mautic (``orderBy=id``, ``id gt last``, 200 per page, until an empty page) with
``http.client`` and ``json.loads`` only; the sliced loop cuts the id range into N equal slices and reads them
in parallel threads (each a keyset loop with ``id gt last`` and ``id lte slice end``), which is what a server
with N workers can give one client.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from base64 import b64encode
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class RawRead:
    """Records and pages read, and the wall time of the whole read."""

    records: int
    pages: int
    seconds: float

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


class _Pager:
    """One keep-alive connection reading keyset pages."""

    def __init__(self, url: str, username: str, password: str) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None, url  # the simulator's http://host:port
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        token = b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}

    def page(self, after: int, upto: int | None, limit: int) -> list[int]:
        """Ids of one page of contacts with ``after < id (<= upto)``, in id order."""
        q = (f"/api/contacts?limit={limit}&orderBy=id&orderByDir=ASC"
             f"&where[0][col]=id&where[0][expr]=gt&where[0][val]={after}")
        if upto is not None:
            q += f"&where[1][col]=id&where[1][expr]=lte&where[1][val]={upto}"
        self.conn.request("GET", q, headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"raw loop: HTTP {resp.status} for {q}")
        contacts = json.loads(raw)["contacts"]
        return sorted(int(k) for k in contacts)

    def read(self, after: int, upto: int | None, limit: int) -> tuple[int, int]:
        """A keyset loop until an empty page: (records, pages)."""
        records = pages = 0
        while True:
            ids = self.page(after, upto, limit)
            pages += 1
            if not ids:
                return records, pages
            records += len(ids)
            after = ids[-1]

    def close(self) -> None:
        self.conn.close()


def id_range(url: str, username: str, password: str) -> tuple[int, int]:
    """Lowest and highest contact id (two requests, not timed)."""
    pager = _Pager(url, username, password)
    try:
        q = "/api/contacts?limit=1&minimal=true&orderBy=id&orderByDir="
        ends = []
        for direction in ("ASC", "DESC"):
            pager.conn.request("GET", q + direction, headers=pager.headers)
            contacts = json.loads(pager.conn.getresponse().read())["contacts"]
            ends.append(int(next(iter(contacts))) if contacts else 0)
    finally:
        pager.close()
    return ends[0], ends[1]


def sequential(url: str, username: str, password: str, limit: int = 200) -> RawRead:
    """Every contact, one keyset page after the other, on one connection."""
    pager = _Pager(url, username, password)
    try:
        began = time.perf_counter()
        records, pages = pager.read(0, None, limit)
        return RawRead(records, pages, time.perf_counter() - began)
    finally:
        pager.close()


def sliced(url: str, username: str, password: str, slices: int, limit: int = 200) -> RawRead:
    """Every contact, the id range cut into ``slices`` equal parts read by as many threads at once."""
    low, high = id_range(url, username, password)
    step = max(1, -(-(high - low + 1) // slices))
    bounds: list[tuple[int, int | None]] = [(low - 1 + i * step, min(high, low - 1 + (i + 1) * step))
                                           for i in range(slices)]
    bounds[-1] = (bounds[-1][0], None)  # the last slice is open: ids created meanwhile are read too
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def read(after: int, upto: int | None) -> None:
        pager = _Pager(url, username, password)
        try:
            got = pager.read(after, upto, limit)
            with lock:
                results.append(got)
        except BaseException as e:  # reported by the caller
            with lock:
                errors.append(e)
        finally:
            pager.close()

    threads = [threading.Thread(target=read, args=b) for b in bounds]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    return RawRead(sum(r for r, _ in results), sum(p for _, p in results), seconds)
