"""Transform: the dbt project built against the warehouse, in-process."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from pipelines.config import Settings
from pipelines.secrets import pii_key

log = logging.getLogger(__name__)


class TransformFailed(RuntimeError):
    pass


@dataclass
class TransformResult:
    command: str
    success: bool
    nodes: dict[str, int] = field(default_factory=dict)  # status -> count
    failures: list[str] = field(default_factory=list)


def dbt_env(settings: Settings) -> dict[str, str]:
    return {
        "TRACEPIPE_WAREHOUSE": str(settings.warehouse_path),
        "TRACEPIPE_PII_KEY": pii_key(settings),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_LOG_PATH": str(settings.dbt_target_dir.parent / "logs"),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
    }


def run_dbt(settings: Settings, *args: str) -> TransformResult:
    """Run one dbt command (``build``, ``test``, ``parse``...) against the warehouse."""
    from dbt.cli.main import dbtRunner

    settings.ensure_dirs()
    os.environ.update(dbt_env(settings))
    argv = [
        *args,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(settings.dbt_target_dir),
        "--threads",
        str(settings.dbt_threads),
    ]
    log.info("dbt %s", " ".join(args))
    outcome = dbtRunner().invoke(argv)
    result = TransformResult(command=" ".join(args), success=bool(outcome.success))
    if outcome.exception is not None:
        result.failures.append(f"dbt could not run: {outcome.exception}")
    elif outcome.result is not None and hasattr(outcome.result, "results"):
        for node in outcome.result.results:
            status = str(node.status)
            result.nodes[status] = result.nodes.get(status, 0) + 1
            if status in ("error", "fail"):
                result.failures.append(f"{node.node.unique_id}: {node.message}")
    return result


def transform(settings: Settings) -> TransformResult:
    """``dbt seed`` + ``dbt build``: every model built and every data and unit test run."""
    result = run_dbt(settings, "build")
    if not result.success:
        raise TransformFailed(
            "dbt build failed; nothing was published:\n  " + "\n  ".join(result.failures)
        )
    return result
