"""Audit: the expectation suites (Great Expectations) run over what was built, and decide.

Suites live in ``expectations/suites/*.json`` in GX's own suite format: one per source
(trace, seizures, licensees, multiple sales) and one for the marts. Each expectation
carries its severity in ``meta.severity``: an ``error`` that fails holds the release, a
``warning`` is reported. An expectation that could not be evaluated (a metric that
failed to compute, a column that is not there) counts as failed, never as a pass.

A suite checks one or more *batches*, each a data frame handed to GX's pandas source:

- ``relation`` + ``columns``: those columns of a warehouse table or view;
- ``query``: the rows of a SQL query over the warehouse (a string, or a list of lines),
  used for checks that are not about one table: reconciliation against the load ledger,
  lineage from a model back to the raw rows and the files they came from;
- ``builtin``: a frame computed here, for checks about the release as a whole:
  ``volume`` (row counts against the current release's manifest), ``personal_data``
  (every column of every mart to be published), ``mart_coverage`` (which marts have a
  reconciliation check).

``meta.batch`` is the suite's default batch, ``meta.batches`` names further ones and an
expectation picks one with ``meta.batch``. A batch can say when it applies:
``meta.source`` on the suite (or ``requires_kinds`` on a batch) skips it quietly when no
file of that kind was loaded; ``requires`` lists relations it reads, and an ``optional``
batch whose relations do not exist yet is skipped with a warning in the report (a
required one fails instead). Expectation arguments may hold ``{"$query": sql}`` (the
values of the first column, e.g. a reference table's codes) and ``{"$date": "today"}``
or ``{"$date": "YYYY-MM-DD"}``.

No frame may hold a personal-data column: examples in the report come from the frames
(and are masked by column name besides), so personal data cannot reach them.

The outcome is a decision (publish or hold) and a validation report: JSON for the
command line and Airflow, and one self-contained HTML page for reviewers
(templates/validation.html.j2). GX Data Docs are not written: they need the network.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
import shlex
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines import gx_duckdb, privacy
from pipelines.config import Settings
from pipelines.reference import MART_SCHEMA
from pipelines.warehouse import connect

log = logging.getLogger(__name__)

EXAMPLES = 5
SEVERITIES = ("error", "warning")
DEFAULT_BATCH = "main"
# Personal values shorter than this are not searched for in the marts (too many
# accidental matches with codes and short words).
MIN_PERSONAL_VALUE_LENGTH = 5
# Batches of at least this many rows are validated in narrow pieces (see _groups).
NARROW_FROM_ROWS = 20_000
# Where a row came from: a batch whose frame has file_name (and file_row_number, load_id)
# names the files and rows behind a failure (CheckResult.sources, AuditResult.remedies).
ORIGIN_COLUMNS = ("file_name", "file_row_number", "load_id")
SOURCE_ROWS = 5  # row numbers shown per file


class SuiteError(RuntimeError):
    """A suite file is malformed: say which file and what is wrong."""


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
            text += f" (observed {_short(self.observed_value)})"
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

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocks]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.warns]

    def reasons(self) -> list[str]:
        return [c.describe() for c in self.blocking]

    def warning_lines(self) -> list[str]:
        lines = [c.describe() for c in self.warnings]
        lines += [
            f"{s.suite}/{s.batch}: {s.n_checks} checks not run: {s.reason}"
            for s in self.skipped
            if s.level == "warning"
        ]
        return lines

    def unblocking_files(self) -> list[dict]:
        """The files behind blocking failures, one dict per file: kind, file_name, load_id,
        rows (the first few, sorted), all_rows_shown, whole_file (a check about the file
        itself failed, e.g. its ledger counts), checks (each blocking check failed,
        with its rows in the file and n_unexpected), retract (the command that takes the
        file back)."""
        files: dict[tuple, dict] = {}
        for check in self.blocking:
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
                f["file_name"] in self.shared_file_names or f["file_name"] == f"load {f['load_id']}"
            )
            target = f["load_id"] if by_load else f["file_name"]
            f["retract"] = f'tracepipe retract {shlex.quote(target)} --reason "..."'
            out.append(f)
        return out

    def remedies(self) -> list[str]:
        """One line per file behind blocking failures: which rows fail how many blocking
        checks, and how to take the file back (or land a corrected copy)."""
        lines = []
        for f in self.unblocking_files():
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
            "skipped": [asdict(s) for s in self.skipped],
            "checks": [{**asdict(c), "status": c.status} for c in self.checks],
        }


# --- suites ----------------------------------------------------------------------------


def load_suites(settings: Settings) -> list[dict]:
    suites = []
    for path in sorted((settings.expectations_dir / "suites").glob("*.json")):
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}: not valid JSON ({exc})") from exc
        check_suite(suite, path)
        suites.append(suite)
    if not suites:
        raise SuiteError(f"no expectation suites found in {settings.expectations_dir}/suites")
    names = [s["name"] for s in suites]
    if len(set(names)) != len(names):
        raise SuiteError(f"two suite files share a name: {sorted(names)}")
    return suites


def suite_batches(suite: dict) -> dict[str, dict]:
    meta = suite.get("meta", {})
    batches: dict[str, dict] = {}
    if "batch" in meta:
        batches[DEFAULT_BATCH] = {
            "index": meta.get("index_columns", []),
            **meta["batch"],
        }
    batches.update(meta.get("batches", {}))
    return batches


def default_batch(suite: dict) -> str:
    return suite.get("meta", {}).get("default_batch") or next(iter(suite_batches(suite)))


def expectation_batch(suite: dict, spec: dict) -> str:
    return (spec.get("meta") or {}).get("batch") or default_batch(suite)


def check_suite(suite: dict, path: Path | str = "") -> None:
    """Refuse a suite file whose checks would not say what they check or how much it matters."""
    where = f"{path}" if path else f"suite {suite.get('name')}"
    if not suite.get("name"):
        raise SuiteError(f"{where}: the suite has no name")
    batches = suite_batches(suite)
    if not batches:
        raise SuiteError(f"{where}: meta.batch or meta.batches must say what data it checks")
    for name, spec in batches.items():
        kinds = [k for k in ("relation", "query", "builtin") if k in spec]
        if len(kinds) != 1:
            raise SuiteError(
                f"{where}: batch {name!r} needs exactly one of relation, query, builtin"
            )
        if "relation" in spec and not spec.get("columns"):
            raise SuiteError(f"{where}: batch {name!r} reads a relation but lists no columns")
        leaked = [c for c in spec.get("columns", []) if privacy.is_pii(c)]
        if leaked:
            raise SuiteError(f"{where}: batch {name!r} would read personal data: {leaked}")
    seen: set[str] = set()
    for n, spec in enumerate(suite.get("expectations", []), start=1):
        meta = spec.get("meta") or {}
        label = f"{where}: expectation #{n} ({spec.get('type')})"
        if meta.get("severity") not in SEVERITIES:
            raise SuiteError(f"{label}: meta.severity must be one of {SEVERITIES}")
        if not meta.get("check"):
            raise SuiteError(f"{label}: meta.check must say in words what is checked")
        if expectation_batch(suite, spec) not in batches:
            raise SuiteError(f"{label}: meta.batch {meta.get('batch')!r} is not a batch")
        if meta["check"] in seen:
            raise SuiteError(f"{label}: another check already says {meta['check']!r}")
        seen.add(meta["check"])


# --- data for the batches --------------------------------------------------------------


def _sql(spec: dict) -> str:
    query = spec["query"]
    return "\n".join(query) if isinstance(query, list) else query


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog not in ('temp', 'system')"
    ).fetchall()
    return {f"{s}.{t}" for s, t in rows}


def _loaded_kinds(con: duckdb.DuckDBPyConnection, relations: set[str]) -> dict[str, int]:
    if "meta.load_ledger" not in relations:
        return {}
    rows = con.execute(
        "select kind, sum(rows_loaded) from meta.load_ledger where status = 'loaded' group by kind"
    ).fetchall()
    return {kind: int(n or 0) for kind, n in rows}


def _mart_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_type = 'BASE TABLE' and table_catalog not in ('temp', 'system') "
            "order by 1",
            [MART_SCHEMA],
        ).fetchall()
    ]
    return {
        t: con.execute(f'select count(*) from {MART_SCHEMA}."{t}"').fetchall()[0][0] for t in tables
    }


def _shared_file_names(con: duckdb.DuckDBPyConnection, relations: set[str]) -> list[str]:
    """Names that more than one loaded file has (a retract must name such a file by load)."""
    if "meta.load_ledger" not in relations:
        return []
    rows = con.execute(
        "select file_name from meta.load_ledger where status = 'loaded' "
        "group by file_name having count(distinct load_id) > 1 order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def previous_manifest(settings: Settings) -> dict | None:
    """The manifest of the release analysts see now (what this run would replace)."""
    path = settings.current_link / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _resolve(value: Any, con: duckdb.DuckDBPyConnection) -> Any:
    """Expectation arguments: ``{"$query": sql}`` and ``{"$date": ...}`` made concrete."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "$query":
            return [r[0] for r in con.execute(arg).fetchall()]
        if key == "$date":
            return pd.Timestamp(dt.date.today() if arg == "today" else dt.date.fromisoformat(arg))
    if isinstance(value, dict):
        return {k: _resolve(v, con) for k, v in value.items()}
    if isinstance(value, list):
        out: list = []
        for v in value:
            # A ``$query`` inside a list stands for its values, spliced in.
            if isinstance(v, dict) and set(v) == {"$query"}:
                out.extend(_resolve(v, con))
            else:
                out.append(_resolve(v, con))
        return out
    return value


def _label(frame: pd.DataFrame, index: list[str], position: Any) -> Any:
    """A row's key (e.g. its trace number), so examples name the rows GX reports by
    position. (A labelled pandas index would do the same but makes GX several times
    slower on large frames.)"""
    present = [c for c in index if c in frame.columns]
    if not present or not isinstance(position, int) or not 0 <= position < len(frame):
        return position
    values = [frame[c].iat[position] for c in present]
    shown = ["<blank>" if v is None or v is pd.NA or v != v else str(_jsonable(v)) for v in values]
    return (
        shown[0]
        if len(present) == 1
        else ", ".join(f"{c}={v}" for c, v in zip(present, shown, strict=True))
    )


def _blank(value: Any) -> bool:
    return value is None or value is pd.NA or value != value


def _origin(frame: pd.DataFrame, position: Any) -> str:
    """Where a row came from (``file row N``), when the batch carries it; else ''."""
    if not {"file_name", "file_row_number"} <= set(frame.columns):
        return ""
    if not isinstance(position, int) or not 0 <= position < len(frame):
        return ""
    name, row = frame["file_name"].iat[position], frame["file_row_number"].iat[position]
    if _blank(name) or _blank(row):
        return ""
    return f"{name} row {_jsonable(row)}"


def _sources(batch: _Batch, positions: list, complete: bool) -> list[dict]:
    """The files behind a check's unexpected rows (GX reports them by position), one dict
    per file with its first row numbers and, when GX gave every position, how many of
    the unexpected rows it holds (else ``n_unexpected`` is None)."""
    frame = batch.frame
    if frame is None or "file_name" not in frame.columns or not positions:
        return []
    rows = [p for p in positions if isinstance(p, int) and 0 <= p < len(frame)]
    origin = frame[[c for c in ORIGIN_COLUMNS if c in frame.columns]].iloc[rows]
    keys = [c for c in ("file_name", "load_id") if c in origin.columns]
    kind = batch.suite.get("meta", {}).get("source")
    out = []
    for key, group in origin.groupby(keys, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        name, load_id = (list(key) + [None])[:2]
        if _blank(name):
            continue
        numbers = []
        if "file_row_number" in group.columns:
            numbers = group["file_row_number"].dropna().drop_duplicates().nsmallest(SOURCE_ROWS)
        out.append(
            {
                "kind": kind,
                "file_name": str(name),
                "load_id": None if _blank(load_id) else str(load_id),
                "rows": [int(n) for n in numbers],
                "n_unexpected": len(group) if complete else None,
            }
        )
    return out


def _sql_sources(batch: _Batch, body: dict, query: str, source) -> list[dict]:
    """The files behind a check's unexpected rows in the warehouse: GX's query of them
    (``unexpected_index_query``, over the batch's query), counted file by file."""
    unexpected = body.get("unexpected_index_query")
    if not unexpected or source is None or "file_name" not in batch.columns:
        return []
    # GX writes a query asset's text after FROM without parentheses.
    text = unexpected.rstrip().rstrip(";")
    head = f"FROM {query}"
    if head not in text:
        return []
    text = text.replace(head, f"FROM ({query}) AS gx_rows", 1)
    has_load = "load_id" in batch.columns and "load_id" in text.split("FROM", 1)[0]
    has_rows = "file_row_number" in text.split("FROM", 1)[0]
    rows = (
        f"list(distinct file_row_number order by file_row_number)[1:{SOURCE_ROWS}]"
        if has_rows
        else "[]::bigint[]"
    )
    load = "load_id" if has_load else "null::varchar"
    try:
        found = gx_duckdb.execute(
            source,
            f"select file_name, {load} as load_id, count(*), {rows} "
            f"from ({text}) as u where file_name is not null group by all order by 1, 2",
        )
    except Exception as exc:  # noqa: BLE001 — the counts are a help to the reader
        log.debug("files of %s not counted: %s", batch.key, exc)
        return []
    kind = batch.suite.get("meta", {}).get("source")
    return [
        {
            "kind": kind,
            "file_name": str(name),
            "load_id": None if load_id is None else str(load_id),
            "rows": [int(n) for n in numbers or [] if n is not None],
            "n_unexpected": int(n),
        }
        for name, load_id, n, numbers in found
    ]


def fetch_frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """A query's rows as a pandas frame, through Arrow: text stays Arrow-backed (GX's
    text checks are fastest on it, and each piece of a batch is narrow, see _groups),
    dates become datetime64, the index is plain positions."""
    return con.execute(sql).to_arrow_table().to_pandas(date_as_object=False)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame given by a caller (tests), indexed like ``fetch_frame``'s."""
    return frame.reset_index(drop=True)


@dataclass
class _Batch:
    suite: dict
    name: str
    spec: dict
    expectations: list[dict]
    frame: pd.DataFrame | None = None
    missing: str = ""  # why the data could not be read (the checks then fail)
    # A batch of the warehouse's rows is a query GX runs in DuckDB (``gx_duckdb``):
    # its SQL, its columns and (once known) its row count. Frames are for builtins.
    sql: str | None = None
    columns: list[str] = field(default_factory=list)
    n_rows: int | None = None

    @property
    def key(self) -> str:
        suite = self.suite["name"]
        return suite if self.name == default_batch(self.suite) else f"{suite}.{self.name}"


@dataclass
class _Context:
    settings: Settings
    con: duckdb.DuckDBPyConnection
    relations: set[str]
    loaded: dict[str, int]
    mart_rows: dict[str, int]
    previous: dict | None
    reconciled: set[str]


def _skip_reason(batch: _Batch, ctx: _Context) -> tuple[str, str] | None:
    suite_kind = batch.suite.get("meta", {}).get("source")
    kinds = list(batch.spec.get("requires_kinds", [])) + ([suite_kind] if suite_kind else [])
    for kind in kinds:
        if not ctx.loaded.get(kind):
            return "info", f"no {kind} export has been loaded, so there is nothing to check"
    needed = list(batch.spec.get("requires", []))
    if "relation" in batch.spec:
        needed.append(batch.spec["relation"])
    absent = [r for r in needed if r not in ctx.relations]
    if absent and batch.spec.get("optional"):
        return "warning", (
            f"{', '.join(absent)} does not exist in the warehouse (not built yet); "
            "these checks did not run"
        )
    return None


def batch_sql(spec: dict, relations: set[str]) -> str:
    """The query of a batch of warehouse rows (``relation`` + ``columns``, or ``query``)."""
    needed = list(spec.get("requires", []))
    if "relation" in spec:
        needed.insert(0, spec["relation"])
    absent = [r for r in needed if r not in relations]
    if absent:
        raise LookupError(f"{', '.join(absent)} does not exist in the warehouse")
    if "relation" in spec:
        columns = ", ".join(f'"{c}"' for c in spec["columns"])
        return f"select {columns} from {spec['relation']}"
    return _sql(spec)


def _plan_sql(batch: _Batch, ctx: _Context) -> None:
    """A batch of warehouse rows, left in the warehouse: its query and columns."""
    batch.sql = batch_sql(batch.spec, ctx.relations)
    cursor = ctx.con.execute(f"select * from ({batch.sql}) as b limit 0")
    batch.columns = [d[0] for d in cursor.description]
    leaked = [c for c in batch.columns if privacy.is_pii(str(c))]
    if leaked:
        raise SuiteError(
            f"suite {batch.suite['name']}, batch {batch.name}: the query returns personal-data "
            f"columns {leaked}; leave them out (examples and Data Docs show their values)"
        )


def _read_batch(batch: _Batch, ctx: _Context) -> pd.DataFrame:
    spec = batch.spec
    if "relation" in spec or "query" in spec:
        return fetch_frame(ctx.con, batch_sql(spec, ctx.relations))
    else:
        builder = BUILTINS.get(spec["builtin"])
        if builder is None:
            raise LookupError(f"no builtin batch named {spec['builtin']!r}")
        frame = builder(ctx)
    return frame


def _guard_personal_data(batch: _Batch, frame: pd.DataFrame) -> None:
    leaked = [c for c in frame.columns if privacy.is_pii(str(c))]
    if leaked:
        raise SuiteError(
            f"suite {batch.suite['name']}, batch {batch.name}: the frame holds personal-data "
            f"columns {leaked}; leave them out (examples and Data Docs show frame values)"
        )


# --- builtin batches -------------------------------------------------------------------


def _volume(ctx: _Context) -> pd.DataFrame:
    """One row per mart and per source: rows now against the current release."""
    previous = ctx.previous or {}
    before_marts = previous.get("marts") or {}
    before_sources = {k: v.get("loaded") for k, v in (previous.get("rows_by_kind") or {}).items()}
    rows = []
    for layer, now, before in (
        ("mart", ctx.mart_rows, before_marts),
        ("source", ctx.loaded, before_sources),
    ):
        for name in sorted(set(now) | set(before)):
            current = int(now.get(name, 0))
            prior = before.get(name)
            ratio = (current / prior) if prior else None
            rows.append(
                {
                    "label": (
                        f"{layer} {name}: {current:,} rows"
                        + (" (none in the current release)" if prior is None
                           else f" (the current release has {prior:,})")
                    ),
                    "layer": layer,
                    "name": name,
                    "previous_rows": prior,
                    "current_rows": current,
                    "change_ratio": ratio,
                    "is_emptied": bool(prior) and current == 0,
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "label",
            "layer",
            "name",
            "previous_rows",
            "current_rows",
            "change_ratio",
            "is_emptied",
        ],
    )
    frame["change_ratio"] = frame["change_ratio"].astype("float64")
    frame["previous_rows"] = frame["previous_rows"].astype("float64")
    return frame


def _personal_data(ctx: _Context) -> pd.DataFrame:
    """One row per column of every mart to be published: is it personal data by its name,
    and how many of its values equal a purchaser's name or address (``n_personal_values``)
    or ID number (``n_id_number_values``) found in the raw or quarantine layer."""
    con = ctx.con
    texts = privacy.personal_data_columns(compare_values="text")
    id_numbers = privacy.personal_data_columns(compare_values="id_number")
    sources = con.execute(
        "select table_schema, table_name, lower(column_name) from information_schema.columns "
        "where table_schema in ('raw', 'quarantine') and table_catalog not in ('temp', 'system') "
        "and list_contains(?, lower(column_name))",
        [sorted(texts | id_numbers)],
    ).fetchall()
    for kind, names in (("_personal_values", texts), ("_id_number_values", id_numbers)):
        selects = [
            f'select upper(trim("{c}")) as v from {s}."{t}" '
            f'where length(trim("{c}")) >= {MIN_PERSONAL_VALUE_LENGTH}'
            for s, t, c in sources
            if c in names
        ]
        con.execute(
            f"create or replace temp table {kind} as "
            + (" union ".join(selects) if selects else "select null::varchar as v where false")
        )  # union: distinct values, so a join counts each mart value once
    columns = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_catalog not in ('temp', 'system') "
        "order by table_name, ordinal_position",
        [MART_SCHEMA],
    ).fetchall()
    # Every text value of every mart, against both sets, in one join.
    texts: dict[str, list[str]] = {}
    for table, column, data_type in columns:
        if data_type.upper() == "VARCHAR":
            texts.setdefault(table, []).append(column)
    found: dict[tuple[str, str], tuple[int, int]] = {}
    if texts:
        values = " union all ".join(
            f"select '{table}' as mart, column_name, upper(trim(v)) as v from (unpivot "
            f"(select {', '.join(_ident(c) for c in cols)} from {MART_SCHEMA}.{_ident(table)}) "
            "on columns(*) into name column_name value v)"
            for table, cols in texts.items()
        )
        for mart, column, personal, ids in con.execute(
            f"with mart_values as ({values}) "
            "select m.mart, m.column_name, count(p.v), count(i.v) from mart_values m "
            "left join _personal_values p on p.v = m.v left join _id_number_values i on i.v = m.v "
            "group by all"
        ).fetchall():
            found[(mart, column)] = (int(personal), int(ids))
    rows = []
    for table, column, data_type in columns:
        personal, ids = found.get((table, column), (0, 0))
        rows.append(
            {
                "label": f"{table}.{column}",
                "mart": table,
                "column_name": column,
                "data_type": data_type,
                "is_personal_name": _is_personal_name(column),
                "n_personal_values": personal,
                "n_id_number_values": ids,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "label",
            "mart",
            "column_name",
            "data_type",
            "is_personal_name",
            "n_personal_values",
            "n_id_number_values",
        ],
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_personal_name(column: str) -> bool:
    return privacy.is_personal_data_column(column)


def _shared_suppression(ctx: _Context) -> pd.DataFrame:
    """One row per mart meant for sharing (``shared_*``): counts from 1 to 4 left visible."""
    rows = []
    for name in sorted(n for n in ctx.mart_rows if n.startswith("shared_")):
        columns = {
            r[0]
            for r in ctx.con.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? and table_catalog not in ('temp', 'system')",
                [MART_SCHEMA, name],
            ).fetchall()
        }
        has_counts = {"n_firearms", "is_suppressed"} <= columns
        shown = None
        if has_counts:
            shown = ctx.con.execute(
                f'select count(*) from {MART_SCHEMA}."{name}" '
                "where not coalesce(is_suppressed, false) and n_firearms between 1 and 4"
            ).fetchall()[0][0]
        rows.append({"mart": name, "has_count_columns": has_counts, "n_small_counts_shown": shown})
    frame = pd.DataFrame(rows, columns=["mart", "has_count_columns", "n_small_counts_shown"])
    frame["n_small_counts_shown"] = frame["n_small_counts_shown"].astype("float64")
    return frame


def _mart_coverage(ctx: _Context) -> pd.DataFrame:
    rows = [
        {"mart": name, "has_reconciliation": name in ctx.reconciled}
        for name in sorted(ctx.mart_rows)
    ]
    return pd.DataFrame(rows, columns=["mart", "has_reconciliation"])


BUILTINS = {
    "volume": _volume,
    "personal_data": _personal_data,
    "mart_coverage": _mart_coverage,
    "shared_suppression": _shared_suppression,
}


def plan_batches(
    settings: Settings,
    suites: list[dict],
    frames: dict[str, pd.DataFrame] | None = None,
) -> tuple[list[_Batch], list[SkippedBatch], dict[str, int], dict | None]:
    """Read every batch's frame (one read-only connection) and decide what to skip."""
    frames = frames or {}
    batches: list[_Batch] = []
    for suite in suites:
        grouped: dict[str, list[dict]] = {}
        for spec in suite.get("expectations", []):
            grouped.setdefault(expectation_batch(suite, spec), []).append(spec)
        for name, spec in suite_batches(suite).items():
            if grouped.get(name):
                batches.append(_Batch(suite, name, spec, grouped[name]))
    skipped: list[SkippedBatch] = []
    ready: list[_Batch] = []
    previous = previous_manifest(settings)
    with connect(settings, read_only=True) as con:
        relations = _relations(con)
        ctx = _Context(
            settings=settings,
            con=con,
            relations=relations,
            loaded=_loaded_kinds(con, relations),
            mart_rows=_mart_rows(con)
            if any(r.startswith(f"{MART_SCHEMA}.") for r in relations)
            else {},
            previous=previous,
            reconciled=set(),
        )
        # Builtins last: mart coverage needs to know which reconciliations will run.
        for batch in sorted(batches, key=lambda b: "builtin" in b.spec):
            override = frames.get(batch.key)
            if override is None and batch.name == default_batch(batch.suite):
                override = frames.get(batch.suite["name"])
            if override is None:
                skip = _skip_reason(batch, ctx)
                if skip:
                    level, reason = skip
                    skipped.append(
                        SkippedBatch(
                            batch.suite["name"], batch.name, reason, len(batch.expectations), level
                        )
                    )
                    continue
            try:
                if override is None and "builtin" not in batch.spec:
                    _plan_sql(batch, ctx)
                else:
                    frame = override if override is not None else _read_batch(batch, ctx)
                    _guard_personal_data(batch, frame)
                    batch.frame = _plain(frame) if override is not None else frame
                for expectation in batch.expectations:
                    expectation["kwargs"] = _resolve(expectation.get("kwargs", {}), con)
                reconciles = batch.spec.get("reconciles") or []
                ctx.reconciled.update([reconciles] if isinstance(reconciles, str) else reconciles)
            except SuiteError:
                raise
            except (duckdb.Error, LookupError, ValueError) as exc:
                batch.missing = f"{type(exc).__name__}: {exc}"[:400]
            ready.append(batch)
        mart_rows = ctx.mart_rows
    return ready, skipped, mart_rows, previous


# --- running GX ------------------------------------------------------------------------


def _gx(docs_dir: Path | None = None):
    """GX's ephemeral context. No Data Docs site: their pages load Bootstrap, jQuery and
    fonts from the web and open empty offline; validation.html is the report
    (``docs_dir`` is accepted for old callers and ignored)."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, context


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):
        try:
            return _jsonable(value.item())
        except (ValueError, AttributeError):
            return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _columns_of(kwargs: dict) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_list" in kwargs:
        return list(kwargs["column_list"])
    return [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]


def _row_label(row: dict, index: list[str]) -> Any:
    """A row GX names by its index columns (the SQL source): its key, as ``_label``."""
    present = [c for c in index if c in row]
    if not present:
        return None
    shown = ["<blank>" if _blank(row[c]) else str(_jsonable(row[c])) for c in present]
    return (
        shown[0]
        if len(present) == 1
        else ", ".join(f"{c}={v}" for c, v in zip(present, shown, strict=True))
    )


def _row_origin(row: dict) -> str:
    name, number = row.get("file_name"), row.get("file_row_number")
    if _blank(name) or _blank(number):
        return ""
    return f"{name} row {_jsonable(number)}"


class Example(str):
    """One example as the report's one-line text, with its parts in ``fields`` (key,
    file, row, column, value, relation: see ``CheckResult.example_rows``)."""

    fields: dict

    def __new__(cls, text: str, **fields: Any) -> Example:
        made = super().__new__(cls, text)
        made.fields = fields
        return made


def _frame_origin(frame: pd.DataFrame, position: Any) -> tuple[Any, Any]:
    """(file name, row number in the file) of a frame's row, or Nones."""
    if not isinstance(position, int) or not 0 <= position < len(frame):
        return None, None
    out = []
    for c in ("file_name", "file_row_number"):
        v = frame[c].iat[position] if c in frame.columns else None
        out.append(None if _blank(v) else _jsonable(v))
    return out[0], out[1]


def _examples(body: dict, columns: list[str], batch: _Batch | None = None) -> list[str]:
    positions = [_jsonable(x) for x in body.get("partial_unexpected_index_list") or []]
    labels: list[Any] = positions
    origins = [""] * len(positions)
    places: list[tuple[Any, Any]] = [(None, None)] * len(positions)
    if batch is not None and batch.frame is not None:
        index = batch.spec.get("index", [])
        labels = [_label(batch.frame, index, p) for p in positions]
        origins = [_origin(batch.frame, p) for p in positions]
        places = [_frame_origin(batch.frame, p) for p in positions]
    elif batch is not None and batch.sql is not None:
        index = batch.spec.get("index", [])
        rows = [p if isinstance(p, dict) else {} for p in positions]
        labels = [_row_label(r, index) for r in rows]
        origins = [_row_origin(r) for r in rows]
        places = [
            tuple(None if _blank(r.get(c)) else _jsonable(r.get(c)) for c in ORIGIN_COLUMNS[:2])
            for r in rows
        ]
    relation = (batch.spec.get("relation") if batch is not None else None) or None
    values = body.get("partial_unexpected_list") or []
    examples: list[str] = []
    for i, value in enumerate(values[:EXAMPLES]):
        origin = origins[i] if i < len(origins) else ""
        file, row = places[i] if i < len(places) else (None, None)
        if isinstance(value, (list, tuple)) and len(columns) == len(value):
            shown = ", ".join(
                f"{c}={privacy.mask_value(c, _jsonable(v))}"
                for c, v in zip(columns, value, strict=True)
            )
            raw: Any = shown
        else:
            column = columns[0] if columns else ""
            raw = privacy.mask_value(column, _jsonable(value))
            shown = str(raw)
            if origin and column:  # the row is named by its file: say the column too
                shown = f"{column}={shown}"
        label = labels[i] if i < len(labels) else None
        if isinstance(label, dict):  # GX's own index lists, when a suite asks for them
            label = ", ".join(
                f"{k}={privacy.mask_value(k, _jsonable(v))}" for k, v in label.items()
            )
        key = label
        if origin:
            label = origin if label is None else f"{label} ({origin})"
        examples.append(
            Example(
                f"{label}: {shown}" if label is not None else shown,
                key=None if key is None else str(key),
                file=file,
                row=row,
                column=", ".join(columns),
                value=None if raw is None else str(raw),
                relation=relation,
            )
        )
    if not examples:
        examples = [
            Example(
                str(_jsonable(label)),
                key=str(_jsonable(label)),
                file=(places[i] if i < len(places) else (None, None))[0],
                row=(places[i] if i < len(places) else (None, None))[1],
                column=", ".join(columns),
                value=None,
                relation=relation,
            )
            for i, label in enumerate(labels[:EXAMPLES])
        ]
    return examples


def _positions(body: dict) -> tuple[list, bool]:
    """The positions of a check's unexpected rows, and whether GX gave them all."""
    if "unexpected_index_list" in body:
        return body["unexpected_index_list"] or [], True
    return body.get("partial_unexpected_index_list") or [], False


def _not_evaluated(batch: _Batch, reason: str) -> list[CheckResult]:
    out = []
    for spec in batch.expectations:
        meta = spec.get("meta") or {}
        out.append(
            CheckResult(
                suite=batch.suite["name"],
                batch=batch.name,
                check=meta["check"],
                expectation=spec["type"],
                column=",".join(_columns_of(spec.get("kwargs", {}))),
                severity=meta["severity"],
                success=False,
                evaluated=False,
                error=reason,
            )
        )
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:60]


def _groups(batch: _Batch) -> list[tuple[str, list[dict], pd.DataFrame]]:
    """The batch's expectations grouped by row condition, each group with a frame of only
    the columns it reads. GX filters the whole frame again for every metric of a
    conditioned expectation, so narrow frames keep a large batch to a second or two."""
    frame = batch.frame
    assert frame is not None
    if len(frame) < NARROW_FROM_ROWS:  # small frames: one GX run is cheaper than several
        return [(batch.key, batch.expectations, frame)]
    grouped: dict[str, list[dict]] = {}
    for spec in batch.expectations:
        grouped.setdefault(spec.get("kwargs", {}).get("row_condition") or "", []).append(spec)
    out = []
    for condition, specs in grouped.items():
        needed: set[str] = set()
        for spec in specs:
            needed.update(_columns_of(spec.get("kwargs", {})))
        needed.update(c for c in frame.columns if re.search(rf"\b{re.escape(str(c))}\b", condition))
        usable = bool(needed) and needed <= set(frame.columns)
        narrow = frame[[c for c in frame.columns if c in needed]] if usable else frame
        name = batch.key if not condition else f"{batch.key}.where_{_slug(condition)}"
        out.append((name, specs, narrow))
    return out


def validate_batch(gx, context, batch: _Batch, source=None) -> list[CheckResult]:
    """Run a batch's expectations: in the warehouse through ``source`` (GX's SQL data
    source, ``gx_duckdb``) when the batch is a query, else over its frame."""
    if batch.missing or (batch.frame is None and batch.sql is None):
        return _not_evaluated(batch, batch.missing or "no data")
    checks: list[CheckResult] = []
    if batch.sql is not None:
        for name, specs, query in _sql_groups(batch):
            checks.extend(_run_gx(gx, context, batch, name, specs, query=query, source=source))
    else:
        for name, specs, frame in _groups(batch):
            checks.extend(_run_gx(gx, context, batch, name, specs, frame=frame))
    # GX returns results in its own order; keep the suite file's order.
    order = {spec["meta"]["check"]: i for i, spec in enumerate(batch.expectations)}
    checks.sort(key=lambda c: order.get(c.check, len(order)))
    return checks


def _batch_rows(batch: _Batch, checks: list[CheckResult], source) -> int | None:
    """Rows in a warehouse batch: GX's count for an expectation on all its rows, else a
    count of the query."""
    conditioned = {
        (spec.get("meta") or {}).get("check")
        for spec in batch.expectations
        if (spec.get("kwargs") or {}).get("row_condition")
    }
    for check in checks:
        if check.check not in conditioned and isinstance(check.element_count, int):
            return check.element_count
    if source is None or batch.missing:
        return None
    try:
        return int(gx_duckdb.execute(source, f"select count(*) from ({batch.sql}) as b")[0][0])
    except Exception:  # noqa: BLE001
        return None


def _sql_groups(batch: _Batch) -> list[tuple[str, list[dict], str]]:
    """The batch's expectations grouped by row condition, each group with the batch's
    query narrowed to its rows (the condition written as SQL, ``gx_duckdb.sql_condition``)."""
    grouped: dict[str, list[dict]] = {}
    for spec in batch.expectations:
        grouped.setdefault(spec.get("kwargs", {}).get("row_condition") or "", []).append(spec)
    out = []
    for condition, specs in grouped.items():
        # GX takes a query that starts with SELECT (a batch's may start with WITH).
        query = f"select * from ({batch.sql}) as b"
        name = batch.key
        if condition:
            query += f" where {gx_duckdb.sql_condition(condition)}"
            name = f"{batch.key}.where_{_slug(condition)}"
        unconditioned = [
            {
                **spec,
                "kwargs": {
                    k: v
                    for k, v in spec.get("kwargs", {}).items()
                    if k not in ("row_condition", "condition_parser")
                },
            }
            for spec in specs
        ]
        out.append((name, unconditioned, query))
    return out


def _query_definition(source, name: str, query: str):
    """One query asset of the warehouse source per group of a batch."""
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_query_asset(name, query=query)
    try:
        return asset.get_batch_definition("whole")
    except LookupError:
        return asset.add_batch_definition_whole_table("whole")


def _batch_definition(context, batch: _Batch):
    """One pandas data source per suite and one asset per batch: the frame itself is
    handed over at run time, and GX saves its configuration on every data source added."""
    suite = batch.suite["name"]
    try:
        source = context.data_sources.get(suite)
    except LookupError:
        source = context.data_sources.add_pandas(suite)
    try:
        asset = source.get_asset(batch.name)
    except LookupError:
        asset = source.add_dataframe_asset(batch.name)
    try:
        return asset.get_batch_definition("whole")
    except LookupError:
        return asset.add_batch_definition_whole_dataframe("whole")


def _run_gx(
    gx,
    context,
    batch: _Batch,
    name: str,
    specs: list[dict],
    frame: pd.DataFrame | None = None,
    query: str | None = None,
    source=None,
):
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    suite = gx.ExpectationSuite(
        name=name, meta={"description": batch.suite["meta"].get("description", "")}
    )
    for spec in specs:
        config = ExpectationConfiguration(
            type=spec["type"], kwargs=spec.get("kwargs", {}), meta=spec.get("meta", {})
        )
        suite.add_expectation(config.to_domain_obj())
    suite = context.suites.add(suite)
    in_sql = query is not None
    data = _query_definition(source, name, query) if in_sql else _batch_definition(context, batch)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=data, suite=suite)
    )
    columns_present = batch.columns if in_sql else list(frame.columns)
    if in_sql:
        # GX names each unexpected row by these columns, and gives the query that selects
        # them all, which says how many each file holds (see _sql_sources).
        index = [c for c in [*batch.spec.get("index", []), *ORIGIN_COLUMNS] if c in columns_present]
        result_format = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": EXAMPLES,
            "return_unexpected_index_query": "file_name" in columns_present,
        }
        if index:
            result_format["unexpected_index_column_names"] = list(dict.fromkeys(index))
        parameters = None
    else:
        # A batch that carries its rows' files asks GX for every unexpected position, so
        # each file's count of failing rows is known (see _sources).
        complete = "file_name" in frame.columns
        result_format = {
            "result_format": "COMPLETE" if complete else "SUMMARY",
            "partial_unexpected_count": EXAMPLES,
            "return_unexpected_index_query": False,
        }
        parameters = {"dataframe": frame}
    with warnings.catch_warnings():
        # A back-reference (one character repeated) needs a group; pandas warns about it.
        warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression")
        outcome = definition.run(batch_parameters=parameters, result_format=result_format)
    checks = []
    for result in outcome.results:
        config = result.expectation_config
        meta = config.meta or {}
        columns = _columns_of(config.kwargs)
        info = result.exception_info or {}
        raised = bool(info.get("raised_exception")) or any(
            isinstance(v, dict) and v.get("raised_exception") for v in info.values()
        )
        body = result.result or {}
        unexpected = body.get("unexpected_count")
        if unexpected is None and body.get("element_count") == 0 and not raised:
            unexpected = 0  # no rows to check (GX's SQL source says None, pandas 0)
        observed = body.get("observed_value")
        evaluated = not raised and (unexpected is not None or observed is not None)
        error = ""
        if raised:
            messages = [info.get("exception_message")] + [
                v.get("exception_message") for v in info.values() if isinstance(v, dict)
            ]
            error = "; ".join(m for m in messages if m)[:300]
        elif not evaluated:
            missing = [c for c in columns if c not in columns_present]
            error = (
                f"column {', '.join(missing)} is not in the data"
                if missing
                else "the expectation produced no result (a metric failed to compute)"
            )
        checks.append(
            CheckResult(
                suite=batch.suite["name"],
                batch=batch.name,
                check=meta.get("check", config.type),
                expectation=config.type,
                column=",".join(columns),
                severity=meta.get("severity", "error"),
                success=bool(result.success),
                evaluated=evaluated,
                element_count=_jsonable(body.get("element_count")),
                unexpected_count=_jsonable(unexpected),
                unexpected_percent=_jsonable(body.get("unexpected_percent")),
                observed_value=_jsonable(observed),
                examples=[] if result.success else _examples(body, columns, batch),
                sources=[]
                if result.success
                else _sql_sources(batch, body, query, source)
                if in_sql
                else _sources(batch, *_positions(body)),
                error=error,
            )
        )
    return checks


def audit(
    settings: Settings,
    run_id: str | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
    data_docs: bool = True,
) -> AuditResult:
    """Run every suite and decide. ``frames`` replaces a batch's data, keyed by suite name
    (its default batch) or ``suite.batch`` (tests use it). ``data_docs`` is accepted and
    ignored: GX Data Docs are no longer written (they need the network to open);
    reports/<run>/validation.html is the report."""
    run_id = run_id or dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    suites = load_suites(settings)
    batches, skipped, mart_rows, previous = plan_batches(settings, suites, frames)
    with connect(settings, read_only=True) as con:
        shared_file_names = _shared_file_names(con, _relations(con))
    timings["read_data"] = round(time.perf_counter() - started, 3)

    mark = time.perf_counter()
    gx, context = _gx()
    timings["gx_context"] = round(time.perf_counter() - mark, 3)

    mark = time.perf_counter()
    checks: list[CheckResult] = []
    rows: dict[str, int] = {}
    by_suite: dict[str, float] = {}
    source = None
    try:
        if any(b.sql is not None for b in batches):
            source = gx_duckdb.add_source(context, settings)
        for suite in dict.fromkeys(b.suite["name"] for b in batches):
            began = time.perf_counter()
            for batch in (b for b in batches if b.suite["name"] == suite):
                found = validate_batch(gx, context, batch, source)
                checks.extend(found)
                if batch.frame is not None:
                    rows[batch.key] = len(batch.frame)
                elif batch.sql is not None:
                    n = _batch_rows(batch, found, source)
                    if n is not None:
                        rows[batch.key] = n
            by_suite[suite] = round(time.perf_counter() - began, 3)
            log.info("audit: suite %s checked in %.1f s", suite, by_suite[suite])
    finally:
        gx_duckdb.close(source)
    timings["validate"] = round(time.perf_counter() - mark, 3)
    timings["suites"] = by_suite

    decision = "hold" if any(c.blocks for c in checks) else "publish"
    result = AuditResult(
        run_id=run_id,
        decision=decision,
        checks=checks,
        rows_checked=rows,
        skipped=skipped,
        mart_rows=mart_rows,
        previous_release=(previous or {}).get("release_id"),
        created_at=dt.datetime.now().isoformat(timespec="seconds"),
        shared_file_names=shared_file_names,
    )
    timings["total"] = round(time.perf_counter() - started, 3)
    result.timings = timings
    write_report(settings, result)
    log.info(
        "audit %s: %d checks, %d blocking, %d warnings, %d skipped -> %s (%.1f s)",
        run_id,
        len(checks),
        len(result.blocking),
        len(result.warnings),
        len(skipped),
        decision,
        timings["total"],
    )
    return result


# --- the report ------------------------------------------------------------------------

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
    base = f"{prefix}-{_slug(text)}"[:80].rstrip("-")
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


def render_html(result: AuditResult, extra_sections: str = "", history_href: str = "") -> str:
    """The validation page (templates/validation.html.j2): failures and warnings first,
    each with its examples (key, file, row, column, masked value); then every check
    folded by suite, with a filter. ``history_href`` links the release history."""
    import markupsafe

    taken: set[str] = set()
    anchors = {id(c): _anchor("check", f"{c.suite} {c.check}", taken) for c in result.checks}

    def problem(c: CheckResult) -> dict:
        css, label = _status(c)
        return {"check": c, "css": css, "label": label, "anchor": anchors[id(c)]}

    order = {"fail": 0, "warn": 1, "pass": 2}
    suites: dict[str, dict] = {}
    for c in result.checks:
        s = suites.setdefault(
            c.suite,
            {"name": c.suite, "checks": 0, "passed": 0, "errors": 0, "warnings": 0,
             "skipped": 0, "rows": []},
        )  # fmt: skip
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
        s = suites.setdefault(
            sk.suite,
            {"name": sk.suite, "checks": 0, "passed": 0, "errors": 0, "warnings": 0,
             "skipped": 0, "rows": []},
        )  # fmt: skip
        s["skipped"] += sk.n_checks
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
            warning_skips=[
                f"{s.suite}/{s.batch}: {s.n_checks} checks not run: {s.reason}"
                for s in result.skipped
                if s.level == "warning"
            ],
            unblock_files=result.unblocking_files() if result.blocking else [],
            untraced=[c for c in result.blocking if not c.sources],
            rows_text=_rows_text,
            suites=ordered,
            rows_checked=sorted(result.rows_checked.items()),
            num=_num,
            short=_short,
            history_href=history_href,
            extra_sections=markupsafe.Markup(extra_sections),
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


def read_summary(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
