"""``tracepipe``: the pipeline from the command line.

    tracepipe demo              generate a sample into landing/ and run it through Airflow
    tracepipe run               ingest, transform, audit, publish, report (no Airflow)
    tracepipe airflow           one run of the trace_pipeline DAG, in-process
    tracepipe generate          write calibrated sample exports
    tracepipe ingest | transform | audit | publish | report   one step
    tracepipe validate FILE...  what the ingest would do with exports, without loading them
    tracepipe quarantine        quarantined rows and their reasons (--export: a CSV)
    tracepipe query SQL | open  SQL on, or the DuckDB shell on, the published release
    tracepipe retract FILE --reason "..."   take a loaded file back (by name or load id)
    tracepipe rollback          make the previous release current again
    tracepipe status            releases, loads and quarantine at a glance
    tracepipe ui                Airflow's UI on 127.0.0.1

Exit status: 0 done; 1 failed (nothing published; for validate: a file would be rejected
or rows quarantined); 2 release held by the audit; 64 wrong command line or setting;
75 the warehouse is in use by another process (try again); 130 interrupted.
`tracepipe COMMAND --help` describes each command, with its defaults and an example;
docs/CLI.md has all of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import re
import sys
import traceback
from pathlib import Path

from pipelines.config import KINDS, NameRefused, Settings, SettingsError, safe_name

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_HELD = 2
EXIT_USAGE = 64  # sysexits EX_USAGE
EXIT_BUSY = 75  # sysexits EX_TEMPFAIL
EXIT_INTERRUPTED = 130

log = logging.getLogger("tracepipe")


class UserError(Exception):
    """An expected mistake or missing prerequisite: one sentence that says what to do."""

    code = EXIT_FAILED


class UsageError(UserError):
    code = EXIT_USAGE


# --- the terminal ----------------------------------------------------------------------

RED, YELLOW, GREEN, BOLD = "31;1", "33;1", "32;1", "1"


def colour_on(stream) -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org) or
    the terminal is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def paint(text: str, style: str, stream=None) -> str:
    stream = sys.stdout if stream is None else stream
    return f"\033[{style}m{text}\033[0m" if colour_on(stream) else text


def say(text: str = "") -> None:
    print(text, flush=True)


def shout(label: str, text: str, style: str = RED) -> None:
    """A failure, a held release or a mistake: on stderr, its label in colour."""
    print(f"{paint(label, style, sys.stderr)} {text}", file=sys.stderr, flush=True)


# --- logging: INFO lines of the pipeline's loggers, once, on stderr -----------------------

OUR_LOGGERS = ("pipelines", "tracepipe")


def _plain(value: object) -> object:
    """A log argument as a person reads it: no dict, list or Path reprs."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(_plain(v)) for v in value)
    if isinstance(value, Path):
        return str(value)
    return value


class Console(logging.Handler):
    """The one handler that shows log records on the terminal: the pipeline's own
    (``pipelines.*``, ``tracepipe*``) from INFO up, other libraries' only with
    --verbose, from WARNING up. Warnings and errors are labelled (in colour on a
    terminal). It writes to the ``sys.stderr`` of the moment.

    A record that states a step's outcome (``extra={"outcome": True}``: the audit's
    decision, the release published, a rollback, a retraction) is not shown: the
    command prints that outcome itself, as its summary on standard output."""

    def __init__(self, verbose: bool = False):
        super().__init__(logging.DEBUG)
        self.verbose = verbose

    def emit(self, record: logging.LogRecord) -> None:
        ours = record.name.split(".")[0] in OUR_LOGGERS
        if not ours and not (self.verbose and record.levelno >= logging.WARNING):
            return
        if getattr(record, "outcome", False):
            return  # the command's summary says it (_print_audit, _print_published, ...)
        try:
            args = record.args
            if isinstance(args, tuple):
                text = str(record.msg) % tuple(_plain(a) for a in args) if args else str(record.msg)
            else:
                text = record.getMessage()
        except (TypeError, ValueError):
            text = record.getMessage()
        stream = sys.stderr
        if record.levelno >= logging.ERROR:
            text = f"{paint('error:', RED, stream)} {text}"
        elif record.levelno >= logging.WARNING:
            text = f"{paint('warning:', YELLOW, stream)} {text}"
        if record.exc_info and self.verbose:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        try:
            stream.write(text + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass


def _setup_logging(verbose: bool) -> Console:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, Console):
            root.removeHandler(handler)
    console = Console(verbose)
    root.addHandler(console)
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)  # library warnings: shown with --verbose only
    return console


# --- prerequisites ---------------------------------------------------------------------


def _loaded_files(settings: Settings) -> int:
    """How many files the ledger holds as loaded or retracted (0: nothing ingested)."""
    from pipelines.warehouse import connect, has_table

    if not settings.warehouse_path.exists():
        return 0
    with connect(settings, read_only=True) as con:
        if not has_table(con, "meta", "load_ledger"):
            return 0
        return con.execute(
            "select count(*) from meta.load_ledger where status in ('loaded', 'retracted')"
        ).fetchall()[0][0]


def _require_loaded(settings: Settings) -> None:
    if not _loaded_files(settings):
        raise UserError(
            "nothing has been loaded yet: land exports in "
            f"{settings.landing_dir}/<kind>/ and run `tracepipe ingest` first "
            "(or `tracepipe run` for every step)"
        )


def _require_built(settings: Settings) -> None:
    from pipelines.warehouse import connect

    _require_loaded(settings)
    with connect(settings, read_only=True) as con:
        n = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts'"
        ).fetchall()[0][0]
    if not n:
        raise UserError("the models have not been built yet: run `tracepipe transform` first")


def _require_release(settings: Settings) -> str:
    from pipelines import publish

    current = publish.current_release(settings)
    database = settings.current_link / "marts.duckdb"
    if current is None or not database.exists():
        raise UserError(
            "no release has been published yet: run `tracepipe run` (or `tracepipe publish` "
            "after an audit) first"
        )
    return current


# --- what each step says ----------------------------------------------------------------


def _counts(f: dict) -> str:
    """rows read = new + changed + unchanged + quarantined, as the ingest counted them."""
    return (
        f"read {f['rows_read']:,} = new {f['rows_new']:,} + changed {f['rows_changed']:,} "
        f"+ unchanged {f['rows_unchanged']:,} + quarantined {f['rows_quarantined']:,}"
    )


def _print_ingest(settings: Settings, summary: dict) -> None:
    """The ingest's totals and what it did not log itself (each loaded, rejected,
    misplaced and refused file is in its log lines, above)."""
    files = summary["files"]
    new = [f for f in files if f["status"] not in ("already_loaded", "retracted_before")]
    by_status: dict[str, int] = {}
    for f in new:
        by_status[f["status"]] = by_status.get(f["status"], 0) + 1
    if not new:
        seen = len(files)
        say(
            f"ingest: no new file in {settings.landing_dir}"
            + (f" ({seen} seen before)" if seen else "")
        )
    else:
        parts = [
            f"{by_status[s]} {label}"
            for s, label in (
                ("loaded", "loaded"),
                ("rejected", "rejected"),
                ("duplicate_content", "re-sent under another name"),
            )
            if by_status.get(s)
        ]
        say(f"ingest: {len(new)} new file(s): {', '.join(parts)}; rows {_counts(summary)}")
    for f in files:
        if f["status"] in ("duplicate_content", "retracted_before"):
            say(f"  not loaded again: {f['kind']}/{f['file_name']}: {f['reason']}")
    examples = [
        f"{f['kind']}/{f['file_name']} {example}"
        for f in new
        for example in f.get("quarantine_examples", [])[:2]
    ]
    if examples:
        say(f"  {summary['rows_quarantined']:,} row(s) quarantined, for example:")
        for example in examples[:5]:
            say(f"    {example}")
        say("  `tracepipe quarantine` lists them all with their reasons.")
    if by_status.get("rejected"):
        say(
            f"  {by_status['rejected']} file(s) set aside in {settings.rejected_dir}, each with a "
            ".reason.txt: fix or re-request them and land them again."
        )


def _print_audit(summary: dict) -> None:
    decision = summary["decision"].upper()
    style = GREEN if decision == "PUBLISH" else YELLOW
    counts = ""
    if summary.get("n_checks") is not None:
        counts = (
            f" ({summary['n_checks']} checks, {summary['n_blocking']} blocking, "
            f"{summary['n_warnings']} warnings)"
        )
    say(f"audit: decision {paint(decision, style)}{counts}")
    for reason in summary["reasons"]:
        say(f"  {paint('blocking:', RED)} {reason}")
    for warning in summary.get("warnings", []):
        say(f"  warning:  {warning}")
    if summary.get("remedies"):
        say("  how to unblock it:")
        for remedy in summary["remedies"]:
            say(f"    {remedy}")
    say(f"  validation report: {summary['report_html']}")


def _print_published(published: dict) -> None:
    marts = published.get("marts") or {}
    say(
        f"published release {published['release_id']}: {len(marts)} marts, "
        f"{sum(marts.values()):,} rows: {published['database']}"
    )
    _print_withheld(published.get("withheld") or {})


def _print_withheld(withheld: dict) -> None:
    for mart, reason in sorted(withheld.items()):
        say(f"  {mart}: {reason}")


def _print_where(settings: Settings) -> None:
    db = settings.current_link / "marts.duckdb"
    say()
    say(f"published marts: {db}")
    say('  open them:     tracepipe open   (or: tracepipe query "select ...")')
    say(f"  parquet:       {settings.current_link / 'parquet'}")
    say(f"  reports:       {settings.reports_dir}")


# --- commands --------------------------------------------------------------------------


def cmd_generate(settings: Settings, args) -> int:
    from pipelines.generate import generate

    out = Path(args.out).expanduser() if args.out else settings.landing_dir
    _generate_into(out, args.scale, args.seed, generate)
    return EXIT_OK


def _generate_into(out: Path, scale: float, seed: int, generate) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder: give --out a folder to write into")
    try:
        summary = generate(out=out, scale=scale, seed=seed)
    except FileExistsError as exc:
        raise UserError(str(exc)) from exc
    except PermissionError as exc:
        raise UserError(f"cannot write into {out} ({exc.strerror}): choose another --out") from exc
    say(
        f"generated {summary.files_written} files in {out} (scale {summary.scale:g}, seed "
        f"{summary.seed}, {summary.seconds:.1f} s)"
    )
    say("  rows: " + ", ".join(f"{k} {v:,}" for k, v in summary.rows.items()))
    say(
        f"  {sum(summary.defects.values()):,} planted defects of {len(summary.defects)} kinds; "
        f"the ground truth is in {out / '_generator'} (docs/GENERATOR.md)"
    )


def cmd_ingest(settings: Settings, args) -> int:
    from pipelines import steps

    _print_ingest(settings, steps.ingest(settings))
    return EXIT_OK


def cmd_transform(settings: Settings, args) -> int:
    from pipelines import steps

    _require_loaded(settings)
    result = steps.transform(settings, full_refresh=args.full_refresh)
    if result.get("slowest"):
        say("transform: slowest nodes: " + "; ".join(result["slowest"][:3]))
    return EXIT_OK


def cmd_retract(settings: Settings, args) -> int:
    from pipelines import steps

    done = steps.retract(settings, args.target, args.reason)
    say(
        f"retracted {done['kind']}/{done['file_name']} (load {done['load_id']}): "
        f"{done['rows']:,} rows taken back; {done['keys_restored']:,} record(s) back to "
        f"their previous version, {done['keys_removed']:,} gone."
    )
    say(
        f"  its rows stay readable in retracted.{done['kind']} of the warehouse; the "
        "ledger records when and why."
    )
    say("  The next `tracepipe run` publishes without them; land a corrected file to replace it.")
    return EXIT_OK


def cmd_audit(settings: Settings, args) -> int:
    from pipelines import steps

    _require_built(settings)
    summary = steps.audit(settings, args.run_id or steps.new_run_id(), full=args.full)
    _print_audit(summary)
    return EXIT_OK if summary["decision"] == "publish" else EXIT_HELD


def _latest_run(settings: Settings) -> str:
    reports = sorted(
        settings.reports_dir.glob("*/validation.json"), key=lambda p: p.stat().st_mtime
    )
    if not reports:
        raise UserError("no audited run found: run `tracepipe audit` first")
    return reports[-1].parent.name


def cmd_publish(settings: Settings, args) -> int:
    from pipelines import steps

    run_id = args.run_id or _latest_run(settings)
    report_json = settings.reports_dir / run_id / "validation.json"
    if not report_json.exists():
        raise UserError(
            f"there is no validation report for run {run_id}: run `tracepipe audit` first "
            "(`tracepipe publish` without --run-id takes the latest audited run)"
        )
    validation = json.loads(report_json.read_text())
    summary = steps.summary_of(validation, str(report_json), str(report_json.with_suffix(".html")))
    _print_published(steps.publish(settings, run_id, summary))
    return EXIT_OK


def cmd_report(settings: Settings, args) -> int:
    from pipelines import steps
    from pipelines.manifest import Manifest

    current = _require_release(settings)
    run_id = args.run_id
    if not run_id:
        try:
            run_id = safe_name(Manifest.read(settings.current_link).run_id, "run id")
        except NameRefused:
            run_id = steps.new_run_id()
    out = steps.report(settings, run_id)
    say(f"figures of release {current}: {out['report']}")
    return EXIT_OK


def cmd_run(settings: Settings, args) -> int:
    from pipelines import steps

    def show(step: str, result: dict) -> None:
        if step == "ingest":
            _print_ingest(settings, result)
            if not _loaded_files(settings):
                raise UserError(
                    f"nothing to build: no export has been loaded; land exports in "
                    f"{settings.landing_dir}/<kind>/ ({', '.join(KINDS)}) and run again"
                )
        elif step == "plan" and not result["changed"]:
            say(result["message"])
        elif step == "audit":
            _print_audit(result)
        elif step == "publish":
            _print_published(result)
        elif step == "report":
            say(f"figures: {result['report']}")

    try:
        outcome = steps.run_all(
            settings,
            force=args.force,
            full_refresh=args.full_refresh,
            full_audit=getattr(args, "full_audit", False),  # demo runs without it
            on_step=show,
        )
    except steps.ReleaseHeld as exc:
        shout(
            "RELEASE HELD:",
            f"the previous release ({exc.current or 'none'}) stays current; the blocking "
            "checks above say what to fix, then run again.",
            YELLOW,
        )
        return EXIT_HELD
    if "publish" in outcome:
        _print_where(settings)
    return EXIT_OK


def _dag_run_states(settings: Settings, dag_id: str, after_id: int) -> tuple[str, dict] | None:
    """The run id and task states of the newest run of ``dag_id`` made after the run
    numbered ``after_id``, read from Airflow's metadata database (SQLite, as
    ``tracepipe airflow`` sets it up); None when that database is another one."""
    import sqlite3

    from pipelines import orchestration

    url = orchestration.airflow_env(settings).get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :]
    if not Path(path).exists():
        return None
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = con.execute(
            "select id, run_id from dag_run where dag_id = ? and id > ? order by id desc limit 1",
            [dag_id, after_id],
        ).fetchone()
        if found is None:
            return None
        states = dict(
            con.execute(
                "select task_id, state from task_instance where dag_id = ? and run_id = ?",
                [dag_id, found[1]],
            ).fetchall()
        )
        return found[1], states
    finally:
        con.close()


def _last_dag_run_id(settings: Settings, dag_id: str) -> int:
    import sqlite3

    from pipelines import orchestration

    path = orchestration.sqlite_path(settings)
    if path is None or not path.exists():
        return 0
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (last,) = con.execute(
            "select coalesce(max(id), 0) from dag_run where dag_id = ?", [dag_id]
        ).fetchone()
        return int(last)
    except sqlite3.Error:
        return 0  # not migrated yet
    finally:
        con.close()


def _report_folder_name(airflow_run_id: str) -> str:
    """The reports/<run>/ folder the DAG's tasks write for an Airflow run id (the rule
    of ``airflow_tasks.run_id``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", airflow_run_id).strip("_")


def cmd_airflow(settings: Settings, args) -> int:
    from pipelines import orchestration, publish, steps

    log_dir = settings.airflow_home / "runs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{args.dag}-{dt.datetime.now():%Y%m%dT%H%M%S}.log"
    say(
        f"running DAG {args.dag} with Airflow, in-process (metadata: {settings.airflow_home}/airflow.db)"
    )
    say(f"  Airflow's log of this run: {log_file}")
    before = publish.current_release(settings)
    after_id = _last_dag_run_id(settings, args.dag)
    started = dt.datetime.now().timestamp()
    conf = {k: True for k in ("force", "full_refresh") if getattr(args, k, False)}
    proc = orchestration.run_dag(settings, args.dag, capture=True, conf=conf or None)
    log_file.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    found = _dag_run_states(settings, args.dag, after_id)
    run_id, states = found if found else ("", {})
    failed = sorted(t for t, s in states.items() if s in ("failed", "upstream_failed"))
    if proc.returncode == 0 and not failed:
        if before is not None and publish.current_release(settings) == before:
            say(
                f"nothing changed since release {before} (no new or retracted load, no changed "
                "code or reference data): no new release. Use --force to publish anyway."
            )
            return EXIT_OK
        _print_release(settings)
        _print_where(settings)
        return EXIT_OK
    # A held release fails the audit task; the run's validation.json says so. (With a
    # metadata database other than SQLite, the run's report is the one written since.)
    report_json = None
    if run_id and states.get("audit") == "failed":
        report_json = settings.reports_dir / _report_folder_name(run_id) / "validation.json"
    elif not states:
        written = [
            p
            for p in settings.reports_dir.glob("*/validation.json")
            if p.stat().st_mtime >= started
        ]
        report_json = max(written, key=lambda p: p.stat().st_mtime) if written else None
    if report_json is not None and report_json.exists():
        validation = json.loads(report_json.read_text())
        if validation.get("decision") == "hold":
            summary = steps.summary_of(
                validation, str(report_json), str(report_json.with_suffix(".html"))
            )
            _print_audit(summary)
            shout(
                "RELEASE HELD:",
                f"the previous release ({publish.current_release(settings) or 'none'}) "
                "stays current; the blocking checks above say what to fix, then run again.",
                YELLOW,
            )
            return EXIT_HELD
    if states:
        first = next(
            (
                t
                for t in ("ingest", "plan", "transform", "audit", "publish", "report")
                if states.get(t) == "failed"
            ),
            failed[0] if failed else "?",
        )
        shown = ", ".join(f"{t} {s}" for t, s in sorted(states.items()))
        raise UserError(
            f"the Airflow run {run_id} of {args.dag} failed at task {first} ({shown}); "
            f"the task's log in {log_file} says why"
        )
    raise UserError(
        f"the Airflow run of {args.dag} failed (exit {proc.returncode}); its log, {log_file}, "
        "says why"
    )


def _print_release(settings: Settings) -> None:
    from pipelines.manifest import FILE_NAME, Manifest

    if not (settings.current_link / FILE_NAME).exists():
        return
    manifest = Manifest.read(settings.current_link)
    say(f"published release {manifest.release_id} (validation: {manifest.validation})")
    for kind, counts in sorted(manifest.rows_by_kind.items()):
        say(
            f"  {kind:<15} read {counts.read:>9,} = new {counts.new:>9,} "
            f"+ changed {counts.changed:>7,} + unchanged {counts.unchanged:>7,} "
            f"+ quarantined {counts.quarantined:>7,}"
        )
    rejected = [i for i in manifest.inputs if i.status == "rejected"]
    if rejected:
        say(f"  {len(rejected)} file(s) rejected whole: see {settings.rejected_dir}")
    say(f"  {len(manifest.marts)} marts: {', '.join(sorted(manifest.marts))}")
    _print_withheld(manifest.withheld)


def cmd_demo(settings: Settings, args) -> int:
    settings.ensure_dirs()
    settings.ensure_landing()
    has_files = any(any((settings.landing_dir / k).iterdir()) for k in KINDS)
    if not has_files:
        from pipelines.generate import generate

        _generate_into(settings.landing_dir, args.scale, args.seed, generate)
    else:
        say(f"landing folder {settings.landing_dir} already holds exports; using them")
    args.force = args.full_refresh = False
    if args.no_airflow:
        return cmd_run(settings, args)
    args.dag = "trace_pipeline"
    return cmd_airflow(settings, args)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def cmd_ui(settings: Settings, args) -> int:
    import signal
    import time
    import urllib.request

    from pipelines import orchestration

    say(f"starting Airflow on http://127.0.0.1:{args.port} (metadata: {settings.airflow_home})")
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
            raise UserError(
                f"Airflow stopped while starting (exit {proc.returncode}); its logs in "
                f"{settings.airflow_home}/logs say why (is port {args.port} taken? try --port)"
            )
        say(f"Airflow is up: {url}")
        say(
            f"  login: admin / {orchestration.ui_password(settings) or '(see simple_auth_manager_passwords.json.generated)'}"
        )
        say("  DAGs start paused: switch trace_pipeline on to let it run on its schedule, or")
        say("  press the trigger button (the params force / full_refresh are offered there).")
        say("  Ctrl-C stops Airflow.")
        proc.wait()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        orchestration.stop_group(proc)


def cmd_rollback(settings: Settings, args) -> int:
    from pipelines import publish

    before = publish.current_release(settings)
    previous = publish.rollback(settings)
    say(f"rolled back: current release is now {previous} (was {before})")
    say(f"  {settings.current_link / 'marts.duckdb'}")
    return EXIT_OK


def cmd_status(settings: Settings, args) -> int:
    from pipelines import publish
    from pipelines.warehouse import WarehouseBusy, connect, has_table

    info = publish.status(settings)
    say(f"data folder:     {settings.data_dir}")
    say(f"current release: {info['current'] or 'none'}")
    manifest = info.get("manifest")  # a Manifest, when the current release is whole
    if manifest:
        summary = manifest.validation_summary
        say(
            f"  published {manifest.published_at}, code {manifest.code_version}, "
            f"audit {manifest.validation}"
            + (
                f" ({summary.n_checks} checks, {summary.n_warnings} warnings)"
                if summary.decision
                else ""
            )
        )
        marts = manifest.marts
        say(
            f"  {len(marts)} marts, {sum(marts.values()):,} rows; report: "
            f"{manifest.validation_report}"
        )
    if info.get("whole") is False:
        shout("NOT WHOLE:", f"{info['problem']}")
    say(f"kept releases:   {', '.join(info['releases']) or 'none'}")
    if info["leftovers"]:
        say(f"set aside:       {', '.join(info['leftovers'])}")
    if not settings.warehouse_path.exists():
        say("loads:           none yet (no warehouse): `tracepipe ingest` makes it")
        return EXIT_OK if info.get("whole", True) else EXIT_FAILED
    try:
        with connect(settings, read_only=True, wait_seconds=0) as con:
            rows, retracted, quarantined = [], [], 0
            if has_table(con, "meta", "load_ledger"):
                rows = con.execute(
                    "select kind, status, count(*), sum(rows_read), sum(rows_loaded), "
                    "sum(rows_quarantined) from meta.load_ledger group by all order by all"
                ).fetchall()
                retracted = con.execute(
                    "select kind, file_name, load_id, strftime(retracted_at, '%Y-%m-%d %H:%M'), "
                    "retraction_reason from meta.load_ledger where status = 'retracted' "
                    "order by retracted_at"
                ).fetchall()
    except WarehouseBusy as exc:
        say(f"loads:           not shown: {exc}")
        return EXIT_OK if info.get("whole", True) else EXIT_FAILED
    if rows:
        say("loads:")
        say(
            f"  {'kind':<15} {'status':<18} {'files':>6} {'read':>10} {'loaded':>10} {'quarantined':>12}"
        )
        for kind, status, files, read, loaded, quarantined in rows:
            say(
                f"  {kind:<15} {status:<18} {files:>6,} {read or 0:>10,} {loaded or 0:>10,} "
                f"{quarantined or 0:>12,}"
            )
        total_q = sum((r[5] or 0) for r in rows if r[1] == "loaded")
        if total_q:
            say(
                f"  {total_q:,} quarantined row(s) in live loads: `tracepipe quarantine` lists them"
            )
    else:
        say("loads:           none yet")
    if retracted:
        say("retracted loads (kind/file, load id, when, why):")
        for kind, name, load_id, when, why in retracted:
            say(f"  {kind}/{name}  {load_id}  {when}  {why}")
    return EXIT_OK if info.get("whole", True) else EXIT_FAILED


def cmd_validate(settings: Settings, args) -> int:
    from pipelines import validate

    paths = list(validate.expand([Path(p) for p in args.files]))
    if not paths:
        raise UsageError("no file to validate: the folders named hold no export")
    problems = 0
    outcomes: dict[str, int] = {}

    def each_row(row: int, line: int, found: list) -> None:
        if not found:
            say(f"  row {row:,} (line {line:,}): would be loaded")
        else:
            for problem in found:
                say(f"  {problem.describe()}: would be quarantined")

    for path in paths:
        check = validate.check_file(
            path, args.kind, keep=args.show, on_row=each_row if args.every_row else None
        )
        outcomes[check.outcome] = outcomes.get(check.outcome, 0) + 1
        if check.outcome == validate.LOAD:
            say(f"{check.label}: OK, every row would be loaded ({check.rows_read:,} rows)")
            continue
        problems += 1
        if check.outcome == validate.QUARANTINE:
            say(
                f"{check.label}: {paint('QUARANTINE', YELLOW)} {check.rows_quarantined:,} of "
                f"{check.rows_read:,} rows would be quarantined, {check.rows_loaded:,} loaded"
            )
            if not args.every_row:
                for problem in check.problems[: args.show]:
                    say(f"  {check.label} {problem.describe()}")
                more = check.rows_quarantined - len({p.row for p in check.problems[: args.show]})
                if more > 0:
                    say(f"  and {more:,} more row(s) (--show N lists more)")
        elif check.outcome == validate.REJECT:
            say(f"{check.label}: {paint('REJECTED', RED)} the whole file: {check.reason}")
        elif check.outcome == validate.REFUSE:
            say(f"{check.label}: {paint('NOT READ', RED)} {check.reason}")
        else:
            say(f"{check.label}: {paint('UNKNOWN KIND', RED)} {check.reason}")
    labels = {
        validate.LOAD: "would load whole",
        validate.QUARANTINE: "with rows to quarantine",
        validate.REJECT: "would be rejected",
        validate.REFUSE: "would not be read",
        validate.UNKNOWN: "of unknown kind",
    }
    say(
        f"validate: {len(paths)} file(s): "
        + ", ".join(f"{outcomes[o]} {labels[o]}" for o in labels if outcomes.get(o))
        + " (nothing was loaded)"
    )
    return EXIT_FAILED if problems else EXIT_OK


def cmd_quarantine(settings: Settings, args) -> int:
    from pipelines import quarantine

    _require_loaded(settings)
    limit = None if args.export or args.limit == 0 else args.limit
    listing = quarantine.rows(
        settings, kind=args.kind, file_name=args.file, limit=limit, with_values=bool(args.export)
    )
    if args.export:
        path = quarantine.export(settings, listing, args.name)
        say(
            f"wrote {len(listing.rows):,} quarantined row(s) to {path} (personal data masked, "
            "formulas written as text)"
        )
        return EXIT_OK
    if not listing.total:
        where = f" of {args.kind}" if args.kind else ""
        where += f" in {args.file}" if args.file else ""
        say(f"quarantine: no quarantined row{where}")
        return EXIT_OK
    say(
        f"quarantine: {listing.total:,} row(s)"
        + (f" of {args.kind}" if args.kind else "")
        + (f" in {args.file}" if args.file else "")
        + f"; by kind: {', '.join(f'{k} {n:,}' for k, n in listing.by_kind.items())}"
    )
    for item in listing.rows:
        retracted = " (load retracted)" if item["load_status"] == "retracted" else ""
        say(
            f"  {item['kind']}/{item['file_name']} row {item['row_number']:,} "
            f"(line {item['line_number'] or '?'}){retracted} [{item['rules']}]: {item['reason']}"
        )
    if len(listing.rows) < listing.total:
        say(
            f"  and {listing.total - len(listing.rows):,} more: --limit 0 lists all, --export "
            "writes them to a CSV"
        )
    return EXIT_OK


def _published_connection(settings: Settings):
    """The published release, read-only, with no access to other files (no ATTACH,
    COPY or reading files by path), and that setting locked."""
    import duckdb

    _require_release(settings)
    database = (settings.current_link / "marts.duckdb").resolve()
    return duckdb.connect(
        str(database),
        read_only=True,
        config={"enable_external_access": False, "lock_configuration": True},
    )


def cmd_query(settings: Settings, args) -> int:
    import duckdb

    from pipelines import privacy

    con = _published_connection(settings)
    try:
        try:
            relation = con.sql(args.sql)
        except duckdb.Error as exc:
            raise UserError(_sql_error(exc)) from exc
        if relation is None:
            raise UserError("that statement returns no rows: give a query (select ...)")
        try:
            columns = list(relation.columns)
            fetched = relation.fetchmany(args.limit + 1) if args.limit else relation.fetchall()
        except duckdb.Error as exc:
            raise UserError(_sql_error(exc)) from exc
    finally:
        con.close()
    more = bool(args.limit) and len(fetched) > args.limit
    rows = fetched[: args.limit] if args.limit else fetched
    if args.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else privacy.neutralise_formula(v) for v in row])
        sys.stdout.flush()
    else:
        _print_table(columns, rows)
    if more:
        print(
            f"(the first {args.limit:,} rows; --limit 0 shows all, --csv writes CSV)",
            file=sys.stderr,
            flush=True,
        )
    return EXIT_OK


def _sql_error(exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"the query failed: {first[:300]}; the release is read-only, "
        '`tracepipe query "show tables"` lists its tables'
    )


def _print_table(columns: list[str], rows: list[tuple]) -> None:
    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.6g}"
        return " ".join(str(value).split())

    text = [[cell(v) for v in row] for row in rows]
    widths = [min(60, max([len(c)] + [len(r[i]) for r in text])) for i, c in enumerate(columns)]
    say("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    say("  ".join("-" * w for w in widths))
    for row in text:
        say("  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    say(f"({len(rows):,} row{'s' if len(rows) != 1 else ''})")


def cmd_open(settings: Settings, args) -> int:
    import shutil

    _require_release(settings)
    shell = Path(sys.executable).with_name("duckdb")
    program = str(shell) if shell.exists() else shutil.which("duckdb")
    if not program:
        raise UserError("the DuckDB shell is not installed: `./dev` installs it into .venv/bin")
    database = str((settings.current_link / "marts.duckdb").resolve())
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(program, [program, "-readonly", database])
    return EXIT_OK  # not reached


# --- arguments -------------------------------------------------------------------------


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0.001:
        raise argparse.ArgumentTypeError(
            f"must be a number of at least 0.001 (1 is the size of GAO-16-223), not {text!r}"
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, not {text!r}")
    return value


def _run_id(text: str) -> str:
    try:
        return safe_name(text, "the run id")
    except NameRefused as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _file_name(text: str) -> str:
    try:
        return safe_name(text, "the file name")
    except NameRefused as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one sentence and the usage exit status (64)."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (`{self.prog} --help` shows how)")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; each option's default shown when it has one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "%(default)" not in text
            and "default" not in text
            and action.option_strings
            and action.default not in (None, False, argparse.SUPPRESS)
        ):
            text += " (default: %(default)s)"
        return text


def _command(sub, name: str, func, summary: str, description: str, examples: list[str]):
    p = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog="example"
        + ("s" if len(examples) > 1 else "")
        + ":\n"
        + "\n".join(f"  {e}" for e in examples),
        formatter_class=_Help,
    )
    p.set_defaults(func=func)
    return p


def _run_flags(p) -> None:
    p.add_argument(
        "--force", action="store_true", help="publish a new release even when nothing changed"
    )
    p.add_argument(
        "--full-refresh", action="store_true", help="rebuild every model from raw (implies --force)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tracepipe", description=__doc__, formatter_class=_Help)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug lines, library warnings, tracebacks"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = _command(
        sub,
        "demo",
        cmd_demo,
        "generate a sample and run it end to end through Airflow",
        "Generate a small calibrated sample into the landing folder (unless it already "
        "holds exports) and run it through the trace_pipeline DAG in-process, or through "
        "the steps directly with --no-airflow.",
        ["tracepipe demo", "tracepipe demo --scale 0.05 --no-airflow"],
    )
    p.add_argument("--scale", type=_scale, default=0.01, help="size of the sample; 1 is GAO-16-223")
    p.add_argument("--seed", type=_count, default=2016, help="random seed of the sample")
    p.add_argument("--no-airflow", action="store_true", help="run the steps directly")

    p = _command(
        sub,
        "run",
        cmd_run,
        "ingest, transform, audit, publish, report (no Airflow)",
        "Every step in order, by the same step functions the DAG runs: load new exports, "
        "build the models (dbt), check them (Great Expectations), publish a release when "
        "the audit allows it, and draw the figures. Stops after the ingest when nothing "
        "changed since the current release. Exit status 2: the audit held the release.",
        ["tracepipe run", "tracepipe run --force"],
    )
    _run_flags(p)
    p.add_argument(
        "--full-audit",
        action="store_true",
        help="audit every row, not only those written since the current release "
        "(--full-refresh does too)",
    )

    p = _command(
        sub,
        "airflow",
        cmd_airflow,
        "one run of a DAG through Airflow, in-process",
        "One run of a DAG with `airflow dags test` (no scheduler or server), on the "
        "SQLite metadata database in the data folder. The outcome is read from Airflow's "
        "task states and the run's validation report. Exit status 2: the audit held it.",
        ["tracepipe airflow", "tracepipe airflow --dag licensee_listing --force"],
    )
    p.add_argument(
        "--dag",
        default="trace_pipeline",
        choices=["trace_pipeline", "licensee_listing", "landing_watch", "partner_export"],
        help="the DAG to run",
    )
    _run_flags(p)

    p = _command(
        sub,
        "generate",
        cmd_generate,
        "write calibrated sample exports",
        "Write sample exports in the providers' formats whose totals reproduce GAO-16-223 "
        "(at scale 1, about 105,000 traced firearms), with planted defects and their "
        "ground truth (docs/GENERATOR.md). The same scale and seed give the same bytes.",
        ["tracepipe generate --scale 0.1", "tracepipe generate --scale 1 --out /tmp/landing"],
    )
    p.add_argument(
        "--scale", type=_scale, default=1.0, help="size; 1 is GAO-16-223, at least 0.001"
    )
    p.add_argument("--seed", type=_count, default=2016, help="random seed")
    p.add_argument("--out", help="folder to write into (default: the landing folder)")

    _command(
        sub,
        "ingest",
        cmd_ingest,
        "load newly landed exports",
        "Load every export under landing/<kind>/ that was not loaded before: good rows to "
        "raw, bad rows to quarantine with their reason, unreadable files set aside in "
        "rejected/ with a reason file. A re-sent file changes nothing.",
        ["tracepipe ingest"],
    )
    p = _command(
        sub,
        "transform",
        cmd_transform,
        "build the models (dbt build)",
        "dbt build of the project in dbt_project/: seeds, models, data tests and unit "
        "tests, with one progress line per node.",
        ["tracepipe transform", "tracepipe transform --full-refresh"],
    )
    p.add_argument(
        "--full-refresh", action="store_true", help="rebuild every incremental model from raw"
    )

    p = _command(
        sub,
        "retract",
        cmd_retract,
        "take a loaded file back: its rows leave the current state, with a record",
        "Take a loaded file back. Its rows move from raw to retracted.<kind> with when "
        "and why; each record goes back to its previous version, and records only this "
        "file brought are gone. The next run publishes without them.",
        ['tracepipe retract trace_requests_2014-03.csv --reason "wrong month sent"'],
    )
    p.add_argument("target", help="the file name as landed, or its load id (tracepipe status)")
    p.add_argument(
        "--reason", required=True, help="why the file is taken back (kept in the ledger)"
    )

    p = _command(
        sub,
        "audit",
        cmd_audit,
        "run the expectation suites and decide publish or hold",
        "Run the Great Expectations suites of expectations/suites/ over what dbt built and "
        "write the validation report to reports/<run>/. Exit status 2: a blocking check "
        "failed and the release would be held.",
        ["tracepipe audit", "tracepipe audit --run-id before-review", "tracepipe audit --full"],
    )
    p.add_argument("--run-id", type=_run_id, help="name of the run's report folder (default: now)")
    p.add_argument(
        "--full",
        action="store_true",
        help="check every row (by default row-level checks look at the rows written since "
        "the current release's audit, when nothing else changed)",
    )

    p = _command(
        sub,
        "publish",
        cmd_publish,
        "publish an audited run as the current release",
        "Copy the marts of an audited run into a new release and make it current "
        "atomically; a run the audit held is not published (exit status 2).",
        ["tracepipe publish", "tracepipe publish --run-id before-review"],
    )
    p.add_argument("--run-id", type=_run_id, help="the audited run (default: the latest audited)")

    p = _command(
        sub,
        "report",
        cmd_report,
        "draw the figures from the published marts",
        "Write figures.html from the current release into reports/<run>/.",
        ["tracepipe report"],
    )
    p.add_argument(
        "--run-id", type=_run_id, help="report folder (default: the current release's run)"
    )

    p = _command(
        sub,
        "validate",
        cmd_validate,
        "what the ingest would do with exports, without loading them",
        "Read each file as the ingest reads it (encoding, framing, header, contract, "
        "repeated keys) and say whether it would be loaded whole, loaded with rows "
        "quarantined (each named by row, line, column and reason), or rejected whole, "
        "and why. Opens no warehouse and writes nothing. A folder stands for the files "
        "in it. The kind comes from the file's folder (landing/<kind>/), else --kind, "
        "else its header. Exit status 1: a file would be rejected or rows quarantined.",
        [
            "tracepipe validate data/landing/trace/trace_requests_2014-03.csv",
            "tracepipe validate --kind licensees ~/Downloads/0115-ffl-list.txt",
            "tracepipe validate data/landing",
        ],
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="export files or folders")
    p.add_argument("--kind", choices=KINDS, help="the kind of every file named")
    p.add_argument("--show", type=_count, default=20, help="row problems listed per file")
    p.add_argument(
        "--every-row", action="store_true", help="one line per row: loaded or quarantined"
    )

    p = _command(
        sub,
        "quarantine",
        cmd_quarantine,
        "list quarantined rows with their reasons, or export them as CSV",
        "The rows the ingest quarantined, with file, row, line, rule and reason. --export "
        "writes them, with their values, to a CSV in <data>/exports/quarantine/: personal "
        "data masked, and values that a spreadsheet would run as formulas written as text.",
        [
            "tracepipe quarantine --kind trace",
            "tracepipe quarantine --export --name trace-2014.csv --file trace_requests_2014-03.csv",
        ],
    )
    p.add_argument("--kind", choices=KINDS, help="only this kind")
    p.add_argument("--file", help="only rows of this landed file (its name, without its folder)")
    p.add_argument("--limit", type=_count, default=50, help="rows listed; 0 lists all")
    p.add_argument("--export", action="store_true", help="write a CSV instead of listing")
    p.add_argument(
        "--name",
        type=_file_name,
        help="file name of the CSV in <data>/exports/quarantine/ (default: quarantine-<time>.csv)",
    )

    p = _command(
        sub,
        "query",
        cmd_query,
        "run SQL on the published release (read-only)",
        "Run one SQL statement on the current release's marts.duckdb, read-only, and "
        "print the result as a table (or CSV). The connection cannot reach other files.",
        [
            'tracepipe query "select * from origin_by_year"',
            'tracepipe query --csv "select * from gao_16_223_reproduction" > gao.csv',
        ],
    )
    p.add_argument("sql", metavar="SQL", help="the query")
    p.add_argument("--csv", action="store_true", help="write CSV (formulas written as text)")
    p.add_argument("--limit", type=_count, default=100, help="rows shown; 0 shows all")

    _command(
        sub,
        "open",
        cmd_open,
        "open the DuckDB shell on the published release (read-only)",
        "Start the DuckDB command-line shell (.venv/bin/duckdb) on the current release's "
        "marts.duckdb, read-only. `.tables` lists the marts, `.quit` leaves.",
        ["tracepipe open"],
    )

    p = _command(
        sub,
        "ui",
        cmd_ui,
        "start Airflow's UI on 127.0.0.1 with the project's DAGs (Ctrl-C stops it)",
        "airflow standalone on the embedded defaults (SQLite metadata in the data folder, "
        "the project's dags/, parallelism 2), on 127.0.0.1 only.",
        ["tracepipe ui", "tracepipe ui --port 8090"],
    )
    p.add_argument("--port", type=_port, default=8080, help="port of the UI")

    _command(
        sub,
        "rollback",
        cmd_rollback,
        "make the previous release current again",
        "Point published/current at the release before the current one; the current one "
        "is set aside, not deleted.",
        ["tracepipe rollback"],
    )
    _command(
        sub,
        "status",
        cmd_status,
        "releases, loads and quarantine at a glance",
        "The current release (checked whole), the kept releases, and the loads of the "
        "ledger by kind and status. Exit status 1: the current release is not whole.",
        ["tracepipe status", "tracepipe status | head -5"],
    )
    return parser


# --- main ------------------------------------------------------------------------------


def _fail(exc: BaseException, verbose: bool) -> int:
    """One sentence for an error no command expected: its kind and where, never its
    text (which could hold a value of a row), unless --verbose."""
    if isinstance(exc, OSError):
        shout(
            "FAILED:",
            f"{exc.strerror or type(exc).__name__}" + (f": {exc.filename}" if exc.filename else ""),
        )
        return EXIT_FAILED
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" in {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    shout(
        "FAILED:",
        f"unexpected {type(exc).__name__}{where}; run again with --verbose to see it, "
        "and report it if it persists",
    )
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        shout("error:", str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    console = _setup_logging(args.verbose)

    from pipelines.steps import ReleaseHeld, refused
    from pipelines.warehouse import WarehouseBusy

    try:
        settings = Settings.from_env()
        return args.func(settings, args)
    except (SettingsError, NameRefused, UsageError) as exc:
        shout("error:", str(exc))
        return EXIT_USAGE
    except UserError as exc:
        shout("FAILED:", str(exc))
        return exc.code
    except ReleaseHeld as exc:
        shout("RELEASE HELD:", str(exc), YELLOW)
        return EXIT_HELD
    except WarehouseBusy as exc:
        shout("FAILED:", str(exc))
        return EXIT_BUSY
    except KeyboardInterrupt:
        shout(
            "interrupted:",
            "stopped before the end; a file is loaded whole or not at all and a release is "
            "published whole or not at all, so run the command again",
        )
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of the output went away (`tracepipe status | head`): not an error.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_OK
    except Exception as exc:
        if refused(exc):
            shout("FAILED:", str(exc))
            return EXIT_FAILED
        return _fail(exc, args.verbose)
    finally:
        logging.getLogger().removeHandler(console)


def run() -> None:
    """The ``tracepipe`` command: ``main``, then out at once (``leave``)."""
    leave(main())


def leave(code: int) -> None:
    """Exit with ``code`` at once: the exit handlers run and the standard streams are
    flushed, but the interpreter does not tear down every module dbt, Great Expectations
    and Airflow brought, which took a second of each command on this machine. With
    another thread still running that is not a daemon, it exits the ordinary way (which
    waits for that thread)."""
    import atexit
    import contextlib
    import threading

    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()  # what the interpreter would run first (logging's among them)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
