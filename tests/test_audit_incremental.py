"""The incremental audit: a daily file is checked on its own rows, the rules that make it
safe hold, and it decides what a full audit of the same warehouse decides.

One data folder (a copy of the built sample) goes through one story, each step a new
file, its ingest, its dbt build and two audits of the same warehouse: the daily
(incremental) one and a full one (``--full``). Each test reads one chapter of it.

1. ``base``: an audit and publish of the sample, the watermark every later step starts from;
2. ``good``: a good daily file: only its rows are checked, and the release is published;
3. ``bad``: a file with one bad row: held, the row named;
4. ``later``: another good file while the bad row is still there: held again, the bad
   row (written before this run, never published) checked and named again;
5. ``retracted``: the bad file taken back: published, from the same watermark as 3 and 4.

The code's fingerprint is pinned for the story (other work edits files meanwhile; a
changed fingerprint would rightly make every audit a full one); one test changes it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import copy_data
from exports import trace_row, write_export

from pipelines import audit, cli, fingerprint, steps
from pipelines.audit import incremental
from pipelines.config import Settings

pytestmark = pytest.mark.slow  # a story of daily loads, each with its dbt build and audit

PINNED = "pinned code fingerprint of the incremental audit's story"
STATE_CHECK = (
    "every Mexican recovery state (a name in any case, with or without accents, or an "
    "INEGI code) maps to a state"
)


def rows(prefix: str, n: int, overrides: dict | None = None) -> list[dict[str, str]]:
    """``n`` trace rows of 2013, each of its own firearm (no repeat requests); row ``i``
    takes ``overrides[i]``."""
    return [
        trace_row(
            trace_number=f"T2013-{prefix}{i:04d}",
            serial_number=f"{prefix}{i:06d}",
            recovery_date="2013-05-10",
            request_date="2013-06-01",
            **(overrides or {}).get(i, {}),
        )
        for i in range(1, n + 1)
    ]


def outcome(result: audit.AuditResult) -> tuple[str, set[tuple[str, str, str]]]:
    return result.decision, {(c.suite, c.check, c.status) for c in result.checks}


def failing(result: audit.AuditResult) -> set[tuple[str, str]]:
    return {(c.suite, c.check) for c in result.checks if c.status != "pass"}


def audits(settings: Settings, name: str) -> dict:
    """The daily audit and a full audit of the same warehouse; the daily one is published
    when it allows it."""
    daily = audit.audit(settings, run_id=name)
    full = audit.audit(settings, run_id=f"{name}-full", full=True)
    release = None
    if daily.decision == "publish":
        summary = steps.summary_of(daily.to_dict(), daily.report_json, daily.report_html)
        release = steps.publish(settings, name, summary)["release_id"]
    return {"daily": daily, "full": full, "release": release}


def land_and_build(settings: Settings, name: str, file_rows: list[dict[str, str]]) -> None:
    write_export(settings.landing_dir / "trace" / f"{name}.csv", "trace", file_rows)
    steps.ingest(settings)
    steps.transform(settings)


@pytest.fixture(scope="module")
def story(built, tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setattr(fingerprint, "code_fingerprint", lambda: PINNED)
    settings = copy_data(built.data_dir, tmp_path_factory.mktemp("incremental") / "data")
    chapters: dict = {"settings": settings}
    try:
        chapters["base"] = audits(settings, "base")

        land_and_build(settings, "trace_2013_good", rows("G", 3))
        chapters["good"] = audits(settings, "good")

        bad = {2: {"recovery_state": "ATLANTIS"}}  # loads, but maps to no state
        land_and_build(settings, "trace_2013_bad", rows("B", 3, bad))
        chapters["bad"] = audits(settings, "bad")

        land_and_build(settings, "trace_2013_later", rows("L", 2))
        chapters["later"] = audits(settings, "later")

        steps.retract(settings, "trace_2013_bad.csv", "a state that does not exist")
        steps.transform(settings)
        chapters["retracted"] = audits(settings, "retracted")
        yield chapters
    finally:
        patch.undo()


def scope(result: audit.AuditResult, batch: str = "trace_requests") -> dict:
    return result.batch_scopes[batch]


def test_the_first_audit_with_watermarks_checks_every_row_and_records_where_to_start(story):
    base = story["base"]["daily"]
    assert base.decision == "publish" and story["base"]["release"]
    # The built sample's release was audited with the real code fingerprint.
    assert base.incremental["mode"] == "all rows"
    assert "code or rules" in base.incremental["reason"]
    main = scope(base)
    assert main["rows"] == "all" and main["checks_on_new_rows"] == 0
    assert main["next_watermark"] == base.incremental["watermarks"]["trace_requests"]


def test_a_daily_file_is_checked_on_its_own_rows(story):
    base, good = story["base"]["daily"], story["good"]["daily"]
    assert good.decision == "publish" and story["good"]["release"]
    assert good.incremental["mode"] == "new rows" and not good.incremental["reason"]
    assert good.incremental["since_release"] == story["base"]["release"]
    main = scope(good)
    assert main["rows"] == "new" and main["since"] == scope(base)["next_watermark"]
    assert main["new_rows"] == 3 and main["all_rows"] == scope(base)["all_rows"] + 3
    assert main["next_watermark"] > main["since"]
    checks = {c.check: c for c in good.checks}
    # Row-local checks see the 3 new rows; checks that span rows see them all.
    assert checks["every request has a trace number"].scope == "new"
    assert checks["every request has a trace number"].element_count == 3
    assert checks["trace numbers are unique"].scope == "all"
    assert checks["trace numbers are unique"].element_count == main["all_rows"]
    for check in good.checks:
        assert check.evaluated, (check.check, check.error)
        local = incremental.row_local({"type": check.expectation, "kwargs": {}})
        if check.scope == "new":
            assert local and check.suite == "trace_requests", check.check
    assert sum(c.scope == "new" for c in good.checks) == sum(
        s["checks_on_new_rows"] for s in good.batch_scopes.values()
    )
    # A share (mostly) is about all rows, though its type is row-local.
    assert checks["incomplete requests: manufacturer present (at least 85 percent)"].scope == "all"

    summary = json.loads(Path(good.report_json).read_text())
    assert summary["batch_scopes"]["trace_requests"]["new_rows"] == 3
    assert summary["incremental"]["watermarks"]["trace_requests"] == main["next_watermark"]
    page = Path(good.report_html).read_text()
    assert "New rows or all rows" in page and f"new rows since {main['since']}" in page


def test_a_bad_new_row_holds_the_release_and_is_named(story):
    bad = story["bad"]["daily"]
    assert bad.decision == "hold" and story["bad"]["release"] is None
    assert bad.incremental["mode"] == "new rows"
    assert bad.incremental["since_release"] == story["good"]["release"]
    assert scope(bad)["new_rows"] == 3
    (check,) = [c for c in bad.blocking]
    assert check.check == STATE_CHECK and check.scope == "new"
    assert check.unexpected_count == 1
    assert check.examples == ["T2013-B0002 (trace_2013_bad.csv row 2): recovery_state_code=None"]
    assert [s["file_name"] for s in check.sources] == ["trace_2013_bad.csv"]


def test_a_held_audit_moves_no_watermark_so_the_bad_row_is_checked_again(story):
    bad, later = story["bad"]["daily"], story["later"]["daily"]
    # Nothing was published since: the next audit starts where the held one did, and
    # so sees the bad row again although it was written before this run.
    assert later.incremental["since_release"] == story["good"]["release"]
    assert scope(later)["since"] == scope(bad)["since"]
    assert scope(later)["new_rows"] == 3 + 2
    assert later.decision == "hold"
    (check,) = later.blocking
    assert check.check == STATE_CHECK
    assert check.examples == bad.blocking[0].examples

    retracted = story["retracted"]["daily"]
    assert retracted.decision == "publish" and story["retracted"]["release"]
    assert scope(retracted)["since"] == scope(bad)["since"]
    # The later file's rows are checked again; the bad file's rows are gone with it.
    assert scope(retracted)["new_rows"] == 2


@pytest.mark.parametrize("chapter", ["good", "bad", "later", "retracted"])
def test_the_daily_audit_decides_as_a_full_audit_of_the_same_warehouse(story, chapter):
    daily, full = story[chapter]["daily"], story[chapter]["full"]
    assert daily.incremental["mode"] == "new rows"
    assert full.incremental["mode"] == "all rows" and "--full" in full.incremental["reason"]
    assert outcome(daily) == outcome(full)
    assert failing(daily) == failing(full)
    for mine, theirs in zip(daily.blocking, full.blocking, strict=True):
        assert sorted(mine.examples) == sorted(theirs.examples)
        assert mine.sources == theirs.sources
    assert scope(full)["rows"] == "all" and scope(full)["checks_on_new_rows"] == 0


def test_a_changed_suite_file_code_or_full_flag_checks_every_row(story, tmp_path, monkeypatch):
    settings = story["settings"]
    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: PINNED)
    # A suite file changed (one expectation more would do the same): every row.
    suites = tmp_path / "expectations"
    shutil.copytree(settings.expectations_dir, suites)
    path = suites / "suites" / "trace_requests.json"
    path.write_text(path.read_text() + "\n")
    changed = Settings(**{**settings.__dict__, "expectations_dir": suites})
    result = audit.audit(changed, run_id="suite-changed")
    assert result.incremental["mode"] == "all rows"
    assert "suite file trace_requests.json changed" in result.incremental["reason"]
    assert all(c.scope == "all" for c in result.checks)

    # The code or rules changed.
    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: PINNED + " and a change")
    result = audit.audit(settings, run_id="code-changed")
    assert result.incremental["mode"] == "all rows"
    assert "code or rules" in result.incremental["reason"]

    # tracepipe audit --full.
    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: PINNED)
    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", "test-key")
    assert cli.main(["audit", "--full", "--run-id", "cli-full"]) == cli.EXIT_OK
    summary = json.loads((settings.reports_dir / "cli-full" / "validation.json").read_text())
    assert summary["incremental"]["mode"] == "all rows"
    assert summary["batch_scopes"]["trace_requests"]["rows"] == "all"
    assert cli.main(["audit", "--run-id", "cli-daily"]) == cli.EXIT_OK
    summary = json.loads((settings.reports_dir / "cli-daily" / "validation.json").read_text())
    assert summary["incremental"]["mode"] == "new rows"
    # Nothing was written since the last published audit: no new row to check.
    assert summary["batch_scopes"]["trace_requests"]["new_rows"] == 0


def test_row_local_types_are_named_and_a_share_is_not_row_local():
    assert incremental.row_local({"type": "expect_column_values_to_not_be_null", "kwargs": {}})
    assert not incremental.row_local(
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"mostly": 0.85}}
    )
    assert incremental.row_local(
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"mostly": 1}}
    )
    for kind in incremental.SPANS_ROWS:
        assert not incremental.row_local({"type": kind, "kwargs": {}}), kind
    # A value set read by a query without an order is the same check in any order.
    one = {"type": "expect_column_values_to_be_in_set", "kwargs": {"value_set": ["b", "a"]}}
    other = {"type": "expect_column_values_to_be_in_set", "kwargs": {"value_set": ["a", "b"]}}
    assert incremental.args_digest(one) == incremental.args_digest(other)
    assert incremental.args_digest(one) != incremental.args_digest(
        {**one, "kwargs": {"value_set": ["a", "c"]}}
    )
    # Every type the project's suites use is placed on one side or the other.
    used = set()
    for path in (Path(__file__).parents[1] / "expectations" / "suites").glob("*.json"):
        used |= {e["type"] for e in json.loads(path.read_text())["expectations"]}
    assert used <= incremental.ROW_LOCAL | incremental.SPANS_ROWS, sorted(
        used - incremental.ROW_LOCAL - incremental.SPANS_ROWS
    )
