"""The validation report of an audit, written to ``reports/<run>/``: validation.json
(``AuditResult.to_dict``, what the command line and Airflow read) and validation.html
(one self-contained page for reviewers, from templates/validation.html.j2), each written
atomically; and the release history page beside them (pipelines.history).

Draws what results.py holds; it runs no check and changes no decision.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from pipelines.audit import decision
from pipelines.audit.results import AuditResult, CheckResult
from pipelines.audit.values import short, slug
from pipelines.config import Settings

log = logging.getLogger(__name__)

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:78rem;color:#1d2330;padding:0 1rem;background:#fff}
h1{font-size:1.5rem;margin:0 0 .2rem}h2{font-size:1.15rem;margin:1.8rem 0 .4rem;border-bottom:2px solid #e3e6ec;padding-bottom:.2rem}
.muted{color:#5b6475}.small{font-size:12px}
.decision{display:inline-block;padding:.35rem .8rem;border-radius:4px;font-weight:600;color:#fff;letter-spacing:.02em}
.publish{background:#1f7a3f}.hold{background:#b3261e}
.tiles{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0}
.tile{border:1px solid #d9dde5;border-radius:6px;padding:.5rem .9rem;min-width:8rem}
.tile b{display:block;font-size:1.3rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1rem}
th,td{border-bottom:1px solid #d9dde5;padding:.38rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f4f8;font-weight:600;position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pass{color:#1f7a3f;font-weight:600}.fail{color:#b3261e;font-weight:600}.warn{color:#9a6700;font-weight:600}.skip{color:#5b6475;font-weight:600}
tr.row-fail{background:#fdf1f0}tr.row-warn{background:#fdf8e8}
code{font-size:12px;background:#f2f4f8;padding:0 .2rem;border-radius:3px}
ul.reasons li{margin:.25rem 0}
.examples{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;color:#39404f}
.note{border-left:4px solid #9aa3b5;background:#f6f7fa;padding:.5rem .8rem;margin:.8rem 0}
a{color:#0b57a4}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
h3{font-size:1rem;margin:0 0 .2rem}
section.problem{border-left:4px solid #b3261e;padding:.4rem .8rem;margin:.8rem 0;background:#fffafa}
section.problem.warn{border-left-color:#9a6700;background:#fffdf5}
.badge{display:inline-block;font-size:11px;padding:.05rem .4rem;border-radius:3px;color:#fff;background:#b3261e;vertical-align:middle}
.badge.warn{background:#9a6700}
table.aligned,table.checks,table.examples-table{table-layout:fixed}
table.examples-table{margin:.3rem 0 .4rem;background:#fff}
col.c-key{width:22%}col.c-file{width:26%}col.c-row{width:8%}col.c-col{width:16%}col.c-val{width:28%}
col.c-n{width:7rem}col.c-status{width:8rem}col.c-batch{width:10rem}col.c-observed{width:16rem}
col.c-level{width:6rem}col.c-suite{width:16rem}col.c-where{width:22rem}col.c-retract{width:24rem}
th.n{text-align:right}td.observed{overflow-wrap:anywhere}
details.suite,details.fold{border:1px solid #d9dde5;border-radius:6px;margin:.5rem 0;padding:.2rem .7rem}
details.suite>summary,details.fold>summary{cursor:pointer;padding:.3rem 0}
details.suite table,details.fold table{margin:.3rem 0 .6rem}
.filter{display:flex;gap:.8rem;align-items:center;flex-wrap:wrap}
.filter input[type=search]{font:inherit;padding:.25rem .5rem;min-width:22rem;border:1px solid #9aa3b5;border-radius:4px}
[hidden]{display:none!important}
@media print{details.suite{break-inside:avoid}.filter{display:none}}
"""


def _status(check: CheckResult) -> tuple[str, str]:
    if not check.evaluated:
        return ("fail", "NOT EVALUATED") if check.severity == "error" else ("warn", "not evaluated")
    if check.success:
        return "pass", "pass"
    return ("fail", "FAIL") if check.severity == "error" else ("warn", "warning")


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)  # the template escapes


def _rows_text(rows: list[int], n_unexpected: int | None) -> str:
    if not rows:
        return "the file as a whole"
    more = n_unexpected is None or n_unexpected > len(rows)
    text = ("rows " if len(rows) > 1 or more else "row ") + ", ".join(str(r) for r in rows)
    if more:
        text += f" and more ({n_unexpected:,} rows in all)" if n_unexpected else " and more"
    return text


def _anchor(prefix: str, text: str, taken: set[str]) -> str:
    base = f"{prefix}-{slug(text)}"[:80].rstrip("-")
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def _templates():
    """The Jinja2 environment of the project's pages (pipelines/templates/, with the
    figures report); autoescaped, and a missing variable is an error."""
    from pipelines.report import template_env

    return template_env()


def _suite(suites: dict[str, dict], name: str) -> dict:
    """A suite's line in the page's table of suites, made when first named."""
    return suites.setdefault(
        name,
        {"name": name, "checks": 0, "passed": 0, "errors": 0, "warnings": 0,
         "skipped": 0, "rows": []},
    )  # fmt: skip


def rows_section(result: AuditResult) -> str:
    """The page's section on which rows were checked: new rows since the watermark of the
    audit that published the current release, or all rows, and why (incremental.py)."""
    from markupsafe import escape

    state = result.incremental
    if not state:
        return ""
    if state.get("mode") == "new rows":
        lead = (
            "Row-level checks looked at the rows written since the audit that published "
            f"release {state.get('since_release')} (run {state.get('since_run')}); checks "
            "that span rows (uniqueness, minimum, maximum, shares, counts, reconciliations, "
            "lineage, the marts) looked at all rows."
        )
    else:
        lead = f"Every check looked at all rows: {state.get('reason') or 'a full audit'}."
    rows = []
    for key, scope in sorted(result.batch_scopes.items()):
        if scope.get("rows") == "new":
            seen = f"new rows since {scope.get('since')}"
            n = scope.get("new_rows")
        else:
            seen, n = "all rows", scope.get("all_rows")
        rows.append(
            f'<tr><td>{escape(key)}</td><td>{escape(seen)}</td><td class="n">{_num(n)}</td>'
            f'<td class="n">{_num(scope.get("all_rows"))}</td>'
            f'<td class="n">{_num(scope.get("checks_on_new_rows"))}</td>'
            f'<td class="n">{_num(scope.get("checks_on_all_rows"))}</td>'
            f'<td class="mono">{escape(scope.get("next_watermark") or "")}</td></tr>'
        )
    table = (
        '<table class="aligned"><thead><tr><th>batch</th><th>checked over</th>'
        '<th class="n">rows checked</th><th class="n">rows in all</th>'
        '<th class="n">checks on new rows</th><th class="n">checks on all rows</th>'
        "<th>next watermark</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        if rows
        else ""
    )
    return (
        '<h2 id="rows-scope">New rows or all rows</h2>'
        f"<p>{escape(lead)} The next audit starts from the watermarks below once this "
        "audit's release is published; a held audit moves nothing, so the rows it failed "
        f"on are checked again.</p>{table}"
    )


def render_html(result: AuditResult, extra_sections: str = "", history_href: str = "") -> str:
    """The validation page (templates/validation.html.j2): failures and warnings first,
    each with its examples (key, file, row, column, masked value); then every check
    folded by suite, with a filter; then which rows were checked (``rows_section``).
    ``history_href`` links the release history."""
    import markupsafe

    taken: set[str] = set()
    anchors = {id(c): _anchor("check", f"{c.suite} {c.check}", taken) for c in result.checks}

    def problem(c: CheckResult) -> dict:
        css, label = _status(c)
        return {"check": c, "css": css, "label": label, "anchor": anchors[id(c)]}

    order = {"fail": 0, "warn": 1, "pass": 2}
    suites: dict[str, dict] = {}
    for c in result.checks:
        s = _suite(suites, c.suite)
        s["checks"] += 1
        s["passed"] += int(c.success and c.evaluated)
        s["errors"] += int(c.blocks)
        s["warnings"] += int(c.warns)
        css, label = _status(c)
        row_css = {"fail": "row-fail", "warn": "row-warn"}.get(css, "")
        s["rows"].append(
            {"check": c, "css": css, "label": label, "row_css": row_css, "anchor": anchors[id(c)]}
        )
    for sk in result.skipped:
        _suite(suites, sk.suite)["skipped"] += sk.n_checks
    ordered = [suites[name] for name in sorted(suites)]
    for s in ordered:
        s["anchor"] = _anchor("suite", s["name"], taken)
        s["rows"].sort(key=lambda r: (order[r["css"]], r["check"].batch))

    decision_text = (
        "Every blocking check passed: the release may be published."
        if result.decision == "publish"
        else "At least one blocking check failed: nothing is published and the release "
        f"analysts see now ({result.previous_release or 'none'}) stays current."
    )
    timings = ", ".join(
        f"{k} {v:.1f} s" for k, v in result.timings.items() if isinstance(v, (int, float))
    )
    by_suite = result.timings.get("suites") or {}
    if by_suite:
        timings += " (" + ", ".join(f"{k} {v:.1f} s" for k, v in by_suite.items()) + ")"
    return (
        _templates()
        .get_template("validation.html.j2")
        .render(
            result=result,
            style=markupsafe.Markup(STYLE),
            decision_text=decision_text,
            n_passed=sum(1 for c in result.checks if c.success and c.evaluated),
            n_skipped=sum(s.n_checks for s in result.skipped),
            blocking=[problem(c) for c in result.blocking],
            warnings=[problem(c) for c in result.warnings],
            warning_skips=decision.skip_lines(result),
            unblock_files=result.unblocking_files() if result.blocking else [],
            untraced=[c for c in result.blocking if not c.sources],
            rows_text=_rows_text,
            suites=ordered,
            rows_checked=sorted(result.rows_checked.items()),
            num=_num,
            short=short,
            history_href=history_href,
            extra_sections=markupsafe.Markup(rows_section(result) + extra_sections),
            timings=timings,
        )
    )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(settings: Settings, result: AuditResult) -> None:
    folder = settings.reports_dir / result.run_id
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "validation.json"
    html_path = folder / "validation.html"
    result.report_json = str(json_path)
    result.report_html = str(html_path)
    payload = {**result.to_dict(), "report_html": str(html_path), "report_json": str(json_path)}
    _write_atomic(json_path, json.dumps(payload, indent=2, default=str))
    history_href = ""
    try:  # the release history, with this run in it; a help, not the record
        from pipelines import history

        page = history.write_history(settings)
        history_href = Path(os.path.relpath(page, folder)).as_posix()
    except Exception as exc:  # noqa: BLE001
        log.warning("release history not written: %s: %s", type(exc).__name__, exc)
    _write_atomic(html_path, render_html(result, history_href=history_href))
