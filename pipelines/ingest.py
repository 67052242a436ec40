"""Ingest: every landed export read once, each row loaded or quarantined with a reason.

The landing folder is a trust boundary (``scan_landing``). It is walked without
following links; symbolic links (to files or folders), devices, FIFOs, sockets and
files whose names hold control characters or undecodable bytes (or are too long) are
*refused*: named in the summary with the reason, never followed, read or moved. Files
are opened without following a link (``open_landed``), and a rejected file's name is
made safe before it is joined to ``rejected/<kind>/`` (``safe_file_name``). Names reach
SQL only as parameters.

For each regular file under ``landing/<kind>/``:

1. The load ledger (``meta.load_ledger``) is asked whether these bytes were loaded
   before (keyed by SHA-256 of the content). A re-sent file changes nothing, and the
   bytes of a retracted file are not loaded again (land a corrected file instead). A file
   hashed before and not written since (same size, modification and change times, and
   inode, hashed well after its last write: ``known_sha256``) is known by that hash
   without being read again, so a daily run does not re-read the whole landed history.
2. The file is read as its kind (encoding, line ends, header, date style, field counts).
   A file that cannot be read as its kind at all is *rejected*: moved to
   ``rejected/<kind>/`` with a ``.reason.txt`` beside it, nothing of it loaded. So are
   UTF-16, NUL bytes anywhere, mixed encodings, and a header of another delimiter (the
   reason says "tab-delimited"); reasons name a few columns and how many, never all.
3. Rows are framed line by line (``ExportFile``): a row the reader cannot frame (an
   unbalanced quote, a field over the size limit) is quarantined as ``framing`` with its
   physical line, and the lines an unbalanced quote would have folded into it are read
   as rows of their own, so every line of data is counted once.
4. The rows are checked against the kind's contract (pandera, all failures collected).
   Good rows go to ``raw.<kind>``, bad rows to ``quarantine.<kind>`` with the file, row,
   physical line, column, rule and offending value, all in one transaction with the
   ledger row, so a file is loaded whole or not at all. That commit runs in a thread
   while the next file is hashed, read and checked on a second connection
   (``Committer``); files still commit one at a time in landing order, and a file's
   transaction begins only once the commit before it is done.

Personal data is masked by value in everything written about a row (``_reason``,
``_errors``, ``_raw_line``, examples, log lines): the values at its personal-data
positions and where they could have shifted to, wherever they appear in the row
(``pipelines/privacy.py``). The quarantine's data columns keep the values as read, for
operators of the working warehouse.

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
import contextlib
import csv
import datetime as dt
import errno
import hashlib
import io
import json
import logging
import os
import re
import shutil
import threading
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from stat import S_ISBLK, S_ISCHR, S_ISDIR, S_ISFIFO, S_ISLNK, S_ISREG, S_ISSOCK

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
    refused: list = field(default_factory=list)  # Refused entries: not followed, not read

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
            "refused": [asdict(r) for r in self.refused],
        }


# --- reading a file --------------------------------------------------------------------


CHUNK_ROWS = 200_000
CHECKPOINT_EVERY = "1GB"
# Files up to this size may be read by DuckDB's CSV reader (``FastRead``), which holds the
# file's lines in memory while it reads; larger ones are read in chunks by the csv module.
FAST_MAX_BYTES = 512 * 2**20
# Encodings of one byte per character, read by DuckDB from a UTF-8 copy (FastRead).
ONE_BYTE_ENCODINGS = ("cp1252", "latin-1")
#: At most this many characters of a value are shown in a reason or an error, and of one
#: field and of the whole line in a quarantined row's ``_raw_line``.
SHOWN_CHARS = 80
RAW_FIELD_CHARS = 1_000
RAW_LINE_CHARS = 10_000
#: A reason names at most this many columns, then says how many more there are.
SHOWN_NAMES = 5
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
DELIMITER_PLURAL = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "pipes"}


@dataclass
class BadRow:
    """A row that could not be read as the header's fields: too few or too many, or a
    line the reader cannot frame (an unbalanced quote, a field beyond the size limit)."""

    row_number: int  # 1-based data row number, as for the good rows
    line_number: int  # physical line of the file (the header is line 1)
    raw_line: str  # the fields as read, personal data masked, clipped
    rule: str  # field_count | framing
    reason: str


@dataclass
class Chunk:
    rows: list[list[str]]  # rows with the right number of fields, in contract order
    row_numbers: list[int]  # 1-based data row number of each of ``rows``
    bad_rows: list[BadRow]
    line_numbers: list[int] = field(default_factory=list)  # physical line of each of ``rows``
    # The fast path's rows, already in the temp table ``_chunk`` (then ``rows`` is empty).
    table: str | None = None
    n_table_rows: int = 0

    @property
    def rows_read(self) -> int:
        return len(self.rows) + self.n_table_rows + len(self.bad_rows)


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """At most ``limit`` characters of a text, saying how long it was when cut."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _listed(names: list[str]) -> str:
    """A few names and how many there are: never thousands of them in one reason."""
    shown = ", ".join(printable(clip(n, 40)) for n in names[:SHOWN_NAMES])
    more = f" and {len(names) - SHOWN_NAMES:,} more" if len(names) > SHOWN_NAMES else ""
    return f"({len(names):,}): {shown}{more}"


def _looks_utf16(head: bytes) -> bool:
    """Text in UTF-16 without a byte-order mark: every other byte of ASCII text is NUL."""
    return len(head) >= 4 and max(head[0::2].count(0), head[1::2].count(0)) >= len(head) // 4


def sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, else Latin-1; read in blocks.

    Rejected: UTF-16; NUL bytes anywhere in the file (binary data, or a copy damaged by
    zeroed blocks; the reason names the first one's line); a UTF-8 byte-order mark on a
    file that is not UTF-8; a file that mixes UTF-8 with another encoding (it decodes as
    UTF-8, accents included, up to a line that does not), which no one encoding reads."""
    with open_landed(path) as handle:
        head = handle.read(65536)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(head):
            raise FileRejected(
                "the file is not text in UTF-8 or Latin-1 (it looks like UTF-16)",
                "ask the provider for a UTF-8 or Latin-1 CSV export",
            )
        encoding = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        bad_line = None  # the line of the first byte that is not UTF-8
        utf8_text = False  # non-ASCII text decoded as UTF-8 before that line
        offset = lines = 0
        for block in iter(lambda: handle.read(1 << 22), b""):
            nul = block.find(b"\x00")
            if nul >= 0:
                line = lines + block.count(b"\n", 0, nul) + 1
                raise FileRejected(
                    f"the file holds NUL bytes (the first on line {line:,}, byte "
                    f"{offset + nul + 1:,}): it is damaged or not text",
                    "ask the provider to send the export again",
                )
            if bad_line is None:
                try:
                    utf8_text = not decoder.decode(block).isascii() or utf8_text
                except UnicodeDecodeError as exc:
                    start = max(exc.start, 0)
                    bad_line = lines + block.count(b"\n", 0, start) + 1
                    utf8_text = utf8_text or not block[:start].isascii()
            lines += block.count(b"\n")
            offset += len(block)
        if bad_line is None:
            try:
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError:
                bad_line = lines
        if encoding == "utf-8-sig":
            raise FileRejected(
                f"the file starts with a UTF-8 byte-order mark but is not UTF-8 (line {bad_line:,})",
                "ask the provider for a clean UTF-8 or Latin-1 export",
            )
        if utf8_text:
            raise FileRejected(
                f"the file mixes encodings: it is UTF-8 (accented letters included) up to line "
                f"{bad_line:,}, which holds a byte that is not UTF-8",
                "ask the provider for the export in one encoding, UTF-8 or Latin-1",
            )
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
    with open_landed(path) as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) in (b"\n", b"\r")


class ExportFile:
    """One landed export, opened as its kind: header, encoding and date style checked,
    rows read in chunks so a file of any size fits in memory.

    Framing: the csv reader is fed the file's physical lines, so each record's lines are
    known. A record on one line is a row. A record over several lines is a row when it
    has the header's field count and none of its later lines is a whole row by itself
    (a quoted value with a line break in it); otherwise (an unbalanced quote folded the
    next lines into it, or the reader could not read it) each of its lines is read on its
    own: a row, or a ``framing`` row quarantined with its line number. So every physical
    line of data is counted once. Blank lines are not rows.

    The file stays open from here until ``close``; use it as a context manager (``with
    ExportFile(...) as export``). A constructor that raises has closed it already."""

    def __init__(self, path: Path, contract: Contract, chunk_rows: int | None = None):
        self.path = path
        self.contract = contract
        self.chunk_rows = chunk_rows or CHUNK_ROWS
        self.label = printable(f"{contract.kind}/{path.name}")
        with open_landed(path) as handle:
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
        self._handle = io.TextIOWrapper(open_landed(path), encoding=self.encoding, newline="")
        try:
            self._read_header()
        except BaseException:  # a rejection, or anything else: the file is not left open
            self.close()
            raise

    def _read_header(self) -> None:
        contract = self.contract
        self._pending: list[str] = []  # the physical lines of the record being read
        self._lines_done = 0
        self._reader = csv.reader(self._physical_lines(), delimiter=contract.delimiter)
        try:
            raw_header = next(self._reader)
        except (StopIteration, csv.Error) as exc:
            raise FileRejected(f"{self.label} has no readable header line") from exc
        if len(self._pending) > 1:
            raise FileRejected(
                f"{self.label}: the header line has an unbalanced quote, so the reader "
                "cannot tell where it ends",
                "fix the header to the column list of export-formats.md and land the file again",
            )
        self._lines_done = len(self._pending)
        self._pending.clear()
        header = match_header(contract, raw_header, self.label)
        self._order = (
            None
            if header == list(contract.columns)
            else [header.index(c) for c in contract.columns]
        )
        self._n = len(header)
        # Where personal data sits in the file's own column order, and the columns a
        # shifted value of it could land in (pipelines/privacy.py).
        self._pii_positions = [i for i, name in enumerate(header) if privacy.is_pii(name)]
        self.exposed = privacy.exposed_columns(header)
        self._row_number = 0
        self._first: Chunk | None = None
        self._date_format: str | None = None

    @property
    def date_format(self) -> str:
        """The file's date style, from its first rows (read then, and kept for ``chunks``)."""
        if self._date_format is None:
            self._first = self._read_chunk()
            self._date_format = detect_date_format(
                self.contract, list(self.contract.columns), self._first.rows
            )
        return self._date_format

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> ExportFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _physical_lines(self):
        pending = self._pending
        for line in self._handle:
            pending.append(line)
            yield line

    def _take_lines(self) -> tuple[list[str], int]:
        """The physical lines of the record just read, and the number of the first."""
        lines = self._pending[:]
        self._pending.clear()
        first = self._lines_done + 1
        self._lines_done += len(lines)
        return lines, first

    def _read_chunk(self) -> Chunk:
        chunk = Chunk([], [], [])
        pending = self._pending
        while True:
            try:
                for record in self._reader:
                    if len(pending) == 1:  # the usual case: one line, one record
                        pending.clear()
                        self._lines_done += 1
                        if record and (len(record) > 1 or record[0].strip()):
                            self._add(chunk, record, self._lines_done)
                    else:
                        self._several_lines(chunk, record, *self._take_lines())
                    if chunk.rows_read >= self.chunk_rows:
                        return chunk
                return chunk
            except csv.Error:
                # The reader starts afresh on the next line; the lines it gave up on are
                # read one by one.
                self._reframe(chunk, *self._take_lines())
                if chunk.rows_read >= self.chunk_rows:
                    return chunk

    def _add(self, chunk: Chunk, record: list[str], line: int) -> None:
        self._row_number += 1
        if len(record) == self._n:
            if self._order is not None:
                record = [record[i] for i in self._order]
            chunk.rows.append(record)
            chunk.row_numbers.append(self._row_number)
            chunk.line_numbers.append(line)
        else:
            self._bad(
                chunk,
                record,
                line,
                "field_count",
                f"expected {self._n} fields, found {len(record)}",
            )

    def _bad(self, chunk: Chunk, fields: list[str], line: int, rule: str, reason: str) -> None:
        """A quarantined row: its fields kept with every value that may be personal data
        masked (the PII positions and where they could have shifted to)."""
        exposed = privacy.exposed_positions(self._pii_positions, len(fields), self._n)
        shown = privacy.RowMask(fields, exposed).values(fields)
        raw = self.contract.delimiter.join(clip(str(v), RAW_FIELD_CHARS) for v in shown)
        chunk.bad_rows.append(
            BadRow(self._row_number, line, clip(raw, RAW_LINE_CHARS), rule, reason)
        )

    def _alone(self, line: str) -> tuple[list[str] | None, str]:
        """One physical line read as a record on its own: (fields, "") when it frames,
        else (None, why not)."""
        try:
            fields = next(csv.reader([line], delimiter=self.contract.delimiter))
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                return None, f"a field is longer than {csv.field_size_limit():,} characters"
            return None, f"it cannot be read as delimited text ({exc})"
        except StopIteration:
            return [], ""
        if any("\n" in f or "\r" in f for f in fields):
            return None, "a quoted field is not closed on its line (unbalanced quote)"
        return fields, ""

    def _several_lines(self, chunk: Chunk, record: list[str], lines: list[str], first: int):
        if len(record) == self._n and not any(
            len(self._alone(line)[0] or ()) == self._n for line in lines[1:]
        ):
            self._add(chunk, record, first)  # a quoted value holding a line break
        else:
            self._reframe(chunk, lines, first)

    def _reframe(self, chunk: Chunk, lines: list[str], first: int) -> None:
        for offset, line in enumerate(lines):
            if not line.strip():
                continue
            fields, why = self._alone(line)
            if fields is not None:
                self._add(chunk, fields, first + offset)
                continue
            self._row_number += 1
            self._bad(
                chunk,
                line.rstrip("\r\n").split(self.contract.delimiter),
                first + offset,
                "framing",
                f"line {first + offset:,} cannot be framed: {why}",
            )

    def chunks(self):
        self.date_format  # noqa: B018 (reads the first chunk)
        chunk, self._first = self._first, None
        while chunk is not None and chunk.rows_read:
            yield chunk
            chunk = self._read_chunk()

    def reread(self, chunk: Chunk, text: str, line: int) -> None:
        """One physical line read on its own, as row ``line - 1`` (the fast path has no
        blank lines, so rows are the data lines): a row, or a ``framing`` row."""
        self._row_number = line - 2
        self._reframe(chunk, [text], line)

    def fast_read(
        self, con: duckdb.DuckDBPyConnection, scan: FileScan, workdir: Path, month=None
    ) -> FastRead | None:
        """DuckDB's CSV reader ready on the file, when it is one whose every row is one
        physical line (see ``FastRead``; its ``chunks`` then give the rows, and its
        ``drop`` lets go of the tables that hold them); else None, and the file is read by
        ``chunks``. A file in a one-byte encoding is read from a UTF-8 copy in ``workdir``."""
        fast = FastRead(con, self, scan, workdir, month)
        try:
            ready = fast.prepare()
        except duckdb.Error as exc:
            log.debug("%s: not read by DuckDB (%s); read by the csv module", self.label, exc)
            ready = False
        except BaseException:  # rejected on its first rows: the file's lines go too
            fast.drop()
            raise
        if not ready:
            fast.drop()
            return None
        self._date_format = fast.date_format
        log.debug("%s: read by DuckDB's CSV reader", self.label)
        return fast


class FastRead:
    """DuckDB's CSV reader on a file whose rows are its physical lines: UTF-8, every data
    line holding an even number of quotes (so no quoted value runs over a line end), no
    blank line, no carriage return but at line ends, no line as long as the csv module's
    field limit. For such a file the csv reader of ``ExportFile`` would read each line as
    one row, so the two readers agree row for row, and DuckDB's is many times faster.

    DuckDB reads with the dialect spelled out and ``strict_mode``; every line it rejects
    (too few or too many fields, a stray quote) is read again on its own by the csv module
    (``ExportFile.reread``): a row, or a row quarantined exactly as the slow path would.
    DuckDB's rows keep the file's order, so the k-th is the k-th line it did not reject;
    the rows and rejected lines together must be every data line, or the file is read by
    the slow path instead.

    A file in Windows-1252 or Latin-1 is first copied as UTF-8 into ``workdir`` (decoded
    as the csv reader would decode it; a one-byte encoding maps every byte to one
    character, so the copy has the same lines, quotes and line ends) and read from there;
    ``drop`` deletes the copy."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        export: ExportFile,
        scan: FileScan,
        workdir: Path,
        month=None,
    ):
        self.con = con
        self.month = month  # a listing's snapshot month, part of its record key
        self.export = export
        self.scan = scan
        self.workdir = workdir
        self.source = export.path  # the file DuckDB reads: the landed one, or its copy
        self.copy: Path | None = None
        self.n = export._n
        self.data_lines = scan.line_breaks - 1  # the header is line 1
        self.parsed = 0
        self.skipped = 0
        self.select = ""
        self.date_format = ISO_DATE
        self.dropped = False

    def prepare(self) -> bool:
        """True when the file is read and its rows accounted for line by line."""
        return self._eligible() and self._parse()

    def _eligible(self) -> bool:
        export, con, scan = self.export, self.con, self.scan
        if self.data_lines < 1 or scan.lone_cr or scan.record_separator or scan.blank_line:
            return False
        if export.path.stat().st_size > FAST_MAX_BYTES:
            return False
        if export.encoding in ONE_BYTE_ENCODINGS:
            self.source = self.copy = self._utf8_copy()
        elif export.encoding not in ("utf-8", "utf-8-sig"):
            return False
        # Physical lines by number (the list after the last line break is empty).
        con.execute(
            "create or replace temp table _lines as "
            "select generate_subscripts(l, 1) as line_number, unnest(l) as line "
            "from (select string_split(content, chr(10)) as l from read_text(?))",
            [str(self.source)],
        )
        odd = con.execute(
            "select count(*) from _lines where line_number > 1 and "
            "(len(string_split(line, '\"')) % 2 = 0 or length(line) >= ?)",
            [csv.field_size_limit()],
        ).fetchall()[0][0]
        return odd == 0

    def _utf8_copy(self) -> Path:
        """The landed file decoded in its encoding, written as UTF-8 in ``workdir`` (by
        blocks; readable by its owner only), for DuckDB's reader, which reads UTF-8."""
        export = self.export
        self.workdir.mkdir(parents=True, exist_ok=True)
        copy = self.workdir / f"{self.scan.sha256[:16]}.{os.getpid()}.csv"
        decoder = codecs.getincrementaldecoder(export.encoding)()
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open_landed(export.path) as source, os.fdopen(fd, "wb") as target:
            for block in iter(lambda: source.read(1 << 22), b""):
                target.write(decoder.decode(block).encode("utf-8"))
        return copy

    def _parse(self) -> bool:
        export, con, n = self.export, self.con, self.n
        con.execute(
            f"""
            create or replace temp table _parsed as select * from read_csv(?,
                columns = {{{", ".join(f"'c{i}': 'VARCHAR'" for i in range(n))}}},
                auto_detect = false, header = false, skip = 1, delim = ?, quote = '"',
                escape = '"', comment = '', strict_mode = true, nullstr = chr(30),
                store_rejects = true, rejects_table = '_rejects', rejects_scan = '_reject_scan',
                encoding = 'utf-8')
            """,
            [str(self.source), export.contract.delimiter],
        )
        # Each rejected line once (a line may fail more than one way), and where DuckDB's
        # row numbering steps over it: rows from ``k`` on sit ``j`` lines further down.
        con.execute(
            """
            create or replace temp table _skipped as
            select line, row_number() over (order by line) as j,
                line - 2 - (row_number() over (order by line) - 1) as k
            from (select distinct line from _rejects)
            """
        )
        parsed, skipped = con.execute(
            "select (select count(*) from _parsed), (select count(*) from _skipped)"
        ).fetchall()[0]
        if parsed + skipped != self.data_lines:
            log.debug(
                "%s: DuckDB's rows and the lines disagree; read by the csv module", export.label
            )
            return False
        self.parsed = parsed
        self.skipped = skipped
        order = export._order or list(range(n))
        self.select = ", ".join(
            f'p.c{order[i]} as "{name}"' for i, name in enumerate(export.contract.columns)
        )
        first = con.execute(
            f"select {self.select} from _parsed p where p.rowid < 5000 order by p.rowid"
        ).fetchall()
        self.date_format = detect_date_format(
            export.contract, list(export.contract.columns), [list(row) for row in first]
        )
        return True

    def chunks(self):
        con, parsed, select = self.con, self.parsed, self.select
        hashed = (
            f"{record_hash_sql(self.export.contract, 'p.', self.date_format)} as _record_hash, "
            f"{key_column_sql(self.export.contract, 'p')} as _key"
        )
        again = con.execute(
            "select line_number, line from _lines where line_number in "
            "(select line from _skipped) order by line_number"
        ).fetchall()
        month = f", date '{self.month.isoformat()}' as _snapshot_month" if self.month else ""
        starts = list(range(0, parsed, CHUNK_ROWS)) or [0]
        for start in starts:
            rows = (
                f"(select p.rowid, {select}{month} from _parsed p "
                f"where p.rowid >= {start} and p.rowid < {start + CHUNK_ROWS}) p"
            )
            if self.skipped:
                # Rows from DuckDB's k-th on sit j lines further down (``_skipped``).
                # The as-of join does not keep the scan's order: sorted after it.
                con.execute(
                    f"""
                    create or replace temp table _chunk as
                    select p.rowid + 2 + coalesce(s.j, 0) - 1 as _row_number,
                        p.rowid + 2 + coalesce(s.j, 0) as _line_number, p.* exclude (rowid),
                        {hashed}
                    from {rows}
                    asof left join (select k, max(j) as j from _skipped group by k) s
                        on p.rowid >= s.k
                    order by _row_number
                    """
                )
            else:
                # Every line a row: numbers by position, in the scan's order.
                con.execute(
                    f"""
                    create or replace temp table _chunk as
                    select p.rowid + 1 as _row_number, p.rowid + 2 as _line_number,
                        p.* exclude (rowid), {hashed}
                    from {rows}
                    """
                )
            n = con.execute("select count(*) from _chunk").fetchall()[0][0]
            chunk = Chunk(rows=[], row_numbers=[], bad_rows=[], table="_chunk", n_table_rows=n)
            if start == starts[-1]:
                self._add_rereads(chunk, again)
            if chunk.rows_read:
                yield chunk

    def _add_rereads(self, chunk: Chunk, again: list[tuple[int, str]]) -> None:
        """The lines DuckDB rejected, read one by one by the csv module: bad rows into the
        chunk, rows of the right field count into its table."""
        if not again:
            return
        extra = Chunk(rows=[], row_numbers=[], bad_rows=[], line_numbers=[])
        for line_number, text in again:
            self.export.reread(extra, text.rstrip("\r"), line_number)
        chunk.bad_rows.extend(extra.bad_rows)
        if extra.rows:
            _insert_rows(
                self.con,
                self.export.contract,
                extra,
                self.date_format,
                "insert into _chunk by name",
                self.month,
            )
            chunk.n_table_rows += len(extra.rows)
            # ``_chunk`` is kept in row order (``_chunk_table``, ``_load_chunk``).
            self.con.execute(
                "create or replace temp table _chunk as select * from _chunk order by _row_number"
            )

    def drop(self) -> None:
        """Lets go of the file's tables (once) and of its UTF-8 copy."""
        if not self.dropped:
            for table in ("_lines", "_parsed", "_skipped", "_rejects", "_reject_scan", "_chunk"):
                self.con.execute(f"drop table if exists {table}")
            self.dropped = True
        if self.copy is not None:
            self.copy.unlink(missing_ok=True)
            self.copy = None


def _insert_rows(
    con, contract: Contract, chunk: Chunk, date_format: str, into: str, month=None
) -> None:
    """Rows read by the csv module, with their numbers, hash and key, into ``_chunk``
    (``into`` is how: ``create or replace temp table _chunk as`` or an insert)."""
    frame = _frame(contract, chunk).with_columns(
        pl.Series("_row_number", chunk.row_numbers, dtype=pl.Int64),
        pl.Series("_line_number", chunk.line_numbers, dtype=pl.Int64),
        *([pl.lit(month, dtype=pl.Date).alias("_snapshot_month")] if month else []),
    )
    with registered(con, "csv_rows", frame.to_arrow()):
        con.execute(
            f"{into} select *, {record_hash_sql(contract, 'p.', date_format)} as _record_hash, "
            f"{key_column_sql(contract, 'p')} as _key from csv_rows p"
        )


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
    """Canonical column names of the file, or a rejection that says what is wrong: the
    kind the file is when its header is another contract's, the delimiter it uses when
    that is not the contract's, else a few of the missing, unexpected and repeated
    columns and how many there are."""
    header = [contracts.header_key(h) for h in raw_header]
    expected = set(contract.columns)
    if set(header) == expected and len(header) == len(expected):
        return header
    line = contract.delimiter.join(raw_header)
    for other in CONTRACTS.values():
        names = (
            header
            if other.delimiter == contract.delimiter
            else [contracts.header_key(h) for h in line.split(other.delimiter)]
        )
        if other.kind != contract.kind and set(names) == set(other.columns):
            raise FileRejected(
                f"{file_label} is a {other.kind} export (its header matches that contract) "
                f"but it landed in the {contract.kind}/ folder",
                f"move it to landing/{other.kind}/",
            )
    for delimiter, name in DELIMITER_NAMES.items():
        names = {contracts.header_key(h) for h in line.split(delimiter)}
        if delimiter != contract.delimiter and len(names & expected) >= max(2, len(expected) // 2):
            wanted = DELIMITER_PLURAL[contract.delimiter]
            raise FileRejected(
                f"{file_label}: the file is {name}-delimited; the {contract.kind} contract "
                f"wants {wanted}",
                f"ask for the export again with {wanted} between the values (export-formats.md)",
            )
    missing = [c for c in contract.columns if c not in header]
    unexpected = [h for h in header if h not in expected]
    if len(missing) == len(expected) or (unexpected and len(unexpected) == len(header)):
        raise FileRejected(
            f"{file_label} has no {contract.kind} header row: the first line holds "
            f"{len(header):,} values that are not column names of the contract",
            "the first line must name the columns of export-formats.md",
        )
    parts = []
    if missing:
        parts.append("missing columns " + _listed(missing))
    if unexpected:
        parts.append("unexpected columns " + _listed(unexpected))
    dupes = sorted(name for name, n in Counter(header).items() if n > 1)
    if dupes:
        parts.append("repeated columns " + _listed(dupes))
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
            f"licensees/{printable(path.name)}: the month of the snapshot cannot be read "
            "from the file name",
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


def row_mask(frame: pl.DataFrame, contract: Contract, exposed, index: int) -> privacy.RowMask:
    """What may be written about row ``index`` of a chunk (contract columns first)."""
    columns = contract.columns
    if tuple(frame.columns) != columns:  # a chunk's frame has just these (_chunk_table)
        frame = frame.select(columns)
    values = frame.row(index)
    return privacy.RowMask(values, [i for i, c in enumerate(columns) if c in exposed])


def check_rows(
    frame: pl.DataFrame,
    contract: Contract,
    date_format: str,
    exposed: frozenset[str] | None = None,
) -> dict[int, list[dict[str, str]]]:
    """Failures by row position: [{column, rule, reason, value}]. Values are masked by
    value (``privacy.RowMask``): any value of the row that equals or contains one found in
    the ``exposed`` columns (personal data and where it could have shifted to; by default
    as the contract orders the columns) is shown as the mask; values are clipped."""
    failures: dict[int, list[dict[str, str]]] = defaultdict(list)
    if frame.height == 0:
        return failures
    if exposed is None:
        exposed = privacy.exposed_columns(contract.columns)
    masks: dict[int, privacy.RowMask] = {}
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
            index = int(index)
            if index not in masks:
                masks[index] = row_mask(frame, contract, exposed, index)
            shown = masks[index].value
            check = case["check"]
            rule, reason = contracts.describe_rule(check, case["column"], date_format)
            if case["schema_context"] == "Column":
                column = case["column"]
                value = shown(frame.get_column(column)[index])
            elif rule == "date_order":
                earlier, later = check.split(":", 1)[1].split("<=")
                column = earlier
                value = (
                    f"{shown(frame.get_column(earlier)[index])} > "
                    f"{shown(frame.get_column(later)[index])}"
                )
            else:
                column = ",".join(contract.key)
                value = "|".join(str(shown(frame.get_column(k)[index])) for k in contract.key)
            failures[index].append(
                {"column": column, "rule": rule, "reason": reason, "value": clip(str(value))}
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
    for column, type_ in LEDGER_VERSION_COLUMNS + LEDGER_STAT_COLUMNS:
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
        _add_key_column(con, contract)
        con.execute(
            f"""create table if not exists quarantine.{contract.kind} (
                {cols}, _load_id varchar, _file_name varchar, _row_number bigint,
                _date_format varchar, _loaded_at timestamp{extra},
                _raw_line varchar, _rules varchar, _reason varchar, _errors json)"""
        )
        # The physical line of the file where a quarantined row starts (header: line 1).
        con.execute(
            f"alter table quarantine.{contract.kind} add column if not exists _line_number bigint"
        )
        # Rows of retracted loads, kept readable with when and why they were taken back.
        con.execute(
            f"""create table if not exists retracted.{contract.kind} as
                select *, null::timestamp as _retracted_at, null::bigint as _retract_seq,
                    null::varchar as _retraction_reason
                from raw.{contract.kind} limit 0"""
        )
        _add_key_column(con, contract, "retracted")


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


# Added with the stat cache (known_sha256): what says a file was not written since it was
# hashed. A file's ctime changes with every write, rename or utime, and no tool sets it.
LEDGER_STAT_COLUMNS = (
    ("ctime_ns", "bigint"),
    ("inode", "bigint"),
    ("hashed_at", "timestamp"),  # when the stat that goes with the hash was taken (UTC)
)
# A file written this close before it was hashed is hashed again on the next run (a file
# system with coarse timestamps could hold a later write under the same times).
STAT_CACHE_MARGIN_NS = 2_000_000_000


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


def _add_key_column(con, contract: Contract, schema: str = "raw") -> None:
    """``_key``: a raw (or retracted) row's record key as compared (``key_column_sql``),
    stored so the ingest finds the earlier versions of a file's keys by one narrow column
    instead of trimming every key in raw for every file, and the dbt models the rows of
    the keys a load or a retraction touched (dbt_project/macros/versions.sql). Filled for
    rows of an earlier version of the pipeline."""
    table = f"{schema}.{contract.kind}"
    con.execute(f"alter table {table} add column if not exists _key varchar")
    con.execute(f"update {table} set _key = {key_column_sql(contract, table)} where _key is null")


def key_column_sql(contract: Contract, alias: str) -> str:
    """The record key as one value (``key_sql``'s parts, a missing part kept apart from
    a blank one), as ``raw.<kind>._key`` holds it."""
    parts = [f"coalesce({k}::varchar, chr(0))" for k in key_sql(contract, alias)]
    return f"concat_ws(chr(31), {', '.join(parts)})"


def record_hash_sql(contract: Contract, prefix: str = "", date_format: str | None = None) -> str:
    """SQL for the hash a record is compared by: every contract value trimmed, blank as
    missing, dates written YYYY-MM-DD whatever the file's date style. The same record
    re-sent under new bytes (another encoding, line ends, quoting or date style) hashes
    the same. Kept in the working warehouse only, beside the values themselves. The date
    style is the row's ``_date_format``, or ``date_format`` when the rows are one file's."""
    if date_format is not None and date_format not in DATE_STYLES:
        raise ValueError(f"unknown date style {date_format!r}")
    parts = []
    for f in contract.fields:
        value = f"nullif(trim({prefix}\"{f.name}\"), '')"
        if f.is_date and date_format is not None:
            value = (
                f"coalesce(strftime(try_strptime({value}, '{date_format}'), '%Y-%m-%d'), {value})"
            )
        elif f.is_date:
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


@dataclass
class FileScan:
    """What one read of a file's bytes tells: its SHA-256, and what decides whether
    DuckDB's CSV reader may read it (``FastRead``)."""

    sha256: str
    line_breaks: int = 0  # LF bytes: the file's physical lines, as it ends with one
    lone_cr: bool = False  # a carriage return not followed by a line feed
    record_separator: bool = False  # the byte DuckDB is told reads as missing
    blank_line: bool = False  # a data line of nothing but spaces, tabs or a CR


BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")


def scan_file(path: Path) -> FileScan:
    digest = hashlib.sha256()
    breaks = cr = crlf = 0
    rs = blank = False
    last = b""  # the previous block's last byte (a CR LF may straddle two blocks)
    tail = b""  # the previous block's unfinished last line (a blank line may too)
    with open_landed(path) as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
            breaks += block.count(b"\n")
            cr += block.count(b"\r")
            crlf += (last + block).count(b"\r\n")
            rs = rs or b"\x1e" in block
            if not blank:
                blank = BLANK_LINE.search(tail + block) is not None
            cut = block.rfind(b"\n")
            tail = block[cut:] if cut >= 0 else tail + block
            if len(tail) > 4096:  # a long line is not a blank one
                tail = b"x"
            last = block[-1:]
    return FileScan(digest.hexdigest(), breaks, cr != crlf, rs, blank)


def safe_file_name(name: str) -> str:
    """A file name that stays in the folder it is joined to: path separators, NUL,
    control and format characters and undecodable bytes become ``_``, leading dots go
    (so never ``.`` or ``..``), and it is at most 150 characters (its end kept)."""
    cleaned = "".join("_" if c in "/\\" or _unprintable(c) else c for c in name).lstrip(".")
    if len(cleaned) > 150:
        cleaned = cleaned[:100] + "_" + cleaned[-49:]
    return cleaned or "unnamed"


def _reject(settings: Settings, kind: str, path: Path, exc: FileRejected) -> str:
    """Move a rejected file to ``rejected/<kind>/`` with its reason beside it. The name
    it gets there is made safe (``safe_file_name``) and checked to stay in that folder;
    a name already taken gets the time and a number."""
    if kind not in KINDS:
        raise ValueError(f"no such kind of export: {kind!r}")
    target_dir = settings.rejected_dir / kind
    target_dir.mkdir(parents=True, exist_ok=True)
    name = safe_file_name(path.name)
    target = target_dir / name
    if os.path.lexists(target):
        stem, suffix = os.path.splitext(name)
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        target = target_dir / f"{stem}.{stamp}{suffix}"
        n = 1
        while os.path.lexists(target):
            n += 1
            target = target_dir / f"{stem}.{stamp}-{n}{suffix}"
    if target.parent.resolve() != target_dir.resolve():
        raise RuntimeError(f"{printable(path.name)}: the rejected copy would leave {target_dir}")
    shutil.move(str(path), target)
    reason_file = target.with_name(target.name + ".reason.txt")
    reason_file.write_text(
        f"file: {kind}/{printable(path.name)}\n"
        f"rejected: {dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"reason: {exc.reason}\nwhat to do: {exc.advice or 'fix the file and land it again'}\n"
        "Nothing of this file was loaded.\n",
        encoding="utf-8",
    )
    return str(target)


def _ledger_row(con, result: FileResult, sha: str, stat, month, now, seq=None, exported=None):
    con.execute(
        "insert into meta.load_ledger (load_id, kind, file_name, sha256, size_bytes, mtime_ns, "
        "ctime_ns, inode, hashed_at, status, encoding, date_format, snapshot_month, "
        "rows_read, rows_loaded, rows_quarantined, reason, loaded_at, load_seq, export_date, "
        "rows_new, rows_changed, rows_unchanged) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.load_id,
            result.kind,
            result.file_name,
            sha,
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
            stat.st_ino,
            _utc(now),
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


def known_sha256(con, kind: str, path: Path, stat) -> str | None:
    """The sha256 of a landed file that was hashed before and not written since, from the
    ledger (a stat cache, as git's index is): a row of the same kind and name with the
    same size, modification and change times (ns) and inode, whose stat was taken (its
    ``hashed_at``) at least ``STAT_CACHE_MARGIN_NS`` after the file was last written, so
    no write after it can share its times. None: hash it. A resent
    correction of the same size with its old modification time restored (``cp -p``,
    ``rsync -t``) still has a new change time, so it is read."""
    rows = con.execute(
        "select sha256, hashed_at from meta.load_ledger where kind = ? and file_name = ? "
        "and size_bytes = ? and mtime_ns = ? and ctime_ns = ? and inode = ? "
        "and sha256 is not null and hashed_at is not null order by hashed_at desc limit 1",
        [kind, path.name, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino],
    ).fetchall()
    if not rows:
        return None
    sha, hashed_at = rows[0]
    written = max(stat.st_mtime_ns, stat.st_ctime_ns)
    hashed_ns = int(hashed_at.replace(tzinfo=dt.UTC).timestamp() * 1e9)
    if hashed_ns - written < STAT_CACHE_MARGIN_NS:
        return None
    return sha


def _utc(local: dt.datetime) -> dt.datetime:
    """A local wall time (the ledger's loaded_at) as UTC without a zone: what hashed_at
    holds, so that a process in another time zone (a container) reads it right."""
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _remember_stat(con, load_id: str, file_name: str, stat, hashed_at) -> None:
    """A loaded file hashed again and found the same bytes (same size and modification
    time as loaded: copied with its times kept, or recorded before the ledger kept change
    times and inodes) has its load's stat cache set to what it is now, so that the next
    runs know it by its stat (known_sha256). What the load was stays as recorded."""
    con.execute(
        "update meta.load_ledger set ctime_ns = ?, inode = ?, hashed_at = ? where load_id = ? "
        "and file_name = ? and size_bytes = ? and mtime_ns = ?",
        [
            stat.st_ctime_ns,
            stat.st_ino,
            hashed_at,
            load_id,
            file_name,
            stat.st_size,
            stat.st_mtime_ns,
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


def load_file(
    con, settings: Settings, contract: Contract, path: Path, committer: Committer | None = None
) -> FileResult:
    """Load one landed file (see the module's docstring). Raises ``LandingRefused``, and
    reads nothing, when the path is not a regular file or its name cannot be used.

    With a ``committer`` the previous file's commit may still be running (on another
    connection): this file is hashed, read and checked meanwhile, and everything that
    writes to the warehouse, or must see the previous file, waits for it first. The
    file's own commit is then the committer's (``Committer``)."""
    wait = committer.wait if committer is not None else lambda: None
    kind = contract.kind
    problem = _name_problem(path.name)
    if problem:
        raise LandingRefused(f"{printable(f'{kind}/{path.name}')} {problem}")
    stat = os.lstat(path)
    if not S_ISREG(stat.st_mode):
        raise LandingRefused(f"{printable(f'{kind}/{path.name}')} {_mode_problem(stat.st_mode)}")
    result = FileResult(kind=kind, file_name=path.name, status="loaded")
    # Every file is known by its content: a same-name, same-size correction is read. A
    # file hashed before and not written since is not read again (known_sha256). ``now``
    # is taken with the file's stat, before it is read: the ledger's loaded_at.
    now = dt.datetime.now()
    sha = known_sha256(con, kind, path, stat)
    scan = scan_file(path) if sha is None else None
    sha = sha or scan.sha256
    result.load_id = sha[:16]
    if committer is not None and committer.sha == sha:
        wait()  # the same bytes as the file being committed: known once it is
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
            if scan is not None:
                wait()
                _remember_stat(con, load_id, path.name, stat, _utc(now))
            return result
        wait()
        result.status = "duplicate_content"
        result.reason = f"same bytes as {name}, loaded before; nothing loaded again"
        _ledger_row(con, result, sha, stat, None, now)
        return result

    if scan is None:  # hashed before (a rejected file landed again, say): read it now
        scan = scan_file(path)
    fast: FastRead | None = None
    try:
        month = snapshot_month(contract, path)
        # Closed whatever happens, and before a rejected file is moved aside.
        with ExportFile(path, contract) as export:
            result.encoding = export.encoding
            # its first rows are read here
            fast = export.fast_read(con, scan, transcode_dir(settings), month)
            result.date_format = export.date_format
            _load_rows(con, export, fast, month, result, sha, stat, now, committer)
    except FileRejected as exc:
        for counter in ("read", "loaded", "quarantined", *CHANGES):
            setattr(result, f"rows_{counter}", 0)
        result.quarantine_examples = []
        wait()
        return _rejected(con, settings, result, path, exc, sha, stat, now)
    finally:
        if fast is not None:
            # What the connection holds of the file (its lines, its rows), unless the
            # transaction dropped it; and its UTF-8 copy.
            fast.drop()
    return result


def _log_loaded(result: FileResult) -> None:
    log.info(
        "loaded %s/%s: %d rows read: %d new, %d changed, %d unchanged, %d quarantined",
        result.kind,
        result.file_name,
        result.rows_read,
        result.rows_new,
        result.rows_changed,
        result.rows_unchanged,
        result.rows_quarantined,
    )


def _load_rows(
    con, export: ExportFile, fast, month, result: FileResult, sha, stat, now, committer=None
) -> None:
    """Every row of the open ``export`` into raw or quarantine, counted in ``result``, and
    its ledger row, in one transaction: all of it, or on any error none of it.

    The first chunk is read and checked before the transaction begins, so with a
    ``committer`` that work overlaps the previous file's commit; the transaction waits for
    that commit (its version lookups must see the previous file's rows), and its own
    commit is handed to the committer (the connection is then the committer's until it
    is waited for). The file is logged as loaded once it is committed."""
    contract, path = export.contract, export.path
    exported = export_date(contract, path, month, now)
    date_format = export.date_format
    chunks = iter(fast.chunks() if fast else export.chunks())
    chunk = next(chunks, None)
    checked = _check_chunk(con, contract, chunk, date_format, month, export.exposed)
    if committer is not None:
        committer.wait()
    con.execute("begin transaction")
    try:
        seq = next_change_seq(con)
        meta = {
            "_load_id": result.load_id,
            "_file_name": path.name,
            "_date_format": date_format,
            "_loaded_at": now,
            "_export_date": exported,
            "_load_seq": seq,
        }
        while chunk is not None:
            counts, quarantined, examples = _load_chunk(
                con, contract, chunk, checked, meta, month, export.exposed
            )
            result.rows_read += chunk.rows_read
            result.rows_quarantined += quarantined
            for change in CHANGES:
                setattr(
                    result, f"rows_{change}", getattr(result, f"rows_{change}") + counts[change]
                )
            result.quarantine_examples.extend(examples[: 3 - len(result.quarantine_examples)])
            chunk = next(chunks, None)
            checked = _check_chunk(con, contract, chunk, date_format, month, export.exposed)
        result.rows_loaded = result.rows_new + result.rows_changed + result.rows_unchanged
        _check_conservation(con, result)
        _ledger_row(con, result, sha, stat, month, now, seq, exported)
        if fast is not None:
            fast.drop()  # in the transaction: nothing of the file is left to drop after it
    except BaseException:
        con.execute("rollback")
        if fast is not None:
            fast.dropped = False  # the drops were rolled back with the rest
        raise
    if committer is None:
        _commit(con)
        _log_loaded(result)
    else:
        committer.commit(con, sha, lambda: _log_loaded(result))


def _commit(con) -> None:
    try:
        con.execute("commit")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed commit has rolled back already
            con.execute("rollback")
        raise


class Committer:
    """Commits one file's transaction in a thread of its own, while the next file is read
    and checked on another connection (``ingest``): a commit writes the file's rows to
    DuckDB's write-ahead log, 54 s of 248 s in a serial ingest of 10 M traces, with the
    second core mostly idle. Files are still committed one after another in landing
    order: the next file's transaction begins only when this commit is done (``wait``),
    and its error, if any, is raised there."""

    def __init__(self):
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.con = None  # the connection being committed, not to be used meanwhile
        self.sha: str | None = None  # the content of the file being committed

    def commit(self, con, sha: str, done) -> None:
        """Commit ``con``'s transaction in the thread, then call ``done``."""
        self.wait()
        self.con, self.sha = con, sha
        self._thread = threading.Thread(
            target=self._run, args=(con, done), name="tracepipe-commit", daemon=False
        )
        self._thread.start()

    def _run(self, con, done) -> None:
        try:
            _commit(con)
            done()
        except BaseException as exc:
            self._error = exc

    def wait(self) -> None:
        """Until the commit handed over last is done; raises its error."""
        if self._thread is None:
            return
        self._thread.join()
        self._thread = None
        self.con = self.sha = None
        error, self._error = self._error, None
        if error is not None:
            raise error


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


def _classify(con, contract: Contract, load_id: str) -> pl.DataFrame:
    """For each good row of the chunk in ``_incoming``: the row of this file that already
    holds its key (a repeat inside the file), else how it compares with the current
    version of its key in the live loads: new, changed or unchanged. Returns
    ``_row_number``, ``same_file_row`` (null unless repeated) and ``_change``."""
    kind = contract.kind
    return con.execute(
        f"""
        with versions as (
            select i._row_number, r._load_id, r._row_number as other_row, r._record_hash,
                r._export_date, r._load_seq
            from _incoming i join raw.{kind} r on i._key = r._key
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
            end as _change
        from _incoming i
        left join same_file s using (_row_number)
        left join current c using (_row_number)
        """,
        [load_id, load_id],
    ).pl()


def _row_reason(errors: list[dict[str, str]]) -> str:
    """The failures of one row in a line: a few of them, and how many more (the row's
    ``_errors`` holds them all)."""
    text = "; ".join(
        f"{e['column']}: {e['reason']} (found {e['value']!r})" for e in errors[:SHOWN_NAMES]
    )
    more = len(errors) - SHOWN_NAMES
    return text + (f"; and {more} more failure(s)" if more > 0 else "")


def _chunk_table(
    con, contract: Contract, chunk: Chunk, date_format: str, month=None
) -> pl.DataFrame:
    """The chunk's rows of the right field count in the temp table ``_chunk`` (contract
    columns as read, ``_row_number``, ``_line_number``, ``_record_hash``, ``_key``), in
    ``_row_number`` order, and the same rows as a frame of the contract's columns, in the
    same order, for the contract checks (the frame's i-th row is the table's i-th)."""
    if chunk.table is None:
        _insert_rows(
            con, contract, chunk, date_format, "create or replace temp table _chunk as", month
        )
    cols = ", ".join(f'"{c}"' for c in contract.columns)
    frame = con.execute(f"select {cols}, _row_number, _line_number from _chunk").pl()
    chunk.row_numbers = frame.get_column("_row_number").to_list()
    chunk.line_numbers = frame.get_column("_line_number").to_list()
    return frame.select(pl.col(c).cast(pl.Utf8) for c in contract.columns)


def _check_chunk(con, contract: Contract, chunk: Chunk | None, date_format, month, exposed):
    """A chunk's rows in ``_chunk`` and checked against the contract: ``(frame,
    failures)`` for ``_load_chunk`` (None for no chunk). Writes nothing to the warehouse."""
    if chunk is None:
        return None
    frame = _chunk_table(con, contract, chunk, date_format, month)
    return frame, check_rows(frame, contract, date_format, exposed)


def _load_chunk(
    con, contract: Contract, chunk: Chunk, checked, meta: dict, month, exposed
) -> tuple[dict[str, int], int, list[str]]:
    """Insert one chunk's good rows into raw (each a new, changed or unchanged version)
    and its bad rows into quarantine, inside the file's transaction (``checked``: its
    frame and contract failures, from ``_check_chunk``). Returns the counts by change,
    the rows quarantined, and a few plain-language examples. Everything written about a
    row (reasons, errors, examples, raw lines) has its personal data masked by value
    (``exposed``: the file's columns that may hold it).

    The rows stay in DuckDB (``_chunk``): the contract is checked on a frame read out of
    it, and the good rows go from it into raw by SQL, so no row goes through Python."""
    kind = contract.kind
    date_format = meta["_date_format"]
    frame, failures = checked

    # Versions: how each good row compares with what the live loads hold of its key.
    failed_numbers = pl.DataFrame(
        {"_row_number": [chunk.row_numbers[i] for i in failures]}, schema={"_row_number": pl.Int64}
    )
    with registered(con, "failed_numbers", failed_numbers.to_arrow()):
        con.execute(
            "create or replace temp view _incoming as "
            "select * from _chunk anti join failed_numbers using (_row_number)"
        )
        changes = _classify(con, contract, meta["_load_id"])
        con.execute("drop view _incoming")
    by_number = {n: i for i, n in enumerate(chunk.row_numbers)}
    repeated = changes.filter(pl.col("same_file_row").is_not_null())
    for row_number, other_row in repeated.select("_row_number", "same_file_row").iter_rows():
        index = by_number[row_number]
        shown = row_mask(frame, contract, exposed, index).value
        failures[index].append(
            {
                "column": ",".join(contract.key),
                "rule": "duplicate_key",
                "reason": f"repeats the key of row {other_row} of this file",
                "value": clip(
                    "|".join(str(shown(frame.get_column(k)[index])) for k in contract.key)
                ),
            }
        )
    kept = changes.filter(pl.col("same_file_row").is_null()).select("_row_number", "_change")
    # Each row of ``_chunk`` (in its order) with its change, null for a row not kept: the
    # insert pairs them by position, not by a join and a sort of the wide rows.
    aligned = pl.DataFrame(
        {"_row_number": chunk.row_numbers}, schema={"_row_number": pl.Int64}
    ).join(kept, on="_row_number", how="left", maintain_order="left")

    raw_cols = list(contract.columns) + list(META_COLUMNS)
    if month is not None:
        raw_cols.append("_snapshot_month")
    col_list = ", ".join(f'"{c}"' for c in raw_cols)
    if kept.height:
        values = ", ".join(f'"{c}"' for c in contract.columns)
        all_cols = ", ".join(f'"{c}"' for c in [*raw_cols, *VERSION_COLUMNS, "_key"])
        literal = [meta[k] for k in META_COLUMNS if k != "_row_number"]
        with registered(con, "kept_rows", aligned.select("_change").to_arrow()):
            con.execute(
                f"insert into raw.{kind} ({all_cols}) select {values}, ?::varchar, ?::varchar, "
                "_row_number, ?::varchar, ?::timestamp, "
                + ("?::date, " if month is not None else "")
                + "?::date, ?::bigint, _record_hash, k._change, _key "
                "from _chunk positional join kept_rows k where k._change is not null",
                [
                    *literal[:2],
                    *literal[2:],
                    *([month] if month is not None else []),
                    meta["_export_date"],
                    meta["_load_seq"],
                ],
            )
    counts = dict.fromkeys(CHANGES, 0)
    for change, n in kept.group_by("_change").len().iter_rows():
        counts[change] = n
    con.execute("drop table _chunk")

    positions = sorted(failures)
    reasons = {i: _row_reason(failures[i]) for i in positions}
    if positions:
        failed = frame[positions].with_columns(
            pl.Series("_row_number", [chunk.row_numbers[i] for i in positions], dtype=pl.Int64),
            *[pl.lit(meta[k]).alias(k) for k in META_COLUMNS if k != "_row_number"],
            *([pl.lit(month).alias("_snapshot_month")] if month is not None else []),
            pl.Series("_line_number", [chunk.line_numbers[i] for i in positions], dtype=pl.Int64),
            pl.Series(
                "_rules",
                [",".join(sorted({e["rule"] for e in failures[i]})) for i in positions],
                dtype=pl.Utf8,
            ),
            pl.Series("_reason", [reasons[i] for i in positions], dtype=pl.Utf8),
            pl.Series("_errors", [json.dumps(failures[i]) for i in positions], dtype=pl.Utf8),
        )
        with registered(con, "failed_rows", failed.to_arrow()):
            con.execute(
                f"insert into quarantine.{kind} ({col_list}, _line_number, _rules, _reason, "
                f"_errors) select {col_list}, _line_number, _rules, _reason, _errors "
                "from failed_rows"
            )
    bad_rows = chunk.bad_rows
    if bad_rows:
        n_bad = len(bad_rows)
        bad = pl.DataFrame(
            {
                "_load_id": [meta["_load_id"]] * n_bad,
                "_file_name": [meta["_file_name"]] * n_bad,
                "_row_number": [b.row_number for b in bad_rows],
                "_date_format": [date_format] * n_bad,
                "_loaded_at": [meta["_loaded_at"]] * n_bad,
                "_line_number": [b.line_number for b in bad_rows],
                "_raw_line": [b.raw_line for b in bad_rows],
                "_rules": [b.rule for b in bad_rows],
                "_reason": [f"row: {b.reason}" for b in bad_rows],
                "_errors": [
                    json.dumps([{"column": "*", "rule": b.rule, "reason": b.reason, "value": ""}])
                    for b in bad_rows
                ],
            },
            schema_overrides={"_row_number": pl.Int64, "_line_number": pl.Int64},
        )
        with registered(con, "bad_lines", bad.to_arrow()):
            con.execute(
                f"insert into quarantine.{kind} "
                "(_load_id, _file_name, _row_number, _date_format, _loaded_at, _line_number, "
                "_raw_line, _rules, _reason, _errors) select _load_id, _file_name, _row_number, "
                "_date_format, _loaded_at, _line_number, _raw_line, _rules, _reason, _errors "
                "from bad_lines"
            )
    quarantined = len(positions) + len(bad_rows)
    examples = [
        f"row {chunk.row_numbers[i]} (line {chunk.line_numbers[i]}): {reasons[i]}"
        for i in positions[:3]
    ] + [f"row {b.row_number} (line {b.line_number}): {b.reason}" for b in bad_rows[:3]]
    return counts, quarantined, examples


class LandingError(RuntimeError):
    """The landing folder is missing: say which path was expected."""


class LandingRefused(Exception):
    """A landing entry that is not a regular file in the landing folder, or whose name
    cannot be used: named with the reason, and never followed, read or moved."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Misplaced:
    """A file in the landing folder that is not in a kind's folder."""

    path: str
    advice: str


@dataclass
class Refused:
    """A landing entry refused at the trust boundary: a symbolic link (to a file or a
    folder), a device, a FIFO or a socket, or a file whose name holds control characters,
    undecodable bytes or is too long. ``path`` is relative to the landing folder, with
    unprintable characters escaped."""

    path: str
    reason: str


@dataclass
class Landing:
    """What the landing folder holds, walked without following any link."""

    files: list[tuple[str, Path]] = field(default_factory=list)  # (kind, regular file)
    misplaced: list[Path] = field(default_factory=list)  # regular files elsewhere
    refused: list[Refused] = field(default_factory=list)


#: The longest file name accepted, in bytes: room is left for the time stamp and the
#: ``.reason.txt`` of a rejected copy within the usual 255-byte limit.
NAME_LIMIT = 200
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def _unprintable(char: str) -> bool:
    """Control and format characters (bidirectional overrides among them), line and
    paragraph separators, and the surrogates that stand for undecodable bytes."""
    return unicodedata.category(char) in _UNPRINTABLE


def printable(text: str) -> str:
    """A name as it may be printed: unprintable characters written as escapes."""
    return "".join(ascii(c)[1:-1] if _unprintable(c) else c for c in text)


def _name_problem(name: str) -> str | None:
    if any(_unprintable(c) for c in name):
        return (
            "has a name holding control characters or bytes that are not text, so it was "
            "not read: rename it (letters, digits, spaces and punctuation) and land it again"
        )
    if len(os.fsencode(name)) > NAME_LIMIT:
        return (
            f"has a name longer than {NAME_LIMIT} bytes, so it was not read: rename it "
            "and land it again"
        )
    return None


def _mode_problem(mode: int) -> str:
    if S_ISLNK(mode):
        return (
            "is a symbolic link; links are not followed, so it was not read: copy the "
            "export itself into the landing folder"
        )
    what = (
        "a named pipe (FIFO)"
        if S_ISFIFO(mode)
        else "a character device"
        if S_ISCHR(mode)
        else "a block device"
        if S_ISBLK(mode)
        else "a socket"
        if S_ISSOCK(mode)
        else "not a regular file"
    )
    return f"is {what}, not a regular file, so it was not read: land the export as a file"


def open_landed(path: Path):
    """A landed file opened for reading in binary, refusing (``LandingRefused``) what is
    not a regular file at the moment it is opened: the last part of the path is not
    followed if it is a link, and a FIFO does not block the open."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    label = printable(f"{path.parent.name}/{path.name}")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LandingRefused(f"{label} {_mode_problem(0o120000)}") from exc
        raise
    mode = os.fstat(fd).st_mode
    if not S_ISREG(mode):
        os.close(fd)
        raise LandingRefused(f"{label} {_mode_problem(mode)}")
    return os.fdopen(fd, "rb")


def scan_landing(settings: Settings) -> Landing:
    """Walk the landing folder without following links: regular files in a kind's folder
    are to load; other regular files are misplaced; links, devices, FIFOs, sockets and
    unusable names are refused with a reason. Hidden entries (uploads in progress) and
    the landing root's ``_`` folders (the generator's ground truth) are left alone."""
    root = settings.landing_dir
    if not root.is_dir():
        raise LandingError(
            f"the landing folder {root} does not exist: create it (or set "
            "TRACEPIPE_LANDING_DIR to where exports land) and put each export in its "
            f"kind's folder: {', '.join(k + '/' for k in KINDS)}"
        )
    for kind in KINDS:
        if not os.path.lexists(root / kind):
            (root / kind).mkdir()
    landing = Landing()
    _walk(root, root, landing)
    return landing


def _walk(root: Path, folder: Path, landing: Landing) -> None:
    with os.scandir(folder) as entries:
        found = sorted(entries, key=lambda e: e.name)
    for entry in found:
        path = Path(entry.path)
        rel = path.relative_to(root)
        if entry.name.startswith(".") or rel.parts[0].startswith("_"):
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        problem = _name_problem(entry.name)
        if problem is None and not (S_ISDIR(mode) or S_ISREG(mode)):
            problem = _mode_problem(mode)
        if problem:
            landing.refused.append(
                Refused(printable(str(rel)), f"landing/{printable(str(rel))} {problem}")
            )
        elif S_ISDIR(mode):
            _walk(root, path, landing)
        elif len(rel.parts) == 2 and rel.parts[0] in KINDS:
            landing.files.append((rel.parts[0], path))
        else:
            landing.misplaced.append(path)


def _advice(root: Path, path: Path) -> Misplaced:
    rel = path.relative_to(root)
    kind = kind_by_header(path)
    folder = (
        f"landing/{kind}/"
        if kind
        else "the folder of its kind (" + ", ".join(f"landing/{k}/" for k in KINDS) + ")"
    )
    if len(rel.parts) == 1:
        where = "the landing root"
    elif rel.parts[0] in KINDS:
        where = f"landing/{rel.parent}/, a folder inside a kind's folder"
    else:
        where = f"landing/{rel.parent}/, which is no kind's folder"
    return Misplaced(str(rel), f"{rel} is in {where}, so it was not loaded: move it to {folder}")


def check_landing(settings: Settings) -> list[Misplaced]:
    """The landing folder exists, and every file in it sits in a kind's folder. Files
    in the landing root, in an unknown folder or in a folder inside a kind's folder are
    returned by name, with the folder they belong in when their header says so; they
    are not loaded."""
    root = settings.landing_dir
    return [_advice(root, path) for path in scan_landing(settings).misplaced]


def kind_by_header(path: Path, opener=None) -> str | None:
    """The kind whose contract the file's first line matches, if any (the file opened by
    ``opener``: by default as a landed file, never through a link)."""
    try:
        with (opener or open_landed)(path) as handle:
            first = handle.readline(65536).decode("utf-8-sig", errors="replace")
    except (OSError, LandingRefused):
        return None
    for contract in CONTRACTS.values():
        names = [contracts.header_key(h) for h in first.rstrip("\r\n").split(contract.delimiter)]
        if set(names) == set(contract.columns):
            return contract.kind
    return None


def landed_files(settings: Settings, kinds: tuple[str, ...] = KINDS) -> list[tuple[Contract, Path]]:
    """The regular files in the kinds' folders (links and the like are never listed)."""
    return [(CONTRACTS[kind], path) for kind, path in scan_landing(settings).files if kind in kinds]


def transcode_dir(settings: Settings) -> Path:
    """Where files in a one-byte encoding are copied as UTF-8 while they load (FastRead)."""
    return settings.duckdb_temp_dir / "transcoded"


def _remove_stale_copies(folder: Path) -> None:
    """The UTF-8 copies a killed ingest left (``<hash>.<pid>.csv`` of a pid not running)."""
    for path in folder.glob("*.*.csv"):
        try:
            os.kill(int(path.suffixes[-2][1:]), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            continue


def ingest(settings: Settings, kinds: tuple[str, ...] = KINDS) -> IngestSummary:
    """Load every new file of the given kinds that has landed."""
    landing = scan_landing(settings)
    misplaced = [_advice(settings.landing_dir, path) for path in landing.misplaced]
    refused = list(landing.refused)
    settings.ensure_dirs()
    _remove_stale_copies(transcode_dir(settings))
    for item in misplaced:
        log.warning("not loaded: %s", item.advice)
    for item in refused:
        log.warning("refused: %s", item.reason)
    results = []
    with connect(settings) as con:
        ensure_tables(con)
        # One checkpoint per few hundred MB loaded, not one per file: each file is still
        # its own committed transaction (durable in the write-ahead log), but rewriting
        # the tables after every small file cost more than reading them.
        con.execute(f"set checkpoint_threshold = '{CHECKPOINT_EVERY}'")
        # Two connections taken in turn: while one commits a file (``Committer``), the
        # next file is read and checked on the other.
        connections = [con, con.cursor()]
        committer = Committer()
        try:
            for kind, path in landing.files:
                if kind not in kinds:
                    continue
                free = next(c for c in connections if c is not committer.con)
                try:
                    results.append(load_file(free, settings, CONTRACTS[kind], path, committer))
                except LandingRefused as exc:  # changed since the walk
                    refused.append(Refused(printable(f"{kind}/{path.name}"), exc.reason))
                    log.warning("refused: %s", exc.reason)
            committer.wait()
        finally:
            # Not closed while a commit runs on it; an error of that commit is raised by
            # the ``wait`` above, or else stands behind the error already on its way.
            with contextlib.suppress(Exception):
                committer.wait()
            connections[1].close()
        con.execute("checkpoint")
    return IngestSummary(results, misplaced, refused)
