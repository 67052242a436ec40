"""The DAG files import nothing heavy at parse time: the scheduler parses every file in a
loop, so the steps' libraries (DuckDB, dbt, Great Expectations, pandas, pandera, polars,
matplotlib) are imported inside the tasks, never by the files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from pipelines import orchestration
from pipelines.config import PROJECT_ROOT

USES_DBT_STATE = False  # runs no dbt build: need not wait for conftest.built

HEAVY = ("duckdb", "dbt", "great_expectations", "pandas", "pandera", "polars", "matplotlib")


def test_importing_each_dag_file_imports_none_of_the_steps_libraries(settings):
    files = sorted(str(p) for p in (PROJECT_ROOT / "dags").glob("*.py"))
    assert files, "no DAG file found"
    code = textwrap.dedent(
        f"""
        import importlib.util, json, sys
        sys.path.insert(0, {str(PROJECT_ROOT)!r})
        heavy = {HEAVY!r}
        found = {{}}
        for path in {files!r}:
            spec = importlib.util.spec_from_file_location("dag_" + str(len(found)), path)
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
            # what is loaded after this file, by the top-level package's name
            found[path] = sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))
        print("RESULT" + json.dumps(found))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=orchestration.airflow_env(settings),
        cwd=settings.data_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert found == {path: [] for path in files}
