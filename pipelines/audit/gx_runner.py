"""Great Expectations, run over the planned batches: a batch of warehouse rows in DuckDB
through GX's SQL data source (``pipelines.gx_duckdb``, which holds the patches GX needs
there), a frame through GX's pandas source; each expectation's outcome becomes a
``CheckResult`` (an expectation that raised or produced no result is not evaluated,
never passed).

GX itself is imported only when a context is made (``gx_context``), not with this
module. What an outcome means for the release is decision.py's to say.
"""

from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager

import pandas as pd

from pipelines import gx_duckdb
from pipelines.audit import examples, incremental
from pipelines.audit.batches import Batch
from pipelines.audit.examples import EXAMPLES, ORIGIN_COLUMNS
from pipelines.audit.results import CheckResult
from pipelines.audit.values import jsonable, slug

# Batches of at least this many rows are validated in narrow pieces (see _groups).
NARROW_FROM_ROWS = 20_000


def gx_context():
    """GX's ephemeral context. No Data Docs site: their pages load Bootstrap, jQuery and
    fonts from the web and open empty offline; validation.html is the report."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # An ephemeral context is never saved, yet GX writes its whole project configuration
    # as YAML into an in-memory store on every asset added: the config grows with each
    # asset, and this was a quarter of an audit of the sample. Nothing reads it back.
    context._save_project_config = lambda: None
    return gx, context


def _columns_of(kwargs: dict) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_list" in kwargs:
        return list(kwargs["column_list"])
    return [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]


def _not_evaluated(batch: Batch, reason: str) -> list[CheckResult]:
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


def _groups(batch: Batch) -> list[tuple[str, list[dict], pd.DataFrame]]:
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
        name = batch.key if not condition else f"{batch.key}.where_{slug(condition)}"
        out.append((name, specs, narrow))
    return out


def validate_batch(gx, context, batch: Batch, source=None) -> list[CheckResult]:
    """Run a batch's expectations: in the warehouse through ``source`` (GX's SQL data
    source, ``gx_duckdb``) when the batch is a query, else over its frame."""
    if batch.missing or (batch.frame is None and batch.sql is None):
        return _not_evaluated(batch, batch.missing or "no data")
    checks: list[CheckResult] = []
    if batch.sql is not None:
        for name, specs, query, scope in _sql_groups(batch):
            found = _run_sql(gx, context, batch, name, specs, query, source)
            for check in found:
                check.scope = scope
            checks.extend(found)
    else:
        for name, specs, frame in _groups(batch):
            checks.extend(_run_gx(gx, context, batch, name, specs, frame=frame))
    # GX returns results in its own order; keep the suite file's order.
    order = {spec["meta"]["check"]: i for i, spec in enumerate(batch.expectations)}
    checks.sort(key=lambda c: order.get(c.check, len(order)))
    return checks


@contextmanager
def kept(batch: Batch, source):
    """While its checks run, a batch that is a query of the warehouse (``query``, not a
    ``relation``'s columns) and that some check reads whole is computed once, into a temp
    table of GX's one connection, instead of once for each of GX's metric queries (a row
    count, each group of metrics, each check's unexpected rows): a window over every
    trace request, or a join of every request with its raw row, is then computed once
    per audit. The table goes when the block ends (and with the connection). A batch
    with ``"materialize": false`` is not kept: its query is a filter of one model's
    columns, which each metric query reads more cheaply than a copy of every row
    (the dealers of ten million trace requests)."""
    whole = any(
        batch.scopes.get(spec["meta"]["check"], incremental.ALL) == incremental.ALL
        for spec in batch.expectations
    )  # as _sql_groups reads them: a check without a scope sees all rows
    if (
        source is None
        or batch.sql is None
        or batch.missing
        or "query" not in batch.spec
        or batch.spec.get("materialize", True) is False
        or not whole
    ):
        yield
        return
    name = '"_batch_' + slug(batch.key).replace('"', "") + '"'
    gx_duckdb.run(source, f"create or replace temp table {name} as {batch.sql}")
    batch.kept = name
    try:
        yield
    finally:
        batch.kept = None
        gx_duckdb.run(source, f"drop table if exists {name}")


def rows_sql(batch: Batch, scope: str = incremental.ALL) -> str | None:
    """The query of a warehouse batch's rows: all of them (ALL), or those written since
    the watermark (NEW); from its temp table while it is kept."""
    if batch.kept is None:
        return batch.new_sql if scope == incremental.NEW else batch.sql
    whole = f"select * from {batch.kept}"
    if scope != incremental.NEW:
        return whole
    if batch.new_sql is None:
        return None
    return incremental.new_rows_sql(whole, batch.spec["incremental_by"], batch.since)


def batch_rows(
    batch: Batch, checks: list[CheckResult], source, scope: str = incremental.ALL
) -> int | None:
    """Rows in a warehouse batch (``scope`` ALL), or its rows written since the watermark
    (NEW): GX's count for an expectation on all those rows, else a count of the query."""
    sql = rows_sql(batch, scope)
    if sql is None:
        return None
    conditioned = {
        (spec.get("meta") or {}).get("check")
        for spec in batch.expectations
        if (spec.get("kwargs") or {}).get("row_condition")
    }
    for check in checks:
        if (
            check.scope == scope
            and check.check not in conditioned
            and isinstance(check.element_count, int)
        ):
            return check.element_count
    if source is None or batch.missing:
        return None
    try:
        return int(gx_duckdb.execute(source, f"select count(*) from ({sql}) as b")[0][0])
    except Exception:  # noqa: BLE001
        return None


def _sql_groups(batch: Batch) -> list[tuple[str, list[dict], str, str]]:
    """The batch's expectations grouped by the rows they see (new or all, see
    incremental.py) and by row condition, each group with the batch's query narrowed to
    its rows (the condition written as SQL, ``gx_duckdb.sql_condition``)."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for spec in batch.expectations:
        scope = batch.scopes.get(spec["meta"]["check"], incremental.ALL)
        condition = spec.get("kwargs", {}).get("row_condition") or ""
        grouped.setdefault((scope, condition), []).append(spec)
    out = []
    for (scope, condition), specs in grouped.items():
        # GX takes a query that starts with SELECT (a batch's may start with WITH).
        query = f"select * from ({rows_sql(batch, scope)}) as b"
        name = batch.key if scope == incremental.ALL else f"{batch.key}.new_rows"
        if condition:
            query += f" where {gx_duckdb.sql_condition(condition)}"
            name = f"{name}.where_{slug(condition)}"
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
        out.append((name, unconditioned, query, scope))
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


def _batch_definition(context, batch: Batch):
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


# GX's summary of a passing check, without its unexpected rows: with SUMMARY, GX runs
# two more queries per check (the unexpected values, and their rows by index), each a
# scan of the batch even when nothing is unexpected; asking for none (a LIMIT 0) costs
# nothing. The checks that fail are run again in full (``_run_sql``).
COUNTS_ONLY = {"result_format": "BASIC", "partial_unexpected_count": 0}


def _run_sql(gx, context, batch: Batch, name: str, specs: list[dict], query: str, source):
    """A group of a batch's checks in the warehouse: counts only first, then the checks
    that did not pass again with their examples and rows (the same outcome, the same
    examples as one full run, at about half the queries when most checks pass)."""
    found = _run_gx(gx, context, batch, name, specs, query=query, source=source, counts=True)
    again = {c.check for c in found if not (c.success and c.evaluated)}
    if not again:
        return found
    failed = [spec for spec in specs if spec["meta"]["check"] in again]
    detail = _run_gx(
        gx, context, batch, name, failed, query=query, source=source, label=f"{name}.detail"
    )
    return [c for c in found if c.check not in again] + detail


def _run_gx(
    gx,
    context,
    batch: Batch,
    name: str,
    specs: list[dict],
    frame: pd.DataFrame | None = None,
    query: str | None = None,
    source=None,
    counts: bool = False,
    label: str | None = None,
):
    """One GX run of ``specs`` on the batch's asset ``name`` (a query of the warehouse,
    or the frame), as a suite and validation definition named ``label`` (the asset's
    name by default); ``counts`` asks GX for counts only (``COUNTS_ONLY``)."""
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    label = label or name
    suite = gx.ExpectationSuite(
        name=label, meta={"description": batch.suite["meta"].get("description", "")}
    )
    for spec in specs:
        config = ExpectationConfiguration(
            type=spec["type"], kwargs=spec.get("kwargs", {}), meta=spec.get("meta", {})
        )
        suite.add_expectation(config.to_domain_obj())
    in_sql = query is not None
    data = _query_definition(source, name, query) if in_sql else _batch_definition(context, batch)
    columns_present = batch.columns if in_sql else list(frame.columns)
    if in_sql:
        # GX names each unexpected row by these columns, and gives the query that selects
        # them all, which says how many each file holds (see examples.sql_sources).
        index = [c for c in [*batch.spec.get("index", []), *ORIGIN_COLUMNS] if c in columns_present]
        result_format = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": EXAMPLES,
            "return_unexpected_index_query": "file_name" in columns_present,
        }
        if index:
            result_format["unexpected_index_column_names"] = list(dict.fromkeys(index))
        if counts:
            result_format = dict(COUNTS_ONLY)
        parameters = None
    else:
        # A batch that carries its rows' files asks GX for every unexpected position, so
        # each file's count of failing rows is known (see examples.frame_sources).
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
        # Batch.validate keeps no suite, definition or result in GX's stores (nothing here
        # reads them back: each outcome becomes a CheckResult).
        outcome = data.get_batch(batch_parameters=parameters).validate(
            suite, result_format=result_format
        )
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
                element_count=jsonable(body.get("element_count")),
                unexpected_count=jsonable(unexpected),
                unexpected_percent=jsonable(body.get("unexpected_percent")),
                observed_value=jsonable(observed),
                examples=[] if result.success else examples.examples_of(body, columns, batch),
                sources=[]
                if result.success
                else examples.sql_sources(batch, body, query, source)
                if in_sql
                else examples.frame_sources(batch, *examples.unexpected_positions(body)),
                error=error,
                args_digest=batch.digests.get(meta.get("check", config.type), ""),
            )
        )
    return checks
