"""Benchmark of the audit and the publish on a data folder that went through ingest and
transform: seconds per phase, checks, rows checked.

    .venv/bin/python benchmarks/bench_publish.py --data-dir DIR          # audit + publish
    .venv/bin/python benchmarks/bench_publish.py --data-dir DIR --no-publish

The folder is used as it is (its warehouse is read, a release is published into its
``published/`` unless --no-publish). Each run is a fresh process, so the import of Great
Expectations is counted apart. This is a script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import time

started = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--no-publish", action="store_true")
    args = parser.parse_args()
    os.environ["TRACEPIPE_DATA_DIR"] = args.data_dir
    os.environ.setdefault("TRACEPIPE_PII_KEY", "benchmark")

    from pipelines import audit, publish, steps
    from pipelines.config import Settings

    settings = Settings.from_env()
    figures: dict = {"python_start_to_imports_s": round(time.perf_counter() - started, 2)}
    mark = time.perf_counter()
    import great_expectations  # noqa: F401  (counted apart: every audit process pays it once)

    figures["import_great_expectations_s"] = round(time.perf_counter() - mark, 2)

    run_id = steps.new_run_id()
    mark = time.perf_counter()
    result = audit.audit(settings, run_id=run_id)
    figures["audit_s"] = round(time.perf_counter() - mark, 2)
    figures["audit_phases_s"] = result.timings
    figures["decision"] = result.decision
    figures["checks"] = len(result.checks)
    figures["skipped_checks"] = sum(s.n_checks for s in result.skipped)
    figures["rows_checked"] = sum(result.rows_checked.values())
    figures["largest_batches"] = dict(
        sorted(result.rows_checked.items(), key=lambda kv: -kv[1])[:4]
    )
    if not args.no_publish and result.decision == "publish":
        summary = steps.summary_of(result.to_dict(), result.report_json, result.report_html)
        mark = time.perf_counter()
        release = steps.publish(settings, run_id, summary)
        figures["publish_s"] = round(time.perf_counter() - mark, 2)
        figures["published_rows"] = sum(release["marts"].values())
        figures["release"] = release["release_id"]
        figures["releases_kept"] = len(publish.list_releases(settings))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
