"""The release manifest (pipelines/manifest.py): one type that reads every manifest the
project has written, and writes the same JSON shape analysts read."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines import manifest as manifest_mod
from pipelines.manifest import DataOrigin, KindRows, Manifest, ManifestError

USES_DBT_STATE = False  # runs no dbt build: need not wait for conftest.built

# As the first version wrote it (commit 513fac8): no sequence, fingerprint, key id,
# validation summary, rows by stage, previous release, data or versions.
FIRST_VERSION = {
    "run_id": "20261128T101500000",
    "validation_report": "/data/reports/20261128T101500000/validation.json",
    "inputs": [
        {
            "kind": "trace",
            "file_name": "trace_2013.csv",
            "sha256": "ab" * 32,
            "status": "loaded",
            "rows_read": 10,
            "rows_loaded": 8,
            "rows_quarantined": 2,
        }
    ],
    "rows_by_kind": {"trace": {"read": 10, "loaded": 8, "quarantined": 2}},
    "validation": "publish",
    "release_id": "20261128T101500000",
    "published_at": "2026-11-28T10:16:02",
    "code_version": "513fac8",
    "marts": {"origin_by_year": 3},
}

# As the publish writes it now, key for key and in this order.
CURRENT = {
    "run_id": "r1",
    "inputs_fingerprint": "f" * 64,
    "purchaser_key_id": "none",
    "validation_report": "/data/reports/r1/validation.json",
    "validation_summary": {
        "decision": "publish",
        "n_checks": 40,
        "n_blocking": 0,
        "n_warnings": 1,
        "warnings": ["volume: origin_by_year grew 30 %"],
        "data_docs": "",
    },
    "inputs": [
        {
            "kind": "trace",
            "file_name": "trace_2013.csv",
            "load_id": "abababababababab",
            "sha256": "ab" * 32,
            "status": "retracted",
            "rows_read": 10,
            "rows_loaded": 8,
            "rows_new": 7,
            "rows_changed": 1,
            "rows_unchanged": 0,
            "rows_quarantined": 2,
            "retracted_at": "2026-12-01T09:00:00",
            "retraction_reason": "sent by mistake",
        }
    ],
    "rows_by_kind": {
        "trace": {"read": 0, "loaded": 0, "new": 0, "changed": 0, "unchanged": 0, "quarantined": 0}
    },
    "rows_by_stage": {"read": {"trace": 0}, "marts": {"origin_by_year": 3}},
    "validation": "publish",
    "previous_release": "r0",
    "release_id": "r1",
    "sequence": 2,
    "published_at": "2026-12-02T08:00:00",
    "code_version": "8397c68-dirty",
    "data": {
        "origin": "generated",
        "loaded_files": 1,
        "generated_files": 1,
        "generator": {"generator": "tracepipe", "version": 3, "seed": 7, "scale": 0.01},
    },
    "withheld": {"purchasers_by_dealer": "not published: there is no purchaser key"},
    "marts": {"origin_by_year": 3},
}


def test_a_manifest_of_the_first_version_reads_with_defaults_for_what_came_later():
    m = Manifest.from_json(FIRST_VERSION)
    assert m.release_id == m.run_id == FIRST_VERSION["run_id"] and m.validation == "publish"
    assert m.marts == {"origin_by_year": 3}
    assert m.rows_by_kind == {"trace": KindRows(read=10, loaded=8, quarantined=2)}
    assert m.rows_by_kind["trace"].new == 0
    [f] = m.inputs
    assert (f.file_name, f.rows_loaded, f.load_id, f.rows_new) == ("trace_2013.csv", 8, "", None)
    # the fields added since, at their defaults
    assert m.sequence == 0 and m.inputs_fingerprint == "" and m.purchaser_key_id == ""
    assert m.validation_summary.decision == "" and m.validation_summary.warnings == ()
    assert m.rows_by_stage == {} and m.previous_release is None
    assert m.data is None and m.withheld == {}


def test_the_json_written_is_the_json_read_key_for_key_and_in_order():
    m = Manifest.from_json(CURRENT)
    assert m.data == DataOrigin("generated", 1, 1, CURRENT["data"]["generator"])
    assert m.validation_summary.warnings == ("volume: origin_by_year grew 30 %",)
    assert m.to_json() == CURRENT  # plain JSON values: lists, not tuples
    assert list(m.to_json()) == list(CURRENT)


def test_nothing_withheld_and_no_data_recorded_leave_their_keys_out():
    out = Manifest(run_id="r1", data=DataOrigin("exports", 2, 0)).to_json()
    assert "withheld" not in out and "generator" not in out["data"]
    assert "data" not in Manifest(run_id="r1").to_json()


def test_keys_it_does_not_know_are_ignored():
    assert Manifest.from_json({**CURRENT, "added_later": [1]}) == Manifest.from_json(CURRENT)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("{not json", "not JSON"),
        ("[]", "expected an object, found list"),
        ('{"marts": {"origin_by_year": "many"}}', "marts: a count is not a whole number"),
        ('{"inputs": [3]}', "inputs[0]: expected an object, found int"),
    ],
)
def test_a_broken_manifest_is_refused_naming_the_file_and_the_key(tmp_path, text, found):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ManifestError, match=str(tmp_path)) as caught:
        Manifest.read(tmp_path)
    assert found in str(caught.value)


def test_a_manifest_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    Manifest.from_json(FIRST_VERSION).write(tmp_path)
    before = (tmp_path / "manifest.json").read_text()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(manifest_mod.json, "dump", fail)
    with pytest.raises(OSError, match="disk full"):
        Manifest.from_json(CURRENT).write(tmp_path)
    assert (tmp_path / "manifest.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
    monkeypatch.undo()
    Manifest.from_json(CURRENT).write(tmp_path)
    assert Manifest.read(tmp_path) == Manifest.from_json(CURRENT)


def test_every_field_is_described():
    types = (Manifest, manifest_mod.InputFile, KindRows, manifest_mod.ValidationSummary, DataOrigin)
    for cls in types:
        for f in dataclasses.fields(cls):
            assert manifest_mod.field_doc(f.name, cls).endswith(".")
