"""Ingest throughput against DuckDB's floor, measured in one run on the same files.

    .venv/bin/python benchmarks/bench_ingest.py --rows 1000000 --files 10

Writes trace-like CSV files (22 columns) with DuckDB, then times
1. the floor: a bare ``create table as select * from read_csv(...)`` of the same files;
2. ``tracepipe ingest`` of them (decode, contract checks with pandera, load + ledger).
Prints seconds, rows per second, peak resident memory of a child process for each, and
the ratio. Runs each in a child process so their memory is measured apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MAKE_FILES = r"""
import duckdb, sys
out, rows, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
con = duckdb.connect()
per = rows // files
for f in range(files):
    con.execute(f'''
    copy (
      select
        'T' || (2009 + (i % 6)) || '-' || lpad((i + {f} * {per})::varchar, 9, '0') as trace_number,
        strftime(date '2009-03-01' + ((i * 7) % 2000)::int + 30, '%Y-%m-%d') as request_date,
        ['FGR','SEDENA','PGR','ATF'][1 + i % 4] as requesting_agency,
        strftime(date '2009-03-01' + ((i * 7) % 2000)::int, '%Y-%m-%d') as recovery_date,
        'MX' as recovery_country,
        ['Chihuahua','Nuevo León','Michoacán','Tamaulipas','Sinaloa'][1 + i % 5] as recovery_state,
        ['Ciudad Juárez','Monterrey','Morelia','Reynosa','Culiacán'][1 + i % 5] as recovery_city,
        ['PISTOL','RIFLE','PISTOLA','REVOLVER','SHOTGUN'][1 + i % 5] as firearm_type,
        ['COLT','RUGER','SMITH & WESSON','ROMARM','GLOCK'][1 + i % 5] as manufacturer,
        'M' || (i % 90) as model,
        ['9MM','.223','7.62X39','.38 SPL','5.56'][1 + i % 5] as caliber,
        'SN' || lpad(((i + {f} * {per}))::varchar, 9, '0') as serial_number,
        'N' as serial_obliterated,
        'US' as country_of_manufacture,
        '' as importer,
        'COMPLETED' as trace_status,
        'PURCHASER_IDENTIFIED' as trace_result,
        '5-74-029-01-4F-' || lpad((i % 99999)::varchar, 5, '0') as ffl_license_number,
        strftime(date '2005-01-01' + ((i * 3) % 1400)::int, '%Y-%m-%d') as purchase_date,
        'DOE, JOHN ' || (i % 1000) as purchaser_name,
        '1980-01-02' as purchaser_dob,
        (i % 9999) || ' MAIN ST, EL PASO TX' as purchaser_address
      from range({per}) t(i)
    ) to '{out}/trace/trace_{f:03d}.csv' (header, delimiter ',')''')
"""

FLOOR = r"""
import duckdb, sys, time
t = time.perf_counter()
con = duckdb.connect(sys.argv[1])
con.execute(f"create table t as select * from read_csv('{sys.argv[2]}/trace/*.csv', all_varchar=true)")
n = con.execute("select count(*) from t").fetchall()[0][0]
con.close()
print(n, time.perf_counter() - t)
"""

INGEST = r"""
import sys, time
from pipelines.config import Settings
from pipelines.ingest import ingest
s = Settings.from_env({"TRACEPIPE_DATA_DIR": sys.argv[1], "TRACEPIPE_LANDING_DIR": sys.argv[2]})
t = time.perf_counter()
summary = ingest(s)
print(summary.rows_loaded, time.perf_counter() - t)
"""


def child(code: str, *args: str) -> tuple[int, float, float]:
    """(rows, seconds, peak RSS MiB) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows, seconds = proc.stdout.split()[-2:]
    # ru_maxrss of children is the max over all children so far: report it as an upper bound.
    return int(rows), float(seconds), max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        (landing / "trace").mkdir(parents=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", MAKE_FILES, str(landing), str(args.rows), str(args.files)], check=True)
        size = sum(p.stat().st_size for p in (landing / "trace").iterdir())
        print(f"made {args.rows:,} rows in {args.files} files ({size / 2**20:,.0f} MiB) in {time.perf_counter() - t:.1f} s")
        n_floor, s_floor, m_floor = child(FLOOR, str(Path(tmp) / "floor.duckdb"), str(landing))
        n_ingest, s_ingest, m_ingest = child(INGEST, str(Path(tmp) / "data"), str(landing))
        result = {
            "rows": args.rows,
            "floor_seconds": round(s_floor, 2),
            "floor_rows_per_s": round(n_floor / s_floor),
            "floor_peak_rss_mib_upper_bound": round(m_floor),
            "ingest_seconds": round(s_ingest, 2),
            "ingest_rows_per_s": round(n_ingest / s_ingest),
            "ingest_peak_rss_mib_upper_bound": round(m_ingest),
            "ingest_over_floor": round(s_ingest / s_floor, 2),
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
