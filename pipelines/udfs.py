"""Functions the pipeline gives DuckDB at run time: the purchaser's keyed hash.

The key stays in this process's memory: SQL (and so every view definition, dbt's
compiled SQL, logs and artifacts) names only the function, ``tracepipe_purchaser_key``.
Every connection to the warehouse registers it (``pipelines.warehouse.connect`` and dbt's
connections, through the plugin ``pipelines.dbt_plugin``), because views over raw call it.
"""

from __future__ import annotations

import contextlib

import duckdb
import pyarrow as pa

from pipelines.privacy import keyed_hasher

PURCHASER_KEY_FUNCTION = "tracepipe_purchaser_key"


def register(con: duckdb.DuckDBPyConnection, key: str | None) -> None:
    """``tracepipe_purchaser_key(normalised name, birth date YYYY-MM-DD or '')``: the
    HMAC-SHA256 of ``name|dob`` under the key, hex; null without a name or a key."""

    hashed = None if key is None else keyed_hasher(key)

    def purchaser_key(names: pa.ChunkedArray, dobs: pa.ChunkedArray) -> pa.Array:
        if hashed is None:
            return pa.nulls(len(names), pa.string())
        return pa.array(
            [
                None if name is None else hashed(f"{name}|{dob or ''}")
                for name, dob in zip(names.to_pylist(), dobs.to_pylist(), strict=True)
            ],
            pa.string(),
        )

    with contextlib.suppress(duckdb.Error):  # registered before on this connection
        con.remove_function(PURCHASER_KEY_FUNCTION)
    con.create_function(
        PURCHASER_KEY_FUNCTION,
        purchaser_key,
        [duckdb.sqltype("VARCHAR"), duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("VARCHAR"),
        type="arrow",
        null_handling="special",
        side_effects=False,
    )
