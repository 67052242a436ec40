"""Great Expectations' SQL data source on the DuckDB warehouse, so the audit's checks run
in the database instead of over frames pulled into Python.

GX 1.24 reaches DuckDB through SQLAlchemy (duckdb-engine) but does not know it as a
dialect, and two things break (``../shared/STACK-NOTES.md``; upstream issues 10738 and
11579):

- GX opens a connection per query and closes it before reading the rows, which DuckDB's
  cursor does not survive: every metric comes back empty ("list index out of range").
  ``patch`` adds DuckDB to the dialects GX keeps one connection open for.
- GX has no regular-expression operator for DuckDB ("Regex is not supported for dialect
  duckdb"). ``patch`` maps it to ``regexp_matches``, a search like pandas' and Python's
  ``re.search`` (the suites' expressions are written in the syntax RE2 and Python share).
- GX's SQL mean is ``avg(1.0 * column)``, which DuckDB refuses for a true/false column;
  ``patch`` averages it as a number, so a flag's mean is its share of true rows, as in
  pandas.

And one that is only slow: GX counts the rows per value of a unique column with a window
over every row; on DuckDB ``patch`` counts them with one aggregate instead (same rows,
about half the time on ten million trace numbers).

``tests/test_audit_sql.py`` fails when any of them stops working (an expectation that no
longer evaluates, or a regex check that no longer finds its rows). The engine holds the
warehouse open, read-only, until ``close`` disposes of it.

The suites' row conditions are pandas expressions (``is_incomplete_request == False``,
``country_of_manufacture.notna()``, ``license_type in ["01", "02"]``); ``sql_condition``
writes each as SQL with pandas' meaning for missing values.
"""

from __future__ import annotations

import ast
import logging
from typing import Any

from pipelines import udfs
from pipelines.config import Settings
from pipelines.secrets import pii_key
from pipelines.warehouse import limits, quote_identifier, quote_literal

log = logging.getLogger(__name__)

_PATCHED = False


class _Dialect(str):
    """How GX's list of dialects names one (an enum member with a ``value``)."""

    @property
    def value(self) -> str:
        return str(self)


def patch() -> None:
    """Teach GX's SQL engine DuckDB (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return
    import sqlalchemy as sa
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine
    from great_expectations.expectations.metrics import util
    from great_expectations.expectations.metrics.column_aggregate_metrics import (
        column_values_match_regex_values,
        column_values_not_match_regex_values,
    )
    from great_expectations.expectations.metrics.column_map_metrics import (
        column_values_match_regex,
        column_values_match_regex_list,
        column_values_not_match_regex,
        column_values_not_match_regex_list,
        column_values_unique,
    )

    engine._PERSISTED_CONNECTION_DIALECTS = (
        *engine._PERSISTED_CONNECTION_DIALECTS,
        _Dialect("duckdb"),
    )
    original = util.get_dialect_regex_expression

    def regex_expression(column, regex, dialect, positive=True):
        name = getattr(getattr(dialect, "dialect", dialect), "name", "")
        if name == "duckdb":
            found = sa.func.regexp_matches(column, sa.literal(regex))
            return found if positive else sa.not_(found)
        return original(column, regex, dialect, positive)

    # The mean of a true/false column is its share of true rows (pandas' mean); GX's SQL
    # is avg(1.0 * column), which DuckDB refuses for booleans: average it as a number.
    from great_expectations.expectations.metrics.column_aggregate_metrics import column_mean

    def mean_as_number(cls, column, **kwargs):
        return sa.func.avg(sa.cast(column, sa.Float))

    _replace_written_function(
        column_mean.ColumnMean._sqlalchemy, column_mean, lambda written: mean_as_number
    )
    _replace_written_function(
        column_values_unique.ColumnValuesUnique._sqlalchemy_function,
        column_values_unique,
        lambda written: _count_per_value(column_values_unique, written),
    )

    for module in (
        util,
        column_values_match_regex,
        column_values_match_regex_list,
        column_values_not_match_regex,
        column_values_not_match_regex_list,
        column_values_match_regex_values,
        column_values_not_match_regex_values,
    ):
        if hasattr(module, "get_dialect_regex_expression"):
            module.get_dialect_regex_expression = regex_expression
    _PATCHED = True


def _replace_written_function(wrapper, module, replacement) -> None:
    """Put ``replacement(written)`` in place of the function ``written`` in ``module`` that
    GX's metric decorators wrap in ``wrapper`` (the decorators keep it in their closures)."""
    replaced = False
    while wrapper is not None and not replaced:
        inner = None
        for cell in wrapper.__closure__ or ():
            found = cell.cell_contents
            if callable(found) and getattr(found, "__code__", None) is not None:
                if found.__code__.co_filename == module.__file__:
                    cell.cell_contents, replaced = replacement(found), True
                    break
                inner = found
        wrapper = inner
    if not replaced:
        raise RuntimeError(f"{module.__name__} is no longer built as gx_duckdb.patch expects")


def _count_per_value(unique, written):
    """GX's count of rows per value for ``expect_column_values_to_be_unique`` on DuckDB.

    GX writes it as a window, ``count(*) over (partition by column)``, one output row per
    row. The same rows (each value with its count, once per row that holds it) come from
    one hash aggregate and a lateral ``range`` that repeats each value as often as it
    occurs: 1.6-2.2 s instead of 3.4-4.3 s over ten million trace numbers. Other
    dialects (GX knows a module for them) keep GX's window."""
    import sqlalchemy as sa

    def count_per_value(cls, column, _table, **kwargs):
        if kwargs.get("_dialect") is not None:  # GX has no dialect module for DuckDB
            return written(cls, column, _table, **kwargs)
        label = unique._count_label(kwargs["_metrics"]["table.columns"])
        source = _table.subquery() if isinstance(_table, sa.Select) else _table
        groups = (
            sa.select(sa.column(column.name), sa.func.count().label(label))
            .select_from(source)
            .group_by(sa.column(column.name))
            .subquery("column_values_count_per_value_groups")
        )
        copies = sa.func.range(groups.c[label]).table_valued("range").alias("copies_per_value")
        return (
            sa.select(groups.c[column.name], groups.c[label])
            .select_from(groups.join(copies, sa.true()))
            .alias(unique._DUP_KEY_SUBQUERY_ALIAS)
        )

    return count_per_value


def add_source(context, settings: Settings, name: str = "warehouse"):
    """A SQL data source on the warehouse, read-only, with the pipeline's memory limit and
    run-time functions (views over raw call the purchaser's keyed hash)."""
    import sqlalchemy as sa

    patch()
    source = context.data_sources.add_sql(
        name,
        connection_string=f"duckdb:///{settings.warehouse_path}",
        create_temp_table=False,
        kwargs={"connect_args": {"read_only": True, "config": limits(settings)}},
    )
    key = pii_key(settings)
    engine = source.get_execution_engine().engine

    @sa.event.listens_for(engine, "connect")
    def _functions(dbapi_connection, _record) -> None:
        udfs.register(dbapi_connection, key)

    return source


def close(source) -> None:
    """Let go of the warehouse: GX's one connection and its engine."""
    if source is None:
        return
    execution_engine = source.get_execution_engine()
    connection = getattr(execution_engine, "_connection", None)
    if connection is not None:
        connection.close()
        execution_engine._connection = None
    execution_engine.engine.dispose()
    # The data source keeps an engine of its own (it tests the connection with it).
    own = getattr(source, "_engine", None)
    if own is not None:
        own.dispose()


def execute(source, sql: str) -> list[tuple]:
    """Rows of a query on the source's one connection."""
    import sqlalchemy as sa

    execution_engine = source.get_execution_engine()
    return [tuple(r) for r in execution_engine.execute_query(sa.text(sql)).fetchall()]


def run(source, sql: str) -> None:
    """A statement that returns no rows (``create temp table``...) on the source's one
    connection, committed, so that GX's queries see what it made even after GX rolls
    its transaction back (it does after a query that failed)."""
    import sqlalchemy as sa

    with source.get_execution_engine().get_connection() as connection:
        connection.execute(sa.text(sql)).close()
        connection.commit()


# --- row conditions --------------------------------------------------------------------


class ConditionError(ValueError):
    """A row condition outside the pandas subset the suites may use."""


def _literal(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return quote_literal(value)
    raise ConditionError(f"unsupported value {value!r}")


def _values(node: ast.AST) -> str:
    if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        raise ConditionError("in / not in take a list of values")
    return "(" + ", ".join(_literal(_constant(e)) for e in node.elts) + ")"


def _constant(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_constant(node.operand)
    raise ConditionError(f"expected a value, found {ast.dump(node)[:60]}")


_COMPARE = {ast.Eq: "=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _operand(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return quote_identifier(node.id)
    return _literal(_constant(node))


def _sql(node: ast.AST) -> str:
    if isinstance(node, ast.BoolOp):
        joiner = " and " if isinstance(node.op, ast.And) else " or "
        return "(" + joiner.join(_sql(v) for v in node.values) + ")"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert)):
        return f"(not coalesce({_sql(node.operand)}, false))"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args:
        column = node.func.value
        if isinstance(column, ast.Name):
            if node.func.attr in ("notna", "notnull"):
                return f"({quote_identifier(column.id)} is not null)"
            if node.func.attr in ("isna", "isnull"):
                return f"({quote_identifier(column.id)} is null)"
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if isinstance(op, ast.In):
            return f"coalesce({_operand(left)} in {_values(right)}, false)"
        if isinstance(op, ast.NotIn):
            # pandas: a missing value is not in any list
            return f"coalesce({_operand(left)} not in {_values(right)}, true)"
        if isinstance(op, ast.NotEq):
            # pandas: a missing value differs from every value
            return f"({_operand(left)} is distinct from {_operand(right)})"
        if type(op) in _COMPARE:
            # pandas: a comparison with a missing value is false
            return f"coalesce({_operand(left)} {_COMPARE[type(op)]} {_operand(right)}, false)"
    if isinstance(node, ast.Name):
        return f"coalesce({quote_identifier(node.id)}, false)"
    raise ConditionError(f"unsupported row condition part: {ast.dump(node)[:80]}")


def sql_condition(condition: str) -> str:
    """A suite's row condition (a pandas ``DataFrame.query`` expression) as SQL that keeps
    the same rows, missing values included."""
    try:
        tree = ast.parse(condition.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"row condition {condition!r} is not an expression") from exc
    return _sql(tree.body)
