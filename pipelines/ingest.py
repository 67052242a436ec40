"""Ingest: every landed export read once, each row loaded or quarantined with a reason.

For each file under ``landing/<kind>/``:

1. The load ledger (``meta.load_ledger``) is asked whether these bytes were loaded
   before (keyed by SHA-256 of the content). A re-sent file changes nothing.
2. The file is read as its kind (encoding, line ends, header, date style, field counts).
   A file that cannot be read as its kind at all is *rejected*: moved to
   ``rejected/<kind>/`` with a ``.reason.txt`` beside it, nothing of it loaded.
3. The rows are checked against the kind's contract (pandera, all failures collected).
   Good rows go to ``raw.<kind>``, bad rows to ``quarantine.<kind>`` with the file, row,
   column, rule and offending value (personal data masked), all in one transaction with
   the ledger row, so a file is loaded whole or not at all.

Conservation: for every file, rows read = rows loaded + rows quarantined.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import json
import logging
import os
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
from pipelines.warehouse import connect

log = logging.getLogger(__name__)

META_COLUMNS = ("_load_id", "_file_name", "_row_number", "_date_format", "_loaded_at")


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
    status: str  # loaded | rejected | already_loaded | duplicate_content
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str = ""
    load_id: str = ""
    encoding: str = ""
    date_format: str = ""
    moved_to: str = ""
    quarantine_examples: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    files: list[FileResult]

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def by_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    def to_dict(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "files": [asdict(f) for f in self.files],
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
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists quarantine")
    con.execute("create schema if not exists meta")
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
    for contract in CONTRACTS.values():
        cols = ", ".join(f'"{c}" varchar' for c in contract.columns)
        extra = ", _snapshot_month date" if contract.snapshot_name else ""
        con.execute(
            f"""create table if not exists raw.{contract.kind} (
                {cols}, _load_id varchar, _file_name varchar, _row_number bigint,
                _date_format varchar, _loaded_at timestamp{extra})"""
        )
        con.execute(
            f"""create table if not exists quarantine.{contract.kind} (
                {cols}, _load_id varchar, _file_name varchar, _row_number bigint,
                _date_format varchar, _loaded_at timestamp{extra},
                _raw_line varchar, _rules varchar, _reason varchar, _errors json)"""
        )


def _ledger_lookup(con, kind: str, name: str, size: int, mtime_ns: int) -> bool:
    """True when this very file (name, size, mtime) is already in the ledger."""
    return bool(
        con.execute(
            "select count(*) from meta.load_ledger where kind = ? and file_name = ? "
            "and size_bytes = ? and mtime_ns = ?",
            [kind, name, size, mtime_ns],
        ).fetchall()[0][0]
    )


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


def _ledger_row(con, result: FileResult, sha: str, size: int, mtime_ns: int, month, now):
    con.execute(
        "insert into meta.load_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.load_id,
            result.kind,
            result.file_name,
            sha,
            size,
            mtime_ns,
            result.status,
            result.encoding,
            result.date_format,
            month,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            result.reason,
            now,
        ],
    )


def load_file(con, settings: Settings, contract: Contract, path: Path) -> FileResult:
    kind = contract.kind
    stat = path.stat()
    result = FileResult(kind=kind, file_name=path.name, status="loaded")
    if _ledger_lookup(con, kind, path.name, stat.st_size, stat.st_mtime_ns):
        result.status = "already_loaded"
        return result
    sha = _sha256(path)
    result.load_id = sha[:16]
    now = dt.datetime.now()
    earlier = con.execute(
        "select file_name from meta.load_ledger where sha256 = ? and status = 'loaded' "
        "order by loaded_at limit 1",
        [sha],
    ).fetchall()
    if earlier:
        if earlier[0][0] == path.name:
            result.status = "already_loaded"
            return result
        result.status = "duplicate_content"
        result.reason = f"same bytes as {earlier[0][0]}, loaded before; nothing loaded again"
        _ledger_row(con, result, sha, stat.st_size, stat.st_mtime_ns, None, now)
        return result

    try:
        month = snapshot_month(contract, path)
        export = ExportFile(path, contract)
    except FileRejected as exc:
        return _rejected(con, settings, result, path, exc, sha, stat, now)

    result.encoding = export.encoding
    result.date_format = export.date_format
    meta = {
        "_load_id": result.load_id,
        "_file_name": path.name,
        "_date_format": export.date_format,
        "_loaded_at": now,
    }
    con.execute("begin transaction")
    try:
        for chunk in export.chunks():
            loaded, quarantined, examples = _load_chunk(con, contract, chunk, meta, month)
            result.rows_read += chunk.rows_read
            result.rows_loaded += loaded
            result.rows_quarantined += quarantined
            result.quarantine_examples.extend(examples[: 3 - len(result.quarantine_examples)])
        in_raw = con.execute(
            f"select count(*) from raw.{kind} where _load_id = ?", [result.load_id]
        ).fetchall()[0][0]
        in_quarantine = con.execute(
            f"select count(*) from quarantine.{kind} where _load_id = ?", [result.load_id]
        ).fetchall()[0][0]
        if (in_raw, in_quarantine) != (result.rows_loaded, result.rows_quarantined) or (
            result.rows_read != in_raw + in_quarantine
        ):
            raise RuntimeError(
                f"{kind}/{path.name}: {result.rows_read} rows read but {in_raw} loaded and "
                f"{in_quarantine} quarantined; nothing of the file was kept"
            )
        _ledger_row(con, result, sha, stat.st_size, stat.st_mtime_ns, month, now)
        con.execute("commit")
    except FileRejected as exc:
        con.execute("rollback")
        export.close()
        result.rows_read = result.rows_loaded = result.rows_quarantined = 0
        result.quarantine_examples = []
        return _rejected(con, settings, result, path, exc, sha, stat, now)
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        export.close()
    log.info(
        "loaded %s/%s: %d rows read, %d loaded, %d quarantined",
        kind,
        path.name,
        result.rows_read,
        result.rows_loaded,
        result.rows_quarantined,
    )
    return result


def _rejected(con, settings, result: FileResult, path: Path, exc: FileRejected, sha, stat, now):
    result.status = "rejected"
    result.reason = exc.reason + (f"; what to do: {exc.advice}" if exc.advice else "")
    result.moved_to = _reject(settings, result.kind, path, exc)
    _ledger_row(con, result, sha, stat.st_size, stat.st_mtime_ns, None, now)
    log.warning("rejected %s/%s: %s", result.kind, path.name, result.reason)
    return result


def _load_chunk(
    con, contract: Contract, chunk: Chunk, meta: dict, month
) -> tuple[int, int, list[str]]:
    """Insert one chunk's good rows into raw and its bad rows into quarantine, inside the
    file's transaction. Returns (loaded, quarantined, a few plain-language examples)."""
    kind = contract.kind
    date_format = meta["_date_format"]
    frame = _frame(contract, chunk)
    failures = check_rows(frame, contract, date_format)
    frame = frame.with_columns(
        pl.Series("_row_number", chunk.row_numbers, dtype=pl.Int64),
        *[pl.lit(v).alias(k) for k, v in meta.items()],
    )
    if month is not None:
        frame = frame.with_columns(pl.lit(month).alias("_snapshot_month"))
    frame = frame.with_columns(
        pl.Series("_failed", [i in failures for i in range(frame.height)], dtype=pl.Boolean)
    )
    # Keys loaded before (an earlier file, or an earlier chunk of this one): a re-sent
    # file with new bytes, or a row sent twice.
    key_cols = list(contract.key) + (["_snapshot_month"] if month is not None else [])
    join = " and ".join(f'i."{k}" is not distinct from r."{k}"' for k in key_cols)
    con.register("incoming", frame.select([*key_cols, "_row_number", "_failed"]).to_arrow())
    try:
        dup_rows = con.execute(
            f"""select i._row_number, any_value(r._file_name), any_value(r._row_number)
                from incoming i join raw.{kind} r on {join}
                where not i._failed group by i._row_number"""
        ).fetchall()
    finally:
        con.unregister("incoming")
    if dup_rows:
        by_number = {n: i for i, n in enumerate(chunk.row_numbers)}
        for row_number, other_file, other_row in dup_rows:
            index = by_number[row_number]
            failures[index].append(
                {
                    "column": ",".join(contract.key),
                    "rule": "duplicate_key",
                    "reason": f"already loaded from {other_file} row {other_row}",
                    "value": "|".join(str(frame.get_column(k)[index]) for k in contract.key),
                }
            )
        frame = frame.with_columns(
            pl.Series("_failed", [i in failures for i in range(frame.height)], dtype=pl.Boolean)
        )

    raw_cols = list(contract.columns) + list(META_COLUMNS)
    if month is not None:
        raw_cols.append("_snapshot_month")
    col_list = ", ".join(f'"{c}"' for c in raw_cols)
    good = frame.filter(~pl.col("_failed")).select(raw_cols)
    if good.height:
        con.register("good_rows", good.to_arrow())
        try:
            con.execute(f"insert into raw.{kind} ({col_list}) select {col_list} from good_rows")
        finally:
            con.unregister("good_rows")

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
        con.register("failed_rows", failed.to_arrow())
        try:
            con.execute(
                f"insert into quarantine.{kind} ({col_list}, _rules, _reason, _errors) "
                f"select {col_list}, _rules, _reason, _errors from failed_rows"
            )
        finally:
            con.unregister("failed_rows")
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
        con.register("bad_lines", bad.to_arrow())
        try:
            con.execute(
                f"insert into quarantine.{kind} "
                "(_load_id, _file_name, _row_number, _date_format, _loaded_at, _raw_line, "
                "_rules, _reason, _errors) select _load_id, _file_name, _row_number, "
                "_date_format, _loaded_at, _raw_line, _rules, _reason, _errors from bad_lines"
            )
        finally:
            con.unregister("bad_lines")
    quarantined = len(positions) + len(chunk.bad_rows)
    examples = [f"row {chunk.row_numbers[i]}: {reasons[i]}" for i in positions[:3]] + [
        f"row {n}: {reason}" for n, _, reason in chunk.bad_rows[:3]
    ]
    return good.height, quarantined, examples


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
    settings.ensure_dirs()
    results = []
    with connect(settings) as con:
        ensure_tables(con)
        for contract, path in landed_files(settings, kinds):
            results.append(load_file(con, settings, contract, path))
    return IngestSummary(results)
