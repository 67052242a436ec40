"""The bad-input corpus: every kind of bad or tricky input a landing folder can receive,
each one small file under ``tests/data/bad_inputs/`` (or made here when its bytes are
big, or it is a link, a FIFO, a socket or a name git should not hold), landed and run
through ``tracepipe ingest`` with its expected outcome:

- ``loaded``: every row loaded;
- ``quarantined``: loaded, with the given rows quarantined by rule at their physical lines;
- ``rejected``: moved to ``rejected/<kind>/`` with a reason file, nothing loaded;
- ``duplicate_content``: the same bytes as a file loaded before, nothing loaded again;
- ``refused``: not a regular file of the landing folder, or an unusable name: named with
  the reason, not followed, not read, not moved;
- ``misplaced``: a file outside a kind's folder, named with the folder it belongs in;
- ``ignored``: a hidden file (an upload in progress), never opened.

For every case: the outcome is the expected one, the command prints no traceback,
every loaded file conserves its rows (the ledger's rows read = loaded + quarantined =
its rows in raw + quarantine), and no personal value planted in the corpus (a purchaser
``ZZHIDDEN PERSON A``, born ``1901-02-03``, of ``ZZ 99 SECRET ST``, ID ``ZZID-7734-SECRET``)
nor the secret behind a link, nor the purchaser key, appears in the command's output, its
log, the quarantine's ``_reason``, ``_errors`` and ``_raw_line``, the ledger's reasons or
the rejected folder's reason files. Each case starts from a data folder with a published
release, and leaves that release exactly as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from pipelines import cli, privacy
from pipelines.config import KINDS
from pipelines.contracts import CONTRACTS
from pipelines.ingest import FileRejected, _reject, safe_file_name

CORPUS = Path(__file__).resolve().parent / "data" / "bad_inputs"
KEY = "ZZKEY-test-0001"
PLANTED = (
    "ZZHIDDEN",
    "PERSON A",
    "1901-02-03",
    "03/02/1901",
    "ZZ 99 SECRET",
    "ZZID-7734",
    "ZZSECRET-TOKEN",
    KEY,
)
ENV = (
    "TRACEPIPE_LANDING_DIR",
    "TRACEPIPE_REJECTED_DIR",
    "TRACEPIPE_WAREHOUSE",
    "TRACEPIPE_PUBLISHED_DIR",
    "TRACEPIPE_REPORTS_DIR",
    "TRACEPIPE_PII_KEY_FILE",
)


@dataclass(frozen=True)
class Case:
    id: str
    outcome: str
    kind: str = "trace"  # the landing folder ("" for the landing root)
    source: str | None = None  # file of the corpus (default: <id>.csv)
    name: str | None = None  # the name it lands under (default: the source's)
    counts: tuple[int, int, int] | None = None  # ledger: rows read, loaded, quarantined
    quarantine: tuple[tuple[str, int], ...] = ()  # (rules, physical line) of each row
    says: str = ""  # in the reason, the advice, or a quarantined row's _reason
    setup: Callable | None = None  # lands the case itself: setup(case, landing, tmp, run)
    check: Callable | None = None  # more assertions: check(query, landing)
    versions: dict = field(default_factory=dict)  # ledger rows_new/changed/unchanged


def q(*pairs):
    return tuple(pairs)


# --- cases whose landing is made here --------------------------------------------------


def _copy(case_source: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CORPUS / case_source, target)
    return target


def _secret_outside(tmp: Path) -> Path:
    """A trace file outside the landing folder, with a secret line among its rows."""
    outside = tmp / "outside"
    outside.mkdir(exist_ok=True)
    text = (CORPUS / "utf8_plain.csv").read_text()
    secret = outside / "secret.csv"
    secret.write_text(text + "ZZSECRET-TOKEN=s3cr3t\n")
    return secret


def setup_link_to_file(case, landing, tmp, run):
    os.symlink(_secret_outside(tmp), landing / "trace" / "linked.csv")
    return landing / "trace" / "linked.csv"


def setup_link_to_folder(case, landing, tmp, run):
    _secret_outside(tmp)
    os.symlink(tmp / "outside", landing / "trace" / "more")
    return landing / "trace" / "more"


def setup_kind_folder_link(case, landing, tmp, run):
    outside = tmp / "outside_seizures"
    _copy("seizures_plain.csv", outside / "seizures.csv")
    (landing / "seizures").rmdir()
    os.symlink(outside, landing / "seizures")
    return landing / "seizures"


def setup_link_inside(case, landing, tmp, run):
    real = _copy("utf8_plain.csv", landing / "trace" / "real.csv")
    run()  # the file itself loads; the link to it is still refused
    os.symlink(real, landing / "trace" / "alias.csv")
    return landing / "trace" / "alias.csv"


def setup_fifo(case, landing, tmp, run):
    os.mkfifo(landing / "trace" / "pipe.csv")
    return landing / "trace" / "pipe.csv"


def setup_socket(case, landing, tmp, run):
    folder = landing / "trace"
    sock = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(folder)  # a short relative path: AF_UNIX paths are limited to 107 bytes
    try:
        sock.bind("sock.csv")
    finally:
        os.chdir(cwd)
        sock.close()
    return folder / "sock.csv"


def setup_control_name(case, landing, tmp, run):
    return _copy("utf8_plain.csv", landing / "trace" / "bad\nname\x1b[31m.csv")


def setup_undecodable_name(case, landing, tmp, run):
    raw = os.fsencode(landing / "trace") + b"/caf\xe9.csv"
    with open(raw, "wb") as handle:
        handle.write((CORPUS / "utf8_plain.csv").read_bytes())
    return Path(os.fsdecode(raw))


def setup_long_name(case, landing, tmp, run):
    return _copy("utf8_plain.csv", landing / "trace" / ("x" * 210 + ".csv"))


def setup_two_names(case, landing, tmp, run):
    _copy("utf8_plain.csv", landing / "trace" / "trace_a.csv")
    run()
    return _copy("utf8_plain.csv", landing / "trace" / "trace_b.csv")


def setup_overlap(case, landing, tmp, run):
    _copy("utf8_plain.csv", landing / "trace" / "trace_2013-03-01.csv")
    run()
    return _copy("overlapping_rows.csv", landing / "trace" / "trace_2013-04-01.csv")


def setup_same_size_correction(case, landing, tmp, run):
    path = _copy("utf8_plain.csv", landing / "trace" / "trace.csv")
    run()
    before = path.stat()
    path.write_bytes((CORPUS / "same_size_correction.csv").read_bytes())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as cp -p or rsync -t
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    return path


def setup_nul_late(case, landing, tmp, run):
    header, row = (CORPUS / "utf8_plain.csv").read_bytes().split(b"\n")[:2]
    rows = [row.replace(b"T2013-0000001", b"T2013-%07d" % i) + b"\n" for i in range(1, 600)]
    data = bytearray(header + b"\n" + b"".join(rows))
    assert len(data) > 70_000
    data[70_000] = 0  # past the first 64 KiB
    path = landing / "trace" / "nul_late.csv"
    path.write_bytes(bytes(data))
    return path


def setup_wide_header(case, landing, tmp, run):
    columns = list(CONTRACTS["trace"].columns) + [f"extra_{i}" for i in range(2978)]
    path = landing / "trace" / "wide_header.csv"
    path.write_text(",".join(columns) + "\n" + ",".join(["x"] * len(columns)) + "\n")
    return path


def setup_field_1mb(case, landing, tmp, run):
    lines = (CORPUS / "utf8_plain.csv").read_text().splitlines(True)
    lines[2] = lines[2].replace("AR-15", "X" * (1 << 20))
    path = landing / "trace" / "field_1mb.csv"
    path.write_text("".join(lines))
    return path


def setup_in_folder(folder: str, source: str = "utf8_plain.csv"):
    def setup(case, landing, tmp, run):
        return _copy(source, landing / folder / source)

    return setup


def setup_hidden(case, landing, tmp, run):
    return _copy("utf8_plain.csv", landing / "trace" / ".upload.csv.part")


# --- extra checks ----------------------------------------------------------------------


def check_embedded_newline(query, landing):
    [(city,)] = query("select recovery_city from raw.trace where trace_number = 'T2013-0000002'")
    assert city == "Ciudad\nJuárez"
    assert query("select _row_number from raw.trace order by 1") == [(1,), (2,), (3,)]


def check_verbatim(column, value):
    def check(query, landing):
        assert (value,) in query(f"select {column} from raw.trace")
        # every table is still there
        assert query("select count(*) from meta.load_ledger")[0][0] >= 1

    return check


def check_sql_name(query, landing):
    name = "x'); DROP TABLE raw.trace; --.csv"
    assert query("select file_name from meta.load_ledger") == [(name,)]
    assert query("select distinct _file_name from raw.trace") == [(name,)]


def check_rejected_name(query, landing):
    rejected = landing.parent / "rejected" / "trace"
    assert sorted(p.name for p in rejected.iterdir()) == [
        "a'..b;--.csv",
        "a'..b;--.csv.reason.txt",
    ]


def check_nothing_loaded(query, landing):
    for kind in KINDS:
        assert query(f"select count(*) from raw.{kind}")[0][0] == 0


def check_only_real_loaded(query, landing):
    assert query("select file_name, status from meta.load_ledger") == [("real.csv", "loaded")]


def check_masked_reason(column):
    def check(query, landing):
        kind = "multiple_sales" if column == "disposition_date" else "trace"
        [(reason,)] = query(f"select _reason from quarantine.{kind}")
        assert f"{column}: is not a real date" in reason and privacy.MASK in reason

    return check


def check_1mb(query, landing):
    [(raw_line, reason)] = query("select _raw_line, _reason from quarantine.trace")
    assert len(raw_line) < 12_000 and len(reason) < 200


# --- the corpus --------------------------------------------------------------------------

CASES = [
    # encodings and byte-order marks
    Case("utf8_plain", "loaded", counts=(3, 3, 0)),
    Case("utf8_bom", "loaded", counts=(3, 3, 0)),
    Case("cp1252_crlf_dayfirst", "loaded", counts=(3, 3, 0)),
    Case("latin1_c1_byte", "loaded", counts=(1, 1, 0)),
    Case("utf16_bom", "rejected", says="looks like UTF-16"),
    Case("utf16be_no_bom", "rejected", says="looks like UTF-16"),
    Case("mixed_encodings", "rejected", says="mixes encodings"),
    Case("bom_but_not_utf8", "rejected", says="byte-order mark but is not UTF-8"),
    Case("nul_early", "rejected", says="NUL bytes (the first on line 3"),
    Case("nul_late", "rejected", says="NUL bytes (the first on line", setup=setup_nul_late),
    # delimiters
    Case("tab_delimited", "rejected", says="tab-delimited; the trace contract wants commas"),
    Case("semicolon_delimited", "rejected", says="semicolon-delimited"),
    Case(
        "listing_comma_delimited",
        "rejected",
        kind="licensees",
        source="listing_comma_delimited.txt",
        name="0124-ffl-list.txt",
        says="comma-delimited; the licensees contract wants tabs",
    ),
    # columns
    Case("missing_column", "rejected", says="missing columns (1): caliber"),
    Case("extra_column", "rejected", says="unexpected columns (1): notes"),
    Case("renamed_column", "rejected", says="unexpected columns (1): serial_no"),
    Case("duplicated_column", "rejected", says="repeated columns (1): model"),
    Case("case_changed_columns", "loaded", counts=(3, 3, 0)),
    Case("reordered_columns", "loaded", counts=(3, 3, 0)),
    Case(
        "wide_header",
        "rejected",
        says="unexpected columns (2,978): extra_0",
        setup=setup_wide_header,
    ),
    # empty, header only, blank lines, cut off
    Case("empty", "rejected", says="is empty"),
    Case("whitespace_only", "rejected", says="is empty"),
    Case("header_only", "loaded", counts=(0, 0, 0)),
    Case("blank_lines", "loaded", counts=(3, 3, 0)),
    Case("truncated", "rejected", says="truncated"),
    Case("no_header", "rejected", says="has no trace header row"),
    # quotes and line breaks
    Case(
        "unbalanced_quote",
        "quarantined",
        counts=(20, 19, 1),
        quarantine=q(("framing", 7)),
        says="line 7 cannot be framed: a quoted field is not closed",
    ),
    Case(
        "unbalanced_quote_in_address",
        "quarantined",
        counts=(5, 4, 1),
        quarantine=q(("framing", 4)),
        says="unbalanced quote",
    ),
    Case(
        "quote_folds_rows_up_to_the_next_quote",
        "quarantined",
        counts=(6, 5, 1),
        quarantine=q(("framing", 3)),
    ),
    Case("embedded_newline", "loaded", counts=(3, 3, 0), check=check_embedded_newline),
    Case(
        "quote_inside_value",
        "loaded",
        counts=(3, 3, 0),
        check=check_verbatim("model", '5" BARREL'),
    ),
    # field sizes and counts
    Case(
        "field_1mb",
        "quarantined",
        counts=(3, 2, 1),
        quarantine=q(("framing", 3)),
        says="a field is longer than 131,072 characters",
        setup=setup_field_1mb,
        check=check_1mb,
    ),
    Case("too_few_fields", "quarantined", counts=(3, 2, 1), quarantine=q(("field_count", 3))),
    Case(
        "too_many_fields_unquoted_comma",
        "quarantined",
        counts=(3, 2, 1),
        quarantine=q(("field_count", 3)),
        says="expected 22 fields, found 23",
    ),
    # shifted columns carrying personal data
    Case(
        "shifted_pii_short_row",
        "quarantined",
        counts=(3, 2, 1),
        quarantine=q(("field_count", 3)),
    ),
    Case(
        "shifted_pii_same_field_count",
        "quarantined",
        counts=(3, 2, 1),
        quarantine=q(("date", 3)),
        check=check_masked_reason("purchase_date"),
    ),
    Case(
        "shifted_pii_multiple_sales",
        "quarantined",
        kind="multiple_sales",
        counts=(3, 2, 1),
        quarantine=q(("date", 3)),
        check=check_masked_reason("disposition_date"),
    ),
    # values
    Case(
        "text_in_dates",
        "quarantined",
        counts=(3, 1, 2),
        quarantine=q(("date", 3), ("date", 4)),
        says="request_date: is not a real date written YYYY-MM-DD (found 'yesterday')",
    ),
    Case(
        "text_in_numbers",
        "quarantined",
        kind="licensees",
        source="text_in_numbers.txt",
        name="0224-ffl-list.txt",
        counts=(3, 1, 2),
        quarantine=q(("pattern", 3), ("pattern", 4)),
        says="lic_seqn: does not have the expected form (found 'ABCDE')",
    ),
    Case(
        "impossible_dates",
        "quarantined",
        counts=(3, 1, 2),
        quarantine=q(("date", 3), ("date", 4)),
        says="2013-02-30",
    ),
    Case(
        "future_dates",
        "quarantined",
        counts=(2, 1, 1),
        quarantine=q(("date_range", 3)),
        says="is outside 1900 to today",
    ),
    Case(
        "dates_out_of_order",
        "quarantined",
        counts=(3, 1, 2),
        quarantine=q(("date_order", 3), ("date_order", 4)),
        says="recovery_date falls after request_date",
    ),
    Case(
        "unknown_codes",
        "quarantined",
        counts=(3, 1, 2),
        quarantine=q(("domain", 3), ("domain", 4)),
        says="trace_result: is not a known code (found 'FOUND_IT')",
    ),
    Case(
        "duplicate_key_in_file",
        "quarantined",
        counts=(3, 2, 1),
        quarantine=q(("duplicate_key", 4)),
        says="repeats a key already present in this file (found 'T2013-0000001')",
    ),
    Case(
        "sql_like_values",
        "loaded",
        counts=(3, 3, 0),
        check=check_verbatim("recovery_city", "'); DROP TABLE raw.trace; --"),
    ),
    Case(
        "sql_like_file_name",
        "loaded",
        source="utf8_plain.csv",
        name="x'); DROP TABLE raw.trace; --.csv",
        counts=(3, 3, 0),
        check=check_sql_name,
    ),
    Case(
        "sql_like_name_rejected",
        "rejected",
        source="truncated.csv",
        name="a'..b;--.csv",
        says="truncated",
        check=check_rejected_name,
    ),
    Case(
        "formula_like_values",
        "loaded",
        counts=(3, 3, 0),
        check=check_verbatim("importer", "@SUM(A1:A9)"),
    ),
    Case(
        "html_values",
        "loaded",
        counts=(3, 3, 0),
        check=check_verbatim("recovery_city", "<script>alert(1)</script>"),
    ),
    # the landing folder as a trust boundary
    Case(
        "symlink_to_a_file_outside",
        "refused",
        says="trace/linked.csv is a symbolic link",
        setup=setup_link_to_file,
        check=check_nothing_loaded,
    ),
    Case(
        "symlink_to_a_folder",
        "refused",
        says="trace/more is a symbolic link",
        setup=setup_link_to_folder,
        check=check_nothing_loaded,
    ),
    Case(
        "kind_folder_is_a_symlink",
        "refused",
        says="landing/seizures is a symbolic link",
        setup=setup_kind_folder_link,
        check=check_nothing_loaded,
    ),
    Case(
        "symlink_to_a_landed_file",
        "refused",
        says="trace/alias.csv is a symbolic link",
        setup=setup_link_inside,
        check=check_only_real_loaded,
    ),
    Case("fifo", "refused", says="trace/pipe.csv is a named pipe (FIFO)", setup=setup_fifo),
    Case("socket", "refused", says="trace/sock.csv is a socket", setup=setup_socket),
    Case(
        "control_characters_in_name",
        "refused",
        says="trace/bad\\nname\\x1b[31m.csv has a name holding control characters",
        setup=setup_control_name,
        check=check_nothing_loaded,
    ),
    Case(
        "undecodable_name",
        "refused",
        says="trace/caf\\udce9.csv has a name holding control characters or bytes",
        setup=setup_undecodable_name,
        check=check_nothing_loaded,
    ),
    Case(
        "long_name",
        "refused",
        says="has a name longer than 200 bytes",
        setup=setup_long_name,
        check=check_nothing_loaded,
    ),
    Case("hidden_upload", "ignored", setup=setup_hidden, check=check_nothing_loaded),
    # re-sends
    Case(
        "same_file_under_two_names",
        "duplicate_content",
        says="same bytes as trace_a.csv",
        setup=setup_two_names,
    ),
    Case(
        "overlapping_rows",
        "loaded",
        counts=(3, 3, 0),
        versions={"rows_new": 1, "rows_changed": 0, "rows_unchanged": 2},
        setup=setup_overlap,
    ),
    Case(
        "same_size_correction",
        "loaded",
        counts=(3, 3, 0),
        versions={"rows_new": 0, "rows_changed": 1, "rows_unchanged": 2},
        setup=setup_same_size_correction,
    ),
    # each kind's files in the wrong folder
    Case(
        "trace_in_seizures",
        "rejected",
        kind="seizures",
        source="utf8_plain.csv",
        says="is a trace export",
    ),
    Case("seizures_in_trace", "rejected", source="seizures_plain.csv", says="is a seizures export"),
    Case(
        "multiple_sales_in_trace",
        "rejected",
        source="multiple_sales_plain.csv",
        says="is a multiple_sales export",
    ),
    Case(
        "listing_in_multiple_sales",
        "rejected",
        kind="multiple_sales",
        source="listing_plain.txt",
        says="is a licensees export",
    ),
    Case(
        "trace_in_licensees",
        "rejected",
        kind="licensees",
        source="utf8_plain.csv",
        name="0324-ffl-list.txt",
        says="is a trace export",
    ),
    Case(
        "file_in_the_landing_root",
        "misplaced",
        says="is in the landing root, so it was not loaded: move it to landing/trace/",
        setup=setup_in_folder(""),
    ),
    Case(
        "file_in_a_folder_inside_a_kind",
        "misplaced",
        says="landing/trace/2014/, a folder inside a kind's folder",
        setup=setup_in_folder("trace/2014"),
    ),
    Case(
        "file_in_an_unknown_folder",
        "misplaced",
        says="landing/traces/, which is no kind's folder, so it was not loaded: move it "
        "to landing/seizures/",
        setup=setup_in_folder("traces", "seizures_plain.csv"),
    ),
    # the other kinds, plain
    Case("seizures_plain", "loaded", kind="seizures", counts=(3, 3, 0)),
    Case("multiple_sales_plain", "loaded", kind="multiple_sales", counts=(3, 3, 0)),
    Case(
        "listing_plain",
        "loaded",
        kind="licensees",
        source="listing_plain.txt",
        name="0124-ffl-list.txt",
        counts=(2, 2, 0),
    ),
]


def test_the_corpus_has_forty_kinds_and_every_file_is_used():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)
    used = {c.source or f"{c.id}.csv" for c in CASES if c.setup is None}
    used |= {"utf8_plain.csv", "overlapping_rows.csv", "same_size_correction.csv"}
    used |= {"seizures_plain.csv"}
    on_disk = {p.name for p in CORPUS.iterdir() if p.name != "README.md" and p.name[0] != "."}
    assert on_disk <= used, on_disk - used
    assert not (used - on_disk), used - on_disk


# --- running a case --------------------------------------------------------------------


def _tree(root: Path) -> dict[str, str]:
    """Every file of a folder by its content hash, and every link by its target."""
    import hashlib

    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, built, tmp_path, monkeypatch, capsys, caplog):
    data = tmp_path / "data"
    landing = data / "landing"
    for kind in KINDS:
        (landing / kind).mkdir(parents=True)
    # the release of the session's sample (conftest.built): an ingest must leave it as it was
    shutil.copytree(built.published_dir, data / "published", symlinks=True)
    published_before = _tree(data / "published")
    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(data))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", KEY)
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.INFO)
    outputs: list[str] = []

    def run() -> None:
        code = cli.main(["ingest"])
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
        assert code == 0, outputs[-1]

    if case.setup:
        landed = case.setup(case, landing, tmp_path, run)
    else:
        source = case.source or f"{case.id}.csv"
        landed = _copy(source, landing / case.kind / (case.name or source))
    run()
    said = "\n".join(outputs) + "\n" + caplog.text
    assert "Traceback" not in said
    assert _tree(data / "published") == published_before  # the release is untouched

    con = duckdb.connect(str(data / "warehouse" / "warehouse.duckdb"), read_only=True)

    def query(sql, params=None):
        return con.execute(sql, params or []).fetchall()

    try:
        ledger = {
            row[0]: row
            for row in query(
                "select file_name, status, kind, load_id, rows_read, rows_loaded, "
                "rows_quarantined, reason, rows_new, rows_changed, rows_unchanged "
                "from meta.load_ledger order by loaded_at"
            )
        }
        _check_outcome(case, landed, landing, ledger, query, said)
        _check_conservation(query)
        _check_nothing_leaks(query, data, said)
        if case.check:
            case.check(query, landing)
    finally:
        con.close()


def _check_outcome(case, landed: Path, landing: Path, ledger, query, said: str) -> None:
    name = landed.name
    if case.outcome in ("refused", "misplaced", "ignored"):
        assert name not in ledger, ledger
        assert os.path.lexists(landed), "a refused or misplaced entry is left where it is"
        if case.outcome == "ignored":
            assert name not in said
        else:
            assert case.says in said, said
            assert f"{case.outcome if case.outcome == 'refused' else 'not loaded'}: " in said
        return
    _, status, kind, load_id, read, loaded, quarantined, reason, *versions = ledger[name]
    expected_status = "loaded" if case.outcome == "quarantined" else case.outcome
    assert status == expected_status, (status, reason)
    if case.outcome == "rejected":
        moved = landing.parent / "rejected" / kind / safe_file_name(name)
        assert moved.exists() and not landed.exists()
        reason_file = moved.with_name(moved.name + ".reason.txt").read_text()
        assert case.says in reason and case.says in reason_file, reason
        assert len(reason) < 400, f"{len(reason)} characters"
        assert query(f"select count(*) from raw.{kind}")[0][0] == 0
        return
    if case.outcome == "duplicate_content":
        assert case.says in reason
        return
    assert landed.exists(), "a loaded file stays in landing"
    if case.counts is not None:
        assert (read, loaded, quarantined) == case.counts
    if case.versions:
        got = dict(zip(("rows_new", "rows_changed", "rows_unchanged"), versions, strict=True))
        assert got == case.versions
    rows = query(
        f"select _rules, _line_number, _reason from quarantine.{kind} where _load_id = ? "
        "order by _line_number",
        [load_id],
    )
    assert tuple((r[0], r[1]) for r in rows) == case.quarantine
    assert all(len(r[2]) < 400 for r in rows)
    if case.outcome == "quarantined" and case.says:
        assert any(case.says in r[2] for r in rows), [r[2] for r in rows]


def _check_conservation(query) -> None:
    """Every loaded file: rows read = loaded + quarantined = its rows in raw and
    quarantine; loaded = new + changed + unchanged."""
    for kind, load_id, read, loaded, quarantined, new, changed, unchanged in query(
        "select kind, load_id, rows_read, rows_loaded, rows_quarantined, rows_new, "
        "rows_changed, rows_unchanged from meta.load_ledger where status = 'loaded'"
    ):
        in_raw = query(f"select count(*) from raw.{kind} where _load_id = ?", [load_id])[0][0]
        in_q = query(f"select count(*) from quarantine.{kind} where _load_id = ?", [load_id])
        assert read == loaded + quarantined == in_raw + in_q[0][0]
        assert (in_raw, in_q[0][0]) == (loaded, quarantined)
        assert loaded == new + changed + unchanged


def _check_nothing_leaks(query, data: Path, said: str) -> None:
    texts = [said]
    for kind in KINDS:
        texts += [
            " ".join(str(v) for v in row)
            for row in query(f"select _reason, _errors, _raw_line from quarantine.{kind}")
        ]
    texts += [str(r) for (r,) in query("select reason from meta.load_ledger")]
    rejected = data / "rejected"
    if rejected.exists():
        texts += [p.read_text() for p in rejected.rglob("*.reason.txt")]
    everything = "\n".join(texts).casefold()
    for value in PLANTED:
        assert value.casefold() not in everything, f"{value!r} was written"


# --- the pieces --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "..",
        ".",
        "../../etc/passwd",
        "a/../../b.csv",
        "a\x00b.csv",
        "a\nb.csv",
        "\u202egpj.csv",
        "x" * 300 + ".csv",
        "",
        "-rf.csv",
    ],
)
def test_a_file_name_never_leaves_the_rejected_folder(tmp_path, name):
    folder = tmp_path / "rejected" / "trace"
    folder.mkdir(parents=True)
    safe = safe_file_name(name)
    assert (folder / safe).resolve().parent == folder.resolve()
    assert "/" not in safe and "\x00" not in safe and safe.isprintable() and len(safe) <= 150


def test_a_rejected_file_with_a_hostile_name_lands_inside_rejected(settings):
    path = settings.landing_dir / "trace" / "a\nb\u202e.csv"
    path.write_bytes(b"")
    for _ in range(3):  # the name is taken: a stamp and a number, still inside
        path.write_bytes(b"")
        moved = Path(_reject(settings, "trace", path, FileRejected("empty")))
        assert moved.parent == settings.rejected_dir / "trace"
        assert moved.name.startswith("a_b_") and moved.exists()
    assert len(list((settings.rejected_dir / "trace").glob("*.reason.txt"))) == 3
    with pytest.raises(ValueError):
        _reject(settings, "../elsewhere", path, FileRejected("x"))


def test_row_mask_hides_a_value_shifted_into_any_column():
    header = list(CONTRACTS["trace"].columns)
    row = ["T1"] * 18 + ["ZZHIDDEN PERSON A", "1901-02-03", "ZZ 99 SECRET ST", ""]
    pii = [i for i, c in enumerate(header) if privacy.is_pii(c)]
    mask = privacy.RowMask(row, privacy.exposed_positions(pii, len(row), len(header)))
    shown = mask.values(row)
    assert shown[18:21] == [privacy.MASK] * 3 and shown[21] == ""
    # elsewhere in the row, equal or containing, any case
    assert mask.value("Mr zzhidden person a jr") == privacy.MASK
    assert mask.value("T1") == privacy.MASK  # T1 sits at an exposed position too
    assert privacy.RowMask(["A", "B"], [0]).value("BAD") == "BAD"  # too short to contain
    # a row that lost 19 fields: any of its 3 values could be the purchaser's
    short = ["x", "y", "z"]
    exposed = privacy.exposed_positions(pii, len(short), len(header))
    assert privacy.RowMask(short, exposed).values(short) == [privacy.MASK] * 3


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("COLT", "COLT"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_formula_like_values_are_written_as_text(value, written):
    assert privacy.neutralise_formula(value) == written
