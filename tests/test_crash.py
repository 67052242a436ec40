"""A run killed (SIGKILL, its whole process group) during the
ingest, the dbt build or the audit: the release analysts see stays whole and as it was,
the rerun completes, and nothing is loaded twice. (Kills during the publish, at every
phase and at random, are in test_release_atomic.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import copy_data
from exports import trace_row, write_export

from pipelines import cli, publish

pytestmark = pytest.mark.slow


def land_new_exports(settings) -> int:
    """Five new trace files of twenty requests each."""
    n = 0
    for f in range(5):
        rows = []
        for _ in range(20):
            n += 1
            rows.append(
                trace_row(
                    trace_number=f"T2013-K{n:05d}",
                    serial_number=f"KILL{n:05d}",
                    recovery_date="2013-05-10",
                    request_date="2013-06-01",
                    purchase_date="2011-01-15",
                )
            )
        write_export(settings.landing_dir / "trace" / f"trace_new_{f}.csv", "trace", rows)
    return n


def run_command(settings, *args: str, kill_after: str | None = None, delay: float = 0.0):
    """``tracepipe run`` in its own process group; with ``kill_after``, the group is
    killed ``delay`` seconds after that text first appears in its log."""
    env = {
        **os.environ,
        "TRACEPIPE_DATA_DIR": str(settings.data_dir),
        "TRACEPIPE_PII_KEY": "test-key",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    killed = threading.Event()

    def watch() -> None:
        for line in proc.stdout:
            seen.append(line)
            if kill_after and not killed.is_set() and kill_after in line:
                time.sleep(delay)
                killed.set()
                os.killpg(proc.pid, signal.SIGKILL)

    reader = threading.Thread(target=watch)
    reader.start()
    proc.wait(timeout=600)
    reader.join(timeout=60)
    return proc.returncode, "".join(seen), killed.is_set()


def ledger_is_whole(settings) -> None:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        twice = con.execute(
            "select sha256, count(*) from meta.load_ledger where status = 'loaded' "
            "group by 1 having count(*) > 1"
        ).fetchall()
        assert twice == [], "a file was loaded twice"
        mismatched = con.execute(
            """select l.file_name, l.rows_loaded, count(r._load_id)
               from meta.load_ledger l left join raw.trace r on r._load_id = l.load_id
               where l.status = 'loaded' and l.kind = 'trace'
               group by all having l.rows_loaded <> count(r._load_id)"""
        ).fetchall()
        assert mismatched == [], mismatched
    finally:
        con.close()


@pytest.mark.parametrize(
    "stage, marker, delay",
    [
        ("ingest", "loaded trace/trace_new_0.csv", 0.0),
        ("dbt build", "dbt 20/", 0.0),  # the 20th of its nodes done
        ("audit", "dbt build: ", 2.0),
    ],
)
def test_a_run_killed_during_a_stage_leaves_the_release_whole_and_the_rerun_completes(
    built, tmp_path, monkeypatch, capsys, stage, marker, delay
):
    # a copy of the session's sample, built and published (conftest.built)
    s = copy_data(built.data_dir, tmp_path / "data")
    before = publish.current_release(s)
    n_new = land_new_exports(s)

    code, output, killed = run_command(s, kill_after=marker, delay=delay)
    assert killed, f"the run ended before the {stage} began:\n{output[-3000:]}"
    assert code == -signal.SIGKILL
    assert publish.current_release(s) == before  # the release analysts see is as it was
    assert publish.status(s)["whole"] is True
    ledger_is_whole(s)

    # the rerun, by the same command in this process (its dbt already warm)
    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", "test-key")
    code = cli.main(["run"])
    output = "".join(capsys.readouterr())
    assert code == 0, output[-3000:]
    assert "Traceback" not in output
    ledger_is_whole(s)
    after = publish.current_release(s)
    assert after != before and publish.status(s)["whole"] is True
    con = duckdb.connect(str(Path(s.current_link) / "marts.duckdb"), read_only=True)
    try:
        n_2013 = con.execute(
            "select n_traced from origin_by_year where recovery_year = 2013"
        ).fetchall()
    finally:
        con.close()
    assert n_2013 == [(n_new,)]
