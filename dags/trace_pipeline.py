"""Airflow DAG: landed exports to a published, audited release of the trace marts.

ingest -> transform (dbt build) -> audit (Great Expectations) -> publish -> report

The work is in ``pipelines.steps``; this file only says when and in what order. Every
step opens the DuckDB warehouse, works and closes it, and the steps form one chain with
at most one run at a time, so no two writers ever meet on the file. A held release
fails the publish task with the reasons, and the previous release stays current.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task

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
            "files": len(summary["files"]),
        }

    @task
    def transform(ingested: dict) -> str:
        steps.transform(Settings.from_env())
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

    audited = audit(transform(ingest()))
    report(publish(audited), audited)


trace_pipeline()
