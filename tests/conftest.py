"""Shared fixtures: every test works in its own temporary data folder."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# Airflow reads its home at import: keep it away from the user's data folder.
os.environ.setdefault("AIRFLOW_HOME", str(Path(__file__).parent.parent / "data" / "test-airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from exports import trace_row, write_export  # noqa: E402

from pipelines.config import Settings  # noqa: E402

# The modules that take longest (worker time on this 2-core machine, longest first, as
# measured by a whole run): pytest-xdist hands whole modules (--dist loadscope) to the
# workers in collection order (--no-loadscope-reorder: by default it orders them by
# their number of tests, which put one-test modules of a minute last), so starting these
# first lets both workers finish together instead of one waiting for the other's last
# long module. The rest keep their order, after these. The first modules start the
# workers (xdist gives a worker a second module at once when its first has at most two
# tests): the Airflow story's worker builds the session's sample (conftest.built) while
# the other runs the benchmark and the atomic release's tests, none of which needs a
# shared build (USES_DBT_STATE); under -m "not slow" the Airflow module has one test, so
# its worker takes the generator's tests too.
LONGEST_FIRST = (
    "test_airflow.py",
    "test_bench.py",
    "test_release_atomic.py",
    "test_generate.py",
    "test_versions.py",
    "test_cli.py",
    "test_audit_incremental.py",
    "test_crash.py",
    "test_privacy_scan.py",
    "test_pipeline.py",
    "test_purchaser_key.py",
    "test_marts.py",
    "test_marts_gao.py",
    "test_bad_inputs.py",
    "test_audit_gate.py",
    "test_cli_airflow.py",
    "test_queries.py",
    "test_validation_report.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable sort


# What the session's first dbt build left in its target folder: dbt's partial parse and
# the record that the unit tests passed for this code (pipelines.transform). Every new
# data folder starts with them, as a second build in one data folder would.
DBT_STATE_FILES = ("partial_parse.msgpack", "unit_tests.json")
_dbt_state: dict[str, bytes] = {}


class _Settings(Settings):
    """Settings whose data folder, when made, starts with the session's dbt state."""

    def ensure_dirs(self) -> None:
        super().ensure_dirs()
        target = self.dbt_target_dir
        if _dbt_state and not (target / DBT_STATE_FILES[0]).exists():
            for name, content in _dbt_state.items():
                (target / name).write_bytes(content)


def with_dbt_state(settings: Settings) -> Settings:
    """``settings`` whose data folder, when made (``ensure_dirs``), starts with the
    session's dbt state."""
    return _Settings(**settings.__dict__)


def make_settings(root: Path) -> Settings:
    return with_dbt_state(
        Settings.from_env({"TRACEPIPE_DATA_DIR": str(root), "TRACEPIPE_PII_KEY": "test-key"})
    )


def copy_data(source: Path, target: Path) -> Settings:
    """A copy of the data folder ``source`` at ``target`` (its release links kept as
    links), and its settings."""
    shutil.copytree(source, target, symlinks=True)
    return make_settings(target)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = make_settings(tmp_path / "data")
    s.ensure_dirs()
    s.ensure_landing()
    return s


def sample_trace_rows() -> list[dict[str, str]]:
    """A small, fully known set of Mexico traces over three recovery years."""
    rows = []
    n = 0

    def add(year: int, count: int, **overrides: str) -> None:
        nonlocal n
        for _ in range(count):
            n += 1
            row = trace_row(
                trace_number=f"T{year}-{n:07d}",
                serial_number=f"SN{n:06d}",
                recovery_date=f"{year}-05-10",
                request_date=f"{year}-06-01",
                purchase_date=f"{year - 2}-01-15",
            )
            row.update(overrides)
            rows.append(row)

    # 2010: 4 US-manufactured, 1 US-imported, 2 third-country, 1 undetermined
    add(2010, 4)
    add(
        2010,
        1,
        country_of_manufacture="AT",
        manufacturer="GLOCK",
        importer="GLOCK INC",
        firearm_type="PISTOLA",
        trace_result="FFL_NO_RESPONSE",
        purchase_date="",
    )
    add(
        2010,
        2,
        country_of_manufacture="CN",
        manufacturer="NORINCO",
        importer="",
        trace_result="FOREIGN_NOT_IMPORTED_TO_US",
        ffl_license_number="",
        purchase_date="",
        purchaser_name="",
        purchaser_dob="",
        purchaser_address="",
    )
    add(
        2010,
        1,
        country_of_manufacture="",
        manufacturer="",
        trace_result="INCOMPLETE_REQUEST",
        ffl_license_number="",
        purchase_date="",
        purchaser_name="",
        purchaser_dob="",
        purchaser_address="",
    )
    # 2011: 3 US-manufactured, one of them with an obliterated serial; 1 undetermined
    add(2011, 2)
    add(
        2011,
        1,
        serial_number="BORRADO",
        trace_result="OBLITERATED_SERIAL",
        ffl_license_number="",
        purchase_date="",
        purchaser_name="",
        purchaser_dob="",
        purchaser_address="",
    )
    add(
        2011,
        1,
        trace_result="MANUFACTURER_OR_IMPORTER_NOT_FOUND",
        ffl_license_number="",
        purchase_date="",
        purchaser_name="",
        purchaser_dob="",
        purchaser_address="",
    )
    # 2012: 2 US-manufactured, recovered in the US (not in the Mexico marts)
    add(2012, 2, recovery_country="US", recovery_state="TX", recovery_city="EL PASO")
    add(2012, 1)
    return rows


# recovery_year: (traced, us_manufactured, us_imported, third_country, undetermined)
SAMPLE_ORIGIN = {
    2010: (8, 4, 1, 2, 1),
    2011: (4, 3, 0, 0, 1),
    2012: (1, 1, 0, 0, 0),
}


def land_sample(settings: Settings) -> None:
    rows = sample_trace_rows()
    # A repeat request for the first firearm, in a second, day-first, Latin-1 file.
    repeat = dict(rows[0], trace_number="T2010-REPEAT", request_date="2010-07-01")
    for row in (repeat,):
        for col in ("request_date", "recovery_date", "purchase_date", "purchaser_dob"):
            if row[col]:
                y, m, d = row[col].split("-")
                row[col] = f"{d}/{m}/{y}"
    write_export(settings.landing_dir / "trace" / "trace_2010_2012.csv", "trace", rows)
    write_export(
        settings.landing_dir / "trace" / "trace_repeat.csv",
        "trace",
        [repeat],
        encoding="cp1252",
        line_end="\r\n",
    )


@contextmanager
def _locked(path: Path):
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``build(folder)`` fills, made once for the whole session: under
    pytest-xdist the first worker to ask builds it, in the temporary folder all workers
    share, while the others wait on a lock; then every worker reads the same folder. A
    test that changes what it finds there works on a copy."""
    base = tmp_path_factory.getbasetemp()
    common = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = common / f"shared-{name}"
    with _locked(common / f"shared-{name}.lock"):
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".complete").touch()
    return folder


def _build_sample(folder: Path) -> None:
    from pipelines import steps

    s = make_settings(folder / "data")
    s.ensure_dirs()
    s.ensure_landing()
    land_sample(s)
    steps.run_all(s)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Settings:
    """A data folder where the sample went through ingest, transform, audit and publish:
    built once for the session (``shared_once``), and copied for each worker, whose
    tests audit it again and write their reports into it."""
    shared = shared_once(tmp_path_factory, "built", _build_sample)
    s = copy_data(shared / "data", tmp_path_factory.mktemp("built") / "data")
    for name in DBT_STATE_FILES:
        _dbt_state[name] = (s.dbt_target_dir / name).read_bytes()
    return s


@pytest.fixture(scope="module", autouse=True)
def dbt_state(request) -> None:
    """The first build of the session parses the dbt project and runs its unit tests;
    later builds start from its partial parse and leave the unit tests out. A module
    whose tests build nothing in this process says ``USES_DBT_STATE = False``, and does
    not wait for the session's build."""
    if getattr(request.module, "USES_DBT_STATE", True):
        request.getfixturevalue("built")


def _migrate_airflow(folder: Path) -> None:
    from pipelines import orchestration

    s = make_settings(folder / "data")
    s.ensure_dirs()
    orchestration.migrate(s)
    assert orchestration.is_migrated(s)


@pytest.fixture(scope="session")
def migrated_airflow(tmp_path_factory) -> Path:
    """One Airflow metadata database migrated for the session, for all workers
    (``shared_once``), with the warehouse pool and the stamp that lets
    ``orchestration.migrate`` skip it: the Airflow tests start from copies of it instead
    of migrating their own."""
    return make_settings(
        shared_once(tmp_path_factory, "airflow", _migrate_airflow) / "data"
    ).airflow_home


def with_migrated_airflow(settings: Settings, migrated: Path) -> Settings:
    """``settings`` whose Airflow home holds a copy of the session's migrated database."""
    from pipelines import orchestration

    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    for name in ("airflow.db", orchestration.MIGRATED_STAMP):
        shutil.copy2(migrated / name, settings.airflow_home / name)
    assert orchestration.is_migrated(settings)
    return settings


@pytest.fixture
def airflow_settings(settings: Settings, migrated_airflow: Path) -> Settings:
    """An empty data folder whose Airflow metadata database is migrated already."""
    return with_migrated_airflow(settings, migrated_airflow)


@pytest.fixture
def built_copy(built: Settings, tmp_path: Path) -> Settings:
    """A private copy of the built data folder, for tests that change it."""
    return copy_data(built.data_dir, tmp_path / "data")


def airflow_task_states(settings: Settings, dag_id: str) -> dict[str, tuple[str, int]]:
    """(state, try number) of each task of the DAG's latest run, from Airflow's SQLite
    metadata database."""
    import sqlite3

    con = sqlite3.connect(settings.airflow_home / "airflow.db")
    try:
        (run_id,) = con.execute(
            "select run_id from dag_run where dag_id = ? order by id desc limit 1", [dag_id]
        ).fetchone()
        return {
            task: (state, tries)
            for task, state, tries in con.execute(
                "select task_id, state, try_number from task_instance "
                "where dag_id = ? and run_id = ?",
                [dag_id, run_id],
            ).fetchall()
        }
    finally:
        con.close()
