"""Validate: what the ingest would do with an export, without loading it.

``tracepipe validate FILE...`` reads each file the way the ingest reads it (the ingest's
own reading pieces: ``ExportFile`` for encoding, framing and header, ``check_rows`` for
the pandera contract, ``snapshot_month`` for a listing's name) and says, file by file,
whether it would be rejected whole (and why), and which rows would be quarantined, with
their row, line, column, rule and reason. It opens no warehouse and writes nothing.

What it cannot know without the load ledger: whether the same bytes were loaded before
(a re-sent file changes nothing) and whether a good row is new, changed or unchanged.

Personal data: values in reasons are masked by value, as the ingest masks them
(``pipelines/privacy.py``); no value of a row is printed otherwise.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines import privacy
from pipelines.config import KINDS
from pipelines.contracts import CONTRACTS, Contract
from pipelines.ingest import ExportFile, FileRejected, check_rows, snapshot_month
from pipelines.ingest import kind_by_header as ingest_kind_by_header

LOAD = "load"  # every row would be loaded
QUARANTINE = "quarantine"  # the file would be loaded, some rows quarantined
REJECT = "reject"  # the whole file would be set aside in rejected/
REFUSE = "refuse"  # the ingest would not read it at all (a link, a FIFO, a folder)
UNKNOWN = "unknown"  # neither its folder nor its header says which kind it is


@dataclass
class RowProblem:
    row: int  # the data row number (1-based), as the quarantine records it
    line: int  # the physical line of the file (the header is line 1)
    column: str
    rule: str
    reason: str  # values in it masked and clipped

    def describe(self) -> str:
        where = f"row {self.row:,} (line {self.line:,})"
        column = "" if self.column == "*" else f", column {self.column}"
        return f"{where}{column}: {self.reason} [{self.rule}]"


@dataclass
class FileCheck:
    label: str  # kind/name, printable
    kind: str | None
    outcome: str = LOAD
    reason: str = ""  # why rejected, refused or unknown; what to do
    rows_read: int = 0
    rows_quarantined: int = 0
    problems: list[RowProblem] = field(default_factory=list)  # the first ``keep``
    encoding: str = ""
    date_format: str = ""

    @property
    def rows_loaded(self) -> int:
        return self.rows_read - self.rows_quarantined

    @property
    def ok(self) -> bool:
        return self.outcome == LOAD


def printable(text: str) -> str:
    """A name as it may be printed: control and format characters escaped."""
    return "".join(
        ascii(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else c
        for c in text
    )


def expand(paths: list[Path]) -> Iterator[Path]:
    """The files named, a folder standing for the files in it and in its kind folders
    (hidden entries and ``_`` folders left out, as the ingest leaves them)."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if len(rel) > 2 or any(p.startswith((".", "_")) for p in rel):
                    continue
                if child.is_file() or child.is_symlink():
                    yield child
        else:
            yield path


def kind_by_header(path: Path) -> str | None:
    """The kind whose contract the file's first line names exactly, if any (a file named
    on the command line, opened as the user gave it)."""
    return ingest_kind_by_header(path, opener=lambda p: p.open("rb"))


def _not_regular(path: Path) -> str | None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "does not exist: check the path"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISLNK(mode):
        return (
            "is a symbolic link, which the ingest does not follow: copy the export itself "
            "into the landing folder (and validate that copy)"
        )
    if stat.S_ISDIR(mode):
        return "is a folder"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, socket or device): land the export as a file"
    if not os.access(path, os.R_OK):
        return "cannot be read (no read permission)"
    return None


def check_file(
    path: Path,
    kind: str | None = None,
    keep: int = 1000,
    on_row: Callable[[int, int, list[RowProblem]], None] | None = None,
) -> FileCheck:
    """What the ingest would do with the file at ``path``. Its kind is ``kind``, else
    its folder's name when that is a kind (as in ``landing/<kind>/``), else the kind
    its header names. ``on_row(row, line, problems)`` is called for every row (no
    problems: it would be loaded)."""
    folder_kind = path.parent.name if path.parent.name in KINDS else None
    kind = kind or folder_kind
    label = printable(f"{kind or path.parent.name}/{path.name}")
    check = FileCheck(label=label, kind=kind)
    problem = _not_regular(path)
    if problem:
        check.outcome, check.reason = REFUSE, f"{printable(str(path))} {problem}"
        return check
    if kind is None:
        kind = kind_by_header(path)
        if kind is None:
            check.outcome = UNKNOWN
            check.reason = (
                f"{label}: its folder is no kind's and its header matches no contract, so "
                f"its kind is unknown: give --kind ({', '.join(KINDS)})"
            )
            return check
        check.kind = kind
        check.label = label = printable(f"{kind}/{path.name}")
    contract = CONTRACTS[kind]
    try:
        snapshot_month(contract, path)
        export = ExportFile(path, contract)
    except FileRejected as exc:
        check.outcome = REJECT
        check.reason = exc.reason + (f"; what to do: {exc.advice}" if exc.advice else "")
        return check
    try:
        check.encoding, check.date_format = export.encoding, export.date_format
        _check_rows(check, contract, export, keep, on_row)
    except FileRejected as exc:  # found while reading the rows: rejected whole
        check.outcome = REJECT
        check.reason = exc.reason + (f"; what to do: {exc.advice}" if exc.advice else "")
        check.problems, check.rows_read, check.rows_quarantined = [], 0, 0
    finally:
        export.close()
    if check.outcome == LOAD and check.rows_quarantined:
        check.outcome = QUARANTINE
    return check


def _check_rows(check: FileCheck, contract: Contract, export, keep: int, on_row) -> None:
    columns = list(contract.columns)
    key_at = [columns.index(k) for k in contract.key]
    exposed = [i for i, c in enumerate(columns) if c in export.exposed]
    seen: dict[tuple[str, ...], int] = {}  # key -> row number of its first good row
    for chunk in export.chunks():
        check.rows_read += chunk.rows_read
        frame = pl.DataFrame(chunk.rows, schema={c: pl.Utf8 for c in columns}, orient="row")
        failures = check_rows(frame, contract, export.date_format, export.exposed)
        by_row: list[tuple[int, int, list[RowProblem]]] = []
        for i, values in enumerate(chunk.rows):
            row, line = chunk.row_numbers[i], chunk.line_numbers[i]
            found = [
                RowProblem(
                    row,
                    line,
                    e["column"],
                    e["rule"],
                    f"{e['reason']} (found {e['value']!r})",
                )
                for e in failures.get(i, [])
            ]
            if not found:  # a repeated key is looked for among good rows, as the ingest does
                key = tuple(values[k].strip() for k in key_at)
                if key in seen:
                    shown = privacy.RowMask(values, exposed).value
                    value = "|".join(str(shown(values[k])) for k in key_at)
                    found.append(
                        RowProblem(
                            row,
                            line,
                            ",".join(contract.key),
                            "duplicate_key",
                            f"repeats the key of row {seen[key]:,} of this file (found {value!r})",
                        )
                    )
                else:
                    seen[key] = row
            by_row.append((row, line, found))
        for bad in chunk.bad_rows:
            by_row.append(
                (
                    bad.row_number,
                    bad.line_number,
                    [RowProblem(bad.row_number, bad.line_number, "*", bad.rule, bad.reason)],
                )
            )
        by_row.sort(key=lambda item: item[0])
        for row, line, found in by_row:
            if found:
                check.rows_quarantined += 1
                room = keep - len(check.problems)
                if room > 0:
                    check.problems.extend(found[:room])
            if on_row is not None:
                on_row(row, line, found)
