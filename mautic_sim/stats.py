"""/api/stats: table listing and filtered, ordered rows of the stats tables."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mautic_sim import phpquery
from mautic_sim.messages import Request, Response
from mautic_sim.util import RECORDED


class StatsError(Exception):
    """A query error that /api/stats reports with HTTP 200."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.message, self.code = message, code


def _stat_str(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


class StatsRoutes:
    """The /api/stats endpoint, as a mixin of ``Mautic``."""

    if TYPE_CHECKING:  # a mixin: the rest of its attributes are those of ``app.Mautic``, typed there
        def __getattr__(self, name: str) -> Any: ...

    def stats(self, req: Request, table: str | None) -> Response:
        available = RECORDED["stats_tables"]
        if table is None or table not in available:
            return Response(200, {"availableTables": available, "tableColumns": RECORDED["stats_columns"]})
        try:
            return Response(200, self.stats_rows(table, req.query))
        except StatsError as e:
            return Response(200, {"errors": [{"message": e.message, "code": e.code}]})

    def stats_rows(self, table: str, q: dict[str, Any], forced: list[tuple[str, Any]] | None = None,
                   list_key: str = "stats") -> dict[str, Any]:
        columns = self.store.columns(table)
        shown = [c for c in columns if c != "data"]
        colset = set(shown)
        wheres, params = [], []
        for col, val in forced or []:
            wheres.append(f'"{col}" = ?')
            params.append(val)
        if q.get("where"):
            s, p = self._where_sql(q["where"], colset, {}, False, prefix="e.", stats=True)
            if s:
                wheres.append(s)
                params += p
        order_terms = []
        for o in phpquery.as_list(q.get("order")):
            if not isinstance(o, dict):
                continue
            col = re.sub(r"[^A-Za-z0-9_]", "", str(o.get("col", "")))
            d = str(o.get("dir", "ASC"))
            if col not in colset:
                raise StatsError("An exception occurred while executing a query: SQLSTATE[42S22]: Column not found: "
                                 f"1054 Unknown column 'e.{col}' in 'order clause'", 1054)
            if d.upper() not in ("ASC", "DESC"):
                raise StatsError("An exception occurred while executing a query: SQLSTATE[42000]: Syntax error or "
                                 "access violation: 1064 You have an error in your SQL syntax; check the manual that "
                                 "corresponds to your MariaDB server version for the right syntax to use near "
                                 f"'{d.upper()} LIMIT {q.get('limit', 100)}' at line 1", 1064)
            order_terms.append(f'"{col}" {d.upper()}')
        try:
            start = int(q.get("start") or 0)
            limit = int(q.get("limit") or 100)
        except (TypeError, ValueError):
            start, limit = 0, 100
        where_sql = (" WHERE " + " AND ".join(wheres)) if wheres else ""
        order_sql = (" ORDER BY " + ", ".join(order_terms)) if order_terms else ""
        cols_sql = ", ".join(f'"{c}"' for c in shown)
        with self.store.lock:
            total = self.store.scalar(f'SELECT COUNT(*) FROM "{table}"{where_sql}', params)
            rows = self.store.query(f'SELECT {cols_sql} FROM "{table}"{where_sql}{order_sql} LIMIT {limit} '
                                    f"OFFSET {start}", params)
        out = [{k: _stat_str(v) for k, v in r.items() if v is not None} for r in rows]
        return {"total": str(total), list_key: out}
