"""What a failed check shows, from GX's result: examples of its unexpected rows (each
named by its key and, when the batch carries it, its file and row, with personal data
masked) and the files those rows came from (``CheckResult.sources``).

Reads GX's result body and the batch it ran on (a frame, or the warehouse through GX's
SQL source for the files' counts); it runs no expectation and decides nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from pipelines import gx_duckdb, privacy
from pipelines.audit.batches import Batch
from pipelines.audit.decision import SOURCE_ROWS
from pipelines.audit.results import Example
from pipelines.audit.values import blank, jsonable

log = logging.getLogger(__name__)

EXAMPLES = 5
# Where a row came from: a batch whose frame has file_name (and file_row_number, load_id)
# names the files and rows behind a failure (CheckResult.sources, AuditResult.remedies).
ORIGIN_COLUMNS = ("file_name", "file_row_number", "load_id")


def _label(frame: pd.DataFrame, index: list[str], position: Any) -> Any:
    """A row's key (e.g. its trace number), so examples name the rows GX reports by
    position. (A labelled pandas index would do the same but makes GX several times
    slower on large frames.)"""
    present = [c for c in index if c in frame.columns]
    if not present or not isinstance(position, int) or not 0 <= position < len(frame):
        return position
    return _key(present, [frame[c].iat[position] for c in present])


def _key(names: list[str], values: list) -> str:
    """A row's key as text: its one index value, or ``name=value`` pairs."""
    shown = ["<blank>" if blank(v) else str(jsonable(v)) for v in values]
    return (
        shown[0]
        if len(names) == 1
        else ", ".join(f"{c}={v}" for c, v in zip(names, shown, strict=True))
    )


def _origin(frame: pd.DataFrame, position: Any) -> str:
    """Where a row came from (``file row N``), when the batch carries it; else ''."""
    if not {"file_name", "file_row_number"} <= set(frame.columns):
        return ""
    if not isinstance(position, int) or not 0 <= position < len(frame):
        return ""
    name, row = frame["file_name"].iat[position], frame["file_row_number"].iat[position]
    if blank(name) or blank(row):
        return ""
    return f"{name} row {jsonable(row)}"


def frame_sources(batch: Batch, positions: list, complete: bool) -> list[dict]:
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
        if blank(name):
            continue
        numbers = []
        if "file_row_number" in group.columns:
            numbers = group["file_row_number"].dropna().drop_duplicates().nsmallest(SOURCE_ROWS)
        out.append(
            {
                "kind": kind,
                "file_name": str(name),
                "load_id": None if blank(load_id) else str(load_id),
                "rows": [int(n) for n in numbers],
                "n_unexpected": len(group) if complete else None,
            }
        )
    return out


def sql_sources(batch: Batch, body: dict, query: str, source) -> list[dict]:
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


def _row_label(row: dict, index: list[str]) -> Any:
    """A row GX names by its index columns (the SQL source): its key, as ``_label``."""
    present = [c for c in index if c in row]
    if not present:
        return None
    return _key(present, [row[c] for c in present])


def _row_origin(row: dict) -> str:
    name, number = row.get("file_name"), row.get("file_row_number")
    if blank(name) or blank(number):
        return ""
    return f"{name} row {jsonable(number)}"


def _frame_origin(frame: pd.DataFrame, position: Any) -> tuple[Any, Any]:
    """(file name, row number in the file) of a frame's row, or Nones."""
    if not isinstance(position, int) or not 0 <= position < len(frame):
        return None, None
    out = []
    for c in ("file_name", "file_row_number"):
        v = frame[c].iat[position] if c in frame.columns else None
        out.append(None if blank(v) else jsonable(v))
    return out[0], out[1]


def examples_of(body: dict, columns: list[str], batch: Batch | None = None) -> list[str]:
    """Up to ``EXAMPLES`` examples of a check's unexpected values (``Example``s, each
    with its key, file, row, column and masked value), from GX's result ``body``."""
    positions = [jsonable(x) for x in body.get("partial_unexpected_index_list") or []]
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
            tuple(None if blank(r.get(c)) else jsonable(r.get(c)) for c in ORIGIN_COLUMNS[:2])
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
                f"{c}={privacy.mask_value(c, jsonable(v))}"
                for c, v in zip(columns, value, strict=True)
            )
            raw: Any = shown
        else:
            column = columns[0] if columns else ""
            raw = privacy.mask_value(column, jsonable(value))
            shown = str(raw)
            if origin and column:  # the row is named by its file: say the column too
                shown = f"{column}={shown}"
        label = labels[i] if i < len(labels) else None
        if isinstance(label, dict):  # GX's own index lists, when a suite asks for them
            label = ", ".join(f"{k}={privacy.mask_value(k, jsonable(v))}" for k, v in label.items())
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
                str(jsonable(label)),
                key=str(jsonable(label)),
                file=(places[i] if i < len(places) else (None, None))[0],
                row=(places[i] if i < len(places) else (None, None))[1],
                column=", ".join(columns),
                value=None,
                relation=relation,
            )
            for i, label in enumerate(labels[:EXAMPLES])
        ]
    return examples


def unexpected_positions(body: dict) -> tuple[list, bool]:
    """The positions of a check's unexpected rows, and whether GX gave them all."""
    if "unexpected_index_list" in body:
        return body["unexpected_index_list"] or [], True
    return body.get("partial_unexpected_index_list") or [], False
