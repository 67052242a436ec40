"""Counter-based randomness: every attribute of a record is a pure function of
(seed, record id, attribute name).

This is what lets the generator stream: a chunk of rows can be formatted on its own, in
any order and at any chunk size, and a repeat request formatted months later in another
file recomputes exactly the attributes of the firearm it repeats. Exact counts (the
calibrated totals) do not come from here but from shuffled category vectors built with
``numpy.random.Generator`` (see ``population.py``).
"""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_INV53 = 1.0 / (1 << 53)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)


class Hasher:
    """Uniform numbers keyed by (seed, stream name, id)."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._keys: dict[str, np.uint64] = {}

    def _key(self, stream: str) -> np.uint64:
        key = self._keys.get(stream)
        if key is None:
            base = (self.seed * 0x100000001B3) ^ (zlib.crc32(stream.encode()) << 20)
            key = _mix(np.array([base & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
            self._keys[stream] = key
        return key

    def bits(self, ids: np.ndarray, stream: str) -> np.ndarray:
        ids = np.asarray(ids).astype(np.uint64, copy=False)
        return _mix(ids ^ self._key(stream))

    def u(self, ids: np.ndarray, stream: str) -> np.ndarray:
        """Floats in [0, 1)."""
        return (self.bits(ids, stream) >> _S11).astype(np.float64) * _INV53

    def below(self, ids: np.ndarray, stream: str, n) -> np.ndarray:
        """Integers in [0, n) (n a scalar or an array of the same length)."""
        out = (self.u(ids, stream) * np.asarray(n)).astype(np.int64)
        return np.minimum(out, np.asarray(n) - 1)

    def choice(self, ids: np.ndarray, stream: str, weights) -> np.ndarray:
        """Index into ``weights`` drawn with those relative weights."""
        cum = np.cumsum(np.asarray(weights, dtype=np.float64))
        cum /= cum[-1]
        idx = np.searchsorted(cum, self.u(ids, stream), side="right")
        return np.minimum(idx, len(cum) - 1)


# Serial numbers --------------------------------------------------------------------------
# Each firearm gets a unique number u < SERIAL_PRIME (a bijection of its id), written in
# the format of its manufacturer. Unique numbers make every serial unique whatever the
# format, so two different firearms never look like a repeat request of each other.
SERIAL_PRIME = 99_999_989  # prime
_SERIAL_A = 48_271_337
_SERIAL_B = 12_345_679
_LETTERS = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))  # no I, O, Q: as many makers do


def serial_numbers(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and int(ids.max()) >= SERIAL_PRIME:
        raise ValueError("too many firearms for unique serial numbers (scale too large)")
    return (ids * _SERIAL_A + _SERIAL_B) % SERIAL_PRIME


SERIAL_FORMATS = ("L2D6", "L3D5", "L1D7", "D8", "D3D5", "ROM")


def format_serials(u: np.ndarray, fmt: np.ndarray) -> pl.Series:
    """Serial strings for unique numbers ``u`` (< 1e8) in formats ``fmt`` (indexes into
    ``SERIAL_FORMATS``).

    L2D6 ``AB123456``; L3D5 ``ABC12345``; L1D7 ``A1234567``; D8 ``12345678``;
    D3D5 ``123-45678``; ROM ``AB1234-56`` (Romanian AK style). The letter prefixes are
    injective functions of the leading digits, so a serial stays unique.
    """
    u = np.asarray(u, dtype=np.int64)
    fmt = np.asarray(fmt, dtype=np.int64)
    n = len(u)
    # letter prefix: value v written in base 23 with ``width`` letters
    v = np.zeros(n, dtype=np.int64)
    width = np.zeros(n, dtype=np.int64)
    for code, value, w in (
        (0, (u // 1_000_000) * 7 + 3, 2),
        (1, (u // 100_000) * 13 + 5, 3),
        (2, u // 10_000_000 + 2, 1),
        (5, (u // 1_000_000) * 5 + 1, 2),
    ):
        m = fmt == code
        v[m] = value[m]
        width[m] = w
    k = len(_LETTERS)
    letters = pl.Series(_LETTERS.tolist(), dtype=pl.Utf8)
    # One repeated digit (D8, D3D5 only) would read as a filler: such serials get a suffix.
    repeated = (u % 11_111_111 == 0) & ((fmt == 3) | (fmt == 4))
    df = pl.DataFrame(
        {
            "a": letters.gather(v // (k * k) % k),
            "b": letters.gather(v // k % k),
            "c": letters.gather(v % k),
            "w": width,
            "d8": pl.Series(u + 100_000_000).cast(pl.Utf8).str.slice(1),
            "f": fmt,
            "r": repeated,
        }
    )
    d8 = pl.col("d8")
    s = (
        pl.when(pl.col("f") == 0)
        .then(pl.concat_str("b", "c", d8.str.slice(2)))
        .when(pl.col("f") == 1)
        .then(pl.concat_str("a", "b", "c", d8.str.slice(3)))
        .when(pl.col("f") == 2)
        .then(pl.concat_str("c", d8.str.slice(1)))
        .when(pl.col("f") == 4)
        .then(pl.concat_str(d8.str.slice(0, 3), pl.lit("-"), d8.str.slice(3)))
        .when(pl.col("f") == 5)
        .then(pl.concat_str("b", "c", d8.str.slice(2, 4), pl.lit("-"), d8.str.slice(6)))
        .otherwise(d8)
    )
    s = pl.when(pl.col("r")).then(pl.concat_str(s, pl.lit("A"))).otherwise(s)
    return df.select(s.alias("serial")).to_series()
