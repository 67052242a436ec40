"""Airflow on the embedded defaults: a SQLite metadata database under the data folder,
the project's ``dags/`` folder, no example DAGs, no server. ``run_dag`` runs a DAG
in-process with ``airflow dags test`` (the scheduler's code path, without a scheduler).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from pipelines.config import Settings

log = logging.getLogger(__name__)

DAG_ID = "trace_pipeline"
# Every task that writes the working DuckDB file runs in this pool of one slot, in every
# DAG: DuckDB allows one writer per file.
WAREHOUSE_POOL = "tracepipe_warehouse"


def airflow_env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "TRACEPIPE_DATA_DIR": str(settings.data_dir),
        "TRACEPIPE_LANDING_DIR": str(settings.landing_dir),
        "TRACEPIPE_REJECTED_DIR": str(settings.rejected_dir),
        "TRACEPIPE_WAREHOUSE": str(settings.warehouse_path),
        "TRACEPIPE_PUBLISHED_DIR": str(settings.published_dir),
        "TRACEPIPE_REPORTS_DIR": str(settings.reports_dir),
        "TRACEPIPE_DBT_TARGET_DIR": str(settings.dbt_target_dir),
    }
    env.setdefault(
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        f"sqlite:///{settings.airflow_home / 'airflow.db'}",
    )
    return env


def airflow_executable() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def _run(settings: Settings, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """``airflow <args>``, through ``pipelines.airflow_command`` (Airflow's own command
    line, which leaves without tearing the interpreter down)."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "pipelines.airflow_command", *args],
        env=airflow_env(settings),
        capture_output=capture,
        text=True,
    )


# What ``migrate`` last left in the metadata database: Airflow's version and the
# database's revision. Beside the SQLite file, in the Airflow home.
MIGRATED_STAMP = "tracepipe-migrated.json"


def sqlite_path(settings: Settings) -> Path | None:
    """The metadata database's file when it is the embedded SQLite one, else None."""
    url = airflow_env(settings).get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


def _database_state(path: Path) -> tuple[str, bool] | None:
    """The SQLite metadata database's migration revision, and whether the warehouse
    pool exists with its one slot; None when the file is missing or not Airflow's."""
    import sqlite3

    if not path.is_file():
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        (revision,) = con.execute("select version_num from alembic_version").fetchone()
        pool = con.execute(
            "select slots from slot_pool where pool = ?", [WAREHOUSE_POOL]
        ).fetchone()
        return str(revision), pool is not None and pool[0] == 1
    except (sqlite3.Error, TypeError):
        return None
    finally:
        con.close()


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")


def is_migrated(settings: Settings) -> bool:
    """True when the embedded SQLite database is the one ``migrate`` last finished for
    the installed Airflow: same Airflow version, same revision, the pool in place. Any
    other database (PostgreSQL in the deployment) is never assumed migrated."""
    path = sqlite_path(settings)
    if path is None:
        return False
    state = _database_state(path)
    try:
        stamp = json.loads((path.parent / MIGRATED_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        state is not None
        and state[1]
        and stamp.get("revision") == state[0]
        and stamp.get("airflow") == _airflow_version()
    )


def migrate(settings: Settings) -> None:
    """Create or upgrade the metadata database and its pool (idempotent). Skipped, as
    it takes seconds, when the embedded database is already the one the installed
    Airflow migrated (``is_migrated``)."""
    if is_migrated(settings):
        return
    proc = _run(settings, "db", "migrate", capture=True)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{proc.stdout}\n{proc.stderr}")
    ensure_pool(settings)
    path = sqlite_path(settings)
    state = _database_state(path) if path is not None else None
    if path is not None and state is not None:
        stamp = {"airflow": _airflow_version(), "revision": state[0]}
        (path.parent / MIGRATED_STAMP).write_text(json.dumps(stamp) + "\n", encoding="utf-8")


def ensure_pool(settings: Settings) -> None:
    """The pool of one slot that every task writing the warehouse runs in."""
    proc = _run(
        settings,
        "pools",
        "set",
        WAREHOUSE_POOL,
        "1",
        "one writer at a time on the working DuckDB file",
        capture=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"airflow pools set failed:\n{proc.stdout}\n{proc.stderr}")


def run_dag(
    settings: Settings, dag_id: str = DAG_ID, capture: bool = False, conf: dict | None = None
):
    """Run one DAG run to the end in-process; returns the finished process. ``conf``
    sets the run's params (for example ``{"force": True}``)."""
    migrate(settings)
    extra = ["--conf", json.dumps(conf)] if conf else []
    return _run(settings, "dags", "test", dag_id, *extra, capture=capture)


def ui_env(settings: Settings, port: int) -> dict[str, str]:
    """Airflow's settings for a local UI: loopback only, small parallelism, the
    project's DAGs, the virtualenv's programs on PATH (Airflow starts its components as
    programs), one admin login."""
    env = airflow_env(settings)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "2",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }
    )
    return env


def ui_password(settings: Settings) -> str | None:
    """The admin password Airflow made for the local UI, once it has."""
    path = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("admin")
    except (OSError, ValueError):
        return None


def start_ui(settings: Settings, port: int = 8080) -> subprocess.Popen:
    """``airflow standalone`` (scheduler, dag processor, triggerer, API server and UI) on
    127.0.0.1, after the metadata database and the pool are ready."""
    migrate(settings)
    return subprocess.Popen(
        [airflow_executable(), "standalone"],
        env=ui_env(settings, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_group(proc: subprocess.Popen, wait_seconds: float = 20.0) -> None:
    """Stop a process started in a session of its own and everything it started."""
    import signal
    import time

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.5)
