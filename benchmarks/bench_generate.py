"""Benchmark of the sample-data generator: seconds, rows per second and peak memory.

    .venv/bin/python benchmarks/bench_generate.py                 # scales 0.1 and 1
    .venv/bin/python benchmarks/bench_generate.py 0.1 1 10 100    # any scales

Each scale runs in a fresh child process (so peak RSS is that run's own), writing to
``benchmarks/out/generate-<scale>`` (git-ignored), which is deleted afterwards unless
``--keep`` is given. Rows are data rows of every file written (all kinds, normal files).
This is a script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"

CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from pipelines.generate import generate
t = time.perf_counter()
s = generate(out=Path({out!r}), scale={scale!r}, seed=2016)
seconds = time.perf_counter() - t
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "rows": s.rows, "files": s.files_written, "peak_kib": peak_kib}}))
"""


def run(scale: float, keep: bool) -> dict:
    out = OUT / f"generate-{scale:g}"
    if out.exists():
        shutil.rmtree(out)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), out=str(out), scale=scale)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    if not keep:
        shutil.rmtree(out)
    result.update(scale=scale, wall=wall, bytes=size)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scales", nargs="*", type=float, default=[0.1, 1.0])
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    args = parser.parse_args()
    print(f"{'scale':>7} {'trace rows':>11} {'all rows':>11} {'files':>6} {'seconds':>8} "
          f"{'rows/s':>9} {'MB':>8} {'peak RSS MiB':>13}")
    for scale in args.scales:
        r = run(scale, args.keep)
        rows = sum(r["rows"].values())
        print(
            f"{scale:>7g} {r['rows']['trace']:>11,} {rows:>11,} {r['files']:>6} {r['seconds']:>8.1f} "
            f"{rows / r['seconds']:>9,.0f} {r['bytes'] / 1e6:>8.1f} {r['peak_kib'] / 1024:>13.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
