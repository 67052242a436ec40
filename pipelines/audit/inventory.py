"""What the audit finds in the warehouse and the current release before it checks
anything: the relations there are, the rows loaded by kind, the marts' row counts, the
file names two loads share, and the manifest of the release analysts see now.
``Context`` carries them, with the read-only connection, to the batches and builtins.

Reads only; it checks nothing and decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.config import Settings
from pipelines.manifest import Manifest, ManifestError
from pipelines.reference import MART_SCHEMA


@dataclass
class Context:
    con: duckdb.DuckDBPyConnection
    relations: set[str]
    loaded: dict[str, int]
    mart_rows: dict[str, int]
    previous: Manifest | None
    reconciled: set[str]


def relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog not in ('temp', 'system')"
    ).fetchall()
    return {f"{s}.{t}" for s, t in rows}


def loaded_kinds(con: duckdb.DuckDBPyConnection, relations: set[str]) -> dict[str, int]:
    if "meta.load_ledger" not in relations:
        return {}
    rows = con.execute(
        "select kind, sum(rows_loaded) from meta.load_ledger where status = 'loaded' group by kind"
    ).fetchall()
    return {kind: int(n or 0) for kind, n in rows}


def mart_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
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


def shared_file_names(con: duckdb.DuckDBPyConnection, relations: set[str]) -> list[str]:
    """Names that more than one loaded file has (a retract must name such a file by load)."""
    if "meta.load_ledger" not in relations:
        return []
    rows = con.execute(
        "select file_name from meta.load_ledger where status = 'loaded' "
        "group by file_name having count(distinct load_id) > 1 order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def previous_manifest(settings: Settings) -> Manifest | None:
    """The manifest of the release analysts see now (what this run would replace), or
    None when there is none or it cannot be read."""
    try:
        return Manifest.read(settings.current_link)
    except (OSError, ManifestError):
        return None
