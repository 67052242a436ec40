"""A release held under Airflow: the audit task fails with the reasons in its log (the
publish and the report do not run), the release analysts see stays current, and
`tracepipe airflow` learns the outcome from Airflow's task states and the run's
validation report, never from Airflow's log text: it exits 2 with the audit's reasons,
once. Then the file is taken back and the next run publishes (`tracepipe airflow`
publishing is in test_privacy_scan.py)."""

from __future__ import annotations

import json

import pytest
from conftest import airflow_task_states, with_migrated_airflow
from exports import trace_row, write_export

from pipelines import cli, publish

CHECK = "personal data: no value of any mart to be published is a purchaser's name or address"


@pytest.mark.slow
def test_a_release_held_under_airflow_fails_the_audit_task_and_exits_held_with_the_reasons(
    built_copy, migrated_airflow, monkeypatch, capsys
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
    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", "test-key")
    monkeypatch.setenv("AIRFLOW_HOME", str(settings.airflow_home))
    code = cli.main(["airflow"])
    out, err = capsys.readouterr()

    # what the command says
    assert code == cli.EXIT_HELD, out + err
    assert "audit: decision HOLD" in out
    assert "personal data: no value of any mart to be published" in out
    assert err.count("RELEASE HELD:") == 1
    assert f"the previous release ({before}) stays current" in err
    assert "ROE, RICHARD" not in out + err and "DOE, JOHN" not in out + err
    assert "Traceback" not in out + err

    # what Airflow recorded: the held release shows on the audit task, not green
    states = {
        task: state
        for task, (state, _tries) in airflow_task_states(settings, "trace_pipeline").items()
    }
    assert states["audit"] == "failed", states
    assert states["publish"] == "upstream_failed" and states["report"] == "upstream_failed"
    assert states["ingest"] == states["transform"] == "success"
    (log_file,) = (settings.airflow_home / "runs").glob("trace_pipeline-*.log")
    assert str(log_file) in out  # the command names Airflow's log of the run
    log = log_file.read_text(encoding="utf-8")
    assert "release held by the audit of run" in log, log[-4000:]
    assert CHECK in log
    assert "TRACEPIPE ALERT dag=trace_pipeline task=audit" in log  # the failure callback
    assert f"the previous release ({before}) stays current" in log
    assert "ROE, RICHARD" not in log

    # nothing new was published, and the run's report says why without naming anyone
    assert publish.current_release(settings) == before
    assert publish.list_releases(settings) == releases
    (report,) = [
        p
        for p in set(settings.reports_dir.glob("*/validation.json")) - earlier
        if json.loads(p.read_text())["decision"] == "hold"
    ]
    summary = json.loads(report.read_text())
    assert any(CHECK in reason for reason in summary["reasons"])
    assert "DOE, JOHN" not in report.with_suffix(".html").read_text()

    # The file is taken back: the next run (here without Airflow, by the same steps)
    # publishes, and says so.
    (settings.landing_dir / "trace" / "trace_2013.csv").unlink()
    code = cli.main(["retract", "trace_2013.csv", "--reason", "purchaser in the wrong column"])
    assert code == 0
    capsys.readouterr()
    code = cli.main(["run"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "published release " in out and publish.current_release(settings) != before
