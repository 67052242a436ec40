"""Who the traced firearms are: one row per firearm, as small integer codes.

The calibrated part (recovered in Mexico in 2009-2014) is built from category vectors
with exact counts, shuffled with the seeded generator: year, origin x firearm class,
trace result among US-sourced firearms, undetermined-origin variant, dealer state,
Demand Letter 3 rifles. Everything else (other years, US and unknown recoveries, rows
that must be quarantined) is drawn with the same shares but not calibrated.

Requests are the firearms plus repeat requests; they are sorted by request date and
numbered ``T<year>-<seq>`` here, so that any file can be written on its own afterwards.
Nothing here is a string: at scale 100 (about 12 million requests) the arrays take a few
hundred megabytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from pipelines.generate import catalog
from pipelines.generate.licensees import BORDER_DEALER_WEIGHTS
from pipelines.generate.plan import (
    DEALER_RESULTS,
    GAO_YEARS,
    ORIGIN_TYPE,
    RESULTS,
    DefectRates,
    Plan,
    R,
    round_half_up,
)
from pipelines.generate.rand import Hasher
from pipelines.generate.text import NO_DAY

# groups of firearms
G_MX, G_MX_OUT, G_US, G_ZZ, G_DL3_US, G_DL3_ZZ, G_DL3_DECOY, G_BAD = range(8)
GROUP_NAMES = ("mx_2009_2014", "mx_other_years", "us", "zz", "dl3_us", "dl3_zz", "dl3_2015", "malformed")
# recovery country
C_MX, C_US, C_ZZ = 0, 1, 2
COUNTRY_CODES = ("MX", "US", "ZZ")
# origin
O_MANU, O_IMP, O_THIRD, O_UNDET = range(4)
# undetermined-origin variant
U_NONE, U_NOT_FOUND, U_MISSING_IMPORTER, U_INCOMPLETE_OTHER, U_ALTERED = range(5)
# dealer state: index into catalog.SOURCE_STATES, or
D_NONE, D_NIL = -1, len(catalog.SOURCE_STATES)
# malformed rows
MALFORMED = (
    "bad_date",
    "impossible_date",
    "purchase_after_recovery",
    "unknown_code",
    "wrong_field_count",
    "missing_required",
)

EPOCH = dt.date(1970, 1, 1)
DL3_START = (dt.date(2011, 8, 15) - EPOCH).days
BACKLOG = ((dt.date(2010, 1, 11) - EPOCH).days, (dt.date(2010, 1, 22) - EPOCH).days)
BACKLOG_SHARE_2009 = 0.35  # of 2009 Mexico recoveries, requested in one January 2010 batch


def day(y: int, m: int = 1, d: int = 1) -> int:
    return (dt.date(y, m, d) - EPOCH).days


def years_of(days: np.ndarray) -> np.ndarray:
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def months_of(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


@dataclass
class Population:
    # per firearm (index = firearm id)
    group: np.ndarray
    country: np.ndarray
    origin: np.ndarray
    tclass: np.ndarray
    result: np.ndarray
    uvar: np.ndarray
    dstate: np.ndarray
    dl3: np.ndarray  # bool: a Demand Letter 3 rifle
    malform: np.ndarray  # 0 none, else 1 + index into MALFORMED
    rec_day: np.ndarray
    pur_day: np.ndarray  # NO_DAY: no purchase date
    report_day: np.ndarray  # DL3 report date, NO_DAY when not a DL3 rifle
    # per request, sorted by request date
    req_fid: np.ndarray
    req_day: np.ndarray
    req_repeat: np.ndarray
    tn_year: np.ndarray
    tn_seq: np.ndarray
    first_req: np.ndarray  # per firearm: position of its first request

    @property
    def n_firearms(self) -> int:
        return len(self.group)


def restored_mask(h: Hasher, fids: np.ndarray, result: np.ndarray, rate: float) -> np.ndarray:
    return (result == R["PURCHASER_IDENTIFIED"]) & (h.u(fids, "restored") < rate)


def _ttc_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Time from retail sale to recovery: ATF's Mexico traces are mostly old guns."""
    r = rng.random(n)
    out = np.where(
        r < 0.18,
        rng.integers(14, 365, n),
        np.where(r < 0.40, rng.integers(365, 3 * 365, n), rng.integers(3 * 365, 25 * 365, n)),
    )
    return out


def _request_lag(rng: np.random.Generator, n: int) -> np.ndarray:
    r = rng.random(n)
    return np.where(
        r < 0.55,
        rng.integers(1, 60, n),
        np.where(r < 0.85, rng.integers(60, 365, n), rng.integers(365, 900, n)),
    )


def _us_result_p(rates: DefectRates, determined: float = 0.45, pending: float = 0.02) -> np.ndarray:
    p = np.zeros(len(RESULTS))
    p[R["PURCHASER_IDENTIFIED"]] = determined
    p[R["PENDING"]] = pending
    p[R["INCOMPLETE_REQUEST"]] = rates.incomplete_request
    p[R["OBLITERATED_SERIAL"]] = rates.altered_serial
    p[R["FFL_NO_RESPONSE"]] = rates.dealer_no_response
    p[R["FFL_OUT_OF_BUSINESS_RECORDS_MISSING"]] = rates.out_of_business
    p[R["TOO_OLD"]] = rates.too_old
    rest = 1 - p.sum()
    p[R["FFL_IDENTIFIED_NO_PURCHASER"]] = max(rest, 0)
    return p / p.sum()


def _state_p() -> np.ndarray:
    w = np.array([catalog.STATES[s][4] for s in catalog.SOURCE_STATES], dtype=float)
    w = w / w.sum() * 0.25
    for s, share in (("TX", 0.41), ("CA", 0.19), ("AZ", 0.15)):
        w[catalog.SOURCE_STATES.index(s)] = share
    return w / w.sum()


def _draw(
    rng: np.random.Generator,
    n: int,
    rates: DefectRates,
    origin_p: np.ndarray,
    determined: float = 0.45,
) -> dict[str, np.ndarray]:
    """Categories drawn at random with the calibrated shares (uncalibrated groups)."""
    origin = rng.choice(4, size=n, p=origin_p).astype(np.int8)
    tclass = np.zeros(n, dtype=np.int8)
    for o in range(4):
        m = origin == o
        w = ORIGIN_TYPE[o] / ORIGIN_TYPE[o].sum()
        tclass[m] = rng.choice(3, size=int(m.sum()), p=w)
    result = np.full(n, R["FOREIGN_NOT_IMPORTED_TO_US"], dtype=np.int8)
    uvar = np.zeros(n, dtype=np.int8)
    us = origin <= O_IMP
    result[us] = rng.choice(len(RESULTS), size=int(us.sum()), p=_us_result_p(rates, determined))
    und = origin == O_UNDET
    up = np.array(
        [
            max(1 - rates.undetermined_missing_importer - rates.undetermined_incomplete_other - rates.undetermined_altered, 0),
            rates.undetermined_missing_importer,
            rates.undetermined_incomplete_other,
            rates.undetermined_altered,
        ]
    )
    uvar[und] = rng.choice([U_NOT_FOUND, U_MISSING_IMPORTER, U_INCOMPLETE_OTHER, U_ALTERED], size=int(und.sum()), p=up / up.sum())
    result[uvar == U_NOT_FOUND] = R["MANUFACTURER_OR_IMPORTER_NOT_FOUND"]
    result[(uvar == U_MISSING_IMPORTER) | (uvar == U_INCOMPLETE_OTHER)] = R["INCOMPLETE_REQUEST"]
    result[uvar == U_ALTERED] = R["OBLITERATED_SERIAL"]
    dstate = np.full(n, D_NONE, dtype=np.int8)
    dealer = us & np.isin(result, DEALER_RESULTS)
    dstate[dealer] = rng.choice(len(catalog.SOURCE_STATES), size=int(dealer.sum()), p=_state_p())
    oob = us & (result == R["FFL_OUT_OF_BUSINESS_RECORDS_MISSING"])
    dstate[oob & (rng.random(n) < rates.dealer_not_in_listing)] = D_NIL
    return {"origin": origin, "tclass": tclass, "result": result, "uvar": uvar, "dstate": dstate}


def _origin_p(manu: float, imp: float, third: float, undet: float) -> np.ndarray:
    p = np.array([manu, imp, third, undet], dtype=float)
    return p / p.sum()


def _calibrated(rng: np.random.Generator, plan: Plan) -> dict[str, np.ndarray]:
    """Mexico 2009-2014: every count exact."""
    n = plan.traced_total
    year = np.repeat(np.array(GAO_YEARS, dtype=np.int16), plan.years)
    rng.shuffle(year)
    combo = np.repeat(np.arange(12, dtype=np.int8), plan.origin_type.ravel())
    rng.shuffle(combo)
    origin = (combo // 3).astype(np.int8)
    tclass = (combo % 3).astype(np.int8)
    del combo

    result = np.full(n, R["FOREIGN_NOT_IMPORTED_TO_US"], dtype=np.int8)
    us = np.flatnonzero(origin <= O_IMP)
    vec = np.repeat(
        np.array([R[k] for k in plan.us_results], dtype=np.int8),
        list(plan.us_results.values()),
    )
    rng.shuffle(vec)
    result[us] = vec

    uvar = np.zeros(n, dtype=np.int8)
    und = np.flatnonzero(origin == O_UNDET)
    codes = {
        "not_found": U_NOT_FOUND,
        "missing_importer": U_MISSING_IMPORTER,
        "incomplete_other": U_INCOMPLETE_OTHER,
        "altered": U_ALTERED,
    }
    vec = np.repeat(
        np.array([codes[k] for k in plan.undetermined_variants], dtype=np.int8),
        list(plan.undetermined_variants.values()),
    )
    rng.shuffle(vec)
    uvar[und] = vec
    result[uvar == U_NOT_FOUND] = R["MANUFACTURER_OR_IMPORTER_NOT_FOUND"]
    result[(uvar == U_MISSING_IMPORTER) | (uvar == U_INCOMPLETE_OTHER)] = R["INCOMPLETE_REQUEST"]
    result[uvar == U_ALTERED] = R["OBLITERATED_SERIAL"]

    dstate = np.full(n, D_NONE, dtype=np.int8)
    dealer = us[np.isin(result[us], DEALER_RESULTS)]
    oob = dealer[result[dealer] == R["FFL_OUT_OF_BUSINESS_RECORDS_MISSING"]]
    nil = rng.choice(oob, size=plan.dealer_not_in_listing, replace=False)
    dstate[nil] = D_NIL
    known = dealer[dstate[dealer] != D_NIL]
    vec = np.repeat(
        np.array([catalog.SOURCE_STATES.index(s) for s in plan.state_counts], dtype=np.int8),
        list(plan.state_counts.values()),
    )
    assert len(vec) == len(known), (len(vec), len(known))
    rng.shuffle(vec)
    dstate[known] = vec

    # Demand Letter 3 rifles recovered in Mexico: sold from August 2011 on by a dealer in
    # a border state, purchaser identified, recovered 2012-2014.
    border = [catalog.SOURCE_STATES.index(s) for s in catalog.BORDER_STATES]
    eligible = np.flatnonzero(
        (origin <= O_IMP)
        & (tclass == 0)
        & (result == R["PURCHASER_IDENTIFIED"])
        & np.isin(dstate, border)
        & (year >= 2012)
    )
    dl3 = np.zeros(n, dtype=bool)
    dl3[rng.choice(eligible, size=plan.dl3["mexico"], replace=False)] = True

    start = np.array([day(int(y)) for y in GAO_YEARS])
    length = np.array([day(int(y) + 1) - day(int(y)) for y in GAO_YEARS])
    k = year - GAO_YEARS[0]
    rec_day = (start[k] + rng.integers(0, length[k])).astype(np.int32)
    return {
        "origin": origin,
        "tclass": tclass,
        "result": result,
        "uvar": uvar,
        "dstate": dstate,
        "dl3": dl3,
        "rec_day": rec_day,
    }


def _year_days(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    years = np.asarray(years)
    start = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    end = (years - 1969).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    return (start + (rng.random(len(years)) * (end - start)).astype(np.int64)).astype(np.int32)


def build_population(seed: int, plan: Plan, rates: DefectRates) -> Population:
    rng = np.random.default_rng([seed, 21])
    h = Hasher(seed)
    parts: list[dict[str, np.ndarray]] = []

    def add(group: int, country, cats: dict[str, np.ndarray], rec_day: np.ndarray, **extra):
        n = len(rec_day)
        part = {
            "group": np.full(n, group, dtype=np.int8),
            "country": np.broadcast_to(np.asarray(country, dtype=np.int8), (n,)).copy(),
            "dl3": np.zeros(n, dtype=bool),
            "malform": np.zeros(n, dtype=np.int8),
            "rec_day": rec_day.astype(np.int32),
            "pur_day": np.full(n, NO_DAY, dtype=np.int32),
            "report_day": np.full(n, NO_DAY, dtype=np.int32),
        }
        part.update(cats)
        part.update(extra)
        parts.append(part)

    # 1. Mexico 2009-2014, calibrated.
    cal = _calibrated(rng, plan)
    rec = cal.pop("rec_day")
    add(G_MX, C_MX, cal, rec)

    # 2. Mexico outside GAO's years.
    mx_p = _origin_p(*ORIGIN_TYPE.sum(axis=1))
    years = np.repeat([2007, 2008, 2015], [plan.extra["mx_2007"], plan.extra["mx_2008"], plan.extra["mx_2015"]])
    add(G_MX_OUT, C_MX, _draw(rng, len(years), rates, mx_p), _year_days(rng, years))

    # 3. Recovered in the US, and where the country is unknown.
    n = plan.extra["us_recoveries"]
    add(G_US, C_US, _draw(rng, n, rates, _origin_p(0.74, 0.20, 0.01, 0.05), determined=0.55),
        _year_days(rng, rng.integers(2009, 2016, n)))
    n = plan.extra["zz_recoveries"]
    add(G_ZZ, C_ZZ, _draw(rng, n, rates, mx_p), _year_days(rng, rng.integers(2009, 2016, n)))

    # 4. Demand Letter 3 rifles traced outside Mexico (calibrated counts) and decoys
    #    reported in 2015 (outside GAO's 2011-2014).
    border_idx = np.array([catalog.SOURCE_STATES.index(s) for s in BORDER_DEALER_WEIGHTS])
    border_p = np.array(list(BORDER_DEALER_WEIGHTS.values()))
    for group, country, n in (
        (G_DL3_US, C_US, plan.dl3["us"]),
        (G_DL3_ZZ, C_ZZ, plan.dl3["undetermined"]),
        (G_DL3_DECOY, None, plan.extra["dl3_traced_2015"]),
    ):
        cats = {
            "origin": np.where(rng.random(n) < 0.65, O_MANU, O_IMP).astype(np.int8),
            "tclass": np.zeros(n, dtype=np.int8),
            "result": np.full(n, R["PURCHASER_IDENTIFIED"], dtype=np.int8),
            "uvar": np.zeros(n, dtype=np.int8),
            "dstate": border_idx[rng.choice(len(border_idx), size=n, p=border_p)].astype(np.int8),
        }
        if group == G_DL3_DECOY:
            disp = day(2015, 1, 2) + rng.integers(0, 180, n)
            rec = disp + rng.integers(14, 180, n)
            country = np.where(rng.random(n) < 0.7, C_US, C_MX)
        else:
            disp = DL3_START + (rng.random(n) * (day(2014, 10, 31) - DL3_START)).astype(np.int64)
            room = np.minimum(600, day(2014, 12, 31) - disp)
            rec = disp + 14 + (rng.random(n) * (room - 14)).astype(np.int64)
        add(group, country, cats, rec, dl3=np.ones(n, dtype=bool), pur_day=disp.astype(np.int32))

    # 5. Rows the ingest must quarantine (on top of every total).
    base_rows = sum(len(p["rec_day"]) for p in parts)
    counts = {}
    for kind in MALFORMED:
        rate = getattr(rates, kind)
        counts[kind] = max(1, round_half_up(rate * base_rows)) if rate > 0 else 0
    n = sum(counts.values())
    cats = _draw(rng, n, rates, mx_p)
    kinds = np.repeat(np.arange(1, len(MALFORMED) + 1, dtype=np.int8), list(counts.values()))
    rng.shuffle(kinds)
    # keep malformed rows free of other defects, so each is one unambiguous fault
    r = cats["result"]
    fix = np.isin(r, [R["INCOMPLETE_REQUEST"], R["OBLITERATED_SERIAL"]])
    cats["origin"][fix] = O_THIRD
    cats["uvar"][fix] = U_NONE
    r[fix] = R["FOREIGN_NOT_IMPORTED_TO_US"]
    cats["dstate"][cats["origin"] >= O_THIRD] = D_NONE
    pa = kinds == 1 + MALFORMED.index("purchase_after_recovery")
    cats["origin"][pa] = O_MANU
    cats["uvar"][pa] = U_NONE
    r[pa] = R["PURCHASER_IDENTIFIED"]
    cats["dstate"][pa] = catalog.SOURCE_STATES.index("TX")
    wf = kinds == 1 + MALFORMED.index("wrong_field_count")
    cats["origin"][wf] = O_THIRD
    cats["uvar"][wf] = U_NONE
    r[wf] = R["FOREIGN_NOT_IMPORTED_TO_US"]
    cats["dstate"][wf] = D_NONE
    cats["dstate"][cats["dstate"] == D_NIL] = catalog.SOURCE_STATES.index("TX")
    add(G_BAD, C_MX, cats, _year_days(rng, rng.integers(2009, 2015, n)), malform=kinds)

    pop = {}
    for k in list(parts[0]):
        pop[k] = np.concatenate([p.pop(k) for p in parts])
    parts.clear()
    f = len(pop["group"])
    fids = np.arange(f)

    # Purchase dates of identified purchasers (DL3 rifles have theirs already).
    pi = (pop["result"] == R["PURCHASER_IDENTIFIED"]) & (pop["pur_day"] == NO_DAY)
    pop["pur_day"][pi] = (pop["rec_day"][pi] - _ttc_days(rng, int(pi.sum()))).astype(np.int32)
    bad_pa = pop["malform"] == 1 + MALFORMED.index("purchase_after_recovery")
    pop["pur_day"][bad_pa] = pop["rec_day"][bad_pa] + rng.integers(1, 200, int(bad_pa.sum())).astype(np.int32)

    # DL3 rifles recovered in Mexico: sale and report between August 2011 and the recovery.
    mx_dl3 = (pop["group"] == G_MX) & pop["dl3"]
    rec = pop["rec_day"][mx_dl3].astype(np.int64)
    disp = DL3_START + (rng.random(len(rec)) * (rec - 14 - DL3_START)).astype(np.int64)
    pop["pur_day"][mx_dl3] = disp
    is_dl3 = pop["dl3"]
    pop["report_day"][is_dl3] = pop["pur_day"][is_dl3] + rng.integers(0, 7, int(is_dl3.sum()))

    # Requests: the first request of each firearm, then repeats of traceable firearms.
    req = pop["rec_day"] + _request_lag(rng, f).astype(np.int32)
    backlog = (pop["group"] == G_MX) & (years_of(pop["rec_day"]) == 2009)
    backlog &= rng.random(f) < BACKLOG_SHARE_2009
    req[backlog] = rng.integers(BACKLOG[0], BACKLOG[1] + 1, int(backlog.sum()))
    traceable = ~np.isin(pop["result"], [R["INCOMPLETE_REQUEST"], R["OBLITERATED_SERIAL"]])
    traceable &= pop["malform"] == 0
    traceable &= ~restored_mask(h, fids, pop["result"], rates.restored_serial)
    candidates = np.flatnonzero(traceable)
    n_rep = round_half_up(rates.repeat_request * len(candidates))
    if rates.repeat_request > 0:
        n_rep = max(n_rep, 1)
    rep1 = np.sort(rng.choice(candidates, size=n_rep, replace=False))
    rep2 = rep1[rng.random(len(rep1)) < 0.10]
    rep_fid = np.concatenate([rep1, rep2])
    rep_day = req[rep_fid] + rng.integers(7, 400, len(rep_fid)).astype(np.int32)
    rep_day[len(rep1):] += rng.integers(7, 200, len(rep2)).astype(np.int32)

    req_fid = np.concatenate([fids, rep_fid]).astype(np.int32)
    req_day = np.concatenate([req, rep_day]).astype(np.int32)
    req_repeat = np.concatenate([np.zeros(f, dtype=bool), np.ones(len(rep_fid), dtype=bool)])
    tiebreak = (h.bits(np.arange(len(req_fid)), "req-order") >> np.uint64(40)).astype(np.int64)
    key = req_day.astype(np.int64) * (1 << 24) + tiebreak
    del tiebreak
    order = np.argsort(key, kind="stable")
    del key
    req_fid, req_day, req_repeat = req_fid[order], req_day[order], req_repeat[order]
    del order

    # Trace numbers: per request year, increasing with the request date, with gaps
    # (most of ATF's requests in a year are not from Mexico).
    tn_year = years_of(req_day).astype(np.int16)
    tn_seq = np.zeros(len(req_fid), dtype=np.int32)
    for y in np.unique(tn_year):
        m = np.flatnonzero(tn_year == y)
        gaps = rng.integers(1, 4, len(m)).astype(np.int64)
        tn_seq[m] = int(rng.integers(1_000, 60_000)) + np.cumsum(gaps)
    first_req = np.full(f, -1, dtype=np.int32)
    originals = np.flatnonzero(~req_repeat)
    first_req[req_fid[originals]] = originals

    return Population(
        group=pop["group"],
        country=pop["country"],
        origin=pop["origin"],
        tclass=pop["tclass"],
        result=pop["result"],
        uvar=pop["uvar"],
        dstate=pop["dstate"],
        dl3=pop["dl3"],
        malform=pop["malform"],
        rec_day=pop["rec_day"],
        pur_day=pop["pur_day"],
        report_day=pop["report_day"],
        req_fid=req_fid,
        req_day=req_day,
        req_repeat=req_repeat,
        tn_year=tn_year,
        tn_seq=tn_seq,
        first_req=first_req,
    )
