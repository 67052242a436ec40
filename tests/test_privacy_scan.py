"""The privacy scanner: the pipeline runs, through Airflow and under a key of its own,
on a copy of the session's release of generated exports (released.py) plus adversarial
rows that carry known personal values (in their own columns, and shifted into others),
and no personal value is found in anything it writes for people or machines outside the
working warehouse: every published table and Parquet file, every report, log and reason
file, dbt's target and logs, and the command's and Airflow's output. The purchaser key
is looked for too."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest
from conftest import copy_data, with_migrated_airflow
from exports import trace_row, write_export
from released import generated_release

from pipelines import cli
from pipelines.contracts import CONTRACTS

pytestmark = pytest.mark.slow

PLANTED = {
    "purchaser_name": "ZZHIDDEN PERSON A",
    "purchaser_dob": "1901-02-03",
    "purchaser_address": "ZZ 99 SECRET ST, NOWHERE TX",
}
SHIFTED_NAME = "ZZHIDDEN PERSON B"
SHIFTED_ADDRESS = "ZZ 77 HIDDEN AVE, NOWHERE TX"
KEY = "KEY-3e8d1c0b7a-privacy-scan-do-not-leak"
MIN_LENGTH = 6  # shorter generated values (initials, short words) match by accident


def adversarial_rows() -> list[str]:
    """CSV lines (no header): a clean row with planted values, a row whose purchaser
    name shifted into the purchase date, and a row that lost a field."""
    clean = trace_row(trace_number="T2013-PRIV1", serial_number="PRIV00001", **PLANTED)
    shifted = trace_row(
        trace_number="T2013-PRIV2",
        serial_number="PRIV00002",
        purchase_date=SHIFTED_NAME,
        purchaser_name=SHIFTED_ADDRESS,
    )
    short = trace_row(
        trace_number="T2013-PRIV3",
        serial_number="PRIV00003",
        purchaser_name=SHIFTED_NAME,
        purchaser_address=SHIFTED_ADDRESS,
    )
    return [clean, shifted, short]


def personal_values(settings) -> set[str]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        values: set[str] = set()
        for table, columns in (
            ("trace", ("purchaser_name", "purchaser_address", "purchaser_dob")),
            ("multiple_sales", ("purchaser_name", "purchaser_id_number", "purchaser_dob")),
        ):
            for column in columns:
                values |= {
                    v.strip()
                    for (v,) in con.execute(
                        f'select distinct "{column}" from raw.{table} where "{column}" is not null'
                    ).fetchall()
                    if v and len(v.strip()) >= MIN_LENGTH
                }
    finally:
        con.close()
    # dates of birth that are also ordinary dates (purchase, recovery) are not evidence
    return values | set(PLANTED.values()) | {SHIFTED_NAME, SHIFTED_ADDRESS}


def published_text(settings) -> str:
    """Every text value of every published table and Parquet file."""
    out = io.StringIO()
    current = Path(settings.current_link)
    con = duckdb.connect(str(current / "marts.duckdb"), read_only=True)
    try:
        for (table,) in con.execute("select table_name from duckdb_tables()").fetchall():
            out.write(str(con.execute(f'select * from "{table}"').fetchall()))
        for parquet in sorted((current / "parquet").glob("*.parquet")):
            out.write(str(con.execute(f"select * from read_parquet('{parquet}')").fetchall()))
    finally:
        con.close()
    return out.getvalue()


def quarantine_reasons(settings) -> str:
    """What the quarantine says about its rows (the reasons, errors and raw lines operators
    read): masked like every message."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return "".join(
            str(
                con.execute(
                    f"select _reason, _errors::varchar, _raw_line from quarantine.{kind}"
                ).fetchall()
            )
            for kind in ("trace", "seizures", "licensees", "multiple_sales")
        )
    finally:
        con.close()


def written_files(settings) -> dict[str, str]:
    """Reports, logs, reason files, dbt's target and logs, Airflow's logs: as text."""
    roots = [
        settings.reports_dir,
        settings.rejected_dir,
        settings.dbt_target_dir.parent,
        settings.airflow_home,
        settings.published_dir,
    ]
    files: dict[str, str] = {}
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            if path.suffix in (".duckdb", ".parquet", ".db", ".wal"):
                continue  # databases are read as tables (published) or hold metadata only
            if path.parent.name in ("trace", "seizures", "licensees", "multiple_sales") and (
                path.is_relative_to(settings.rejected_dir) and not path.name.endswith(".reason.txt")
            ):
                continue  # a rejected export itself, set aside as it came
            files[str(path.relative_to(settings.data_dir))] = path.read_bytes().decode(
                "utf-8", "replace"
            )
    return files


def test_no_personal_value_or_key_reaches_anything_the_pipeline_writes(
    tmp_path_factory, tmp_path, migrated_airflow, monkeypatch, capsys
):
    # a copy of the session's release of generated exports of all four kinds (released.py)
    shared, _outcome = generated_release(tmp_path_factory)
    s = copy_data(shared.data_dir, tmp_path / "data")
    with_migrated_airflow(s, migrated_airflow)
    rows = adversarial_rows()
    path = write_export(s.landing_dir / "trace" / "trace_privacy.csv", "trace", rows[:2])
    # the third row loses its purchase date: every later value shifts one column left
    columns = list(CONTRACTS["trace"].columns)
    values = [rows[2][c] for c in columns if c != "purchase_date"]
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerow(values)

    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", KEY)
    monkeypatch.setenv("AIRFLOW_HOME", str(s.airflow_home))
    assert cli.main(["ingest"]) == 0  # its output shows examples of quarantined rows
    ingest_output = "".join(capsys.readouterr())
    assert cli.main(["airflow"]) == 0
    airflow_output = "".join(capsys.readouterr())
    assert "published release " in airflow_output  # `tracepipe airflow` says what it did
    assert cli.main(["status"]) == 0
    command_output = ingest_output + airflow_output + "".join(capsys.readouterr())

    values = personal_values(s)
    assert set(PLANTED.values()) <= values
    haystacks = {
        "command output": command_output,
        "published tables": published_text(s),
        "quarantine reasons": quarantine_reasons(s),
    }
    haystacks.update(written_files(s))
    assert any(name.startswith("airflow") for name in haystacks), "no Airflow log was scanned"
    assert any(name.endswith("validation.json") for name in haystacks)
    hits = sorted(
        (name, value)
        for name, text in haystacks.items()
        for value in values | {KEY}
        if value in text
    )
    assert hits == [], hits[:20]
