"""The batches: what each suite's expectations are checked against, planned and read.

A batch is one of a suite's ``meta.batch``/``meta.batches``: the rows of a warehouse
relation or query (left in the warehouse: its SQL and columns, which GX runs there), or a
frame (a builtin's, or one a caller hands over). ``plan_batches`` groups the
expectations by batch, skips a batch whose kind was not loaded or whose optional model is
missing, makes the expectations' ``$query``/``$date`` arguments concrete, refuses a
batch that would hold personal-data columns (``SuiteError``), and says which checks of a
batch look at the rows written since the last published audit only (incremental.py).
It runs no expectation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import duckdb
import pandas as pd

from pipelines import privacy
from pipelines.audit import incremental, inventory
from pipelines.audit.builtins import BUILTINS
from pipelines.audit.inventory import Context
from pipelines.audit.results import SkippedBatch
from pipelines.audit.suites import SuiteError, default_batch, expectation_batch, suite_batches
from pipelines.config import Settings
from pipelines.manifest import Manifest
from pipelines.reference import MART_SCHEMA
from pipelines.warehouse import connect


@dataclass
class Batch:
    suite: dict
    name: str
    spec: dict
    expectations: list[dict]
    frame: pd.DataFrame | None = None
    missing: str = ""  # why the data could not be read (the checks then fail)
    # A batch of the warehouse's rows is a query GX runs in DuckDB (``gx_duckdb``):
    # its SQL and its columns. Frames are for builtins.
    sql: str | None = None
    columns: list[str] = field(default_factory=list)
    # A batch with ``incremental_by``: the rows written after ``since`` (``new_sql``),
    # which the checks scoped NEW see; the others see all rows. ``next_watermark`` is the
    # newest row now, where the next audit starts once this one's release is published.
    since: str | None = None
    new_sql: str | None = None
    next_watermark: str | None = None
    scopes: dict[str, str] = field(default_factory=dict)  # check -> incremental.NEW / ALL
    # A batch that is a query over history, computed once into a temp table of GX's
    # connection while its checks run (gx_runner.kept): its name, else None.
    kept: str | None = None
    digests: dict[str, str] = field(default_factory=dict)  # check -> incremental.args_digest

    @property
    def key(self) -> str:
        suite = self.suite["name"]
        return suite if self.name == default_batch(self.suite) else f"{suite}.{self.name}"


def _sql(spec: dict) -> str:
    query = spec["query"]
    return "\n".join(query) if isinstance(query, list) else query


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


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame given by a caller (tests), indexed by plain positions."""
    return frame.reset_index(drop=True)


def _skip_reason(batch: Batch, ctx: Context) -> tuple[str, str] | None:
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


def _plan_sql(batch: Batch, ctx: Context) -> None:
    """A batch of warehouse rows, left in the warehouse: its query and columns."""
    batch.sql = batch_sql(batch.spec, ctx.relations)
    cursor = ctx.con.execute(f"select * from ({batch.sql}) as b limit 0")
    batch.columns = [d[0] for d in cursor.description]
    leaked = [c for c in batch.columns if privacy.is_pii(str(c))]
    if leaked:
        raise SuiteError(
            f"suite {batch.suite['name']}, batch {batch.name}: the query returns personal-data "
            f"columns {leaked}; leave them out (examples show their values)"
        )


def _plan_rows(batch: Batch, ctx: Context, increments: incremental.Plan) -> None:
    """Which rows each of the batch's checks sees: the rows written since the watermark
    (a row-local check that passed in the published audit), or all of them."""
    suite = batch.suite["name"]
    for spec in batch.expectations:
        batch.digests[spec["meta"]["check"]] = incremental.args_digest(spec)
    column = batch.spec.get("incremental_by")
    if batch.sql is not None and column:
        written = (
            f"select * from {batch.spec['relation']}" if "relation" in batch.spec else batch.sql
        )
        batch.next_watermark = incremental.watermark(ctx.con, written, column)
        batch.since = increments.since(batch.key, batch.spec)
        if batch.since is not None:
            new = incremental.new_rows_sql(written, column, batch.since)
            if "relation" in batch.spec:
                columns = ", ".join(f'"{c}"' for c in batch.spec["columns"])
                new = f"select {columns} from ({new}) as n"
            batch.new_sql = new
    for spec in batch.expectations:
        batch.scopes[spec["meta"]["check"]] = (
            increments.scope(suite, spec, batch.since) if batch.new_sql else incremental.ALL
        )


def _builtin_frame(batch: Batch, ctx: Context) -> pd.DataFrame:
    """The frame of a ``builtin`` batch (builtins.py)."""
    builder = BUILTINS.get(batch.spec["builtin"])
    if builder is None:
        raise LookupError(f"no builtin batch named {batch.spec['builtin']!r}")
    return builder(ctx)


def _guard_personal_data(batch: Batch, frame: pd.DataFrame) -> None:
    leaked = [c for c in frame.columns if privacy.is_pii(str(c))]
    if leaked:
        raise SuiteError(
            f"suite {batch.suite['name']}, batch {batch.name}: the frame holds personal-data "
            f"columns {leaked}; leave them out (examples show frame values)"
        )


class Planned(NamedTuple):
    batches: list[Batch]
    skipped: list[SkippedBatch]
    mart_rows: dict[str, int]
    previous: Manifest | None  # the current release's manifest
    increments: incremental.Plan


def plan_batches(
    settings: Settings,
    suites: list[dict],
    frames: dict[str, pd.DataFrame] | None = None,
    full: bool = False,
) -> Planned:
    """Read every batch's frame (one read-only connection), decide what to skip, and
    which rows each check sees (all of them with ``full``)."""
    frames = frames or {}
    batches: list[Batch] = []
    for suite in suites:
        grouped: dict[str, list[dict]] = {}
        for spec in suite.get("expectations", []):
            grouped.setdefault(expectation_batch(suite, spec), []).append(spec)
        for name, spec in suite_batches(suite).items():
            if grouped.get(name):
                batches.append(Batch(suite, name, spec, grouped[name]))
    skipped: list[SkippedBatch] = []
    ready: list[Batch] = []
    previous = inventory.previous_manifest(settings)
    with connect(settings, read_only=True) as con:
        relations = inventory.relations(con)
        ctx = Context(
            con=con,
            relations=relations,
            loaded=inventory.loaded_kinds(con, relations),
            mart_rows=inventory.mart_rows(con)
            if any(r.startswith(f"{MART_SCHEMA}.") for r in relations)
            else {},
            previous=previous,
            reconciled=set(),
        )
        increments = incremental.plan(settings, con, relations, previous, full=full)
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
                    frame = override if override is not None else _builtin_frame(batch, ctx)
                    _guard_personal_data(batch, frame)
                    batch.frame = _plain(frame) if override is not None else frame
                for expectation in batch.expectations:
                    expectation["kwargs"] = _resolve(expectation.get("kwargs", {}), con)
                _plan_rows(batch, ctx, increments)
                reconciles = batch.spec.get("reconciles") or []
                ctx.reconciled.update([reconciles] if isinstance(reconciles, str) else reconciles)
            except SuiteError:
                raise
            except (duckdb.Error, LookupError, ValueError) as exc:
                batch.missing = f"{type(exc).__name__}: {exc}"[:400]
            ready.append(batch)
        mart_rows = ctx.mart_rows
    return Planned(ready, skipped, mart_rows, previous, increments)
