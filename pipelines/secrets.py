"""The key of the keyed hash that stands in for a purchaser in the marts.

It comes from ``TRACEPIPE_PII_KEY``. When that is unset (the embedded default), a random
key is made once and kept in the data folder, outside git, readable only by its owner,
so hashes stay stable from run to run on one machine.
"""

from __future__ import annotations

import os
import secrets

from pipelines.config import Settings


def pii_key(settings: Settings) -> str:
    if settings.pii_key:
        return settings.pii_key
    path = settings.data_dir / "secrets" / "pii_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
