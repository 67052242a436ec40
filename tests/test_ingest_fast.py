"""The ingest's fast path (DuckDB's CSV reader, ``ingest.FastRead``) against the csv
module's: the same rows loaded and the same rows quarantined, with the same file, row,
line, column, rule and reason, file by file."""

from __future__ import annotations

import csv
import io
import logging
import shutil

import duckdb
import pytest
from conftest import make_settings
from exports import trace_row, write_export

from pipelines import ingest
from pipelines.contracts import CONTRACTS

USES_DBT_STATE = False  # runs no dbt build: need not wait for conftest.built

HEADER = ",".join(CONTRACTS["trace"].columns)


def _line(**overrides: str) -> str:
    row = trace_row(**overrides)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([row[c] for c in CONTRACTS["trace"].columns])
    return buffer.getvalue()


def _quirky_files(landing) -> list[str]:
    """Files the fast path reads, each with rows the contract or the framing refuses."""
    lines = [HEADER]
    for n in range(1, 41):
        lines.append(_line(trace_number=f"T2012-{n:07d}", serial_number=f"SN{n:05d}"))
    lines[5] = _line(trace_number="T2012-9000001", request_date="2012-13-45")  # bad date
    lines[8] = lines[8] + ",EXTRA"  # too many fields
    lines[11] = ",".join(lines[11].split(",")[:5])  # too few fields
    lines[14] = _line(trace_number="T2012-0000003")  # repeats the key of row 3
    lines[17] = _line(trace_number="T2012-9000002", recovery_country="ZZ")  # loads (a warning)
    lines[20] = _line(trace_number="T2012-9000003", manufacturer='SMITH "S&W" CO')  # quoted
    lines[23] = lines[23].replace("COLT", 'CO"L"T', 1)  # quotes inside a bare value
    lines[26] = _line(trace_number="", serial_number="SN-MISSING-KEY")  # no trace number
    lines[29] = _line(trace_number="T2012-9000004", purchaser_name="SMITH, ANA")
    (landing / "trace").mkdir(parents=True, exist_ok=True)
    (landing / "trace" / "trace_requests_2012-07.csv").write_text("\n".join(lines) + "\n")
    crlf = "\r\n".join(lines[:1] + [x.replace("T2012-", "T2013-") for x in lines[1:]]) + "\r\n"
    (landing / "trace" / "trace_requests_2013-07.csv").write_bytes(crlf.encode())
    # Columns in another order than the contract's: the fast path reorders them too.
    rows = [trace_row(trace_number=f"T2014-{n:07d}", serial_number=f"Q{n}") for n in range(1, 9)]
    rows[3]["purchase_date"] = "not a date"
    header = list(reversed(CONTRACTS["trace"].columns))
    write_export(landing / "trace" / "trace_requests_2014-07.csv", "trace", rows, header=header)
    # One-byte encodings, read by DuckDB from a UTF-8 copy: Windows-1252 (its own letters
    # in 0x80-0x9f: the euro, curly quotes) and Latin-1 (a byte Windows-1252 has not).
    one_byte = [x.replace("T2012-", "T2015-") for x in lines]
    one_byte[2] = _line(
        trace_number="T2015-8000001", manufacturer="FÁBRICA ’NACIONAL’ €", recovery_city="JUÁREZ"
    )
    one_byte[3] = one_byte[3] + ",ÑANDÚ"  # refused by DuckDB, read again by the csv module
    one_byte[4] = _line(trace_number="T2015-8000002", purchaser_name="PEÑA, JOSÉ")
    (landing / "trace" / "trace_requests_2015-07.csv").write_bytes(
        ("\n".join(one_byte) + "\n").encode("cp1252")
    )
    latin = [x.replace("T2015-", "T2016-").replace("’", "'").replace("€", "\x81") for x in one_byte]
    (landing / "trace" / "trace_requests_2016-07.csv").write_bytes(
        ("\r\n".join(latin) + "\r\n").encode("latin-1")
    )
    return [
        "trace_requests_2012-07.csv",
        "trace_requests_2013-07.csv",
        "trace_requests_2014-07.csv",
        "trace_requests_2015-07.csv",
        "trace_requests_2016-07.csv",
    ]


def _tables(settings) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        out = {}
        for table in ("raw.trace", "quarantine.trace"):
            cols = [
                r[0]
                for r in con.execute(f"describe {table}").fetchall()
                if r[0] not in ("_loaded_at",)
            ]
            names = ", ".join(f'"{c}"' for c in cols)
            out[table] = con.execute(f"select {names} from {table} order by all").fetchall()
        out["ledger"] = con.execute(
            "select file_name, status, encoding, date_format, rows_read, rows_loaded, "
            "rows_quarantined, rows_new, rows_changed, rows_unchanged, reason "
            "from meta.load_ledger order by file_name"
        ).fetchall()
        return out
    finally:
        con.close()


def test_the_fast_path_quarantines_the_same_rows_with_the_same_reasons(
    tmp_path, caplog, monkeypatch
):
    fast, slow = make_settings(tmp_path / "fast"), make_settings(tmp_path / "slow")
    for s in (fast, slow):
        s.ensure_dirs()
        s.ensure_landing()
    names = _quirky_files(fast.landing_dir)
    shutil.copytree(fast.landing_dir, slow.landing_dir, dirs_exist_ok=True)

    with caplog.at_level(logging.DEBUG, logger="pipelines.ingest"):
        fast_summary = ingest.ingest(fast)
    read_fast = {
        r.getMessage().split(":")[0] for r in caplog.records if "read by DuckDB" in r.getMessage()
    }
    assert read_fast == {f"trace/{n}" for n in names}, "every file took the fast path"

    monkeypatch.setattr(ingest, "FAST_MAX_BYTES", 0)  # the csv module reads every file
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="pipelines.ingest"):
        slow_summary = ingest.ingest(slow)
    assert not [r for r in caplog.records if "read by DuckDB" in r.getMessage()]

    a, b = _tables(fast), _tables(slow)
    encodings = {row[0]: row[2] for row in a["ledger"]}
    assert encodings["trace_requests_2015-07.csv"] == "cp1252"
    assert encodings["trace_requests_2016-07.csv"] == "latin-1"
    assert not list(ingest.transcode_dir(fast).iterdir()), "the UTF-8 copies are deleted"
    assert a["ledger"] == b["ledger"]
    assert a["raw.trace"] == b["raw.trace"]
    assert a["quarantine.trace"] == b["quarantine.trace"]
    # And what the rows are: each defect quarantined where it is, the rest loaded.
    con = duckdb.connect(str(fast.warehouse_path), read_only=True)
    quarantined = con.execute(
        "select _file_name, _row_number, _line_number, _rules from quarantine.trace "
        "where _file_name = 'trace_requests_2012-07.csv' order by _row_number"
    ).fetchall()
    con.close()
    assert [(row, line, rules) for _, row, line, rules in quarantined] == [
        (5, 6, "date"),
        (8, 9, "field_count"),
        (11, 12, "field_count"),
        (14, 15, "duplicate_key"),
        (26, 27, "required"),
    ]
    assert [f.rows_read for f in fast_summary.files] == [f.rows_read for f in slow_summary.files]


def test_a_file_the_fast_path_cannot_pair_line_by_line_is_read_by_the_csv_module(tmp_path, caplog):
    s = make_settings(tmp_path / "data")
    s.ensure_dirs()
    s.ensure_landing()
    (s.landing_dir / "trace").mkdir(parents=True, exist_ok=True)
    lines = [
        HEADER,
        _line(trace_number="T2012-0000001"),
        "",
        _line(trace_number="T2012-0000002"),
        _line(trace_number="T2012-0000003", recovery_city='JUAREZ "NORTE'),
    ]
    (s.landing_dir / "trace" / "trace_requests_2012-07.csv").write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.DEBUG, logger="pipelines.ingest"):
        [f] = ingest.ingest(s).files
    assert not [r for r in caplog.records if "read by DuckDB" in r.getMessage()]
    assert f.rows_read == 3 and f.rows_loaded + f.rows_quarantined == 3  # the blank line is no row


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_the_fast_path_numbers_rows_past_rejected_lines(tmp_path, line_end):
    s = make_settings(tmp_path / "data")
    s.ensure_dirs()
    s.ensure_landing()
    (s.landing_dir / "trace").mkdir(parents=True, exist_ok=True)
    lines = [HEADER] + [_line(trace_number=f"T2012-{n:07d}") for n in range(1, 11)]
    for i in (2, 3, 7):  # three refused lines, two of them together
        lines[i] = lines[i] + ",X"
    path = s.landing_dir / "trace" / "trace_requests_2012-07.csv"
    path.write_bytes((line_end.join(lines) + line_end).encode())
    ingest.ingest(s)
    con = duckdb.connect(str(s.warehouse_path), read_only=True)
    loaded = con.execute("select trace_number, _row_number from raw.trace order by 2").fetchall()
    refused = con.execute(
        "select _row_number, _line_number from quarantine.trace order by 1"
    ).fetchall()
    con.close()
    assert refused == [(2, 3), (3, 4), (7, 8)]
    assert loaded == [(f"T2012-{n:07d}", n) for n in (1, 4, 5, 6, 8, 9, 10)]


def test_a_file_rejected_while_its_first_rows_are_read_is_closed_and_set_aside(
    tmp_path, monkeypatch
):
    s = make_settings(tmp_path / "data")
    s.ensure_dirs()
    s.ensure_landing()
    write_export(s.landing_dir / "trace" / "trace_requests_2012-07.csv", "trace", [trace_row()])
    closed = []
    real_close = ingest.ExportFile.close

    def close(self):
        closed.append(self.path.name)
        real_close(self)

    def refuse(*args, **kwargs):
        raise ingest.FileRejected("its dates cannot be read")

    monkeypatch.setattr(ingest.ExportFile, "close", close)
    monkeypatch.setattr(ingest, "detect_date_format", refuse)
    monkeypatch.setattr(ingest, "FAST_MAX_BYTES", 0)
    [f] = ingest.ingest(s).files
    assert f.status == "rejected" and "its dates cannot be read" in f.reason
    assert closed == ["trace_requests_2012-07.csv"]
    assert (s.rejected_dir / "trace" / "trace_requests_2012-07.csv").exists()
