"""The steps together: dbt builds and tests the models, the audit really evaluates, the
published mart holds the expected rows, and releases are atomic."""

from __future__ import annotations

import duckdb
import pytest
from conftest import SAMPLE_ORIGIN

from pipelines import audit, privacy, publish, steps
from pipelines.transform import run_dbt


def published_rows(settings, sql):
    con = duckdb.connect(str(settings.current_link / "marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def warehouse_frame(settings, sql):
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def test_published_origin_mart_holds_the_expected_rows(built):
    got = published_rows(
        built,
        "select recovery_year, n_traced, n_us_manufactured, n_us_imported, n_third_country, "
        "n_undetermined from origin_by_year order by 1",
    )
    assert {r[0]: r[1:] for r in got} == SAMPLE_ORIGIN


def test_repeat_request_is_flagged_and_left_out(built):
    frame = warehouse_frame(
        built,
        "select trace_number, is_duplicate_request from intermediate.int_trace_requests_flagged "
        "where is_duplicate_request",
    )
    assert frame["trace_number"].tolist() == ["T2010-REPEAT"]


def test_parquet_copy_matches_the_duckdb_mart(built):
    parquet = built.current_link / "parquet" / "origin_by_year.parquet"
    con = duckdb.connect()
    try:
        from_parquet = con.execute(f"select * from '{parquet}' order by recovery_year").fetchall()
    finally:
        con.close()
    assert from_parquet == published_rows(
        built, "select * from origin_by_year order by recovery_year"
    )


@pytest.mark.slow
def test_dbt_unit_tests_and_seeds_run_once_for_each_version_of_code_and_seeds(built_copy, tmp_path):
    """The session's first build ran the unit tests and loaded the seeds, and recorded it
    (the unit tests in dbt's target folder, the seeds in the warehouse they were loaded
    into); a build of the same code leaves both out, and a build of other code runs the
    unit tests again, as one of other seeds, or of a warehouse that lost a reference
    table, loads every seed again."""
    import json
    import shutil

    import duckdb

    from pipelines import transform
    from pipelines.config import Settings
    from pipelines.warehouse import connect

    def ran(result, kind: str) -> list[str]:
        return sorted(node for node, _, _ in result.timings if node.startswith(f"{kind}."))

    state_file = built_copy.dbt_target_dir / transform.UNIT_TESTS_FILE
    state = json.loads(state_file.read_text())
    assert state["code_checksum"] == transform.code_checksum(built_copy)
    assert len(state["unit_tests"]) >= 10, state
    assert all(name.startswith("unit_test.tracepipe.") for name in state["unit_tests"])
    every_seed = sorted(
        f"seed.tracepipe.{p.stem}" for p in (built_copy.dbt_project_dir / "seeds").glob("*.csv")
    )
    assert len(every_seed) >= 10

    again = transform.transform(built_copy)
    assert again.success
    assert ran(again, "unit_test") == ran(again, "seed") == []

    state_file.write_text(json.dumps({**state, "code_checksum": "other code"}))
    con = duckdb.connect(str(built_copy.warehouse_path))
    try:
        con.execute(f"update {transform.SEEDS_TABLE} set checksum = 'other seeds'")
    finally:
        con.close()
    changed = transform.transform(built_copy)
    assert ran(changed, "unit_test") == state["unit_tests"]
    assert ran(changed, "seed") == every_seed
    assert json.loads(state_file.read_text())["code_checksum"] == state["code_checksum"]

    def seeds_loaded() -> str | None:
        with connect(built_copy) as con:
            return transform.seeds_loaded(built_copy, con, transform.seeds_checksum(built_copy))

    assert seeds_loaded()  # recorded again by that build
    with connect(built_copy) as con:
        con.execute("drop table reference.countries")
    assert seeds_loaded() is None  # so the next build loads them all

    # the seeds' checksum is of their contents (and the project file's column types)
    project = tmp_path / "project"
    shutil.copytree(built_copy.dbt_project_dir, project, ignore=shutil.ignore_patterns("target"))
    copied = Settings.from_env({"TRACEPIPE_DBT_PROJECT_DIR": str(project)})
    assert transform.seeds_checksum(copied) == transform.seeds_checksum(built_copy)
    with (project / "seeds" / "countries.csv").open("a", encoding="utf-8") as handle:
        handle.write("QQ,Atlantis\n")
    assert transform.seeds_checksum(copied) != transform.seeds_checksum(built_copy)


def test_dbt_in_this_process_leaves_the_process_and_the_warehouse_as_they_were(
    built_copy, monkeypatch
):
    """dbt builds in the pipeline's process: after the build its DuckDB connection is
    closed (another process can write the warehouse), the working folder and environment
    are as before, and the purchaser key was never put in the environment."""
    import os
    import subprocess
    import sys

    from pipelines import dbt_plugin, transform

    monkeypatch.delenv("TRACEPIPE_PII_KEY", raising=False)
    monkeypatch.delenv("TRACEPIPE_WAREHOUSE", raising=False)
    assert built_copy.pii_key
    seen_env: list[dict] = []
    real_configure = dbt_plugin.Plugin.configure_connection

    def configure(self, conn):
        seen_env.append(dict(os.environ))
        real_configure(self, conn)

    monkeypatch.setattr(dbt_plugin.Plugin, "configure_connection", configure)
    cwd, env = os.getcwd(), dict(os.environ)
    result = transform.transform(built_copy)
    assert result.success and seen_env
    assert all(built_copy.pii_key not in e.values() for e in seen_env)
    assert os.getcwd() == cwd and dict(os.environ) == env
    assert dbt_plugin.settings_for_build is None
    write = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute('create table opened_after_dbt as select 1 as x'); con.close()"
    )
    other = subprocess.run(
        [sys.executable, "-c", write, str(built_copy.warehouse_path)],
        capture_output=True,
        text=True,
    )
    assert other.returncode == 0, other.stderr


@pytest.mark.slow
def test_dbt_unit_test_fails_when_the_rule_is_broken(built_copy, tmp_path):
    """The unit tests can fail: run them against a copy of the project with a broken rule."""
    import shutil

    from pipelines.config import Settings

    project = tmp_path / "dbt_project"
    shutil.copytree(built_copy.dbt_project_dir, project)
    model = project / "models" / "intermediate" / "int_trace_requests_flagged.sql"
    # The rule reads the removal words from the seed serial_words: match none of them.
    text = model.read_text()
    broken_text = text.replace("where meaning = 'removal'", "where meaning = 'no such meaning'")
    assert broken_text != text, "the removal rule is no longer written as this test expects"
    model.write_text(broken_text)
    broken = Settings(**{**built_copy.__dict__, "dbt_project_dir": project})
    result = run_dbt(broken, "test", "--select", "test_type:unit")
    assert not result.success
    assert any("altered_serial_forms_are_flagged" in f for f in result.failures)


def test_every_expectation_really_evaluates(built):
    result = audit.audit(built, run_id="evaluated")
    assert result.checks
    for check in result.checks:
        assert check.evaluated, (check.check, check.error)
        assert check.unexpected_count is not None or check.observed_value is not None
    assert result.decision == "publish"


def test_a_known_bad_row_is_caught_and_holds_the_release(built):
    frame = warehouse_frame(built, "select * from intermediate.int_trace_requests_flagged")
    bad = frame.index[frame["trace_number"] == "T2010-0000001"][0]
    frame.loc[bad, "serial_number_key"] = "LIMADO"  # altered, but not flagged
    frame.loc[bad, "has_altered_serial"] = False
    missing = frame.index[frame["trace_number"] == "T2010-0000002"][0]
    frame.loc[missing, "model"] = None  # incomplete, but not flagged
    frame.loc[missing, "is_incomplete_request"] = False

    result = audit.audit(built, run_id="known-bad", frames={"trace_requests": frame})

    assert result.decision == "hold"
    failed = {c.check: c for c in result.blocking}
    altered = failed["every altered serial is flagged has_altered_serial"]
    assert altered.unexpected_count == 1
    assert any("T2010-0000001" in e for e in altered.examples)
    assert "every request without a model is flagged is_incomplete_request" in failed
    assert "DOE" not in (built.reports_dir / "known-bad" / "validation.html").read_text()


def test_the_validation_report_is_written_as_json_and_html(built):
    result = audit.audit(built, run_id="report-files")
    summary = audit.read_summary(built.reports_dir / "report-files" / "validation.json")
    assert summary["decision"] == result.decision == "publish"
    assert summary["n_checks"] == len(result.checks)
    page = (built.reports_dir / "report-files" / "validation.html").read_text()
    assert "Decision: PUBLISH" in page and "<style>" in page and "http" not in page


def test_a_held_release_leaves_the_current_one_in_place(built_copy):
    before = publish.current_release(built_copy)
    held = {
        "decision": "hold",
        "reasons": ["trace_requests: something"],
        "report_html": "r.html",
        "report_json": "r.json",
    }
    with pytest.raises(steps.ReleaseHeld, match="something"):
        steps.publish(built_copy, "held-run", held)
    assert publish.current_release(built_copy) == before
    assert publish.list_releases(built_copy) == [before]


def test_publish_swaps_the_release_and_rollback_returns_to_the_previous(built_copy):
    first = publish.current_release(built_copy)
    summary = {
        "decision": "publish",
        "reasons": [],
        "report_html": "r.html",
        "report_json": "r.json",
    }
    second = steps.publish(built_copy, "zz-second", summary)["release_id"]
    assert publish.current_release(built_copy) == second
    assert publish.list_releases(built_copy) == [first, second]

    assert publish.rollback(built_copy) == first
    assert publish.current_release(built_copy) == first
    rows = published_rows(built_copy, "select count(*) from origin_by_year")
    assert rows == [(len(SAMPLE_ORIGIN),)]


def test_old_releases_are_pruned_to_the_setting(built_copy):
    from pipelines.config import Settings

    keep2 = Settings(**{**built_copy.__dict__, "keep_releases": 2})
    summary = {
        "decision": "publish",
        "reasons": [],
        "report_html": "r.html",
        "report_json": "r.json",
    }
    for n in range(3):
        steps.publish(keep2, f"zz-{n}", summary)
    assert publish.list_releases(keep2) == ["zz-1", "zz-2"]
    assert publish.current_release(keep2) == "zz-2"


def test_manifest_records_inputs_counts_validation_and_code_version(built):
    import json

    manifest = json.loads((built.current_link / "manifest.json").read_text())
    assert manifest["validation"] == "publish"
    assert manifest["marts"]["origin_by_year"] == len(SAMPLE_ORIGIN)
    assert {i["file_name"] for i in manifest["inputs"]} == {
        "trace_2010_2012.csv",
        "trace_repeat.csv",
    }
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert manifest["rows_by_kind"]["trace"] == {
        "read": 16,
        "loaded": 16,
        "new": 16,
        "changed": 0,
        "unchanged": 0,
        "quarantined": 0,
    }
    assert manifest["code_version"]
    assert len(manifest["inputs_fingerprint"]) == 64


def test_no_personal_data_column_reaches_a_published_mart(built):
    con = duckdb.connect(str(built.current_link / "marts.duckdb"), read_only=True)
    try:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() "
                "where not internal and not list_contains(?, table_name)",
                [sorted(publish.RELEASE_OWN_TABLES)],
            ).fetchall()
        ]
        values = con.execute("select * from origin_by_year").fetchall()
    finally:
        con.close()
    assert "n_traced" in columns
    assert not {c for c in columns if privacy.is_personal_data_column(c)}
    assert "DOE, JOHN Q" not in str(values)
