"""Audit: the expectation suites (Great Expectations) run over what dbt built.

Suites live in ``expectations/suites/*.json`` in GX's own suite format. Each expectation
carries its severity in ``meta.severity``: an ``error`` that fails holds the release, a
``warning`` is reported. An expectation that could not be evaluated (a metric that
failed to compute) counts as a failed error, never as a pass.

The outcome is a decision (publish or hold) and a validation report, in JSON for the
command line and Airflow, and as one self-contained HTML page for reviewers.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines import privacy
from pipelines.config import Settings
from pipelines.warehouse import connect

log = logging.getLogger(__name__)

EXAMPLES = 5


@dataclass
class CheckResult:
    suite: str
    check: str
    expectation: str
    column: str
    severity: str
    success: bool
    evaluated: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: Any = None
    examples: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def blocks(self) -> bool:
        return self.severity == "error" and not (self.success and self.evaluated)


@dataclass
class AuditResult:
    run_id: str
    decision: str  # publish | hold
    checks: list[CheckResult]
    rows_checked: dict[str, int]
    report_json: str = ""
    report_html: str = ""

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocks]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.severity != "error" and not c.success]

    def reasons(self) -> list[str]:
        return [
            f"{c.suite}: {c.check}"
            + (f" ({c.unexpected_count} rows)" if c.unexpected_count else "")
            + (f" [not evaluated: {c.error}]" if not c.evaluated else "")
            for c in self.blocking
        ]

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "decision": self.decision,
            "n_checks": len(self.checks),
            "n_blocking": len(self.blocking),
            "n_warnings": len(self.warnings),
            "reasons": self.reasons(),
            "rows_checked": self.rows_checked,
            "checks": [asdict(c) for c in self.checks],
        }


def load_suites(settings: Settings) -> list[dict]:
    suites = []
    for path in sorted((settings.expectations_dir / "suites").glob("*.json")):
        suites.append(json.loads(path.read_text(encoding="utf-8")))
    if not suites:
        raise RuntimeError(f"no expectation suites found in {settings.expectations_dir}/suites")
    return suites


def suite_frame(settings: Settings, suite: dict) -> pd.DataFrame:
    batch = suite["meta"]["batch"]
    columns = ", ".join(f'"{c}"' for c in batch["columns"])
    with connect(settings, read_only=True) as con:
        return con.execute(f"select {columns} from {batch['relation']}").df()


def _gx():
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, context


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return str(value)
    return value


def validate_suite(gx, context, suite_def: dict, frame: pd.DataFrame) -> list[CheckResult]:
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    name = suite_def["name"]
    index_columns = suite_def["meta"].get("index_columns", [])
    suite = gx.ExpectationSuite(name=name)
    for spec in suite_def["expectations"]:
        config = ExpectationConfiguration(
            type=spec["type"], kwargs=spec["kwargs"], meta=spec.get("meta", {})
        )
        suite.add_expectation(config.to_domain_obj())
    suite = context.suites.add(suite)
    source = context.data_sources.add_pandas(f"{name}_source")
    asset = source.add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe("whole")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{name}_validation", data=batch, suite=suite)
    )
    outcome = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": index_columns,
            "partial_unexpected_count": EXAMPLES,
        },
    )
    checks = []
    for result in outcome.results:
        config = result.expectation_config
        meta = config.meta or {}
        kwargs = config.kwargs
        column = kwargs.get("column") or ",".join(
            str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs
        )
        info = result.exception_info or {}
        raised = bool(info.get("raised_exception")) or any(
            isinstance(v, dict) and v.get("raised_exception") for v in info.values()
        )
        body = result.result or {}
        unexpected = body.get("unexpected_count")
        observed = body.get("observed_value")
        evaluated = not raised and (unexpected is not None or observed is not None)
        examples = []
        for item in (body.get("unexpected_index_list") or [])[:EXAMPLES]:
            if isinstance(item, dict):
                examples.append(
                    ", ".join(f"{k}={privacy.mask_value(k, _jsonable(v))}" for k, v in item.items())
                )
        if not examples:
            examples = [
                str(privacy.mask_value(column, _jsonable(v)))
                for v in (body.get("partial_unexpected_list") or [])[:EXAMPLES]
            ]
        error = ""
        if raised:
            messages = [info.get("exception_message")] + [
                v.get("exception_message") for v in info.values() if isinstance(v, dict)
            ]
            error = "; ".join(m for m in messages if m)[:300]
        checks.append(
            CheckResult(
                suite=name,
                check=meta.get("check", config.type),
                expectation=config.type,
                column=column,
                severity=meta.get("severity", "error"),
                success=bool(result.success),
                evaluated=evaluated,
                element_count=_jsonable(body.get("element_count")),
                unexpected_count=_jsonable(unexpected),
                unexpected_percent=_jsonable(body.get("unexpected_percent")),
                observed_value=_jsonable(observed),
                examples=examples,
                error=error or ("" if evaluated else "the expectation produced no result"),
            )
        )
    return checks


def audit(
    settings: Settings,
    run_id: str | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
) -> AuditResult:
    """Run every suite; ``frames`` replaces a suite's data (tests use it)."""
    run_id = run_id or dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    gx, context = _gx()
    checks: list[CheckResult] = []
    rows: dict[str, int] = {}
    for suite_def in load_suites(settings):
        name = suite_def["name"]
        frame = (frames or {}).get(name)
        if frame is None:
            frame = suite_frame(settings, suite_def)
        rows[name] = len(frame)
        checks.extend(validate_suite(gx, context, suite_def, frame))
    decision = "hold" if any(c.blocks for c in checks) else "publish"
    result = AuditResult(run_id=run_id, decision=decision, checks=checks, rows_checked=rows)
    write_report(settings, result)
    log.info(
        "audit %s: %d checks, %d blocking, %d warnings -> %s",
        run_id,
        len(checks),
        len(result.blocking),
        len(result.warnings),
        decision,
    )
    return result


# --- the report ------------------------------------------------------------------------

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}.muted{color:#5b6475}
.decision{display:inline-block;padding:.35rem .8rem;border-radius:4px;font-weight:600;color:#fff}
.publish{background:#1f7a3f}.hold{background:#b3261e}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #d9dde5;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f4f8;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1f7a3f;font-weight:600}.fail{color:#b3261e;font-weight:600}.warn{color:#9a6700;font-weight:600}
code{font-size:12px;background:#f2f4f8;padding:0 .2rem;border-radius:3px}
"""


def _status(check: CheckResult) -> tuple[str, str]:
    if not check.evaluated:
        return "fail", "NOT EVALUATED"
    if check.success:
        return "pass", "pass"
    return ("fail", "FAIL") if check.severity == "error" else ("warn", "warning")


def render_html(result: AuditResult, extra_sections: str = "") -> str:
    rows = []
    ordered = sorted(
        result.checks, key=lambda c: (c.success and c.evaluated, c.severity != "error")
    )
    for c in ordered:
        css, label = _status(c)
        examples = "<br>".join(html.escape(e) for e in c.examples) if not c.success else ""
        observed = "" if c.observed_value is None else html.escape(str(c.observed_value))
        rows.append(
            f"<tr><td class='{css}'>{label}</td><td>{html.escape(c.severity)}</td>"
            f"<td>{html.escape(c.suite)}</td><td>{html.escape(c.check)}<br>"
            f"<code>{html.escape(c.expectation)}</code> <span class='muted'>{html.escape(c.column)}</span>"
            f"{('<br><span class=fail>' + html.escape(c.error) + '</span>') if c.error else ''}</td>"
            f"<td class='n'>{'' if c.element_count is None else c.element_count}</td>"
            f"<td class='n'>{'' if c.unexpected_count is None else c.unexpected_count}</td>"
            f"<td>{observed}</td><td>{examples}</td></tr>"
        )
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in result.reasons())
    counts = ", ".join(f"{k}: {v:,} rows" for k, v in result.rows_checked.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Validation report {html.escape(result.run_id)}</title>
<style>{STYLE}</style></head><body>
<h1>Validation report</h1>
<p class="muted">Run {html.escape(result.run_id)} &middot; {len(result.checks)} checks &middot; {html.escape(counts)}</p>
<p><span class="decision {result.decision}">Decision: {result.decision.upper()}</span>
&nbsp; {len(result.blocking)} blocking failures, {len(result.warnings)} warnings</p>
{f"<h2>Why the release is held</h2><ul>{reasons}</ul>" if reasons else ""}
<h2>Checks</h2>
<p class="muted">Errors block publishing; warnings are reported. Examples name the row by its
trace number; personal data is never shown.</p>
<table><thead><tr><th>status</th><th>severity</th><th>suite</th><th>check</th>
<th>rows</th><th>unexpected</th><th>observed</th><th>examples</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
{extra_sections}
</body></html>
"""


def write_report(settings: Settings, result: AuditResult) -> None:
    folder = settings.reports_dir / result.run_id
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "validation.json"
    html_path = folder / "validation.html"
    json_path.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    html_path.write_text(render_html(result), encoding="utf-8")
    result.report_json = str(json_path)
    result.report_html = str(html_path)


def read_summary(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
