"""Every query of docs/QUERIES.md runs against a release built from generated data and
returns rows, and where a query says it answers one of GAO's figures (``<!-- check:
figure.measure = column -->``), its answer equals what gao_16_223_reproduction computes."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from released import generated_release

pytestmark = pytest.mark.slow  # a release built from generated data (released.py)

QUERIES = Path(__file__).resolve().parents[1] / "docs" / "QUERIES.md"
BLOCK = re.compile(r"((?:<!-- check: [^\n]*? -->\n)*)```sql\n(.*?)```", re.S)
CHECK = re.compile(r"<!-- check: (\w+)\.(\w+) = (\w+) -->")


def queries() -> list[tuple[str, list[tuple[str, str, str]]]]:
    found = []
    for checks, sql in BLOCK.findall(QUERIES.read_text(encoding="utf-8")):
        found.append((sql.strip(), CHECK.findall(checks)))
    return found


def test_the_page_has_a_query_for_each_question():
    found = queries()
    assert len(found) >= 13
    checked = {(f, m) for _sql, checks in found for f, m, _c in checks}
    reference = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
    lines = (reference / "gao_16_223_figures.csv").read_text(encoding="utf-8").splitlines()[1:]
    # every published GAO figure is answered by a query of the page
    assert {tuple(line.split(",")[:2]) for line in lines} == checked


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    settings, _outcome = generated_release(tmp_path_factory)
    con = duckdb.connect(str(settings.current_link / "marts.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize(
    ("sql", "checks"), queries(), ids=[f"query{i + 1}" for i in range(len(queries()))]
)
def test_each_query_answers_from_the_release(release, sql, checks):
    cursor = release.execute(sql)
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert rows, sql
    for figure, measure, column in checks:
        assert len(rows) == 1, (figure, measure)
        got = rows[0][columns.index(column)]
        want = release.execute(
            "select computed_value from gao_16_223_reproduction where figure = ? and measure = ?",
            [figure, measure],
        ).fetchall()
        assert want and want[0][0] is not None, (figure, measure)
        # the mart keeps 4 decimals of a share
        assert got is not None and round(float(got), 4) == want[0][0], (
            figure,
            measure,
            got,
            want,
        )
