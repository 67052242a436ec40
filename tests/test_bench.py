"""The benchmark's small mode runs end to end, so the command cannot rot (its figures are
not asserted: speed is measured by ``./dev bench``, never by tests)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench  # noqa: E402

USES_DBT_STATE = False  # every stage is a process of its own (conftest.dbt_state)


@pytest.mark.slow
def test_the_benchmark_runs_every_stage_and_writes_its_figures(tmp_path):
    out = tmp_path / "out"
    assert (
        bench.main(
            [
                "--traces",
                "2000",
                "--no-growth",
                "--profile",
                "--data",
                str(tmp_path / "bench"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads((out / "results-2k.json").read_text())
    assert set(result["stages"]) == set(bench.STAGES) == set(result["increment_stages"])
    for stage in (*result["stages"].values(), *result["increment_stages"].values()):
        assert stage["exit_code"] == 0 and stage["wall_s"] > 0 and stage["peak_rss_mib"] > 0
    assert result["trace_rows"] > 1000 and result["floor"]["before"]["rows"] > 1000
    assert result["increment_rows"] > 100
    assert result["ratio_to_floor"] == pytest.approx(
        result["total_s"] / result["floor_s"], rel=0.01
    )
    assert result["slowest_dbt_nodes"] and result["audit_timings"]["suites"]
    # The profile: Python functions, and DuckDB's statements by their text.
    assert result["ingest_hot_spots"] and result["ingest_statements"]
    assert any(s["statement"] == "commit" for s in result["ingest_statements"])
    text = (out / "RESULTS.md").read_text()
    assert (
        "| ingest |" in text
        and "Daily increment" in text
        and "DuckDB statements" in text
        and result["meta"]["commit"] in text
    )
