"""Airflow DAG: landed exports to a published, audited release of the trace marts.

ingest -> plan -> transform (dbt build) -> audit (Great Expectations) -> publish -> report

``plan`` stops the run (the tasks after it are skipped) when nothing changed since the
current release: no new or retracted load, no changed code or reference data. Trigger
with the param ``force`` to publish anyway, or ``full_refresh`` to rebuild every model.

The work is in ``pipelines.steps``; this file only says when and in what order. Every
step opens the DuckDB warehouse, works and closes it, and the steps form one chain with
at most one run at a time, so no two writers ever meet on the file. A held release
fails the publish task with the reasons, and the previous release stays current.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

from pipelines import steps
from pipelines.config import Settings

PUBLISHED_MARTS = Asset(name="tracepipe_published_marts", uri="file:///tracepipe/published/current")


@dag(
    dag_id="trace_pipeline",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["tracepipe", "gao-16-223"],
    doc_md=__doc__,
    default_args={"retries": 0},
    params={
        "force": Param(False, type="boolean", description="publish even when nothing changed"),
        "full_refresh": Param(
            False, type="boolean", description="rebuild every incremental model from raw"
        ),
    },
)
def trace_pipeline():
    @task
    def ingest() -> dict:
        run_id = steps.new_run_id()
        summary = steps.ingest(Settings.from_env())
        return {
            "run_id": run_id,
            "rows_read": summary["rows_read"],
            "rows_loaded": summary["rows_loaded"],
            "rows_quarantined": summary["rows_quarantined"],
            "rows_new": summary["rows_new"],
            "rows_changed": summary["rows_changed"],
            "rows_unchanged": summary["rows_unchanged"],
            "files": len(summary["files"]),
            "misplaced": [m["path"] for m in summary["misplaced"]],
        }

    @task.short_circuit
    def plan(ingested: dict) -> dict | None:
        """The run goes on only when a new release would differ from the current one."""
        params = get_current_context()["params"]
        planned = steps.plan(
            Settings.from_env(), force=bool(params.get("force") or params.get("full_refresh"))
        )
        if not planned["changed"]:
            print(planned["message"])
            return None
        return ingested

    @task
    def transform(ingested: dict) -> str:
        params = get_current_context()["params"]
        steps.transform(Settings.from_env(), full_refresh=bool(params.get("full_refresh")))
        return ingested["run_id"]

    @task
    def audit(pipeline_run: str) -> dict:
        return steps.audit(Settings.from_env(), pipeline_run)

    @task(outlets=[PUBLISHED_MARTS])
    def publish(audit_summary: dict) -> dict:
        return steps.publish(Settings.from_env(), audit_summary["run_id"], audit_summary)

    @task
    def report(published: dict, audit_summary: dict) -> dict:
        return steps.report(Settings.from_env(), audit_summary["run_id"])

    audited = audit(transform(plan(ingest())))
    report(publish(audited), audited)


trace_pipeline()
