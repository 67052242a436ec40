"""What an audit found: one ``CheckResult`` per expectation (with its ``Example`` rows
and the files behind them), one ``SkippedBatch`` per batch not run, and the
``AuditResult`` that holds them with the decision, as written to validation.json
(``to_dict``) and read back (``read_summary``).

Records only: the checks are run by gx_runner.py, the decision and remedies are worked
out by decision.py, the pages are drawn by report.py.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.audit import decision
from pipelines.audit.suites import DEFAULT_BATCH
from pipelines.audit.values import short


class Example(str):
    """One example as the report's one-line text, with its parts in ``fields`` (key,
    file, row, column, value, relation: see ``CheckResult.example_rows``)."""

    fields: dict

    def __new__(cls, text: str, **fields: Any) -> Example:
        made = super().__new__(cls, text)
        made.fields = fields
        return made


@dataclass
class CheckResult:
    suite: str
    check: str
    expectation: str
    column: str
    severity: str
    success: bool
    evaluated: bool
    batch: str = DEFAULT_BATCH
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: Any = None
    examples: list[str] = field(default_factory=list)
    # The files behind the unexpected rows, when the batch carries their origin: one dict
    # per file, {kind, file_name, load_id, rows (the first few row numbers in the file,
    # sorted; none when the batch's rows are files, as in a ledger check), n_unexpected}.
    sources: list[dict] = field(default_factory=list)
    error: str = ""
    # The examples as fields, for the report's tables: one dict per example, {key (the
    # row's key, e.g. its trace number), file, row (its number in the file), column,
    # value (personal data masked)}; any may be None when the batch does not carry it.
    example_rows: list[dict] = field(default_factory=list)
    # The rows it looked at: "all", or "new" (those written since the watermark of the
    # audit that published the current release; ``AuditResult.batch_scopes`` says which).
    scope: str = "all"
    # The expectation as it ran (type and resolved arguments, incremental.args_digest):
    # a later audit checks only new rows when this one passed with the same digest.
    args_digest: str = ""

    def __post_init__(self) -> None:
        if not self.example_rows:
            self.example_rows = [dict(e.fields) for e in self.examples if isinstance(e, Example)]
        self.examples = [str(e) for e in self.examples]

    @property
    def status(self) -> str:
        if not self.evaluated:
            return "not_evaluated"
        return "pass" if self.success else "fail"

    @property
    def blocks(self) -> bool:
        return self.severity == "error" and not (self.success and self.evaluated)

    @property
    def warns(self) -> bool:
        return self.severity != "error" and not (self.success and self.evaluated)

    def describe(self) -> str:
        text = f"{self.suite}: {self.check}"
        if not self.evaluated:
            return text + f" [not evaluated: {self.error}]"
        if self.unexpected_count:
            text += f" ({self.unexpected_count:,} of {self.element_count:,} rows)"
        elif self.observed_value is not None:
            text += f" (observed {short(self.observed_value)})"
        return text


@dataclass
class SkippedBatch:
    suite: str
    batch: str
    reason: str
    n_checks: int
    level: str  # info: nothing of that kind was loaded | warning: the model is missing


@dataclass
class AuditResult:
    run_id: str
    decision: str  # publish | hold
    checks: list[CheckResult]
    rows_checked: dict[str, int]
    skipped: list[SkippedBatch] = field(default_factory=list)
    mart_rows: dict[str, int] = field(default_factory=dict)
    previous_release: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    created_at: str = ""
    data_docs: str = ""
    data_docs_error: str = ""
    report_json: str = ""
    report_html: str = ""
    # Names that two loaded files share: a retract command names such a file by its load.
    shared_file_names: list[str] = field(default_factory=list)
    # Whether checks looked at new rows or all rows, and why (incremental.Plan.to_dict,
    # with the watermarks the next audit starts from once this release is published).
    incremental: dict = field(default_factory=dict)
    # Per batch with ``incremental_by``: {rows ("new" or "all"), since, new_rows,
    # all_rows, checks_on_new_rows, checks_on_all_rows, next_watermark}.
    batch_scopes: dict[str, dict] = field(default_factory=dict)

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocks]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.warns]

    def reasons(self) -> list[str]:
        return decision.reasons(self)

    def warning_lines(self) -> list[str]:
        return decision.warning_lines(self)

    def unblocking_files(self) -> list[dict]:
        """The files behind blocking failures (``decision.unblocking_files``)."""
        return decision.unblocking_files(self)

    def remedies(self) -> list[str]:
        """One line per file behind blocking failures (``decision.remedies``)."""
        return decision.remedies(self)

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "created_at": self.created_at,
            "decision": self.decision,
            "n_checks": len(self.checks),
            "n_passed": sum(1 for c in self.checks if c.success and c.evaluated),
            "n_blocking": len(self.blocking),
            "n_warnings": len(self.warnings),
            "n_skipped": sum(s.n_checks for s in self.skipped),
            "reasons": self.reasons(),
            "remedies": self.remedies(),
            "warnings": self.warning_lines(),
            "rows_checked": self.rows_checked,
            "mart_rows": self.mart_rows,
            "previous_release": self.previous_release,
            "data_docs": self.data_docs,
            "data_docs_error": self.data_docs_error,
            "timings": self.timings,
            "incremental": self.incremental,
            "batch_scopes": self.batch_scopes,
            "skipped": [asdict(s) for s in self.skipped],
            "checks": [{**asdict(c), "status": c.status} for c in self.checks],
        }


def read_summary(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
