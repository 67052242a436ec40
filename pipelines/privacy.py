"""Personal data: which columns hold it, and how it is kept out of logs, errors and marts.

Purchaser names, birth dates, addresses and ID numbers exist only in the raw layer.
Anything that reports on a row (quarantine reasons, validation reports, log lines,
error messages) shows them masked.
"""

from __future__ import annotations

import hashlib
import hmac

PII_COLUMNS = frozenset(
    {
        "purchaser_name",
        "purchaser_dob",
        "purchaser_address",
        "purchaser_id_number",
    }
)

MASK = "<masked>"


def is_pii(column: str) -> bool:
    return column.lower() in PII_COLUMNS


def mask_value(column: str, value: object) -> object:
    """The value as it may appear in a report: personal data replaced by a mask."""
    if value is None or not is_pii(column):
        return value
    return MASK


def mask_record(record: dict[str, object]) -> dict[str, object]:
    return {key: mask_value(key, value) for key, value in record.items()}


def keyed_hash(value: str, key: str) -> str:
    """HMAC-SHA256 of a normalised value, hex; the key comes from ``pipelines.secrets``."""
    if not key:
        raise ValueError("a keyed hash needs a secret key (pipelines.secrets.pii_key)")
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
