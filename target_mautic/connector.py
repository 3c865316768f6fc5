"""The connector: every call target-mautic makes to Mautic, and what it remembers about the instance.

Why one object: like the connector of singer-sdk's SQL targets, it is made once per run by the target and
injected into every sink. Sinks decide *what* to write; the connector owns *how*: the one
:class:`~mautic_api.client.MauticClient`, look-ups by ``where ... in``, batch calls (halved on the server's
batch limit, checked after a lost answer, split when Mautic refuses one as a whole), the caches of fields and
segment aliases, and the probe for the segment batch-add route.
Every list read goes through :meth:`MauticConnector._pages`.

Parallel writes: :meth:`MauticConnector.batches` sends up to ``max_concurrency`` chunks at once, one lane
each. Items are put in lanes by their keys (:func:`lanes`): items sharing any key (an id, a normalised match
value, a unique field's value) land in the same lane, whose chunks go one after another, so two batches in
flight never name the same entity (Mautic would otherwise create it twice). The session is shared by the
lanes: requests' connection pool is thread-safe, the OAuth2 authenticator renews under a lock.

Parallel reads: the look-ups of compare before write (:meth:`MauticConnector.lookup`,
:meth:`MauticConnector.records_by_id`) send their chunks up to ``max_concurrency`` at once too; read alone,
one after another, they made an unchanged rerun as slow as the writes they save (``make bench`` row (f)).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from mautic_api.answers import BatchItemResult
from mautic_api.client import MauticClient
from mautic_api.errors import BatchLimitError, MauticAPIError, MauticError, NotFoundError
from target_mautic.rows import as_int, field_value, norm, reraise_fatal
from target_mautic.values import FieldSpec, field_specs

LOOKUP_CHUNK = 100
API_MAX_PER_CALL = 200  # values per `where in` look-up: keeps the query string well under 8 KB
API_BATCH_LIMIT = 200  # Mautic's default api_batch_max_limit
LOOKUP_MAX_CHARS = 3000
RECOVERY_ROUNDS = 4  # look-ups after lost answers to the same chunk before its rows are reported failed
DEFAULT_MAX_CONCURRENCY = 4  # batch calls in flight (measured: README "Performance", benchmarks/results.md)

# A whole batch answered with one of these (not the batch limit, not auth) is split until its bad rows are
# alone. Measured on a real Mautic 5.1.0 (2026-12-06): a 400 on the whole body (PHP's json_decode refused
# it, e.g. a lone surrogate) writes nothing; a 500 comes after the items before the bad one were saved (a
# NUL byte: that item too, its audit log row failing after it).
SPLIT_STATUSES = frozenset({400, 500})
MAY_HAVE_WRITTEN = frozenset({500})
# what the sinks read of a batch answer's saved items: the id, and dateAdded for an answer resent after a
# lost one (BatchItemResult.created_by_lost_attempt); the rest of each item is skipped when decoding
ANSWER_KEYS = ("id", "dateAdded")

Carrier = TypeVar("Carrier")
Chunk = TypeVar("Chunk")
Read = TypeVar("Read")  # what a batch item is sent for (a row), handed back with its result
Item = tuple[dict[str, Any], Carrier]
Answer = tuple[Any, BatchItemResult | None, str | None]  # (carrier, item result, error of the whole chunk)
Written = Callable[[list[Item]], dict[int, BatchItemResult]]  # positions of a chunk Mautic saved -> result
Outcome = tuple[BatchItemResult | None, str | None]  # one item's result, or the error it failed with


def splittable(exc: MauticError) -> bool:
    """A whole-batch answer that one bad item can cause: worth splitting the batch to find it."""
    return (
        isinstance(exc, MauticAPIError)
        and not isinstance(exc, BatchLimitError)
        and exc.status in SPLIT_STATUSES
    )


def _needs_quotes(text: str) -> bool:
    return any(ch in text for ch in ',"\n\r') or text != text.strip()


def _in_safe(text: str) -> bool:
    """PHP's str_getcsv reads a backslash before a quote as an escape, so a quoted value holding a backslash
    can swallow the values after it: such values are looked up with ``eq`` instead of ``in``."""
    return not (_needs_quotes(text) and "\\" in text)


def csv_in(values: Iterable[Any]) -> str:
    """A value for ``where ... in``: Mautic runs ``str_getcsv`` on it, so quote values holding , or "."""
    out = []
    for value in values:
        text = str(value)
        if _needs_quotes(text):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ",".join(out)


def chunks_for_lookup(values: Sequence[str], per_call: int = LOOKUP_CHUNK) -> Iterable[list[str]]:
    chunk: list[str] = []
    size = 0
    for value in values:
        if chunk and (len(chunk) >= per_call or size + len(value) > LOOKUP_MAX_CHARS):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += len(value) + 3
    if chunk:
        yield chunk


class MauticConnector:
    """The run's I/O with Mautic, shared by every sink (the target makes one and closes it)."""

    def __init__(self, config: Mapping[str, Any], logger: logging.Logger) -> None:
        self.config = config
        self.logger = logger
        self._client: MauticClient | None = None
        self._fields: dict[str, dict[str, FieldSpec]] = {}
        self._segment_aliases: dict[str, int] | None = None
        self._segment_batch_add: bool | None = None  # POST segments/{id}/contacts/add available?
        self._batch_size = int(config.get("batch_size") or API_BATCH_LIMIT)
        self.concurrency = max(1, int(config.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY))
        self._size_lock = threading.Lock()  # lanes may halve the batch size at the same time

    # -- the client --------------------------------------------------------------------------------------
    @property
    def client(self) -> MauticClient:
        if self._client is None:
            # the config was validated (and advised on) by the target: the client need not advise again
            self._client = MauticClient(self.config, logger=self.logger, advise=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def version(self) -> Any:
        return self.client.version

    def request(self, method: str, path: str, *, json: Any = None) -> Any:
        return self.client.request(method, path, json=json)

    def batch_edit(self, context: str, items: list[dict[str, Any]]) -> list[BatchItemResult]:
        return self.client.batch_edit(context, items, keep=ANSWER_KEYS)

    def batch_new(self, context: str, items: list[dict[str, Any]]) -> list[BatchItemResult]:
        return self.client.batch_new(context, items, keep=ANSWER_KEYS)

    def batch_delete(self, context: str, ids: list[int]) -> Any:
        return self.client.batch_delete(context, ids)

    # -- what the run remembers about the instance ------------------------------------------------------
    @property
    def batch_size(self) -> int:
        return self._batch_size

    def lower_batch_size(self, size: int, reason: str) -> None:
        """The server refused a chunk as too big: halve for the rest of the run (once, when lanes race)."""
        with self._size_lock:
            if size >= self._batch_size:
                return
            self.logger.warning(
                "Mautic refused a batch of %d (%s); retrying with %d", self._batch_size, reason, size
            )
            self._batch_size = size

    def field_specs(self, object_: str) -> dict[str, FieldSpec]:
        """Fields of the instance, read once per run from /api/fields/{contact,company}."""
        if object_ not in self._fields:
            self._fields[object_] = field_specs(self.client.fields(object_))
        return self._fields[object_]

    def segment_aliases(self) -> dict[str, int]:
        """Segment alias (casefolded) -> id, read once per run."""
        if self._segment_aliases is None:
            aliases: dict[str, int] = {}
            for seg in self._pages("segments", limit=200):
                if seg.get("alias") is not None and seg.get("id") is not None:
                    aliases[str(seg["alias"]).strip().casefold()] = int(seg["id"])
            self._segment_aliases = aliases
        return self._segment_aliases

    def add_to_segment(self, segment_id: int, contact_ids: list[int]) -> Any | None:
        """Add contacts to a segment in one call; None when the instance has no batch route (probed on the
        first call of the run), and the caller adds them one by one."""
        if self._segment_batch_add is False:
            return None
        try:
            answer = self.client.request(
                "POST", f"segments/{segment_id}/contacts/add", json={"ids": contact_ids}
            )
        except NotFoundError as exc:
            if self._segment_batch_add is None and "URL not found" in str(exc):
                self._segment_batch_add = False
                return None
            raise
        self._segment_batch_add = True
        return answer

    # -- reads ---------------------------------------------------------------------------------------------
    def _each_chunk(self, read: Callable[[Chunk], Read], chunks: Iterable[Chunk]) -> list[Read]:
        """``read`` of every chunk, in order; up to ``max_concurrency`` at once (reads name no entity, so
        any order is safe), one after another with ``max_concurrency`` 1 or a single chunk."""
        todo = list(chunks)
        if self.concurrency <= 1 or len(todo) <= 1:
            return [read(chunk) for chunk in todo]
        self.client  # noqa: B018 -- made once here, not raced for by the threads
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo)),
                                thread_name_prefix="target-mautic-read") as pool:
            return list(pool.map(read, todo))

    def _pages(
        self,
        context: str,
        *,
        limit: int,
        where: list[dict[str, Any]] | None = None,
        minimal: bool | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list read: the paging engine's keyset walk (``MauticClient.iter_list``), each
        page checked; ``total`` is trusted to end a look-up without an extra empty page."""
        return self.client.iter_list(context, where=where, page_size=limit, minimal=bool(minimal),
                                     trust_total=True)

    def lookup(self, context: str, column: str, values: Iterable[Any],
               minimal: bool = True) -> dict[str, list[dict[str, Any]]]:
        """Records of ``context`` whose ``column`` is one of ``values``, by normalised value (few calls);
        ``minimal`` false: the full records (a contact's tags, owner, stage), for compare before write."""
        wanted = sorted({str(v) for v in values if v is not None and str(v) != ""})
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)

        def read(chunk: list[str]) -> list[dict[str, Any]]:
            where = [{"col": column, "expr": "in", "val": csv_in(chunk)}]
            return list(self._pages(context, limit=max(len(chunk) * 2, 50), where=where, minimal=minimal))

        chunks = list(chunks_for_lookup([v for v in wanted if _in_safe(v)]))
        for chunk, recs in zip(chunks, self._each_chunk(read, chunks), strict=True):
            want = {norm(v) for v in chunk}
            for rec in recs:
                value = field_value(rec, column)
                if value is not None and norm(value) in want:
                    found[norm(value)].append(rec)
        # Mautic reads `in` with str_getcsv (after decoding the HTML entities its input filter adds), so the
        # quoted values above match there. A server that splits `in` on commas would miss them and we would
        # create duplicates; so such values that were not found are confirmed one by one with `eq` (one extra
        # call per genuinely new value of that kind).
        for value in wanted:
            unsure = not _in_safe(value) or _needs_quotes(value) or any(ch in value for ch in "'<>&")
            if norm(value) in found or not unsure:
                continue
            page = self.client.list_page(
                context,
                where=[{"col": column, "expr": "eq", "val": value}],
                limit=50,
                order_by="id",
                minimal=minimal,
            )
            for rec in page.records:
                if norm(field_value(rec, column) or "") == norm(value):
                    found[norm(value)].append(rec)
        for recs in found.values():
            recs.sort(key=lambda r: as_int(r.get("id")) or 0)
        return found

    def records_by_id(self, context: str, ids: Iterable[int], minimal: bool = True,
                      per_call: int = API_MAX_PER_CALL) -> dict[int, dict[str, Any]]:
        """The current records for ``ids`` (ids are short: up to ``per_call``, at most 200, per look-up, one
        page each)."""
        out: dict[int, dict[str, Any]] = {}

        def read(chunk: list[str]) -> list[dict[str, Any]]:
            return list(self.client.list_page(
                context,
                where=[{"col": "id", "expr": "in", "val": ",".join(chunk)}],
                limit=len(chunk) + 1,
                minimal=minimal,
            ).records)

        chunks = chunks_for_lookup([str(i) for i in sorted(set(ids))],
                                   per_call=max(1, min(per_call, API_MAX_PER_CALL)))
        for records in self._each_chunk(read, chunks):
            for rec in records:
                rid = as_int(rec.get("id"))
                if rid is not None:
                    out[rid] = rec
        return out

    def segment_members(self, alias: str, contact_ids: Sequence[int]) -> set[int]:
        """Which of ``contact_ids`` are in the segment with ``alias`` (one list call per 200 ids: Mautic's
        ``segment:`` search command, with ``where id in``)."""
        members: set[int] = set()
        for chunk in chunks_for_lookup([str(i) for i in sorted(set(contact_ids))], per_call=API_MAX_PER_CALL):
            page = self.client.list_page("contacts", search=f"segment:{alias}", minimal=True,
                                         where=[{"col": "id", "expr": "in", "val": ",".join(chunk)}],
                                         limit=len(chunk) + 1)
            members.update(i for i in (as_int(rec.get("id")) for rec in page.records) if i is not None)
        return members

    def all_segment_members(self, alias: str) -> set[int]:
        """Every contact in the segment with ``alias`` (Mautic's ``segment:`` search, paged): what a mirror
        compares with its snapshot."""
        return {i for i in (as_int(rec.get("id")) for rec in self.client.iter_list(
            "contacts", search=f"segment:{alias}", page_size=200, minimal=True)) if i is not None}

    def contact_notes(self, contact_id: int) -> list[Mapping[str, Any]]:
        """The notes on one contact (one call: a contact carries far fewer than 1000 notes)."""
        answer = self.client.request("GET", f"contacts/{contact_id}/notes", params={"limit": 1000})
        notes = answer.get("notes", []) if isinstance(answer, Mapping) else []
        listed = notes.values() if isinstance(notes, Mapping) else notes
        return [note for note in listed if isinstance(note, Mapping)]

    # -- batch writes ----------------------------------------------------------------------------------------
    def batches(
        self,
        items: list[Item],
        call: Callable[[list[dict[str, Any]]], list[BatchItemResult]],
        recover: Callable[[list[Item]], list[BatchItemResult]] | None = None,
        keys: Callable[[Any], Iterable[Hashable]] | None = None,
        written: Written | None = None,
    ) -> Iterable[Answer]:
        """Send ``items`` in chunks of batch_size; halve on the server's batch limit; map results by index.

        Yields (carrier, item result, None) or (carrier, None, error message) when the whole chunk failed,
        in the order of ``items``. With ``keys`` (what names a carrier's entity) and ``max_concurrency`` > 1
        the items are split into lanes (:func:`lanes`) sent at the same time, each lane chunk after chunk.
        When the answer to a write that is not resent was lost (``RetryableError.maybe_applied``),
        ``recover`` finds out what Mautic wrote and returns the chunk's results instead (within its lane).
        A chunk answered as a whole with a 400/500 (:func:`splittable`) is split (:meth:`_split`): after a
        500, ``written`` first reads back which of its items Mautic saved, so none is sent twice.
        A fatal error stops every lane before its next chunk; the results already answered are yielded
        first, then the error is raised (the rows without a result are accounted for by the target).
        """
        parts = lanes(items, keys, self.batch_size, self.concurrency) if keys is not None else []
        if len(parts) <= 1:
            yield from self._lane(items, call, recover, None, written)
            return
        stop = threading.Event()

        def run(lane: list[int]) -> tuple[list[Answer], BaseException | None]:
            out: list[Answer] = []
            try:
                for answer in self._lane([items[pos] for pos in lane], call, recover, stop, written):
                    out.append(answer)
            except BaseException as exc:  # handed to the main thread, which raises it after the others end
                stop.set()
                return out, exc
            return out, None

        answers: dict[int, Answer] = {}
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="target-mautic-lane") as pool:
            for lane, (out, exc) in zip(parts, pool.map(run, parts), strict=True):
                answers.update(zip(lane, out, strict=False))  # a lane stopped early answers a prefix
                error = error or exc
        for pos in sorted(answers):
            yield answers[pos]
        if error is not None:
            raise error

    def _lane(
        self,
        items: list[Item],
        call: Callable[[list[dict[str, Any]]], list[BatchItemResult]],
        recover: Callable[[list[Item]], list[BatchItemResult]] | None,
        stop: threading.Event | None,
        written: Written | None = None,
    ) -> Iterator[Answer]:
        """One lane's chunks, one after another (the whole of ``items`` when there is one lane)."""
        i = 0
        while i < len(items):
            if stop is not None and stop.is_set():
                return
            size = self.batch_size
            chunk = items[i : i + size]
            try:
                results = call([payload for payload, _ in chunk])
            except BatchLimitError as exc:
                if size <= 1:
                    for _, carrier in chunk:
                        yield carrier, None, str(exc)
                    i += len(chunk)
                    continue
                self.lower_batch_size(max(1, size // 2), str(exc))
                continue
            except MauticError as exc:
                reraise_fatal(exc)
                if splittable(exc) and (len(chunk) > 1 or written is not None):
                    for (_, carrier), (result, error) in zip(
                        chunk, self._split(chunk, call, written, exc), strict=True
                    ):
                        yield carrier, result, error
                    i += len(chunk)
                    continue
                recovered = self._recover_chunk(chunk, recover, exc) if recover is not None else exc
                if isinstance(recovered, MauticError):
                    for _, carrier in chunk:
                        yield carrier, None, str(recovered)
                    i += len(chunk)
                    continue
                results = recovered
            by_index = {r.index: r for r in results}
            for n, (_, carrier) in enumerate(chunk):
                yield carrier, by_index.get(n), None
            i += len(chunk)

    def _split(
        self,
        chunk: list[Item],
        call: Callable[[list[dict[str, Any]]], list[BatchItemResult]],
        written: Written | None,
        exc: MauticError,
    ) -> list[Outcome]:
        """The outcomes of a chunk Mautic answered as a whole with ``exc`` (a 400/500 one bad item causes).

        After a 500, ``written`` reads back (one look-up) which items Mautic saved before failing: they get
        their true result and are not sent again. Mautic saves a batch's items in order and stops at the bad
        one, so after a read-back the first unsaved item is the suspect (nothing saved: the first item): it
        is sent alone, the rest after it together. Without a read-back (a 400 saves nothing; edits by id are
        idempotent and not read back), or once a suspect was written fine (the error was not its), the
        unsaved items are halved. A lone item that fails again is failed with Mautic's answer. Extra calls
        for k bad items in a chunk of n: a read-back, the suspect and the rest per bad item (3·k, whatever
        n) after a 500 on creates; at most 2·k·⌈log2 n⌉ write calls when halving.
        """
        out: list[Outcome | None] = [None] * len(chunk)
        self.logger.warning("Mautic refused a batch of %d as a whole (%s); splitting it to find the "
                            "records at fault", len(chunk), exc)
        self._solve(chunk, list(range(len(chunk))), call, written, exc, out)
        return [o if o is not None else (None, "Mautic returned no status for this item") for o in out]

    def _solve(
        self,
        chunk: list[Item],
        positions: list[int],
        call: Callable[[list[dict[str, Any]]], list[BatchItemResult]],
        written: Written | None,
        exc: MauticError,
        out: list[Outcome | None],
        in_order: bool = True,
    ) -> None:
        """Fill ``out`` for ``positions`` of ``chunk``, which Mautic just answered as a whole with ``exc``;
        ``in_order`` is False once a suspect proved innocent (halve instead)."""
        saved: dict[int, BatchItemResult] = {}
        read_back = written is not None and (exc.status in MAY_HAVE_WRITTEN
                                             or getattr(exc, "maybe_applied", False))
        if written is not None and read_back:
            try:
                found = written([chunk[pos] for pos in positions])
            except MauticError as unread:  # what was saved is unknown: nothing is sent again
                reraise_fatal(unread)
                for pos in positions:
                    out[pos] = (None, f"{exc}; reading back what Mautic saved failed too ({unread}): "
                                      "rerun the input (the write is an upsert)")
                return
            saved = {positions[n]: result for n, result in found.items()}
        for pos, result in saved.items():
            out[pos] = (result, None)
        rest = [pos for pos in positions if pos not in saved]
        if not rest:
            return
        if len(positions) == 1:
            out[rest[0]] = (None, f"{exc} (this record alone; its batch was split to find it)")
            return
        first = positions.index(rest[0])
        prefix = read_back and in_order and all(pos in saved for pos in positions[:first])
        if prefix:  # the saved items (if any) are the head: the first unsaved one is the suspect
            parts = [rest[:1], rest[1:]]
        elif len(rest) == 1:
            parts = [rest]
        else:
            half = (len(rest) + 1) // 2
            parts = [rest[:half], rest[half:]]
        for number, part in enumerate(parts):
            if not part:
                continue
            try:
                results = call([chunk[pos][0] for pos in part])
            except MauticError as again:
                reraise_fatal(again)
                lost = getattr(again, "maybe_applied", False) and written is not None
                if not splittable(again) and not lost:
                    for pos in part:
                        out[pos] = (None, str(again))
                    continue
                self._solve(chunk, part, call, written, again, out, in_order)
                continue
            if prefix and number == 0 and len(parts) > 1:
                in_order = False  # the suspect was written: Mautic's order says nothing about the rest
            by_index = {r.index: r for r in results}
            for n, pos in enumerate(part):
                answer = by_index.get(n)
                out[pos] = (None if answer is None else replace(answer, index=pos), None)

    def _recover_chunk(
        self,
        chunk: list[Item],
        recover: Callable[[list[Item]], list[BatchItemResult]],
        exc: MauticError,
    ) -> list[BatchItemResult] | MauticError:
        """After a lost answer, ``recover`` checks what Mautic wrote and sends the rest; if that answer is
        lost too, check again (a few times). Returns the chunk's results, or the error that ended it."""
        for _ in range(RECOVERY_ROUNDS):
            if not getattr(exc, "maybe_applied", False):
                return exc
            self.logger.warning("%s; checking what Mautic wrote before sending the rest", exc)
            try:
                return recover(chunk)
            except MauticError as again:
                reraise_fatal(again)
                exc = again
        return exc


def lanes(
    items: Sequence[Item], keys: Callable[[Any], Iterable[Hashable]], batch_size: int, concurrency: int
) -> list[list[int]]:
    """Positions of ``items`` split into at most ``concurrency`` lanes, each in input order.

    Items sharing a key (directly or through other items) stay in one lane, so no two lanes ever hold the
    same entity. Lanes are filled with whole chunks (``batch_size``), so the calls are as few as with one
    lane: ``ceil(len(items) / batch_size)`` unless a group of items sharing keys straddles a lane's end.
    """
    total = len(items)
    chunks = math.ceil(total / max(1, batch_size))
    count = min(concurrency, chunks)
    if count <= 1:
        return [list(range(total))]
    parent = list(range(total))

    def root(pos: int) -> int:
        while parent[pos] != pos:
            parent[pos] = parent[parent[pos]]
            pos = parent[pos]
        return pos

    owner: dict[Hashable, int] = {}
    for pos, (_, carrier) in enumerate(items):
        for key in keys(carrier):
            first = owner.setdefault(key, pos)
            a, b = root(first), root(pos)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for pos in range(total):
        groups[root(pos)].append(pos)
    per_lane = batch_size * math.ceil(chunks / count)
    out: list[list[int]] = [[] for _ in range(count)]
    lane = 0
    for group in groups.values():  # in order of each group's first item
        while lane < count - 1 and out[lane] and len(out[lane]) + len(group) > per_lane:
            lane += 1
        out[lane].extend(group)
    return [sorted(part) for part in out if part]
