"""Benchmark: a full dbt build of a large trace history against the incremental build
after one small new export. Prints figures; it is not a test.

    .venv/bin/python dbt_project/scripts/benchmark_incremental.py --rows 10000000

1. Generates the default exports (scale 1) into a temporary data folder and ingests them
   (or reuses ``--from-data DIR``, a data folder already ingested).
2. Inflates ``raw.trace`` with DuckDB SQL to about ``--rows`` rows: copies of the loaded
   rows, each copy a load of its own (new ``_load_id``), with new trace numbers and
   serial numbers so that every copy is a different firearm.
3. ``dbt run --full-refresh``: every model from scratch (the cost without incremental
   models, and the cost of the first build).
4. Lands one small trace file (``--new-rows`` new firearms, ``--changed-rows`` later
   versions of requests already loaded, plus repeat requests of
   firearms already in the history, one of them earlier than the request it repeats),
   ingests it, and runs ``dbt run`` (incremental).
5. ``dbt build`` again with nothing new: the incremental models find no new load.

Figures: wall time of each dbt command (dbt's own start-up, about 10-20 s here, included)
and dbt's per-model execution time, and how many rows each incremental run touched.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipelines import ingest  # noqa: E402
from pipelines.config import Settings  # noqa: E402
from pipelines.contracts import CONTRACTS  # noqa: E402
from pipelines.transform import run_dbt  # noqa: E402

HEAVY = (
    "int_trace_versions",
    "int_trace_requests_flagged",
    "int_licensee_listings_keyed",
    "origin_by_year",
    "source_states_by_year",
    "repeat_purchasers",
    "gao_16_223_reproduction",
)


def timed_dbt(settings: Settings, *args: str) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    result = run_dbt(settings, *args)
    wall = time.perf_counter() - start
    if not result.success:
        raise SystemExit("dbt failed:\n" + "\n".join(result.failures))
    per_model: dict[str, float] = {}
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    for node in results["results"]:
        per_model[node["unique_id"].split(".")[-1]] = node["execution_time"]
    per_model["_dbt_elapsed"] = results["elapsed_time"]
    return wall, per_model


def inflate(settings: Settings, target_rows: int) -> int:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        base = con.execute("select count(*) from raw.trace").fetchall()[0][0]
        copies = max(0, -(-target_rows // base) - 1)
        columns = [c for c in CONTRACTS["trace"].columns] + [
            "_load_id",
            "_file_name",
            "_row_number",
            "_date_format",
            "_loaded_at",
            "_export_date",
            "_load_seq",
            "_record_hash",
            "_change",
        ]
        select = []
        for c in columns:
            if c == "trace_number":
                select.append("t.trace_number || '-C' || k as trace_number")
            elif c == "serial_number":
                select.append(
                    "case when nullif(trim(t.serial_number), '') is null then t.serial_number "
                    "else t.serial_number || 'C' || k end as serial_number"
                )
            elif c == "_load_id":
                select.append("t._load_id || '-c' || k as _load_id")
            elif c == "_file_name":
                select.append("'copy-' || k || '-' || t._file_name as _file_name")
            else:
                select.append(f't."{c}"')
        con.execute(
            f"""insert into raw.trace
                select {", ".join(select)}
                from (select * from raw.trace) t, range(1, {copies + 1}) r(k)"""
        )
        con.execute("checkpoint")
        return con.execute("select count(*) from raw.trace").fetchall()[0][0]
    finally:
        con.close()


def land_small_file(settings: Settings, new_rows: int, changed_rows: int) -> tuple[Path, int]:
    """New firearms (renamed copies of loaded rows), repeat requests of firearms already
    loaded, and later versions of requests already loaded (the pending ones completed,
    the others with a corrected city), in one ISO-dated trace file."""
    columns = list(CONTRACTS["trace"].columns)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        cols = ", ".join(f'"{c}"' for c in columns)
        fresh = con.execute(
            f"select {cols} from raw.trace where _date_format = '%Y-%m-%d' "
            f"and _load_id not like '%-c%' limit {new_rows}"
        ).fetchall()
        repeats = con.execute(
            f"select {cols} from raw.trace where _date_format = '%Y-%m-%d' "
            "and nullif(trim(serial_number), '') is not null and trace_result = 'PURCHASER_IDENTIFIED' "
            f"and _load_id not like '%-c%' limit 50 offset {new_rows}"
        ).fetchall()
        later = con.execute(
            f"select {cols} from raw.trace where _date_format = '%Y-%m-%d' "
            f"and _load_id like '%-c%' using sample {changed_rows} rows (reservoir, 7)"
        ).fetchall()
    finally:
        con.close()
    path = settings.landing_dir / "trace" / "trace_benchmark_new_day.csv"
    i_trace = columns.index("trace_number")
    i_serial = columns.index("serial_number")
    i_request = columns.index("request_date")
    i_recovery = columns.index("recovery_date")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for n, row in enumerate(fresh):
            row = list(row)
            row[i_trace] = f"BENCH-NEW-{n:07d}"
            row[i_serial] = f"BENCHSN{n:07d}"
            writer.writerow(row)
        for n, row in enumerate(repeats):
            row = list(row)
            row[i_trace] = f"BENCH-REPEAT-{n:07d}"
            # half of them are requested earlier than the request they repeat
            if n % 2 == 0:
                row[i_request] = row[i_recovery]
            writer.writerow(row)
        i_status, i_result = columns.index("trace_status"), columns.index("trace_result")
        i_city = columns.index("recovery_city")
        for row in later:
            row = list(row)
            if row[i_status] == "PENDING":
                row[i_status], row[i_result] = "COMPLETED", "FFL_IDENTIFIED_NO_PURCHASER"
            else:
                row[i_city] = (row[i_city] or "") + " (CORRECTED)"
            writer.writerow(row)
    return path, len(fresh) + len(repeats) + len(later)


def touched(settings: Settings) -> dict[str, int]:
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    invocation = results["metadata"]["invocation_id"]
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return {
            table: con.execute(
                f"select count(*) from intermediate.{table} where dbt_invocation_id = ?",
                [invocation],
            ).fetchall()[0][0]
            for table in ("int_trace_requests_flagged",)
        }
    finally:
        con.close()


def report(label: str, wall: float, per_model: dict[str, float]) -> None:
    print(f"\n{label}: {wall:.1f} s wall, dbt elapsed {per_model['_dbt_elapsed']:.1f} s")
    for name in HEAVY:
        if name in per_model:
            print(f"  {name:<32} {per_model[name]:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="trace rows to inflate to")
    parser.add_argument("--new-rows", type=int, default=1_000, help="new firearms in the new file")
    parser.add_argument(
        "--changed-rows", type=int, default=100, help="later versions of loaded requests in it"
    )
    parser.add_argument("--from-data", type=Path, help="an ingested data folder to copy")
    parser.add_argument("--keep", type=Path, help="keep the benchmark data folder here")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="tracepipe-bench-"))
    data = work / "data"
    if data.exists():
        shutil.rmtree(data)
    settings = Settings.from_env({"TRACEPIPE_DATA_DIR": str(data), "TRACEPIPE_PII_KEY": "bench"})
    settings.ensure_dirs()
    settings.ensure_landing()
    if args.from_data:
        shutil.copy(args.from_data / "warehouse" / "warehouse.duckdb", settings.warehouse_path)
        con = duckdb.connect(str(settings.warehouse_path))
        try:  # drop what an earlier dbt build made, keep raw, quarantine, meta
            for schema in ("staging", "intermediate", "marts", "reference"):
                con.execute(f"drop schema if exists {schema} cascade")
        finally:
            con.close()
    else:
        from pipelines.generate import generate

        start = time.perf_counter()
        generate(out=settings.landing_dir, scale=1.0, seed=2016)
        ingest.ingest(settings)
        print(f"generated and ingested scale 1 in {time.perf_counter() - start:.0f} s")
        for kind_dir in settings.landing_dir.iterdir():  # keep the landing folder small
            if kind_dir.is_dir():
                shutil.rmtree(kind_dir)
        settings.ensure_landing()

    start = time.perf_counter()
    rows = inflate(settings, args.rows)
    print(f"raw.trace inflated to {rows:,} rows in {time.perf_counter() - start:.0f} s")

    run_dbt(settings, "seed")
    wall, per_model = timed_dbt(settings, "run", "--full-refresh")
    report(f"full build (dbt run --full-refresh, {rows:,} trace rows)", wall, per_model)

    path, n = land_small_file(settings, args.new_rows, args.changed_rows)
    start = time.perf_counter()
    summary = ingest.ingest(settings, kinds=("trace",))
    print(
        f"\nlanded {path.name} ({n} rows), ingested in {time.perf_counter() - start:.1f} s "
        f"({summary.rows('new')} new, {summary.rows('changed')} changed, "
        f"{summary.rows('unchanged')} unchanged, {summary.rows_quarantined} quarantined)"
    )

    wall, per_model = timed_dbt(settings, "run")
    report("incremental build after the new file (dbt run)", wall, per_model)
    print(f"  rows written by this run: {touched(settings)}")

    wall, per_model = timed_dbt(settings, "run")
    report("incremental build with nothing new (dbt run)", wall, per_model)
    print(f"  rows written by this run: {touched(settings)}")
    print(f"\nbenchmark data folder: {work}")


if __name__ == "__main__":
    main()
