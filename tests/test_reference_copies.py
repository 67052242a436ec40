"""The repository's copies of shared reference data stay identical to their source.

The published GAO figures and ATF's per-year counts are dbt seeds, and the real ATF
licensee sample is test data, so a clone works on its own; when ``../shared`` is beside
the clone (as on developers' machines and in CI), the copies must not have drifted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

USES_DBT_STATE = False  # runs no dbt build: need not wait for conftest.built

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

COPIES = [
    ("reference/gao-16-223-figures.csv", "dbt_project/seeds/gao_16_223_figures.csv"),
    ("reference/atf-mexico-by-year.csv", "dbt_project/seeds/atf_mexico_by_year.csv"),
    ("data/ffl/0124-ffl-list-sample.txt", "tests/data/0124-ffl-list-sample.txt"),
]


@pytest.mark.parametrize(("source", "copy"), COPIES)
def test_repository_copy_equals_shared_source(source, copy):
    original = SHARED / source
    if not original.exists():
        pytest.skip(f"{original} is not beside this clone")
    assert (ROOT / copy).read_bytes() == original.read_bytes()
