"""Airflow runs the DAGs: every DAG file imports, and the trace pipeline runs end to end
in-process on a SQLite metadata database, while an analyst reads the published marts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_ORIGIN, land_sample

from pipelines import orchestration, publish
from pipelines.config import PROJECT_ROOT


def test_every_dag_file_imports_without_error(settings):
    """DagBag in a child process, with the project's Airflow settings."""
    code = textwrap.dedent(
        f"""
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(PROJECT_ROOT / "dags")!r})
        assert not bag.import_errors, bag.import_errors
        assert "trace_pipeline" in bag.dags, list(bag.dags)
        dag = bag.dags["trace_pipeline"]
        print(sorted(t.task_id for t in dag.tasks))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=orchestration.airflow_env(settings),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "['audit', 'ingest', 'plan', 'publish', 'report', 'transform']" in proc.stdout


@pytest.mark.slow
def test_the_dag_runs_end_to_end_under_airflow_while_an_analyst_reads(settings):
    land_sample(settings)
    first = orchestration.run_dag(settings, capture=True)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    release = publish.current_release(settings)
    assert release is not None

    # Analysts hold the published file open while the pipeline runs again: one in
    # Python, one in the duckdb shell (the duckdb-cli package, pinned to the same version).
    database = settings.current_link / "marts.duckdb"
    reader = duckdb.connect(str(database), read_only=True)
    shell = subprocess.Popen(
        [str(Path(sys.executable).with_name("duckdb")), "-readonly", "-csv", str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (settings.landing_dir / "trace" / "extra.csv").write_text(
            (settings.landing_dir / "trace" / "trace_2010_2012.csv").read_text().splitlines()[0]
            + "\n"
        )
        second = orchestration.run_dag(settings, capture=True)
        assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
        rows = reader.execute(
            "select recovery_year, n_traced from origin_by_year order by 1"
        ).fetchall()
        shell_out, shell_err = shell.communicate(
            "select recovery_year, n_traced from origin_by_year order by 1;\n", timeout=60
        )
    finally:
        reader.close()
        if shell.poll() is None:
            shell.kill()
    assert shell.returncode == 0, shell_err
    assert shell_out.split() == ["recovery_year,n_traced"] + [
        f"{y},{v[0]}" for y, v in sorted(SAMPLE_ORIGIN.items())
    ]
    assert {y: n for y, n in rows} == {y: v[0] for y, v in SAMPLE_ORIGIN.items()}
    assert publish.current_release(settings) != release
    assert len(publish.list_releases(settings)) == 2
    output = second.stdout + second.stderr
    assert "DOE, JOHN" not in output and "1980-01-02" not in output


def _states(settings, dag_id: str) -> dict[str, tuple[str, int]]:
    import sqlite3

    con = sqlite3.connect(settings.airflow_home / "airflow.db")
    try:
        (run_id,) = con.execute(
            "select run_id from dag_run where dag_id = ? order by id desc limit 1", [dag_id]
        ).fetchone()
        return {
            task: (state, tries)
            for task, state, tries in con.execute(
                "select task_id, state, try_number from task_instance "
                "where dag_id = ? and run_id = ?",
                [dag_id, run_id],
            ).fetchall()
        }
    finally:
        con.close()


@pytest.mark.slow
def test_a_reader_holding_the_warehouse_makes_a_writer_retry_then_succeed(settings, monkeypatch):
    import threading
    import time

    land_sample(settings)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(settings.warehouse_path)).close()
    monkeypatch.setenv("TRACEPIPE_LOCK_WAIT_SECONDS", "1")
    monkeypatch.setenv("TRACEPIPE_RETRY_DELAY", "3")
    reader = duckdb.connect(str(settings.warehouse_path), read_only=True)
    threading.Timer(25.0, reader.close).start()  # an analyst who opened the working file
    started = time.monotonic()
    proc = orchestration.run_dag(settings, capture=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    states = _states(settings, "trace_pipeline")
    state, tries = states["ingest"]
    assert state == "success" and tries >= 2, states  # retried, then succeeded
    assert "is in use by" in log and time.monotonic() - started > 25
    assert publish.current_release(settings) is not None
