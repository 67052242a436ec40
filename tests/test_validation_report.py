"""The validation page and the release history page (issue 13).

A real audit (Great Expectations on the DuckDB warehouse) of a private copy of the built
sample, with a suite that fails one blocking check and warns on another; the page is
rendered in headless Chromium (tests/browser.py). Then releases are published and held
through the real steps, and the history page must list them with their decisions and
what changed.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import CHROMIUM, SKIP_REASON, render
from exports import trace_row
from markupsafe import escape
from test_audit_gate import execute, expectation, with_suites

from pipelines import audit, history, privacy, publish, steps
from pipelines.audit.examples import examples_of

REQUESTS = {
    "relation": "intermediate.int_trace_requests_flagged",
    "columns": ["trace_number", "file_name", "file_row_number", "load_id", "manufacturer"],
    "index": ["trace_number"],
}
BLOCKING = "every manufacturer is one the test knows (blocking)"
WARNING = "every request names a manufacturer (warning only)"
SUITE = {
    "name": "report_page",
    "meta": {"source": "trace", "batch": REQUESTS},
    "expectations": [
        expectation(
            "expect_column_values_to_be_in_set",
            "error",
            BLOCKING,
            column="manufacturer",
            value_set=["COLT"],
        ),
        expectation(
            "expect_column_values_to_not_be_null", "warning", WARNING, column="manufacturer"
        ),
    ],
}


class Cells(HTMLParser):
    """The text of each row of the tables with a given class, and every element id."""

    def __init__(self, table_class: str):
        super().__init__()
        self.table_class = table_class
        self.depth = 0  # inside a matching table
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag == "table" and self.table_class in (attrs.get("class") or "").split():
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag == "td":
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def personal_values() -> list[str]:
    row = trace_row()
    return [str(row[c]) for c in privacy.PII_COLUMNS if row.get(c)]


def test_examples_mask_personal_data_and_keep_file_row_column_value():
    column = "purchaser_name"
    assert privacy.is_pii(column)
    body = {
        "partial_unexpected_list": ["DOE, JOHN Q", None],
        "partial_unexpected_index_list": [3, 4],
    }
    examples = examples_of(body, [column])
    check = audit.CheckResult(
        suite="s",
        check="c",
        expectation="e",
        column=column,
        severity="error",
        success=False,
        evaluated=True,
        examples=examples,
    )
    assert all(type(e) is str for e in check.examples)  # plain text in validation.json
    assert "DOE" not in json.dumps(check.examples + check.example_rows)
    assert check.example_rows[0]["value"] == privacy.MASK
    assert check.example_rows[0]["column"] == column
    assert check.example_rows[1]["value"] is None  # a blank stays blank, not "None"


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_the_validation_page_shows_each_problem_row_and_renders_offline(built_copy, tmp_path):
    settings = with_suites(built_copy, tmp_path / "suites", SUITE, "marts")
    result = audit.audit(settings, run_id="page")
    assert result.decision == "hold"
    checks = {c.check: c for c in result.checks}
    assert checks[BLOCKING].blocks and checks[WARNING].warns
    folder = settings.reports_dir / "page"
    page = (folder / "validation.html").read_text(encoding="utf-8")
    summary = json.loads((folder / "validation.json").read_text(encoding="utf-8"))

    # Every blocking failure and warning names file, row, column and value, in the page
    # and in validation.json.
    # (Checks of a whole mart or total, such as the marts suite's volume warnings, have
    # no file: they name their mart instead.)
    for c in result.blocking + result.warnings:
        assert c.example_rows, c.check
        for e in c.example_rows:
            assert e["column"] and e["key"], e
            if c.suite == SUITE["name"]:
                assert e["file"] and e["row"] and e["column"] == "manufacturer", e
    (warned,) = checks[WARNING].example_rows
    assert (warned["key"], warned["file"], warned["row"], warned["value"]) == (
        "T2010-0000008",
        "trace_2010_2012.csv",
        8,
        None,
    )
    in_json = {c["check"]: c for c in summary["checks"]}
    assert in_json[BLOCKING]["example_rows"] == checks[BLOCKING].example_rows
    cells = Cells("examples-table")
    cells.feed(page)
    shown = [r for r in cells.rows if r]  # header rows have no td
    assert len(shown) == sum(len(c.example_rows) for c in result.blocking + result.warnings)
    assert all(len(r) == 5 and all(r) for r in shown), shown  # key, file, row, column, value
    from_files = [r for r in shown if r[1].endswith(".csv")]
    n_rows = sum(len(c.example_rows) for c in result.checks if c.suite == SUITE["name"])
    assert len(from_files) == n_rows
    for key, _file, row, column, _value in from_files:
        assert key.startswith("T") and row.isdigit() and column == "manufacturer", (key, row)
    assert ["T2010-0000008", "trace_2010_2012.csv", "8", "manufacturer", "(blank)"] in shown
    blocked_values = {e["value"] for e in checks[BLOCKING].example_rows}
    assert blocked_values - {None} and all(v != "COLT" for v in blocked_values - {None})

    # Failures and warnings first; every check folded by suite, each suite anchored.
    held, warned_at, checks_at = (
        page.index("Why the release is held"),
        page.index("<h2>Warnings</h2>"),
        page.index("<h2>Checks</h2>"),
    )
    assert held < warned_at < checks_at
    assert page.count('<details class="suite"') == len({c.suite for c in result.checks})
    folded = page[checks_at:]
    passing = [c for c in result.checks if c.success and c.evaluated]
    assert passing and all(str(escape(c.check)) in folded for c in passing)
    assert all(str(escape(c.check)) not in page[:checks_at] for c in passing)
    suite_links = [h[1:] for h in cells.hrefs if h.startswith("#suite-")]
    assert len(suite_links) == len({c.suite for c in result.checks})
    assert set(suite_links) <= cells.ids
    assert 'id="filter"' in page
    assert "../history.html" in cells.hrefs and (settings.reports_dir / "history.html").exists()
    assert "data_docs" not in cells.hrefs and not (folder / "data_docs").exists()

    # Personal data: none of the sample's personal values anywhere.
    for value in personal_values():
        assert value not in page and value not in json.dumps(summary), value

    # Headless Chromium: no console message, no request leaving the machine; the
    # detector sees a page that does reach out, so its silence means something.
    control = tmp_path / "control.html"
    control.write_text(
        "<!doctype html><img src='http://tracepipe-control.invalid/x.png'>"
        "<script>console.error('control error')</script>",
        encoding="utf-8",
    )
    seen = render(control.as_uri(), tmp_path / "control.png", tmp_path / "control-run")
    assert any("tracepipe-control.invalid" in u for u in seen.requests), seen.requests
    assert any("control error" in line for line in seen.console)
    doms = {}
    for name in ("validation.html", "../history.html"):
        path = (folder / name).resolve()
        rendered = render(path.as_uri(), tmp_path / f"{path.stem}.png", tmp_path / path.stem)
        assert rendered.console == [], rendered.console
        assert rendered.requests == [], rendered.requests
        doms[path.stem] = rendered.dom
    assert "Decision: HOLD" in doms["validation"] and 'id="decisions"' in doms["history"]

    # The filter: one word of one check leaves that check's suite and row shown.
    url = (folder / "validation.html").as_uri() + "#filter=knows"
    dom = render(url, tmp_path / "filtered.png", tmp_path / "filtered").dom
    suites = re.findall(r"<details class=\"suite\"([^>]*)>(.*?)</details>", dom, re.S)
    assert len(suites) == len({c.suite for c in result.checks}) > 1
    shown = [(attrs, body) for attrs, body in suites if "hidden" not in attrs]
    assert len(shown) == 1 and 'id="suite-report_page"' in shown[0][0], [a for a, _ in suites]
    rows = re.findall(r"<tr class=\"[^\"]*\" data-status=\"[^\"]*\"([^>]*)>", shown[0][1])
    assert len(rows) == 2 and sum("hidden" not in r for r in rows) == 1, rows


def test_the_history_page_lists_releases_with_decision_and_changes(built_copy, tmp_path):
    settings = with_suites(built_copy, tmp_path / "suites", "marts")
    execute(settings, "create table marts.test_volume as select range as i from range(10)")
    first = steps.audit(settings, "hist-1")
    assert first["decision"] == "publish"
    one = steps.publish(settings, "hist-1", first)["release_id"]

    execute(settings, "insert into marts.test_volume select range from range(5)")
    second = steps.audit(settings, "hist-2")
    assert second["decision"] == "publish"
    two = steps.publish(settings, "hist-2", second)["release_id"]

    # The figures report of the release just published rewrites the history and links it.
    figures = Path(steps.report(settings, "hist-2")["report"]).read_text(encoding="utf-8")
    assert 'href="../history.html"' in figures
    assert f'data-release="{two}"' in (settings.reports_dir / "history.html").read_text()

    execute(settings, "delete from marts.test_volume")
    held = steps.audit(settings, "hist-3")
    assert held["decision"] == "hold" and held["reasons"]
    page_path = history.write_history(settings)
    page = page_path.read_text(encoding="utf-8")

    entries = history.collect(settings)
    by_run = {e.run_id: e for e in entries}
    assert by_run["hist-1"].release_id == one and by_run["hist-2"].release_id == two
    assert by_run["hist-2"].previous == one
    assert by_run["hist-2"].mart_changes["test_volume"] == 5
    assert by_run["hist-3"].decision == "hold" and not by_run["hist-3"].release_id
    assert by_run["hist-3"].previous == two
    assert by_run["hist-3"].new_failures == held["reasons"]
    assert by_run["hist-3"].mart_rows["test_volume"] == 0

    cells = Cells("")  # the decisions table has no class: read it by its id below
    decisions = page[page.index('id="decisions"') : page.index("</table>")]
    rows = re.findall(r'<tr class="[^"]*" data-release="([^"]*)" data-run="([^"]+)">', decisions)
    assert [run for _, run in rows][:3] == ["hist-3", "hist-2", "hist-1"]  # newest first
    assert dict((run, rel) for rel, run in rows)["hist-2"] == two
    row_of = {
        run: decisions.split(f'data-run="{run}"', 1)[1].split("</tr>", 1)[0] for _, run in rows
    }
    assert '<td class="hold">hold</td>' in row_of["hist-3"]
    assert '<td class="publish">publish</td>' in row_of["hist-2"]
    assert "test_volume: +5 rows" in row_of["hist-2"]
    assert "test_volume: -15 rows" in row_of["hist-3"]
    assert "new failure: " in row_of["hist-3"]
    cells.feed(page)
    assert any(h.endswith("hist-3/validation.html") for h in cells.hrefs)
    # Key figures of each release, and the page loads nothing.
    assert 'id="figures"' in page and 'id="marts"' in page
    assert not re.search(r"https?://|<link\b|<script\b|@import|url\(", page)
    assert Path(page_path) == settings.reports_dir / "history.html"
    assert publish.list_releases(settings)[-2:] == [one, two]
