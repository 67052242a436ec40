"""Exports for partner agencies: the ``shared_*`` marts of a published release (aggregates
only, small counts suppressed) as CSV files, one folder per release under
``<data>/exports/<release id>/``, with a note of what they are. It reads the published
release, never the working warehouse. Values that a spreadsheet would run as a formula
(``=``, ``+``, ``-``, ``@`` first) are written as text.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import duckdb

from pipelines.config import Settings
from pipelines.manifest import FILE_NAME, Manifest, ManifestError
from pipelines.privacy import neutralise_formula

log = logging.getLogger(__name__)

NOTE = """Aggregate trace figures for sharing with partner agencies (tracepipe).

Release:     {release_id} (published {published_at}, validation: {validation})
Tables:      {tables}

Each file holds counts only, never a record or a person. Counts under 5 are suppressed
(shown as blank), and further cells are suppressed where a hidden count could be worked
out from the totals (docs/MARTS.md, "Shared marts"). Rows and columns named ALL are totals.
"""


def exports_dir(settings: Settings) -> Path:
    return settings.data_dir / "exports"


def export_shared(settings: Settings) -> dict:
    """Write the current release's shared marts as CSV; returns where and what."""
    current = settings.current_link
    manifest = Manifest.read(current)
    release_id = manifest.release_id
    if not release_id:  # the folder below would be the exports folder itself
        raise ManifestError(f"{current / FILE_NAME}: names no release")
    target = exports_dir(settings) / release_id
    building = target.with_name(f".{release_id}.building")
    building.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(current / "marts.duckdb"), read_only=True)
    written: dict[str, int] = {}
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where table_name like 'shared\\_%' "
                "escape '\\' order by 1"
            ).fetchall()
        ]
        for table in tables:
            cursor = con.execute(f'select * from "{table}"')
            header = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            with (building / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows([neutralise_formula(v) for v in row] for row in rows)
            written[table] = len(rows)
    finally:
        con.close()
    (building / "README.txt").write_text(
        NOTE.format(
            release_id=release_id,
            published_at=manifest.published_at or "?",
            validation=manifest.validation or "?",
            tables=", ".join(written) or "none",
        ),
        encoding="utf-8",
    )
    if target.exists():
        for old in target.iterdir():
            old.unlink()
        target.rmdir()
    os.replace(building, target)
    log.info("exported %d shared marts of release %s to %s", len(written), release_id, target)
    return {"release_id": release_id, "folder": str(target), "tables": written}
