"""What the DAG files wire together: the pipeline's steps as Airflow tasks, the Assets
they produce and consume, the pool that keeps one writer on the warehouse, retries for
what is transient and none for what is not, and the failure alert.

The DAG files say when and in what order; this module says how a step runs under
Airflow. It imports only Airflow's SDK and the settings at parse time: the steps (pandas,
polars, Great Expectations, dbt) are imported inside the tasks.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import re
import urllib.request

from airflow.sdk import Asset, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from pipelines.config import Settings
from pipelines.orchestration import WAREHOUSE_POOL  # made by orchestration.migrate

log = logging.getLogger("tracepipe.airflow")

OWNER = "tracepipe-data-engineering"
TAGS = ["tracepipe", "gao-16-223"]

_settings = Settings.from_env()
# New exports in the landing folder (the landing_watch DAG emits it).
LANDED = Asset(name="tracepipe_landed_exports", uri=f"file://{_settings.landing_dir}")
# The release analysts read (trace_pipeline's and licensee_listing's publish emit it,
# with the release id in the event's extra).
PUBLISHED = Asset(name="tracepipe_published_release", uri=f"file://{_settings.current_link}")

RUN_PARAMS = {
    "force": Param(False, type="boolean", description="publish even when nothing changed"),
    "full_refresh": Param(
        False, type="boolean", description="rebuild every incremental model from raw"
    ),
}


def default_args() -> dict:
    """Transient failures (the warehouse locked by another process) are retried with
    backoff; the tasks turn failures that retrying cannot mend into AirflowFailException."""
    return {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": dt.timedelta(seconds=int(os.environ.get("TRACEPIPE_RETRY_DELAY", "20"))),
        # Airflow 3 reads this as the multiplier of each next delay: True would be 1.0,
        # the same delay every time. Doubled: at least 20 s, 40 s, 80 s by default
        # (Airflow adds up to as much again).
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=10),
        "on_failure_callback": alert,
    }


def alert(context) -> None:
    """One clear line for whoever watches the logs, and a notification through the
    connection named by TRACEPIPE_ALERT_CONN_ID (an HTTP endpoint that takes a JSON post;
    off by default)."""
    ti = context.get("task_instance")
    exc = context.get("exception")
    reason = " ".join(str(exc).split())[:500] if exc else "unknown"
    line = (
        f"TRACEPIPE ALERT dag={getattr(ti, 'dag_id', '?')} task={getattr(ti, 'task_id', '?')} "
        f"run={context.get('run_id', '?')} try={getattr(ti, 'try_number', '?')}: {reason}"
    )
    log.error(line)
    conn_id = os.environ.get("TRACEPIPE_ALERT_CONN_ID")
    if not conn_id:
        return
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
        scheme = conn.schema or "http"
        url = f"{scheme}://{conn.host}{':' + str(conn.port) if conn.port else ''}"
        request = urllib.request.Request(
            url,
            data=json.dumps({"text": line}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()
    except Exception as err:  # an alert that cannot be sent must not hide the failure
        log.error("TRACEPIPE ALERT could not be sent through %s: %s", conn_id, err)


def run_id() -> str:
    """Airflow's own run id, made safe as a folder name (reports/<run>/)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", get_current_context()["run_id"]).strip("_")


def _settings_now() -> Settings:
    return Settings.from_env()


def _fail_fast(func):
    """Run a step; failures retrying cannot mend fail the task at once, with the reason."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from pipelines.steps import ReleaseHeld, refused

        try:
            return func(*args, **kwargs)
        except ReleaseHeld as exc:
            raise AirflowFailException(f"RELEASE HELD: {exc}") from exc
        except Exception as exc:
            if refused(exc):
                raise AirflowFailException(str(exc)) from exc
            raise

    return wrapper


@task(pool=WAREHOUSE_POOL)
@_fail_fast
def ingest(kinds: list[str] | None = None) -> dict:
    """Load new exports: files and rows per kind, quarantined and rejected counts."""
    from pipelines import steps
    from pipelines.config import KINDS

    summary = steps.ingest(_settings_now(), kinds=tuple(kinds or KINDS))
    by_kind: dict[str, dict[str, int]] = {}
    for f in summary["files"]:
        kind = by_kind.setdefault(
            f["kind"],
            {
                "files_loaded": 0,
                "files_rejected": 0,
                "rows_read": 0,
                "rows_new": 0,
                "rows_changed": 0,
                "rows_unchanged": 0,
                "rows_quarantined": 0,
            },
        )
        if f["status"] == "loaded":
            kind["files_loaded"] += 1
        elif f["status"] == "rejected":
            kind["files_rejected"] += 1
        for count in (
            "rows_read",
            "rows_new",
            "rows_changed",
            "rows_unchanged",
            "rows_quarantined",
        ):
            kind[count] += f[count]
    result = {
        "run_id": run_id(),
        "by_kind": by_kind,
        "rows_read": summary["rows_read"],
        "rows_quarantined": summary["rows_quarantined"],
        "files_rejected": sum(k["files_rejected"] for k in by_kind.values()),
        "misplaced": [m["advice"] for m in summary["misplaced"]],
        "refused": [f"{r['path']}: {r['reason']}" for r in summary.get("refused", [])],
    }
    for kind, counts in sorted(by_kind.items()):
        log.info("ingest %s: %s", kind, json.dumps(counts))
    return result


@task.short_circuit(pool=WAREHOUSE_POOL)
def plan(ingested: dict) -> dict | None:
    """The run goes on only when a new release would differ from the current one."""
    from pipelines import steps

    params = get_current_context()["params"]
    planned = steps.plan(
        _settings_now(), force=bool(params.get("force") or params.get("full_refresh"))
    )
    if not planned["changed"]:
        log.info(planned["message"])
        return None
    return ingested


@task(pool=WAREHOUSE_POOL)
@_fail_fast
def transform(ingested: dict) -> dict:
    """dbt build; its log has one line per failed or slow node, and so has the XCom."""
    from pipelines import steps

    params = get_current_context()["params"]
    result = steps.transform(_settings_now(), full_refresh=bool(params.get("full_refresh")))
    for line in result.get("failed", []) + [f"slow: {s}" for s in result.get("slowest", [])]:
        log.info("dbt %s", line)
    return {"run_id": ingested["run_id"], **result}


@task(pool=WAREHOUSE_POOL)
@_fail_fast
def audit(transformed: dict) -> dict:
    """The expectation suites; a held release fails this task, with the reasons."""
    from pipelines import steps

    summary = steps.audit(_settings_now(), transformed["run_id"])
    if summary["decision"] != "publish":
        raise AirflowFailException(
            steps.held_message(_settings_now(), transformed["run_id"], summary)
        )
    return summary


@task(pool=WAREHOUSE_POOL, outlets=[PUBLISHED])
@_fail_fast
def publish(audited: dict) -> dict:
    """The atomic publish; the Asset event carries the release id and what it holds."""
    from pipelines import steps

    published = steps.publish(_settings_now(), audited["run_id"], audited)
    get_current_context()["outlet_events"][PUBLISHED].extra = {
        "release_id": published["release_id"],
        "run_id": audited["run_id"],
        "decision": audited["decision"],
        "n_marts": len(published["marts"]),
        "validation_report": audited["report_html"],
    }
    return {
        **published,
        "run_id": audited["run_id"],
        "decision": audited["decision"],
        "report": audited["report_html"],
    }


@task
@_fail_fast
def report(published: dict) -> dict:
    """The figures, from the published release (reads no warehouse: no pool)."""
    from pipelines import steps

    drawn = steps.report(_settings_now(), published["run_id"])
    return {"release_id": published["release_id"], **drawn}


def pipeline_chain(kinds: list[str] | None = None):
    """ingest -> plan -> transform -> audit -> publish -> report."""
    return report(publish(audit(transform(plan(ingest(kinds))))))
