"""The pipeline against DuckDB's bare load, from raw exports to the published release.

    ./dev bench                          # 10 M traces, and 1 M to show how cost grows
    ./dev bench --traces 1000000 --growth
    ./dev bench --traces 5000 --growth --no-profile --out /tmp/b   # a small check

For each size it
1. generates the exports (``tracepipe generate``), or reuses them when present;
2. measures the floor: a bare ``create table ... as select * from read_csv(...)`` of the
   same trace files, dialect spelled out, one call per encoding, ``store_rejects``;
3. runs every stage, each as its own ``tracepipe`` process (interpreter, Airflow-free
   start-up and dbt's parse included): ingest, transform, audit, publish, report;
4. measures the floor again;
5. lands a daily file of about 1,000 new trace rows (and some later versions of traces
   already loaded) and runs every stage again: the increment.
6. with ``--profile``, ingests the same exports once more into a scratch folder, not
   timed, for where the ingest's time goes (``profile_ingest.py``): its Python functions
   under cProfile, and its DuckDB statements, each timed by its text.

Each stage is measured for wall time, CPU time (user + system of the whole process
tree), rows per second (every row read by the full run's ingest, over the stage's wall
time) and peak resident memory of the process tree (summed over its processes,
sampled every 50 ms, and never below the largest process's own peak). The ratio to the
floor uses the mean of the two floor measurements of the same run.

Figures go to ``<out>/RESULTS.md`` (with the machine, the date and the commit) and to
``<out>/results-<size>.json``. The generated data and the run folders are kept under
``data/bench/`` (git-ignored), so a second run reuses the exports.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import pstats
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("ingest", "transform", "audit", "publish", "report")
# Trace rows the generator writes per unit of scale (scale 1: the GAO-16-223 volume).
TRACES_PER_SCALE = 138_879
SEED = 2016
DAILY_NEW = 1_000
DAILY_REPEATS = 50
DAILY_LATER = 80


def size_label(traces: int) -> str:
    if traces >= 1_000_000 and traces % 1_000_000 == 0:
        return f"{traces // 1_000_000}m"
    if traces >= 1_000 and traces % 1_000 == 0:
        return f"{traces // 1_000}k"
    return str(traces)


# --- measuring a child process tree ----------------------------------------------------


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


@dataclass
class Measure:
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    exit_code: int
    output: str = field(default="", repr=False)


def measured(argv: list[str], env: dict[str, str], log: Path | None = None) -> Measure:
    """Run one command, sampling its process tree's memory; CPU time from wait4."""
    start = time.perf_counter()
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kib(proc.pid))
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            out.close()
    wall = time.perf_counter() - start
    peak = max(peak, usage.ru_maxrss)
    text = log.read_text(errors="replace") if log else ""
    return Measure(
        wall_s=round(wall, 2),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
        peak_rss_mib=round(peak / 1024, 1),
        exit_code=proc.returncode,
        output=text,
    )


# --- the data --------------------------------------------------------------------------


def generated(traces: int, data: Path) -> Path:
    """The exports for this size, generated once and reused (a stamp says what they are)."""
    folder = data / f"exports-{size_label(traces)}"
    stamp = folder / "bench-stamp.json"
    scale = traces / TRACES_PER_SCALE
    wanted = {"scale": round(scale, 6), "seed": SEED}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating about {traces:,} traces (scale {scale:.4g}) into {folder} ...", flush=True)
    env = dict(os.environ)
    done = subprocess.run(
        [tracepipe(), "generate", "--scale", f"{scale:.6f}", "--seed", str(SEED), "--out", str(folder)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: generating the exports failed:\n{done.stdout}{done.stderr}")
    stamp.write_text(json.dumps(wanted))
    return folder


def tracepipe() -> str:
    return str(Path(sys.executable).with_name("tracepipe"))


def land(exports: Path, landing: Path) -> None:
    """The exports hard-linked into a fresh landing folder (the ingest moves rejected
    files away, so the generated copy stays whole)."""
    shutil.rmtree(landing, ignore_errors=True)
    for src in exports.rglob("*"):
        rel = src.relative_to(exports)
        if rel.parts[0] in ("_generator",) or src.name == "bench-stamp.json":
            continue
        dst = landing / rel
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dst)


FLOOR = r"""
import sys, duckdb
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from pipelines.contracts import CONTRACTS
from pipelines.ingest import FileRejected, sniff_encoding
db, folder = sys.argv[1], Path(sys.argv[2])
by_encoding = {}
for path in sorted(folder.glob("*")):
    if not path.is_file() or path.stat().st_size == 0:
        continue
    try:
        enc = sniff_encoding(path)
    except FileRejected:
        continue
    by_encoding.setdefault({"utf-8": "utf-8", "utf-8-sig": "utf-8"}.get(enc, "latin-1"), []).append(str(path))
columns = {c: "VARCHAR" for c in CONTRACTS["trace"].columns}
con = duckdb.connect(db)
first = True
for enc, files in by_encoding.items():
    select = ("select * from read_csv($f, columns=$c, header=true, auto_detect=false, delim=',', "
              "quote='\"', escape='\"', encoding=$e, store_rejects=true)")
    con.execute(("create table trace as " if first else "insert into trace ") + select,
                {"f": files, "c": columns, "e": enc})
    first = False
rows = con.execute("select count(*) from trace").fetchone()[0]
rejects = con.execute("select count(*) from reject_errors").fetchone()[0]
print(rows, rejects, sum(len(f) for f in by_encoding.values()))
"""


def floor(landing: Path, scratch: Path, env: dict[str, str]) -> dict:
    db = scratch / "floor.duckdb"
    for p in (db, db.with_suffix(".duckdb.wal")):
        p.unlink(missing_ok=True)
    m = measured(
        [sys.executable, "-c", FLOOR, str(db), str(landing / "trace"), str(ROOT)],
        env,
        scratch / "floor.log",
    )
    if m.exit_code != 0:
        raise SystemExit(f"bench: the floor failed:\n{m.output}")
    rows, rejects, files = (int(x) for x in m.output.split()[-3:])
    db.unlink(missing_ok=True)
    return {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib,
            "rows": rows, "rejects": rejects, "files": files}


# --- the pipeline ----------------------------------------------------------------------


def stage_env(work: Path, key: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TRACEPIPE_DATA_DIR=str(work),
        TRACEPIPE_PII_KEY=key,
        NO_COLOR="1",
    )
    env.pop("TRACEPIPE_LANDING_DIR", None)
    env.pop("TRACEPIPE_WAREHOUSE", None)
    return env


def run_stages(work: Path, env: dict[str, str], label: str) -> dict[str, dict]:
    logs = work / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict] = {}
    for stage in STAGES:
        m = measured([tracepipe(), stage], env, logs / f"{label}-{stage}.log")
        out[stage] = {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib,
                      "exit_code": m.exit_code}
        print(f"  {label:<9} {stage:<10} {m.wall_s:8.1f} s wall {m.cpu_s:8.1f} s cpu "
              f"{m.peak_rss_mib:8.0f} MiB peak  (exit {m.exit_code})", flush=True)
        if m.exit_code != 0:
            raise SystemExit(
                f"bench: `tracepipe {stage}` exited {m.exit_code}; its output is in "
                f"{logs / f'{label}-{stage}.log'}"
            )
    return out


def rows_read(work: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(work / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        return dict(
            con.execute(
                "select kind, sum(rows_read)::bigint from meta.load_ledger group by 1"
            ).fetchall()
        )
    finally:
        con.close()


def land_daily_file(work: Path, day: str) -> int:
    """One ISO-dated trace file: new firearms (renamed copies of loaded rows), repeat
    requests of firearms already loaded, and later versions of loaded requests (pending
    ones completed, others with a corrected city)."""
    import duckdb

    from pipelines.contracts import CONTRACTS

    columns = list(CONTRACTS["trace"].columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    con = duckdb.connect(str(work / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        iso = "_date_format = '%Y-%m-%d'"
        fresh = con.execute(f"select {cols} from raw.trace where {iso} limit {DAILY_NEW}").fetchall()
        repeats = con.execute(
            f"select {cols} from raw.trace where {iso} and trace_result = 'PURCHASER_IDENTIFIED' "
            f"and nullif(trim(serial_number), '') is not null limit {DAILY_REPEATS} "
            f"offset {DAILY_NEW}"
        ).fetchall()
        later = con.execute(
            f"select {cols} from raw.trace where {iso} "
            f"using sample {DAILY_LATER} rows (reservoir, 7)"
        ).fetchall()
    finally:
        con.close()
    i = {c: columns.index(c) for c in columns}
    path = work / "landing" / "trace" / f"trace_requests_{day}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for n, row in enumerate(fresh):
            row = list(row)
            row[i["trace_number"]] = f"T{day[:4]}-D{n:07d}"
            row[i["serial_number"]] = f"DAY{n:07d}"
            writer.writerow(row)
        for n, row in enumerate(repeats):
            row = list(row)
            row[i["trace_number"]] = f"T{day[:4]}-R{n:07d}"
            writer.writerow(row)
        for row in later:
            row = list(row)
            if row[i["trace_status"]] == "PENDING":
                row[i["trace_status"]] = "COMPLETED"
                row[i["trace_result"]] = "FFL_IDENTIFIED_NO_PURCHASER"
            else:
                row[i["recovery_city"]] = (row[i["recovery_city"]] or "") + " (CORRECTED)"
            writer.writerow(row)
    return len(fresh) + len(repeats) + len(later)


def slowest_dbt_nodes(work: Path, n: int = 8) -> list[dict]:
    path = work / "dbt" / "target" / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text())["results"]
    nodes = sorted(results, key=lambda r: r.get("execution_time") or 0, reverse=True)[:n]
    return [{"node": r["unique_id"].split(".", 1)[1], "seconds": round(r["execution_time"], 2),
             "status": r["status"]} for r in nodes]


def suite_times(work: Path) -> dict:
    reports = sorted((work / "reports").glob("*/validation.json"), key=lambda p: p.stat().st_mtime)
    if not reports:
        return {}
    summary = json.loads(reports[-1].read_text())
    return summary.get("timings", {})


def ingest_hot_spots(exports: Path, scratch: Path, key: str, n: int = 12) -> dict:
    """The ingest of the same exports once more, into a scratch folder, by
    ``profile_ingest.py``: the Python functions with the most time of their own
    (cProfile), and the DuckDB statements with the most time, by their text. Its timing
    is not the benchmark's."""
    shutil.rmtree(scratch, ignore_errors=True)
    land(exports, scratch / "landing")
    prof, statements = scratch / "ingest.prof", scratch / "statements.json"
    env = stage_env(scratch, key)
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "profile_ingest.py"), str(prof), str(statements)],
        env=env, cwd=ROOT, capture_output=True,
    )
    if not prof.exists():
        return {}
    stats = pstats.Stats(str(prof))
    total = stats.total_tt or 1.0
    rows = []
    for (file, line, name), (_, ncalls, tottime, cumtime, _) in sorted(
        stats.stats.items(), key=lambda kv: kv[1][2], reverse=True
    )[:n]:
        where = file.replace(str(ROOT) + "/", "")
        if "site-packages/" in where:
            where = where.split("site-packages/", 1)[1]
        rows.append({"function": f"{where}:{line}({name})", "calls": ncalls,
                     "own_s": round(tottime, 2), "own_pct": round(100 * tottime / total, 1),
                     "cumulative_s": round(cumtime, 2)})
    timed = json.loads(statements.read_text()) if statements.exists() else []
    shutil.rmtree(scratch, ignore_errors=True)
    return {"functions": rows, "statements": timed[:n],
            "statements_s": round(sum(r["seconds"] for r in timed), 2)}


def bench_size(traces: int, data: Path, profile: bool) -> dict:
    label = size_label(traces)
    exports = generated(traces, data)
    work = data / f"run-{label}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    land(exports, work / "landing")
    key = secrets.token_hex(32)  # a throwaway purchaser key, never written anywhere
    env = stage_env(work, key)
    print(f"== {label}: {exports}", flush=True)

    floor_before = floor(work / "landing", work, env)
    print(f"  floor     before     {floor_before['wall_s']:8.1f} s ({floor_before['rows']:,} rows)")
    full = run_stages(work, env, "full")
    counts = rows_read(work)
    floor_after = floor(work / "landing", work, env)
    print(f"  floor     after      {floor_after['wall_s']:8.1f} s")
    dbt_nodes = slowest_dbt_nodes(work)
    suites = suite_times(work)

    daily_rows = land_daily_file(work, "2015-01-02")
    increment = run_stages(work, env, "increment")
    dbt_nodes_increment = slowest_dbt_nodes(work)

    floor_s = (floor_before["wall_s"] + floor_after["wall_s"]) / 2
    total_rows = sum(counts.values())
    trace_rows = counts.get("trace", 0)

    def summarise(stages: dict[str, dict]) -> dict[str, dict]:
        for s in stages.values():
            s["rows_per_s"] = round(total_rows / s["wall_s"]) if s["wall_s"] else None
            s["ratio_to_floor"] = round(s["wall_s"] / floor_s, 2)
        return stages

    total_s = round(sum(s["wall_s"] for s in full.values()), 2)
    increment_s = round(sum(s["wall_s"] for s in increment.values()), 2)
    result = {
        "trace_rows": trace_rows,
        "rows_read": counts,
        "rows_read_total": total_rows,
        "floor_s": round(floor_s, 2),
        "floor": {"before": floor_before, "after": floor_after},
        "total_s": total_s,
        "total_cpu_s": round(sum(s["cpu_s"] for s in full.values()), 2),
        "ratio_to_floor": round(total_s / floor_s, 2),
        "peak_rss_mib": max(s["peak_rss_mib"] for s in full.values()),
        "increment_s": increment_s,
        "increment_rows": daily_rows,
        "increment_pct_of_full": round(100 * increment_s / total_s, 2),
        "increment_peak_rss_mib": max(s["peak_rss_mib"] for s in increment.values()),
        "stages": summarise(full),
        "increment_stages": summarise(increment),
        "slowest_dbt_nodes": dbt_nodes,
        "slowest_dbt_nodes_increment": dbt_nodes_increment,
        "audit_timings": suites,
        "increment_audit_timings": suite_times(work),
    }
    if profile:
        print("  profiling the ingest once more (not timed) ...", flush=True)
        spots = ingest_hot_spots(exports, data / f"profile-{label}", key)
        result["ingest_hot_spots"] = spots.get("functions", [])
        result["ingest_statements"] = spots.get("statements", [])
        result["ingest_statements_s"] = spots.get("statements_s")
    return result


# --- writing the figures ---------------------------------------------------------------


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb

    return {"cpus": os.cpu_count(), "cpu": model, "memory_gib": round(mem, 1),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "system": platform.platform()}


def commit() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _stage_table(stages: dict[str, dict], total: float, floor_s: float) -> list[str]:
    lines = ["| stage | wall s | CPU s | rows/s | peak RSS MiB | × floor |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, s in stages.items():
        lines.append(f"| {name} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | "
                     f"{s['rows_per_s'] or 0:,} | {s['peak_rss_mib']:,.0f} | {s['ratio_to_floor']:.2f} |")
    lines.append(f"| **total** | **{total:.1f}** | {sum(s['cpu_s'] for s in stages.values()):.1f} | | "
                 f"{max(s['peak_rss_mib'] for s in stages.values()):,.0f} | **{total / floor_s:.2f}** |")
    return lines


def write_results(out: Path, results: dict[str, dict], meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for label, r in results.items():
        (out / f"results-{label}.json").write_text(json.dumps({**r, "meta": meta}, indent=2) + "\n")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `./dev bench` on {meta['date']}, commit {meta['commit']}.",
        f"Machine: {meta['machine']['cpus']} cores ({meta['machine']['cpu'] or 'unknown CPU'}), "
        f"{meta['machine']['memory_gib']} GiB, Python {meta['machine']['python']}, "
        f"DuckDB {meta['machine']['duckdb']}. Command: `{meta['command']}`.",
        "",
        "Every stage is its own `tracepipe` process, start-up included. The floor is a bare "
        "DuckDB `create table ... as select * from read_csv(...)` of the same trace files "
        "(dialect spelled out, one call per encoding, `store_rejects`), measured before and "
        "after the pipeline in the same run; ratios use their mean. Peak memory is the "
        "process tree's.",
        "",
        "## Summary",
        "",
        "| traces | rows read (all kinds) | floor s (before / after) | full run s | × floor | "
        "peak RSS MiB | daily increment s | increment % of full |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results.values():
        f = r["floor"]
        lines.append(
            f"| {r['trace_rows']:,} | {r['rows_read_total']:,} | {r['floor_s']:.1f} "
            f"({f['before']['wall_s']:.1f} / {f['after']['wall_s']:.1f}) | {r['total_s']:.1f} | "
            f"{r['ratio_to_floor']:.2f} | {r['peak_rss_mib']:,.0f} | {r['increment_s']:.1f} "
            f"({r['increment_rows']:,} rows) | {r['increment_pct_of_full']:.1f} |"
        )
    if len(results) > 1:
        ordered = sorted(results.values(), key=lambda r: r["trace_rows"])
        small, big = ordered[0], ordered[-1]
        rows_x = big["trace_rows"] / max(small["trace_rows"], 1)
        time_x = big["total_s"] / max(small["total_s"], 0.01)
        lines += ["", f"Growth: {rows_x:.1f}x the traces cost {time_x:.1f}x the time "
                  f"({'linear or better' if time_x <= rows_x * 1.05 else 'worse than linear'})."]
    for label, r in results.items():
        lines += ["", f"## {r['trace_rows']:,} traces ({label})", "", "### Full run", ""]
        lines += _stage_table(r["stages"], r["total_s"], r["floor_s"])
        lines += ["", f"### Daily increment ({r['increment_rows']:,} trace rows)", ""]
        lines += _stage_table(r["increment_stages"], r["increment_s"], r["floor_s"])
        for title, key in (("Slowest dbt nodes, full run", "slowest_dbt_nodes"),
                           ("Slowest dbt nodes, increment", "slowest_dbt_nodes_increment")):
            if r.get(key):
                lines += ["", f"### {title} (`run_results.json`)", "", "| node | s | status |",
                          "|---|---:|---|"]
                lines += [f"| `{n['node']}` | {n['seconds']:.2f} | {n['status']} |" for n in r[key]]
        for title, key in (("Audit, full run", "audit_timings"),
                           ("Audit, increment", "increment_audit_timings")):
            if r.get(key):
                lines += ["", f"### {title} (seconds, from `validation.json`)", "",
                          "| part | s |", "|---|---:|"]
                lines += [f"| {k} | {v} |" for k, v in _flat(r[key])]
        if r.get("ingest_hot_spots"):
            lines += ["", "### Ingest hot spots (cProfile, own time)", "",
                      "| function | calls | own s | own % | cumulative s |", "|---|---:|---:|---:|---:|"]
            lines += [f"| `{h['function']}` | {h['calls']:,} | {h['own_s']:.2f} | {h['own_pct']:.1f} | "
                      f"{h['cumulative_s']:.2f} |" for h in r["ingest_hot_spots"]]
        if r.get("ingest_statements"):
            lines += ["", "### Ingest, DuckDB statements (the same run, each timed by its text)", "",
                      f"All statements: {r['ingest_statements_s']:,.1f} s. Literals and numbers "
                      "are shown as `?`.", "",
                      "| statement | calls | s |", "|---|---:|---:|"]
            lines += [f"| `{h['statement'].replace('|', '/')}` | {h['calls']:,} | {h['seconds']:.2f} |"
                      for h in r["ingest_statements"]]
    notes = out / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    (out / "RESULTS.md").write_text("\n".join(lines) + "\n")


def _flat(timings: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for k, v in timings.items():
        if isinstance(v, dict):
            out.extend(_flat(v, f"{prefix}{k}."))
        else:
            out.append((f"{prefix}{k}", v))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./dev bench",
        description="Time the pipeline, stage by stage, against DuckDB's bare CSV load of "
        "the same trace files, then a daily increment on top.",
        epilog="example: ./dev bench --traces 1000000 --growth",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--traces", type=int, default=10_000_000, help="trace rows to generate")
    parser.add_argument("--growth", action=argparse.BooleanOptionalAction, default=True,
                        help="also run at a tenth of --traces, to show how cost grows")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True,
                        help="profile the ingest once more (not timed) for its hot spots")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "bench",
                        help="where exports are generated (and reused) and runs are kept")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks",
                        help="where RESULTS.md and results-<size>.json are written")
    args = parser.parse_args(argv)
    if args.traces < 1_000:
        parser.error("--traces must be at least 1000")
    sizes = [args.traces // 10, args.traces] if args.growth else [args.traces]
    results = {}
    for traces in sizes:
        results[size_label(traces)] = bench_size(traces, args.data.resolve(), args.profile)
    meta = {"date": dt.datetime.now().isoformat(timespec="seconds"), "commit": commit(),
            "machine": machine(), "command": "./dev bench " + " ".join(argv or sys.argv[1:])}
    write_results(args.out, results, meta)
    for label, r in results.items():
        print(f"{label}: {r['trace_rows']:,} traces: full run {r['total_s']:.1f} s = "
              f"{r['ratio_to_floor']:.2f}x the floor ({r['floor_s']:.1f} s), peak "
              f"{r['peak_rss_mib']:,.0f} MiB; increment {r['increment_s']:.1f} s = "
              f"{r['increment_pct_of_full']:.1f}% of the full run")
    print(f"figures: {args.out / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
