"""Airflow DAG: the shared marts of each new release, exported for partner agencies.

Runs whenever a release is published (Asset `tracepipe_published_release`): writes the
`shared_*` marts (aggregates only, small counts suppressed) of the current release as CSV
into `<data>/exports/<release id>/`. It reads the published release only, so it needs
no slot of the warehouse pool.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from pipelines import airflow_tasks as t


@dag(
    dag_id="partner_export",
    schedule=[t.PUBLISHED],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=[*t.TAGS, "sharing"],
    doc_md=__doc__,
    default_args=t.default_args(),
)
def partner_export():
    @task
    def export_shared_marts() -> dict:
        from pipelines.config import Settings
        from pipelines.export import export_shared

        return export_shared(Settings.from_env())

    export_shared_marts()


partner_export()
