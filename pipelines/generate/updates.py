"""Record updates: rows sent again in a later file for a key already sent.

A trace request keeps its trace number for life, and a later export carries it again
when its result or a field changes (export-formats.md, "Delivery"). The generator writes
three kinds of update (``UpdateRates``):

- ``pending_completed``: the request is first written PENDING in its own request month's
  file (status and result PENDING, no dealer, purchase or purchaser fields), and the
  calibrated, completed row is written again in a later month's file;
- ``corrected_row``: the request is first written with one wrong but valid value (a
  misspelt city, a wrong model or calibre, another real Mexican state), and the
  calibrated row is written again in a later month's file; seizures likewise, corrected
  in the next year's file;
- ``identical_resend``: the calibrated row is written again, unchanged, in a later file
  (traces, multiple-sale rows; seizures sent twice in the next year's file are
  ``duplicate_seizure`` rows, a DefectRates field).

The later row is always the calibrated row, appended after the later file's own rows,
so the current version of every key (later export date, then later file, then later
row) is exactly the calibrated data. Choices are drawn with their own seeded
generators, so the rest of the data does not depend on the update rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.generate import population as P
from pipelines.generate.plan import DefectRates, R, UpdateRates, round_half_up
from pipelines.generate.rand import Hasher

# update kinds (index into the names below)
U_PENDING, U_CORRECTED, U_RESEND = range(3)
UPDATE_DEFECTS = ("pending_completed", "corrected_row", "identical_resend")
# how the ingest must count the later row: a new version of a key first loaded from an
# earlier file (both ``version_*`` handlings: it changes the record), or a row identical
# to the current version (``unchanged``: loaded, changes nothing)
UPDATE_HANDLING = ("version_new", "version_changed", "unchanged")
# how a row is written in its own file: as the calibrated row, or as an earlier version
V_FINAL, V_PENDING, V_CORRECTED = 0, 1, 2
_FIRST_VARIANT = np.array([V_PENDING, V_CORRECTED, V_FINAL], dtype=np.int8)
# results a pending request can be completed with (those of a US-sourced firearm whose
# trace reached a dealer or was closed as too old: a trace status COMPLETED)
COMPLETED_RESULTS = (
    R["PURCHASER_IDENTIFIED"],
    R["FFL_IDENTIFIED_NO_PURCHASER"],
    R["TOO_OLD"],
    R["FFL_OUT_OF_BUSINESS_RECORDS_MISSING"],
)
# fields a trace correction changes, and seizure corrections
TRACE_FIELDS = ("recovery_city", "model", "caliber", "recovery_state")
F_CITY, F_MODEL, F_CALIBER, F_STATE = range(4)
SEIZURE_FIELDS = ("model", "caliber")


def update_count(rate: float, rows: int) -> int:
    """How many updates a rate gives: ``round_half_up(rate * rows)``, at least one when
    the rate is positive (before capping at the rows that can be chosen)."""
    k = round_half_up(rate * rows)
    return max(k, 1) if rate > 0 and rows > 0 else k


def earlier_detail(file: str, row: int) -> str:
    return f"earlier version {file} row {row}"


@dataclass
class Updates:
    """Updated rows of one kind, sorted by their position in the kind's row order."""

    pos: np.ndarray  # position of the calibrated row (request position, report row)
    kind: np.ndarray  # U_*
    source_file: np.ndarray  # index of the file holding the first version
    target_file: np.ndarray  # index of the later file the update is appended to

    @classmethod
    def empty(cls) -> Updates:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.astype(np.int8), z, z)

    def __len__(self) -> int:
        return len(self.pos)

    def first_variant(self, pos: np.ndarray) -> np.ndarray:
        """How each row at ``pos`` is written in its own file (``V_*``)."""
        out = np.zeros(len(pos), dtype=np.int8)
        if not len(self.pos):
            return out
        i = np.minimum(np.searchsorted(self.pos, pos), len(self.pos) - 1)
        hit = self.pos[i] == pos
        out[hit] = _FIRST_VARIANT[self.kind[i[hit]]]
        return out

    def by_target(self) -> list[tuple[int, np.ndarray]]:
        """(target file, indexes into the arrays sorted by position) per target file."""
        if not len(self.pos):
            return []
        order = np.argsort(self.target_file, kind="stable")
        t = self.target_file[order]
        bounds = np.flatnonzero(np.diff(t)) + 1
        return [(int(self.target_file[g[0]]), np.sort(g)) for g in np.split(order, bounds)]

    def source_files(self) -> set[int]:
        """Files holding a row that a later file supersedes or repeats."""
        return {int(f) for f in np.unique(self.source_file)}


def _targets(rng: np.random.Generator, source: np.ndarray, n_files: int, max_later: int) -> np.ndarray:
    step = rng.integers(1, max_later + 1, len(source))
    return np.minimum(source + step, n_files - 1)


def _finish(rng, picks: list[tuple[int, np.ndarray]], starts: np.ndarray, max_later: int) -> Updates:
    pos = np.concatenate([p for _k, p in picks]).astype(np.int64)
    kind = np.concatenate([np.full(len(p), k, dtype=np.int8) for k, p in picks])
    order = np.argsort(pos, kind="stable")
    pos, kind = pos[order], kind[order]
    source = np.searchsorted(starts, pos, side="right") - 1
    return Updates(pos, kind, source, _targets(rng, source, len(starts), max_later))


def choose_trace_updates(
    seed: int, rates: UpdateRates, defects: DefectRates, pop: P.Population, starts: np.ndarray
) -> Updates:
    """Requests updated in a later month's file. ``starts``: first request position of
    each trace file (files in month order). A request is eligible when it carries no
    defect (not malformed, incomplete, altered, restored, a repeat request, a firearm
    requested again, an unlisted dealer) and a later file exists."""
    n = len(pop.req_fid)
    shares = (rates.pending_completed, rates.corrected_row, rates.identical_resend)
    if len(starts) < 2 or not any(shares):
        return Updates.empty()
    rng = np.random.default_rng([seed, 71])
    fid = pop.req_fid
    repeated = np.zeros(pop.n_firearms, dtype=bool)
    repeated[fid[pop.req_repeat]] = True
    result = pop.result[fid]
    ok = ~pop.req_repeat & ~repeated[fid]
    del repeated
    ok &= pop.malform[fid] == 0
    ok &= ~np.isin(result, [R["INCOMPLETE_REQUEST"], R["OBLITERATED_SERIAL"]])
    ok &= pop.dstate[fid] != P.D_NIL
    ok &= ~P.restored_mask(Hasher(seed), fid, result, defects.restored_serial)
    ok[int(starts[-1]) :] = False  # the last file has no later file
    completed = np.isin(result, COMPLETED_RESULTS)
    picks = []
    for k, share in enumerate(shares):
        cand = np.flatnonzero(ok & completed) if k == U_PENDING else np.flatnonzero(ok)
        size = min(update_count(share, n), len(cand))
        chosen = rng.choice(cand, size=size, replace=False) if size else cand[:0]
        ok[chosen] = False
        picks.append((k, chosen))
    return _finish(rng, picks, starts, rates.max_months_later)


def choose_dl3_resends(seed: int, rates: UpdateRates, reports: dict[str, np.ndarray], starts: np.ndarray) -> Updates:
    """Multiple-sale rows sent again unchanged in a later month's file (rows without a
    defect: not malformed, not a rifle reported again)."""
    n = len(reports["fid"])
    if len(starts) < 2 or not rates.dl3_resend:
        return Updates.empty()
    rng = np.random.default_rng([seed, 73])
    ok = (reports["malform"] == 0) & ~reports["again"]
    ok[int(starts[-1]) :] = False
    cand = np.flatnonzero(ok)
    size = min(update_count(rates.dl3_resend, n), len(cand))
    chosen = rng.choice(cand, size=size, replace=False) if size else cand[:0]
    return _finish(rng, [(U_RESEND, chosen)], starts, rates.max_months_later)


def choose_seizure_corrections(seed: int, rates: UpdateRates, seiz: dict[str, np.ndarray]) -> np.ndarray:
    """Seizure rows (sorted indexes) first written with a wrong model or calibre and
    corrected in the next year's file: not malformed, not sent twice, not of the last year."""
    n = len(seiz["fid"])
    if not rates.corrected_seizure or not n:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng([seed, 72])
    ok = (seiz["malform"] == 0) & (seiz["year"] < seiz["year"].max())
    ok[seiz["dup"]] = False
    cand = np.flatnonzero(ok)
    size = min(update_count(rates.corrected_seizure, n), len(cand))
    return np.sort(rng.choice(cand, size=size, replace=False)) if size else cand[:0]


def other_value(h: Hasher, ids: np.ndarray, stream: str, index: np.ndarray, n_values: int) -> np.ndarray:
    """Another index into a table of ``n_values`` distinct values, never ``index``."""
    return (index + 1 + h.below(ids, stream, max(n_values - 1, 1))) % n_values


def misspell(value: str, u: float) -> str:
    """The value with one inner letter dropped (so it differs after any normalisation)."""
    inner = [i for i in range(1, len(value) - 1) if value[i].isalpha()]
    if not inner:
        return value + value[-1:]
    i = inner[min(int(u * len(inner)), len(inner) - 1)]
    return value[:i] + value[i + 1 :]
