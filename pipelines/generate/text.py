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


def where(mask: np.ndarray, then, otherwise) -> pl.Series:
    """Element-wise ``then if mask else otherwise``; either side a Series, str or None."""
    mask = np.asarray(mask, dtype=bool)
    n = len(mask)
    if not mask.any():
        return otherwise if isinstance(otherwise, pl.Series) else pl.Series([otherwise] * n, dtype=pl.Utf8)
    df = {"m": mask}
    if isinstance(then, pl.Series):
        df["t"] = then
        t = pl.col("t")
    else:
        t = pl.lit(then, dtype=pl.Utf8)
    if isinstance(otherwise, pl.Series):
        df["o"] = otherwise
        o = pl.col("o")
    else:
        o = pl.lit(otherwise, dtype=pl.Utf8)
    return pl.DataFrame(df).select(pl.when(pl.col("m")).then(t).otherwise(o).alias("v")).to_series()


def dates(days: np.ndarray, fmt: str) -> pl.Series:
    """Day numbers (days since 1970-01-01; ``NO_DAY`` = blank) written as ``fmt``."""
    days = np.asarray(days, dtype=np.int32)
    blank = days <= NO_DAY
    s = pl.Series(np.where(blank, 0, days), dtype=pl.Int32).cast(pl.Date).dt.strftime(fmt)
    return where(blank, None, s)


def zfill(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(np.asarray(values, dtype=np.int64)).cast(pl.Utf8).str.zfill(width)


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
