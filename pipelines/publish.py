"""Publish: a release becomes visible all at once, or not at all.

A release is a folder ``published/releases/<release_id>/`` holding ``marts.duckdb`` (every
mart as a table of the ``main`` schema, plus ``_release``: which release this is, and
``_dictionary``: what every table and column holds, also as table and column comments),
``parquet/<mart>.parquet``, ``manifest.json`` (what it holds and was built from; its
fields are described in pipelines/manifest.py) and ``docs/index.html`` (the dbt docs site:
lineage, descriptions, tests and the catalog, opening offline; see pipelines/dictionary.py). It is built under a hidden name,
checked (it opens, its tables hold the rows its manifest says), flushed to disk, renamed
into place, and only then made current by replacing the symlink ``published/current``
(``os.replace`` of a symlink is atomic on POSIX). Analysts open
``published/current/marts.duckdb``: a file the pipeline never writes again, so they never
hold a lock the pipeline needs, and a reader that opened the previous release keeps
reading it whole, even after it is pruned.

Publishing, rolling back and pruning take ``published/.publish.lock`` (``flock``), so two
of them never interleave; the lock goes with the process, so a killed publish leaves no
stale lock. A publish killed at any point leaves the previous release current and whole;
the next one removes what the killed one left (a hidden ``.building`` folder, a temporary
link, a finished release that never became current).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines import dictionary, privacy
from pipelines.config import PROJECT_ROOT, Settings
from pipelines.manifest import FILE_NAME as MANIFEST_FILE
from pipelines.manifest import DataOrigin, InputFile, Manifest
from pipelines.reference import MART_SCHEMA

log = logging.getLogger(__name__)

STORAGE_COMPATIBILITY = "v1.0.0"
RELEASE_TABLE = "_release"
DICTIONARY_TABLE = dictionary.DICTIONARY_TABLE
# The release's own tables, beside the marts.
RELEASE_OWN_TABLES = {RELEASE_TABLE, DICTIONARY_TABLE}
DOCS_PAGE = Path("docs") / "index.html"
LOCK_NAME = ".publish.lock"
LOCK_WAIT_SECONDS = 600.0

# Called with the name of each phase of a publish as it is reached. Tests set it in a
# child process to stop or kill the publish at a named point; it is None otherwise.
PHASE_HOOK: Callable[[str], None] | None = None


class PublishRefused(RuntimeError):
    pass


class ReleaseBroken(PublishRefused):
    """A release folder is not whole: say which and why."""


@dataclass
class Release:
    release_id: str
    path: Path
    marts: dict[str, int]
    manifest: Manifest


def _phase(name: str) -> None:
    if PHASE_HOOK is not None:
        PHASE_HOOK(name)


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
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the lock --------------------------------------------------------------------------


@contextlib.contextmanager
def publish_lock(settings: Settings, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold ``published/.publish.lock`` while changing what is published.

    Waits up to ``wait_seconds`` for another publish or rollback to finish, then refuses
    and names the process that holds the lock."""
    settings.published_dir.mkdir(parents=True, exist_ok=True)
    path = settings.published_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                    raise PublishRefused(
                        f"another publish or rollback holds {path} ({holder}); waited "
                        f"{wait_seconds:.0f} s. Nothing was changed: run it again when that "
                        "one is done"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {dt.datetime.now():%H:%M:%S}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock (and a killed process's lock goes with it)


# --- what is published -----------------------------------------------------------------


def _sequence(path: Path) -> int:
    try:
        return Manifest.read(path).sequence
    except (OSError, ValueError):  # ManifestError is a ValueError
        return 0


def list_releases(settings: Settings) -> list[str]:
    """Whole releases (a manifest present), oldest first: in the order they were
    published (the manifest's ``sequence``), whatever their names."""
    if not settings.releases_dir.is_dir():
        return []
    found = [
        p
        for p in settings.releases_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST_FILE).exists()
    ]
    return [p.name for p in sorted(found, key=lambda p: (_sequence(p), p.name))]


def _next_sequence(settings: Settings) -> int:
    """One more than any release published here, kept or rolled back."""
    paths = [p for p in settings.releases_dir.iterdir() if (p / MANIFEST_FILE).exists()]
    return 1 + max((_sequence(p) for p in paths), default=0)


def current_release(settings: Settings) -> str | None:
    link = settings.current_link
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def verify_release(path: Path, expected_id: str | None = None) -> Manifest:
    """Check that a release folder is whole; returns its manifest, raises ReleaseBroken.

    Whole means: the manifest reads; the database opens read-only and names the same
    release; every mart the manifest lists is a table holding that many rows, and no other
    table is there; every mart's Parquet file holds that many rows too."""
    try:
        manifest = Manifest.read(path)
    except (OSError, ValueError) as exc:
        raise ReleaseBroken(f"{path}: no readable manifest.json ({exc})") from exc
    release_id = manifest.release_id
    if expected_id is not None and release_id != expected_id:
        raise ReleaseBroken(f"{path}: the manifest names release {release_id}, not {expected_id}")
    database = path / "marts.duckdb"
    if Path(f"{database}.wal").exists():
        raise ReleaseBroken(f"{path}: a write-ahead log is left beside marts.duckdb")
    marts = manifest.marts
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise ReleaseBroken(f"{path}: marts.duckdb does not open ({exc})") from exc
    try:
        stamped = con.execute(f"select release_id from main.{RELEASE_TABLE}").fetchall()
        if stamped != [(release_id,)]:
            raise ReleaseBroken(f"{path}: marts.duckdb says release {stamped}, not {release_id}")
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main'"
            ).fetchall()
        } - RELEASE_OWN_TABLES
        if tables != set(marts):
            raise ReleaseBroken(
                f"{path}: tables {sorted(tables)} differ from the manifest's {sorted(marts)}"
            )
        for mart, n in marts.items():
            got = con.execute(f'select count(*) from main."{mart}"').fetchall()[0][0]
            if got != n:
                raise ReleaseBroken(f"{path}: {mart} holds {got} rows, the manifest says {n}")
            parquet = path / "parquet" / f"{mart}.parquet"
            got = con.execute(f"select count(*) from read_parquet('{parquet}')").fetchall()[0][0]
            if got != n:
                raise ReleaseBroken(f"{path}: {parquet.name} holds {got} rows, not {n}")
    except duckdb.Error as exc:
        raise ReleaseBroken(f"{path}: reading the release failed ({exc})") from exc
    finally:
        con.close()
    return manifest


def _point_current_at(settings: Settings, release_id: str) -> None:
    target = Path("releases") / release_id  # relative, so the data folder can move
    tmp_link = settings.published_dir / f".current.{os.getpid()}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(target, tmp_link)
    _phase("link_created")
    os.replace(tmp_link, settings.current_link)
    _fsync_dir(settings.published_dir)


def recover(settings: Settings) -> list[str]:
    """Remove what an interrupted publish or rollback left; call with the lock held.

    - ``releases/.<id>.building``: a release that was still being written;
    - ``.current.<pid>.tmp``: a link that was never swapped in;
    - a whole release newer than the current one: it was finished but never made current
      (or a rollback was interrupted after the switch). It was never what analysts saw.
    """
    removed: list[str] = []
    if settings.releases_dir.is_dir():
        for leftover in settings.releases_dir.glob(".*.building"):
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover.name)
    for link in settings.published_dir.glob(".current.*.tmp"):
        link.unlink(missing_ok=True)
        removed.append(link.name)
    current = current_release(settings)
    releases = list_releases(settings)
    for path in settings.releases_dir.iterdir() if settings.releases_dir.is_dir() else []:
        if (
            path.is_dir()
            and not path.name.startswith(".")
            and path.name != current
            and not (path / MANIFEST_FILE).exists()
        ):
            shutil.rmtree(path, ignore_errors=True)  # not a release: never finished
            removed.append(path.name)
    if current in releases:
        for release_id in releases[releases.index(current) + 1 :]:
            shutil.rmtree(settings.releases_dir / release_id, ignore_errors=True)
            removed.append(release_id)
    if removed:
        log.warning("removed what an interrupted publish left: %s", ", ".join(removed))
    return removed


def _new_release_id(settings: Settings, run_id: str) -> str:
    existing = {p.name.lstrip(".").split(".")[0] for p in settings.releases_dir.iterdir()}
    release_id, n = run_id, 1
    while release_id in existing:
        n += 1
        release_id = f"{run_id}-{n}"
    return release_id


NO_KEY_REASON = (
    "not published: there is no purchaser key, so purchasers have no keyed hash (set "
    "TRACEPIPE_PII_KEY, or TRACEPIPE_PII_KEY_FILE to a file holding the key)"
)


def mart_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = ? and table_schema = ? and table_type = 'BASE TABLE' "
            "order by table_name",
            [catalog, MART_SCHEMA],
        ).fetchall()
    ]


def assert_no_personal_data(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> None:
    """Refuse a release whose marts have a column that holds personal data by its name
    (``privacy.is_personal_data_column``: the seeds personal_data_columns and
    personal_data_name_rules)."""
    columns = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_catalog = ? and table_schema = ?",
        [catalog, schema],
    ).fetchall()
    leaked = [f"{t}.{c}" for t, c in columns if privacy.is_personal_data_column(c)]
    if leaked:
        raise PublishRefused(
            "personal data columns would be published: " + ", ".join(sorted(leaked))
        )


def describe_data(settings: Settings, inputs: tuple[InputFile, ...]) -> DataOrigin:
    """Where the release's data came from: exports, or the project's generator (then at
    what scale). A loaded file is generated when its SHA-256 is one the generator's
    manifest (``landing/_generator/manifest.json``) lists; a report says so plainly, since
    a small sample's totals are not meant to match GAO-16-223."""
    loaded = [i for i in inputs if i.status == "loaded"]
    try:
        generator = json.loads(
            (settings.landing_dir / "_generator" / "manifest.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        generator = {}
    generated_hashes = {f.get("sha256") for f in generator.get("files", []) if f.get("sha256")}
    n_generated = sum(1 for i in loaded if i.sha256 in generated_hashes)
    if not loaded:
        origin = "none"
    elif n_generated == len(loaded):
        origin = "generated"
    elif n_generated:
        origin = "mixed"
    else:
        origin = "exports"
    return DataOrigin(
        origin=origin,
        loaded_files=len(loaded),
        generated_files=n_generated,
        generator={
            k: generator.get(k)
            for k in ("generator", "version", "seed", "scale", "licensee_scale")
            if k in generator
        }
        if n_generated
        else None,
    )


def build_release(
    settings: Settings,
    run_id: str,
    manifest: Manifest,
    expected_marts: dict[str, int] | None = None,
) -> Release:
    """Copy every mart of the warehouse into a new release folder, not yet visible, with
    ``manifest`` completed: its id, sequence, time, code version, data and marts.

    ``expected_marts`` (the row counts the audit saw) makes the build refuse marts that
    changed after they were audited."""
    settings.releases_dir.mkdir(parents=True, exist_ok=True)
    release_id = _new_release_id(settings, run_id)
    staging = settings.releases_dir / f".{release_id}.building"
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "parquet").mkdir(parents=True)
    _phase("staging_created")
    database = staging / "marts.duckdb"
    counts: dict[str, int] = {}
    manifest = dataclasses.replace(
        manifest,
        run_id=manifest.run_id or run_id,
        release_id=release_id,
        sequence=_next_sequence(settings),
        published_at=dt.datetime.now().isoformat(timespec="seconds"),
        code_version=code_version(),
        data=describe_data(settings, manifest.inputs),
    )
    dbt_manifest = dictionary.read_dbt_manifest(settings.dbt_target_dir / "manifest.json")
    catalog: dict | None = None
    try:
        # Written in a storage format every DuckDB 1.x shell reads (duckdb 2.x writes one
        # the analysts' shell cannot open by default; see STACK-NOTES).
        con = duckdb.connect(
            str(database), config={"storage_compatibility_version": STORAGE_COMPATIBILITY}
        )
        try:
            con.execute(f"attach '{settings.warehouse_path}' as wh (read_only)")
            tables = mart_tables(con, "wh")
            if not tables:
                raise PublishRefused(
                    "the warehouse has no marts to publish; run the transform first"
                )
            assert_no_personal_data(con, "wh", MART_SCHEMA)
            if manifest.purchaser_key_id == "none":
                # No purchaser key: the marts that carry a purchaser's hash are empty of
                # meaning, and are left out of the release with the reason.
                keyed = {
                    r[0]
                    for r in con.execute(
                        "select table_name from information_schema.columns "
                        "where table_catalog = 'wh' and table_schema = ? "
                        "and column_name = 'purchaser_key'",
                        [MART_SCHEMA],
                    ).fetchall()
                }
                manifest = dataclasses.replace(
                    manifest, withheld={t: NO_KEY_REASON for t in sorted(keyed)}
                )
                tables = [t for t in tables if t not in keyed]
                if expected_marts is not None:
                    expected_marts = {k: v for k, v in expected_marts.items() if k not in keyed}
            for table in tables:
                con.execute(
                    f'create table main."{table}" as select * from wh.{MART_SCHEMA}."{table}"'
                )
                counts[table] = con.execute(f'select count(*) from main."{table}"').fetchall()[0][0]
                _phase(f"copied:{table}")
            if dbt_manifest is not None:
                # columns and types of every relation dbt built, for the docs site
                catalog = dictionary.warehouse_catalog(con, "wh", dbt_manifest, counts)
            con.execute("detach wh")
            if expected_marts is not None and counts != expected_marts:
                changed = sorted(
                    t
                    for t in set(counts) | set(expected_marts)
                    if counts.get(t) != expected_marts.get(t)
                )
                raise PublishRefused(
                    f"the marts changed after run {run_id} was audited ({', '.join(changed)}): "
                    "audit again before publishing; the previous release stays current"
                )
            for table in tables:
                parquet = staging / "parquet" / f"{table}.parquet"
                con.execute(f"copy main.\"{table}\" to '{parquet}' (format parquet)")
                _phase(f"parquet:{table}")
            manifest = dataclasses.replace(manifest, marts=counts)
            con.execute(
                f"create table main.{RELEASE_TABLE} as select ? as release_id, ? as run_id, "
                "?::timestamp as published_at, ? as code_version, ? as validation, "
                "?::json as manifest",
                [
                    release_id,
                    run_id,
                    manifest.published_at,
                    manifest.code_version,
                    manifest.validation,
                    json.dumps(manifest.to_json()),
                ],
            )
            docs = dictionary.mart_docs(dbt_manifest, MART_SCHEMA) if dbt_manifest else {}
            undescribed = dictionary.write_dictionary(con, docs)
            if undescribed["tables"] or undescribed["columns"]:
                log.warning(
                    "published without a description (add one to the model's YAML): %s",
                    ", ".join(undescribed["tables"] + undescribed["columns"]),
                )
            parquet = staging / "parquet" / f"{DICTIONARY_TABLE}.parquet"
            con.execute(f"copy main.{DICTIONARY_TABLE} to '{parquet}' (format parquet)")
            con.execute("checkpoint")
        finally:
            con.close()
        _phase("database_closed")
        manifest.write(staging)
        _phase("manifest_written")
        if dbt_manifest is not None and catalog is not None:
            page = staging / DOCS_PAGE
            page.parent.mkdir()
            page.write_text(dictionary.static_docs_html(dbt_manifest, catalog), encoding="utf-8")
            _phase("docs_written")
        verify_release(staging, release_id)
        _fsync_tree(staging)
        _phase("synced")
        final = settings.releases_dir / release_id
        os.rename(staging, final)
        _fsync_dir(settings.releases_dir)
        _phase("renamed")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Release(release_id, final, counts, manifest)


def publish(
    settings: Settings,
    run_id: str,
    decision: str,
    manifest: Manifest | Mapping,
    expected_marts: dict[str, int] | None = None,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
) -> Release:
    """Build a release and make it current; refused unless the audit said publish.
    ``manifest`` is the audited part of the release's manifest (or its JSON form)."""
    if decision != "publish":
        raise PublishRefused(
            f"the audit of run {run_id} decided '{decision}': the previous release stays current"
        )
    _phase("start")
    with publish_lock(settings, lock_wait_seconds):
        _phase("locked")
        recover(settings)
        previous = current_release(settings)
        if not isinstance(manifest, Manifest):
            manifest = Manifest.from_json(manifest, f"the manifest of run {run_id}")
        release = build_release(
            settings,
            run_id,
            dataclasses.replace(manifest, validation=decision, previous_release=previous),
            expected_marts,
        )
        _point_current_at(settings, release.release_id)
        _phase("swapped")
        log.info(
            "published release %s: %s", release.release_id, release.marts, extra={"outcome": True}
        )
        prune(settings)
        _phase("pruned")
    return release


def rollback(settings: Settings, lock_wait_seconds: float = LOCK_WAIT_SECONDS) -> str:
    """Make the release before the current one current again; returns its id."""
    with publish_lock(settings, lock_wait_seconds):
        recover(settings)
        releases = list_releases(settings)
        current = current_release(settings)
        if current not in releases:
            raise PublishRefused("there is no current release to roll back from")
        position = releases.index(current)
        if position == 0:
            raise PublishRefused(
                f"release {current} is the oldest kept; there is nothing before it"
            )
        previous = releases[position - 1]
        verify_release(settings.releases_dir / previous, previous)
        _point_current_at(settings, previous)
        # Set aside, so the next publish does not count it as the one before the new one.
        os.rename(
            settings.releases_dir / current, settings.releases_dir / f".{current}.rolled-back"
        )
        _fsync_dir(settings.releases_dir)
        log.info("rolled back from %s to %s", current, previous, extra={"outcome": True})
        return previous


def prune(settings: Settings) -> list[str]:
    """Keep the newest ``keep_releases`` releases (never the current one), and as many
    rolled-back ones. Call with the lock held. Readers of a removed release keep reading
    it: an open file outlives its name."""
    releases = list_releases(settings)
    current = current_release(settings)
    keep = max(1, settings.keep_releases)
    removed = []
    for release_id in releases[: max(0, len(releases) - keep)]:
        if release_id != current:
            shutil.rmtree(settings.releases_dir / release_id)
            removed.append(release_id)
    rolled = sorted(settings.releases_dir.glob(".*.rolled-back"))
    for path in rolled[: max(0, len(rolled) - keep)]:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def status(settings: Settings) -> dict:
    """What is published: the current release (checked whole; ``manifest`` is its
    ``Manifest``), the kept ones, leftovers."""
    current = current_release(settings)
    info: dict = {"current": current, "releases": list_releases(settings), "leftovers": []}
    if settings.releases_dir.is_dir():
        info["leftovers"] = sorted(
            p.name for p in settings.releases_dir.iterdir() if p.name.startswith(".")
        )
    if current is not None:
        try:
            info["manifest"] = verify_release(settings.releases_dir / current, current)
            info["whole"] = True
        except ReleaseBroken as exc:
            info["whole"] = False
            info["problem"] = str(exc)
    return info
