"""List queries: the ``where`` expression tree, the search-string grammar and the DBAL-style list endpoint."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mautic_sim import mariadb, phpquery
from mautic_sim.generic import start_limit
from mautic_sim.messages import Request
from mautic_sim.stats import StatsError
from mautic_sim.util import server_error

KNOWN_EXPR = {"eq", "neq", "lt", "lte", "gt", "gte", "like", "notLike", "in", "notIn", "between", "notBetween",
              "isNull", "isNotNull", "isEmpty", "isNotEmpty", "andX", "orX"}


CONTACT_CATCHALL = ["firstname", "lastname", "email", "company", "city", "state", "zipcode", "country"]


COMPANY_CATCHALL = ["companyname", "companycity", "companyemail", "companywebsite", "companycountry"]


_DATE_VALUE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?$")


class SearchQueries:
    """Translates Mautic's list parameters into SQLite queries, as a mixin of ``Mautic``."""

    if TYPE_CHECKING:  # a mixin: the rest of its attributes are those of ``app.Mautic``, typed there
        def __getattr__(self, name: str) -> Any: ...

    def _where_sql(self, clauses: Any, columns: set[str], convert: dict[str, str], nested: bool,
                   prefix: str = "", stats: bool = False) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for c in phpquery.as_list(clauses):
            if not isinstance(c, dict):
                continue
            expr = c.get("expr")
            col = c.get("col", c.get("column"))
            val = c.get("val", c.get("value"))
            if expr not in KNOWN_EXPR:
                continue
            if expr in ("andX", "orX"):
                sub_sql = []
                for sub in phpquery.as_list(val):
                    s, p = self._where_sql([sub], columns, convert, True, prefix, stats)
                    if s:
                        sub_sql.append(s)
                        params += p
                if sub_sql:
                    parts.append("(" + (" AND " if expr == "andX" else " OR ").join(sub_sql) + ")")
                continue
            if not isinstance(col, str) or not col:
                continue
            col = re.sub(r"[^A-Za-z0-9_.]", "", col).split(".")[-1]
            if not nested:
                col = convert.get(col, col)
            if col not in columns:
                if stats:
                    raise StatsError("An exception occurred while executing a query: SQLSTATE[42S22]: Column not "
                                     f"found: 1054 Unknown column '{prefix}{col}' in 'WHERE'", 1054)
                raise server_error()
            qc = f'"{col}"'
            if expr in ("isNull", "isNotNull"):
                parts.append(f"{qc} IS {'NOT ' if expr == 'isNotNull' else ''}NULL")
            elif expr in ("isEmpty", "isNotEmpty"):
                parts.append(f"({qc} IS NULL OR {qc} = '')" if expr == "isEmpty" else f"({qc} IS NOT NULL AND {qc} != '')")
            elif expr in ("in", "notIn"):
                if isinstance(val, dict | list):
                    raise server_error()
                vals = mariadb.in_values(str(val if val is not None else ""))
                if len(vals) == 1:  # one value: eq/neq (a null one, from an empty value, matches nothing)
                    parts.append(f"{qc} {'=' if expr == 'in' else '!='} ?")
                else:
                    parts.append(f"{qc} {'IN' if expr == 'in' else 'NOT IN'} ({','.join('?' * len(vals))})")
                params += vals
            elif expr in ("between", "notBetween"):
                vals = phpquery.as_list(val)
                if len(vals) != 2:
                    continue
                parts.append(f"{qc} {'NOT ' if expr == 'notBetween' else ''}BETWEEN ? AND ?")
                params += [self._dt_value(col, mariadb.special_chars(str(v))) for v in vals]
            else:
                if isinstance(val, dict | list) or val is None:
                    continue
                op = {"eq": "=", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "like": "LIKE",
                      "notLike": "NOT LIKE"}[expr]
                parts.append(f"{qc} {op} ?")
                params.append(self._dt_value(col, mariadb.special_chars(str(val))))
        return " AND ".join(parts), params

    def _dt_value(self, col: str, value: str) -> str:
        """MariaDB compares a DATETIME column with a string by reading the string as a datetime: ``2026-01-02``
        is midnight, a ``T`` separator is accepted and an offset is ignored. SQLite compares text, so date-like
        values for date columns are brought to ``Y-m-d H:i:s`` first."""
        typed = self._field_types()
        is_dt = typed.get(col) == "datetime" or (col not in typed and (col.startswith("date_") or col in (
            "last_active", "last_opened", "trigger_date", "pause_from_date", "pause_to_date")))
        m = _DATE_VALUE.match(value) if is_dt else None
        if not m:
            return value
        date, time_ = m.group(1), m.group(2) or "00:00:00"
        return f"{date} {time_ if len(time_) == 8 else time_ + ':00'}"

    def _field_types(self) -> dict[str, str]:
        return {f["alias"]: f["type"] for f in self.store.fields("lead") + self.store.fields("company")}

    def _contact_search(self, search: str, catchall: list[str]) -> tuple[str, list[Any]]:
        tokens = re.findall(r'!?"[^"]*"|\S+', search)
        sql, params, pending_or = "", [], False
        for tok in tokens:
            if tok == "OR":
                pending_or = True
                continue
            if tok == "AND":
                continue
            s, p = self._search_term(tok, catchall)
            if not sql:
                sql, params = s, p
            else:
                sql = f"({sql}) {'OR' if pending_or else 'AND'} ({s})"
                params += p
            pending_or = False
        return sql, params

    def _search_term(self, tok: str, catchall: list[str]) -> tuple[str, list[Any]]:
        neg = tok.startswith("!")
        tok = tok.lstrip("!")
        lead = catchall is CONTACT_CATCHALL
        cols = set(self.store.columns("leads" if lead else "companies"))
        params: list[Any]
        sql, params = "", []
        if tok.startswith('"') and tok.endswith('"') and len(tok) >= 2:
            phrase = tok[1:-1]
            sql = " OR ".join(f'"{c}" LIKE ?' for c in catchall)
            params = [f"%{phrase}%"] * len(catchall)
        elif ":" in tok:
            cmd, _, v = tok.partition(":")
            cmd = cmd.lower()
            if cmd == "ids":
                ids = [x for x in v.split(",") if x.strip().isdigit()] or ["0"]
                sql, params = f"id IN ({','.join('?' * len(ids))})", ids
            elif cmd == "is" and v == "anonymous" and lead:
                sql = "date_identified IS NULL"
            elif cmd == "is" and v == "mine":
                sql, params = "owner_id = ?", [self.current_user()["id"] or 0]
            elif cmd == "is" and v == "unowned":
                sql = "owner_id IS NULL"
            elif cmd == "is" and v in ("published", "unpublished"):
                sql = f"is_published = {1 if v == 'published' else 0}"
            elif cmd == "tag" and lead:
                sql = ("id IN (SELECT x.lead_id FROM lead_tags_xref x JOIN lead_tags t ON t.id = x.tag_id "
                       "WHERE json_extract(t.data, '$.tag') LIKE ?)")
                params = [f"{v}%"]
            elif cmd == "segment" and lead:
                # exact, unlike the other commands: LeadRepository compares list.alias with eq and makes the
                # filter strict (no "%" appended); MySQL's collation makes it case-insensitive
                sql = ("id IN (SELECT m.lead_id FROM lead_lists_leads m JOIN lead_lists s ON s.id = m.leadlist_id "
                       "WHERE lower(json_extract(s.data, '$.alias')) = lower(?) AND m.manually_removed = 0)")
                params = [v]
            elif cmd == "stage" and lead:
                sql = "stage_id IN (SELECT id FROM stages WHERE json_extract(data, '$.name') LIKE ?)"
                params = [f"{v}%"]
            elif cmd == "owner":
                sql = ("owner_id IN (SELECT id FROM users WHERE json_extract(data, '$.username') LIKE ? OR "
                       "json_extract(data, '$.firstName') LIKE ? OR json_extract(data, '$.lastName') LIKE ?)")
                params = [f"{v}%"] * 3
            elif cmd == "name" and lead:
                sql, params = "(firstname LIKE ? OR lastname LIKE ?)", [f"{v}%"] * 2
            elif cmd == "company" and lead:
                sql, params = "company LIKE ?", [f"{v}%"]
            elif cmd == "company_id" and lead:
                sql, params = "id IN (SELECT lead_id FROM companies_leads WHERE company_id = ?)", [v]
            elif cmd in cols and cmd != "id":
                sql, params = f'"{cmd}" LIKE ?', [f"{v}%"]
        if not sql:
            sql = " OR ".join(f'"{c}" LIKE ?' for c in catchall)
            params = [f"%{tok}%"] * len(catchall)
        return (f"NOT ({sql})" if neg else f"({sql})"), params

    def _dbal_list(self, req: Request, table: str, catchall: list[str], convert: dict[str, str],
                   default_order: str) -> tuple[int, list[dict[str, Any]]]:
        q = req.query
        columns = set(self.store.columns(table))
        wheres, params = [], []
        where = q.get("where")
        if where:
            s, p = self._where_sql(where, columns, convert, False)
            if s:
                wheres.append(s)
                params += p
        # 5.1-6.x: `where` replaces the forced published filter; a later 7.x applies both (versions sheet §4)
        if (not where or self.version.where_keeps_forced_filters) and \
                str(q.get("published", "")).lower() in ("1", "true"):
            wheres.append("is_published = 1")
        search = str(q.get("search") or "").strip()
        if search:
            s, p = self._contact_search(search, catchall)
            wheres.append(s)
            params += p
        direction = str(q.get("orderByDir") or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise server_error()
        order = q.get("order")
        if order:
            terms = []
            for o in phpquery.as_list(order):
                col = o.get("col") if isinstance(o, dict) else o
                d = str(o.get("dir", "ASC")).upper() if isinstance(o, dict) else "ASC"
                if col not in columns or d not in ("ASC", "DESC"):
                    raise server_error()
                terms.append(f'"{col}" {d}')
            order_sql = ", ".join(terms)
        elif q.get("orderBy"):
            cols = [re.sub(r"[^A-Za-z0-9_.]", "", c).split(".")[-1] for c in str(q["orderBy"]).split(",")]
            if any(c not in columns for c in cols):
                raise server_error()
            order_sql = ", ".join(f'"{c}" {direction}' for c in cols)
        else:
            order_sql = default_order
        start, limit = start_limit(q, 30)
        where_sql = (" WHERE " + " AND ".join(wheres)) if wheres else ""
        with self.store.lock:
            total = self.store.scalar(f"SELECT COUNT(*) FROM {table}{where_sql}", params)
            lim = f" LIMIT {limit} OFFSET {start}" if limit else (f" LIMIT -1 OFFSET {start}" if start else "")
            rows = self.store.query(f"SELECT * FROM {table}{where_sql} ORDER BY {order_sql}{lim}", params) if total else []
        return total, rows
