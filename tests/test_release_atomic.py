"""Releases are atomic: readers in other processes never see an error or a torn release
while the pipeline publishes, a publish killed at any point leaves the old or the new
release whole, and two publishes never interleave.

These tests publish marts written straight into a small warehouse (no dbt, no GX), so
they can publish many times. Every row of every mart carries the number of the publish
that wrote it: a reader that sees two numbers in one release has read a torn release.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from conftest import make_settings

from pipelines import publish
from pipelines.config import PROJECT_ROOT, Settings
from pipelines.manifest import Manifest

USES_DBT_STATE = False  # runs no dbt build: need not wait for conftest.built

BIG_ROWS = 150_000  # makes a publish last long enough to be killed in the middle
KILLS = int(os.environ.get("TRACEPIPE_TEST_KILLS", "40"))  # random kills; raise it to soak


def write_marts(settings: Settings, version: int, big_rows: int = 20_000) -> dict[str, int]:
    """Replace the warehouse's marts with ones stamped ``version``; returns row counts."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    counts = {"small": 10 + version, "medium": 1_000 + 7 * version, "big": big_rows + version}
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("create schema if not exists marts")
        for table, n in counts.items():
            con.execute(
                f"create or replace table marts.{table} as select {version} as version, "
                f"i, 'row ' || i as label from range({n}) t(i)"
            )
    finally:
        con.close()
    return counts


def new_settings(root: Path, keep: int = 3) -> Settings:
    base = make_settings(root)
    settings = Settings(**{**base.__dict__, "keep_releases": keep})
    settings.ensure_dirs()
    return settings


def publish_version(settings: Settings, version: int, **kwargs) -> publish.Release:
    return publish.publish(
        settings, f"r{version:04d}", "publish", {"run_id": f"r{version:04d}"}, **kwargs
    )


def assert_whole(settings: Settings) -> Manifest:
    current = publish.current_release(settings)
    assert current is not None
    manifest = publish.verify_release(settings.releases_dir / current, current)
    version = int(manifest.run_id[1:])
    con = duckdb.connect(str(settings.current_link / "marts.duckdb"), read_only=True)
    try:
        for mart in manifest.marts:
            versions = con.execute(f"select distinct version from {mart}").fetchall()
            assert versions == [(version,)], (mart, versions)
    finally:
        con.close()
    return manifest


def leftovers(settings: Settings) -> list[str]:
    """Anything under published/ that is neither a whole release, a rolled-back one, the
    current link nor the lock."""
    whole = set(publish.list_releases(settings))
    odd = [
        p.name
        for p in settings.releases_dir.iterdir()
        if p.name not in whole and not p.name.endswith(".rolled-back")
    ]
    odd += [
        p.name
        for p in settings.published_dir.iterdir()
        if p.name not in ("releases", "current", publish.LOCK_NAME)
    ]
    return odd


# --- readers during publishes ------------------------------------------------------------

READER = textwrap.dedent(
    """
    import json, os, sys, time
    import duckdb

    published, stop, out, mode = sys.argv[1:5]
    current = os.path.join(published, "current")
    reads, errors, releases = 0, [], set()
    while not os.path.exists(stop):
        try:
            if mode == "duckdb":
                # What an analyst does: open the published file read-only, query, close.
                con = duckdb.connect(os.path.join(current, "marts.duckdb"), read_only=True)
                try:
                    (release_id, run_id, manifest), = con.execute(
                        "select release_id, run_id, manifest from _release").fetchall()
                    manifest = json.loads(manifest)
                    version = int(run_id[1:])
                    for mart, n in manifest["marts"].items():
                        got = con.execute(
                            f"select count(*), min(version), max(version) from {mart}"
                        ).fetchall()[0]
                        if got != (n, version, version):
                            errors.append(f"{release_id}: {mart} {got} != {(n, version)}")
                finally:
                    con.close()
            else:
                # Several Parquet files of one release: resolve current once, read under it.
                folder = os.path.realpath(current)
                manifest = json.load(open(os.path.join(folder, "manifest.json")))
                release_id = manifest["release_id"]
                version = int(manifest["run_id"][1:])
                con = duckdb.connect()
                try:
                    for mart, n in manifest["marts"].items():
                        path = os.path.join(folder, "parquet", mart + ".parquet")
                        got = con.execute(
                            f"select count(*), min(version), max(version) from '{path}'"
                        ).fetchall()[0]
                        if got != (n, version, version):
                            errors.append(f"{release_id}: {mart}.parquet {got} != {(n, version)}")
                finally:
                    con.close()
            releases.add(release_id)
            reads += 1
        except Exception as exc:  # any error at all is a failure of the test
            errors.append(f"{type(exc).__name__}: {exc}")
    json.dump({"reads": reads, "errors": errors[:20], "n_errors": len(errors),
               "releases": sorted(releases)}, open(out, "w"))
    """
)


def test_readers_see_whole_releases_without_errors_during_several_publishes(tmp_path):
    settings = new_settings(tmp_path / "data", keep=3)
    write_marts(settings, 0)
    publish_version(settings, 0)
    script = tmp_path / "reader.py"
    script.write_text(READER)
    stop = tmp_path / "stop"
    readers = []
    for n, mode in enumerate(["duckdb", "duckdb", "parquet"]):
        out = tmp_path / f"reader{n}.json"
        proc = subprocess.Popen(
            [sys.executable, str(script), str(settings.published_dir), str(stop), str(out), mode]
        )
        readers.append((proc, out))
    try:
        time.sleep(1.5)  # readers are up and reading release 0
        n_publishes = 8
        for version in range(1, n_publishes + 1):
            write_marts(settings, version)
            publish_version(settings, version)
            time.sleep(0.3)
    finally:
        stop.touch()
        for proc, _ in readers:
            proc.wait(timeout=60)
    results = [json.loads(out.read_text()) for _, out in readers]
    for result in results:
        assert result["n_errors"] == 0, result["errors"]
        assert result["reads"] > 20, result
        # Each reader saw several releases come and go, old ones pruned meanwhile.
        assert len(result["releases"]) >= 3, result["releases"]
    assert publish.list_releases(settings) == ["r0006", "r0007", "r0008"]
    assert assert_whole(settings).run_id == "r0008"


def test_the_manifest_file_and_the_release_table_hold_the_same_manifest(tmp_path):
    settings = new_settings(tmp_path / "data")
    counts = write_marts(settings, 1)
    publish_version(settings, 1)
    folder = settings.releases_dir / "r0001"
    on_disk = json.loads((folder / "manifest.json").read_text())
    con = duckdb.connect(str(folder / "marts.duckdb"), read_only=True)
    try:
        ((in_table,),) = con.execute("select manifest from _release").fetchall()
    finally:
        con.close()
    assert json.loads(in_table) == on_disk
    assert on_disk["release_id"] == "r0001" and on_disk["sequence"] == 1
    assert on_disk["marts"] == counts and on_disk["validation"] == "publish"
    assert "withheld" not in on_disk  # nothing withheld: the key is left out, as always
    assert Manifest.read(folder).to_json() == on_disk


def test_the_duckdb_shell_opens_the_current_release_while_python_reads_it(tmp_path):
    shell = Path(sys.executable).with_name("duckdb")
    # duckdb-cli is a locked dependency: a missing shell is a broken install, not a skip.
    assert shell.exists(), f"{shell} is missing: the duckdb-cli package did not install"
    settings = new_settings(tmp_path / "data")
    write_marts(settings, 1)
    publish_version(settings, 1)
    reader = duckdb.connect(str(settings.current_link / "marts.duckdb"), read_only=True)
    try:
        proc = subprocess.run(
            [
                str(shell),
                "-readonly",
                "-csv",
                str(settings.current_link / "marts.duckdb"),
                "select release_id, (select count(*) from big) from _release",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        reader.close()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "r0001,20001"


def test_a_reader_holding_a_release_open_keeps_reading_it_after_it_is_pruned(tmp_path):
    settings = new_settings(tmp_path / "data", keep=1)
    counts = write_marts(settings, 1)
    publish_version(settings, 1)
    reader = duckdb.connect(str(settings.current_link / "marts.duckdb"), read_only=True)
    try:
        for version in (2, 3):
            write_marts(settings, version)
            publish_version(settings, version)  # the pipeline never waits for the reader
        assert publish.list_releases(settings) == ["r0003"]
        assert reader.execute("select count(*), max(version) from big").fetchall() == [
            (counts["big"], 1)
        ]
    finally:
        reader.close()


# --- killing a publish -------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    sys.path.insert(0, {root!r})
    import pandas  # as in the pipeline's own processes (duckdb imports it on first use)
    from pipelines import publish
    from pipelines.config import Settings

    data, run_id, kill_at, pause_at, keep = sys.argv[1:6]
    settings = Settings.from_env({{"TRACEPIPE_DATA_DIR": data, "TRACEPIPE_KEEP_RELEASES": keep}})

    def hook(phase):
        if phase == "start":
            print("started", flush=True)
        if phase == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if phase == pause_at:
            print("paused at " + phase, flush=True)
            time.sleep(3)

    publish.PHASE_HOOK = hook
    release = publish.publish(settings, run_id, "publish", {{"run_id": run_id}}, lock_wait_seconds=60)
    print("published " + release.release_id, flush=True)
    """
).format(root=str(PROJECT_ROOT))


def start_child(tmp_path: Path, settings: Settings, run_id: str, kill_at="", pause_at=""):
    script = tmp_path / "child.py"
    if not script.exists():
        script.write_text(CHILD)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(settings.data_dir),
            run_id,
            kill_at,
            pause_at,
            str(settings.keep_releases),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "started", proc.stderr.read()
    return proc


def fork_publish(settings: Settings, run_id: str, kill_at: str = "") -> tuple[int, int]:
    """Publish in a forked child process (it shares this process's imports, so it starts
    at once); returns (pid, fd) once the child has started publishing: the fd reads the
    phases it reaches. The parent holds no DuckDB connection while it forks."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: publish, and die at ``kill_at`` if asked
        os.close(read_end)
        try:

            def hook(phase: str) -> None:
                os.write(write_end, f"{phase}\n".encode())
                if phase == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)

            publish.PHASE_HOOK = hook
            publish.publish(settings, run_id, "publish", {"run_id": run_id}, lock_wait_seconds=60)
        except BaseException:  # noqa: BLE001 - report nothing, exit non-zero
            os._exit(3)
        os._exit(0)
    os.close(write_end)
    first = b""
    while not first.endswith(b"\n"):
        chunk = os.read(read_end, 1)
        assert chunk, "the publishing child died before it started"
        first += chunk
    assert first == b"start\n", first
    return pid, read_end


def wait_child(pid: int, fd: int) -> int:
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


PHASES = [
    "locked",
    "staging_created",
    "copied:big",
    "copied:small",
    "parquet:big",
    "parquet:small",
    "database_closed",
    "manifest_written",
    "synced",
    "renamed",
    "link_created",
    "swapped",
    "pruned",
]
SWITCHED = {"swapped", "pruned"}  # killed after the switch: the new release is current


def test_a_publish_killed_at_any_phase_leaves_the_old_or_the_new_release_whole(tmp_path):
    settings = new_settings(tmp_path / "data", keep=3)
    write_marts(settings, 0)
    publish_version(settings, 0)
    version = 0
    for phase in PHASES:
        before = publish.current_release(settings)
        version += 1
        write_marts(settings, version)
        pid, fd = fork_publish(settings, f"r{version:04d}", kill_at=phase)
        assert wait_child(pid, fd) == -signal.SIGKILL, phase

        manifest = assert_whole(settings)  # current is whole, killed or not
        expected = f"r{version:04d}" if phase in SWITCHED else before
        assert publish.current_release(settings) == expected, phase
        assert manifest.release_id == expected

        # The next publish cleans up and succeeds; the killed one's leftovers are gone.
        version += 1
        write_marts(settings, version)
        publish_version(settings, version)
        assert leftovers(settings) == [], phase
        assert assert_whole(settings).run_id == f"r{version:04d}"
        for release_id in publish.list_releases(settings):
            publish.verify_release(settings.releases_dir / release_id, release_id)


@pytest.mark.slow  # a soak of KILLS random kills; the test above kills at every phase
def test_a_publish_killed_after_random_delays_leaves_a_whole_release(tmp_path):
    settings = new_settings(tmp_path / "data", keep=2)
    write_marts(settings, 0, big_rows=BIG_ROWS)
    publish_version(settings, 0)
    # How long a publish takes here, from the moment the child starts publishing.
    write_marts(settings, 1, big_rows=BIG_ROWS)
    pid, fd = fork_publish(settings, "r0001")
    started = time.monotonic()
    assert wait_child(pid, fd) == 0
    duration = time.monotonic() - started

    rng = random.Random(2016)
    outcomes = {"old": 0, "new": 0}
    last_phases = set()
    version = 1
    for _ in range(KILLS):
        before = publish.current_release(settings)
        version += 1
        write_marts(settings, version, big_rows=BIG_ROWS)
        pid, fd = fork_publish(settings, f"r{version:04d}")
        time.sleep(rng.uniform(0, duration * 1.2))
        os.kill(pid, signal.SIGKILL)
        reached = b""
        while chunk := os.read(fd, 4096):
            reached += chunk
        wait_child(pid, fd)
        # A kill may land before the child reports its first phase.
        last_phases.add((reached.decode().split() or ["before_first_phase"])[-1])
        manifest = assert_whole(settings)
        assert manifest.release_id in (before, f"r{version:04d}")
        outcomes["new" if manifest.release_id != before else "old"] += 1
    # The next publish cleans whatever the last kill left.
    version += 1
    write_marts(settings, version, big_rows=BIG_ROWS)
    publish_version(settings, version)
    assert leftovers(settings) == []
    assert assert_whole(settings).run_id == f"r{version:04d}"
    assert outcomes["old"] > 0, outcomes  # some kills did land inside a publish
    print(f"publish {duration:.2f} s; {KILLS} kills: {outcomes}; last phases {sorted(last_phases)}")


def test_a_finished_release_that_never_became_current_is_removed_by_the_next_publish(tmp_path):
    settings = new_settings(tmp_path / "data")
    write_marts(settings, 1)
    publish_version(settings, 1)
    write_marts(settings, 2)
    pid, fd = fork_publish(settings, "r0002", kill_at="link_created")
    assert wait_child(pid, fd) == -signal.SIGKILL
    assert publish.current_release(settings) == "r0001"
    assert "r0002" in publish.list_releases(settings)  # whole, but never what analysts saw

    write_marts(settings, 3)
    publish_version(settings, 3)
    assert publish.list_releases(settings) == ["r0001", "r0003"]
    assert publish.rollback(settings) == "r0001"  # back to what analysts saw before


# --- one publish at a time ---------------------------------------------------------------


def test_a_second_publish_waits_for_the_first_and_never_interleaves(tmp_path):
    settings = new_settings(tmp_path / "data")
    write_marts(settings, 1)
    first = start_child(tmp_path, settings, "r0001", pause_at="parquet:big")
    assert first.stdout.readline().startswith("paused at")
    # While the first holds the lock, a second one that will not wait is refused.
    with pytest.raises(publish.PublishRefused, match=f"pid {first.pid}"):
        publish.publish(settings, "r0002", "publish", {"run_id": "r0002"}, lock_wait_seconds=0.5)
    assert not (settings.releases_dir / "r0002").exists()
    # One that waits goes after it.
    publish.publish(settings, "r0002", "publish", {"run_id": "r0002"}, lock_wait_seconds=60)
    first.wait(timeout=60)
    assert first.returncode == 0, first.stderr.read()
    assert publish.list_releases(settings) == ["r0001", "r0002"]
    assert publish.current_release(settings) == "r0002"
    # The second release was built from the same warehouse after the first finished.
    for release_id in ("r0001", "r0002"):
        manifest = publish.verify_release(settings.releases_dir / release_id, release_id)
        assert manifest.marts["big"] == 20_001
    on_disk = json.loads((settings.releases_dir / "r0002" / "manifest.json").read_text())
    assert on_disk["previous_release"] == "r0001"


# --- rollback, prune, refusals -----------------------------------------------------------


def test_rollback_returns_to_the_previous_release_in_publish_order(tmp_path):
    settings = new_settings(tmp_path / "data")
    # Names that sort the other way round from the order they were published in.
    for version, run_id in ((1, "zz-first"), (2, "aa-second")):
        write_marts(settings, version)
        publish.publish(settings, run_id, "publish", {"run_id": f"r{version:04d}"})
    assert publish.list_releases(settings) == ["zz-first", "aa-second"]
    assert publish.rollback(settings) == "zz-first"
    assert assert_whole(settings).release_id == "zz-first"
    with pytest.raises(publish.PublishRefused, match="oldest kept"):
        publish.rollback(settings)
    # The rolled-back release is set aside, and the next publish follows the current one.
    write_marts(settings, 3)
    publish_version(settings, 3)
    assert publish.list_releases(settings) == ["zz-first", "r0003"]
    assert publish.rollback(settings) == "zz-first"


def test_marts_changed_after_the_audit_are_not_published(tmp_path):
    settings = new_settings(tmp_path / "data")
    counts = write_marts(settings, 1)
    publish_version(settings, 1, expected_marts=counts)
    audited = write_marts(settings, 2)
    write_marts(settings, 3)  # someone rebuilt the marts after the audit
    with pytest.raises(publish.PublishRefused, match="changed after run r0002 was audited"):
        publish_version(settings, 2, expected_marts=audited)
    assert publish.current_release(settings) == "r0001"
    assert leftovers(settings) == [] and publish.list_releases(settings) == ["r0001"]


def test_a_broken_release_is_reported_by_status_and_never_rolled_back_to(tmp_path):
    settings = new_settings(tmp_path / "data")
    for version in (1, 2):
        write_marts(settings, version)
        publish_version(settings, version)
    assert publish.status(settings)["whole"] is True
    (settings.releases_dir / "r0001" / "parquet" / "small.parquet").unlink()
    with pytest.raises(publish.ReleaseBroken, match="small.parquet"):
        publish.rollback(settings)
    assert publish.current_release(settings) == "r0002"
    os.remove(settings.releases_dir / "r0002" / "manifest.json")
    info = publish.status(settings)
    assert info["whole"] is False and "manifest" in info["problem"]
