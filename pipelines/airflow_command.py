"""Airflow's command line as the pipeline runs it (``orchestration``): ``airflow <args>``
in this interpreter, then out at once, as ``tracepipe`` leaves (``cli.leave``): a DAG
run under ``airflow dags test`` imports Airflow, dbt and GX, and the interpreter's
teardown of them took two seconds of every run."""

from __future__ import annotations

import sys


def main() -> None:
    from airflow.__main__ import main as airflow

    from pipelines.cli import leave

    sys.argv[0] = "airflow"  # the name Airflow's messages give the command
    try:
        airflow()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    leave(code)


if __name__ == "__main__":
    main()
