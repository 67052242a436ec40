"""The pipeline's steps, the same for the command line, Airflow and the tests.

Each step takes the settings and plain values (run id, paths) and returns a small dict
that can travel through Airflow's XCom; none of them passes data frames around.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from pipelines import audit as audit_mod
from pipelines import ingest as ingest_mod
from pipelines import publish as publish_mod
from pipelines import report as report_mod
from pipelines import transform as transform_mod
from pipelines.config import Settings
from pipelines.warehouse import connect

log = logging.getLogger(__name__)


class ReleaseHeld(RuntimeError):
    """The audit found a blocking failure; the previous release stays current."""


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")[:-3]


def ingest(settings: Settings) -> dict:
    summary = ingest_mod.ingest(settings)
    for f in summary.files:
        if f.status == "loaded":
            log.info(
                "%s/%s: %d read, %d loaded, %d quarantined",
                f.kind,
                f.file_name,
                f.rows_read,
                f.rows_loaded,
                f.rows_quarantined,
            )
        elif f.status in ("rejected", "duplicate_content"):
            log.warning("%s/%s: %s: %s", f.kind, f.file_name, f.status, f.reason)
    return summary.to_dict()


def transform(settings: Settings) -> dict:
    result = transform_mod.transform(settings)
    return {"command": result.command, "nodes": result.nodes}


def audit(settings: Settings, run_id: str) -> dict:
    result = audit_mod.audit(settings, run_id=run_id)
    for reason in result.reasons():
        log.error("blocking check failed: %s", reason)
    for line in result.warning_lines():
        log.warning("warning: %s", line)
    log.info(
        "audit decision %s: %d checks, %d blocking, %d warnings; validation report: %s",
        result.decision.upper(),
        len(result.checks),
        len(result.blocking),
        len(result.warnings),
        result.report_html,
    )
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
        "report_json": report_json,
        "report_html": report_html,
    }


def ledger_snapshot(settings: Settings) -> dict:
    """Inputs and row counts per stage, for a release's manifest."""
    with connect(settings, read_only=True) as con:
        files = con.execute(
            "select kind, file_name, sha256, status, rows_read, rows_loaded, rows_quarantined "
            "from meta.load_ledger order by kind, file_name"
        ).fetchall()
        models = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('staging', 'intermediate', 'marts') order by 1, 2"
        ).fetchall()
        stages: dict[str, dict[str, int]] = {}
        for schema, table in models:
            n = con.execute(f'select count(*) from {schema}."{table}"').fetchall()[0][0]
            stages.setdefault(schema, {})[table] = n
    keys = ("kind", "file_name", "sha256", "status", "rows_read", "rows_loaded", "rows_quarantined")
    inputs = [dict(zip(keys, row, strict=True)) for row in files]
    totals: dict[str, dict[str, int]] = {}
    for item in inputs:
        kind = totals.setdefault(item["kind"], {"read": 0, "loaded": 0, "quarantined": 0})
        kind["read"] += item["rows_read"] or 0
        kind["loaded"] += item["rows_loaded"] or 0
        kind["quarantined"] += item["rows_quarantined"] or 0
    rows_by_stage = {
        "read": {k: v["read"] for k, v in totals.items()},
        "loaded": {k: v["loaded"] for k, v in totals.items()},
        "quarantined": {k: v["quarantined"] for k, v in totals.items()},
        **stages,
    }
    return {"inputs": inputs, "rows_by_kind": totals, "rows_by_stage": rows_by_stage}


def held_message(settings: Settings, run_id: str, audit_summary: dict) -> str:
    return (
        f"release held by the audit of run {run_id}; the previous release "
        f"({publish_mod.current_release(settings) or 'none'}) stays current. Failed checks:\n  "
        + "\n  ".join(audit_summary["reasons"] or ["(none listed)"])
        + f"\nValidation report: {audit_summary['report_html']}"
    )


def publish(settings: Settings, run_id: str, audit_summary: dict) -> dict:
    if audit_summary["decision"] != "publish":
        message = held_message(settings, run_id, audit_summary)
        log.error(message)
        raise ReleaseHeld(message)
    manifest = {
        "run_id": run_id,
        "validation_report": audit_summary["report_json"],
        "validation_summary": {
            k: audit_summary.get(k)
            for k in ("decision", "n_checks", "n_blocking", "n_warnings", "warnings", "data_docs")
            if k in audit_summary
        },
        **ledger_snapshot(settings),
    }
    release = publish_mod.publish(
        settings,
        run_id,
        audit_summary["decision"],
        manifest,
        expected_marts=audit_summary.get("mart_rows"),
    )
    return {
        "release_id": release.release_id,
        "path": str(release.path),
        "database": str(settings.current_link / "marts.duckdb"),
        "marts": release.marts,
    }


def report(settings: Settings, run_id: str) -> dict:
    path = report_mod.write_figures(settings, run_id)
    return {"report": str(path)}


def run_all(settings: Settings, run_id: str | None = None) -> dict:
    """Ingest, transform, audit, publish, report: what the DAG does, without Airflow."""
    run_id = run_id or new_run_id()
    outcome: dict = {"run_id": run_id}
    outcome["ingest"] = ingest(settings)
    outcome["transform"] = transform(settings)
    outcome["audit"] = audit(settings, run_id)
    outcome["publish"] = publish(settings, run_id, outcome["audit"])
    outcome["report"] = report(settings, run_id)
    log.debug(json.dumps(outcome, default=str)[:2000])
    return outcome
