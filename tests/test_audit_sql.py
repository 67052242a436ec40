"""Great Expectations on the DuckDB warehouse (``pipelines.gx_duckdb``): the patch GX
needs holds (every expectation type the suites use really evaluates, with the same
outcome and counts as GX's pandas engine on the same rows), row conditions keep the rows
pandas keeps, and GX lets go of the file when the audit is done."""

from __future__ import annotations

import duckdb
import great_expectations as gx
import pandas as pd
import pytest
from conftest import make_settings

from pipelines import gx_duckdb

USES_DBT_STATE = False  # runs no dbt build: need not wait for conftest.built

ROWS = pd.DataFrame(
    {
        "id": list(range(1, 9)),
        "serial": ["AB12", "OBLITERATED", "XXXX", None, "A*B", "N/A", "ZZ9", "LIMADO X"],
        "flag": [True, False, True, None, False, False, True, False],
        "state": ["TX", "AZ", None, "CA", "NM", "TX", "XX", "AZ"],
        "a": [1, 2, 3, 4, 5, 6, 7, 8],
        "b": [1, 2, 0, 4, 5, 0, 7, 8],
        "day": pd.to_datetime(
            [
                "2010-01-01",
                "2011-05-02",
                "2012-03-03",
                "2013-04-04",
                "2014-05-05",
                "2015-06-06",
                "2016-07-07",
                "2030-01-01",
            ]
        ),
    }
)

EXPECTATIONS = [
    ("expect_column_values_to_not_be_null", {"column": "serial"}),
    (
        "expect_column_values_to_be_in_set",
        {"column": "state", "value_set": ["TX", "AZ", "CA", "NM"]},
    ),
    ("expect_column_values_to_not_be_in_set", {"column": "state", "value_set": ["XX"]}),
    ("expect_column_values_to_match_regex", {"column": "serial", "regex": "^[A-Z0-9]+$"}),
    ("expect_column_values_to_not_match_regex", {"column": "serial", "regex": "[^A-Z0-9\\- ]"}),
    (
        "expect_column_values_to_not_match_regex_list",
        {"column": "serial", "regex_list": ["OBLITERATED|LIMADO", "^X{3,}$"]},
    ),
    ("expect_column_mean_to_be_between", {"column": "flag", "min_value": 0.0, "max_value": 0.3}),
    ("expect_column_pair_values_to_be_equal", {"column_A": "a", "column_B": "b"}),
    (
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": "a", "column_B": "b", "or_equal": True},
    ),
    ("expect_column_values_to_be_unique", {"column": "state"}),
    ("expect_compound_columns_to_be_unique", {"column_list": ["state", "flag"]}),
    ("expect_column_values_to_be_between", {"column": "a", "min_value": 2, "max_value": 7}),
    ("expect_column_min_to_be_between", {"column": "a", "min_value": 0, "max_value": 1}),
    ("expect_column_max_to_be_between", {"column": "day", "max_value": pd.Timestamp("2026-01-01")}),
]


def _run(context, data, parameters, expectations):
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    suite = gx.ExpectationSuite(name=f"s{id(data)}")
    for type_, kwargs in expectations:
        suite.add_expectation(ExpectationConfiguration(type=type_, kwargs=kwargs).to_domain_obj())
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"v{id(data)}", data=data, suite=suite)
    )
    outcome = definition.run(
        batch_parameters=parameters, result_format={"result_format": "SUMMARY"}
    )
    return {
        r.expectation_config.type: (
            bool(r.success),
            (r.result or {}).get("unexpected_count"),
            (r.result or {}).get("observed_value"),
            bool((r.exception_info or {}).get("raised_exception"))
            or any(
                isinstance(v, dict) and v.get("raised_exception")
                for v in (r.exception_info or {}).values()
            ),
        )
        for r in outcome.results
    }


@pytest.fixture
def warehouse(tmp_path):
    settings = make_settings(tmp_path / "data")
    settings.warehouse_path.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create table t as select * from ROWS")
    con.close()
    return settings


def test_every_expectation_the_suites_use_evaluates_in_duckdb_as_on_pandas(warehouse):
    context = gx.get_context(mode="ephemeral")
    source = gx_duckdb.add_source(context, warehouse)
    try:
        asset = source.add_query_asset("rows", query="select * from t")
        sql = _run(context, asset.add_batch_definition_whole_table("whole"), None, EXPECTATIONS)
    finally:
        gx_duckdb.close(source)
    frame = context.data_sources.add_pandas("p").add_dataframe_asset("rows")
    pandas = _run(
        context,
        frame.add_batch_definition_whole_dataframe("whole"),
        {"dataframe": ROWS},
        EXPECTATIONS,
    )
    assert set(sql) == {t for t, _ in EXPECTATIONS}
    for type_, (success, unexpected, observed, raised) in sql.items():
        assert not raised, f"{type_} raised in DuckDB"
        assert unexpected is not None or observed is not None, f"{type_} did not evaluate"
        p_success, p_unexpected, p_observed, _ = pandas[type_]
        assert (success, unexpected) == (p_success, p_unexpected), type_
        if isinstance(observed, float):
            assert observed == pytest.approx(p_observed), type_
    # Regexes really find their rows, and the mean of a flag is its share of true rows.
    assert sql["expect_column_values_to_not_match_regex_list"][1] == 3
    assert sql["expect_column_values_to_not_match_regex"][1] == 2
    assert sql["expect_column_mean_to_be_between"][2] == pytest.approx(3 / 7)


CONDITIONS = [
    "flag == True",
    "flag == False",
    "flag != True",
    'state != "TX"',
    'state in ["TX", "AZ"]',
    'state not in ["TX", "AZ"]',
    'state.notna() and state != "TX"',
    "serial.isna() or a > 6",
    'flag == False and serial not in ["N/A"]',
    "a >= 3 and b < 5",
]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_row_conditions_keep_the_rows_pandas_keeps(condition):
    con = duckdb.connect()
    con.register("rows", ROWS)
    kept = sorted(
        r[0]
        for r in con.execute(
            f"select id from rows where {gx_duckdb.sql_condition(condition)}"
        ).fetchall()
    )
    expected = sorted(ROWS.query(condition, engine="python")["id"].tolist())
    assert kept == expected


def test_a_condition_outside_the_subset_is_refused():
    with pytest.raises(gx_duckdb.ConditionError):
        gx_duckdb.sql_condition("state.str.startswith('T')")
    with pytest.raises(gx_duckdb.ConditionError):
        gx_duckdb.sql_condition("__import__('os')")


def test_gx_lets_go_of_the_warehouse_when_closed(warehouse):
    context = gx.get_context(mode="ephemeral")
    source = gx_duckdb.add_source(context, warehouse)
    assert gx_duckdb.execute(source, "select count(*) from t") == [(8,)]
    gx_duckdb.close(source)
    con = duckdb.connect(str(warehouse.warehouse_path))  # a writer, as the next step is
    con.execute("insert into t select * from t")
    con.close()


def _query_batch():
    from pipelines.audit.batches import Batch

    query = "with w as (select *, count(*) over (partition by state) as n_state from t) select * from w order by id"
    expectations = [
        {"type": kind, "kwargs": kwargs, "meta": {"check": f"{kind} {i}"}}
        for i, (kind, kwargs) in enumerate(EXPECTATIONS)
    ] + [
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "n_state", "min_value": 1, "max_value": 1},
            "meta": {"check": "one row per state"},
        }
    ]
    spec = {"query": query, "index": ["id"]}
    return Batch(
        suite={"name": "rows", "meta": {"description": "rows of t", "batch": spec}},
        name="batch",
        spec=spec,
        expectations=expectations,
        sql=query,
        columns=[*ROWS.columns, "n_state"],
    )


def test_a_batch_that_says_materialize_false_is_read_by_each_query_and_the_flag_is_checked(
    warehouse,
):
    """``"materialize": false`` (a plain filter of one model) keeps no temp table: the
    checks read the query itself. A value other than true or false is refused."""
    from pipelines.audit.gx_runner import kept, rows_sql
    from pipelines.audit.suites import SuiteError, check_suite

    context = gx.get_context(mode="ephemeral")
    source = gx_duckdb.add_source(context, warehouse)
    batch = _query_batch()
    batch.spec["materialize"] = False
    try:
        with kept(batch, source):
            assert batch.kept is None and rows_sql(batch) == batch.sql
        del batch.spec["materialize"]
        with kept(batch, source):
            assert batch.kept is not None  # the default: computed once
    finally:
        gx_duckdb.close(source)

    suite = {
        "name": "rows",
        "meta": {"batch": {"query": "select 1 as x", "materialize": "no"}},
        "expectations": [],
    }
    with pytest.raises(SuiteError, match="materialize must be true or false"):
        check_suite(suite)


def test_a_query_batch_is_computed_once_into_a_temp_table_with_the_same_outcomes(warehouse):
    """A batch that is a query over history is kept in a temp table of GX's connection
    while its checks run (gx_runner.kept): every check has the outcome, counts and
    examples it has when GX runs the query for each metric, and the table is gone after."""
    from pipelines.audit.gx_runner import batch_rows, kept, rows_sql, validate_batch

    def outcomes(keep: bool):
        context = gx.get_context(mode="ephemeral")
        source = gx_duckdb.add_source(context, warehouse)
        batch = _query_batch()
        try:
            if keep:
                with kept(batch, source):
                    assert batch.kept and rows_sql(batch) == f"select * from {batch.kept}"
                    found = validate_batch(gx, context, batch, source)
                    n = batch_rows(batch, [], source)
                temps = gx_duckdb.execute(
                    source, "select table_name from duckdb_tables() where temporary"
                )
                assert batch.kept is None and temps == []
            else:
                found = validate_batch(gx, context, batch, source)
                n = batch_rows(batch, [], source)
        finally:
            gx_duckdb.close(source)
        return n, [
            (
                c.check,
                c.success,
                c.evaluated,
                c.unexpected_count,
                c.observed_value,
                [str(e) for e in c.examples],
            )
            for c in found
        ]

    n_kept, with_table = outcomes(keep=True)
    n_query, with_query = outcomes(keep=False)
    assert n_kept == n_query == len(ROWS)
    # The same outcomes and counts, and the same unexpected values. (GX pairs each value
    # with its row by two queries; over a query of no fixed order they may disagree, so
    # the examples are compared as values here, and checked against the rows below.)
    assert [(*c[:5], sorted(e.split(": ", 1)[1] for e in c[5])) for c in with_table] == [
        (*c[:5], sorted(e.split(": ", 1)[1] for e in c[5])) for c in with_query
    ]
    unique = next(c for c in with_table if c[0].startswith("expect_column_values_to_be_unique"))
    states = dict(zip(ROWS["id"], ROWS["state"], strict=True))
    assert unique[5] and all(states[int(e.split(": ")[0])] == e.split(": ")[1] for e in unique[5])
    assert all(evaluated for _, _, evaluated, *_ in with_table)
    assert any(not success for _, success, *_ in with_table)  # failures, with examples
