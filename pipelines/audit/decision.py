"""The decision: publish, or hold the release; why (the blocking checks), what else to
look at (warnings, batches skipped for want of their model), and the way out (the files
behind blocking failures, their rows, and the command that takes each file back).

Functions of the checks' results only: they run nothing and read nothing. results.py
calls them for ``AuditResult``'s reasons, warnings and remedies.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.audit.results import AuditResult, CheckResult

SOURCE_ROWS = 5  # row numbers shown per file (a check's sources, a remedy)


def decide(checks: Iterable[CheckResult]) -> str:
    """``hold`` when any check blocks (a failed or unevaluated error), else ``publish``."""
    return "hold" if any(c.blocks for c in checks) else "publish"


def reasons(result: AuditResult) -> list[str]:
    return [c.describe() for c in result.blocking]


def skip_lines(result: AuditResult) -> list[str]:
    """The batches skipped because their model is missing (not those with nothing loaded)."""
    return [
        f"{s.suite}/{s.batch}: {s.n_checks} checks not run: {s.reason}"
        for s in result.skipped
        if s.level == "warning"
    ]


def warning_lines(result: AuditResult) -> list[str]:
    return [c.describe() for c in result.warnings] + skip_lines(result)


def unblocking_files(result: AuditResult) -> list[dict]:
    """The files behind blocking failures, one dict per file: kind, file_name, load_id,
    rows (the first few, sorted), all_rows_shown, whole_file (a check about the file
    itself failed, e.g. its ledger counts), checks (each blocking check failed,
    with its rows in the file and n_unexpected), retract (the command that takes the
    file back)."""
    files: dict[tuple, dict] = {}
    for check in result.blocking:
        for s in check.sources:
            key = (s["kind"], s["file_name"], s.get("load_id"))
            f = files.setdefault(
                key,
                {
                    "kind": s["kind"],
                    "file_name": s["file_name"],
                    "load_id": s.get("load_id"),
                    "rows": set(),
                    "all_rows_shown": True,
                    "whole_file": False,  # a check about the file (ledger), not its rows
                    "checks": [],
                },
            )
            f["rows"].update(s["rows"])
            if not s["rows"]:
                f["whole_file"] = True
            elif s["n_unexpected"] is None or s["n_unexpected"] > len(s["rows"]):
                f["all_rows_shown"] = False
            f["checks"].append(
                {"check": check.check, "rows": s["rows"], "n_unexpected": s["n_unexpected"]}
            )
    out = []
    for key in sorted(files, key=lambda k: tuple(str(x) for x in k)):
        f = files[key]
        rows = sorted(f["rows"])
        f["all_rows_shown"] = f["all_rows_shown"] and len(rows) <= SOURCE_ROWS
        f["rows"] = rows[:SOURCE_ROWS]
        # By load when the name does not say which file: two loaded files share it, or
        # the rows' load is not in the ledger (a lineage batch then says "load <id>").
        by_load = f["load_id"] and (
            f["file_name"] in result.shared_file_names or f["file_name"] == f"load {f['load_id']}"
        )
        target = f["load_id"] if by_load else f["file_name"]
        f["retract"] = f'tracepipe retract {shlex.quote(target)} --reason "..."'
        out.append(f)
    return out


def remedies(result: AuditResult) -> list[str]:
    """One line per file behind blocking failures: which rows fail how many blocking
    checks, and how to take the file back (or land a corrected copy)."""
    lines = []
    for f in unblocking_files(result):
        where = f"{f['kind']}/{f['file_name']}" if f["kind"] else f["file_name"]
        if f["load_id"]:
            where += f" (load {f['load_id']})"
        parts = []
        if f["rows"]:
            several = len(f["rows"]) > 1 or not f["all_rows_shown"]
            parts.append(
                ("rows " if several else "row ")
                + ", ".join(str(r) for r in f["rows"])
                + ("" if f["all_rows_shown"] else " and more")
            )
        if f["whole_file"]:
            parts.append("the file")
        verb = "fail" if len(parts) > 1 or parts[0].startswith("rows") else "fails"
        n = len(f["checks"])
        checks = f"{n} blocking check{'' if n == 1 else 's'}"
        lines.append(
            f"{where}: {' and '.join(parts)} {verb} {checks}; take the file back with: "
            f"{f['retract']}  (or land a corrected copy of the file)"
        )
    return lines
