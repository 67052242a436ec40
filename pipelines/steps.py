"""The pipeline's steps, the same for the command line, Airflow and the tests.

Each step takes the settings and plain values (run id, paths) and returns a small dict
that can travel through Airflow's XCom; none of them passes data frames around.

Each event is logged once, where it happens (the ingest logs each file, the audit its
decision, the publish its release); the steps log nothing of their own.
Each step imports the module that does its work when it runs: a process that runs one
step (a stage of the benchmark, an Airflow task on a worker) loads only what that step
needs, not the ingest's pandera and polars or the audit's pandas as well.

What the caller shows of a step's result (the command line, an Airflow task) comes from
the dict it returns. The line that states a step's outcome (the audit's decision, the
release published, a rollback, a retraction) is logged with ``extra={"outcome": True}``:
Airflow's task log shows it, and the command line shows the outcome once, as the
command's summary, instead of the line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import sys
from collections.abc import Callable

from pipelines import fingerprint
from pipelines.config import Settings, safe_name
from pipelines.manifest import InputFile, KindRows, Manifest, ValidationSummary
from pipelines.warehouse import connect, has_table


class ReleaseHeld(RuntimeError):
    """The audit found a blocking failure; the previous release stays current.
    ``summary`` is the audit's summary (``summary_of``), ``current`` the release that
    stays current (None when there is none)."""

    def __init__(self, message: str, summary: dict | None = None, current: str | None = None):
        super().__init__(message)
        self.summary = summary or {}
        self.current = current


# What a step raises when it refuses or fails for a reason it states (a failure that
# running it again cannot mend), by the module that defines it. Callers ask ``refused``
# instead of importing these modules to catch them: four of them bring pandas, pandera
# or dbt, and the error of a module that was never imported was never raised.
STEP_REFUSALS = (
    ("pipelines.transform", "TransformFailed"),
    ("pipelines.publish", "PublishRefused"),
    ("pipelines.audit.suites", "SuiteError"),
    ("pipelines.ingest", "LandingError"),
    ("pipelines.retract", "RetractRefused"),
    ("pipelines.secrets", "KeyRefused"),
)


def refused(exc: BaseException) -> bool:
    """Whether ``exc`` is a step's stated refusal (``STEP_REFUSALS``)."""
    return any(
        module in sys.modules and isinstance(exc, getattr(sys.modules[module], name))
        for module, name in STEP_REFUSALS
    )


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")[:-3]


def ingest(settings: Settings, kinds: tuple[str, ...] | None = None) -> dict:
    """Load new exports (the ingest logs each file it loads, rejects or refuses)."""
    from pipelines import ingest as ingest_mod

    summary = ingest_mod.ingest(settings, kinds) if kinds else ingest_mod.ingest(settings)
    return summary.to_dict()


def unseen_landed_files(settings: Settings) -> list[str]:
    """Landed exports the ledger has not seen by name, size and time (a hint for the
    landing watch; the ingest knows files by content). Empty while another process holds
    the warehouse: the watch looks again later."""
    from pipelines import ingest as ingest_mod
    from pipelines.warehouse import WarehouseBusy

    if not settings.landing_dir.is_dir():
        return []
    files = ingest_mod.landed_files(settings)
    if not files:
        return []
    seen: set[tuple[str, str, int, int]] = set()
    if settings.warehouse_path.exists():
        try:
            with connect(settings, read_only=True, wait_seconds=0) as con:
                if has_table(con, "meta", "load_ledger"):
                    seen = {
                        tuple(r)
                        for r in con.execute(
                            "select kind, file_name, size_bytes, mtime_ns from meta.load_ledger"
                        ).fetchall()
                    }
        except WarehouseBusy:
            return []
    unseen = []
    for contract, path in files:
        stat = path.stat()
        if (contract.kind, path.name, stat.st_size, stat.st_mtime_ns) not in seen:
            unseen.append(f"{contract.kind}/{path.name}")
    return unseen


def transform(settings: Settings, full_refresh: bool = False) -> dict:
    from pipelines import transform as transform_mod

    result = transform_mod.transform(settings, full_refresh=full_refresh)
    return {
        "command": result.command,
        "nodes": result.nodes,
        "failed": result.failures,
        "slowest": result.slowest(),
    }


def inputs_fingerprint(settings: Settings) -> str:
    """What a release is built from: the live and retracted loads of the ledger (by load
    id and status), the code and rules, and the purchaser key (by its public id). Equal
    fingerprints, equal releases."""
    digest = hashlib.sha256(fingerprint.code_fingerprint().encode())
    digest.update(b"purchaser key " + purchaser_key_id(settings).encode())
    if settings.warehouse_path.exists():
        with connect(settings, read_only=True) as con:
            if has_table(con, "meta", "load_ledger"):
                for row in con.execute(
                    "select load_id, status from meta.load_ledger "
                    "where status in ('loaded', 'retracted') order by load_id, status"
                ).fetchall():
                    digest.update("|".join(row).encode() + b"\n")
    return digest.hexdigest()


def purchaser_key_id(settings: Settings) -> str:
    """The public id of the purchaser key ("none" without a key)."""
    from pipelines.secrets import key_id, pii_key

    return key_id(pii_key(settings))


def plan(settings: Settings, force: bool = False) -> dict:
    """After the ingest: is there anything a new release would change? With no new or
    retracted load and no changed code since the current release, the answer is no, and
    the run stops there (``force`` builds and publishes anyway)."""
    from pipelines import publish as publish_mod

    inputs = inputs_fingerprint(settings)
    current = publish_mod.current_release(settings)
    unchanged = bool(current) and (
        Manifest.read(settings.current_link).inputs_fingerprint == inputs
    )
    if unchanged and not force:
        message = (
            f"nothing changed since release {current} (no new or retracted load, no changed "
            "code or reference data): no new release. Use --force to publish anyway."
        )
        return {"changed": False, "release_id": current, "message": message}
    return {"changed": True, "release_id": current, "message": ""}


def audit(settings: Settings, run_id: str, full: bool = False) -> dict:
    """The expectation suites over what dbt built (the audit logs its decision); ``full``
    checks every row, not only those written since the current release's audit."""
    from pipelines import audit as audit_mod

    result = audit_mod.audit(settings, run_id=safe_name(run_id, "run id"), full=full)
    return summary_of(result.to_dict(), result.report_json, result.report_html)


def summary_of(validation: dict, report_json: str, report_html: str) -> dict:
    """The small dict the CLI and Airflow pass from the audit to the publish step."""
    return {
        "run_id": validation["run_id"],
        "decision": validation["decision"],
        "reasons": validation["reasons"],
        "warnings": validation.get("warnings", []),
        "n_checks": validation.get("n_checks"),
        "n_blocking": validation.get("n_blocking"),
        "n_warnings": validation.get("n_warnings"),
        "mart_rows": validation.get("mart_rows"),
        "data_docs": validation.get("data_docs", ""),
        "remedies": validation.get("remedies", []),
        "report_json": report_json,
        "report_html": report_html,
    }


def ledger_snapshot(settings: Settings) -> Manifest:
    """A release's manifest as far as the ledger and the warehouse tell it: its inputs
    and row counts by kind and by stage (the rest is the audit's and the publish's)."""
    with connect(settings, read_only=True) as con:
        files = con.execute(
            "select kind, file_name, load_id, sha256, status, rows_read, rows_loaded, "
            "rows_new, rows_changed, rows_unchanged, rows_quarantined, "
            "strftime(retracted_at, '%Y-%m-%dT%H:%M:%S'), retraction_reason "
            "from meta.load_ledger order by kind, file_name, loaded_at"
        ).fetchall()
        models = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('staging', 'intermediate', 'marts') order by 1, 2"
        ).fetchall()
        stages: dict[str, dict[str, int]] = {}
        for schema, table in models:
            n = con.execute(f'select count(*) from {schema}."{table}"').fetchall()[0][0]
            stages.setdefault(schema, {})[table] = n
    keys = (
        "kind",
        "file_name",
        "load_id",
        "sha256",
        "status",
        "rows_read",
        "rows_loaded",
        "rows_new",
        "rows_changed",
        "rows_unchanged",
        "rows_quarantined",
        "retracted_at",
        "retraction_reason",
    )
    inputs = tuple(InputFile(**dict(zip(keys, row, strict=True))) for row in files)
    counted = ("read", "loaded", "new", "changed", "unchanged", "quarantined")
    totals: dict[str, dict[str, int]] = {}
    for item in inputs:
        kind = totals.setdefault(item.kind, dict.fromkeys(counted, 0))
        if item.status != "loaded":  # rejected, re-sent bytes, retracted: not in this release
            continue
        for count in counted:
            kind[count] += getattr(item, f"rows_{count}") or 0
    rows_by_stage = {
        "read": {k: v["read"] for k, v in totals.items()},
        "loaded": {k: v["loaded"] for k, v in totals.items()},
        "quarantined": {k: v["quarantined"] for k, v in totals.items()},
        **stages,
    }
    return Manifest(
        inputs=inputs,
        rows_by_kind={k: KindRows(**v) for k, v in totals.items()},
        rows_by_stage=rows_by_stage,
    )


def held_message(settings: Settings, run_id: str, audit_summary: dict) -> str:
    from pipelines import publish as publish_mod

    return (
        f"release held by the audit of run {run_id}; the previous release "
        f"({publish_mod.current_release(settings) or 'none'}) stays current. Failed checks:\n  "
        + "\n  ".join(audit_summary["reasons"] or ["(none listed)"])
        + (
            "\nHow to unblock it:\n  " + "\n  ".join(audit_summary["remedies"])
            if audit_summary.get("remedies")
            else ""
        )
        + f"\nValidation report: {audit_summary['report_html']}"
    )


def publish(settings: Settings, run_id: str, audit_summary: dict) -> dict:
    """The atomic publish of an audited run; ``ReleaseHeld`` when the audit held it
    (the exception carries the message, so whoever catches it says it once)."""
    from pipelines import publish as publish_mod

    safe_name(run_id, "run id")
    if audit_summary["decision"] != "publish":
        raise ReleaseHeld(
            held_message(settings, run_id, audit_summary),
            audit_summary,
            publish_mod.current_release(settings),
        )
    manifest = dataclasses.replace(
        ledger_snapshot(settings),
        run_id=run_id,
        inputs_fingerprint=inputs_fingerprint(settings),
        purchaser_key_id=purchaser_key_id(settings),
        validation_report=audit_summary["report_json"],
        validation_summary=ValidationSummary.from_json(audit_summary, "the audit's summary"),
    )
    release = publish_mod.publish(
        settings,
        run_id,
        audit_summary["decision"],
        manifest,
        expected_marts=audit_summary.get("mart_rows"),
    )
    return {
        "release_id": release.release_id,
        "withheld": release.manifest.withheld,
        "path": str(release.path),
        "database": str(settings.current_link / "marts.duckdb"),
        "marts": release.marts,
    }


def report(settings: Settings, run_id: str) -> dict:
    from pipelines import report as report_mod

    path = report_mod.write_figures(settings, safe_name(run_id, "run id"))
    return {"report": str(path)}


def retract(settings: Settings, target: str, reason: str) -> dict:
    from pipelines import retract as retract_mod

    return retract_mod.retract(settings, target, reason).to_dict()


def run_all(
    settings: Settings,
    run_id: str | None = None,
    force: bool = False,
    full_refresh: bool = False,
    on_step: Callable[[str, dict], None] | None = None,
    full_audit: bool = False,
) -> dict:
    """Ingest, plan, transform, audit, publish, report: what the DAG does, without
    Airflow, by the same step functions. Stops after the plan when nothing changed
    since the current release. ``on_step(name, result)`` is called as each step ends
    (the command line shows each result as it comes); a held release raises
    ``ReleaseHeld`` from the publish step, after ``on_step("audit", ...)``. A full
    refresh, or ``full_audit``, audits every row (``audit(full=True)``)."""
    run_id = safe_name(run_id or new_run_id(), "run id")
    outcome: dict = {"run_id": run_id}

    def done(name: str, result: dict) -> dict:
        outcome[name] = result
        if on_step is not None:
            on_step(name, result)
        return result

    done("ingest", ingest(settings))
    if not done("plan", plan(settings, force=force or full_refresh))["changed"]:
        return outcome
    done("transform", transform(settings, full_refresh=full_refresh))
    done("audit", audit(settings, run_id, full=full_refresh or full_audit))
    done("publish", publish(settings, run_id, outcome["audit"]))
    done("report", report(settings, run_id))
    return outcome
