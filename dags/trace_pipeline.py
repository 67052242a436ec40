"""Airflow DAG: landed exports to a published, audited release of the trace marts.

ingest -> plan -> transform (dbt build) -> audit (Great Expectations) -> publish -> report

- Runs daily, and also as soon as `landing_watch` sees new exports land (Asset
  `tracepipe_landed_exports`); one run at a time.
- `plan` ends the run (the tasks after it are skipped) when nothing changed since the
  current release: no new or retracted load, no changed code or reference data. Trigger
  with the param `force` to publish anyway, or `full_refresh` to rebuild every model.
- Every task that writes the working DuckDB file runs in the pool `tracepipe_warehouse`
  (one slot, shared with `licensee_listing`). A locked warehouse is retried with
  backoff; a contract, dbt or audit failure fails at once with its reason. A held
  release fails the `audit` task with the checks that failed and how to unblock it.
- `publish` emits the Asset `tracepipe_published_release` (extra: the release id),
  which `partner_export` consumes.

The work is in `pipelines.steps`, wired in `pipelines.airflow_tasks`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, dag
from airflow.timetables.trigger import CronTriggerTimetable

from pipelines import airflow_tasks as t


@dag(
    dag_id="trace_pipeline",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"), assets=t.LANDED
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=t.TAGS,
    doc_md=__doc__,
    default_args=t.default_args(),
    params=t.RUN_PARAMS,
)
def trace_pipeline():
    t.pipeline_chain()


trace_pipeline()
