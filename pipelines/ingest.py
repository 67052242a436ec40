"""Ingest: every landed export read once, each row loaded or quarantined with a reason.

For each file under ``landing/<kind>/``:

1. The load ledger (``meta.load_ledger``) is asked whether these bytes were loaded
   before (keyed by SHA-256 of the content). A re-sent file changes nothing, and the
   bytes of a retracted file are not loaded again (land a corrected file instead).
2. The file is read as its kind (encoding, line ends, header, date style, field counts).
   A file that cannot be read as its kind at all is *rejected*: moved to
   ``rejected/<kind>/`` with a ``.reason.txt`` beside it, nothing of it loaded.
3. The rows are checked against the kind's contract (pandera, all failures collected).
   Good rows go to ``raw.<kind>``, bad rows to ``quarantine.<kind>`` with the file, row,
   column, rule and offending value (personal data masked), all in one transaction with
   the ledger row, so a file is loaded whole or not at all.

Records change after they are first sent (``docs/METHOD.md``, "Versions"). A good row
whose key was loaded before from another file is a new *version* of that record; raw
keeps every version with its load, file, row, export date and load sequence, and the
models use the current one. Each loaded row is counted as

- ``new``: no live load holds its key;
- ``changed``: its values differ from the current version of its key;
- ``unchanged``: the same record re-sent (its values, compared after trimming and with
  dates as dates, equal the current version's): stored, but it changes nothing.

A key repeated inside one file is quarantined (``duplicate_key``).

Conservation: for every file, rows read = new + changed + unchanged + quarantined, and
rows loaded = new + changed + unchanged.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import polars as pl
from pandera.errors import SchemaErrors

from pipelines import contracts, privacy
from pipelines.config import KINDS, Settings
from pipelines.contracts import CONTRACTS, DATE_STYLES, ISO_DATE, Contract
from pipelines.reference import normalise_text
from pipelines.warehouse import connect, registered

log = logging.getLogger(__name__)

META_COLUMNS = ("_load_id", "_file_name", "_row_number", "_date_format", "_loaded_at")
# How a row's version is ordered and compared (docs/METHOD.md, "Versions").
VERSION_COLUMNS = ("_export_date", "_load_seq", "_record_hash", "_change")
CHANGES = ("new", "changed", "unchanged")
# The export date an export's name may carry: YYYY-MM-DD, YYYYMMDD or YYYY-MM.
EXPORT_DATE_IN_NAME = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})[-_]?(?P<m>0[1-9]|1[0-2])(?:[-_]?(?P<d>0[1-9]|[12]\d|3[01]))?(?!\d)"
)


class FileRejected(Exception):
    """The file cannot be read as its kind; nothing of it is loaded."""

    def __init__(self, reason: str, advice: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.advice = advice


@dataclass
class FileResult:
    kind: str
    file_name: str
    status: str  # loaded | rejected | already_loaded | duplicate_content | retracted_before
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_new: int = 0
    rows_changed: int = 0
    rows_unchanged: int = 0
    reason: str = ""
    load_id: str = ""
    encoding: str = ""
    date_format: str = ""
    moved_to: str = ""
    quarantine_examples: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    files: list[FileResult]
    misplaced: list = field(default_factory=list)  # Misplaced files, not loaded

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def rows(self, change: str) -> int:
        return sum(getattr(f, f"rows_{change}") for f in self.files)

    def by_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    def to_dict(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            **{f"rows_{change}": self.rows(change) for change in CHANGES},
            "files": [asdict(f) for f in self.files],
            "misplaced": [asdict(m) for m in self.misplaced],
        }


# --- reading a file --------------------------------------------------------------------


CHUNK_ROWS = 200_000


@dataclass
class Chunk:
    rows: list[list[str]]  # rows with the right number of fields, in contract order
    row_numbers: list[int]  # 1-based data row number of each of ``rows``
    bad_rows: list[tuple[int, str, str]]  # (row number, fields as read, reason)

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.bad_rows)


def sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, else Latin-1; read in blocks."""
    with path.open("rb") as handle:
        head = handle.read(65536)
        if head.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
        elif head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
            raise FileRejected(
                "the file is not text in UTF-8 or Latin-1 (it looks like UTF-16 or binary data)",
                "ask the provider for a UTF-8 or Latin-1 CSV export",
            )
        else:
            encoding = "utf-8"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for block in iter(lambda: handle.read(1 << 22), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig":
                raise FileRejected(
                    f"the file starts with a UTF-8 byte-order mark but is not UTF-8 ({exc.reason})",
                    "ask the provider for a clean UTF-8 or Latin-1 export",
                ) from exc
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")()
        try:
            for block in iter(lambda: handle.read(1 << 22), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


def ends_with_line_break(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) in (b"\n", b"\r")


class ExportFile:
    """One landed export, opened as its kind: header, encoding and date style checked,
    rows read in chunks so a file of any size fits in memory."""

    def __init__(self, path: Path, contract: Contract, chunk_rows: int | None = None):
        self.path = path
        self.contract = contract
        self.chunk_rows = chunk_rows or CHUNK_ROWS
        self.label = f"{contract.kind}/{path.name}"
        with path.open("rb") as handle:
            head = handle.read(65536)
        if not head.strip():
            raise FileRejected(
                f"{self.label} is empty", "ask the provider to send the export again"
            )
        self.encoding = sniff_encoding(path)
        if not ends_with_line_break(path):
            raise FileRejected(
                f"{self.label} is truncated: it does not end with a line break, so its last "
                "row is probably cut off",
                "ask the provider to send the whole file again",
            )
        self._handle = path.open(encoding=self.encoding, newline="")
        self._reader = csv.reader(self._handle, delimiter=contract.delimiter)
        try:
            raw_header = next(self._reader)
        except (StopIteration, csv.Error) as exc:
            self.close()
            raise FileRejected(f"{self.label} has no readable header line") from exc
        try:
            header = match_header(contract, raw_header, self.label)
        except FileRejected:
            self.close()
            raise
        self._order = (
            None
            if header == list(contract.columns)
            else [header.index(c) for c in contract.columns]
        )
        self._n = len(header)
        self._row_number = 0
        self._first = self._read_chunk()
        self.date_format = detect_date_format(contract, list(contract.columns), self._first.rows)

    def close(self) -> None:
        self._handle.close()

    def _read_chunk(self) -> Chunk:
        chunk = Chunk([], [], [])
        try:
            for record in self._reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # a blank line is not a record
                self._row_number += 1
                if len(record) == self._n:
                    if self._order is not None:
                        record = [record[i] for i in self._order]
                    chunk.rows.append(record)
                    chunk.row_numbers.append(self._row_number)
                else:
                    chunk.bad_rows.append(
                        (
                            self._row_number,
                            self.contract.delimiter.join(record),
                            f"expected {self._n} fields, found {len(record)}",
                        )
                    )
                if chunk.rows_read >= self.chunk_rows:
                    break
        except csv.Error as exc:
            raise FileRejected(
                f"{self.label} cannot be read as delimited text at line "
                f"{self._reader.line_num}: {exc}"
            ) from exc
        return chunk

    def chunks(self):
        chunk, self._first = self._first, None
        while chunk is not None and chunk.rows_read:
            yield chunk
            chunk = self._read_chunk()


def detect_date_format(contract: Contract, header: list[str], rows: list[list[str]]) -> str:
    """The date style of a whole file, decided by the majority of its date values."""
    positions = [header.index(c) for c in contract.date_columns if c in header]
    votes = dict.fromkeys(DATE_STYLES, 0)
    for row in rows[:5000]:
        for pos in positions:
            value = row[pos].strip()
            for style, pattern in DATE_STYLES.items():
                if pattern.match(value):
                    votes[style] += 1
    best = max(votes, key=lambda style: votes[style])
    return best if votes[best] else ISO_DATE


def match_header(contract: Contract, raw_header: list[str], file_label: str) -> list[str]:
    """Canonical column names of the file, or a rejection that says what is wrong."""
    header = [contracts.header_key(h) for h in raw_header]
    expected = set(contract.columns)
    if set(header) == expected and len(header) == len(expected):
        return header
    for other in CONTRACTS.values():
        if other.kind != contract.kind and set(header) == set(other.columns):
            raise FileRejected(
                f"{file_label} is a {other.kind} export (its header matches that contract) "
                f"but it landed in the {contract.kind}/ folder",
                f"move it to landing/{other.kind}/",
            )
    missing = [c for c in contract.columns if c not in header]
    unexpected = [h for h in header if h not in expected]
    if len(missing) == len(expected) or (unexpected and len(unexpected) == len(header)):
        raise FileRejected(
            f"{file_label} has no {contract.kind} header row: the first line holds "
            f"{len(header)} values that are not column names of the contract",
            "the first line must name the columns of export-formats.md",
        )
    parts = []
    if missing:
        parts.append("missing columns: " + ", ".join(missing))
    if unexpected:
        parts.append("unexpected columns: " + ", ".join(unexpected))
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        parts.append("repeated columns: " + ", ".join(dupes))
    raise FileRejected(
        f"the header of {file_label} does not match the {contract.kind} contract ("
        + "; ".join(parts)
        + ")",
        "fix the header to the column list of export-formats.md and land the file again",
    )


def snapshot_month(contract: Contract, path: Path) -> dt.date | None:
    if contract.snapshot_name is None:
        return None
    match = contract.snapshot_name.match(path.name)
    if not match:
        raise FileRejected(
            f"licensees/{path.name}: the month of the snapshot cannot be read from the file name",
            "name licensee listings as ATF does: MMYY-ffl-list.txt or MMYY-ffl-list-complete.txt",
        )
    return dt.date(2000 + int(match["yy"]), int(match["mm"]), 1)


# --- checking rows ---------------------------------------------------------------------


def _frame(contract: Contract, chunk: Chunk) -> pl.DataFrame:
    return pl.DataFrame(
        chunk.rows, schema={name: pl.Utf8 for name in contract.columns}, orient="row"
    )


def _for_validation(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Trimmed values, blanks as nulls, normalised where the contract compares so."""
    exprs = []
    for f in contract.fields:
        col = pl.col(f.name).str.strip_chars()
        col = pl.when(col == "").then(None).otherwise(col)
        exprs.append(col.alias(f.name))
    out = frame.select(exprs)
    for f in contract.fields:
        if f.normalise or f.domain:
            values = out.get_column(f.name).unique().drop_nulls().to_list()
            mapping = {v: (normalise_text(v) if f.normalise else v.strip()) for v in values}
            out = out.with_columns(pl.col(f.name).replace(mapping))
    return out


def check_rows(
    frame: pl.DataFrame, contract: Contract, date_format: str
) -> dict[int, list[dict[str, str]]]:
    """Failures by row position: [{column, rule, reason, value}], values masked."""
    failures: dict[int, list[dict[str, str]]] = defaultdict(list)
    if frame.height == 0:
        return failures
    checked = _for_validation(frame, contract)
    schema = contracts.schema_for(contract.kind, date_format)
    try:
        schema.validate(checked, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        for case in cases.iter_rows(named=True):
            index = case["index"]
            if index is None:
                raise RuntimeError(
                    f"the {contract.kind} contract could not be evaluated: {case['check']} "
                    f"on {case['column']}"
                ) from exc
            check = case["check"]
            rule, reason = contracts.describe_rule(check, case["column"], date_format)
            if case["schema_context"] == "Column":
                column = case["column"]
                value = frame.get_column(column)[index]
            elif rule == "date_order":
                earlier, later = check.split(":", 1)[1].split("<=")
                column = earlier
                value = f"{frame.get_column(earlier)[index]} > {frame.get_column(later)[index]}"
                if privacy.is_pii(earlier) or privacy.is_pii(later):
                    value = privacy.MASK
            else:
                column = ",".join(contract.key)
                value = "|".join(str(frame.get_column(k)[index]) for k in contract.key)
            failures[int(index)].append(
                {
                    "column": column,
                    "rule": rule,
                    "reason": reason,
                    "value": str(privacy.mask_value(column, value)),
                }
            )
    return failures


# --- the warehouse side ----------------------------------------------------------------


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The ingest's tables, created or brought up to date (idempotent)."""
    for schema in ("raw", "quarantine", "meta", "retracted"):
        con.execute(f"create schema if not exists {schema}")
    con.execute(
        """
        create table if not exists meta.load_ledger (
            load_id varchar,
            kind varchar,
            file_name varchar,
            sha256 varchar,
            size_bytes bigint,
            mtime_ns bigint,
            status varchar,
            encoding varchar,
            date_format varchar,
            snapshot_month date,
            rows_read bigint,
            rows_loaded bigint,
            rows_quarantined bigint,
            reason varchar,
            loaded_at timestamp
        )
        """
    )
    # Added with record versions: the load's place in version order, its counts by
    # change, and its retraction (when, why, in which change sequence).
    for column, type_ in LEDGER_VERSION_COLUMNS:
        con.execute(f"alter table meta.load_ledger add column if not exists {column} {type_}")
    for contract in CONTRACTS.values():
        cols = ", ".join(f'"{c}" varchar' for c in contract.columns)
        extra = ", _snapshot_month date" if contract.snapshot_name else ""
        con.execute(
            f"""create table if not exists raw.{contract.kind} (
                {cols}, _load_id varchar, _file_name varchar, _row_number bigint,
                _date_format varchar, _loaded_at timestamp{extra})"""
        )
        _add_version_columns(con, contract)
        con.execute(
            f"""create table if not exists quarantine.{contract.kind} (
                {cols}, _load_id varchar, _file_name varchar, _row_number bigint,
                _date_format varchar, _loaded_at timestamp{extra},
                _raw_line varchar, _rules varchar, _reason varchar, _errors json)"""
        )
        # Rows of retracted loads, kept readable with when and why they were taken back.
        con.execute(
            f"""create table if not exists retracted.{contract.kind} as
                select *, null::timestamp as _retracted_at, null::bigint as _retract_seq,
                    null::varchar as _retraction_reason
                from raw.{contract.kind} limit 0"""
        )


LEDGER_VERSION_COLUMNS = (
    ("load_seq", "bigint"),
    ("export_date", "date"),
    ("rows_new", "bigint"),
    ("rows_changed", "bigint"),
    ("rows_unchanged", "bigint"),
    ("retracted_at", "timestamp"),
    ("retraction_reason", "varchar"),
    ("retract_seq", "bigint"),
)


def _add_version_columns(con, contract: Contract) -> None:
    """Give a raw table of an earlier version of the pipeline its version columns, and
    fill them for the rows it holds: load order from the ledger, the record hash from
    the values, every row counted new (such a warehouse could hold no versions)."""
    kind = contract.kind
    present = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = ?",
            [kind],
        ).fetchall()
    }
    if set(VERSION_COLUMNS) <= present:
        return
    for column, type_ in zip(
        VERSION_COLUMNS, ("date", "bigint", "varchar", "varchar"), strict=True
    ):
        con.execute(f"alter table raw.{kind} add column if not exists {column} {type_}")
    con.execute(
        "update meta.load_ledger set load_seq = s.seq, export_date = loaded_at::date "
        "from (select load_id as id, row_number() over (order by loaded_at, load_id) as seq "
        "from meta.load_ledger) s where load_id = s.id and load_seq is null"
    )
    con.execute(
        f"""update raw.{kind} set _export_date = l.export_date, _load_seq = l.load_seq,
                _record_hash = {record_hash_sql(contract, f"raw.{kind}.")}, _change = 'new'
            from meta.load_ledger l where l.load_id = raw.{kind}._load_id"""
    )


def record_hash_sql(contract: Contract, prefix: str = "") -> str:
    """SQL for the hash a record is compared by: every contract value trimmed, blank as
    missing, dates written YYYY-MM-DD whatever the file's date style. The same record
    re-sent under new bytes (another encoding, line ends, quoting or date style) hashes
    the same. Kept in the working warehouse only, beside the values themselves."""
    parts = []
    for f in contract.fields:
        value = f"nullif(trim({prefix}\"{f.name}\"), '')"
        if f.is_date:
            styles = " ".join(
                f"when '{style}' then strftime(try_strptime({value}, '{style}'), '%Y-%m-%d')"
                for style in DATE_STYLES
            )
            value = f"coalesce(case {prefix}_date_format {styles} end, {value})"
        parts.append(f"coalesce({value}, chr(0))")
    return f"md5(concat_ws(chr(31), {', '.join(parts)}))"


def key_sql(contract: Contract, alias: str) -> list[str]:
    """The record key as compared: trimmed values (and a listing's snapshot month)."""
    keys = [f'trim({alias}."{k}")' for k in contract.key]
    if contract.snapshot_name:
        keys.append(f"{alias}._snapshot_month")
    return keys


def export_date(contract: Contract, path: Path, month: dt.date | None, now: dt.datetime):
    """The date an export was made, which orders versions: a listing's snapshot month,
    else the first date its file name carries (YYYY-MM-DD, YYYYMMDD, YYYY-MM), else the
    day it is loaded."""
    if month is not None:
        return month
    match = EXPORT_DATE_IN_NAME.search(path.name)
    if match:
        try:
            return dt.date(int(match["y"]), int(match["m"]), int(match["d"] or 1))
        except ValueError:
            pass
    return now.date()


def next_change_seq(con) -> int:
    """The next number of the one sequence that orders loads and retractions."""
    return con.execute(
        "select coalesce(greatest(max(load_seq), max(retract_seq)), 0) + 1 from meta.load_ledger"
    ).fetchall()[0][0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _reject(settings: Settings, kind: str, path: Path, exc: FileRejected) -> str:
    target_dir = settings.rejected_dir / kind
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        target = target_dir / f"{path.stem}.{stamp}{path.suffix}"
    shutil.move(str(path), target)
    reason_file = target.with_name(target.name + ".reason.txt")
    reason_file.write_text(
        f"file: {kind}/{path.name}\nrejected: {dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"reason: {exc.reason}\nwhat to do: {exc.advice or 'fix the file and land it again'}\n"
        "Nothing of this file was loaded.\n",
        encoding="utf-8",
    )
    return str(target)


def _ledger_row(con, result: FileResult, sha: str, stat, month, now, seq=None, exported=None):
    con.execute(
        "insert into meta.load_ledger (load_id, kind, file_name, sha256, size_bytes, mtime_ns, "
        "status, encoding, date_format, snapshot_month, rows_read, rows_loaded, "
        "rows_quarantined, reason, loaded_at, load_seq, export_date, rows_new, rows_changed, "
        "rows_unchanged) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.load_id,
            result.kind,
            result.file_name,
            sha,
            stat.st_size,
            stat.st_mtime_ns,
            result.status,
            result.encoding,
            result.date_format,
            month,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            result.reason,
            now,
            seq,
            exported,
            result.rows_new,
            result.rows_changed,
            result.rows_unchanged,
        ],
    )


def _earlier_load(con, sha: str) -> tuple[str, str, str] | None:
    """(file name, status, load id) of the load of these very bytes, if any: a live load
    first, else a retracted one."""
    rows = con.execute(
        "select file_name, status, load_id from meta.load_ledger "
        "where sha256 = ? and status in ('loaded', 'retracted') "
        "order by status = 'loaded' desc, loaded_at limit 1",
        [sha],
    ).fetchall()
    return rows[0] if rows else None


def load_file(con, settings: Settings, contract: Contract, path: Path) -> FileResult:
    kind = contract.kind
    stat = path.stat()
    result = FileResult(kind=kind, file_name=path.name, status="loaded")
    # Every file is known by its content: a same-name, same-size correction is read.
    sha = _sha256(path)
    result.load_id = sha[:16]
    now = dt.datetime.now()
    earlier = _earlier_load(con, sha)
    if earlier:
        name, status, load_id = earlier
        result.load_id = load_id
        if status == "retracted":
            result.status = "retracted_before"
            result.reason = (
                f"these bytes were loaded as {name} (load {load_id}) and retracted; nothing "
                "loaded again: land a corrected file instead"
            )
            return result
        if name == path.name:
            result.status = "already_loaded"
            return result
        result.status = "duplicate_content"
        result.reason = f"same bytes as {name}, loaded before; nothing loaded again"
        _ledger_row(con, result, sha, stat, None, now)
        return result

    try:
        month = snapshot_month(contract, path)
        export = ExportFile(path, contract)
    except FileRejected as exc:
        return _rejected(con, settings, result, path, exc, sha, stat, now)

    result.encoding = export.encoding
    result.date_format = export.date_format
    exported = export_date(contract, path, month, now)
    con.execute("begin transaction")
    try:
        seq = next_change_seq(con)
        meta = {
            "_load_id": result.load_id,
            "_file_name": path.name,
            "_date_format": export.date_format,
            "_loaded_at": now,
            "_export_date": exported,
            "_load_seq": seq,
        }
        for chunk in export.chunks():
            counts, quarantined, examples = _load_chunk(con, contract, chunk, meta, month)
            result.rows_read += chunk.rows_read
            result.rows_quarantined += quarantined
            for change in CHANGES:
                setattr(
                    result, f"rows_{change}", getattr(result, f"rows_{change}") + counts[change]
                )
            result.quarantine_examples.extend(examples[: 3 - len(result.quarantine_examples)])
        result.rows_loaded = result.rows_new + result.rows_changed + result.rows_unchanged
        _check_conservation(con, result)
        _ledger_row(con, result, sha, stat, month, now, seq, exported)
        con.execute("commit")
    except FileRejected as exc:
        con.execute("rollback")
        export.close()
        for counter in ("read", "loaded", "quarantined", *CHANGES):
            setattr(result, f"rows_{counter}", 0)
        result.quarantine_examples = []
        return _rejected(con, settings, result, path, exc, sha, stat, now)
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        export.close()
    log.info(
        "loaded %s/%s: %d rows read: %d new, %d changed, %d unchanged, %d quarantined",
        kind,
        path.name,
        result.rows_read,
        result.rows_new,
        result.rows_changed,
        result.rows_unchanged,
        result.rows_quarantined,
    )
    return result


def _check_conservation(con, result: FileResult) -> None:
    """Before commit: every row read is in raw (by change) or in quarantine."""
    kind = result.kind
    in_raw = dict.fromkeys(CHANGES, 0)
    for change, n in con.execute(
        f"select _change, count(*) from raw.{kind} where _load_id = ? group by 1",
        [result.load_id],
    ).fetchall():
        in_raw[change] = n
    in_quarantine = con.execute(
        f"select count(*) from quarantine.{kind} where _load_id = ?", [result.load_id]
    ).fetchall()[0][0]
    counted = {change: getattr(result, f"rows_{change}") for change in CHANGES}
    if (
        in_raw != counted
        or in_quarantine != result.rows_quarantined
        or result.rows_read != sum(in_raw.values()) + in_quarantine
    ):
        raise RuntimeError(
            f"{kind}/{result.file_name}: {result.rows_read} rows read but "
            f"{', '.join(f'{n} {c}' for c, n in in_raw.items())} and {in_quarantine} "
            "quarantined; nothing of the file was kept"
        )


def _rejected(con, settings, result: FileResult, path: Path, exc: FileRejected, sha, stat, now):
    result.status = "rejected"
    result.reason = exc.reason + (f"; what to do: {exc.advice}" if exc.advice else "")
    result.moved_to = _reject(settings, result.kind, path, exc)
    _ledger_row(con, result, sha, stat, None, now)
    log.warning("rejected %s/%s: %s", result.kind, path.name, result.reason)
    return result


def _classify(con, contract: Contract, frame: pl.DataFrame, load_id: str) -> pl.DataFrame:
    """For each good row of a chunk: the row of this file that already holds its key
    (a repeat inside the file), else how it compares with the current version of its
    key in the live loads: new, changed or unchanged. Returns the rows with
    ``_record_hash``, ``_change`` and ``_same_file_row`` (null unless repeated)."""
    kind = contract.kind
    with registered(con, "incoming", frame.to_arrow()):
        con.execute(
            f"create or replace temp table _incoming as select *, "
            f"{record_hash_sql(contract)} as _record_hash from incoming"
        )
    i_key, r_key = key_sql(contract, "i"), key_sql(contract, "r")
    join = " and ".join(f"{a} is not distinct from {b}" for a, b in zip(i_key, r_key, strict=True))
    matched = con.execute(
        f"""
        with versions as (
            select i._row_number, r._load_id, r._row_number as other_row, r._record_hash,
                r._export_date, r._load_seq
            from _incoming i join raw.{kind} r on {join}
        ),
        same_file as (
            select _row_number, min(other_row) as same_file_row
            from versions where _load_id = ? group by 1
        ),
        current as (
            select _row_number, _record_hash as current_hash
            from versions where _load_id <> ?
            qualify row_number() over (
                partition by _row_number order by _export_date desc, _load_seq desc,
                    other_row desc
            ) = 1
        )
        select i._row_number, s.same_file_row,
            case
                when c._row_number is null then 'new'
                when c.current_hash = i._record_hash then 'unchanged'
                else 'changed'
            end as _change,
            i._record_hash
        from _incoming i
        left join same_file s using (_row_number)
        left join current c using (_row_number)
        """,
        [load_id, load_id],
    ).pl()
    con.execute("drop table _incoming")
    return matched


def _load_chunk(
    con, contract: Contract, chunk: Chunk, meta: dict, month
) -> tuple[dict[str, int], int, list[str]]:
    """Insert one chunk's good rows into raw (each a new, changed or unchanged version)
    and its bad rows into quarantine, inside the file's transaction. Returns the counts
    by change, the rows quarantined, and a few plain-language examples."""
    kind = contract.kind
    date_format = meta["_date_format"]
    frame = _frame(contract, chunk)
    failures = check_rows(frame, contract, date_format)
    frame = frame.with_columns(
        pl.Series("_row_number", chunk.row_numbers, dtype=pl.Int64),
        *[pl.lit(meta[k]).alias(k) for k in META_COLUMNS if k != "_row_number"],
        pl.lit(meta["_export_date"]).alias("_export_date"),
        pl.lit(meta["_load_seq"], dtype=pl.Int64).alias("_load_seq"),
    )
    if month is not None:
        frame = frame.with_columns(pl.lit(month).alias("_snapshot_month"))

    # Versions: how each good row compares with what the live loads hold of its key.
    good_positions = [i for i in range(frame.height) if i not in failures]
    changes = _classify(con, contract, frame[good_positions], meta["_load_id"])
    by_number = {n: i for i, n in enumerate(chunk.row_numbers)}
    repeated = changes.filter(pl.col("same_file_row").is_not_null())
    for row_number, other_row in repeated.select("_row_number", "same_file_row").iter_rows():
        index = by_number[row_number]
        failures[index].append(
            {
                "column": ",".join(contract.key),
                "rule": "duplicate_key",
                "reason": f"repeats the key of row {other_row} of this file",
                "value": "|".join(str(frame.get_column(k)[index]) for k in contract.key),
            }
        )
    kept = changes.filter(pl.col("same_file_row").is_null()).select(
        "_row_number", "_record_hash", "_change"
    )

    raw_cols = list(contract.columns) + list(META_COLUMNS)
    if month is not None:
        raw_cols.append("_snapshot_month")
    version_cols = ["_export_date", "_load_seq"]
    col_list = ", ".join(f'"{c}"' for c in raw_cols)
    good = frame.select(raw_cols + version_cols).join(kept, on="_row_number", how="inner")
    if good.height:
        all_cols = ", ".join(f'"{c}"' for c in [*raw_cols, *VERSION_COLUMNS])
        with registered(con, "good_rows", good.to_arrow()):
            con.execute(f"insert into raw.{kind} ({all_cols}) select {all_cols} from good_rows")
    counts = dict.fromkeys(CHANGES, 0)
    for change, n in good.group_by("_change").len().iter_rows():
        counts[change] = n

    positions = sorted(failures)
    reasons = {
        i: "; ".join(f"{e['column']}: {e['reason']} (found {e['value']!r})" for e in failures[i])
        for i in positions
    }
    if positions:
        failed = (
            frame[positions]
            .select(raw_cols)
            .with_columns(
                pl.Series(
                    "_rules",
                    [",".join(sorted({e["rule"] for e in failures[i]})) for i in positions],
                    dtype=pl.Utf8,
                ),
                pl.Series("_reason", [reasons[i] for i in positions], dtype=pl.Utf8),
                pl.Series("_errors", [json.dumps(failures[i]) for i in positions], dtype=pl.Utf8),
            )
        )
        with registered(con, "failed_rows", failed.to_arrow()):
            con.execute(
                f"insert into quarantine.{kind} ({col_list}, _rules, _reason, _errors) "
                f"select {col_list}, _rules, _reason, _errors from failed_rows"
            )
    if chunk.bad_rows:
        bad = pl.DataFrame(
            {
                "_load_id": [meta["_load_id"]] * len(chunk.bad_rows),
                "_file_name": [meta["_file_name"]] * len(chunk.bad_rows),
                "_row_number": [n for n, _, _ in chunk.bad_rows],
                "_date_format": [date_format] * len(chunk.bad_rows),
                "_loaded_at": [meta["_loaded_at"]] * len(chunk.bad_rows),
                "_raw_line": [line for _, line, _ in chunk.bad_rows],
                "_rules": ["field_count"] * len(chunk.bad_rows),
                "_reason": [f"row: {reason}" for _, _, reason in chunk.bad_rows],
                "_errors": [
                    json.dumps([{"column": "*", "rule": "field_count", "reason": r, "value": ""}])
                    for _, _, r in chunk.bad_rows
                ],
            }
        )
        with registered(con, "bad_lines", bad.to_arrow()):
            con.execute(
                f"insert into quarantine.{kind} "
                "(_load_id, _file_name, _row_number, _date_format, _loaded_at, _raw_line, "
                "_rules, _reason, _errors) select _load_id, _file_name, _row_number, "
                "_date_format, _loaded_at, _raw_line, _rules, _reason, _errors from bad_lines"
            )
    quarantined = len(positions) + len(chunk.bad_rows)
    examples = [f"row {chunk.row_numbers[i]}: {reasons[i]}" for i in positions[:3]] + [
        f"row {n}: {reason}" for n, _, reason in chunk.bad_rows[:3]
    ]
    return counts, quarantined, examples


class LandingError(RuntimeError):
    """The landing folder is missing: say which path was expected."""


@dataclass
class Misplaced:
    """A file in the landing folder that is not in a kind's folder."""

    path: str
    advice: str


def check_landing(settings: Settings) -> list[Misplaced]:
    """The landing folder exists, and every file in it sits in a kind's folder. Files
    in the landing root or in an unknown folder are returned by name, with the folder
    they belong in when their header says so; they are not loaded."""
    root = settings.landing_dir
    if not root.is_dir():
        raise LandingError(
            f"the landing folder {root} does not exist: create it (or set "
            "TRACEPIPE_LANDING_DIR to where exports land) and put each export in its "
            f"kind's folder: {', '.join(k + '/' for k in KINDS)}"
        )
    for kind in KINDS:
        (root / kind).mkdir(exist_ok=True)
    misplaced = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or rel.parts[0] in KINDS or any(p.startswith(".") for p in rel.parts):
            continue
        if rel.parts[0].startswith("_"):  # the generator's ground truth, not an export
            continue
        kind = _kind_by_header(path)
        folder = (
            f"landing/{kind}/"
            if kind
            else "the folder of its kind (" + ", ".join(f"landing/{k}/" for k in KINDS) + ")"
        )
        where = (
            "the landing root"
            if len(rel.parts) == 1
            else f"landing/{rel.parent}/, which is no kind's folder"
        )
        misplaced.append(
            Misplaced(str(rel), f"{rel} is in {where}, so it was not loaded: move it to {folder}")
        )
    return misplaced


def _kind_by_header(path: Path) -> str | None:
    """The kind whose contract the file's first line matches, if any."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(65536).decode("utf-8-sig", errors="replace")
    except OSError:
        return None
    for contract in CONTRACTS.values():
        names = [contracts.header_key(h) for h in first.rstrip("\r\n").split(contract.delimiter)]
        if set(names) == set(contract.columns):
            return contract.kind
    return None


def landed_files(settings: Settings, kinds: tuple[str, ...] = KINDS) -> list[tuple[Contract, Path]]:
    found = []
    for kind in kinds:
        folder = settings.landing_dir / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                found.append((CONTRACTS[kind], path))
    return found


def ingest(settings: Settings, kinds: tuple[str, ...] = KINDS) -> IngestSummary:
    """Load every new file of the given kinds that has landed."""
    misplaced = check_landing(settings)
    settings.ensure_dirs()
    for item in misplaced:
        log.warning("not loaded: %s", item.advice)
    results = []
    with connect(settings) as con:
        ensure_tables(con)
        for contract, path in landed_files(settings, kinds):
            results.append(load_file(con, settings, contract, path))
    return IngestSummary(results, misplaced)
