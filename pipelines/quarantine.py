"""Quarantined rows: listed with their reasons, and exported as CSV for the people who
fix them.

The ingest keeps each row it could not load in ``quarantine.<kind>`` of the warehouse,
with its file, row, physical line, rules and reason (values in the reason already
masked). What leaves the warehouse here is masked again by value, the ingest's way
(``privacy.RowMask``): every value at a personal-data column or where one could have
shifted to, and every value of the row that equals or contains one of those, is
``<masked>``. A CSV written for people has every text cell made safe for a spreadsheet
(``privacy.neutralise_formula``): a value such as ``=HYPERLINK(...)`` is shown as text,
never run.

The warehouse is opened read-only and closed at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from pipelines import privacy
from pipelines.config import KINDS, Settings, safe_name
from pipelines.contracts import CONTRACTS
from pipelines.warehouse import connect, has_table

#: The columns every listed or exported row starts with.
META = (
    "kind",
    "file_name",
    "load_id",
    "load_status",
    "row_number",
    "line_number",
    "rules",
    "reason",
)


@dataclass
class Listing:
    rows: list[dict]  # META, plus the contract's columns (masked) and raw_line when exported
    total: int  # rows matching, before the limit
    by_kind: dict[str, int]  # every quarantined row, by kind


def _masked(contract_columns: tuple[str, ...], values: list) -> list:
    """The row's values with personal data masked by value (``privacy.RowMask``)."""
    exposed = privacy.exposed_columns(contract_columns)
    positions = [i for i, c in enumerate(contract_columns) if c in exposed]
    return privacy.RowMask(values, positions).values(values)


def rows(
    settings: Settings,
    kind: str | None = None,
    file_name: str | None = None,
    limit: int | None = None,
    with_values: bool = False,
) -> Listing:
    """Quarantined rows in file and row order (of one kind, or one file, when given);
    at most ``limit`` of them. ``with_values`` adds the row's values, masked."""
    kinds = [kind] if kind else list(KINDS)
    found: list[dict] = []
    total = 0
    by_kind: dict[str, int] = {}
    with connect(settings, read_only=True) as con:
        ledger = has_table(con, "meta", "load_ledger")
        for k in kinds:
            if not has_table(con, "quarantine", k):
                continue
            by_kind[k] = con.execute(f"select count(*) from quarantine.{k}").fetchall()[0][0]
            columns = CONTRACTS[k].columns
            where = "where q._file_name = ?" if file_name else ""
            params = [file_name] if file_name else []
            status = "l.status" if ledger else "null"
            join = (
                "left join (select load_id, min(status) as status from meta.load_ledger "
                "where status in ('loaded', 'retracted') group by 1) l on l.load_id = q._load_id"
                if ledger
                else ""
            )
            total += con.execute(
                f"select count(*) from quarantine.{k} q {where}", params
            ).fetchall()[0][0]
            room = None if limit is None else max(0, limit - len(found))
            if room == 0:
                continue
            values = ", ".join(f'q."{c}"' for c in columns)
            sql = (
                f"select q._file_name, q._load_id, {status}, q._row_number, q._line_number, "
                f"q._rules, q._reason, q._raw_line, {values} from quarantine.{k} q {join} "
                f"{where} order by q._loaded_at, q._file_name, q._row_number"
                + (f" limit {int(room)}" if room is not None else "")
            )
            for record in con.execute(sql, params).fetchall():
                name, load_id, load_status, row, line, rules, reason, raw_line, *data = record
                item = {
                    "kind": k,
                    "file_name": name,
                    "load_id": load_id,
                    "load_status": load_status or "",
                    "row_number": row,
                    "line_number": line,
                    "rules": rules,
                    "reason": reason,
                }
                if with_values:
                    item.update(zip(columns, _masked(columns, data), strict=True))
                    item["raw_line"] = raw_line or ""  # masked by the ingest when it was kept
                found.append(item)
    return Listing(found, total, by_kind)


def to_csv(listing: Listing) -> str:
    """The rows as CSV text for people: every text cell safe for a spreadsheet."""
    columns: list[str] = list(META)
    for item in listing.rows:
        for key in item:
            if key not in columns:
                columns.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for item in listing.rows:
        writer.writerow(
            [
                "" if item.get(c) is None else privacy.neutralise_formula(item.get(c))
                for c in columns
            ]
        )
    return buffer.getvalue()


def export_folder(settings: Settings) -> Path:
    return settings.data_dir / "exports" / "quarantine"


def export(settings: Settings, listing: Listing, name: str | None = None) -> Path:
    """Write the rows as CSV into ``<data>/exports/quarantine/``: ``name`` (a plain file
    name, checked by ``safe_name``; ``.csv`` added when missing), else a dated name."""
    name = name or f"quarantine-{dt.datetime.now():%Y%m%dT%H%M%S}.csv"
    name = safe_name(name, "file name")
    if not name.lower().endswith(".csv"):
        name += ".csv"
    folder = export_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    partial = folder / f".{name}.partial"
    partial.write_text(to_csv(listing), encoding="utf-8")
    partial.replace(path)
    return path
