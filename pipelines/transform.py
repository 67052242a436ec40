"""Transform: the dbt project built against the warehouse.

dbt runs in this process (``dbtRunner``): a child process would import dbt and its
adapter again for every build, which is half of a small build's time. Three things
make that safe. The warehouse's DuckDB connection, which dbt-duckdb keeps open for the
life of the process, is closed when the build ends, so the next step (or another
process) can open the file (``_close_dbt_connection``). The environment variables and
working folder dbt needs are set for the build only and put back after it
(``_dbt_in_this_process``). And the plugin that gives dbt's connections their functions
is handed these settings directly, so the purchaser key never goes into the process's
environment (``pipelines.dbt_plugin``). Results are read from dbt's own
``run_results.json``.

dbt starts from what it kept: its partial parse (``partial_parse.msgpack`` in the target
folder) stays valid from one run to the next, and from one data folder to another, as
the profile names the warehouse by its file name (dbt runs in the warehouse's folder);
and the unit tests, which test the SQL and not the data, run once for each version of
the dbt project: a build whose code passed them already (``unit_tests.json``) leaves
them out, and says so. Likewise the seeds are loaded into a warehouse once for each
version of the seed files (``meta.dbt_seeds`` records which, in the warehouse itself),
and a ``column_values`` data test with ``incremental_by`` checks its row rules on the
rows past its last pass under the same code (``meta.dbt_test_passes``, handed to dbt as
TRACEPIPE_TEST_WATERMARKS; macros/test_column_values.sql).

Progress: dbt's events come to a callback; each node that finishes is logged at INFO as
it finishes (``dbt 12/178 success model stg_trace``), so a build of many nodes is never
silent. dbt cannot wait for the warehouse's file lock (it fails at once when another
process holds the file), so the transform waits for the lock first, and a build that
still meets one raises ``WarehouseBusy``, which is retried.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines.config import Settings
from pipelines.reference import REFERENCE_SCHEMA
from pipelines.secrets import key_id, pii_key
from pipelines.warehouse import WarehouseBusy, connect, lock_holder

log = logging.getLogger(__name__)


class TransformFailed(RuntimeError):
    pass


@dataclass
class TransformResult:
    command: str
    success: bool
    nodes: dict[str, int] = field(default_factory=dict)  # status -> count
    failures: list[str] = field(default_factory=list)
    output: str = ""
    timings: list[tuple[str, str, float]] = field(default_factory=list)  # node, status, s

    def slowest(self, n: int = 5) -> list[str]:
        """The slowest nodes, one line each: ``model.tracepipe.x: 12.3 s (success)``."""
        ranked = sorted(self.timings, key=lambda t: -t[2])[:n]
        return [f"{node}: {seconds:.1f} s ({status})" for node, status, seconds in ranked]


def dbt_env(settings: Settings) -> dict[str, str]:
    """The environment variables dbt reads while it builds: the profile's warehouse, by
    its file name (dbt runs in the warehouse's folder; dbt's partial parse hashes the
    profile, so one path for every data folder keeps the parse valid across them), and
    what the incremental models' ``rules_version`` is made of besides their SQL
    (``rules_inputs``). These are environment variables rather than dbt vars: dbt parses
    the whole project again when a var changes, and a new key or macro would have cost a
    full parse; ``rules_version`` reads them only while it builds. The purchaser key is
    not among them (its public id is): the plugin (pipelines.dbt_plugin) is handed the
    settings and reads the key when dbt connects, and hands DuckDB a function, so no SQL
    text and no environment holds it."""
    return {"TRACEPIPE_WAREHOUSE": settings.warehouse_path.name, **rules_inputs(settings)}


# dbt's events for a node that finished, by the name dbt gives them.
_RESULT_EVENTS = frozenset(
    {
        "LogModelResult",
        "LogTestResult",
        "LogSeedResult",
        "LogSnapshotResult",
        "LogNodeResult",
        "LogFreshnessResult",
        "SkippingDetails",
        "LogSkipResult",
    }
)


class _Progress:
    """Takes dbt's events: logs each finished node at INFO as ``dbt i/n status resource
    name (seconds)``, and keeps the text of what dbt says at warning level or above, for
    the failure message."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.messages: list[str] = []

    def __call__(self, event) -> None:
        name = event.info.name
        if event.info.level in ("warn", "error") and event.info.msg:
            self.messages.append(str(event.info.msg))
        if name == "LogStartLine":
            self.total = max(self.total, int(event.data.total or 0))
        elif name in _RESULT_EVENTS:
            # the fields of dbt's messages, read where they are (a conversion of each
            # message to a dict cost more than the rest of this callback)
            self.done += 1
            data = event.data
            node = data.node_info if _has(data, "node_info") else None
            status = getattr(data, "status", "") or (node.node_status if node else "") or "done"
            seconds = data.execution_time if _has(data, "execution_time") else None
            log.info(
                "dbt %d/%s %s %s %s%s",
                self.done,
                self.total or "?",
                status,
                (node.resource_type if node else "") or "node",
                (node.node_name if node else "") or getattr(data, "name", "") or "?",
                f" ({float(seconds):.1f} s)" if seconds is not None else "",
            )


def _has(message, field: str) -> bool:
    """Whether a protobuf message has ``field`` set (a message field) or at all (a
    scalar field, which proto3 cannot tell from its default)."""
    try:
        return message.HasField(field)
    except ValueError:  # a scalar field
        return field in type(message).DESCRIPTOR.fields_by_name


@contextmanager
def _dbt_in_this_process(
    settings: Settings, extra_env: dict[str, str] | None = None
) -> Iterator[None]:
    """What dbt needs around one build, put back after it: its environment variables
    (``dbt_env`` and ``extra_env``), the warehouse's folder as the working folder, and the
    settings for the plugin."""
    from pipelines import dbt_plugin

    env = {**dbt_env(settings), **(extra_env or {})}
    saved_env = {name: os.environ.get(name) for name in env}
    saved_cwd = os.getcwd()
    os.environ.update(env)
    os.chdir(settings.warehouse_path.parent)
    dbt_plugin.settings_for_build = settings
    try:
        yield
    finally:
        dbt_plugin.settings_for_build = None
        os.chdir(saved_cwd)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _close_dbt_connection()


def _close_dbt_connection() -> None:
    """Close the DuckDB connection dbt-duckdb keeps for the life of the process (its
    ``keep_open``): with it open, the warehouse's file stays locked after the build."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    conn = getattr(environment, "conn", None)
    if conn is not None:
        conn.close()
        environment.conn = None


def files_checksum(root: Path, paths: Iterable[Path], salt: bytes = b"") -> str:
    """A checksum of ``salt`` and of each of ``paths`` that is a file: its path under
    ``root`` and its bytes, in the order given."""
    digest = hashlib.sha256(salt)
    for path in paths:
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def macros_checksum(settings: Settings) -> str:
    """A checksum of the dbt project's macro files: part of every incremental model's
    ``rules_version``, so a changed macro makes them reprocess everything."""
    root = settings.dbt_project_dir
    return files_checksum(root, sorted((root / "macros").rglob("*.sql")))


def rules_inputs(settings: Settings) -> dict[str, str]:
    """What ``rules_version`` (macros/versions.sql) mixes into every incremental model's
    version besides its SQL: a checksum of the macro files (dbt's graph does not hold
    macro text), and the purchaser key's public id (a new key makes every purchaser hash
    again, never a mix of two keys)."""
    return {
        "TRACEPIPE_MACROS_CHECKSUM": macros_checksum(settings),
        "TRACEPIPE_PURCHASER_KEY_ID": key_id(pii_key(settings)),
    }


UNIT_TESTS_FILE = "unit_tests.json"
_NOT_CODE = {"target", "logs", "dbt_packages"}


def code_checksum(settings: Settings) -> str:
    """A checksum of what dbt's unit tests test: every file of the dbt project (models,
    macros, seeds, tests, the project file), the plugin that gives dbt its functions and
    dbt's version. Not the purchaser key: the unit tests give their models their inputs,
    hashes included, so a new key (or none) is no new code to test."""
    from dbt.version import __version__ as dbt_version

    from pipelines import dbt_plugin

    root = settings.dbt_project_dir
    return files_checksum(
        root,
        (p for p in sorted(root.rglob("*")) if p.relative_to(root).parts[0] not in _NOT_CODE),
        f"dbt {dbt_version}\0".encode() + Path(dbt_plugin.__file__).read_bytes(),
    )


# Which seeds the warehouse's reference tables were loaded from (``seeds_checksum``), and
# when: a build whose seeds are those leaves them out.
SEEDS_TABLE = "meta.dbt_seeds"


def seeds_checksum(settings: Settings) -> str:
    """A checksum of what the seeds' tables are made of: the seed files, the project file
    (their column types) and dbt's version."""
    from dbt.version import __version__ as dbt_version

    root = settings.dbt_project_dir
    return files_checksum(
        root,
        [root / "dbt_project.yml", *sorted((root / "seeds").rglob("*"))],
        f"dbt {dbt_version}\0".encode(),
    )


def seeds_loaded(settings: Settings, con, checksum: str) -> str | None:
    """When this warehouse's reference tables were loaded from these seeds, if every seed
    has its table; else None."""
    import duckdb

    try:
        row = con.execute(
            f"select strftime(loaded_at, '%Y-%m-%d %H:%M:%S') from {SEEDS_TABLE} "
            "where checksum = ?",
            [checksum],
        ).fetchone()
    except duckdb.CatalogException:
        return None
    if row is None:
        return None
    tables = {
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = ?", [REFERENCE_SCHEMA]
        ).fetchall()
    }
    seeds = {path.stem for path in (settings.dbt_project_dir / "seeds").glob("*.csv")}
    return str(row[0]) if seeds <= tables else None


def record_seeds(settings: Settings, checksum: str) -> None:
    with connect(settings) as con:
        con.execute(
            f"create table if not exists {SEEDS_TABLE} (checksum varchar, loaded_at timestamp)"
        )
        con.execute("begin transaction")
        con.execute(f"delete from {SEEDS_TABLE}")
        con.execute(f"insert into {SEEDS_TABLE} values (?, current_timestamp)", [checksum])
        con.execute("commit")


# The watermark of each incremental ``column_values`` test's last pass (the test's
# ``incremental_by``: macros/test_column_values.sql), under which code: a build under the
# same code hands them to dbt, and those tests check the rows past them only.
TEST_PASSES_TABLE = "meta.dbt_test_passes"
TEST_WATERMARKS_ENV = "TRACEPIPE_TEST_WATERMARKS"


def data_tests_checksum(settings: Settings, code: str) -> str:
    """What a data test's outcome for an unchanged row depends on besides the row: the
    code (``code_checksum``: models, macros, seeds, tests) and the purchaser key."""
    return hashlib.sha256(f"{code}\0{key_id(pii_key(settings))}".encode()).hexdigest()


def data_test_watermarks(con, checksum: str) -> dict[str, list[str]]:
    """The watermarks of the tests' last passes under ``checksum``, as the test macro
    reads them: ``relation.column`` -> [value, type]."""
    import duckdb

    try:
        rows = con.execute(
            f"select relation, column_name, watermark, watermark_type from {TEST_PASSES_TABLE} "
            "where checksum = ?",
            [checksum],
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {f"{relation}.{column}": [value, kind] for relation, column, value, kind in rows}


def incremental_tests(settings: Settings) -> list[tuple[str, str, str, str]]:
    """The project's ``column_values`` tests with ``incremental_by``: (test id, the tested
    relation's schema, its name, the column)."""
    tests, nodes = _column_values_nodes(settings)
    found = []
    for uid, node in tests.items():
        column = (node["test_metadata"].get("kwargs") or {}).get("incremental_by")
        tested = nodes.get(node.get("attached_node") or "")
        if column and tested:
            found.append((uid, tested["schema"], tested.get("alias") or tested["name"], column))
    return found


def record_test_passes(settings: Settings, checksum: str, result: TransformResult) -> None:
    """After a build that succeeded: each incremental test that passed in it has checked
    every row of its relation as it is now, so the relation's newest ``incremental_by``
    is where the next build's test starts."""
    passed = {node for node, status, _ in result.timings if status == "pass"}
    tests = [t for t in incremental_tests(settings) if t[0] in passed]
    if not tests:
        return
    with connect(settings) as con:
        con.execute(
            f"create table if not exists {TEST_PASSES_TABLE} (relation varchar, "
            "column_name varchar, checksum varchar, watermark varchar, watermark_type varchar, "
            "passed_at timestamp)"
        )
        con.execute("begin transaction")
        for _, schema, relation, column in tests:
            value, kind = con.execute(
                f'select max("{column}")::varchar, typeof(max("{column}")) from "{schema}"."{relation}"'
            ).fetchone()
            con.execute(
                f"delete from {TEST_PASSES_TABLE} where relation = ? and column_name = ?",
                [relation, column],
            )
            if value is not None:
                con.execute(
                    f"insert into {TEST_PASSES_TABLE} values (?, ?, ?, ?, ?, current_timestamp)",
                    [relation, column, checksum, value, kind],
                )
        con.execute("commit")


def unit_tests_passed(settings: Settings, checksum: str) -> str | None:
    """When the unit tests last passed for this version of the code, or None."""
    try:
        state = json.loads((settings.dbt_target_dir / UNIT_TESTS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state.get("passed_at") if state.get("code_checksum") == checksum else None


def record_unit_tests(settings: Settings, checksum: str, result: TransformResult) -> None:
    passed = sorted(node for node, status, _ in result.timings if node.startswith("unit_test."))
    if not passed:
        return
    state = {
        "code_checksum": checksum,
        "passed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "unit_tests": passed,
    }
    path = settings.dbt_target_dir / UNIT_TESTS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, path)


def run_dbt(settings: Settings, *args: str, env: dict[str, str] | None = None) -> TransformResult:
    """Run one dbt command (``build``, ``test``, ``parse``...) against the warehouse, with
    ``env`` besides ``dbt_env`` while it runs."""
    from dbt.cli.main import dbtRunner

    settings.ensure_dirs()
    argv = [
        *args,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(settings.dbt_target_dir),
        "--log-path",
        str(settings.dbt_target_dir.parent / "logs"),
        "--threads",
        str(settings.dbt_threads),
        # nothing on this process's standard output: progress is logged from the events
        "--log-level",
        "none",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]
    log.info("dbt %s", " ".join(args))
    results_file = settings.dbt_target_dir / "run_results.json"
    results_file.unlink(missing_ok=True)
    progress = _Progress()
    with _dbt_in_this_process(settings, env):
        outcome = dbtRunner(callbacks=[progress]).invoke(argv)
    if isinstance(outcome.exception, KeyboardInterrupt | SystemExit):
        raise outcome.exception
    messages = progress.messages
    if outcome.exception is not None:
        messages.append(str(outcome.exception))
    output = "\n".join(messages)
    result = TransformResult(command=" ".join(args), success=outcome.success, output=output)
    if results_file.exists():
        column_values: set[str] | None = None  # read from the manifest at the first failure
        for node in json.loads(results_file.read_text()).get("results", []):
            status = node.get("status")
            result.nodes[status] = result.nodes.get(status, 0) + 1
            result.timings.append(
                (node.get("unique_id", "?"), str(status), float(node.get("execution_time") or 0))
            )
            if status in ("error", "fail", "runtime error"):
                message = node.get("message")
                if status == "fail" and column_values is None:
                    column_values = column_values_tests(settings)
                if status == "fail" and node.get("unique_id") in column_values:
                    message = broken_rules(settings, node.get("compiled_code")) or message
                result.failures.append(f"{node.get('unique_id')}: {message}")
    who = lock_holder(output) if not result.success else None
    if who:
        raise WarehouseBusy(
            f"the warehouse {settings.warehouse_path} is in use by {who}, so dbt could not "
            "open it: try again when it is done"
        )
    if not result.success and not result.failures:
        tail = "\n".join(output.strip().splitlines()[-15:])
        result.failures.append(f"dbt failed:\n{tail}")
    return result


RULE_WORDS = {
    "not_null": "without a value",
    "accepted_values": "with a value not accepted",
    "unique": "that repeat another row's values",
    "required_when": "without a value where the model requires one",
    "in_table": "with a value not in the table it refers to",
    "suppression_small": "that show a count small enough to be suppressed",
    "suppression_shown": "that are suppressed yet show their count",
    "suppression_alone": "suppressed alone in their row or column, so the totals give them away",
}


def _column_values_nodes(settings: Settings) -> tuple[dict, dict]:
    """The project's ``column_values`` tests (the generic test of
    macros/test_column_values.sql) by unique id, and every node, from the manifest of the
    last dbt command; empty when it cannot be read."""
    try:
        nodes = json.loads((settings.dbt_target_dir / "manifest.json").read_text())["nodes"]
    except (OSError, ValueError, KeyError):
        return {}, {}
    tests = {
        uid: node
        for uid, node in nodes.items()
        if (node.get("test_metadata") or {}).get("name") == "column_values"
    }
    return tests, nodes


def column_values_tests(settings: Settings) -> set[str]:
    """The unique ids of the project's ``column_values`` tests; read only when a test has
    failed."""
    return set(_column_values_nodes(settings)[0])


def broken_rules(settings: Settings, compiled_sql: str | None) -> str | None:
    """What a failing ``column_values`` test found, in words: each broken rule and how many
    rows break it, by running the test's query again. No value is shown (a rule may be
    about a column whose values stay out of messages). None when it cannot be said."""
    if not compiled_sql:
        return None
    try:
        with connect(settings, read_only=True) as con:
            rows = con.execute(
                f"select column_name, rule, n_rows from ({compiled_sql}) as broken order by 1, 2"
            ).fetchall()
    except Exception:  # noqa: BLE001 - dbt's own message stands
        return None
    return (
        "; ".join(f"{column}: {n} row(s) {RULE_WORDS.get(rule, rule)}" for column, rule, n in rows)
        or None
    )


def transform(settings: Settings, full_refresh: bool = False) -> TransformResult:
    """``dbt build``: seeds, every model, every data test and unit test. With
    ``full_refresh``, every incremental model is rebuilt from raw. The unit tests run once
    for each version of the code, and the seeds are loaded again only when they changed
    (or with ``full_refresh``)."""
    seeds = seeds_checksum(settings)
    checksum = code_checksum(settings)
    tests = data_tests_checksum(settings, checksum)
    # dbt fails at once on a held file lock: wait for it here, as every step does.
    with connect(settings) as con:
        seeded_at = None if full_refresh else seeds_loaded(settings, con, seeds)
        watermarks = {} if full_refresh else data_test_watermarks(con, tests)
    if watermarks:
        log.info(
            "dbt data tests: %s check the rows written since their last pass",
            ", ".join(sorted(watermarks)),
        )
    args = ["build", *(["--full-refresh"] if full_refresh else [])]
    excluded = []
    passed_at = unit_tests_passed(settings, checksum)
    if passed_at:
        log.info("dbt unit tests: passed on %s for this code, not run again", passed_at)
        excluded.append("unit_test")
    if seeded_at:
        log.info("dbt seeds: loaded on %s from these files, not loaded again", seeded_at)
        excluded.append("seed")
    if excluded:
        args += ["--exclude-resource-type", *excluded]
    result = run_dbt(settings, *args, env={TEST_WATERMARKS_ENV: json.dumps(watermarks)})
    if not result.success:
        raise TransformFailed(
            "dbt build failed; nothing was published:\n  " + "\n  ".join(result.failures)
        )
    if not passed_at:
        record_unit_tests(settings, checksum, result)
    if not seeded_at:
        record_seeds(settings, seeds)
    record_test_passes(settings, tests, result)
    log.info("dbt build: %s", ", ".join(f"{v} {k}" for k, v in sorted(result.nodes.items())))
    return result
