"""Every suite really evaluates on generated exports of all four kinds (the built sample
loads trace exports only), and the generated defects, which the pipeline handles, do
not hold the release: the audit of the session's generated release (released.py), as
its validation.json records it."""

from __future__ import annotations

from pathlib import Path

import pytest
from released import generated_release

from pipelines import audit


@pytest.mark.slow
def test_every_suite_evaluates_on_generated_exports_of_every_kind(tmp_path_factory):
    _settings, outcome = generated_release(tmp_path_factory)
    result = audit.read_summary(Path(outcome["audit"]["report_json"]))

    assert {c["suite"] for c in result["checks"]} == {
        "trace_requests",
        "seizures",
        "licensees",
        "multiple_sales",
        "marts",
    }
    assert result["skipped"] == [], result["skipped"]
    not_evaluated = [
        (c["suite"], c["check"], c["error"]) for c in result["checks"] if not c["evaluated"]
    ]
    assert not_evaluated == []
    assert result["decision"] == "publish", result["reasons"]
    # The checks saw the data: every source batch had rows.
    for key in (
        "trace_requests",
        "seizures",
        "licensees",
        "multiple_sales",
        "trace_requests.dealers",
    ):
        assert result["rows_checked"][key] > 0, key
