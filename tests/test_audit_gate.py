"""The expectations gate: a blocking defect publishes nothing and says which check failed
(command output, report, JSON); warnings are reported and do not block; a check that
cannot be evaluated blocks; suites apply to what was loaded and built.

Real Great Expectations and DuckDB throughout. Defects are put into a private copy of
the built sample (``built_copy``), or into a data frame handed to the audit.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import audit, cli, publish, steps
from pipelines.config import Settings


def execute(settings: Settings, *sql: str) -> None:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        for statement in sql:
            con.execute(statement)
    finally:
        con.close()


def warehouse_frame(settings: Settings, sql: str):
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def with_suites(settings: Settings, folder: Path, *suites: dict | str) -> Settings:
    """Settings whose expectations are the given suites (dicts, or names of the
    project's own suite files)."""
    (folder / "suites").mkdir(parents=True, exist_ok=True)
    for suite in suites:
        if isinstance(suite, str):
            shutil.copy(settings.expectations_dir / "suites" / f"{suite}.json", folder / "suites")
        else:
            (folder / "suites" / f"{suite['name']}.json").write_text(json.dumps(suite))
    return Settings(**{**settings.__dict__, "expectations_dir": folder})


def by_check(result: audit.AuditResult) -> dict[str, audit.CheckResult]:
    return {c.check: c for c in result.checks}


def expectation(type_: str, severity: str, check: str, batch: str | None = None, **kwargs):
    meta = {"severity": severity, "check": check}
    if batch:
        meta["batch"] = batch
    return {"type": type_, "kwargs": kwargs, "meta": meta}


# --- the end-to-end gate ----------------------------------------------------------------


def test_a_blocking_defect_publishes_nothing_and_the_command_says_which_check(
    built_copy, monkeypatch, capsys
):
    before = publish.current_release(built_copy)
    releases_before = publish.list_releases(built_copy)
    # A row the ledger counts as loaded goes missing from raw.trace.
    execute(built_copy, "delete from raw.trace where trace_number = 'T2011-0000010'")
    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(built_copy.data_dir))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", "test-key")

    assert cli.main(["audit", "--run-id", "defect"]) == cli.EXIT_HELD
    out = capsys.readouterr().out
    assert "audit: decision HOLD" in out
    ledger_check = "every row the ledger counts as loaded is in raw.trace"
    lineage_check = "every request in the model comes from a raw row (load, file row)"
    assert re.search(
        rf"blocking: trace_requests: reconciliation: {ledger_check} \(1 of 2 rows\)", out
    )
    assert f"blocking: trace_requests: lineage: {lineage_check}" in out

    assert cli.main(["publish", "--run-id", "defect"]) == cli.EXIT_HELD
    err = capsys.readouterr().err
    assert "RELEASE HELD" in err and ledger_check in err and f"({before})" in err
    assert publish.current_release(built_copy) == before
    assert publish.list_releases(built_copy) == releases_before

    summary = json.loads((built_copy.reports_dir / "defect" / "validation.json").read_text())
    assert summary["decision"] == "hold"
    failed = {c["check"]: c for c in summary["checks"] if c["status"] != "pass"}
    assert failed[f"reconciliation: {ledger_check}"]["examples"] == [
        "trace_2010_2012.csv: rows_loaded=15, n_raw=14"
    ]
    assert any("T2011-0000010" in e for e in failed[f"lineage: {lineage_check}"]["examples"])
    page = (built_copy.reports_dir / "defect" / "validation.html").read_text()
    assert "Decision: HOLD" in page and "Why the release is held" in page
    assert ledger_check in page and "rows_loaded=15, n_raw=14" in page
    assert "trace_2010_2012.csv" in page
    assert f"({before}) stays current" in page


def test_the_real_suites_catch_each_kind_of_defect_in_one_audit(built_copy):
    frame = warehouse_frame(built_copy, "select * from intermediate.int_trace_requests_flagged")

    def row(trace_number: str):
        return frame.index[frame["trace_number"] == trace_number][0]

    frame.loc[row("T2010-0000003"), "trace_result"] = "BOGUS_RESULT"  # domain
    frame.loc[row("T2010-0000006"), "recovery_state_code"] = None  # state not mapped
    frame.loc[row("T2010-0000004"), "request_date"] = pd.Timestamp("2010-01-01")  # too early
    frame.loc[row("T2011-0000009"), "recovery_date"] = pd.Timestamp("2099-01-01")  # future
    frame.loc[row("T2010-0000005"), "importer"] = None  # foreign-made, importer gone,
    frame.loc[row("T2010-0000005"), "is_incomplete_request"] = False  # but not flagged
    # The repeat request is no longer flagged: two requests kept for one firearm.
    execute(
        built_copy,
        "update intermediate.int_trace_requests_flagged set is_duplicate_request = false "
        "where trace_number = 'T2010-REPEAT'",
        # A mart total that no longer adds up, and no longer matches its inputs.
        "update marts.origin_by_year set n_traced = n_traced + 5 where recovery_year = 2010",
        # A purchaser's name in a published column.
        "create table marts.test_contacts as select 'Doe, John Q ' as contact",
    )

    result = audit.audit(built_copy, run_id="defects", frames={"trace_requests": frame})

    assert result.decision == "hold"
    blocking = {c.check: c for c in result.blocking}
    expected = {
        "trace results are known result codes (reference.trace_results)": "T2010-0000003",
        "every Mexican recovery state (a name in any case, with or without accents, or an INEGI "
        "code) maps to a state": "T2010-0000006",
        "a firearm is recovered before its trace is requested": "T2010-0000004",
        "recovery dates in range: none in the future": None,
        "every foreign-made firearm without an importer (and imported to the US) is flagged "
        "is_incomplete_request": "T2010-0000005",
        "repeat requests: exactly one request is kept per recovered firearm, the others are "
        "flagged is_duplicate_request": "T2010-REPEAT",
        "origin_by_year: US-sourced + third-country + undetermined = traced": "2010",
        "lineage: origin_by_year counts every kept request recovered in Mexico, year by year": (
            "2010"
        ),
        "personal data: no value of any mart to be published is a purchaser's name or address": (
            "test_contacts.contact"
        ),
    }
    for check, example in expected.items():
        assert check in blocking, (check, sorted(blocking))
        assert blocking[check].evaluated
        if example:
            assert any(example in e for e in blocking[check].examples), blocking[check].examples
    assert blocking["recovery dates in range: none in the future"].observed_value.startswith(
        "2099-01-01"
    )
    page = Path(result.report_html).read_text()
    assert "DOE" not in page and "JOHN" not in page
    assert "DOE" not in Path(result.report_json).read_text()


# --- severities, evaluation, what applies -------------------------------------------------


def test_warnings_report_errors_block_and_unevaluated_checks_block(built_copy, tmp_path):
    requests = {
        "relation": "intermediate.int_trace_requests_flagged",
        "columns": ["trace_number", "manufacturer", "model", "is_incomplete_request"],
        "index": ["trace_number"],
    }
    passing = {
        "name": "passing",
        "meta": {"batch": requests},
        "expectations": [
            expectation(
                "expect_column_values_to_not_be_null",
                "error",
                "trace numbers present",
                column="trace_number",
            ),
            expectation(
                "expect_column_values_to_not_be_null",
                "warning",
                "every request names a manufacturer (warning only)",
                column="manufacturer",
            ),
        ],
    }
    settings = with_suites(built_copy, tmp_path / "warn", passing)
    result = audit.audit(settings, run_id="warn-only")
    assert result.decision == "publish"
    (warning,) = result.warnings
    assert warning.check == "every request names a manufacturer (warning only)"
    assert warning.unexpected_count == 1 and warning.examples == ["T2010-0000008: None"]
    assert result.to_dict()["warnings"] == [warning.describe()]

    failing = {
        "name": "failing",
        "meta": {
            "batch": requests,
            "batches": {
                "missing_model": {"relation": "intermediate.int_not_built", "columns": ["x"]},
                "optional_model": {
                    "relation": "intermediate.int_not_built_yet",
                    "columns": ["x"],
                    "optional": True,
                },
            },
        },
        "expectations": [
            expectation(
                "expect_column_values_to_not_be_null",
                "error",
                "a column that is not there",
                column="no_such_column",
            ),
            expectation(
                "expect_column_mean_to_be_between",
                "error",
                "a metric that cannot be computed (mean of text)",
                column="manufacturer",
                min_value=0,
                max_value=1,
            ),
            expectation(
                "expect_column_values_to_not_be_null",
                "error",
                "a required model that is not built",
                batch="missing_model",
                column="x",
            ),
            expectation(
                "expect_column_values_to_not_be_null",
                "error",
                "an optional model that is not built yet",
                batch="optional_model",
                column="x",
            ),
        ],
    }
    settings = with_suites(built_copy, tmp_path / "fail", passing, failing)
    result = audit.audit(settings, run_id="not-evaluated")
    assert result.decision == "hold"
    checks = by_check(result)
    for name in (
        "a column that is not there",
        "a metric that cannot be computed (mean of text)",
        "a required model that is not built",
    ):
        assert not checks[name].evaluated and checks[name].blocks, name
    assert "no_such_column" in checks["a column that is not there"].error
    assert "int_not_built" in checks["a required model that is not built"].error
    assert "an optional model that is not built yet" not in checks
    (skipped,) = result.skipped
    assert (skipped.suite, skipped.batch, skipped.level) == ("failing", "optional_model", "warning")
    assert "int_not_built_yet does not exist" in skipped.reason
    assert any("int_not_built_yet" in w for w in result.warning_lines())
    page = Path(result.report_html).read_text()
    assert page.count("NOT EVALUATED") == 3 and "Skipped" in page


def test_source_suites_apply_only_to_the_kinds_that_were_loaded(built_copy):
    # The sample loads trace exports only.
    result = audit.audit(built_copy, run_id="kinds")
    assert result.decision == "publish"
    skipped = {(s.suite, s.batch): s for s in result.skipped}
    for suite in ("seizures", "licensees", "multiple_sales"):
        assert any(s == suite for s, _ in skipped), suite
        assert all(s.level == "info" for (name, _), s in skipped.items() if name == suite)
        assert not any(c.suite == suite for c in result.checks)
    # The dealer check needs a licensee listing: reported as not applicable, not failed.
    dealers = skipped[("trace_requests", "dealers")]
    assert dealers.level == "info" and "licensees" in dealers.reason
    assert {c.suite for c in result.checks} == {"trace_requests", "marts"}


def test_a_malformed_suite_or_a_frame_with_personal_data_is_refused(built_copy, tmp_path):
    no_severity = {
        "name": "no_severity",
        "meta": {"batch": {"relation": "raw.trace", "columns": ["trace_number"]}},
        "expectations": [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "trace_number"},
                "meta": {"check": "trace numbers present"},
            }
        ],
    }
    settings = with_suites(built_copy, tmp_path / "a", no_severity)
    with pytest.raises(audit.SuiteError, match=r"no_severity\.json.*meta\.severity"):
        audit.audit(settings, run_id="malformed")

    reads_names = {
        "name": "reads_names",
        "meta": {"batch": {"relation": "raw.trace", "columns": ["trace_number", "purchaser_name"]}},
        "expectations": [
            expectation(
                "expect_column_values_to_not_be_null", "error", "names", column="purchaser_name"
            )
        ],
    }
    settings = with_suites(built_copy, tmp_path / "b", reads_names)
    with pytest.raises(audit.SuiteError, match="personal data"):
        audit.audit(settings, run_id="pii-suite")

    frame = warehouse_frame(built_copy, "select trace_number, purchaser_name from raw.trace")
    settings = with_suites(built_copy, tmp_path / "c", "trace_requests")
    with pytest.raises(audit.SuiteError, match="purchaser_name"):
        audit.audit(settings, run_id="pii-frame", frames={"trace_requests": frame})


# --- volume against the current release ---------------------------------------------------


def test_volume_change_against_the_current_release_warns_and_a_drop_to_zero_blocks(
    built_copy, tmp_path
):
    settings = with_suites(built_copy, tmp_path / "suites", "marts")
    execute(settings, "create table marts.test_volume as select range as i from range(10)")
    first = publish.publish(settings, "zz-volume-1", "publish", {"run_id": "zz-volume-1"})
    assert first.marts["test_volume"] == 10

    execute(settings, "insert into marts.test_volume select range from range(20)")
    grown = audit.audit(settings, run_id="grown")
    assert grown.decision == "publish" and grown.previous_release == "zz-volume-1"
    within_bounds = "volume: rows of every mart and source within 50 percent of the current release"
    warning = by_check(grown)[within_bounds]
    assert warning.warns and not warning.blocks
    assert warning.examples == ["mart test_volume: 30 rows (the current release has 10): 3.0"]

    execute(settings, "delete from marts.test_volume")
    emptied = audit.audit(settings, run_id="emptied")
    assert emptied.decision == "hold"
    blocking = by_check(emptied)[
        "volume: no mart or source that had rows in the current release dropped to zero"
    ]
    assert blocking.blocks and blocking.examples == [
        "mart test_volume: 0 rows (the current release has 10): True"
    ]

    # The first release has nothing to compare with: no volume check fails.
    execute(settings, "insert into marts.test_volume select range from range(10)")
    settings.current_link.unlink()
    first_release = audit.audit(settings, run_id="first")
    assert first_release.previous_release is None
    assert by_check(first_release)[within_bounds].success
    assert by_check(first_release)[within_bounds].evaluated
    assert "none (first release)" in Path(first_release.report_html).read_text()


def test_a_personal_data_column_in_a_mart_blocks(built_copy, tmp_path):
    settings = with_suites(built_copy, tmp_path / "suites", "marts")
    execute(settings, "alter table marts.origin_by_year add column purchaser_dob date")
    result = audit.audit(settings, run_id="pii-column")
    assert result.decision == "hold"
    check = by_check(result)[
        "personal data: no mart to be published has a purchaser name, birth date, address or "
        "ID column"
    ]
    assert check.blocks and check.examples == ["origin_by_year.purchaser_dob: True"]


# --- the report ---------------------------------------------------------------------------


def test_the_report_page_is_self_contained_and_no_data_docs_are_written(built_copy):
    result = audit.audit(built_copy, run_id="page")
    folder = built_copy.reports_dir / "page"
    page = (folder / "validation.html").read_text()
    # Opens fully styled with no network: inline style and script, nothing fetched.
    assert "<style>" in page
    assert not re.search(r"https?://|<link\b|<script\b[^>]*\bsrc=|@import|url\(", page)
    # GX Data Docs (which need the network to open) are no longer written or linked.
    assert not (folder / "data_docs").exists() and "data_docs" not in page
    assert result.data_docs == ""
    # What was checked, how many rows, the decision.
    assert "Decision: PUBLISH" in page and "What was checked" in page
    summary = json.loads((folder / "validation.json").read_text())
    assert summary["decision"] == "publish" == result.decision
    assert summary["n_checks"] == len(result.checks) == len(summary["checks"])
    assert summary["rows_checked"]["trace_requests"] == 16
    assert summary["data_docs"] == ""
    assert {c["status"] for c in summary["checks"]} <= {"pass", "fail", "not_evaluated"}
    assert "DOE, JOHN" not in page and "1 MAIN ST" not in page


def test_steps_pass_the_audited_mart_counts_to_publish(built_copy):
    summary = steps.audit(built_copy, "counts")
    assert summary["mart_rows"]["origin_by_year"] == 3
    execute(built_copy, "delete from marts.origin_by_year where recovery_year = 2012")
    with pytest.raises(publish.PublishRefused, match="changed after run counts was audited"):
        steps.publish(built_copy, "counts", summary)


# --- a way out of a held release: the files and rows behind a failure --------------------


def test_a_bad_row_in_a_landed_file_names_the_file_the_rows_and_how_to_take_it_back(
    built_copy, monkeypatch, capsys
):
    from exports import trace_row, write_export

    # A new export whose rows 2 and 4 name a Mexican state that does not exist: it passes
    # the file's contract, so it is loaded, and the audit holds the release.
    rows = [
        trace_row(
            trace_number=f"T2013-{n:07d}",
            serial_number=f"BAD{n:04d}",
            recovery_date="2013-05-10",
            request_date="2013-06-01",
            recovery_state="ATLANTIS" if n in (2, 4) else "Sonora",
        )
        for n in range(1, 6)
    ]
    write_export(built_copy.landing_dir / "trace" / "trace_2013_bad.csv", "trace", rows)
    steps.ingest(built_copy)
    steps.transform(built_copy)
    (load_id,) = warehouse_frame(
        built_copy, "select load_id from meta.load_ledger where file_name = 'trace_2013_bad.csv'"
    )["load_id"]
    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(built_copy.data_dir))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", "test-key")

    assert cli.main(["audit", "--run-id", "bad-file"]) == cli.EXIT_HELD
    capsys.readouterr()
    summary = json.loads((built_copy.reports_dir / "bad-file" / "validation.json").read_text())
    assert summary["decision"] == "hold"
    retract = 'tracepipe retract trace_2013_bad.csv --reason "..."'
    assert summary["remedies"] == [
        f"trace/trace_2013_bad.csv (load {load_id}): rows 2, 4 fail 1 blocking check; "
        f"take the file back with: {retract}  (or land a corrected copy of the file)"
    ]
    state_check = (
        "every Mexican recovery state (a name in any case, with or without accents, or an "
        "INEGI code) maps to a state"
    )
    (check,) = [c for c in summary["checks"] if c["status"] != "pass" and c["severity"] == "error"]
    assert check["check"] == state_check
    assert check["sources"] == [
        {
            "kind": "trace",
            "file_name": "trace_2013_bad.csv",
            "load_id": load_id,
            "rows": [2, 4],
            "n_unexpected": 2,
        }
    ]
    assert sorted(check["examples"]) == [
        "T2013-0000002 (trace_2013_bad.csv row 2): recovery_state_code=None",
        "T2013-0000004 (trace_2013_bad.csv row 4): recovery_state_code=None",
    ]

    page = (built_copy.reports_dir / "bad-file" / "validation.html").read_text()
    section = page.index("How to unblock this release")
    assert section < page.index("Why the release is held") < page.index("<h2>Checks</h2>")
    unblock = page[section : page.index("Why the release is held")]
    assert "trace/trace_2013_bad.csv" in unblock and f"load {load_id}" in unblock
    assert state_check in unblock and "rows 2, 4" in unblock
    assert retract in html.unescape(unblock) and "land a corrected copy" in unblock
    assert "DOE" not in page and "DOE" not in json.dumps(summary)

    # Another loaded file has the same name: the command names the file by its load.
    execute(
        built_copy,
        "insert into meta.load_ledger (load_id, kind, file_name, status, rows_read, "
        "rows_loaded, rows_quarantined) values ('0123456789abcdef', 'trace', "
        "'trace_2013_bad.csv', 'loaded', 0, 0, 0)",
    )
    result = audit.audit(built_copy, run_id="bad-file-shared-name")
    assert result.decision == "hold" and result.shared_file_names == ["trace_2013_bad.csv"]
    (line,) = result.remedies()
    assert f'tracepipe retract {load_id} --reason "..."' in line


def test_warnings_and_file_level_checks_name_their_files_too(built_copy, tmp_path):
    requests = {
        "relation": "intermediate.int_trace_requests_flagged",
        "columns": ["trace_number", "file_name", "file_row_number", "load_id", "manufacturer"],
        "index": ["trace_number"],
    }
    suite = {
        "name": "origins",
        "meta": {"source": "trace", "batch": requests},
        "expectations": [
            expectation(
                "expect_column_values_to_not_be_null",
                "warning",
                "every request names a manufacturer (warning only)",
                column="manufacturer",
            )
        ],
    }
    # The real trace suite's ledger batch names files, not rows.
    settings = with_suites(built_copy, tmp_path / "suites", suite, "trace_requests")
    execute(settings, "delete from raw.trace where trace_number = 'T2011-0000010'")
    result = audit.audit(settings, run_id="origins")
    (load_id,) = warehouse_frame(
        settings, "select load_id from meta.load_ledger where file_name = 'trace_2010_2012.csv'"
    )["load_id"]

    checks = by_check(result)
    warning = checks["every request names a manufacturer (warning only)"]
    assert warning.warns and warning.examples == [
        "T2010-0000008 (trace_2010_2012.csv row 8): manufacturer=None"
    ]
    assert warning.sources == [
        {
            "kind": "trace",
            "file_name": "trace_2010_2012.csv",
            "load_id": load_id,
            "rows": [8],
            "n_unexpected": 1,
        }
    ]
    ledger = checks["reconciliation: every row the ledger counts as loaded is in raw.trace"]
    assert ledger.blocks and ledger.sources == [
        {
            "kind": "trace",
            "file_name": "trace_2010_2012.csv",
            "load_id": load_id,
            "rows": [],
            "n_unexpected": 1,
        }
    ]
    lineage = checks["lineage: every request in the model comes from a raw row (load, file row)"]
    assert [s["rows"] for s in lineage.sources] == [[10]]
    (line,) = result.remedies()  # one line per file, whatever number of checks
    assert line.startswith(
        f"trace/trace_2010_2012.csv (load {load_id}): row 10 and the file fail 2 blocking checks; "
    )
    assert 'tracepipe retract trace_2010_2012.csv --reason "..."' in line
