"""Ingest: every row read is loaded or quarantined; files are loaded once; bad files are
set aside whole with a reason."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from exports import trace_row, write_export

from pipelines.ingest import ingest

USES_DBT_STATE = False  # runs no dbt build: need not wait for conftest.built

# The real ATF sample of ../shared/data/ffl, copied unchanged into the repository.
FFL_SAMPLE = Path(__file__).resolve().parent / "data" / "0124-ffl-list-sample.txt"


def query(settings, sql, params=None):
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def rows(n: int, prefix: str = "T2013-", **overrides) -> list[dict[str, str]]:
    return [
        trace_row(trace_number=f"{prefix}{i:07d}", serial_number=f"S{i:07d}", **overrides)
        for i in range(n)
    ]


def test_good_rows_load_and_bad_rows_are_quarantined_with_row_column_and_reason(settings):
    data = rows(5)
    data.append(trace_row(trace_number="T-BADDATE", recovery_date="2013-02-30"))
    data.append(
        trace_row(trace_number="T-ORDER", purchase_date="2013-01-01", recovery_date="2012-02-15")
    )
    data.append(trace_row(trace_number="T-CODE", trace_result="FOUND_IT"))
    data.append(trace_row(trace_number="T-TYPE", firearm_type="LASER"))
    data.append(trace_row(trace_number="", recovery_country="MEX"))
    write_export(settings.landing_dir / "trace" / "t.csv", "trace", data)

    summary = ingest(settings)

    [f] = summary.files
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (10, 5, 5)
    found = {
        r[0]: (r[1], r[2], json.loads(r[3]))
        for r in query(
            settings, "select _row_number, _rules, _reason, _errors from quarantine.trace"
        )
    }
    assert set(found) == {6, 7, 8, 9, 10}
    assert found[6][0] == "date" and "recovery_date" in found[6][1] and "2013-02-30" in found[6][1]
    assert found[7][0] == "date_order" and "purchase_date falls after recovery_date" in found[7][1]
    assert found[8][0] == "domain" and "trace_result" in found[8][1]
    assert found[9][0] == "domain" and "firearm_type" in found[9][1]
    assert {e["column"] for e in found[10][2]} == {"trace_number", "recovery_country"}


def test_rows_read_equal_rows_loaded_plus_quarantined_for_every_file(settings):
    write_export(
        settings.landing_dir / "trace" / "a.csv",
        "trace",
        rows(7, "A") + [trace_row(trace_number="A-BAD", request_date="yesterday")],
    )
    write_export(settings.landing_dir / "trace" / "b.csv", "trace", rows(3, "B"))
    path = settings.landing_dir / "trace" / "c.csv"
    write_export(path, "trace", rows(4, "C"))
    path.write_text(path.read_text() + "C-SHORT,2013-01-01,FGR\n")  # wrong field count

    ingest(settings)

    ledger = query(
        settings,
        "select file_name, rows_read, rows_loaded, rows_quarantined from meta.load_ledger order by 1",
    )
    assert ledger == [("a.csv", 8, 7, 1), ("b.csv", 3, 3, 0), ("c.csv", 5, 4, 1)]
    for name, read, loaded, quarantined in ledger:
        in_raw = query(settings, "select count(*) from raw.trace where _file_name = ?", [name])[0][
            0
        ]
        in_q = query(
            settings, "select count(*) from quarantine.trace where _file_name = ?", [name]
        )[0][0]
        assert (in_raw, in_q) == (loaded, quarantined)
        assert read == in_raw + in_q
    [(line, rule)] = query(
        settings, "select _raw_line, _rules from quarantine.trace where _file_name = 'c.csv'"
    )
    # Three fields of 22: any of them could be the purchaser's (19 fields lost before
    # them), so the raw line keeps the fields' places and masks every value.
    assert rule == "field_count" and line == "<masked>,<masked>,<masked>"


def test_a_file_is_loaded_once_and_resent_files_change_nothing(settings):
    path = write_export(settings.landing_dir / "trace" / "t.csv", "trace", rows(4))
    ingest(settings)
    before = query(settings, "select count(*) from raw.trace")[0][0]

    again = ingest(settings)  # the same file, unchanged
    shutil.copy(path, settings.landing_dir / "trace" / "t_resent.csv")  # same bytes, new name
    same_bytes = ingest(settings)
    write_export(settings.landing_dir / "trace" / "t_crlf.csv", "trace", rows(4), line_end="\r\n")
    same_rows = ingest(settings)  # same rows, new bytes

    assert [f.status for f in again.files] == ["already_loaded"]
    assert {f.file_name: f.status for f in same_bytes.files}["t_resent.csv"] == "duplicate_content"
    # The same records re-sent under new bytes are counted unchanged, not quarantined.
    crlf = {f.file_name: f for f in same_rows.files}["t_crlf.csv"]
    assert (crlf.rows_read, crlf.rows_new, crlf.rows_changed, crlf.rows_unchanged) == (4, 0, 0, 4)
    assert crlf.rows_quarantined == 0 and crlf.rows_loaded == 4
    assert before == 4
    assert query(settings, "select _change, count(*) from raw.trace group by 1 order by 1") == [
        ("new", 4),
        ("unchanged", 4),
    ]
    assert query(settings, "select count(*) from quarantine.trace")[0][0] == 0


def test_each_file_of_one_run_sees_the_files_committed_before_it(settings, monkeypatch):
    """A file is read while the one before it commits (``Committer``): its versions, and
    whether its bytes were loaded, still come from every file before it in the run. Each
    commit is made slow, so the next file is surely read while it runs."""
    from pipelines import ingest as ingest_mod

    commit = ingest_mod._commit

    def slow_commit(con):
        time.sleep(0.5)
        commit(con)

    monkeypatch.setattr(ingest_mod, "_commit", slow_commit)
    trace = settings.landing_dir / "trace"
    a = write_export(trace / "a.csv", "trace", rows(4))
    shutil.copy(a, trace / "b.csv")  # the same bytes as the file just before it
    c = rows(3, prefix="T2013-")
    c[0]["caliber"] = "45"  # a new version of a's first record; two records a holds
    write_export(trace / "c.csv", "trace", c + rows(2, prefix="T2014-"))
    write_export(trace / "d.csv", "trace", c, line_end="\r\n")  # c's records again

    files = {f.file_name: f for f in ingest(settings).files}

    assert files["a.csv"].rows_new == 4
    assert files["b.csv"].status == "duplicate_content"
    got = {n: (f.rows_new, f.rows_changed, f.rows_unchanged) for n, f in files.items()}
    assert got["c.csv"] == (2, 1, 2) and got["d.csv"] == (0, 0, 3)
    assert query(settings, "select count(*) from raw.trace")[0][0] == 4 + 5 + 3


def test_a_failed_commit_stops_the_run_and_keeps_the_files_committed_before(settings, monkeypatch):
    """The commit runs in a thread; its failure (a full disk, say) is raised by the run,
    nothing of that file is kept, no later file is loaded, and the next run loads both."""
    from pipelines import ingest as ingest_mod

    for name, prefix in (("a.csv", "T2013-"), ("b.csv", "T2014-"), ("c.csv", "T2015-")):
        write_export(settings.landing_dir / "trace" / name, "trace", rows(3, prefix=prefix))
    commit, commits = ingest_mod._commit, []

    def commit_unless_second(con):
        commits.append(con)
        if len(commits) == 2:
            con.execute("rollback")
            raise duckdb.IOException("No space left on device")
        commit(con)

    monkeypatch.setattr(ingest_mod, "_commit", commit_unless_second)
    with pytest.raises(duckdb.IOException, match="No space left"):
        ingest(settings)
    ledger = "select file_name, status from meta.load_ledger order by 1"
    assert query(settings, ledger) == [("a.csv", "loaded")]
    assert query(settings, "select count(*) from raw.trace")[0][0] == 3

    monkeypatch.setattr(ingest_mod, "_commit", commit)
    statuses = {f.file_name: f.status for f in ingest(settings).files}
    assert statuses == {"a.csv": "already_loaded", "b.csv": "loaded", "c.csv": "loaded"}
    assert query(settings, "select count(*) from raw.trace")[0][0] == 9


def test_a_file_hashed_before_and_not_written_since_is_not_read_again(settings, monkeypatch):
    """The ledger is a stat cache (ingest.known_sha256): a landed file whose size, times
    and inode are those it had when it was hashed is known by that hash without being
    read; a file written since, even to the same size with its modification time put
    back (as cp -p or rsync -t do), has a new change time and is read; and a file written
    less than STAT_CACHE_MARGIN_NS before it was hashed is read again next time."""
    import os
    import time

    from pipelines import ingest as ingest_mod

    scanned: list[str] = []
    real_scan = ingest_mod.scan_file

    def scan_file(path):
        scanned.append(path.name)
        return real_scan(path)

    monkeypatch.setattr(ingest_mod, "scan_file", scan_file)
    path = write_export(settings.landing_dir / "trace" / "t.csv", "trace", rows(3))

    # Just written: hashed, and hashed again next time, even by a process in a time zone
    # a day behind (a container's, say): when it was hashed is kept in UTC.
    monkeypatch.setenv("TZ", "Etc/GMT-12")
    time.tzset()
    ingest(settings)
    monkeypatch.setenv("TZ", "Etc/GMT+12")
    time.tzset()
    assert [f.status for f in ingest(settings).files] == ["already_loaded"]
    assert scanned == ["t.csv", "t.csv"]
    monkeypatch.delenv("TZ")
    time.tzset()

    # as if hashed long after it was written: known by its stat, not read
    monkeypatch.setattr(ingest_mod, "STAT_CACHE_MARGIN_NS", 0)
    scanned.clear()
    assert [f.status for f in ingest(settings).files] == ["already_loaded"]
    assert scanned == []

    before = path.stat()
    text = path.read_text().replace("S0000001", "S0000009")  # the same size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    (result,) = ingest(settings).files
    assert scanned == ["t.csv"] and result.status == "loaded"
    assert (result.rows_changed, result.rows_unchanged) == (1, 2)


def test_encodings_and_day_first_dates_are_read_per_file(settings):
    latin = [
        trace_row(
            trace_number="L1",
            recovery_city="Ciudad Juárez",
            recovery_state="Michoacán",
            request_date="10/03/2012",
            recovery_date="15/02/2012",
            purchase_date="01/06/2010",
            purchaser_dob="02/01/1980",
        )
    ]
    write_export(
        settings.landing_dir / "trace" / "latin.csv",
        "trace",
        latin,
        encoding="cp1252",
        line_end="\r\n",
    )
    bom = [trace_row(trace_number="U1", recovery_city="Culiacán")]
    path = settings.landing_dir / "trace" / "bom.csv"
    write_export(path, "trace", bom)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    summary = ingest(settings)

    by_name = {f.file_name: f for f in summary.files}
    assert by_name["latin.csv"].encoding == "cp1252"
    assert by_name["latin.csv"].date_format == "%d/%m/%Y"
    assert by_name["bom.csv"].encoding == "utf-8-sig"
    assert all(f.rows_quarantined == 0 for f in summary.files)
    cities = dict(query(settings, "select trace_number, recovery_city from raw.trace"))
    assert cities == {"L1": "Ciudad Juárez", "U1": "Culiacán"}


def test_a_row_in_the_other_date_style_is_quarantined_not_guessed(settings):
    data = rows(5) + [trace_row(trace_number="T-DMY", request_date="10/03/2012")]
    write_export(settings.landing_dir / "trace" / "t.csv", "trace", data)
    ingest(settings)
    assert query(settings, "select _row_number, _rules from quarantine.trace") == [(6, "date")]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", b"", "is empty"),
        (
            "utf16.csv",
            "trace_number,request_date\n".encode("utf-16"),
            "not text in UTF-8 or Latin-1",
        ),
        ("cut.csv", None, "truncated"),
        (
            "header.csv",
            b"trace_no,request_date\nT1,2012-01-01\n",
            "does not match the trace contract",
        ),
        ("noheader.csv", b"T1,2012-01-01,FGR\n", "has no trace header row"),
        (
            "seizure.csv",
            b"seizure_id,seizure_date,seizing_agency,location,us_state,destination_country,firearm_type,manufacturer,model,caliber,serial_number,case_number\n",
            "is a seizures export",
        ),
    ],
)
def test_unreadable_files_are_set_aside_whole_with_a_reason(settings, name, content, reason):
    path = settings.landing_dir / "trace" / name
    if content is None:
        write_export(path, "trace", rows(3))
        data = path.read_bytes()
        content = data[: len(data) - 20]
    path.write_bytes(content)

    summary = ingest(settings)

    [f] = summary.files
    assert f.status == "rejected" and reason in f.reason
    assert not path.exists()
    moved = settings.rejected_dir / "trace" / name
    assert moved.exists()
    assert reason in (moved.parent / (name + ".reason.txt")).read_text()
    assert query(settings, "select count(*) from raw.trace")[0][0] == 0
    assert query(settings, "select status from meta.load_ledger") == [("rejected",)]


def test_personal_data_is_masked_in_quarantine_reasons(settings):
    data = [
        trace_row(trace_number="P1", purchaser_dob="1890-13-45", purchaser_name="SECRETO, JUAN")
    ]
    write_export(settings.landing_dir / "trace" / "t.csv", "trace", data)
    summary = ingest(settings)
    [(reason, errors)] = query(settings, "select _reason, _errors from quarantine.trace")
    assert "purchaser_dob" in reason
    assert "1890-13-45" not in reason and "1890-13-45" not in errors
    assert "SECRETO" not in reason and "SECRETO" not in errors
    assert "1890-13-45" not in " ".join(summary.files[0].quarantine_examples)


def test_the_real_atf_listing_sample_loads_without_a_quarantined_row(settings):
    shutil.copy(FFL_SAMPLE, settings.landing_dir / "licensees" / "0124-ffl-list-complete.txt")
    [f] = ingest(settings).files
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("loaded", 1311, 1311, 0)
    assert query(settings, "select distinct _snapshot_month::varchar from raw.licensees") == [
        ("2024-01-01",)
    ]
    assert query(
        settings, "select lic_cnty, lic_seqn, premise_zip_code from raw.licensees limit 1"
    ) == [("003", "00258", "00602")]


def test_old_title_case_listing_header_is_accepted(settings):
    header = [
        "Lic Regn",
        "Lic Dist",
        "Lic Cnty",
        "Lic Type",
        "Lic Xprdte",
        "Lic Seqn",
        "License Name",
        "Business Name",
        "Premise Street",
        "Premise City",
        "Premise State",
        "Premise Zip Code",
        "Mail Street",
        "Mail City",
        "Mail State",
        "Mail Zip Code",
        "Voice Phone",
    ]
    row = {
        "lic_regn": "5",
        "lic_dist": "74",
        "lic_cnty": "029",
        "lic_type": "01",
        "lic_xprdte": "4F",
        "lic_seqn": "12345",
        "license_name": "DOE, JANE",
        "premise_state": "TX",
        "premise_zip_code": "79901",
    }
    write_export(
        settings.landing_dir / "licensees" / "0912-ffl-list.txt",
        "licensees",
        [row],
        header=header,
        line_end="\r\n",
    )
    [f] = ingest(settings).files
    assert (f.status, f.rows_loaded) == ("loaded", 1)


def test_a_listing_whose_month_cannot_be_read_from_its_name_is_rejected(settings):
    row = {
        "lic_regn": "5",
        "lic_dist": "74",
        "lic_cnty": "029",
        "lic_type": "01",
        "lic_xprdte": "4F",
        "lic_seqn": "12345",
        "license_name": "DOE, JANE",
        "premise_state": "TX",
    }
    write_export(settings.landing_dir / "licensees" / "latest-list.txt", "licensees", [row])
    [f] = ingest(settings).files
    assert f.status == "rejected" and "month of the snapshot" in f.reason


def test_a_file_read_in_several_chunks_keeps_every_row_and_catches_repeats_across_chunks(
    settings, monkeypatch
):
    import pipelines.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 3)
    data = rows(7) + [trace_row(trace_number="T2013-0000001", serial_number="AGAIN")]
    data.insert(4, trace_row(trace_number="T-BAD", recovery_date="2013-13-01"))
    write_export(settings.landing_dir / "trace" / "t.csv", "trace", data)

    [f] = ingest(settings).files

    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (9, 7, 2)
    got = query(settings, "select _row_number, _rules, _reason from quarantine.trace order by 1")
    assert [(r[0], r[1]) for r in got] == [(5, "date"), (9, "duplicate_key")]
    assert "repeats the key of row 2 of this file" in got[1][2]
    numbers = [r[0] for r in query(settings, "select _row_number from raw.trace order by 1")]
    assert numbers == [1, 2, 3, 4, 6, 7, 8]


def test_misplaced_files_and_a_missing_landing_folder_are_reported(tmp_path):
    from conftest import make_settings

    from pipelines.ingest import LandingError, check_landing

    s = make_settings(tmp_path / "data")
    with pytest.raises(LandingError, match=str(s.landing_dir)):
        ingest(s)
    s.ensure_landing()
    write_export(s.landing_dir / "stray.csv", "trace", [trace_row()])
    write_export(s.landing_dir / "traces" / "t.csv", "trace", [trace_row()])
    (s.landing_dir / "notes.txt").write_text("hello\n")
    summary = ingest(s)
    advice = {m.path: m.advice for m in summary.misplaced}
    assert set(advice) == {"stray.csv", "traces/t.csv", "notes.txt"}
    assert "move it to landing/trace/" in advice["stray.csv"]
    assert "traces/, which is no kind's folder" in advice["traces/t.csv"]
    assert "move it to the folder of its kind" in advice["notes.txt"]
    assert summary.files == [] and check_landing(s)


def test_a_warehouse_of_an_earlier_version_gets_its_version_columns(settings):
    """Raw tables made before record versions are brought up to date: load order from
    the ledger, record hashes from the values; a re-send then counts unchanged."""
    from pipelines.warehouse import connect

    path = write_export(settings.landing_dir / "trace" / "t.csv", "trace", rows(3))
    ingest(settings)
    with connect(settings) as con:  # back to the earlier layout
        expected = con.execute("select _record_hash from raw.trace order by 1").fetchall()
        for column in ("_export_date", "_load_seq", "_record_hash", "_change"):
            con.execute(f"alter table raw.trace drop column {column}")
        for column in ("load_seq", "export_date", "rows_new", "rows_changed", "rows_unchanged"):
            con.execute(f"alter table meta.load_ledger drop column {column}")
    path.rename(path.with_name("moved.csv"))
    write_export(settings.landing_dir / "trace" / "t_again.csv", "trace", rows(3), line_end="\r\n")
    summary = ingest(settings)
    again = {f.file_name: f for f in summary.files}["t_again.csv"]
    assert (again.rows_new, again.rows_changed, again.rows_unchanged) == (0, 0, 3)
    got = query(
        settings, "select _record_hash from raw.trace where _file_name = 't.csv' order by 1"
    )
    assert got == expected
    assert query(
        settings, "select distinct _load_seq from raw.trace where _file_name = 't.csv'"
    ) == [(1,)]


def test_a_trace_rows_stored_key_is_its_trimmed_trace_number_in_raw_and_retracted(settings):
    """The dbt models find the raw rows of the keys a load or a retraction touched by
    ``_key`` (dbt_project/macros/versions.sql), taking it for the trimmed trace number:
    so it is, for rows loaded now, and for retracted rows of an earlier version."""
    from pipelines.ingest import ensure_tables
    from pipelines.retract import retract
    from pipelines.warehouse import connect

    data = rows(3)
    data[0]["trace_number"] = "  T2013-PADDED "
    write_export(settings.landing_dir / "trace" / "a.csv", "trace", data)
    write_export(settings.landing_dir / "trace" / "b.csv", "trace", rows(2, "T2014-"))
    ingest(settings)
    retract(settings, "b.csv", "wrong year")
    with connect(settings) as con:
        con.execute("update retracted.trace set _key = null")  # as rows retracted before it
        ensure_tables(con)
    for table in ("raw.trace", "retracted.trace"):
        keys = query(settings, f"select _key, trim(trace_number) from {table}")
        assert keys and all(key == trimmed for key, trimmed in keys), table
    assert ("T2013-PADDED",) in query(settings, "select _key from raw.trace")


def test_retract_from_the_command_line_says_what_it_did_or_what_to_do(
    settings, capsys, monkeypatch
):
    from pipelines import cli

    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", "test-key")
    write_export(settings.landing_dir / "trace" / "a.csv", "trace", rows(3))
    write_export(settings.landing_dir / "trace" / "b.csv", "trace", rows(2, "T2014-"))
    ingest(settings)

    assert cli.main(["retract", "nosuch.csv", "--reason", "x"]) == cli.EXIT_FAILED
    assert "no loaded file or load id is named 'nosuch.csv'" in capsys.readouterr().err
    assert cli.main(["retract", "b.csv", "--reason", " "]) == cli.EXIT_FAILED
    assert "say why the file is taken back" in capsys.readouterr().err
    assert cli.main(["retract", "b.csv", "--reason", "wrong year"]) == 0
    out = capsys.readouterr().out
    assert "retracted trace/b.csv" in out and "2 rows taken back" in out and "2 gone" in out
    assert cli.main(["retract", "b.csv", "--reason", "again"]) == cli.EXIT_FAILED
    assert "retracted already" in capsys.readouterr().err
    assert query(settings, "select count(*) from raw.trace")[0][0] == 3
    assert query(settings, "select count(*) from retracted.trace")[0][0] == 2


# --- files are closed whatever happens -------------------------------------------------


@pytest.fixture
def opened(monkeypatch) -> list:
    """Every file the ingest opens, as it opens it (``ingest.open_landed``)."""
    from pipelines import ingest as ingest_mod

    handles = []
    real = ingest_mod.open_landed

    def tracked(path):
        handle = real(path)
        handles.append(handle)
        return handle

    monkeypatch.setattr(ingest_mod, "open_landed", tracked)
    return handles


@pytest.mark.parametrize("path", ["fast", "csv"])
def test_a_file_rejected_on_its_first_rows_is_closed_and_leaves_nothing_in_the_connection(
    settings, opened, monkeypatch, path
):
    """The first rows are read (DuckDB's reader, or the csv module's) to learn the date
    style; a rejection there closes the file before it is moved aside, and drops what the
    fast path holds of it (its lines, as a table of the connection)."""
    from pipelines import ingest as ingest_mod
    from pipelines.contracts import CONTRACTS

    def refuse(*args, **kwargs):
        raise ingest_mod.FileRejected("its dates cannot be read")

    monkeypatch.setattr(ingest_mod, "detect_date_format", refuse)
    if path == "csv":
        monkeypatch.setattr(ingest_mod, "FAST_MAX_BYTES", 0)
    landed = settings.landing_dir / "trace" / "t.csv"
    write_export(landed, "trace", rows(3))
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        ingest_mod.ensure_tables(con)
        f = ingest_mod.load_file(con, settings, CONTRACTS["trace"], landed)
        left = con.execute("select table_name from duckdb_tables() where temporary").fetchall()
    finally:
        con.close()
    assert f.status == "rejected" and "its dates cannot be read" in f.reason
    assert opened and all(handle.closed for handle in opened)
    assert left == []
    assert not landed.exists() and (settings.rejected_dir / "trace" / "t.csv").exists()


def test_an_error_while_the_header_is_read_closes_the_file(settings, opened, monkeypatch):
    """Not a rejection (a bug, an interrupt): the error goes on, and the file is closed."""
    from pipelines import ingest as ingest_mod

    def fail(*args, **kwargs):
        raise RuntimeError("a bug while matching the header")

    monkeypatch.setattr(ingest_mod, "match_header", fail)
    write_export(settings.landing_dir / "trace" / "t.csv", "trace", rows(3))
    with pytest.raises(RuntimeError, match="a bug while matching the header"):
        ingest(settings)
    assert opened and all(handle.closed for handle in opened)
