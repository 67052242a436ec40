"""Airflow DAG: ATF's monthly Listing of Federal Firearms Licensees.

ATF publishes the listing monthly (`MMYY-ffl-list.txt`). This DAG loads the listings that
landed in `landing/licensees/` and runs the rest of the pipeline: the trace model places
every request again in the listing valid at its purchase date (docs/MARTS.md), then the
audit, the publish and the report. Same tasks, pool and rules as `trace_pipeline`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag

from pipelines import airflow_tasks as t


@dag(
    dag_id="licensee_listing",
    schedule="0 7 3 * *",  # the third of each month, after ATF's monthly release
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=[*t.TAGS, "licensees"],
    doc_md=__doc__,
    default_args=t.default_args(),
    params=t.RUN_PARAMS,
)
def licensee_listing():
    t.pipeline_chain(kinds=["licensees"])


licensee_listing()
