"""Settings: every path and knob of the pipeline, read from the environment in one place.

All outputs live under one data folder (``TRACEPIPE_DATA_DIR``, default ``<repo>/data``,
which git ignores). Every other path defaults to a place inside it and can be moved
with its own variable.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

KINDS = ("trace", "seizures", "licensees", "multiple_sales")


class SettingsError(ValueError):
    """A setting in the environment has a value the pipeline cannot use; the message
    names the variable, what it must be, and the value found."""


class NameRefused(ValueError):
    """A name given as an argument (a run id, a file name) that could leave its folder."""


#: A name that is one path component and no more: it cannot be ``.`` or ``..``, hold a
#: separator or a control character, or start with a dash or a dot.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def safe_name(value: str, what: str = "name") -> str:
    """``value`` unchanged when it is safe as one folder or file name (``SAFE_NAME``),
    else ``NameRefused`` saying what is allowed. Run ids and file names taken from the
    command line pass through here before they are joined to a folder."""
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value):
        shown = ascii(value) if isinstance(value, str) else type(value).__name__
        raise NameRefused(
            f"{what} {shown} is not allowed: use up to 128 letters, digits, dots, dashes "
            "and underscores, starting with a letter or a digit"
        )
    return value


def _number(env: dict[str, str], name: str, default, kind, minimum, what: str):
    """A numeric setting: its default when unset or blank, else a number of ``kind`` of
    at least ``minimum``, or ``SettingsError`` with one sentence saying what to set."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or value < minimum:
        raise SettingsError(
            f"{name} must be {what}, not {ascii(raw[:40])}: change it, or unset it to use "
            f"the default {default}"
        )
    return value


MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def _memory(env: dict[str, str], name: str, default: str) -> str:
    """A DuckDB memory size such as ``2GB`` or ``1536MiB``."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    match = MEMORY.match(raw)
    if not match or float(match.group(1)) <= 0:
        raise SettingsError(
            f"{name} must be a memory size such as 2GB or 1536MiB, not {ascii(raw[:40])}: "
            f"change it, or unset it to use the default {default}"
        )
    return f"{match.group(1)}{match.group(2)}"


def _path(env: dict[str, str], name: str, default: Path) -> Path:
    value = env.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    rejected_dir: Path
    warehouse_path: Path
    published_dir: Path
    reports_dir: Path
    airflow_home: Path
    dbt_project_dir: Path
    dbt_target_dir: Path
    expectations_dir: Path
    dags_dir: Path
    keep_releases: int = 5
    pii_key: str = field(default="", repr=False)
    pii_key_file: str = ""
    # How long a step waits for the warehouse when another process holds it.
    lock_wait_seconds: float = 30.0
    dbt_threads: int = 1
    # What one DuckDB connection may hold in memory (dbt's included); larger work spills
    # to ``duckdb_temp_dir`` under the data folder instead of growing.
    duckdb_memory_limit: str = "2GB"
    duckdb_temp_dir: Path = PROJECT_ROOT / "data" / "tmp" / "duckdb"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data = _path(env, "TRACEPIPE_DATA_DIR", PROJECT_ROOT / "data")
        return cls(
            data_dir=data,
            landing_dir=_path(env, "TRACEPIPE_LANDING_DIR", data / "landing"),
            rejected_dir=_path(env, "TRACEPIPE_REJECTED_DIR", data / "rejected"),
            warehouse_path=_path(
                env, "TRACEPIPE_WAREHOUSE", data / "warehouse" / "warehouse.duckdb"
            ),
            published_dir=_path(env, "TRACEPIPE_PUBLISHED_DIR", data / "published"),
            reports_dir=_path(env, "TRACEPIPE_REPORTS_DIR", data / "reports"),
            airflow_home=_path(env, "AIRFLOW_HOME", data / "airflow"),
            dbt_project_dir=_path(env, "TRACEPIPE_DBT_PROJECT_DIR", PROJECT_ROOT / "dbt_project"),
            dbt_target_dir=_path(env, "TRACEPIPE_DBT_TARGET_DIR", data / "dbt" / "target"),
            expectations_dir=PROJECT_ROOT / "expectations",
            dags_dir=PROJECT_ROOT / "dags",
            keep_releases=_number(
                env, "TRACEPIPE_KEEP_RELEASES", 5, int, 1, "a whole number of at least 1"
            ),
            pii_key=env.get("TRACEPIPE_PII_KEY", ""),
            pii_key_file=env.get("TRACEPIPE_PII_KEY_FILE", ""),
            lock_wait_seconds=_number(
                env, "TRACEPIPE_LOCK_WAIT_SECONDS", 30.0, float, 0, "a number of seconds, 0 or more"
            ),
            dbt_threads=_number(
                env, "TRACEPIPE_DBT_THREADS", 1, int, 1, "a whole number of at least 1"
            ),
            duckdb_memory_limit=_memory(env, "TRACEPIPE_DUCKDB_MEMORY_LIMIT", "2GB"),
            duckdb_temp_dir=_path(env, "TRACEPIPE_DUCKDB_TEMP_DIR", data / "tmp" / "duckdb"),
        )

    @property
    def current_link(self) -> Path:
        """What analysts open: a symlink to the directory of the live release."""
        return self.published_dir / "current"

    @property
    def releases_dir(self) -> Path:
        return self.published_dir / "releases"

    def ensure_dirs(self) -> None:
        # The landing folder is not made here: a missing one is the operator's to fix
        # (ingest says which path it expected); ``ensure_landing`` makes it on purpose.
        for path in (
            self.rejected_dir,
            self.warehouse_path.parent,
            self.published_dir,
            self.releases_dir,
            self.reports_dir,
            self.dbt_target_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)

    def ensure_landing(self) -> None:
        """The landing folder with one folder per kind (for the demo and the generator)."""
        for kind in KINDS:
            (self.landing_dir / kind).mkdir(parents=True, exist_ok=True)
