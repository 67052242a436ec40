"""Small vectorised helpers to build string columns with polars and write CSV chunks."""

from __future__ import annotations

import io
import unicodedata

import numpy as np
import polars as pl

NO_DAY = -1_000_000  # "no date" (day numbers before 1970 are negative and valid)
ISO = "%Y-%m-%d"
DMY = "%d/%m/%Y"


def strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def table(values) -> pl.Series:
    return pl.Series(list(values), dtype=pl.Utf8)


def pick(values, idx: np.ndarray) -> pl.Series:
    """values[idx] as a string Series (``None`` in values gives nulls)."""
    tab = values if isinstance(values, pl.Series) else table(values)
    return tab.gather(np.asarray(idx, dtype=np.int64))


def full(value, n: int) -> pl.Series:
    return pl.repeat(value, n, dtype=pl.Utf8, eager=True)


def where(mask: np.ndarray, then, otherwise) -> pl.Series:
    """Element-wise ``then if mask else otherwise``; either side a Series, str or None."""
    mask = np.asarray(mask, dtype=bool)
    n = len(mask)
    if not mask.any():
        return otherwise if isinstance(otherwise, pl.Series) else full(otherwise, n)
    if mask.all():
        return then if isinstance(then, pl.Series) else full(then, n)
    if not isinstance(then, pl.Series):
        then = full(then, n)
    if not isinstance(otherwise, pl.Series):
        otherwise = full(otherwise, n)
    return then.zip_with(pl.Series(mask), otherwise)


def patch_lines(data: bytes, line_end: str, rows: np.ndarray, fix) -> bytes:
    """Rewrite the lines at 0-based ``rows`` of a CSV chunk with ``fix(line, row)``."""
    nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    starts = np.concatenate([[0], nl + 1])
    width = len(line_end)
    out, last = [], 0
    for r in np.sort(rows):
        a, b = int(starts[r]), int(nl[r]) + 1 - width
        out.append(data[last:a])
        out.append(fix(data[a:b].decode("utf-8"), int(r)).encode("utf-8"))
        last = b
    out.append(data[last:])
    return b"".join(out)


def dates(days: np.ndarray, fmt: str) -> pl.Series:
    """Day numbers (days since 1970-01-01; ``NO_DAY`` = blank) written as ``fmt``."""
    days = np.asarray(days, dtype=np.int32)
    blank = days <= NO_DAY
    s = pl.Series(np.where(blank, 0, days), dtype=pl.Int32).cast(pl.Date).dt.strftime(fmt)
    return where(blank, None, s)


def dates_styled(days: np.ndarray, dmy: np.ndarray) -> pl.Series:
    """Dates written day-first where ``dmy`` is set, ISO elsewhere."""
    if dmy.all():
        return dates(days, DMY)
    if not dmy.any():
        return dates(days, ISO)
    return where(dmy, dates(days, DMY), dates(days, ISO))


def zfill(values: np.ndarray, width: int) -> pl.Series:
    """Non-negative integers as zero-padded text (wider values keep all their digits)."""
    values = np.asarray(values, dtype=np.int64)
    if width <= 1:
        return pl.Series(values).cast(pl.Utf8)
    if len(values) and (values.max() >= 10**width or values.min() < 0):
        return pl.Series(values).cast(pl.Utf8).str.zfill(width)
    # polars' zfill is slow; adding 10**width and dropping the leading 1 is not
    return pl.Series(values + 10**width).cast(pl.Utf8).str.slice(1)


def concat(*parts) -> pl.Series:
    """Concatenate Series and literal strings element-wise (nulls propagate)."""
    cols, exprs = {}, []
    for i, p in enumerate(parts):
        if isinstance(p, pl.Series):
            cols[f"c{i}"] = p
            exprs.append(pl.col(f"c{i}"))
        else:
            exprs.append(pl.lit(p, dtype=pl.Utf8))
    return pl.DataFrame(cols).select(pl.concat_str(exprs).alias("v")).to_series()


def csv_chunk(columns: dict[str, pl.Series], line_end: str) -> bytes:
    """Rows as CSV text (UTF-8 bytes), RFC 4180 quoting, nulls as empty fields, no header."""
    buf = io.BytesIO()
    pl.DataFrame(columns).write_csv(
        buf, include_header=False, line_terminator=line_end, quote_style="necessary", null_value=""
    )
    return buf.getvalue()
