"""The purchaser key: an HMAC-SHA256 computed by a function that reads the key at run
time, so no SQL text, view, log, dbt artifact, report or published file holds it; a new
key rehashes every purchaser; without a key the marts that carry a hash are withheld;
a key file others can read is refused."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import duckdb
import pytest
from conftest import copy_data, land_sample, with_dbt_state

from pipelines import privacy, steps
from pipelines.config import Settings
from pipelines.secrets import KeyRefused, key_id, pii_key

pytestmark = pytest.mark.slow

KEY = "KEY-5b1f0e9c7d-purchaser-hash-do-not-leak"


def settings_for(root: Path, **env: str) -> Settings:
    """Settings from ``env`` alone (no key unless it names one), for a data folder that
    starts with the session's dbt state."""
    return with_dbt_state(Settings.from_env({"TRACEPIPE_DATA_DIR": str(root), **env}))


def files_holding(root: Path, needle: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
            hits.append(str(path.relative_to(root)))
    return hits


def published(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.current_link / "marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def warehouse(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def keyed(built, tmp_path_factory) -> tuple[Settings, dict]:
    """A copy of the session's sample (conftest.built, hashed under the tests' own key)
    run again under ``KEY``, and the run's outcome."""
    root = tmp_path_factory.mktemp("key") / "data"
    copy_data(built.data_dir, root)
    s = settings_for(root, TRACEPIPE_PII_KEY=KEY)
    return s, steps.run_all(s)


def test_no_file_the_pipeline_writes_holds_the_key(keyed):
    s, _outcome = keyed
    # the warehouse (view definitions included), dbt's target, logs and partial parse,
    # the reports, the published release, the landing and rejected folders
    assert files_holding(s.data_dir, KEY.encode()) == []
    target = s.dbt_target_dir
    assert (target / "manifest.json").exists() and (target / "run_results.json").exists()
    views = warehouse(s, "select sql from duckdb_views() where not internal")
    assert views and all(KEY not in sql for (sql,) in views)
    assert any("tracepipe_purchaser_key(" in sql for (sql,) in views)


def test_the_purchaser_hash_is_an_hmac_under_the_key(keyed):
    s, _outcome = keyed
    # the sample's purchaser, normalised, with the birth date as YYYY-MM-DD
    expected = hmac.new(KEY.encode(), b"DOE, JOHN Q|1980-01-02", hashlib.sha256).hexdigest()
    keys = {k for (k,) in published(s, "select purchaser_key from repeat_purchasers")}
    assert keys == {expected}
    plain = hashlib.sha256(f"{KEY}|DOE, JOHN Q|1980-01-02".encode()).hexdigest()
    assert plain not in keys


def test_a_new_key_rehashes_every_purchaser(keyed):
    s, outcome = keyed
    assert outcome["plan"]["changed"]  # no new file, but a new key: a new release
    expected = hmac.new(KEY.encode(), b"DOE, JOHN Q|1980-01-02", hashlib.sha256).hexdigest()
    in_model = warehouse(
        s,
        "select distinct purchaser_key from intermediate.int_trace_requests_flagged "
        "where purchaser_key is not null",
    )
    assert in_model == [(expected,)]  # never a mix of two keys
    assert published(s, "select distinct purchaser_key from repeat_purchasers") == [(expected,)]
    manifest = (s.current_link / "manifest.json").read_text()
    assert key_id(KEY) in manifest and KEY not in manifest


def test_without_a_key_the_hashed_marts_are_withheld_and_the_command_says_why(tmp_path, capsys):
    from pipelines import cli

    root = tmp_path / "data"
    missing = tmp_path / "no-such-key-file"
    s = settings_for(root, TRACEPIPE_PII_KEY_FILE=str(missing))
    s.ensure_dirs()
    s.ensure_landing()
    land_sample(s)
    env = {"TRACEPIPE_DATA_DIR": str(root), "TRACEPIPE_PII_KEY_FILE": str(missing)}
    old = {k: os.environ.pop(k, None) for k in (*env, "TRACEPIPE_PII_KEY")}
    os.environ.update(env)
    try:
        assert cli.main(["run"]) == 0
    finally:
        for k, v in old.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v
    out = capsys.readouterr().out
    assert "repeat_purchasers: not published: there is no purchaser key" in out
    tables = {t for (t,) in published(s, "select table_name from duckdb_tables()")}
    assert "repeat_purchasers" not in tables and "origin_by_year" in tables
    assert not missing.exists()  # a key file that was named is never made up


def test_the_default_key_file_is_private_and_a_readable_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    s = settings_for(tmp_path / "data")
    key = pii_key(s)
    path = tmp_path / "config" / "tracepipe" / "pii_key"
    assert key and len(key) == 64 and path.read_text() == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert pii_key(s) == key  # made once
    path.chmod(0o644)
    with pytest.raises(KeyRefused, match="chmod 600"):
        pii_key(s)


@pytest.mark.parametrize(
    "key", ["k" * 16, "short-key-0123456789", "x" * 64, "long key " * 12, "clé-ünï"]
)
def test_the_keyed_hasher_is_hmac_sha256_for_keys_of_any_length(key):
    # Keys up to SHA-256's block are padded, longer ones hashed first (RFC 2104).
    hashed = privacy.keyed_hasher(key)
    for value in ("DOE, JOHN Q|1980-01-02", "", "ÑANDÚ|"):
        assert hashed(value) == hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
