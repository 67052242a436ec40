"""Publish: a release becomes visible all at once, or not at all.

A release is a folder ``published/releases/<release_id>/`` holding ``marts.duckdb`` (every
mart as a table of the ``main`` schema), ``parquet/<mart>.parquet`` and ``manifest.json``.
It is built under a temporary name, flushed to disk, renamed into place, and only then
made current by replacing the symlink ``published/current`` (``os.replace`` of a symlink
is atomic on POSIX). Analysts open ``published/current/marts.duckdb``: a file the
pipeline never writes again, so they never hold a lock the pipeline needs, and a reader
that opened the previous release keeps reading it whole.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines import privacy
from pipelines.config import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

MART_SCHEMA = "marts"


class PublishRefused(RuntimeError):
    pass


@dataclass
class Release:
    release_id: str
    path: Path
    marts: dict[str, int]

    @property
    def database(self) -> Path:
        return self.path / "marts.duckdb"


def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def list_releases(settings: Settings) -> list[str]:
    if not settings.releases_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in settings.releases_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").exists()
    )


def current_release(settings: Settings) -> str | None:
    link = settings.current_link
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def _point_current_at(settings: Settings, release_id: str) -> None:
    target = Path("releases") / release_id  # relative, so the data folder can move
    tmp_link = settings.published_dir / f".current.{os.getpid()}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(target, tmp_link)
    os.replace(tmp_link, settings.current_link)
    _fsync_dir(settings.published_dir)


def _new_release_id(settings: Settings, run_id: str) -> str:
    existing = set(list_releases(settings))
    release_id, n = run_id, 1
    while release_id in existing:
        n += 1
        release_id = f"{run_id}-{n}"
    return release_id


def mart_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = ? and table_schema = ? order by table_name",
            [catalog, MART_SCHEMA],
        ).fetchall()
    ]


def assert_no_personal_data(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> None:
    columns = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_catalog = ? and table_schema = ?",
        [catalog, schema],
    ).fetchall()
    leaked = [f"{t}.{c}" for t, c in columns if privacy.is_pii(c)]
    if leaked:
        raise PublishRefused(
            "personal data columns would be published: " + ", ".join(sorted(leaked))
        )


def build_release(settings: Settings, run_id: str, manifest: dict) -> Release:
    """Copy every mart of the warehouse into a new, not yet visible, release folder."""
    settings.releases_dir.mkdir(parents=True, exist_ok=True)
    release_id = _new_release_id(settings, run_id)
    staging = settings.releases_dir / f".{release_id}.building"
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "parquet").mkdir(parents=True)
    database = staging / "marts.duckdb"
    counts: dict[str, int] = {}
    con = duckdb.connect(str(database))
    try:
        con.execute(f"attach '{settings.warehouse_path}' as wh (read_only)")
        tables = mart_tables(con, "wh")
        if not tables:
            raise PublishRefused("the warehouse has no marts to publish; run the transform first")
        assert_no_personal_data(con, "wh", MART_SCHEMA)
        for table in tables:
            con.execute(f'create table main."{table}" as select * from wh.{MART_SCHEMA}."{table}"')
            counts[table] = con.execute(f'select count(*) from main."{table}"').fetchall()[0][0]
            parquet = staging / "parquet" / f"{table}.parquet"
            con.execute(f"copy main.\"{table}\" to '{parquet}' (format parquet)")
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    manifest = {
        **manifest,
        "release_id": release_id,
        "published_at": dt.datetime.now().isoformat(timespec="seconds"),
        "code_version": code_version(),
        "marts": counts,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    _fsync_tree(staging)
    final = settings.releases_dir / release_id
    os.rename(staging, final)
    _fsync_dir(settings.releases_dir)
    return Release(release_id, final, counts)


def publish(settings: Settings, run_id: str, decision: str, manifest: dict) -> Release:
    """Build a release and make it current; refused unless the audit said publish."""
    if decision != "publish":
        raise PublishRefused(
            f"the audit of run {run_id} decided '{decision}': the previous release stays current"
        )
    release = build_release(settings, run_id, {**manifest, "validation": decision})
    _point_current_at(settings, release.release_id)
    log.info("published release %s: %s", release.release_id, release.marts)
    prune(settings)
    return release


def rollback(settings: Settings) -> str:
    """Make the release before the current one current again; returns its id."""
    releases = list_releases(settings)
    current = current_release(settings)
    if current not in releases:
        raise PublishRefused("there is no current release to roll back from")
    position = releases.index(current)
    if position == 0:
        raise PublishRefused(f"release {current} is the oldest kept; there is nothing before it")
    previous = releases[position - 1]
    _point_current_at(settings, previous)
    # The rolled-back release is set aside so the next publish does not skip past it.
    rolled = settings.releases_dir / current
    os.rename(rolled, settings.releases_dir / f".{current}.rolled-back")
    log.info("rolled back from %s to %s", current, previous)
    return previous


def prune(settings: Settings) -> list[str]:
    """Keep the newest ``keep_releases`` releases (never the current one)."""
    releases = list_releases(settings)
    current = current_release(settings)
    removed = []
    for release_id in releases[: max(0, len(releases) - settings.keep_releases)]:
        if release_id != current:
            shutil.rmtree(settings.releases_dir / release_id)
            removed.append(release_id)
    for leftover in settings.releases_dir.glob(".*.building"):
        shutil.rmtree(leftover, ignore_errors=True)
    return removed
