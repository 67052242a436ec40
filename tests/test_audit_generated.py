"""Every suite really evaluates on generated exports of all four kinds (the built sample
loads trace exports only), and the generated defects, which the pipeline handles, do
not hold the release."""

from __future__ import annotations

import pytest

from pipelines import audit, steps


@pytest.mark.slow
def test_every_suite_evaluates_on_generated_exports_of_every_kind(settings):
    from pipelines.generate import generate

    generate(out=settings.landing_dir, scale=0.01, seed=2016)
    steps.ingest(settings)
    steps.transform(settings)

    result = audit.audit(settings, run_id="generated")

    assert {c.suite for c in result.checks} == {
        "trace_requests",
        "seizures",
        "licensees",
        "multiple_sales",
        "marts",
    }
    assert result.skipped == [], result.skipped
    not_evaluated = [(c.suite, c.check, c.error) for c in result.checks if not c.evaluated]
    assert not_evaluated == []
    assert result.decision == "publish", result.reasons()
    # The checks saw the data: every source batch had rows.
    for key in (
        "trace_requests",
        "seizures",
        "licensees",
        "multiple_sales",
        "trace_requests.dealers",
    ):
        assert result.rows_checked[key] > 0, key
