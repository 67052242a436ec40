"""`tracepipe airflow` learns a run's outcome from Airflow's task states and the run's
validation report, never from Airflow's log text: a held release exits 2 with the
audit's reasons, once."""

from __future__ import annotations

import pytest
from conftest import with_migrated_airflow
from exports import trace_row, write_export

from pipelines import cli, publish


@pytest.mark.slow
def test_a_release_held_under_airflow_exits_held_with_the_reasons(
    built_copy, migrated_airflow, monkeypatch, capsys
):
    # the sample, built and published (conftest.built), and Airflow's database migrated
    settings = with_migrated_airflow(built_copy, migrated_airflow)
    before = publish.current_release(settings)
    # A purchaser's name where the manufacturer goes: the audit's personal-data check holds it.
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
    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", "test-key")
    monkeypatch.setenv("AIRFLOW_HOME", str(settings.airflow_home))
    code = cli.main(["airflow"])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_HELD, out + err
    assert "audit: decision HOLD" in out
    assert "personal data: no value of any mart to be published" in out
    assert err.count("RELEASE HELD:") == 1
    assert f"the previous release ({before}) stays current" in err
    assert publish.current_release(settings) == before
    assert "ROE, RICHARD" not in out + err and "DOE, JOHN" not in out + err
    assert "Traceback" not in out + err

    # Nothing new landed, so the next run changes nothing, and says so.
    (settings.landing_dir / "trace" / "trace_2013.csv").unlink()
    code = cli.main(["retract", "trace_2013.csv", "--reason", "purchaser in the wrong column"])
    assert code == 0
    capsys.readouterr()
    code = cli.main(["airflow"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "published release " in out and publish.current_release(settings) != before
