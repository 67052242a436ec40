"""The data dictionary: every mart and column has a description in its dbt YAML; a release
carries them as table and column comments (read back by the duckdb shell) and in the
table _dictionary, which covers every published column; and the release's dbt docs site
opens offline in headless Chromium, with the catalog and lineage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from browser import CHROMIUM, SKIP_REASON, render
from released import generated_release

from pipelines import dictionary, publish

ROOT = Path(__file__).resolve().parents[1]
MARTS = ROOT / "dbt_project" / "models" / "marts"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    settings, _outcome = generated_release(tmp_path_factory)
    path = settings.current_link.resolve()
    con = duckdb.connect(str(path / "marts.duckdb"), read_only=True)
    yield settings, path, con
    con.close()


def test_each_model_has_its_own_yaml_beside_it():
    models = sorted((ROOT / "dbt_project" / "models").rglob("*.sql"))
    assert models
    for sql in models:
        spec = yaml.safe_load(sql.with_suffix(".yml").read_text(encoding="utf-8"))
        assert [m["name"] for m in spec["models"]] == [sql.stem], sql
        assert " ".join(spec["models"][0].get("description", "").split()), sql
        for test in spec.get("unit_tests", []):
            assert test["model"] == sql.stem, (sql, test["name"])


@pytest.mark.slow
def test_every_published_column_is_described_in_the_yaml(release):
    _settings, _path, con = release
    described = {}
    for path in MARTS.rglob("*.yml"):
        model = yaml.safe_load(path.read_text(encoding="utf-8"))["models"][0]
        described[model["name"]] = {
            c["name"]: (c.get("description") or "").strip() for c in model.get("columns", [])
        }
    published = con.execute(
        "select table_name, column_name from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main' "
        "and not starts_with(table_name, '_') order by table_name, column_index"
    ).fetchall()
    assert published
    missing = [f"{t}.{c}" for t, c in published if not described.get(t, {}).get(c)]
    assert missing == []


@pytest.mark.slow
def test_the_dictionary_covers_every_published_column(release):
    _settings, path, con = release
    columns = con.execute(
        "select table_name, column_name, data_type, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main' "
        "order by table_name, column_index"
    ).fetchall()
    entries = {
        (t, c): (ty, d)
        for t, c, ty, d in con.execute(
            "select table_name, column_name, data_type, description from _dictionary "
            "where column_name is not null"
        ).fetchall()
    }
    assert {(t, c) for t, c, _ty, _cm in columns} == set(entries)
    for table, column, data_type, comment in columns:
        assert entries[(table, column)][0] == data_type, (table, column)
        assert entries[(table, column)][1], (table, column)
        assert comment == entries[(table, column)][1], (table, column)
    tables = con.execute(
        "select t.table_name, t.comment, d.description from duckdb_tables() t "
        "left join _dictionary d on d.table_name = t.table_name and d.column_name is null "
        "where t.schema_name = 'main'"
    ).fetchall()
    assert {t for t, _c, _d in tables} >= {"_release", "_dictionary", "origin_by_year"}
    for table, comment, description in tables:
        assert description and comment == description, table
    # the mart's own words, from its YAML
    origin = yaml.safe_load((MARTS / "origin_by_year.yml").read_text(encoding="utf-8"))
    yaml_text = {c["name"]: c["description"] for c in origin["models"][0]["columns"]}
    assert entries[("origin_by_year", "n_third_country")][1] == " ".join(
        yaml_text["n_third_country"].split()
    )
    assert (path / "parquet" / "_dictionary.parquet").is_file()
    publish.verify_release(path, path.name)  # the extra table keeps the release whole


@pytest.mark.slow
def test_the_duckdb_shell_reads_the_comments(release):
    _settings, path, con = release
    shell = Path(sys.executable).with_name("duckdb")
    out = subprocess.run(
        [
            str(shell),
            "-readonly",
            "-csv",
            str(path / "marts.duckdb"),
            "-c",
            "select comment from duckdb_columns() "
            "where table_name = 'origin_by_year' and column_name = 'n_us_sourced'",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    want = con.execute(
        "select description from _dictionary "
        "where table_name = 'origin_by_year' and column_name = 'n_us_sourced'"
    ).fetchall()[0][0]
    assert want in out.stdout


def test_an_undescribed_column_is_reported(tmp_path):
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    con.execute("create table main.m as select 1 as a, 2 as b")
    docs = {"m": dictionary.ModelDocs("model.x.m", "A mart.", {"a": "Column a."})}
    missing = dictionary.write_dictionary(con, docs)
    assert missing == {"tables": [], "columns": ["m.b"]}
    assert con.execute(
        "select column_name, comment from duckdb_columns() where table_name = 'm' order by 1"
    ).fetchall() == [("a", "Column a."), ("b", None)]
    con.close()


@pytest.mark.slow
def test_the_docs_site_holds_catalog_and_lineage_and_nothing_from_outside(release):
    _settings, path, _con = release
    page = (path / "docs" / "index.html").read_text(encoding="utf-8")
    assert f'content="{dictionary.DOCS_CSP}"' in page
    assert "cloudfront.net" not in page
    assert '"MANIFEST.JSON INLINE DATA"' not in page and '"CATALOG.JSON INLINE DATA"' not in page
    start = page.index(
        '{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog'
    )
    catalog, _end = json.JSONDecoder().raw_decode(page, start)
    node = catalog["nodes"]["model.tracepipe.origin_by_year"]
    assert node["columns"]["n_traced"]["type"] == "BIGINT"
    assert node["stats"]["row_count"]["value"] > 0
    assert "model.tracepipe.int_trace_requests_flagged" in catalog["nodes"]  # upstream too
    start = page.index(
        '{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest'
    )
    manifest, _end = json.JSONDecoder().raw_decode(page, start)
    assert manifest["metadata"]["send_anonymous_usage_stats"] is False  # no usage tracker
    assert not any("compiled_code" in n for n in manifest["nodes"].values())
    assert manifest["parent_map"]["model.tracepipe.origin_by_year"] == [
        "model.tracepipe.origin_by_recovery_country"
    ]  # lineage: origin_by_year is the Mexico rows of origin_by_recovery_country
    assert (
        "model.tracepipe.int_trace_requests_flagged"
        in manifest["parent_map"]["model.tracepipe.origin_by_recovery_country"]
    )


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_the_docs_site_opens_offline_in_chromium(release, tmp_path):
    _settings, path, _con = release
    url = (path / "docs" / "index.html").as_uri() + "#!/model/model.tracepipe.origin_by_year"
    shot = tmp_path / "docs.png"
    rendered = render(url, shot, tmp_path / "run", width=1400, height=1000)
    assert rendered.requests == []
    # dbt's page drew the model: its description and the catalog's column types
    assert "origin_by_year" in rendered.dom
    assert "repeat requests left out" in rendered.dom
    assert "BIGINT" in rendered.dom
    assert shot.stat().st_size > 10_000
