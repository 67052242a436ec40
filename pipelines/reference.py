"""Reference tables shared by the Python contracts and the dbt models.

The dbt seeds in ``dbt_project/seeds`` are the single source: the ingest contracts read
the same CSV files that dbt loads as seeds (schema ``reference``), so a code accepted at
the door is a code the models know. The serial-number words (``serial_words``), the
personal-data columns (``pipelines.privacy``), the country, state, firearm-type and
result codes all live there.
"""

from __future__ import annotations

import csv
import unicodedata
from functools import cache

from pipelines.config import PROJECT_ROOT

SEEDS_DIR = PROJECT_ROOT / "dbt_project" / "seeds"

#: The schema of the marts, as dbt_project.yml names it (models: marts: +schema), and
#: of the seeds: what publish copies and the audit checks.
MART_SCHEMA = "marts"
REFERENCE_SCHEMA = "reference"


@cache
def seed_rows(name: str) -> tuple[dict[str, str], ...]:
    with (SEEDS_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def seed_values(name: str, column: str) -> frozenset[str]:
    return frozenset(row[column] for row in seed_rows(name))


def serial_words(meaning: str) -> tuple[str, ...]:
    """The serial-number words of the seed ``serial_words`` with one ``meaning``:
    ``missing`` (the serial is not given) or ``removal`` (it records that the serial was
    removed). int_trace_requests_flagged compiles the same seed into its SQL."""
    words = tuple(sorted(r["word"] for r in seed_rows("serial_words") if r["meaning"] == meaning))
    if not words:
        raise ValueError(f"the seed serial_words has no word meaning {meaning!r}")
    return words


def normalise_text(value: str) -> str:
    """Upper case, accents removed, runs of spaces folded: the key every match uses. The
    SQL form is the macro normalise_text (dbt_project/macros/text.sql), which also turns
    blank into null; tests/test_reference.py proves the two agree on every seed value."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.upper().split())


def country_codes() -> frozenset[str]:
    return seed_values("countries", "country_code")


def firearm_type_keys() -> frozenset[str]:
    return seed_values("firearm_types", "raw_key")


def trace_result_codes() -> frozenset[str]:
    return seed_values("trace_results", "trace_result")


def us_state_codes() -> frozenset[str]:
    return seed_values("us_states", "state_code")
