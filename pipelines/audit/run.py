"""The audit as one call: read the suites, plan the batches, run them through GX, decide,
and write the report (``audit``). The steps live in the modules this one calls; this
one only puts them in order and times them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import pandas as pd

from pipelines import gx_duckdb
from pipelines.audit import incremental, inventory
from pipelines.audit.batches import Batch, plan_batches
from pipelines.audit.decision import decide
from pipelines.audit.gx_runner import batch_rows, gx_context, kept, validate_batch
from pipelines.audit.report import write_report
from pipelines.audit.results import AuditResult, CheckResult
from pipelines.audit.suites import load_suites
from pipelines.config import Settings
from pipelines.warehouse import connect

log = logging.getLogger(__name__)


def audit(
    settings: Settings,
    run_id: str | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
    full: bool = False,
) -> AuditResult:
    """Run every suite and decide. Row-level checks of a batch with ``incremental_by``
    look at the rows written since the audit that published the current release, when
    nothing else changed (incremental.py); ``full`` checks every row. ``frames``
    replaces a batch's data, keyed by suite name (its default batch) or ``suite.batch``
    (tests use it). The report is reports/<run>/validation.json and validation.html (no
    GX Data Docs: they need the network to open)."""
    run_id = run_id or dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    suites = load_suites(settings)
    batches, skipped, mart_rows, previous, increments = plan_batches(
        settings, suites, frames, full=full
    )
    with connect(settings, read_only=True) as con:
        shared_file_names = inventory.shared_file_names(con, inventory.relations(con))
    timings["read_data"] = round(time.perf_counter() - started, 3)

    mark = time.perf_counter()
    gx, context = gx_context()
    timings["gx_context"] = round(time.perf_counter() - mark, 3)

    mark = time.perf_counter()
    checks: list[CheckResult] = []
    rows: dict[str, int] = {}
    scopes: dict[str, dict] = {}
    by_suite: dict[str, float] = {}
    source = None
    try:
        if any(b.sql is not None for b in batches):
            source = gx_duckdb.add_source(context, settings)
        for suite in dict.fromkeys(b.suite["name"] for b in batches):
            began = time.perf_counter()
            for batch in (b for b in batches if b.suite["name"] == suite):
                with kept(batch, source):
                    found = validate_batch(gx, context, batch, source)
                    checks.extend(found)
                    if batch.frame is not None:
                        rows[batch.key] = len(batch.frame)
                    elif batch.sql is not None:
                        n = batch_rows(batch, found, source)
                        if n is not None:
                            rows[batch.key] = n
                        if batch.spec.get("incremental_by"):
                            scopes[batch.key] = _scope(batch, found, source, n)
            by_suite[suite] = round(time.perf_counter() - began, 3)
            log.info("audit: suite %s checked in %.1f s", suite, by_suite[suite])
    finally:
        gx_duckdb.close(source)
    timings["validate"] = round(time.perf_counter() - mark, 3)
    timings["suites"] = by_suite

    decision = decide(checks)
    result = AuditResult(
        run_id=run_id,
        decision=decision,
        checks=checks,
        rows_checked=rows,
        skipped=skipped,
        mart_rows=mart_rows,
        previous_release=previous.release_id if previous else None,
        created_at=dt.datetime.now().isoformat(timespec="seconds"),
        shared_file_names=shared_file_names,
        incremental=increments.to_dict(
            {b.key: b.next_watermark for b in batches if b.next_watermark is not None}
        ),
        batch_scopes=scopes,
    )
    timings["total"] = round(time.perf_counter() - started, 3)
    result.timings = timings
    write_report(settings, result)
    log.info(
        "audit %s: %s%s",
        run_id,
        f"row-level checks on the rows written since release {increments.since_release}"
        if not increments.full
        else "every check on all rows",
        f" ({increments.reason})" if increments.reason else "",
    )
    log.info(
        "audit %s: %d checks, %d blocking, %d warnings, %d skipped -> %s (%.1f s)",
        run_id,
        len(checks),
        len(result.blocking),
        len(result.warnings),
        len(skipped),
        decision,
        timings["total"],
        extra={"outcome": True},
    )
    return result


def _scope(batch: Batch, found: list[CheckResult], source, n_all: int | None) -> dict:
    """What a batch with ``incremental_by`` was checked over, for validation.json."""
    on_new = sum(1 for c in found if c.scope == incremental.NEW)
    return {
        "rows": incremental.NEW if on_new else incremental.ALL,
        "since": batch.since if on_new else None,
        "new_rows": batch_rows(batch, found, source, incremental.NEW) if on_new else None,
        "all_rows": n_all,
        "checks_on_new_rows": on_new,
        "checks_on_all_rows": len(found) - on_new,
        "next_watermark": batch.next_watermark,
    }
