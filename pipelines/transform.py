"""Transform: the dbt project built against the warehouse.

dbt runs in a child process: when it ends, its DuckDB connection and file lock are gone
for certain, whatever dbt-duckdb caches, so the next step can open the warehouse.
Results are read from dbt's own ``run_results.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import Settings
from pipelines.secrets import key_id, pii_key

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
    """The environment of dbt's process. The purchaser key is not in the dbt project:
    the plugin (pipelines.dbt_plugin) reads it from this environment or the key file
    when dbt connects, and hands DuckDB a function, so no SQL text holds it."""
    key_source = {"TRACEPIPE_PII_KEY": settings.pii_key} if settings.pii_key else {}
    if settings.pii_key_file:
        key_source["TRACEPIPE_PII_KEY_FILE"] = settings.pii_key_file
    return {
        "TRACEPIPE_WAREHOUSE": str(settings.warehouse_path),
        "TRACEPIPE_DATA_DIR": str(settings.data_dir),
        **key_source,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_LOG_PATH": str(settings.dbt_target_dir.parent / "logs"),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
        "DBT_USE_COLORS": "False",
    }


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def macros_checksum(settings: Settings) -> str:
    """A checksum of the dbt project's macro files: part of every incremental model's
    ``rules_version``, so a changed macro makes them reprocess everything."""
    digest = hashlib.sha256()
    for path in sorted((settings.dbt_project_dir / "macros").rglob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def run_dbt(settings: Settings, *args: str) -> TransformResult:
    """Run one dbt command (``build``, ``test``, ``parse``...) against the warehouse."""
    settings.ensure_dirs()
    argv = [
        dbt_executable(),
        *args,
        "--vars",
        json.dumps(
            {
                "macros_checksum": macros_checksum(settings),
                # the key's public id: a new key makes the models hash purchasers again
                "purchaser_key_id": key_id(pii_key(settings)),
            }
        ),
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
    results_file = settings.dbt_target_dir / "run_results.json"
    results_file.unlink(missing_ok=True)
    proc = subprocess.run(
        argv,
        env={**os.environ, **dbt_env(settings)},
        capture_output=True,
        text=True,
    )
    output = proc.stdout + proc.stderr
    result = TransformResult(command=" ".join(args), success=proc.returncode == 0, output=output)
    if results_file.exists():
        for node in json.loads(results_file.read_text()).get("results", []):
            status = node.get("status")
            result.nodes[status] = result.nodes.get(status, 0) + 1
            result.timings.append(
                (node.get("unique_id", "?"), str(status), float(node.get("execution_time") or 0))
            )
            if status in ("error", "fail", "runtime error"):
                result.failures.append(f"{node.get('unique_id')}: {node.get('message')}")
    if not result.success and not result.failures:
        tail = "\n".join(output.strip().splitlines()[-15:])
        result.failures.append(f"dbt exited with {proc.returncode}:\n{tail}")
    return result


def transform(settings: Settings, full_refresh: bool = False) -> TransformResult:
    """``dbt build``: seeds, every model, every data test and unit test. With
    ``full_refresh``, every incremental model is rebuilt from raw."""
    result = run_dbt(settings, "build", *(["--full-refresh"] if full_refresh else []))
    if not result.success:
        raise TransformFailed(
            "dbt build failed; nothing was published:\n  " + "\n  ".join(result.failures)
        )
    log.info("dbt build: %s", ", ".join(f"{v} {k}" for k, v in sorted(result.nodes.items())))
    return result
