"""Airflow DAG: watch the landing folder, and start the trace pipeline when exports land.

Every 15 minutes a sensor looks for files in `landing/<kind>/` that the load ledger has
not seen (by name, size and time: a hint only; the ingest still knows every file by its
content). It waits in reschedule mode, so between looks it holds no worker slot; when new
files are there it emits the Asset `tracepipe_landed_exports`, which schedules
`trace_pipeline`. A look while the pipeline holds the warehouse just waits for the next.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import PokeReturnValue, dag, task

from pipelines import airflow_tasks as t


@dag(
    dag_id="landing_watch",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=[*t.TAGS, "landing"],
    doc_md=__doc__,
    default_args={**t.default_args(), "retries": 0},
)
def landing_watch():
    @task.sensor(
        poke_interval=60,
        timeout=14 * 60,
        mode="reschedule",
        soft_fail=True,
        outlets=[t.LANDED],
    )
    def new_exports_landed() -> PokeReturnValue:
        from pipelines.config import Settings
        from pipelines.steps import unseen_landed_files

        found = unseen_landed_files(Settings.from_env())
        return PokeReturnValue(is_done=bool(found), xcom_value=found)

    new_exports_landed()


landing_watch()
