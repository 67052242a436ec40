"""Every defect the generator records in its ground-truth manifest ends where it should:
malformed rows in quarantine (same file, same row), unusable files set aside whole,
re-sent files loaded once, incomplete requests, altered serials and repeat requests
flagged by the models, unlisted dealers reported as such; and every record update as
the manifest says: a later row for a known key loaded as a new version (handling
``version_new``, ``version_changed``), a row identical to the current version loaded but
counted unchanged (``unchanged``), never quarantined, with each file's counts as the
manifest's ``expected_ingest``."""

from __future__ import annotations

import csv
import json

import duckdb
import pytest
from released import generated_release

pytestmark = pytest.mark.slow  # the session's generated release (released.py)

REJECTED_ROLES = {"truncated", "empty", "wrong_kind", "bad_header", "bad_encoding"}
VERSION_HANDLING = {"version_new", "version_changed"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The session's generated release (released.py): its landing, with the generator's
    ground truth, and the outcome of its ingest."""
    settings, outcome = generated_release(tmp_path_factory)
    manifest_dir = settings.landing_dir / "_generator"
    manifest = json.loads((manifest_dir / "manifest.json").read_text())
    with (manifest_dir / "defects.csv").open(newline="") as handle:
        defects = list(csv.DictReader(handle))
    return settings, manifest, defects, outcome["ingest"]


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
            # the same rows under a new name: every row that passes the contract is
            # identical to the current version of its key, loaded but counted unchanged
            got = status[key]
            assert f["handling"] == "unchanged"
            assert got["status"] == "loaded", (key, got["reason"])
            assert (
                got["rows_unchanged"]
                == got["rows_loaded"]
                == got["rows_read"] - got["rows_quarantined"]
                > 0
            ), key
            assert got["rows_new"] == got["rows_changed"] == 0, key
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


def test_every_file_counts_new_changed_and_unchanged_rows_as_the_manifest_expects(loaded):
    _, manifest, _, summary = loaded
    status = {(f["kind"], f["file_name"]): f for f in summary["files"]}
    expected = [f for f in manifest["files"] if "expected_ingest" in f]
    assert expected
    for f in expected:
        got = status[(f["kind"], f["name"])]
        assert {k: got[k] for k in f["expected_ingest"]} == f["expected_ingest"], f["name"]
    assert summary["rows_changed"] > 0 and summary["rows_unchanged"] > 0


def test_update_rows_are_loaded_as_versions_or_counted_unchanged_never_quarantined(loaded):
    settings, _, defects, _ = loaded
    updates = [d for d in defects if d["handling"] in VERSION_HANDLING | {"unchanged"}]
    assert {d["handling"] for d in updates} == VERSION_HANDLING | {"unchanged"}
    for kind in sorted({d["kind"] for d in updates}):
        quarantined = set(q(settings, f"select _file_name, _row_number from quarantine.{kind}"))
        change = dict(
            ((f, r), c)
            for f, r, c in q(settings, f"select _file_name, _row_number, _change from raw.{kind}")
        )
        for d in (d for d in updates if d["kind"] == kind):
            where = (d["file"], int(d["row"]))
            assert where not in quarantined, d
            # loaded (in raw, with its file and row) as a version, or counted unchanged
            assert change.get(where) == (
                "changed" if d["handling"] in VERSION_HANDLING else "unchanged"
            ), d


def test_models_use_the_current_version_of_updated_trace_requests(loaded):
    settings, _, defects, _ = loaded
    updated = sorted(
        {
            d["record_id"]
            for d in defects
            if d["kind"] == "trace" and d["handling"] in VERSION_HANDLING | {"unchanged"}
        }
    )
    completed = {d["record_id"] for d in defects if d["defect"] == "pending_completed"}
    assert updated and completed
    rows = q(
        settings,
        "select trace_number, trace_result from intermediate.int_trace_requests_flagged "
        "where trace_number in (select unnest(?))",
        [updated],
    )
    assert sorted(t for t, _ in rows) == updated, "one row per updated trace request"
    assert [t for t, result in rows if t in completed and result == "PENDING"] == []
