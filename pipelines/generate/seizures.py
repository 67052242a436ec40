"""Southbound seizures (ICE-HSI, CBP, BEST): one row per firearm, one file per year.

Calibrated: firearms bound for Mexico seized 2009-2014, long and short guns exactly.
Around them: 2008 and 2015 seizures, firearms bound for Central America, rows the
ingest must quarantine, and seizures sent twice (same seizure_id).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate import catalog
from pipelines.generate import text as T
from pipelines.generate import updates as U
from pipelines.generate.plan import GAO_YEARS, DefectRates, Plan, round_half_up
from pipelines.generate.rand import Hasher, format_serials, serial_numbers

SEIZURE_HEADER = (
    "seizure_id", "seizure_date", "seizing_agency", "location", "us_state", "destination_country",
    "firearm_type", "manufacturer", "model", "caliber", "serial_number", "case_number",
)
SEIZURE_MALFORMED = ("bad_date", "impossible_date", "unknown_code", "wrong_field_count", "missing_required")
AGENCIES = (("ICE-HSI", "HSI", 0.6), ("CBP", "CBP", 0.3), ("BEST", "BEST", 0.1))


def build_seizures(seed: int, plan: Plan, rates: DefectRates, fid_base: int) -> dict[str, np.ndarray]:
    """One row per seized firearm (codes only), sorted by date within each year."""
    rng = np.random.default_rng([seed, 31])
    n_cal = int(plan.seizure_years.sum())
    year = np.repeat(np.array(GAO_YEARS), plan.seizure_years)
    rng.shuffle(year)
    cls = np.repeat(np.array([0, 1], dtype=np.int8), [plan.seizures_long, plan.seizures_short])
    rng.shuffle(cls)
    dest = np.zeros(n_cal, dtype=np.int8)  # 0 = MX
    malform = np.zeros(n_cal, dtype=np.int8)

    extra_years = np.concatenate(
        [
            np.full(plan.extra["seizures_2008"], 2008),
            np.full(plan.extra["seizures_2015"], 2015),
            rng.integers(2009, 2015, plan.extra["seizures_not_mx"]),
        ]
    )
    n_x = len(extra_years)
    x_dest = np.zeros(n_x, dtype=np.int8)
    x_dest[-plan.extra["seizures_not_mx"] :] = 1 if plan.extra["seizures_not_mx"] else 0
    base = n_cal + n_x
    counts = []
    for kind in SEIZURE_MALFORMED:
        rate = getattr(rates, kind)
        counts.append(max(1, round_half_up(rate * base)) if rate > 0 else 0)
    kinds = np.repeat(np.arange(1, len(SEIZURE_MALFORMED) + 1, dtype=np.int8), counts)
    n_b = len(kinds)

    year = np.concatenate([year, extra_years, rng.integers(2009, 2015, n_b)])
    cls = np.concatenate([cls, (rng.random(n_x + n_b) < 0.6).astype(np.int8)])
    dest = np.concatenate([dest, x_dest, np.zeros(n_b, dtype=np.int8)])
    malform = np.concatenate([malform, np.zeros(n_x, dtype=np.int8), kinds])
    n = len(year)
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    end = (year - 1969).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    sday = (start + (rng.random(n) * (end - start)).astype(np.int64)).astype(np.int32)
    fid = fid_base + np.arange(n)
    order = np.lexsort((fid, sday))
    out = {"fid": fid[order], "day": sday[order], "year": year[order], "cls": cls[order], "dest": dest[order], "malform": malform[order]}
    # sequence numbers per year, case numbers grouping runs of one to eight firearms
    seq = np.zeros(n, dtype=np.int64)
    case = np.zeros(n, dtype=np.int64)
    for y in np.unique(out["year"]):
        m = np.flatnonzero(out["year"] == y)
        seq[m] = int(rng.integers(100, 900)) + np.cumsum(rng.integers(1, 3, len(m)))
        starts = rng.random(len(m)) < 0.35
        starts[0] = True
        case[m] = np.cumsum(starts) + int(rng.integers(10, 200))
    out["seq"], out["case"] = seq, case
    # rows sent twice
    k = round_half_up(rates.duplicate_seizure * n_cal)
    if rates.duplicate_seizure > 0:
        k = max(k, 1)
    dup = np.sort(rng.choice(np.flatnonzero(out["malform"] == 0), size=min(k, n), replace=False))
    out["dup"] = dup
    return out


class SeizureWriter:
    def __init__(self, seed: int, rows: dict[str, np.ndarray], catalogue):
        self.h = Hasher(seed)
        self.r = rows
        self.cat = catalogue
        self.loc = catalog.SEIZURE_LOCATIONS
        self.loc_t = T.table([x[0] for x in self.loc] + [x[0] for x in catalog.SEIZURE_OTHER_LOCATIONS])
        self.loc_state = T.table([x[1] for x in self.loc] + [x[1] for x in catalog.SEIZURE_OTHER_LOCATIONS])
        self.loc_w = np.array([x[2] for x in self.loc], dtype=float)
        self.office_t = T.table([x[3] for x in self.loc] + [x[3] for x in catalog.SEIZURE_OTHER_LOCATIONS])
        self.oloc_w = np.array([x[2] for x in catalog.SEIZURE_OTHER_LOCATIONS], dtype=float)
        self.dest_t = T.table(["MX"] + [d for d, _ in catalog.SEIZURE_OTHER_DESTINATIONS])
        self.dest_w = np.array([w for _, w in catalog.SEIZURE_OTHER_DESTINATIONS], dtype=float)
        self.agency_t = T.table([a[0] for a in AGENCIES])
        self.prefix_t = T.table([a[1] for a in AGENCIES])
        self.agency_w = np.array([a[2] for a in AGENCIES])
        en = list(catalog.TYPE_CLASS)
        self.type_t = T.table(en)
        self.entry_type = np.array([en.index(t) for t in self.cat.ftype])

    def chunk(
        self, idx: np.ndarray, style, row_offset: int, file_name: str, dup_rows: dict, fix_rows: dict | None = None
    ) -> tuple[bytes, pl.DataFrame | None]:
        """CSV lines of the seizure rows ``idx`` (sorted) and their defects. Rows that
        will be sent again are remembered in ``dup_rows`` (their line); rows corrected in
        the next file (``r["fix"]``) are written with a wrong model or calibre here and
        their calibrated line remembered in ``fix_rows``."""
        h, r = self.h, self.r
        n = len(idx)
        fid = r["fid"][idx]
        year = r["year"][idx]
        cls = r["cls"][idx]
        dest = r["dest"][idx]
        malform = r["malform"][idx]
        # one case: one agency, one place; a case id is unique per year
        case = r["case"][idx] * 10_000 + year
        ag = h.choice(case, "s-agency", self.agency_w)
        cols: dict[str, pl.Series] = {}
        sid = T.concat(T.pick(self.prefix_t, ag), "-", T.zfill(year, 4), "-", T.zfill(r["seq"][idx], 6))
        cols["seizure_id"] = sid
        cols["seizure_date"] = T.dates(r["day"][idx], style.date_format)
        cols["seizing_agency"] = T.pick(self.agency_t, ag)
        loc = np.where(dest == 0, h.choice(case, "s-loc", self.loc_w), len(self.loc_w) + h.choice(case, "s-loc", self.oloc_w))
        cols["location"] = T.pick(self.loc_t, loc)
        cols["us_state"] = T.pick(self.loc_state, loc)
        d = np.where(dest == 0, 0, 1 + h.choice(fid, "s-dest", self.dest_w))
        cols["destination_country"] = T.pick(self.dest_t, d)
        pool = np.full(n, self.cat.POOLS.index("S"))
        entry = self.cat.choose(h.u(fid, "entry"), pool, cls.astype(np.int64), np.zeros(n, dtype=bool))
        cols["firearm_type"] = T.pick(self.type_t, self.entry_type[entry])
        cols["manufacturer"] = T.pick(self.cat.mfr_upper, entry)
        cols["model"] = T.pick(self.cat.model_t, entry)
        cols["caliber"] = T.pick(self.cat.caliber_t, entry)
        serial = format_serials(serial_numbers(fid), self.cat.fmt[entry])
        cols["serial_number"] = T.where(h.u(fid, "s-noserial") < 0.03, None, serial)
        cols["case_number"] = T.concat(T.pick(self.office_t, loc), "-", T.zfill(year, 4), "-", T.zfill(r["case"][idx], 5))

        detail = np.full(n, "", dtype=object)
        bad = malform > 0
        kind = malform - 1
        if bad.any():
            m = bad & (kind == SEIZURE_MALFORMED.index("bad_date"))
            cols["seizure_date"] = T.where(m, T.pick(["N/D", "UNKNOWN", "2012-1-XX"], h.below(fid, "s-bad", 3)), cols["seizure_date"])
            detail[m] = "bad_date:seizure_date"
            m = bad & (kind == SEIZURE_MALFORMED.index("impossible_date"))
            cols["seizure_date"] = T.where(m, T.concat(T.zfill(year, 4), T.pick(["-02-30", "-11-31", "-00-12"], h.below(fid, "s-imp", 3))), cols["seizure_date"])
            detail[m] = "impossible_date:seizure_date"
            m = bad & (kind == SEIZURE_MALFORMED.index("unknown_code"))
            which = h.u(fid, "s-unk") < 0.5
            cols["firearm_type"] = T.where(m & which, "CANNON", cols["firearm_type"])
            cols["destination_country"] = T.where(m & ~which, "99", cols["destination_country"])
            detail[m & which] = "unknown_code:firearm_type"
            detail[m & ~which] = "unknown_code:destination_country"
            m = bad & (kind == SEIZURE_MALFORMED.index("missing_required"))
            which = h.below(fid, "s-req", 3)
            for c, name in enumerate(("seizure_id", "seizure_date", "firearm_type")):
                mm = m & (which == c)
                cols[name] = T.where(mm, None, cols[name])
                detail[mm] = f"missing_required:{name}"
            m = bad & (kind == SEIZURE_MALFORMED.index("wrong_field_count"))
            cols["case_number"] = T.where(m, None, cols["case_number"])
            extra = h.u(fid, "s-fc") < 0.5
            detail[m & extra] = "wrong_field_count:13"
            detail[m & ~extra] = "wrong_field_count:11"
        frame = {c: cols[c] for c in SEIZURE_HEADER}
        data = T.csv_chunk(frame, style.line_end)
        wrong = bad & (kind == SEIZURE_MALFORMED.index("wrong_field_count"))
        if wrong.any():
            data = T.patch_lines(
                data, style.line_end, np.flatnonzero(wrong),
                lambda line, i: line + ",EXTRA" if detail[i].endswith("13") else line[:-1],
            )
        # corrections: the calibrated line is kept for the next file, a wrong one written here
        fixes = np.flatnonzero(np.isin(idx, r["fix"])) if fix_rows is not None and "fix" in r else []
        if len(fixes):
            right = data.decode("utf-8").split(style.line_end)
            field = h.below(fid[fixes], "s-fix-field", len(U.SEIZURE_FIELDS))
            e = entry[fixes]
            sub = {c: cols[c].gather(fixes) for c in SEIZURE_HEADER}
            wrong_model = T.pick(self.cat.models_u_t, U.other_value(h, fid[fixes], "s-fix-model", self.cat.model_uidx[e], len(self.cat.models_u)))
            wrong_cal = T.pick(self.cat.calibers_u_t, U.other_value(h, fid[fixes], "s-fix-caliber", self.cat.caliber_uidx[e], len(self.cat.calibers_u)))
            sub["model"] = T.where(field == 0, wrong_model, sub["model"])
            sub["caliber"] = T.where(field == 1, wrong_cal, sub["caliber"])
            wrong = dict(zip(fixes.tolist(), T.csv_chunk(sub, style.line_end).decode("utf-8").split(style.line_end), strict=False))
            data = T.patch_lines(data, style.line_end, fixes, lambda _line, i: wrong[i])
            for j, i in enumerate(fixes.tolist()):
                fix_rows[int(idx[i])] = (right[i], file_name, row_offset + 1 + i, sid[i], U.SEIZURE_FIELDS[int(field[j])])
        # remember the rows that will be sent again
        dups = np.flatnonzero(np.isin(idx, r["dup"]))
        if len(dups):
            lines = data.decode("utf-8").split(style.line_end)
            for i in dups:
                dup_rows[int(idx[i])] = (lines[i], file_name, row_offset + 1 + int(i), sid[int(i)])
        rows = row_offset + 1 + np.arange(n)
        ledger = None
        if bad.any():
            b = np.flatnonzero(bad)
            ledger = pl.DataFrame(
                {
                    "row": rows[b],
                    "record_id": cols["seizure_id"].gather(b).fill_null(""),
                    "defect": [SEIZURE_MALFORMED[k] for k in kind[b]],
                    "handling": "quarantine",
                    "detail": pl.Series(detail[b].tolist(), dtype=pl.Utf8),
                }
            )
        return data, ledger
