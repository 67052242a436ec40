"""The data dictionary of a release, and its dbt docs site.

The descriptions are written once, in the dbt project's YAML (one file per model). dbt
puts them in its ``manifest.json``; a publish reads them from there and writes them into
the release three ways, so an analyst finds them wherever they look:

- as table and column comments of ``marts.duckdb`` (``duckdb_tables().comment``,
  ``duckdb_columns().comment``);
- as the table ``_dictionary``: one row per published table (``column_name`` null) and
  one per column, with its type and description;
- as a static dbt docs site, ``docs/index.html`` in the release folder: dbt's own page
  with the manifest (lineage, descriptions, tests, SQL) and a catalog (every relation's
  columns and types, read from the warehouse at publish time) inlined, and a Content
  Security Policy that lets it load nothing from the network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines import manifest as release_manifest
from pipelines.reference import MART_SCHEMA
from pipelines.warehouse import quote_literal

DICTIONARY_TABLE = "_dictionary"

# The release's own tables are not dbt models: their descriptions live here, and those of
# ``_release``'s columns, which are fields of the manifest, in pipelines/manifest.py.
RELEASE_TABLES = {
    "_release": (
        "Which release this database is: one row with its id, the run that built it, when it "
        "was published, the code version, the validation decision and the whole manifest.",
        {
            **{
                column: release_manifest.field_doc(column)
                for column in ("release_id", "run_id", "published_at", "code_version", "validation")
            },
            "manifest": "The release manifest as JSON, the same as the release's manifest.json: "
            "inputs and their SHA-256, rows per stage, the validation summary, where the data "
            "came from. Its keys: "
            + ", ".join(f.name for f in dataclasses.fields(release_manifest.Manifest))
            + ".",
        },
    ),
    DICTIONARY_TABLE: (
        "The data dictionary: one row per published table (column_name null) and one per "
        "column, with its type and description (from the dbt project's YAML).",
        {
            "table_name": "The published table.",
            "column_name": "The column; null on the row that describes the table itself.",
            "column_index": "Position of the column in the table (1 = first; 0 for the table row).",
            "data_type": "DuckDB type of the column; null for the table row.",
            "description": "What the table or column holds.",
            "dbt_unique_id": "The dbt node the table is built by (null for the release's own tables).",
        },
    ),
}

# A page that can load nothing from outside: scripts and styles inline, images as data.
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)


@dataclass
class ModelDocs:
    unique_id: str
    description: str
    columns: dict[str, str] = field(default_factory=dict)


def read_dbt_manifest(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def mart_docs(manifest: dict, schema: str) -> dict[str, ModelDocs]:
    """The description of every model dbt builds into ``schema``, by relation name."""
    docs: dict[str, ModelDocs] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") != "model" or node.get("schema") != schema:
            continue
        name = node.get("alias") or node["name"]
        docs[name] = ModelDocs(
            unique_id=unique_id,
            description=" ".join((node.get("description") or "").split()),
            columns={
                c: " ".join((col.get("description") or "").split())
                for c, col in (node.get("columns") or {}).items()
            },
        )
    return docs


def write_dictionary(con: duckdb.DuckDBPyConnection, docs: dict[str, ModelDocs]) -> dict:
    """Comment every table and column of schema ``main`` and write ``_dictionary``.

    Returns what is undescribed: ``{"tables": [...], "columns": ["table.column", ...]}``."""
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name = 'main' order by 1"
        ).fetchall()
    ]
    rows: list[tuple] = []
    missing: dict[str, list[str]] = {"tables": [], "columns": []}
    for table in [*tables, DICTIONARY_TABLE]:
        if table in RELEASE_TABLES:
            description, column_docs = RELEASE_TABLES[table]
            unique_id = None
        elif table in docs:
            description, column_docs = docs[table].description, docs[table].columns
            unique_id = docs[table].unique_id
        else:
            description, column_docs, unique_id = "", {}, None
        if table == DICTIONARY_TABLE:
            columns = [(c, i, "VARCHAR") for i, c in enumerate(column_docs, 1)]
            columns[2] = ("column_index", 3, "INTEGER")
        else:
            columns = con.execute(
                "select column_name, column_index, data_type from duckdb_columns() "
                "where database_name = current_database() and schema_name = 'main' "
                "and table_name = ? order by column_index",
                [table],
            ).fetchall()
        if not description:
            missing["tables"].append(table)
        rows.append((table, None, 0, None, description or None, unique_id))
        for column, index, data_type in columns:
            text = column_docs.get(column, "")
            if not text:
                missing["columns"].append(f"{table}.{column}")
            rows.append((table, column, index, data_type, text or None, unique_id))
    # One transaction for the table and the comments: each statement would otherwise be
    # a commit of its own, and there is one comment for every column of every mart.
    con.execute("begin transaction")
    try:
        con.execute(
            f"create table main.{DICTIONARY_TABLE} (table_name varchar not null, "
            "column_name varchar, column_index integer not null, data_type varchar, "
            "description varchar, dbt_unique_id varchar)"
        )
        con.executemany(f"insert into main.{DICTIONARY_TABLE} values (?, ?, ?, ?, ?, ?)", rows)
        for table, column, _index, _type, text, _uid in rows:
            if not text:
                continue
            if column is None:
                con.execute(f'comment on table main."{table}" is {quote_literal(text)}')
            else:
                con.execute(f'comment on column main."{table}"."{column}" is {quote_literal(text)}')
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return missing


# --- the dbt docs site -------------------------------------------------------------------


def warehouse_catalog(
    con: duckdb.DuckDBPyConnection, catalog: str, manifest: dict, row_counts: dict[str, int]
) -> dict:
    """dbt's ``catalog.json`` for every model, seed and source of ``manifest``, read from
    the attached warehouse ``catalog`` (columns and types; rows of the published marts)."""
    from dbt.artifacts.schemas.catalog import CatalogArtifact
    from dbt_common.contracts.metadata import (
        CatalogTable,
        ColumnMetadata,
        StatsItem,
        TableMetadata,
    )

    kinds = dict(
        con.execute(
            "select table_schema || '.' || table_name, table_type from information_schema.tables "
            "where table_catalog = ?",
            [catalog],
        ).fetchall()
    )
    columns: dict[str, list[tuple]] = {}
    for schema, table, column, data_type, position in con.execute(
        "select table_schema, table_name, column_name, data_type, ordinal_position "
        "from information_schema.columns where table_catalog = ? order by 1, 2, 5",
        [catalog],
    ).fetchall():
        columns.setdefault(f"{schema}.{table}", []).append((column, data_type, position))

    def entry(unique_id: str, node: dict) -> CatalogTable | None:
        relation = f"{node['schema']}.{node.get('alias') or node.get('identifier') or node['name']}"
        if relation not in kinds:
            return None
        name = relation.split(".", 1)[1]
        stats = {
            "has_stats": StatsItem(id="has_stats", label="Has Stats?", value=False, include=False)
        }
        if node.get("schema") == MART_SCHEMA and name in row_counts:
            stats = {
                "row_count": StatsItem(
                    id="row_count",
                    label="Rows in this release",
                    value=float(row_counts[name]),
                    include=True,
                    description="Rows of the table in the published release.",
                ),
                "has_stats": StatsItem(
                    id="has_stats", label="Has Stats?", value=True, include=False
                ),
            }
        described = node.get("columns") or {}
        return CatalogTable(
            metadata=TableMetadata(
                type=kinds[relation],
                schema=node["schema"],
                name=name,
                database=node.get("database"),
                comment=" ".join((node.get("description") or "").split()) or None,
            ),
            columns={
                column: ColumnMetadata(
                    type=data_type,
                    index=position,
                    name=column,
                    comment=(described.get(column) or {}).get("description") or None,
                )
                for column, data_type, position in columns.get(relation, [])
            },
            stats=stats,
            unique_id=unique_id,
        )

    nodes = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") in ("model", "seed", "snapshot"):
            found = entry(unique_id, node)
            if found is not None:
                nodes[unique_id] = found
    sources = {}
    for unique_id, node in manifest.get("sources", {}).items():
        found = entry(unique_id, node)
        if found is not None:
            sources[unique_id] = found
    artifact = CatalogArtifact.from_results(
        generated_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        nodes=nodes,
        sources=sources,
        compile_results=None,
        errors=None,
    )
    return artifact.to_dict(omit_none=False)


def docs_manifest(manifest: dict) -> dict:
    """The manifest as the docs site shows it: no compiled SQL (the SQL as written is
    there), no usage tracking."""
    out = dict(manifest)
    out["metadata"] = {**manifest.get("metadata", {}), "send_anonymous_usage_stats": False}
    out["nodes"] = {
        uid: {k: v for k, v in node.items() if k not in ("compiled_code", "compiled_path")}
        for uid, node in manifest.get("nodes", {}).items()
    }
    return out


def static_docs_html(manifest: dict, catalog: dict) -> str:
    """dbt's docs page (``dbt docs generate --static``) with both artifacts inlined and
    nothing loaded from outside: a CSP forbids every request, and the usage tracker's
    loader is removed."""
    from dbt.task.docs import DOCS_INDEX_FILE_PATH

    page = Path(DOCS_INDEX_FILE_PATH).read_text(encoding="utf-8")
    # json.dumps escapes no "</script>": a description holding it would end the script.
    manifest_json = json.dumps(docs_manifest(manifest)).replace("</", "<\\/")
    catalog_json = json.dumps(catalog).replace("</", "<\\/")
    for placeholder, data in (
        ('"MANIFEST.JSON INLINE DATA"', manifest_json),
        ('"CATALOG.JSON INLINE DATA"', catalog_json),
    ):
        if placeholder not in page:
            raise RuntimeError(f"dbt's docs page has no {placeholder} to fill (dbt changed?)")
        page = page.replace(placeholder, data, 1)
    page = page.replace("//d1fc8wv8zag5ca.cloudfront.net/2.9.0/sp.js", "")
    meta = f'<meta http-equiv="Content-Security-Policy" content="{DOCS_CSP}">'
    return page.replace("<head>", "<head>" + meta, 1)
