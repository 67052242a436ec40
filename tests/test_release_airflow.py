"""Under Airflow, a held release fails the audit task with the reasons in its log (the
publish and the report do not run), and the release analysts see stays current."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import with_migrated_airflow
from exports import trace_row, write_export

from pipelines import orchestration, publish


def task_states(settings, dag_id: str = "trace_pipeline") -> dict[str, str]:
    """The states of the tasks of the DAG's latest run, from Airflow's metadata database."""
    con = sqlite3.connect(settings.airflow_home / "airflow.db")
    try:
        (run_id,) = con.execute(
            "select run_id from dag_run where dag_id = ? order by id desc limit 1", [dag_id]
        ).fetchone()
        return dict(
            con.execute(
                "select task_id, state from task_instance where dag_id = ? and run_id = ?",
                [dag_id, run_id],
            ).fetchall()
        )
    finally:
        con.close()


@pytest.mark.slow
def test_a_held_release_fails_the_audit_task_with_the_reasons_in_its_log(
    built_copy, migrated_airflow
):
    # the sample, built and published (conftest.built), and Airflow's database migrated
    settings = with_migrated_airflow(built_copy, migrated_airflow)
    before = publish.current_release(settings)
    assert before is not None
    releases = publish.list_releases(settings)

    # A provider put a purchaser's name where the manufacturer goes, in an incomplete
    # request: the contract and dbt accept it, and it would reach the published marts.
    write_export(
        settings.landing_dir / "trace" / "trace_2013.csv",
        "trace",
        [
            trace_row(
                trace_number="T2013-0000099",
                recovery_date="2013-05-10",
                request_date="2013-06-01",
                manufacturer="DOE, JOHN Q",
                model="",
                serial_number="SN999999",
                purchaser_name="ROE, RICHARD",
            )
        ],
    )
    earlier = set(settings.reports_dir.glob("*/validation.json"))
    proc = orchestration.run_dag(settings, capture=True)
    log = proc.stdout + proc.stderr

    check = "personal data: no value of any mart to be published is a purchaser's name or address"
    assert proc.returncode != 0
    assert "release held by the audit of run" in log, log[-4000:]
    assert check in log
    states = task_states(settings)
    assert states["audit"] == "failed", states  # held shows on the audit task, not green
    assert states["publish"] == "upstream_failed" and states["report"] == "upstream_failed"
    assert states["ingest"] == states["transform"] == "success"
    assert "TRACEPIPE ALERT dag=trace_pipeline task=audit" in log  # the failure callback
    assert f"the previous release ({before}) stays current" in log
    assert publish.current_release(settings) == before
    assert publish.list_releases(settings) == releases  # nothing new was published

    (report,) = [
        p
        for p in set(settings.reports_dir.glob("*/validation.json")) - earlier
        if json.loads(p.read_text())["decision"] == "hold"
    ]
    summary = json.loads(report.read_text())
    assert any(check in reason for reason in summary["reasons"])
    # Neither the log nor the report names the purchaser.
    assert "ROE, RICHARD" not in log and "DOE, JOHN" not in report.with_suffix(".html").read_text()
