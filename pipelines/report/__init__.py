"""Report: the figures of GAO-16-223 drawn from the published marts.

Reads only ``published/current`` (read-only), never the working warehouse, so the report
shows exactly what analysts see.
"""

from __future__ import annotations

import html
from pathlib import Path

import duckdb

from pipelines.config import Settings

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:64rem;color:#1d2330;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0}th,td{border-bottom:1px solid #d9dde5;padding:.35rem .6rem}
th{background:#f2f4f8;text-align:left}td{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#5b6475}
"""


def _table(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


# Further figures, each drawn whole from one published mart when the release has it.
MART_SECTIONS = (
    ("gao_16_223_reproduction", "GAO-16-223's published figures against this release"),
    ("purchaser_determination_by_year", "Purchaser determination of US-sourced firearms, by year"),
    ("source_states_gao_period", "Source states of US-sourced firearms, 2009-2014"),
    ("firearm_types_by_year", "Long and short guns, by year of recovery"),
    ("seizures_by_year", "Southbound seizures, by year"),
    ("multiple_sale_recoveries_by_year", "Demand Letter 3 rifles later traced"),
)


def sections(con: duckdb.DuckDBPyConnection, tables: set[str]) -> list[tuple[str, str]]:
    out = []
    for table, title in MART_SECTIONS:
        if table in tables:
            out.append((title, _table(con, f'select * from main."{table}"')))
    if "origin_by_year" in tables:
        out.append(
            (
                "Origin of firearms recovered in Mexico and traced, by year of recovery",
                _table(
                    con,
                    "select recovery_year, n_traced, n_us_manufactured, n_us_imported, "
                    "n_us_sourced, n_third_country, n_undetermined, pct_us_sourced, "
                    "pct_third_country, pct_undetermined from origin_by_year order by 1",
                ),
            )
        )
        out.append(
            (
                "Origin, GAO-16-223 period (recovery years 2009-2014)",
                _table(
                    con,
                    "select sum(n_traced) as n_traced, sum(n_us_sourced) as n_us_sourced, "
                    "sum(n_third_country) as n_third_country, "
                    "sum(n_undetermined) as n_undetermined, "
                    "round(100.0 * sum(n_us_sourced) / sum(n_traced)) as pct_us_sourced, "
                    "round(100.0 * sum(n_third_country) / sum(n_traced)) as pct_third_country, "
                    "round(100.0 * sum(n_undetermined) / sum(n_traced)) as pct_undetermined "
                    "from origin_by_year where is_gao_period",
                ),
            )
        )
    return out


def write_figures(settings: Settings, run_id: str) -> Path:
    database = settings.current_link / "marts.duckdb"
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        parts = sections(con, tables)
    finally:
        con.close()
    release = settings.current_link.resolve().name
    body = "".join(f"<h2>{html.escape(title)}</h2>{table}" for title, table in parts)
    folder = settings.reports_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "figures.html"
    path.write_text(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Firearms traced from Mexico: figures</title><style>{STYLE}</style></head><body>"
        f"<h1>Firearms recovered in Mexico and traced</h1>"
        f"<p class='muted'>Release {html.escape(release)}; counts are firearms, one per "
        f"recovered firearm (repeat trace requests left out).</p>{body}</body></html>",
        encoding="utf-8",
    )
    return path
