"""``tracepipe``: the pipeline from the command line.

    tracepipe demo              generate a sample into landing/ and run it through Airflow
    tracepipe run               ingest, transform, audit, publish, report (no Airflow)
    tracepipe airflow           one run of the trace_pipeline DAG, in-process
    tracepipe generate          write calibrated sample exports
    tracepipe ingest | transform | audit | publish | report   one step
    tracepipe retract FILE --reason "..."   take a loaded file back (by name or load id)
    tracepipe rollback          make the previous release current again
    tracepipe status            releases, loads and quarantine at a glance

Exit status: 0 done, 1 failed (nothing published), 2 release held by the audit.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pipelines.config import KINDS, Settings

EXIT_FAILED = 1
EXIT_HELD = 2

log = logging.getLogger("tracepipe")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("great_expectations", "py.warnings"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _counts(f: dict) -> str:
    """rows read = new + changed + unchanged + quarantined, as the ingest counted them."""
    return (
        f"read {f['rows_read']:,} = new {f['rows_new']:,} + changed {f['rows_changed']:,} "
        f"+ unchanged {f['rows_unchanged']:,} + quarantined {f['rows_quarantined']:,}"
    )


def _print_ingest(summary: dict) -> None:
    files = summary["files"]
    shown = [f for f in files if f["status"] not in ("already_loaded", "retracted_before")]
    print(f"ingest: {len(shown)} new file(s); rows {_counts(summary)}")
    for f in shown:
        line = f"  {f['status']:<17} {f['kind']}/{f['file_name']}"
        if f["status"] == "loaded":
            line += f"  {_counts(f)}"
        else:
            line += f"  {f['reason']}"
        print(line)
        for example in f.get("quarantine_examples", [])[:2]:
            print(f"      e.g. {example}")
    rejected = [f for f in shown if f["status"] == "rejected"]
    if rejected:
        print(
            f"  {len(rejected)} file(s) set aside in the rejected/ folder, each with a "
            ".reason.txt; fix or re-request them and land them again."
        )
    for item in summary.get("misplaced", []):
        print(f"  not loaded        {item['advice']}")
    for item in summary.get("refused", []):
        print(f"  refused           {item['path']}: {item['reason']}")


def cmd_generate(settings: Settings, args) -> int:
    from pipelines.generate import generate

    out = Path(args.out) if args.out else settings.landing_dir
    summary = generate(out=out, scale=args.scale, seed=args.seed)
    print(f"generated sample exports in {out}")
    print(f"  {summary}")
    return 0


def cmd_ingest(settings: Settings, args) -> int:
    from pipelines import steps

    _print_ingest(steps.ingest(settings))
    return 0


def cmd_transform(settings: Settings, args) -> int:
    from pipelines import steps

    result = steps.transform(settings, full_refresh=args.full_refresh)
    print(f"dbt build{' --full-refresh' if args.full_refresh else ''}: {result['nodes']}")
    return 0


def cmd_retract(settings: Settings, args) -> int:
    from pipelines import steps

    done = steps.retract(settings, args.target, args.reason)
    print(
        f"retracted {done['kind']}/{done['file_name']} (load {done['load_id']}): "
        f"{done['rows']:,} rows taken back; {done['keys_restored']:,} record(s) back to "
        f"their previous version, {done['keys_removed']:,} gone."
    )
    print(
        f"  its rows stay readable in retracted.{done['kind']} of the warehouse; the "
        "ledger records when and why."
    )
    print("  The next `tracepipe run` publishes without them; land a corrected file to replace it.")
    return 0


def cmd_audit(settings: Settings, args) -> int:
    from pipelines import steps

    summary = steps.audit(settings, args.run_id or steps.new_run_id())
    _print_audit(summary)
    return 0 if summary["decision"] == "publish" else EXIT_HELD


def _print_audit(summary: dict) -> None:
    counts = ""
    if summary.get("n_checks") is not None:
        counts = (
            f" ({summary['n_checks']} checks, {summary['n_blocking']} blocking, "
            f"{summary['n_warnings']} warnings)"
        )
    print(f"audit: decision {summary['decision'].upper()}{counts}")
    for reason in summary["reasons"]:
        print(f"  blocking: {reason}")
    for warning in summary.get("warnings", []):
        print(f"  warning:  {warning}")
    if summary.get("remedies"):
        print("  how to unblock it:")
        for remedy in summary["remedies"]:
            print(f"    {remedy}")
    print(f"  validation report: {summary['report_html']}")
    if summary.get("data_docs"):
        print(f"  data docs:         {summary['data_docs']}")


def cmd_publish(settings: Settings, args) -> int:
    from pipelines import steps

    run_id = args.run_id or _latest_run(settings)
    report_json = settings.reports_dir / run_id / "validation.json"
    if not report_json.exists():
        print(
            f"no validation report for run {run_id}: run `tracepipe audit` first", file=sys.stderr
        )
        return EXIT_FAILED
    validation = json.loads(report_json.read_text())
    summary = steps.summary_of(validation, str(report_json), str(report_json.with_suffix(".html")))
    published = steps.publish(settings, run_id, summary)
    print(f"published release {published['release_id']}: {published['database']}")
    _print_withheld(published.get("withheld") or {})
    return 0


def _print_withheld(withheld: dict) -> None:
    for mart, reason in sorted(withheld.items()):
        print(f"  {mart}: {reason}")


def _latest_run(settings: Settings) -> str:
    runs = sorted(p.parent.name for p in settings.reports_dir.glob("*/validation.json"))
    if not runs:
        raise SystemExit("no audited run found: run `tracepipe audit` first")
    return runs[-1]


def cmd_report(settings: Settings, args) -> int:
    from pipelines import steps

    out = steps.report(settings, args.run_id or steps.new_run_id())
    print(f"figures: {out['report']}")
    return 0


def cmd_run(settings: Settings, args) -> int:
    from pipelines import steps

    run_id = steps.new_run_id()
    ingest_summary = steps.ingest(settings)
    _print_ingest(ingest_summary)
    full_refresh = getattr(args, "full_refresh", False)
    planned = steps.plan(settings, force=getattr(args, "force", False) or full_refresh)
    if not planned["changed"]:
        print(planned["message"])
        return 0
    result = steps.transform(settings, full_refresh=full_refresh)
    print(f"transform: dbt build {result['nodes']}")
    audit_summary = steps.audit(settings, run_id)
    _print_audit(audit_summary)
    published = steps.publish(settings, run_id, audit_summary)
    print(f"published release {published['release_id']}: {published['marts']}")
    _print_withheld(published.get("withheld") or {})
    figures = steps.report(settings, run_id)
    print(f"figures: {figures['report']}")
    _print_where(settings)
    return 0


def cmd_airflow(settings: Settings, args) -> int:
    import datetime as dt

    from pipelines import orchestration

    log_dir = settings.airflow_home / "runs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{args.dag}-{dt.datetime.now():%Y%m%dT%H%M%S}.log"
    print(
        f"running DAG {args.dag} with Airflow, in-process (metadata: {settings.airflow_home}/airflow.db)"
    )
    print(f"  Airflow's log of this run: {log_file}")
    from pipelines import publish

    before = publish.current_release(settings)
    conf = {k: True for k in ("force", "full_refresh") if getattr(args, k, False)}
    proc = orchestration.run_dag(settings, args.dag, capture=True, conf=conf or None)
    log_file.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
        held = [
            ln for ln in lines if "RELEASE HELD" in ln or "ReleaseHeld" in ln or "blocking" in ln
        ]
        print(f"the Airflow run of {args.dag} failed; last lines of its log:", file=sys.stderr)
        for line in (held or lines)[-25:]:
            print(f"  {line[:400]}", file=sys.stderr)
        return EXIT_FAILED
    if before is not None and publish.current_release(settings) == before:
        print(
            f"nothing changed since release {before} (no new or retracted load, no changed "
            "code or reference data): no new release. Use --force to publish anyway."
        )
        return 0
    _print_release(settings)
    _print_where(settings)
    return 0


def _print_release(settings: Settings) -> None:
    manifest_path = settings.current_link / "manifest.json"
    if not manifest_path.exists():
        return
    manifest = json.loads(manifest_path.read_text())
    print(f"published release {manifest['release_id']} (validation: {manifest['validation']})")
    for kind, counts in sorted(manifest.get("rows_by_kind", {}).items()):
        print(
            f"  {kind:<15} read {counts['read']:>9,} = new {counts.get('new', 0):>9,} "
            f"+ changed {counts.get('changed', 0):>7,} + unchanged {counts.get('unchanged', 0):>7,} "
            f"+ quarantined {counts['quarantined']:>7,}"
        )
    rejected = [i for i in manifest.get("inputs", []) if i.get("status") == "rejected"]
    if rejected:
        print(f"  {len(rejected)} file(s) rejected whole: see {settings.rejected_dir}")
    print(
        f"  {len(manifest.get('marts', {}))} marts: {', '.join(sorted(manifest.get('marts', {})))}"
    )
    _print_withheld(manifest.get("withheld") or {})


def cmd_demo(settings: Settings, args) -> int:
    settings.ensure_dirs()
    settings.ensure_landing()
    has_files = any(any((settings.landing_dir / k).iterdir()) for k in KINDS)
    if not has_files:
        from pipelines.generate import generate

        summary = generate(out=settings.landing_dir, scale=args.scale, seed=args.seed)
        print(f"generated a sample (scale {args.scale}) in {settings.landing_dir}: {summary}")
    else:
        print(f"landing folder {settings.landing_dir} already holds exports; using them")
    if args.no_airflow:
        return cmd_run(settings, args)
    args.dag = "trace_pipeline"
    return cmd_airflow(settings, args)


def _print_where(settings: Settings) -> None:
    db = settings.current_link / "marts.duckdb"
    print()
    print(f"published marts: {db}")
    print(f"  open them:     .venv/bin/duckdb -readonly {db}")
    print(f"  parquet:       {settings.current_link / 'parquet'}")
    print(f"  reports:       {settings.reports_dir}")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def cmd_ui(settings: Settings, args) -> int:
    import signal
    import time
    import urllib.request

    from pipelines import orchestration

    print(f"starting Airflow on http://127.0.0.1:{args.port} (metadata: {settings.airflow_home})")
    proc = orchestration.start_ui(settings, args.port)
    # stopped by a signal as by Ctrl-C: Airflow's processes (one process group) stop too
    signal.signal(signal.SIGTERM, _interrupt)
    url = f"http://127.0.0.1:{args.port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2).close()
                break
            except OSError:
                time.sleep(2)
        if proc.poll() is not None:
            print(
                f"Airflow stopped while starting (exit {proc.returncode}); see {settings.airflow_home}/logs"
            )
            return EXIT_FAILED
        print(f"Airflow is up: {url}")
        print(
            f"  login: admin / {orchestration.ui_password(settings) or '(see simple_auth_manager_passwords.json.generated)'}"
        )
        print("  DAGs start paused: switch trace_pipeline on to let it run on its schedule, or")
        print("  press the trigger button (the params force / full_refresh are offered there).")
        print("  Ctrl-C stops Airflow.")
        proc.wait()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        orchestration.stop_group(proc)


def cmd_rollback(settings: Settings, args) -> int:
    from pipelines import publish

    before = publish.current_release(settings)
    previous = publish.rollback(settings)
    print(f"rolled back: current release is now {previous} (was {before})")
    print(f"  {settings.current_link / 'marts.duckdb'}")
    return 0


def cmd_status(settings: Settings, args) -> int:
    from pipelines import publish
    from pipelines.warehouse import connect, has_table

    info = publish.status(settings)
    print(f"data folder:     {settings.data_dir}")
    print(f"current release: {info['current'] or 'none'}")
    manifest = info.get("manifest")
    if manifest:
        summary = manifest.get("validation_summary") or {}
        print(
            f"  published {manifest.get('published_at')}, code {manifest.get('code_version')}, "
            f"audit {manifest.get('validation')}"
            + (
                f" ({summary.get('n_checks')} checks, {summary.get('n_warnings')} warnings)"
                if summary
                else ""
            )
        )
        marts = manifest.get("marts") or {}
        print(
            f"  {len(marts)} marts, {sum(marts.values()):,} rows; report: "
            f"{manifest.get('validation_report', '')}"
        )
    if info.get("whole") is False:
        print(f"  NOT WHOLE: {info['problem']}")
    print(f"kept releases:   {', '.join(info['releases']) or 'none'}")
    if info["leftovers"]:
        print(f"set aside:       {', '.join(info['leftovers'])}")
    if settings.warehouse_path.exists():
        with connect(settings, read_only=True) as con:
            if has_table(con, "meta", "load_ledger"):
                rows = con.execute(
                    "select kind, status, count(*), sum(rows_read), sum(rows_loaded), "
                    "sum(rows_quarantined) from meta.load_ledger group by all order by all"
                ).fetchall()
                print("loads (kind, status, files, read, loaded, quarantined):")
                for row in rows:
                    print("  " + "  ".join(str(v) for v in row))
                retracted = con.execute(
                    "select kind, file_name, load_id, strftime(retracted_at, '%Y-%m-%d %H:%M'), "
                    "retraction_reason from meta.load_ledger where status = 'retracted' "
                    "order by retracted_at"
                ).fetchall()
                if retracted:
                    print("retracted loads (kind/file, load id, when, why):")
                    for kind, name, load_id, when, why in retracted:
                        print(f"  {kind}/{name}  {load_id}  {when}  {why}")
    return 0 if info.get("whole", True) else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracepipe", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="generate a sample and run it end to end through Airflow")
    p.add_argument("--scale", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=2016)
    p.add_argument("--no-airflow", action="store_true", help="run the steps directly")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="ingest, transform, audit, publish, report")
    p.add_argument(
        "--force", action="store_true", help="publish a new release even when nothing changed"
    )
    p.add_argument(
        "--full-refresh", action="store_true", help="rebuild every model from raw (implies --force)"
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("airflow", help="one run of a DAG through Airflow, in-process")
    p.add_argument("--dag", default="trace_pipeline")
    p.add_argument(
        "--force", action="store_true", help="publish a new release even when nothing changed"
    )
    p.add_argument(
        "--full-refresh", action="store_true", help="rebuild every model from raw (implies --force)"
    )
    p.set_defaults(func=cmd_airflow)

    p = sub.add_parser("generate", help="write calibrated sample exports")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=2016)
    p.add_argument("--out", help="folder to write into (default: the landing folder)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("ingest", help="load newly landed exports")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("transform", help="dbt build")
    p.add_argument(
        "--full-refresh", action="store_true", help="rebuild every incremental model from raw"
    )
    p.set_defaults(func=cmd_transform)
    p = sub.add_parser(
        "retract",
        help="take a loaded file back: its rows leave the current state, with a record",
        description=(
            "Take a loaded file back. Its rows move from raw to retracted.<kind> with when "
            "and why; each record goes back to its previous version, and records only this "
            "file brought are gone. The next run publishes without them."
        ),
    )
    p.add_argument("target", help="the file name as landed, or its load id (tracepipe status)")
    p.add_argument(
        "--reason", required=True, help="why the file is taken back (kept in the ledger)"
    )
    p.set_defaults(func=cmd_retract)
    for name, func, text in (
        ("audit", cmd_audit, "run the expectation suites and decide"),
        ("publish", cmd_publish, "publish an audited run (default: the latest)"),
        ("report", cmd_report, "draw the figures from the published marts"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--run-id")
        p.set_defaults(func=func)

    p = sub.add_parser(
        "ui",
        help="start Airflow's UI on 127.0.0.1 with the project's DAGs (Ctrl-C stops it)",
    )
    p.add_argument("--port", type=int, default=8080, help="port of the UI (default 8080)")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("rollback", help="make the previous release current again")
    p.set_defaults(func=cmd_rollback)
    p = sub.add_parser("status", help="releases, loads and quarantine")
    p.set_defaults(func=cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    settings = Settings.from_env()
    from pipelines.audit import SuiteError
    from pipelines.ingest import LandingError
    from pipelines.publish import PublishRefused
    from pipelines.retract import RetractRefused
    from pipelines.secrets import KeyRefused
    from pipelines.steps import ReleaseHeld
    from pipelines.transform import TransformFailed
    from pipelines.warehouse import WarehouseBusy

    try:
        return args.func(settings, args)
    except ReleaseHeld as exc:
        print(f"RELEASE HELD: {exc}", file=sys.stderr)
        return EXIT_HELD
    except (
        TransformFailed,
        PublishRefused,
        SuiteError,
        LandingError,
        RetractRefused,
        KeyRefused,
        WarehouseBusy,
    ) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
