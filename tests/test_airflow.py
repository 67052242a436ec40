"""Airflow runs the DAGs: every DAG file imports, and the trace pipeline runs end to end
in-process on a SQLite metadata database, while an analyst reads the published marts."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_ORIGIN, airflow_task_states, copy_data, with_migrated_airflow

from pipelines import orchestration, publish
from pipelines.config import PROJECT_ROOT

WRITERS = {"ingest", "plan", "transform", "audit", "publish"}
PIPELINE_EDGES = {
    ("ingest", "plan"),
    ("plan", "transform"),
    ("transform", "audit"),
    ("audit", "publish"),
    ("publish", "report"),
}
PARSE_BOUND_SECONDS = 5.0  # per DAG file, on this 2-core machine


def test_every_dag_imports_fast_and_is_wired_as_designed(settings):
    """DagBag in a child process, with the project's Airflow settings: no import error,
    each file parsed within the bound without importing pandas, polars, GX or dbt, and
    every DAG's owner, tags, retries, pool and edges as designed (no cycle: DagBag
    refuses one)."""
    code = textwrap.dedent(
        f"""
        import json, sys
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(PROJECT_ROOT / "dags")!r})
        out = {{
            "errors": {{k: str(v)[:500] for k, v in bag.import_errors.items()}},
            "parse": {{s.file: s.duration.total_seconds() if hasattr(s.duration, "total_seconds") else s.duration
                       for s in bag.dagbag_stats}},
            "heavy": [m for m in ("pandas", "polars", "great_expectations", "dbt") if m in sys.modules],
            "dags": {{
                d.dag_id: {{
                    "tags": sorted(d.tags),
                    "tasks": {{
                        t.task_id: {{"owner": t.owner, "retries": t.retries, "pool": t.pool,
                                     "backoff": t.retry_exponential_backoff,
                                     "down": sorted(t.downstream_task_ids)}}
                        for t in d.tasks
                    }},
                }}
                for d in bag.dags.values()
            }},
        }}
        print("RESULT" + json.dumps(out, default=str))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=orchestration.airflow_env(settings),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert out["errors"] == {}
    assert out["heavy"] == []
    assert sorted(Path(f).name for f in out["parse"]) == [
        "landing_watch.py",
        "licensee_listing.py",
        "partner_export.py",
        "trace_pipeline.py",
    ], out["parse"]
    assert all(seconds < PARSE_BOUND_SECONDS for seconds in out["parse"].values()), out["parse"]
    dags = out["dags"]
    assert set(dags) == {"trace_pipeline", "licensee_listing", "landing_watch", "partner_export"}
    for dag_id, dag in dags.items():
        assert "tracepipe" in dag["tags"], dag_id
        for task_id, task in dag["tasks"].items():
            assert task["owner"] == "tracepipe-data-engineering", (dag_id, task_id)
            if task_id in WRITERS:
                assert task["pool"] == "tracepipe_warehouse", (dag_id, task_id)
                assert task["retries"] >= 2, (dag_id, task_id)
                # a multiplier in Airflow 3: True would be 1.0, no backoff at all
                assert task["backoff"] == 2.0, (dag_id, task_id)
            else:
                assert task["pool"] != "tracepipe_warehouse", (dag_id, task_id)
    for dag_id in ("trace_pipeline", "licensee_listing"):
        edges = {(t, d) for t, task in dags[dag_id]["tasks"].items() for d in task["down"]}
        assert edges == PIPELINE_EDGES, (dag_id, edges)
    assert set(dags["landing_watch"]["tasks"]) == {"new_exports_landed"}
    assert set(dags["partner_export"]["tasks"]) == {"export_shared_marts"}


FFL_SAMPLE = PROJECT_ROOT / "tests" / "data" / "0124-ffl-list-sample.txt"


def _ran(proc: subprocess.CompletedProcess) -> str:
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope="module")
def story(built, tmp_path_factory, migrated_airflow):
    """One data folder under Airflow, every DAG run in turn (each run costs an Airflow
    start, a dbt build and an audit); the tests read its chapters.

    1. The sample, built and published (conftest.built), and ATF's licensee listing
       landed: trace_pipeline runs every task while analysts hold the published file
       open, one in Python, one in the duckdb shell (the duckdb-cli package, pinned to
       the same version); and one holds the working warehouse until the ingest has
       failed on it once, so the task is retried and then succeeds.
    2. partner_export; 3. licensee_listing on the next monthly listing; 4. landing_watch
       on a new export."""
    settings = copy_data(built.data_dir, tmp_path_factory.mktemp("airflow_story") / "data")
    with_migrated_airflow(settings, migrated_airflow)
    with pytest.MonkeyPatch.context() as key:
        key.setenv("TRACEPIPE_PII_KEY", "test-key")  # the sample's, for every DAG run
        yield _chapters(settings, {"settings": settings})


def _chapters(settings, seen: dict) -> dict:
    seen["first_release"] = publish.current_release(settings)

    shutil.copy(FFL_SAMPLE, settings.landing_dir / "licensees" / "0124-ffl-list.txt")
    database = settings.current_link / "marts.duckdb"
    reader = duckdb.connect(str(database), read_only=True)
    shell = subprocess.Popen(
        [str(Path(sys.executable).with_name("duckdb")), "-readonly", "-csv", str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    working = duckdb.connect(str(settings.warehouse_path), read_only=True)
    closer = threading.Thread(target=_close_after_a_retry, args=(settings, working), daemon=True)
    try:
        closer.start()
        with pytest.MonkeyPatch.context() as env:
            env.setenv("TRACEPIPE_LOCK_WAIT_SECONDS", "1")
            env.setenv("TRACEPIPE_RETRY_DELAY", "1")
            seen["second_output"] = _ran(orchestration.run_dag(settings, capture=True))
        closer.join()
        seen["second_states"] = airflow_task_states(settings, "trace_pipeline")
        seen["reader_rows"] = reader.execute(
            "select recovery_year, n_traced from origin_by_year order by 1"
        ).fetchall()
        seen["shell_out"], seen["shell_err"] = shell.communicate(
            "select recovery_year, n_traced from origin_by_year order by 1;\n", timeout=60
        )
        seen["shell_code"] = shell.returncode
    finally:
        reader.close()
        working.close()
        if shell.poll() is None:
            shell.kill()
    seen["second_release"] = publish.current_release(settings)
    seen["second_releases"] = publish.list_releases(settings)
    seen["second_events"] = _asset_events(settings, "tracepipe_published_release")

    seen["export_output"] = _ran(orchestration.run_dag(settings, "partner_export", capture=True))
    seen["export_folder"] = settings.data_dir / "exports" / seen["second_release"]

    # ATF's next monthly listing: the licensee DAG loads it and publishes a release
    lines = FFL_SAMPLE.read_bytes().splitlines(keepends=True)
    (settings.landing_dir / "licensees" / "0224-ffl-list.txt").write_bytes(b"".join(lines[:-1]))
    seen["monthly_output"] = _ran(orchestration.run_dag(settings, "licensee_listing", capture=True))
    seen["monthly_release"] = publish.current_release(settings)
    seen["monthly_events"] = _asset_events(settings, "tracepipe_published_release")
    con = duckdb.connect(str(settings.current_link / "marts.duckdb"), read_only=True)
    try:
        seen["listing_months"] = con.execute("select count(*) from licensees_by_month").fetchall()[
            0
        ][0]
    finally:
        con.close()

    # a new export lands: the watch sees it and emits the landed Asset
    (settings.landing_dir / "trace" / "trace_new.csv").write_text(
        (settings.landing_dir / "trace" / "trace_2010_2012.csv").read_text().splitlines()[0] + "\n"
    )
    seen["watch_output"] = _ran(orchestration.run_dag(settings, "landing_watch", capture=True))
    seen["watch_states"] = airflow_task_states(settings, "landing_watch")
    seen["landed_events"] = _asset_events(settings, "tracepipe_landed_exports")
    return seen


@pytest.mark.slow
def test_the_dag_runs_end_to_end_under_airflow_while_an_analyst_reads(story):
    assert story["first_release"] is not None
    assert story["shell_code"] == 0, story["shell_err"]
    assert story["shell_out"].split() == ["recovery_year,n_traced"] + [
        f"{y},{v[0]}" for y, v in sorted(SAMPLE_ORIGIN.items())
    ]
    assert {y: n for y, n in story["reader_rows"]} == {y: v[0] for y, v in SAMPLE_ORIGIN.items()}
    assert story["second_release"] != story["first_release"]
    assert len(story["second_releases"]) == 2
    for output in (story["second_output"], story["monthly_output"], story["export_output"]):
        assert "DOE, JOHN" not in output and "1980-01-02" not in output


@pytest.mark.slow
def test_a_reader_holding_the_warehouse_makes_a_writer_retry_then_succeed(story):
    state, tries = story["second_states"]["ingest"]
    assert state == "success" and tries >= 2, story["second_states"]  # retried, succeeded
    assert "is in use by" in story["second_output"]
    assert story["second_release"] is not None


def _close_after_a_retry(settings, reader, timeout: float = 120.0) -> None:
    """Close ``reader`` once the ingest task of the running trace_pipeline has failed on
    the warehouse it holds and waits for its retry (or after ``timeout``, so a run that
    never retries cannot hang: the test then finds a single try)."""
    import sqlite3
    import time

    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                con = sqlite3.connect(settings.airflow_home / "airflow.db", timeout=1)
                try:
                    waiting = con.execute(
                        "select count(*) from task_instance where dag_id = 'trace_pipeline' "
                        "and task_id = 'ingest' and state = 'up_for_retry'"
                    ).fetchone()[0]
                finally:
                    con.close()
            except sqlite3.Error:
                waiting = 0  # Airflow is writing: ask again
            if waiting:
                return
            time.sleep(0.2)
    finally:
        reader.close()


def _asset_events(settings, name: str) -> list[dict]:
    import json
    import sqlite3

    con = sqlite3.connect(settings.airflow_home / "airflow.db")
    try:
        rows = con.execute(
            "select e.extra, e.source_dag_id from asset_event e join asset a on a.id = e.asset_id "
            "where a.name = ? order by e.id",
            [name],
        ).fetchall()
    finally:
        con.close()
    return [{"extra": json.loads(extra or "{}"), "dag": dag} for extra, dag in rows]


@pytest.mark.slow
def test_every_dag_runs_end_to_end_and_the_assets_carry_the_release(story):
    # dbt is visible in the transform task's log: its slowest nodes, one line each
    slow = re.findall(r"dbt slow: (\w+)\.tracepipe\.\S+: [\d.]+ s", story["second_output"])
    assert slow and set(slow) <= {"model", "seed", "test", "unit_test"}, slow
    (event,) = story["second_events"]
    assert event["extra"]["release_id"] == story["second_release"]
    assert event["dag"] == "trace_pipeline"

    folder = story["export_folder"]
    assert (folder / "README.txt").exists()
    assert (folder / "shared_origin_by_year.csv").read_text().startswith("recovery_year,")

    assert story["monthly_release"] != story["second_release"]
    assert [e["dag"] for e in story["monthly_events"]] == ["trace_pipeline", "licensee_listing"]
    assert story["monthly_events"][-1]["extra"]["release_id"] == story["monthly_release"]
    assert story["listing_months"] == 2

    assert story["watch_states"]["new_exports_landed"][0] == "success"
    assert [e["dag"] for e in story["landed_events"]] == ["landing_watch"]


def test_a_step_refusal_fails_its_task_at_once_and_other_errors_are_left_to_retry():
    from airflow.exceptions import AirflowFailException

    from pipelines.airflow_tasks import _fail_fast
    from pipelines.ingest import LandingError
    from pipelines.steps import ReleaseHeld

    def raising(exc):
        return _fail_fast(lambda: (_ for _ in ()).throw(exc))

    with pytest.raises(AirflowFailException, match="^the landing folder is gone$"):
        raising(LandingError("the landing folder is gone"))()
    with pytest.raises(AirflowFailException, match="^RELEASE HELD: 2 checks failed$"):
        raising(ReleaseHeld("2 checks failed"))()
    with pytest.raises(OSError, match="disk full"):  # may pass on a retry
        raising(OSError("disk full"))()
