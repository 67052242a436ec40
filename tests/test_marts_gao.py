"""End to end: the default generated exports (scale 1, seed 2016), through ingest and the
dbt build, reproduce every figure of GAO-16-223 (``shared/reference/gao-16-223-figures.csv``)
in ``marts.gao_16_223_reproduction``.

Slow (about 150,000 trace rows and half a million licensee rows): run with ``-m slow``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from conftest import make_settings
from released import copy_landing, scale_1_landing

from pipelines import steps

# The repository's copy of shared/reference/gao-16-223-figures.csv (kept identical by
# tests/test_reference_copies.py), so a clone without ../shared runs this test too.
REFERENCE = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "gao_16_223_figures.csv"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory) -> list[dict]:
    settings = make_settings(tmp_path_factory.mktemp("gao") / "data")
    settings.ensure_dirs()
    copy_landing(scale_1_landing(tmp_path_factory), settings)
    steps.ingest(settings)
    steps.transform(settings)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        cursor = con.execute(
            "select figure, measure, period, unit, reference_value, computed_value, "
            "computed_value_compared, is_match from marts.gao_16_223_reproduction "
            "order by figure, measure"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def test_reproduction_covers_every_reference_figure(reproduced):
    with REFERENCE.open(newline="", encoding="utf-8") as handle:
        reference = {
            (r["figure"], r["measure"], r["period"]): int(r["value"])
            for r in csv.DictReader(handle)
        }
    got = {(r["figure"], r["measure"], r["period"]): r["reference_value"] for r in reproduced}
    assert got == reference


def test_every_gao_figure_is_reproduced_exactly(reproduced):
    mismatches = [
        f"{r['figure']}.{r['measure']} ({r['period']}): expected {r['reference_value']} "
        f"{r['unit']}, got {r['computed_value']} (compared as {r['computed_value_compared']})"
        for r in reproduced
        if not r["is_match"]
    ]
    assert not mismatches, "\n".join(mismatches)
