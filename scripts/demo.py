"""`make demo`: the main job end to end, as a user runs it with Meltano.

1. starts `mautic-sim` (seeded contacts) on a free port;
2. `meltano run tap-mautic target-duckdb` (full); rows in DuckDB against the records the tap emitted;
3. edits, creates and deletes a few contacts through Mautic's API, runs the same job again (incremental, then
   the dbt models of transform/ with their tests: `dbt-duckdb:build`) and shows that exactly those contacts
   arrived, the deleted ones marked and named in the `deletions` table, and one question asked of a mart;
4. selects contacts from the warehouse (engaged contacts of a segment) and loads them back into Mautic with
   `meltano invoke target-mautic` (a computed field and a segment membership), printing the outcomes; then
   mirrors that audience into a segment of its own (``sync_mode: mirror``) and again once the query selects
   one contact fewer, which is removed from the segment.

Everything is written under demo-output/ (Meltano's state, the DuckDB file, the results); the simulator is
stopped at the end, whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mautic_api.client import MauticClient
from mautic_sim.process import SimProcess
from scripts.pipeline import (
    ROOT,
    PipelineError,
    duckdb_load_results,
    duckdb_query,
    duckdb_table_counts,
    meltano,
    meltano_env,
    tap_record_counts,
)

OUT = ROOT / "demo-output"
CONTACTS = int(os.environ.get("DEMO_CONTACTS", "1000"))
PASSWORD = SimProcess.password
STATE_SUFFIX = "demo"
JOB = ("tap-mautic", "target-duckdb")
MODELS = "dbt-duckdb:build"  # the main job's last task: staging views and marts, then their dbt tests


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run_job(env: dict[str, str], *, full_refresh: bool = False,
            models: bool = False) -> tuple[Counter[str], float]:
    args = ["--environment", "sim", "run", "--state-id-suffix", STATE_SUFFIX]
    if full_refresh:
        args.append("--full-refresh")
    started = time.monotonic()
    done = meltano(*args, *JOB, *([MODELS] if models else []), env=env)
    return tap_record_counts(done.stdout), time.monotonic() - started


def compare_rows(emitted: Counter[str], database: Path) -> None:
    """Rows per DuckDB table against the records the tap emitted (a full run: equal, table by table)."""
    rows = duckdb_table_counts(database)
    unequal = {s: (n, rows.get(s)) for s, n in emitted.items() if rows.get(s) != n}
    for stream, n in sorted(emitted.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {stream:<28} emitted {n:>6}   in DuckDB {rows.get(stream, 0):>6}")
    print(f"  ... {len(emitted)} streams, {sum(emitted.values()):,} records emitted; "
          f"{sum(1 for s in emitted if rows.get(s) == emitted[s])} of {len(emitted)} tables hold exactly "
          "as many rows")
    if unequal:
        raise PipelineError(f"rows in != rows out: {unequal}")


def change_contacts(client: MauticClient) -> dict[str, list[int]]:
    """What a week in Mautic looks like, in small: a few edits, new contacts, deletions."""
    page = client.list_page("contacts", start=0, limit=30, order_by="id", order_dir="ASC",
                            where=[{"col": "email", "expr": "isNotNull"}])
    ids = sorted(int(r["id"]) for r in page.records)
    edited, deleted = ids[:5], ids[10:12]
    for n, contact_id in enumerate(edited):
        client.edit("contacts", contact_id, {"city": f"Demo City {n}", "seats": 10 + n})
    created = []
    for n in range(3):
        _, item = client.create("contacts", {"email": f"demo.new.{n}.{int(time.time())}@example.org",
                                             "firstname": "Demo", "lastname": f"New {n}", "seats": n + 1})
        created.append(int(item["id"]))
    for contact_id in deleted:
        client.delete("contacts", contact_id)
    return {"edited": edited, "created": created, "deleted": deleted}


WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


def write_calls(sim: SimProcess) -> int:
    """Write calls the simulator has served so far (its request log)."""
    return sum(sim.requests(method=m) for m in WRITE_METHODS)


def engaged_rows(database: Path, segment_id: int, limit: int = 25) -> list[dict[str, Any]]:
    """The warehouse query: the most engaged contacts of a segment (by points)."""
    return duckdb_query(database, f"""
        SELECT c.email, c.points, c.seats
        FROM mautic.contacts c JOIN mautic.lead_lists_leads m ON m.lead_id = c.id
        WHERE m.leadlist_id = {segment_id} AND c.email IS NOT NULL AND c._sdc_deleted_at IS NULL
        ORDER BY c.points DESC, c.id LIMIT {limit}""")


def audience_input(rows: list[dict[str, Any]], audience_id: int, version: int) -> tuple[Path, int]:
    """The audience as a full snapshot of a segment's members: ACTIVATE_VERSION, its segment_memberships
    records, then ACTIVATE_VERSION again, which tells target-mautic the snapshot began and ended in this run
    (``sync_mode: mirror`` removes only then). Written here from the DuckDB query's rows, as the other
    reverse-ETL inputs are; from PostgreSQL, tap-postgres-snapshot with --full-refresh sends the same."""
    props = {"email": {"type": "string"}, "segment_id": {"type": "integer"}}
    schema = {"type": "object", "properties": props}
    messages: list[dict[str, Any]] = [
        {"type": "SCHEMA", "stream": "segment_memberships", "key_properties": [], "schema": schema},
        {"type": "ACTIVATE_VERSION", "stream": "segment_memberships", "version": version}]
    messages += [{"type": "RECORD", "stream": "segment_memberships", "version": version,
                  "record": {"email": r["email"], "segment_id": audience_id}} for r in rows]
    messages.append({"type": "ACTIVATE_VERSION", "stream": "segment_memberships", "version": version})
    messages.append({"type": "STATE", "value": {"reverse_etl": f"audience-{version}"}})
    rows_file = OUT / f"engaged_audience.v{version}.singer.jsonl"
    rows_file.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return rows_file, len(rows)


def engaged_input(database: Path, segment_id: int, bump: int) -> tuple[Path, int]:
    """Engaged contacts of a segment, chosen in the warehouse: a computed field and a segment membership."""
    rows = engaged_rows(database, segment_id)
    contact_props = {"email": {"type": "string"}, "seats": {"type": ["integer", "null"]}}
    messages = [{"type": "SCHEMA", "stream": "contacts", "key_properties": ["email"],
                 "schema": {"type": "object", "properties": contact_props}}]
    # the first three rows' model changed since the last sync (bump): a plan shows their field changes
    messages += [{"type": "RECORD", "stream": "contacts", "record": {
        "email": r["email"], "seats": int(r["seats"] or 0) + 100 + (bump if n < 3 else 0)}}
        for n, r in enumerate(rows)]
    messages.append({"type": "SCHEMA", "stream": "segment_memberships", "key_properties": [], "schema": {
        "type": "object", "properties": {"email": {"type": "string"}, "segment_id": {"type": "integer"}}}})
    messages += [{"type": "RECORD", "stream": "segment_memberships",
                  "record": {"email": r["email"], "segment_id": 1}} for r in rows]
    messages.append({"type": "STATE", "value": {"reverse_etl": "demo"}})
    rows_file = OUT / f"engaged_contacts{'.changed' if bump else ''}.singer.jsonl"
    rows_file.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return rows_file, len(rows) * 2


def sync(env: dict[str, str], sim: SimProcess, rows_file: Path, records: int, label: str,
         **settings: str) -> list[dict[str, Any]]:
    """One `meltano invoke target-mautic` of ``rows_file``: its outcomes and write calls printed, its results
    lines kept (every run's, for the warehouse table)."""
    before = write_calls(sim)
    meltano("--environment", "sim", "invoke", "target-mautic", env={**env, **settings}, stdin=rows_file)
    results_path = Path(env["TARGET_MAUTIC_RESULTS_PATH"])
    results = [json.loads(line) for line in results_path.read_text().splitlines()]
    with (OUT / "all-results.jsonl").open("a") as kept:
        kept.write(results_path.read_text())
    outcomes = Counter((r["stream"], r["outcome"]) for r in results)
    counts = ", ".join(f"{stream} {outcome} {n}" for (stream, outcome), n in sorted(outcomes.items()))
    print(f"  {label}: {counts}; {write_calls(sim) - before} write calls")
    if len(results) != records:
        raise PipelineError(f"{records} records sent, {len(results)} outcomes")
    return results


def show_plan(results: list[dict[str, Any]], summary_file: Path) -> None:
    """A dry run's plan: each record's field changes, then the totals table (the target's summary)."""
    for r in results:
        if r["outcome"] == "would_update":
            diffs = ", ".join(f"{alias}: {old!r} -> {new!r}" for alias, (old, new) in r["changes"].items())
            print(f"    would_update {r['stream']} {json.dumps(r['key'])}: {diffs}")
    summary = json.loads(summary_file.read_text())
    columns = ("create", "update", "unchanged", "delete", "skip", "fail", "not_written")
    width = max(len("stream"), *(len(s) for s in summary["streams"]))
    print(f"    Plan (dry run): run {summary['run_id']}")
    print("    " + "stream".ljust(width) + "".join(f" {c:>11}" for c in columns))
    for stream, row in summary["streams"].items():
        print("    " + stream.ljust(width) + "".join(f" {row[c]:>11}" for c in columns))


def mirror_audience(env: dict[str, str], sim: SimProcess, client: MauticClient, database: Path,
                    segment_id: int) -> None:
    """The audience mirrored into a segment of its own: the query's contacts become its members, then the
    query selects one fewer and the mirror takes that contact out (``sync_mode: mirror``)."""
    _, segment = client.create("segments", {"name": "Engaged audience", "alias": "engaged-audience",
                                            "isPublished": True})
    audience_id = int(segment["id"])
    mirror = {"TARGET_MAUTIC_SYNC_MODE": "mirror"}
    rows = engaged_rows(database, segment_id)
    first, n = audience_input(rows, audience_id, version=1)
    print(f"  the {n} contacts mirrored into segment {audience_id} 'engaged-audience' (sync_mode mirror, "
          f"ACTIVATE_VERSION before and after the records) -> {first.name}")
    sync(env, sim, first, n, "audience mirror, first run", **mirror)
    smaller, m = audience_input(rows[:-1], audience_id, version=2)
    mirrored = sync(env, sim, smaller, m + 1, f"audience mirror, the query now selects {m}", **mirror)
    removed = [r for r in mirrored if r["outcome"] == "removed"]
    if len(removed) != 1 or len(client.list_page("contacts", search="segment:engaged-audience",
                                                 limit=100, minimal=True).records) != m:
        raise PipelineError("the mirror did not remove exactly the contact the query dropped")
    print(f"    removed from segment {audience_id}: contact {removed[0]['mautic_id']} ({rows[-1]['email']}), "
          f"no longer selected; the segment holds {m} contacts")


def reverse_etl(env: dict[str, str], sim: SimProcess, client: MauticClient, database: Path,
                segment_id: int) -> None:
    """Warehouse rows written back, as a marketer checks them: a first run, the same input again (nothing to
    write), a plan of a changed model (dry run), the audience mirrored into a segment, then every run's
    results loaded into the warehouse."""
    rows_file, records = engaged_input(database, segment_id, bump=0)
    print(f"  {records // 2} engaged contacts of segment {segment_id} selected in DuckDB -> {rows_file.name}")
    first = sync(env, sim, rows_file, records, "first run")
    rerun = sync(env, sim, rows_file, records, "rerun of the same input")
    changed_file, _ = engaged_input(database, segment_id, bump=5)
    plan = sync(env, sim, changed_file, records, "plan of the changed model (dry_run)",
                TARGET_MAUTIC_DRY_RUN="true")
    show_plan(plan, Path(env["TARGET_MAUTIC_RESULTS_PATH"] + ".summary.json"))
    if not first or any(r["outcome"] != "unchanged" for r in rerun):
        raise PipelineError("the rerun of the same input was not all unchanged")
    mirror_audience(env, sim, client, database, segment_id)
    duckdb_load_results(database, OUT / "all-results.jsonl")
    runs = duckdb_query(database, "SELECT COUNT(DISTINCT run_id) AS runs, COUNT(*) AS lines "
                                  "FROM mautic_sync_results")[0]
    by = duckdb_query(database, "SELECT stream, outcome, COUNT(*) AS n FROM mautic_sync_results "
                                "GROUP BY ALL ORDER BY stream, outcome")
    counts = ", ".join(f"{r['stream']} {r['outcome']} {r['n']}" for r in by)
    print(f"  mautic_sync_results in DuckDB: {runs['runs']} runs, {runs['lines']} lines: {counts}")


def show_marts(database: Path) -> None:
    """One question asked of the marts dbt built: how each email is read, by the contacts still live."""
    counts = duckdb_query(database, """
        SELECT (SELECT COUNT(*) FROM analytics.contacts) AS contacts,
               (SELECT COUNT(*) FROM analytics.contact_history) AS contact_versions,
               (SELECT COUNT(*) FROM analytics.email_engagement) AS email_contact_pairs""")[0]
    print(f"  marts built and tested (dbt): {counts}")
    rows = duckdb_query(database, """
        SELECT email_id, email_name, SUM(sent) AS sent, SUM(read) AS read, SUM(clicked) AS clicked,
               ROUND(SUM(read) / SUM(sent), 2) AS read_rate
        FROM analytics.email_engagement GROUP BY ALL ORDER BY read_rate DESC, email_id LIMIT 5""")
    print("  emails by read rate (analytics.email_engagement):")
    for row in rows:
        print(f"    {row}")


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    database = OUT / "warehouse.duckdb"
    step(f"Starting the Mautic simulator with {CONTACTS} contacts")
    with SimProcess(contacts=CONTACTS, seed=42) as sim:  # stopped on leaving, whatever happens
        url = sim.url
        try:
            print(f"  {url}")
            env = meltano_env(OUT, {"MAUTIC_SIM_URL": url, "MAUTIC_SIM_PASSWORD": PASSWORD})
            client = MauticClient({"base_url": url, "username": "admin", "password": PASSWORD})

            step("meltano --environment sim run tap-mautic target-duckdb   (first run: everything)")
            emitted, seconds = run_job(env, full_refresh=True)
            print(f"  done in {seconds:.0f} s")
            compare_rows(emitted, database)
            typed = duckdb_query(database, """
                SELECT id, email, seats, is_vip, attribution, last_purchase_at, interests
                FROM mautic.contacts WHERE email IS NOT NULL AND seats IS NOT NULL ORDER BY id LIMIT 3""")
            print("  contacts with typed custom-field columns:")
            for row in typed:
                print(f"    {row}")

            step("Changing Mautic: 5 contacts edited, 3 created, 2 deleted (through its REST API)")
            changes = change_contacts(client)
            for kind, ids in changes.items():
                print(f"  {kind:<8} {ids}")
            time.sleep(1.1)  # Mautic stores seconds: the next run starts in a later second than the changes

            step("meltano --environment sim run tap-mautic target-duckdb dbt-duckdb:build   (incremental, "
                 "then the models)")
            emitted, seconds = run_job(env, models=True)
            print(f"  done in {seconds:.0f} s; contacts emitted: {emitted['contacts']} "
                  f"(expected {sum(len(v) for v in changes.values())})")
            contacts = {r["id"]: r for r in duckdb_query(
                database, "SELECT id, email, city, seats, _sdc_deleted_at FROM mautic.contacts")}
            ok_edit = all(contacts[i]["city"] == f"Demo City {n}" for n, i in enumerate(changes["edited"]))
            ok_new = all(i in contacts for i in changes["created"]) and len(set(changes["created"])) == 3
            ok_del = all(contacts[i]["_sdc_deleted_at"] for i in changes["deleted"])
            deletions = duckdb_query(database, "SELECT object, object_id, name, deleted_at, user_name "
                                               "FROM mautic.deletions ORDER BY id")
            print(f"  edits in DuckDB: {ok_edit}; new contacts in DuckDB: {ok_new}; deleted contacts marked "
                  f"(_sdc_deleted_at): {ok_del}")
            print("  deletions table (who was deleted, when, by whom):")
            for row in deletions[-len(changes["deleted"]):]:
                print(f"    {row}")
            state_id = f"sim:tap-mautic-to-target-duckdb:{STATE_SUFFIX}"
            state = meltano("--environment", "sim", "state", "get", state_id, env=env).stdout.strip()
            state = state.splitlines()[-1]
            bookmark = json.loads(state)["singer_state"]["bookmarks"]["contacts"]
            print(f"  bookmark of contacts: {bookmark}")
            expected = sum(len(v) for v in changes.values())
            if emitted["contacts"] != expected or not (ok_edit and ok_new and ok_del):
                raise PipelineError("the incremental run did not carry exactly the changes")

            show_marts(database)

            step("Reverse ETL: warehouse -> meltano invoke target-mautic -> Mautic")
            reverse_etl(env, sim, client, database, segment_id=2)
            print(f"\nDemo complete; files in {OUT.relative_to(ROOT)}/")
        except PipelineError as exc:
            sys.exit(f"demo failed: {exc}")


if __name__ == "__main__":
    main()
