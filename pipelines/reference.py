"""Reference tables shared by the Python contracts and the dbt models.

The dbt seeds in ``dbt_project/seeds`` are the single source: the ingest contracts read
the same CSV files that dbt loads as seeds, so a code accepted at the door is a code
the models know.
"""

from __future__ import annotations

import csv
import unicodedata
from functools import cache

from pipelines.config import PROJECT_ROOT

SEEDS_DIR = PROJECT_ROOT / "dbt_project" / "seeds"

# Serial-number words that mean "there is no serial" (a missing identifier) and words
# that record a removal (an altered serial). export-formats.md lists both.
SERIAL_MISSING_WORDS = ("NONE", "N/A", "S/N", "SIN NUMERO", "UNKNOWN", "NO VISIBLE")
SERIAL_REMOVAL_WORDS = ("OBLITERATED", "BORRADO", "LIMADO", "RAYADO", "GROUND OFF")


@cache
def seed_rows(name: str) -> tuple[dict[str, str], ...]:
    with (SEEDS_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def seed_values(name: str, column: str) -> frozenset[str]:
    return frozenset(row[column] for row in seed_rows(name))


def normalise_text(value: str) -> str:
    """Upper case, accents removed, runs of spaces folded: the key every match uses."""
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
