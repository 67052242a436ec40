"""Each rule of reference data has one home, and the Python and SQL forms of it agree.

- Text normalisation is written twice, in Python (``reference.normalise_text``, the
  ingest's domain checks) and in SQL (the macro ``normalise_text``, every model): here
  both run on every value of every seed, and on text with accents and odd spacing, and
  give the same key.
- The serial-number words are the seed ``serial_words``; ``reference.serial_words``
  reads it, and the words are written as the models compare them (normalised).
- Which column is personal data is the seeds ``personal_data_columns`` and
  ``personal_data_name_rules``, read by ``privacy.is_personal_data_column`` and by the
  marts' post-hook (``macros/personal_data.sql``): both decide the same on every column
  of the project's models and on names that must and must not be refused, and the
  post-hook really stops dbt when a mart has such a column.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import duckdb
import jinja2
import polars as pl
import pytest
import yaml

from pipelines import contracts, privacy, reference
from pipelines.config import PROJECT_ROOT, Settings
from pipelines.transform import run_dbt

DBT = PROJECT_ROOT / "dbt_project"


def macro(path: Path, call: str, **context) -> str:
    """Render one call of a dbt macro file with plain Jinja (the macros used here call
    nothing of dbt's but what ``context`` gives)."""
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    return env.from_string(path.read_text() + "{{ " + call + " }}").render(**context)


def seed_text_values() -> set[str]:
    values: set[str] = set()
    for path in sorted((DBT / "seeds").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                values.update(v for v in row.values() if v)
    return values


# --- text normalisation ------------------------------------------------------------------


def test_python_and_sql_normalise_every_seed_value_alike():
    values = sorted(seed_text_values()) + [
        "  nuevo   león ",
        "Ciudad Juárez",
        "MICHOACÁN DE OCAMPO",
        "escopeta\tcalibre 12",
        "Querétaro\n",
        "smith & wesson",
        "",
        "   ",
    ]
    assert len(values) > 500  # every seed's values, not a handful
    sql = macro(DBT / "macros" / "text.sql", "normalise_text('v')")
    con = duckdb.connect()
    try:
        con.execute("create table t (i integer, v varchar)")
        con.executemany("insert into t values (?, ?)", list(enumerate(values)))
        by_sql = dict(con.execute(f"select i, {sql} from t").fetchall())
    finally:
        con.close()
    differ = [
        (v, reference.normalise_text(v), by_sql[i])
        for i, v in enumerate(values)
        if (reference.normalise_text(v) or None) != by_sql[i]
    ]
    assert not differ, differ[:10]


def test_seed_keys_are_written_normalised():
    # A key the models match on is in the form both normalisations give.
    for seed, column in (
        ("serial_words", "word"),
        ("firearm_types", "raw_key"),
        ("mexican_state_aliases", "alias_key"),
    ):
        for row in reference.seed_rows(seed):
            assert reference.normalise_text(row[column]) == row[column], (seed, row)


# --- serial words ------------------------------------------------------------------------


def test_serial_words_come_from_their_seed():
    assert "SIN NUMERO" in reference.serial_words("missing")
    assert "LIMADO" in reference.serial_words("removal")
    missing, removal = (
        set(reference.serial_words("missing")),
        set(reference.serial_words("removal")),
    )
    assert not missing & removal
    assert {r["meaning"] for r in reference.seed_rows("serial_words")} == {"missing", "removal"}
    with pytest.raises(ValueError, match="no word meaning"):
        reference.serial_words("borrowed")
    # The model reads the seed and no word of its own.
    model = (DBT / "models" / "intermediate" / "int_trace_requests_flagged.sql").read_text()
    assert "ref('serial_words')" in model
    # (UNKNOWN is also the firearm type of an unknown type word, which the model names)
    assert not [w for w in (missing | removal) - {"UNKNOWN"} if f"'{w}'" in model]


# --- personal-data columns ---------------------------------------------------------------


def sql_personal_columns(names: list[str]) -> set[str]:
    """The post-hook's query (macros/personal_data.sql) over a table with these columns."""
    seed_file = lambda seed: str(DBT / "seeds" / f"{seed}.csv")  # noqa: E731
    query = macro(
        DBT / "macros" / "personal_data.sql",
        "personal_data_columns_of('main', 'candidates')",
        seed_file=seed_file,
    )
    con = duckdb.connect()
    try:
        columns = ", ".join(f'1 as "{n}"' for n in names)
        con.execute(f"create table main.candidates as select {columns}")
        return {r[0] for r in con.execute(query).fetchall()}
    finally:
        con.close()


MUST_REFUSE = [
    "purchaser_name",
    "purchaser_dob",
    "Purchaser_Address",
    "purchaser_id_number",
    "possessor_name",
    "buyer_dob",
    "license_name",
    "business_name",
    "premise_street",
    "mail_street",
    "voice_phone",
    "surname",
    "date_of_birth",
    "home_address",
    "ssn",
    "purchaser_hash",
]
MAY_PUBLISH = [
    "purchaser_key",
    "purchaser_status",
    "purchaser_outcome",
    "n_purchaser_determined",
    "file_name",
    "source_state_name",
    "premise_state_name",
    "recovery_country_name",
    "n_traced",
    "manufacturer",
    "recovery_state",
]


def test_the_rule_refuses_personal_names_and_allows_the_rest():
    assert {n for n in MUST_REFUSE if privacy.is_personal_data_column(n)} == set(MUST_REFUSE)
    assert {n for n in MAY_PUBLISH if privacy.is_personal_data_column(n)} == set()
    # What the ingest masks in reports is the purchaser's, from the same seed.
    assert {"purchaser_name", "purchaser_dob", "purchaser_address"} <= privacy.PII_COLUMNS
    assert "license_name" not in privacy.PII_COLUMNS
    assert privacy.personal_data_columns("multiple_sales", compare_values="id_number") == {
        "purchaser_id_number"
    }


def test_python_and_the_dbt_post_hook_decide_alike_on_every_column():
    # every column of every model, seed and source the project describes, and the names above
    names = set(MUST_REFUSE) | set(MAY_PUBLISH)
    for path in DBT.rglob("*.yml"):
        if path.name in ("dbt_project.yml", "profiles.yml") or "target" in path.parts:
            continue
        for section in ("models", "seeds"):
            for node in yaml.safe_load(path.read_text()).get(section) or []:
                names |= {c["name"] for c in node.get("columns") or []}
    for contract in contracts.CONTRACTS.values():
        names |= set(contract.columns)
    names = sorted(names, key=str.lower)
    assert len(names) > 200
    # DuckDB column names are case-insensitive: compare on distinct lower-case names
    names = sorted({n.lower(): n for n in names}.values())
    by_python = {n for n in names if privacy.is_personal_data_column(n)}
    assert sql_personal_columns(names) == by_python
    assert {n.lower() for n in by_python} >= {c.lower() for c in privacy.personal_data_columns()}


@pytest.fixture(scope="module")
def leaking_project(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("leak")
    project = root / "dbt_project"
    shutil.copytree(DBT, project, ignore=shutil.ignore_patterns("target", "logs"))
    marts = project / "models" / "marts"
    (marts / "zz_leak.sql").write_text("select 1 as n_traced, 'x' as buyer_name\n")
    (marts / "zz_clean.sql").write_text("select 1 as n_traced, 'x' as purchaser_key\n")
    return Settings.from_env(
        {
            "TRACEPIPE_DATA_DIR": str(root / "data"),
            "TRACEPIPE_PII_KEY": "test-key",
            "TRACEPIPE_DBT_PROJECT_DIR": str(project),
        }
    )


def test_dbt_refuses_a_mart_with_a_personal_data_column(leaking_project):
    result = run_dbt(leaking_project, "run", "--select", "zz_leak zz_clean")
    assert not result.success
    (failure,) = result.failures
    assert "zz_leak" in failure and "buyer_name" in failure and "personal data" in failure
    assert "'x'" not in failure  # a column is named, its values never shown
    statuses = {uid.split(".")[-1]: status for uid, status, _ in result.timings}
    assert statuses == {"zz_leak": "error", "zz_clean": "success"}


# --- one definition each -----------------------------------------------------------------


def test_the_mart_schema_is_the_one_dbt_builds():
    project = yaml.safe_load((DBT / "dbt_project.yml").read_text())
    assert project["models"]["tracepipe"]["marts"]["+schema"] == reference.MART_SCHEMA
    assert project["seeds"]["tracepipe"]["+schema"] == reference.REFERENCE_SCHEMA


def test_contract_dates_are_checked_against_the_day_of_the_check():
    frame = pl.DataFrame(
        {c: [None] for c in contracts.SEIZURES.columns},
        schema=dict.fromkeys(contracts.SEIZURES.columns, pl.Utf8),
    ).with_columns(
        seizure_id=pl.lit("S1"), seizure_date=pl.lit("2030-06-01"), firearm_type=pl.lit("RIFLE")
    )
    before = contracts.schema_for("seizures", contracts.ISO_DATE, dt.date(2030, 5, 31))
    after = contracts.schema_for("seizures", contracts.ISO_DATE, dt.date(2030, 6, 1))
    with pytest.raises(Exception, match="date_range"):
        before.validate(frame, lazy=True)
    after.validate(frame, lazy=True)
    # Without a day given, each call takes today's, not the first call's.
    today = dt.date.today()
    assert contracts.schema_for("seizures", contracts.ISO_DATE) is contracts.schema_for(
        "seizures", contracts.ISO_DATE, today
    )
