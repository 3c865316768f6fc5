"""Single-entity and batch endpoints of generic contexts, and the batch helpers contacts/companies share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mautic_sim import phpquery
from mautic_sim.contacts import PreparedContact, PreparedRows
from mautic_sim.generic import Ctx
from mautic_sim.messages import Request, Response
from mautic_sim.util import ApiError, RequestFailed, not_found, server_error

BATCH_LIMIT = 200


class BatchPartial(Exception):
    """A batch item the form refused: its error, and the entity unchanged in the answer's list (400 field
    errors; 422 for a unique field held by another record, real 5.1.0 batch/edit, 2026-12-06)."""

    def __init__(self, entity: Any, details: dict[str, list[str]], status: int = 400):
        super().__init__("partial")
        self.entity, self.details, self.status = entity, details, status


class BatchRoutes:
    """get/new/edit/delete and batch new/edit/delete for the generic contexts, as a mixin of ``Mautic``."""

    if TYPE_CHECKING:  # a mixin: the rest of its attributes are those of ``app.Mautic``, typed there
        def __getattr__(self, name: str) -> Any: ...

    def g_get(self, req: Request, ctx: Ctx, eid: str) -> Response:
        e = self.generic.get_raw(ctx.name, eid)
        if e is None:
            raise not_found()
        return Response(200, {ctx.item: self.generic.present(ctx, e)})

    def g_new(self, req: Request, ctx: Ctx) -> Response:
        e = self.generic.create(ctx, self.body(req))
        return Response(201, {ctx.item: self.generic.present(ctx, e, created=True)},
                        {"Location": f"/api/{ctx.path}/{e['id']}"})

    def g_edit(self, req: Request, ctx: Ctx, eid: str) -> Response:
        payload = self.body(req)
        if req.method == "PUT" and self.generic.get_raw(ctx.name, eid) is None:
            if ctx.name == "campaigns":
                raise ApiError(400, "At least one event is required. Use the Launch Campaign Builder button to add "
                                    "one.")
            e = self.generic.create(ctx, payload)
            return Response(201, {ctx.item: self.generic.present(ctx, e, created=True)},
                            {"Location": f"/api/{ctx.path}/{e['id']}"})
        e = self.generic.edit(ctx, int(eid), payload, put=req.method == "PUT")
        return Response(200, {ctx.item: self.generic.present(ctx, e, created=req.method == "PUT")})

    def g_delete(self, req: Request, ctx: Ctx, eid: str) -> Response:
        e = self.generic.present(ctx, self.generic.delete(ctx, int(eid)))
        e = {**e, "id": None}
        return Response(200, {ctx.item: e})

    def batch_items(self, req: Request) -> list[tuple[str, Any]]:
        payload = self.body(req)
        if isinstance(payload, dict) and payload and all(str(k).isdigit() for k in payload):
            items = list(payload.items())
        elif isinstance(payload, list):
            items = [(str(i), v) for i, v in enumerate(payload)]
        elif payload == {}:
            items = []
        else:
            raise server_error()
        if len(items) > BATCH_LIMIT:
            raise ApiError(500, f"A max of {BATCH_LIMIT} entities are supported at a time.")
        return items

    @staticmethod
    def _batch_body(list_key: str, done: dict[int, Any], codes: list[int], errors: dict[int, Any]) -> dict[str, Any]:
        def pack(d: dict[int, Any]) -> Any:
            keys = sorted(d)
            return [d[k] for k in keys] if keys == list(range(len(keys))) else {str(k): d[k] for k in keys}
        body: dict[str, Any] = {list_key: pack(done), "statusCodes": codes}
        if errors:
            body["errors"] = pack(errors)
        return body

    @staticmethod
    def _batch_item(i: int, item: Any, fn: Callable[[Any], tuple[Any, int]], done: dict[int, Any],
                    codes: dict[int, int], errors: dict[int, Any]) -> None:
        """One batch item through ``fn``: its entity and status code, or its error entry."""
        try:
            entity, code = fn(item)
            done[i] = entity
            codes[i] = code
        except BatchPartial as bp:
            done[i] = bp.entity
            codes[i] = bp.status
            errors[i] = {"code": bp.status, "message": ", ".join(f"{k}: {' '.join(v)}" for k, v in bp.details.items()),
                         "details": bp.details, "type": None}
        except RequestFailed:
            raise
        except ApiError as e:
            codes[i] = e.status
            if e.status == 404:
                errors[i] = {"message": e.message, "code": 404, "type": "api"}
            else:
                errors[i] = {"code": e.status, "message": e.message,
                             "details": e.details if e.details is not None else [], "type": None}

    def _run_batch(self, items: list[tuple[str, Any]], fn: Callable[[Any], tuple[Any, int]],
                   list_key: str) -> dict[str, Any]:
        done: dict[int, Any] = {}
        errors: dict[int, Any] = {}
        status: dict[int, int] = {}
        with self.store.transaction():  # one commit for the batch, not one per write
            for i, (_, item) in enumerate(items):
                self._batch_item(i, item, fn, done, status, errors)
        codes = [status[i] for i in sorted(status)]
        return self._batch_body(list_key, done, codes, errors)

    def _run_prepared_batch(self, items: list[tuple[str, Any]],
                            prepare: Callable[[Any], PreparedContact | None],
                            present: Callable[[list[tuple[PreparedContact, dict[str, Any]]]], list[tuple[Any, int]]],
                            fallback: Callable[[Any], tuple[Any, int]], list_key: str) -> dict[str, Any]:
        """A contacts batch whose saves hold the store lock only while they write (as ``_run_batch``, the same
        answer and rows). Why: with worker processes the lock is one for all of them, and a batch that converts,
        serializes and answers 200 contacts inside it makes the workers take turns.

        Each item is prepared first, without the lock (``prepare``: look-ups, values, audit rows); then one
        transaction under the lock runs each prepared item's look-ups again and writes its rows when they
        still find the same, or else runs the item as ``_run_batch`` would (``fallback``, also for what
        ``prepare`` declines: errors, tags, companies...). Answers are built after the lock (``present``), or
        inside it, in order, before an item that takes the fallback or saves a contact already saved by the
        batch, so each answer shows its contact as right after its own save; ``present`` answers a run of
        saved items at once (one tags and one do-not-contact query for them)."""
        store = self.store
        with store.fields_pinned():
            prepared = [self._prepare_item(prepare, item) for _, item in items]
        done: dict[int, Any] = {}
        errors: dict[int, Any] = {}
        codes: dict[int, int] = {}
        rows = PreparedRows()
        pending: list[tuple[int, PreparedContact, int]] = []  # written, answer not built yet
        saved: list[tuple[int, PreparedContact, dict[str, Any]]] = []

        def settle(answer_now: bool) -> None:
            rows.flush(store)
            if pending:
                ids = [lead_id for _, _, lead_id in pending]
                got = {r["id"]: r for r in store.query(
                    f"SELECT * FROM leads WHERE id IN ({','.join('?' * len(ids))})", ids)}
                saved.extend((i, p, got[lead_id]) for i, p, lead_id in pending)
                pending.clear()
            if answer_now:
                answer()

        def answer() -> None:
            for (i, _, _), (entity, code) in zip(saved, present([(p, row) for _, p, row in saved]), strict=True):
                done[i], codes[i] = entity, code
            saved.clear()

        with store.batch_transaction():
            fields_now = store.fields("lead")
            for i, (_, item) in enumerate(items):
                p = prepared[i]
                lead_id = None
                if p is not None and p.fields is fields_now and not (
                        p.row is not None and any(p.row["id"] == w for _, _, w in pending)):
                    lead_id = self.contacts.write_prepared(p, rows)
                if lead_id is not None and p is not None:
                    pending.append((i, p, lead_id))
                    continue
                settle(answer_now=True)
                self._batch_item(i, item, fallback, done, codes, errors)
            settle(answer_now=False)
        with store.fields_pinned():
            answer()
        return self._batch_body(list_key, done, [codes[i] for i in sorted(codes)], errors)

    @staticmethod
    def _prepare_item(prepare: Callable[[Any], PreparedContact | None], item: Any) -> PreparedContact | None:
        """``prepare(item)``, or None when it raises: the item then takes the fallback under the lock, which
        raises (and answers) it there, as before."""
        try:
            return prepare(item)
        except Exception:
            return None

    def g_batch_new(self, req: Request, ctx: Ctx) -> Response:
        items = self.batch_items(req)
        if ctx.batch_new_500:
            for _, item in items:  # validate first: Mautic fails the whole request without partial writes
                if not isinstance(item, dict) or any(item.get(k) in (None, "") for k, _ in ctx.required) or (
                        ctx.name in ("devices",) and not item.get("lead")) or (
                        ctx.name == "notes" and not self.contacts.get_row("leads", item.get("lead"))) or (
                        ctx.name == "users" and not item.get("plainPassword")):
                    raise server_error()
        body = self._run_batch(items, lambda it: (self.generic.present(ctx, self.generic.create(ctx, it, batch=True), True), 201),
                               ctx.list_key)
        return Response(201, body)

    def g_batch_edit(self, req: Request, ctx: Ctx) -> Response:
        items = self.batch_items(req)
        put = req.method == "PUT"
        if (put and ctx.batch_put == "500") or (not put and ctx.batch_patch_500):
            raise server_error()

        def one(item: Any) -> tuple[Any, int]:
            if not isinstance(item, dict) or not item.get("id"):
                raise ApiError(400, "ID is missing from the payload.")
            if put and isinstance(ctx.batch_put, dict):
                e = self.generic.get_raw(ctx.name, item["id"])
                if e is None:
                    raise not_found()
                raise BatchPartial(e, ctx.batch_put)
            try:
                return self.generic.present(ctx, self.generic.edit(ctx, int(item["id"]), item, put=put)), 200
            except ApiError as err:
                if err.status == 400:
                    current = self.generic.get_raw(ctx.name, item["id"])
                    raise BatchPartial(current, err.details or {}) from None
                raise

        return Response(200, self._run_batch(items, one, ctx.list_key))

    def request_ids(self, req: Request) -> list[int]:
        raw = req.query.get("ids")
        if raw is None:
            body = self.body(req) if req.body else {}
            raw = body.get("ids") if isinstance(body, dict) else None
        vals = phpquery.as_list(raw) if not isinstance(raw, str) else raw.split(",")
        out = []
        for v in vals:
            try:
                out.append(int(str(v).strip()))
            except ValueError:
                continue
        return out

    def g_batch_delete(self, req: Request, ctx: Ctx) -> Response:
        out = []
        for i in self.request_ids(req):
            try:
                out.append(self.generic.present(ctx, self.generic.delete(ctx, i)))
            except ApiError:
                continue
        return Response(200, {ctx.list_key: out})
