"""Every defect the generator records in its ground-truth manifest ends where it should:
malformed rows in quarantine (same file, same row), unusable files set aside whole,
re-sent files loaded once, incomplete requests, altered serials and repeat requests
flagged by the models, unlisted dealers reported as such."""

from __future__ import annotations

import csv
import json

import duckdb
import pytest

from pipelines import steps
from pipelines.generate import generate

REJECTED_ROLES = {"truncated", "empty", "wrong_kind", "bad_header", "bad_encoding"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("defects") / "data")
    settings.ensure_dirs()
    generate(out=settings.landing_dir, scale=0.01, seed=7)
    manifest_dir = settings.landing_dir / "_generator"
    manifest = json.loads((manifest_dir / "manifest.json").read_text())
    with (manifest_dir / "defects.csv").open(newline="") as handle:
        defects = list(csv.DictReader(handle))
    summary = steps.ingest(settings)
    steps.transform(settings)
    return settings, manifest, defects, summary


def q(settings, sql, params=None):
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_every_malformed_row_is_quarantined_at_its_file_and_row(loaded):
    settings, _, defects, _ = loaded
    expected = {
        (d["kind"], d["file"], int(d["row"])) for d in defects if d["handling"] == "quarantine"
    }
    assert expected
    found = set()
    for kind in ("trace", "seizures", "licensees", "multiple_sales"):
        found |= {
            (kind, f, r)
            for f, r in q(settings, f"select _file_name, _row_number from quarantine.{kind}")
        }
    assert expected <= found, sorted(expected - found)[:10]


def test_unusable_files_are_rejected_whole_and_resent_files_load_once(loaded):
    settings, manifest, _, summary = loaded
    status = {(f["kind"], f["file_name"]): f for f in summary["files"]}
    for f in manifest["files"]:
        role, key = f.get("role", "normal"), (f["kind"], f["name"])
        if role in REJECTED_ROLES:
            assert status[key]["status"] == "rejected", (key, status[key])
            assert (settings.rejected_dir / f["kind"] / f["name"]).exists()
        elif role == "resent_same_bytes":
            assert status[key]["status"] == "duplicate_content", key
        elif role == "resent_new_bytes":
            got = status[key]
            assert got["rows_loaded"] == 0 and got["rows_quarantined"] == got["rows_read"] > 0, key
        else:
            assert status[key]["status"] == "loaded", (key, status[key]["reason"])


def test_rows_read_equal_loaded_plus_quarantined_for_every_file(loaded):
    _, _, _, summary = loaded
    for f in summary["files"]:
        assert f["rows_read"] == f["rows_loaded"] + f["rows_quarantined"], f["file_name"]


@pytest.mark.parametrize(
    ("handling", "column"),
    [
        ("flag_incomplete", "is_incomplete_request"),
        ("flag_altered", "has_altered_serial"),
        ("flag_duplicate", "is_duplicate_request"),
    ],
)
def test_analysis_defects_are_flagged_by_the_models(loaded, handling, column):
    settings, _, defects, _ = loaded
    ids = sorted(
        {d["record_id"] for d in defects if d["handling"] == handling and d["kind"] == "trace"}
    )
    assert ids
    rows = q(
        settings,
        f"select trace_number, {column} from intermediate.int_trace_requests_flagged "
        "where trace_number in (select unnest(?))",
        [ids],
    )
    assert len(rows) == len(ids)
    assert [t for t, flag in rows if not flag] == []


def test_dealers_missing_from_the_listing_are_reported_not_dropped(loaded):
    settings, _, defects, _ = loaded
    ids = sorted({d["record_id"] for d in defects if d["handling"] == "dealer_not_in_listing"})
    assert ids
    rows = q(
        settings,
        "select trace_number, dealer_status from intermediate.int_trace_requests_flagged "
        "where trace_number in (select unnest(?))",
        [ids],
    )
    assert len(rows) == len(ids)
    assert {status for _, status in rows} == {"dealer_not_in_listing"}
