"""The pipeline's working DuckDB file: opened, used and closed by one step at a time.

DuckDB allows one writer or many readers per file, never both, so no step keeps the
file open longer than it works, and analysts never open it (they read a published copy).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from pipelines import udfs
from pipelines.config import Settings
from pipelines.secrets import pii_key

log = logging.getLogger(__name__)


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse: transient, worth retrying later."""


def lock_holder(error: object) -> str | None:
    """Who holds the file lock a DuckDB error is about ("process 1234", or "another
    process" when DuckDB does not say); None when the error is not about a lock (a
    missing file, a damaged one)."""
    text = str(error)
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    holder = re.search(r"PID (\d+)", text)
    return f"process {holder.group(1)}" if holder else "another process"


# A new warehouse file is written in the newest storage format of the pinned DuckDB (its
# own default is 1.0's, for older readers): only the pipeline, on that DuckDB, reads it
# (analysts read releases, written for older shells by pipelines.publish). Copying the
# 10 M-row flagged table measured 37.6 and 32.4 s in it, against 49.7 and 41.8 s in 1.0's.
STORAGE = {"storage_compatibility_version": "latest"}


@contextmanager
def connect(
    settings: Settings, read_only: bool = False, wait_seconds: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse; waits a while if another process holds the lock.
    It knows the pipeline's run-time functions (the purchaser's keyed hash), which the
    staging views call."""
    key = pii_key(settings)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    wait = settings.lock_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            con = duckdb.connect(
                str(settings.warehouse_path),
                read_only=read_only,
                config={**limits(settings), **STORAGE},
            )
            break
        except duckdb.IOException as exc:
            who = lock_holder(exc)
            if who is None:
                raise
            if time.monotonic() > deadline:
                raise WarehouseBusy(
                    f"the warehouse {settings.warehouse_path} is in use by {who}; steps "
                    "that write it must not run at the same time: try again when it is done"
                ) from exc
            if not said:
                log.info("waiting for the lock held by %s (up to %.0f s)", who, wait)
                said = True
            time.sleep(0.5)
    try:
        udfs.register(con, key)
        yield con
    finally:
        con.close()


def limits(settings: Settings) -> dict[str, str]:
    """What every connection the pipeline opens may use: a memory limit, and a temporary
    folder under the data folder that larger work spills to (DuckDB's own default is
    80 % of the machine's memory)."""
    settings.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
    return {
        "memory_limit": settings.duckdb_memory_limit,
        "temp_directory": str(settings.duckdb_temp_dir),
    }


def quote_identifier(name: str) -> str:
    """A name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """Text as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table) -> Iterator[None]:
    """An Arrow table (or frame) visible to SQL as ``name`` for the length of a block."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )
