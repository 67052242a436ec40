"""Personal data: which columns hold it, and how it is kept out of logs, errors and marts.

Purchaser names, birth dates, addresses and ID numbers exist only in the raw layer
(the columns: seed ``personal_data_columns``, read by ``personal_data_columns`` and
``is_pii``; a mart's column name: ``is_personal_data_column``).
Anything that reports on a row (quarantine reasons, validation reports, log lines,
error messages) shows them masked.

Masking goes by value, not only by column name. A row that lost or gained a field
carries its purchaser's name in another column (``purchase_date``, say), so what is
written about a row masks (``RowMask``):

- every value at a personal-data position, and at the positions a value could have
  shifted to from there: ``SHIFT_REACH`` either side, plus the difference between the
  row's field count and the header's (``exposed_positions``);
- every value of the row, in any column, that equals one of those values, or contains
  one of at least ``MIN_CONTAINED`` characters (compared without case).

Whole values are masked, never a part of one, so no fragment of a name is printed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache

from pipelines import reference

# Which columns hold personal data is written once, in two seeds of dbt_project/seeds
# that dbt reads too (the marts' post-hook refuse_personal_data_columns):
# personal_data_columns (the export columns, each with whether it is masked in reports)
# and personal_data_name_rules (which other column names mean personal data).


def personal_data_columns(
    kind: str | None = None, *, compare_values: str | None = None
) -> frozenset[str]:
    """The personal-data columns of the exports (seed ``personal_data_columns``): of one
    ``kind`` of export, or of all; only those whose values the audit and the tests look
    for in the marts as ``compare_values`` ('text', 'id_number'), when given."""
    return frozenset(
        row["column_name"]
        for row in reference.seed_rows("personal_data_columns")
        if (kind is None or row["export_kind"] == kind)
        and (compare_values is None or row["compare_values"] == compare_values)
    )


#: The columns masked wherever a row is reported (quarantine reasons, validation reports,
#: log lines, error messages): the purchaser's and possessor's. A licensee's are not
#: (ATF publishes its listing), though no mart may hold them either.
PII_COLUMNS = frozenset(
    row["column_name"]
    for row in reference.seed_rows("personal_data_columns")
    if row["is_masked_in_reports"] == "true"
)

MASK = "<masked>"


def is_pii(column: str) -> bool:
    """A column whose values are masked in anything written about a row."""
    return column.lower() in PII_COLUMNS


@cache
def _name_rules() -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]:
    rules = reference.seed_rows("personal_data_name_rules")
    personal = tuple(re.compile(r["pattern"]) for r in rules if r["rule"] == "personal")
    allowed = tuple(re.compile(r["pattern"]) for r in rules if r["rule"] == "allowed")
    return personal, allowed


def is_personal_data_column(column: str) -> bool:
    """A column that may not be published, by its name: one of the exports'
    personal-data columns, or a name that a ``personal`` rule of the seed
    ``personal_data_name_rules`` finds and no ``allowed`` rule does (``purchaser_key``,
    the keyed hash, is allowed; ``purchaser_name`` or ``buyer_dob`` are not)."""
    name = column.lower()
    if name in personal_data_columns():
        return True
    personal, allowed = _name_rules()
    return any(p.search(name) for p in personal) and not any(a.search(name) for a in allowed)


def mask_value(column: str, value: object) -> object:
    """The value as it may appear in a report: personal data replaced by a mask."""
    if value is None or not is_pii(column):
        return value
    return MASK


#: How far (in fields) a personal value may have moved from its column in a row whose
#: field count is right: one field lost before it and one gained after it move it one
#: place; two of each, two places.
SHIFT_REACH = 2
#: A personal value at least this long is masked inside other values too; a shorter one
#: only where a value equals it (so that "A" does not mask every word with an A).
MIN_CONTAINED = 3


def exposed_positions(
    pii_positions: Iterable[int], n_values: int, n_expected: int | None = None
) -> frozenset[int]:
    """Positions of a row of ``n_values`` fields that may hold personal data: those of
    the personal-data columns (``pii_positions``, as the header orders them) and their
    neighbours up to ``SHIFT_REACH`` plus the number of fields lost or gained."""
    missing_or_extra = abs(n_values - n_expected) if n_expected is not None else 0
    spread = SHIFT_REACH + missing_or_extra
    return frozenset(
        q for p in pii_positions for q in range(p - spread, p + spread + 1) if 0 <= q < n_values
    )


def exposed_columns(header: Sequence[str]) -> frozenset[str]:
    """The columns of a file (``header`` in the file's order) whose values may hold
    personal data when a row's fields shifted: the personal-data columns and their
    neighbours up to ``SHIFT_REACH``."""
    pii = [i for i, name in enumerate(header) if is_pii(name)]
    return frozenset(header[q] for q in exposed_positions(pii, len(header)))


def _key(value: object) -> str:
    return "" if value is None else str(value).strip().casefold()


class RowMask:
    """What may be written about one row: ``values`` are the row's fields, ``exposed``
    the positions that may hold its personal data (``exposed_positions``). Every value
    equal to, or containing, a value found at an exposed position is masked."""

    def __init__(self, values: Sequence[object], exposed: Iterable[int]):
        secrets = {_key(values[q]) for q in exposed if q < len(values)} - {""}
        self._equal = frozenset(secrets)
        self._contained = tuple(s for s in secrets if len(s) >= MIN_CONTAINED)

    def hides(self, value: object) -> bool:
        key = _key(value)
        if not key:
            return False
        return key in self._equal or any(s in key for s in self._contained)

    def value(self, value: object) -> object:
        """The value as it may be written: itself, or the mask."""
        return MASK if self.hides(value) else value

    def values(self, values: Sequence[object]) -> list[object]:
        return [self.value(v) for v in values]


def neutralise_formula(value: object) -> object:
    """A text value made safe for a CSV file that people open in a spreadsheet: one that
    starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which some
    spreadsheets skip before those) is prefixed with an apostrophe, so it is shown as
    text and never run as a formula. Other values, and non-text values, are unchanged."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


_SHA256_BLOCK = 64  # bytes: SHA-256's block, to which HMAC pads its key


def keyed_hasher(key: str) -> Callable[[str], str]:
    """HMAC-SHA256 of normalised values under one key (from ``pipelines.secrets``), hex.
    Written out as RFC 2104 defines it, H((K ^ opad) + H((K ^ ipad) + value)), with the
    two SHA-256 states of the padded key made once and copied for each value: a third
    less time than copying an ``hmac`` object (which copies both in Python), and the
    staging views call this once per trace row (tests/test_purchaser_key.py compares
    it with ``hmac``)."""
    if not key:
        raise ValueError("a keyed hash needs a secret key (pipelines.secrets.pii_key)")
    block = key.encode()
    if len(block) > _SHA256_BLOCK:
        block = hashlib.sha256(block).digest()
    block = block.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block)).copy

    def hashed(value: str) -> str:
        digest = inner()
        digest.update(value.encode())
        result = outer()
        result.update(digest.digest())
        return result.hexdigest()

    return hashed
