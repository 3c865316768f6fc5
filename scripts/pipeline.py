"""Run the project's Meltano jobs and read their results: shared by `make demo` and the end-to-end tests.

Meltano and its plugins are installed by `make meltano` (.venv-meltano/, .meltano/); nothing here installs.
A run gets its own system database (Meltano's state) and DuckDB file through environment variables, so the
demo and the tests never touch a user's state in .meltano/meltano.db.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
DUCKDB_PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
# Offline and quiet: no usage stats, no check for a newer Meltano (there is no Hub to reach).
MELTANO_OFFLINE = MappingProxyType({"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                                    "MELTANO_CLI_DISABLE_VERSION_CHECK": "true"})
_METRIC = re.compile(r"tap-mautic\s+METRIC: (\{.*\})\s*$")


class PipelineError(RuntimeError):
    """A Meltano command failed; the message carries the end of its output."""


def meltano_env(workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of an isolated run: its own system database and warehouse file under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        **MELTANO_OFFLINE,
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "TARGET_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        # the dbt models (transform/) build in the same file; dbt's manifest and logs stay in the run's folder
        "DBT_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(workdir / "dbt-target"),
        "DBT_LOG_PATH": str(workdir / "dbt-logs"),
        "TARGET_JSONL_DESTINATION_PATH": str(workdir),
        "TARGET_MAUTIC_RESULTS_PATH": str(workdir / "target-mautic-results.jsonl"),
        **(extra or {}),
    }


def meltano(*args: str, env: Mapping[str, str], check: bool = True, stdin: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``meltano <args>`` in the project folder; output (stdout and stderr together) in ``.stdout``."""
    if not MELTANO.exists():
        raise PipelineError(f"{MELTANO} is missing: run `make meltano` first (make demo/test do).")
    with (stdin.open() if stdin else open(os.devnull)) as inp:
        done = subprocess.run([str(MELTANO), *args], cwd=ROOT, env=dict(env), stdin=inp,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                              check=False)
    if check and done.returncode:
        raise PipelineError(f"meltano {' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}")
    return done


def tap_record_counts(output: str) -> collections.Counter[str]:
    """Records tap-mautic emitted per stream, from its ``record_count`` METRIC lines in Meltano's output."""
    counts: collections.Counter[str] = collections.Counter()
    for line in output.splitlines():
        match = _METRIC.search(line)
        if not match:
            continue
        metric = json.loads(match.group(1))
        if metric.get("metric") == "record_count":
            counts[metric["tags"]["stream"]] += int(metric["value"])
    return counts


def duckdb_query(database: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of ``sql`` against the warehouse, read with the loader's own duckdb (same version as wrote it)."""
    program = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "cur = con.execute(sys.argv[2])\n"
        "names = [d[0] for d in cur.description]\n"
        "print(json.dumps([dict(zip(names, row)) for row in cur.fetchall()], default=str))\n"
    )
    done = subprocess.run([str(DUCKDB_PYTHON), "-c", program, str(database), sql], capture_output=True,
                          text=True, check=False, timeout=120)
    if done.returncode:
        raise PipelineError(f"DuckDB query failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def duckdb_table_counts(database: Path, schema: str = "mautic") -> dict[str, int]:
    """Rows per table of ``schema``."""
    tables = duckdb_query(database, "SELECT table_name FROM information_schema.tables "
                                    f"WHERE table_schema = '{schema}'")
    if not tables:
        return {}
    union = " UNION ALL ".join(
        f"SELECT '{t['table_name']}' AS t, COUNT(*) AS n FROM {schema}.\"{t['table_name']}\"" for t in tables
    )
    return {row["t"]: row["n"] for row in duckdb_query(database, union)}


RESULTS_COLUMNS = ("{run_id: 'VARCHAR', run_at: 'TIMESTAMPTZ', stream: 'VARCHAR', key: 'JSON', "
                   "mautic_id: 'BIGINT', outcome: 'VARCHAR', message: 'VARCHAR', warnings: 'VARCHAR[]', "
                   "changes: 'JSON'}")


def duckdb_load_results(database: Path, results: Path, table: str = "mautic_sync_results") -> None:
    """target-mautic's results lines (README "Results file": one per record, every run's) into ``table``
    of the warehouse, replaced, with the documented columns; read with the loader's own duckdb."""
    path = str(results).replace("'", "''")
    sql = (f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_json('{path}', "
           f"format='newline_delimited', columns={RESULTS_COLUMNS})")
    program = "import duckdb, sys\nduckdb.connect(sys.argv[1]).execute(sys.argv[2])\n"
    done = subprocess.run([str(DUCKDB_PYTHON), "-c", program, str(database), sql],
                          capture_output=True, text=True, check=False, timeout=120)
    if done.returncode:
        raise PipelineError(f"loading {results.name} into DuckDB failed: "
                            f"{done.stderr.strip().splitlines()[-1:]}")
