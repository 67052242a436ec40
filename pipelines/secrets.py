"""The key of the keyed hash (HMAC-SHA256) that stands in for a purchaser in the marts.

Where it comes from, in order:

1. ``TRACEPIPE_PII_KEY``, the key itself (deployments pass it from their secret store);
2. a key file: ``TRACEPIPE_PII_KEY_FILE``, or by default ``~/.config/tracepipe/pii_key``
   (outside the repository and the data folder, so neither a clone nor a copied data
   folder carries it). The default file is made on first use, 32 random bytes in hex,
   mode 600; a key file that others can read is refused.

With no key (``TRACEPIPE_PII_KEY_FILE`` names a file that does not exist), purchasers get
no hash and the marts that hold one are not published; the pipeline says why.

The key is only ever read by Python at run time: it is handed to DuckDB as a function
(``pipelines.udfs``), never written into SQL text, a view, dbt's artifacts or a log.
Its *id*, an HMAC of a fixed text, is not secret: it tells releases keyed alike apart
from releases keyed differently, and a changed id makes the models hash again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from pipelines.config import Settings

KEY_ID_TEXT = b"tracepipe purchaser key id"


class KeyRefused(RuntimeError):
    """The key file is unsafe or unreadable; the message says what to do."""


def default_key_file() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "tracepipe" / "pii_key"


def key_file(settings: Settings) -> tuple[Path, bool]:
    """(the key file, whether it is the default one that may be made on first use)."""
    if settings.pii_key_file:
        return Path(settings.pii_key_file).expanduser(), False
    return default_key_file(), True


def pii_key(settings: Settings) -> str | None:
    """The purchaser key, or None when there is none."""
    if settings.pii_key:
        return settings.pii_key
    path, may_make = key_file(settings)
    if not path.exists():
        if not may_make:
            return None
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made by another process meanwhile
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyRefused(
            f"the purchaser key file {path} can be read by other users: make it private "
            f"with `chmod 600 {path}` and run again"
        )
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyRefused(
            f"the purchaser key file {path} cannot be read ({exc.__class__.__name__})"
        ) from exc
    if not key:
        raise KeyRefused(f"the purchaser key file {path} is empty: put a long random key in it")
    return key


def key_id(key: str | None) -> str:
    """A public name for the key: equal for equal keys, and telling nothing of the key."""
    if key is None:
        return "none"
    return hmac.new(key.encode("utf-8"), KEY_ID_TEXT, hashlib.sha256).hexdigest()[:16]
