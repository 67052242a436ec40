"""Records that change, end to end through ingest, dbt, the audit and the publish: a
pending trace completed by a later file, a correction, an identical re-send, a repeat
inside one file, a release held by a bad row and unblocked by a retraction, a retracted
file re-landed corrected, an idle run, a rules change, misplaced files.

One data folder goes through the whole story once (each run costs a dbt build and an
audit); each test reads one chapter of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import copy_data
from exports import trace_row, write_export

from pipelines import publish, steps
from pipelines.config import PROJECT_ROOT
from pipelines.ingest import ingest

pytestmark = pytest.mark.slow

PENDING = {
    "trace_number": "T2010-PENDING",
    "serial_number": "PEND0001",
    "recovery_date": "2010-05-10",
    "request_date": "2010-06-01",
    "trace_status": "PENDING",
    "trace_result": "PENDING",
    "ffl_license_number": "",
    "purchase_date": "",
    "purchaser_name": "",
    "purchaser_dob": "",
    "purchaser_address": "",
}
COMPLETED = {
    **PENDING,
    "trace_status": "COMPLETED",
    "trace_result": "PURCHASER_IDENTIFIED",
    "ffl_license_number": "5-74-029-01-4F-12345",
    "purchase_date": "2008-01-15",
    "purchaser_name": "ROE, RICHARD",
    "purchaser_dob": "1975-03-04",
    "purchaser_address": "2 ELM ST, LAREDO TX",
}


def published(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.current_link / "marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def warehouse(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def determination_2010(settings) -> tuple:
    return published(
        settings,
        "select n_determined, n_pending from purchaser_determination_by_year "
        "where recovery_year = 2010",
    )[0]


def long_and_short_2011(settings) -> tuple:
    return published(
        settings, "select n_long, n_short from firearm_types_by_year where recovery_year = 2011"
    )[0]


@pytest.fixture(scope="module")
def story(built, tmp_path_factory) -> dict:
    s = copy_data(built.data_dir, tmp_path_factory.mktemp("versions") / "data")
    trace = s.landing_dir / "trace"
    seen: dict = {"settings": s}

    # 1. The sample, built and published (conftest.built), then a trace still pending.
    seen["sample_release"] = publish.current_release(s)
    write_export(trace / "trace_pending.csv", "trace", [trace_row(**PENDING)])
    seen["first"] = steps.run_all(s)
    seen["first_release"] = publish.current_release(s)
    seen["first_determination"] = determination_2010(s)
    seen["first_guns"] = long_and_short_2011(s)

    # 2. Nothing new: no new release.
    seen["idle"] = steps.run_all(s)
    seen["idle_release"] = publish.current_release(s)

    # 3. A later export: the pending trace completed, a correction (a 2011 rifle was a
    #    pistol), a sample row re-sent as it was, and a new request sent twice.
    sample = {r["trace_number"]: r for r in _sample_rows()}
    corrected = dict(sample["T2011-0000009"], firearm_type="PISTOLA")
    resent = dict(sample["T2011-0000010"])
    new = trace_row(
        trace_number="T2012-NEW",
        serial_number="NEW00001",
        recovery_date="2012-05-10",
        request_date="2012-06-01",
        purchase_date="2010-01-15",
    )
    write_export(
        trace / "trace_update.csv",
        "trace",
        [trace_row(**COMPLETED), corrected, resent, new, dict(new)],
    )
    seen["update"] = steps.run_all(s)
    seen["update_release"] = publish.current_release(s)
    seen["update_determination"] = determination_2010(s)
    seen["update_guns"] = long_and_short_2011(s)
    seen["completions"] = published(
        s,
        "select trace_result, purchaser_status, n_traces from trace_completions_by_month "
        "where completed_month is not null",
    )

    # 4. One bad row holds the release; retracting its file unblocks it.
    write_export(
        trace / "trace_bad.csv",
        "trace",
        [trace_row(trace_number="T2012-BAD", serial_number="BAD00001", recovery_state="ATLANTIS")],
    )
    with pytest.raises(steps.ReleaseHeld) as held:
        steps.run_all(s)
    seen["held_message"] = str(held.value)
    seen["held_release"] = publish.current_release(s)
    seen["retract_bad"] = steps.retract(s, "trace_bad.csv", "state ATLANTIS is no Mexican state")
    seen["unblocked"] = steps.run_all(s)
    seen["unblocked_release"] = publish.current_release(s)
    seen["bad_in_marts"] = published(
        s, "select count(*) from flagged_trace_requests where trace_number = 'T2012-BAD'"
    )[0][0]

    # 5. The update file was wrong: take it back, then land a corrected copy.
    seen["retract_update"] = steps.retract(s, "trace_update.csv", "sent by mistake")
    seen["after_retract"] = steps.run_all(s)
    seen["after_retract_determination"] = determination_2010(s)
    seen["after_retract_guns"] = long_and_short_2011(s)
    seen["after_retract_new"] = warehouse(
        s,
        "select count(*) from intermediate.int_trace_requests_flagged "
        "where trace_number = 'T2012-NEW'",
    )[0][0]
    write_export(trace / "trace_update_corrected.csv", "trace", [trace_row(**COMPLETED), corrected])
    seen["relanded"] = steps.run_all(s)
    seen["relanded_determination"] = determination_2010(s)
    seen["relanded_guns"] = long_and_short_2011(s)
    return seen


def _sample_rows():
    from conftest import sample_trace_rows

    return sample_trace_rows()


def _file(outcome: dict, name: str) -> dict:
    return next(f for f in outcome["ingest"]["files"] if f["file_name"] == name)


def test_a_pending_trace_completed_by_a_later_file_changes_the_published_determination(story):
    determined, pending = story["first_determination"]
    assert pending == 1
    assert story["update_determination"] == (determined + 1, 0)
    assert story["completions"] == [("PURCHASER_IDENTIFIED", "determined", 1)]


def test_the_history_keeps_every_version_of_the_trace(story):
    versions = warehouse(
        story["settings"],
        "select version, change, trace_status, is_current, file_name, valid_to is null "
        "from intermediate.int_trace_versions where trace_number = 'T2010-PENDING' order by 1",
    )
    assert versions == [
        (1, "new", "PENDING", False, "trace_pending.csv", False),
        (2, "changed", "COMPLETED", True, "trace_update_corrected.csv", True),
    ]


def test_a_correction_replaces_a_value(story):
    long_before, short_before = story["first_guns"]
    assert story["update_guns"] == (long_before - 1, short_before + 1)


def test_ingest_counts_new_changed_unchanged_and_quarantined_rows(story):
    f = _file(story["update"], "trace_update.csv")
    assert (f["rows_read"], f["rows_new"], f["rows_changed"], f["rows_unchanged"]) == (5, 1, 2, 1)
    assert f["rows_quarantined"] == 1  # the new request sent twice in the same file
    assert (
        f["rows_read"]
        == f["rows_new"] + f["rows_changed"] + f["rows_unchanged"] + f["rows_quarantined"]
    )
    [(rules, reason)] = warehouse(
        story["settings"],
        "select _rules, _reason from quarantine.trace where _file_name = 'trace_update.csv'",
    )
    assert rules == "duplicate_key" and "T2012-NEW" in reason


def test_an_identical_resend_changes_nothing(story):
    assert warehouse(
        story["settings"],
        "select file_name, version from intermediate.int_trace_versions "
        "where trace_number = 'T2011-0000010'",
    ) == [("trace_2010_2012.csv", 1)]


def test_an_idle_run_publishes_nothing(story):
    assert story["idle"]["plan"]["changed"] is False
    assert (
        "nothing changed since release " + story["first_release"]
        in story["idle"]["plan"]["message"]
    )
    assert "transform" not in story["idle"]
    assert story["idle_release"] == story["first_release"]
    # where the story ends nothing changed either; --force publishes anyway
    assert steps.plan(story["settings"])["changed"] is False
    assert steps.plan(story["settings"], force=True)["changed"] is True
    # runs 1, 3, 4 once unblocked, 5 after the retraction and re-landed published; the
    # sample's release before them is pruned (the settings keep 5)
    releases = publish.list_releases(story["settings"])
    assert len(releases) == 5 and story["sample_release"] not in releases
    for chapter in ("first_release", "update_release", "unblocked_release"):
        assert story[chapter] in releases, chapter


def test_a_release_held_by_one_bad_row_is_unblocked_by_retracting_its_file(story):
    assert story["held_release"] == story["update_release"]
    assert "trace_bad.csv" in story["held_message"]
    assert "tracepipe retract" in story["held_message"]
    assert story["retract_bad"]["rows"] == 1 and story["retract_bad"]["keys_removed"] == 1
    assert story["unblocked"]["publish"]["release_id"] == story["unblocked_release"]
    assert story["unblocked_release"] != story["update_release"]
    assert story["bad_in_marts"] == 0
    ledger = warehouse(
        story["settings"],
        "select status, retraction_reason, retracted_at is not null from meta.load_ledger "
        "where file_name = 'trace_bad.csv'",
    )
    assert ledger == [("retracted", "state ATLANTIS is no Mexican state", True)]
    assert warehouse(
        story["settings"],
        "select trace_number from retracted.trace where _file_name = 'trace_bad.csv'",
    ) == [("T2012-BAD",)]


def test_a_retracted_file_leaves_the_current_state_and_a_corrected_copy_loads(story):
    taken = story["retract_update"]
    assert (taken["rows"], taken["keys_restored"], taken["keys_removed"]) == (4, 3, 1)
    # back to the first state: pending again, the rifle a rifle, the new request gone
    assert story["after_retract_determination"] == story["first_determination"]
    assert story["after_retract_guns"] == story["first_guns"]
    assert story["after_retract_new"] == 0
    f = _file(story["relanded"], "trace_update_corrected.csv")
    assert f["status"] == "loaded" and (f["rows_changed"], f["rows_new"]) == (2, 0)
    assert story["relanded_determination"] == story["update_determination"]
    assert story["relanded_guns"] == story["update_guns"]


def test_the_bytes_of_a_retracted_file_are_not_loaded_again(story):
    s = story["settings"]
    statuses = {f.file_name: f.status for f in ingest(s).files}
    assert statuses["trace_update.csv"] == "retracted_before"
    assert statuses["trace_bad.csv"] == "retracted_before"


def test_a_macro_change_reprocesses_the_incremental_models(story, tmp_path):
    s = story["settings"]
    project = tmp_path / "dbt_project"
    shutil.copytree(
        PROJECT_ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs")
    )
    settings = make_settings_with_project(s, project)
    before = warehouse(
        s,
        "select count(*), max(written_at), count(distinct rules_version) "
        "from intermediate.int_trace_requests_flagged",
    )[0]
    steps.transform(settings)  # nothing changed: nothing written
    assert (
        warehouse(
            s,
            "select count(*), max(written_at), count(distinct rules_version) "
            "from intermediate.int_trace_requests_flagged",
        )[0]
        == before
    )
    text = project / "macros" / "text.sql"
    macro = "{% macro normalise_text(expr) -%}"
    assert macro in text.read_text()
    text.write_text(text.read_text().replace(macro, macro + "\n    {#- its text changed -#}"))
    steps.transform(settings)
    n, written, n_rules = warehouse(
        s,
        "select count(*), min(written_at), count(distinct rules_version) "
        "from intermediate.int_trace_requests_flagged",
    )[0]
    assert (n, n_rules) == (before[0], 1)
    assert written > before[1]  # every request normalised again, under the new rules

    # a seed the model reads changes (a new alias of a Mexican state): the same again
    aliases = project / "seeds" / "mexican_state_aliases.csv"
    aliases.write_text(aliases.read_text().rstrip("\n") + "\nEDO DE MEX,15\n")
    steps.transform(settings)
    n, rewritten, n_rules = warehouse(
        s,
        "select count(*), min(written_at), count(distinct rules_version) "
        "from intermediate.int_trace_requests_flagged",
    )[0]
    assert (n, n_rules) == (before[0], 1) and rewritten > written


def make_settings_with_project(settings, project: Path):
    from pipelines.config import Settings

    return Settings.from_env(
        {
            "TRACEPIPE_DATA_DIR": str(settings.data_dir),
            "TRACEPIPE_PII_KEY": "test-key",
            "TRACEPIPE_DBT_PROJECT_DIR": str(project),
        }
    )
