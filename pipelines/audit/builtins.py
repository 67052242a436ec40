"""The built-in batches: frames computed here for checks about the release as a whole,
which a suite names with ``{"builtin": name}`` (``BUILTINS``):

- ``volume``: one row per mart and per source, rows now against the current release;
- ``personal_data``: one row per column of every mart to be published, with how many of
  its values are a purchaser's name, address or ID number from the raw layer;
- ``shared_suppression``: one row per mart meant for sharing, with small counts shown;
- ``mart_coverage``: one row per mart, whether a reconciliation check covers it.

Each takes the audit's ``Context`` and returns a frame; what passes is the suites' to say.
"""

from __future__ import annotations

import pandas as pd

from pipelines import privacy
from pipelines.audit.inventory import Context
from pipelines.reference import MART_SCHEMA
from pipelines.warehouse import quote_identifier, quote_literal

# Personal values shorter than this are not searched for in the marts (too many
# accidental matches with codes and short words).
MIN_PERSONAL_VALUE_LENGTH = 5


def volume(ctx: Context) -> pd.DataFrame:
    """One row per mart and per source: rows now against the current release."""
    previous = ctx.previous
    before_marts = previous.marts if previous else {}
    before_sources = {k: v.loaded for k, v in previous.rows_by_kind.items()} if previous else {}
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
                        + (
                            " (none in the current release)"
                            if prior is None
                            else f" (the current release has {prior:,})"
                        )
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


def personal_data(ctx: Context) -> pd.DataFrame:
    """One row per column of every mart to be published: is it personal data by its name,
    and how many of its values equal a purchaser's name or address (``n_personal_values``)
    or ID number (``n_id_number_values``) found in the raw or quarantine layer."""
    con = ctx.con
    texts = privacy.personal_data_columns(compare_values="text")
    id_numbers = privacy.personal_data_columns(compare_values="id_number")
    columns = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_catalog not in ('temp', 'system') "
        "order by table_name, ordinal_position",
        [MART_SCHEMA],
    ).fetchall()
    marts: dict[str, list[str]] = {}
    for table, column, data_type in columns:
        if data_type.upper() == "VARCHAR":
            marts.setdefault(table, []).append(column)
    found: dict[tuple[str, str], tuple[int, int]] = {}
    if marts:
        # Every text value of every mart, with how many rows of its column hold it, and
        # their distinct values: the side the history's names and addresses are matched to.
        # One aggregate per column (not an unpivot of every mart into one long table and
        # one aggregate over it, which took four times as long on ten million traces).
        con.execute(
            "create or replace temp table _mart_values as "
            + " union all ".join(
                f"select {quote_literal(table)} as mart, {quote_literal(column)} as column_name, v, "
                f"count(*) as n from (select upper(trim({quote_identifier(column)})) as v "
                f"from {MART_SCHEMA}.{quote_identifier(table)}) "
                f"where length(v) >= {MIN_PERSONAL_VALUE_LENGTH} group by v"
                for table, cols in marts.items()
                for column in cols
            )
        )
        con.execute(
            "create or replace temp table _mart_texts as select distinct v from _mart_values"
        )
        sources = con.execute(
            "select table_schema, table_name, lower(column_name) from information_schema.columns "
            "where table_schema in ('raw', 'quarantine') "
            "and table_catalog not in ('temp', 'system') and list_contains(?, lower(column_name))",
            [sorted(texts | id_numbers)],
        ).fetchall()
        for kind, names in (("_personal_values", texts), ("_id_number_values", id_numbers)):
            # The personal values of raw and quarantine that equal some mart value: each
            # raw column streams past the marts' distinct values (a semi join built on the
            # smaller side), instead of every name and address of the history being made
            # distinct first.
            selects = [
                f'select upper(trim("{c}")) as v from {s}."{t}" '
                f'where length(trim("{c}")) >= {MIN_PERSONAL_VALUE_LENGTH} '
                f'and upper(trim("{c}")) in (select v from _mart_texts)'
                for s, t, c in sources
                if c in names
            ]
            con.execute(
                f"create or replace temp table {kind} as "
                + (" union ".join(selects) if selects else "select null::varchar as v where false")
            )  # union: distinct values, so a join counts each mart value once
        for mart, column, personal, ids in con.execute(
            "select m.mart, m.column_name, "
            "coalesce(sum(m.n) filter (where p.v is not null), 0), "
            "coalesce(sum(m.n) filter (where i.v is not null), 0) from _mart_values m "
            "left join _personal_values p on p.v = m.v left join _id_number_values i on i.v = m.v "
            "group by all"
        ).fetchall():
            found[(mart, column)] = (int(personal), int(ids))
        con.execute("drop table _mart_values")
        con.execute("drop table _mart_texts")
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


def _is_personal_name(column: str) -> bool:
    return privacy.is_personal_data_column(column)


def shared_suppression(ctx: Context) -> pd.DataFrame:
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


def mart_coverage(ctx: Context) -> pd.DataFrame:
    rows = [
        {"mart": name, "has_reconciliation": name in ctx.reconciled}
        for name in sorted(ctx.mart_rows)
    ]
    return pd.DataFrame(rows, columns=["mart", "has_reconciliation"])


BUILTINS = {
    "volume": volume,
    "personal_data": personal_data,
    "mart_coverage": mart_coverage,
    "shared_suppression": shared_suppression,
}
