"""What the generated data must add up to: GAO-16-223's figures at a given scale, the
defect rates, and the exact integer counts every category vector is built from.

All counts derive from the scale-1 figures. A total is ``round_half_up(figure * scale)``;
the parts of a total are apportioned from it by largest remainder, so parts always sum to
their total (e.g. long + short + other = traced firearms) and each part is within one of
``figure * scale``. Percentages (source states, purchaser determination) stay the same at
every scale: their counts are computed from the shares and the scaled denominators.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

DEFAULT_SEED = 2016

# --- GAO-16-223 at scale 1 (shared/reference/gao-16-223-figures.csv) ---------------------
GAO = {
    "traced_total": 104_850,
    "us_sourced": 73_684,
    "third_country": 17_544,
    "undetermined": 13_622,
    "long": 49_566,
    "short": 53_156,
    "other": 2_128,
    "share_TX": 41,
    "share_CA": 19,
    "share_AZ": 15,
    "purchaser_determined_pct": 45,
    "purchaser_undetermined_pct": 53,
    "seizures": 5_951,
    "seizures_long": 2_341,
    "seizures_short": 3_610,
    "licensees_nationwide": 63_311,
    "licensees_border": 10_134,
    "dl3_recovered": 490,
    "dl3_us": 259,
    "dl3_mexico": 209,
    "dl3_undetermined": 22,
}
GAO_YEARS = (2009, 2010, 2011, 2012, 2013, 2014)
# Mexico recoveries per year: 2009 and 2010 as ATF reported them in June 2011, 2011 as in
# ATF's April 2012 release, 2012-2014 declining so that the six years sum to 104,850.
MX_BY_YEAR = (21_313, 7_971, 20_335, 19_900, 18_350, 16_981)
# Origin x firearm type (rows: us_manufactured, us_imported, third_country, undetermined;
# columns: long, short, other). Margins are GAO's; the us split follows ATF's 2009 ratio
# (10,945 manufactured : 3,268 imported), imports leaning to pistols and AK-type rifles,
# third-country firearms to rifles (AK types, G3, FAL).
ORIGIN_TYPE = np.array(
    [
        [26_666, 29_256, 762],
        [5_500, 11_200, 300],
        [11_000, 5_900, 644],
        [6_400, 6_800, 422],
    ],
    dtype=np.int64,
)
SEIZURES_BY_YEAR = (1_400, 1_100, 1_000, 850, 800, 801)

# Volumes that are not GAO figures (scale 1): they surround the calibrated data so that
# every filter of METHOD.md has something to remove.
EXTRA = {
    "mx_2007": 2_000,  # Mexico recoveries outside GAO's years
    "mx_2008": 3_500,
    "mx_2015": 5_000,
    "us_recoveries": 15_000,  # firearms recovered in the US, traced (2009-2015)
    "zz_recoveries": 300,  # recovery country unknown
    "dl3_rifles_2011_2014": 18_000,  # rifles reported under Demand Letter 3 (not traced)
    "dl3_rifles_2015": 4_000,
    "dl3_traced_2015": 40,  # reported in 2015 and traced: outside GAO's 2011-2014
    "seizures_2008": 600,
    "seizures_2015": 700,
    "seizures_not_mx": 150,  # seized in 2009-2014, bound for Central America
}

RESULTS = (
    "PURCHASER_IDENTIFIED",
    "FFL_IDENTIFIED_NO_PURCHASER",
    "FOREIGN_NOT_IMPORTED_TO_US",
    "OBLITERATED_SERIAL",
    "INCOMPLETE_REQUEST",
    "TOO_OLD",
    "FFL_OUT_OF_BUSINESS_RECORDS_MISSING",
    "FFL_NO_RESPONSE",
    "MANUFACTURER_OR_IMPORTER_NOT_FOUND",
    "PENDING",
)
R = {name: i for i, name in enumerate(RESULTS)}
DEALER_RESULTS = (
    R["PURCHASER_IDENTIFIED"],
    R["FFL_IDENTIFIED_NO_PURCHASER"],
    R["FFL_OUT_OF_BUSINESS_RECORDS_MISSING"],
    R["FFL_NO_RESPONSE"],
)


@dataclass(frozen=True)
class DefectRates:
    """Rates of every defect the generator injects. Each is recorded in the manifest.

    Inside GAO's totals (part of the analysis; shares of US-sourced traced firearms,
    which set the reasons a purchaser went undetermined; they must leave room for the
    53 percent undetermined: incomplete + altered + no_response + out_of_business +
    too_old <= 0.53, the rest is FFL_IDENTIFIED_NO_PURCHASER):
    """

    #: US-sourced requests lacking an identifier (result INCOMPLETE_REQUEST).
    incomplete_request: float = 0.11
    #: US-sourced firearms with an altered/obliterated serial (result OBLITERATED_SERIAL).
    altered_serial: float = 0.08
    #: US-sourced, dealer did not respond (FFL_NO_RESPONSE).
    dealer_no_response: float = 0.05
    #: US-sourced, dealer out of business and records missing.
    out_of_business: float = 0.09
    #: US-sourced, sold before records are kept (TOO_OLD).
    too_old: float = 0.07
    #: Of undetermined-origin firearms: foreign-made, importer left blank (incomplete).
    undetermined_missing_importer: float = 0.25
    #: Of undetermined-origin firearms: country unknown and another identifier missing.
    undetermined_incomplete_other: float = 0.20
    #: Of undetermined-origin firearms: altered serial, country unknown.
    undetermined_altered: float = 0.15
    #: Of incomplete requests missing something else than the serial: serial altered too.
    altered_and_incomplete: float = 0.15
    #: Of PURCHASER_IDENTIFIED: serial marked obliterated but restored by a lab.
    restored_serial: float = 0.01
    #: Of FFL_OUT_OF_BUSINESS_RECORDS_MISSING: dealer in no licensee snapshot.
    dealer_not_in_listing: float = 0.25

    # On top of GAO's totals, row level (shares of the rows of a kind):
    #: Traceable firearms (usable serial) requested again (10% of them twice).
    repeat_request: float = 0.03
    #: A date that cannot be parsed (``N/D``, ``2013-02-XX``).
    bad_date: float = 0.0008
    #: A date that does not exist (``2013-02-30``).
    impossible_date: float = 0.0008
    #: Purchase date after the recovery date (trace only).
    purchase_after_recovery: float = 0.0004
    #: A code outside its vocabulary (status, result, firearm type, country, license number).
    unknown_code: float = 0.0008
    #: A row with one field too many or too few.
    wrong_field_count: float = 0.0004
    #: A required field left blank (trace_number, dates, country, firearm type, ids).
    missing_required: float = 0.0004
    #: Seizure rows sent twice (same seizure_id), in the same or the next file.
    duplicate_seizure: float = 0.004
    #: Traced Demand Letter 3 rifles resold and reported again in a later report.
    dl3_reported_again: float = 0.05

    # On top of GAO's totals, file level (numbers of extra files):
    resent_same_bytes: int = 2
    resent_new_bytes: int = 2
    truncated: int = 1
    empty: int = 1
    wrong_kind: int = 2
    bad_header: int = 2
    bad_encoding: int = 1

    def __post_init__(self):
        undetermined = (
            self.incomplete_request
            + self.altered_serial
            + self.dealer_no_response
            + self.out_of_business
            + self.too_old
        )
        if undetermined > 0.53 + 1e-9:
            raise ValueError(
                "DefectRates: incomplete_request + altered_serial + dealer_no_response + "
                f"out_of_business + too_old = {undetermined:.3f}, more than the 0.53 of "
                "US-sourced firearms whose purchaser GAO reports undetermined"
            )
        if (
            self.undetermined_missing_importer
            + self.undetermined_incomplete_other
            + self.undetermined_altered
            > 1
        ):
            raise ValueError("DefectRates: undetermined-origin shares sum to more than 1")
        for name, value in asdict(self).items():
            if value < 0:
                raise ValueError(f"DefectRates.{name} is negative")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class UpdateRates:
    """Rates of record updates: rows sent again in a later file for a key already sent
    (export-formats.md, "Delivery"). Each update is recorded in the manifest.

    The later row is always the calibrated row, so once every key's current version is
    taken (later export date, then later-loaded file, then later row) the data are
    exactly the calibrated data and every figure is unchanged. Updated requests carry no
    other defect (no malformed row, incomplete request, altered serial, repeat request,
    unlisted dealer) and no request is updated twice. Trace rates are shares of all
    trace requests; a request can only be chosen when a later month's file exists.
    """

    #: Trace requests with a completed final result (purchaser identified, dealer
    #: identified without purchaser, too old, dealer out of business) first written
    #: PENDING in their request month's file, without dealer and purchaser fields, and
    #: written again complete in a later month's file.
    pending_completed: float = 0.02
    #: Trace requests first written with one wrong but valid value (a misspelt city, a
    #: wrong model or calibre, another real Mexican state), corrected in a later month's file.
    corrected_row: float = 0.005
    #: Trace requests written again, unchanged, in a later month's file.
    identical_resend: float = 0.005
    #: Share of seizure rows first written with a wrong model or calibre, corrected in the
    #: next year's file.
    corrected_seizure: float = 0.005
    #: Share of multiple-sale rows written again, unchanged, in a later month's file.
    dl3_resend: float = 0.005
    #: A later trace or multiple-sale version is 1 to this many month files later.
    max_months_later: int = 3

    def __post_init__(self):
        for name, value in asdict(self).items():
            if value < 0:
                raise ValueError(f"UpdateRates.{name} is negative")
        if self.pending_completed + self.corrected_row + self.identical_resend > 1:
            raise ValueError("UpdateRates: trace update shares sum to more than 1")
        if self.max_months_later < 1:
            raise ValueError("UpdateRates.max_months_later must be at least 1")

    @classmethod
    def none(cls) -> UpdateRates:
        """No updates: every key is sent once (duplicate_seizure aside, a DefectRates field)."""
        return cls(pending_completed=0, corrected_row=0, identical_resend=0, corrected_seizure=0, dl3_resend=0)

    def to_dict(self) -> dict:
        return asdict(self)


# --- integer arithmetic --------------------------------------------------------------------


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def apportion(total: int, weights, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder).

    With ``minimum``, every part with a positive weight gets at least that much first.
    """
    w = np.asarray(weights, dtype=np.float64)
    out = np.zeros(len(w), dtype=np.int64)
    if total <= 0 or w.sum() <= 0:
        return out
    if minimum:
        floor = np.where(w > 0, minimum, 0)
        if floor.sum() > total:
            floor = np.zeros_like(floor)
            order = np.argsort(-w, kind="stable")[:total]
            floor[order] = 1
        out += floor
        total -= int(floor.sum())
        if total == 0:
            return out
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return out + base


def controlled_round(base: np.ndarray, row_totals, col_totals) -> np.ndarray:
    """Integer matrix with the given margins, cells close to ``base`` scaled.

    Every row but the largest is apportioned from its own base weights; the largest row
    takes what the column totals leave, then any negative cell is repaired by moving
    units between columns of another row (the margins never change).
    """
    rows = np.asarray(row_totals, dtype=np.int64)
    cols = np.asarray(col_totals, dtype=np.int64)
    assert rows.sum() == cols.sum()
    out = np.zeros(base.shape, dtype=np.int64)
    big = int(np.argmax(rows))
    for i in range(base.shape[0]):
        if i != big:
            out[i] = apportion(int(rows[i]), base[i])
    out[big] = cols - out.sum(axis=0) + out[big]
    for _ in range(10_000):
        neg = np.flatnonzero(out[big] < 0)
        if not len(neg):
            break
        j = neg[0]
        k = int(np.argmax(out[big]))  # a column where the big row has room
        i = next(r for r in range(base.shape[0]) if r != big and out[r, j] > 0)
        out[i, j] -= 1
        out[i, k] += 1
        out[big, j] += 1
        out[big, k] -= 1
    if (out < 0).any():
        raise ValueError("cannot build a table with these margins (scale too small)")
    return out


# --- the plan ------------------------------------------------------------------------------


@dataclass
class Plan:
    scale: float
    licensee_scale: float
    traced_total: int
    years: np.ndarray  # per GAO year
    origin_type: np.ndarray  # 4 x 3
    us_results: dict[str, int]  # result name -> count among US-sourced
    undetermined_variants: dict[str, int]
    dealer_not_in_listing: int
    state_counts: dict[str, int]  # known dealer state -> count among US-sourced
    dl3: dict[str, int]
    seizure_years: np.ndarray
    seizures_long: int
    seizures_short: int
    licensees_nationwide: int
    licensees_border: int
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def us_sourced(self) -> int:
        return int(self.origin_type[:2].sum())


def _scaled(value: int, scale: float) -> int:
    return round_half_up(value * scale)


def make_plan(scale: float, rates: DefectRates) -> Plan:
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    from pipelines.generate import catalog

    t = _scaled(GAO["traced_total"], scale)
    years = apportion(t, MX_BY_YEAR)
    origin3 = apportion(t, [GAO["us_sourced"], GAO["third_country"], GAO["undetermined"]])
    us_split = apportion(int(origin3[0]), ORIGIN_TYPE[:2].sum(axis=1))
    rows = [int(us_split[0]), int(us_split[1]), int(origin3[1]), int(origin3[2])]
    cols = apportion(t, [GAO["long"], GAO["short"], GAO["other"]])
    origin_type = controlled_round(ORIGIN_TYPE.astype(float), rows, cols)

    n_us = int(origin3[0])
    det = round_half_up(0.45 * n_us)
    undet = round_half_up(0.53 * n_us)
    pending = n_us - det - undet
    reasons = {
        "INCOMPLETE_REQUEST": rates.incomplete_request,
        "OBLITERATED_SERIAL": rates.altered_serial,
        "FFL_NO_RESPONSE": rates.dealer_no_response,
        "FFL_OUT_OF_BUSINESS_RECORDS_MISSING": rates.out_of_business,
        "TOO_OLD": rates.too_old,
    }
    reasons["FFL_IDENTIFIED_NO_PURCHASER"] = max(0.53 - sum(reasons.values()), 0.0)
    parts = apportion(undet, list(reasons.values()))
    us_results = {"PURCHASER_IDENTIFIED": det, "PENDING": pending}
    us_results.update({k: int(v) for k, v in zip(reasons, parts, strict=True)})

    n_undet = int(origin3[2])
    shares = [
        rates.undetermined_missing_importer,
        rates.undetermined_incomplete_other,
        rates.undetermined_altered,
    ]
    shares.append(max(1.0 - sum(shares), 0.0))
    v = apportion(n_undet, shares)
    undetermined_variants = {
        "missing_importer": int(v[0]),
        "incomplete_other": int(v[1]),
        "altered": int(v[2]),
        "not_found": int(v[3]),
    }

    n_oob = us_results["FFL_OUT_OF_BUSINESS_RECORDS_MISSING"]
    nil = round_half_up(rates.dealer_not_in_listing * n_oob)
    if rates.dealer_not_in_listing > 0 and n_oob > 0:
        nil = max(nil, 1)
    dealer_rows = sum(us_results[catalog_name] for catalog_name in (
        "PURCHASER_IDENTIFIED",
        "FFL_IDENTIFIED_NO_PURCHASER",
        "FFL_OUT_OF_BUSINESS_RECORDS_MISSING",
        "FFL_NO_RESPONSE",
    ))
    known = dealer_rows - nil
    tx = round_half_up(0.41 * known)
    ca = round_half_up(0.19 * known)
    az = round_half_up(0.15 * known)
    others = [s for s in catalog.SOURCE_STATES if s not in ("TX", "CA", "AZ")]
    rest = apportion(known - tx - ca - az, [catalog.STATES[s][4] for s in others], minimum=1)
    state_counts = {"TX": tx, "CA": ca, "AZ": az}
    state_counts.update({s: int(c) for s, c in zip(others, rest, strict=True)})

    dl3_total = _scaled(GAO["dl3_recovered"], scale)
    d = apportion(dl3_total, [GAO["dl3_us"], GAO["dl3_mexico"], GAO["dl3_undetermined"]])
    dl3 = {"recovered": dl3_total, "us": int(d[0]), "mexico": int(d[1]), "undetermined": int(d[2])}

    s_total = _scaled(GAO["seizures"], scale)
    s_years = apportion(s_total, SEIZURES_BY_YEAR)
    s_type = apportion(s_total, [GAO["seizures_long"], GAO["seizures_short"]])

    ls = min(scale, 1.0)
    return Plan(
        scale=scale,
        licensee_scale=ls,
        traced_total=t,
        years=years,
        origin_type=origin_type,
        us_results=us_results,
        undetermined_variants=undetermined_variants,
        dealer_not_in_listing=nil,
        state_counts=state_counts,
        dl3=dl3,
        seizure_years=s_years,
        seizures_long=int(s_type[0]),
        seizures_short=int(s_type[1]),
        licensees_nationwide=_scaled(GAO["licensees_nationwide"], ls),
        licensees_border=_scaled(GAO["licensees_border"], ls),
        extra={k: _scaled(v, scale) for k, v in EXTRA.items()},
    )


def expected_figures(scale: float, rates: DefectRates | None = None) -> dict:
    """GAO-16-223's figures as the data generated at ``scale`` reproduces them, keyed
    like ``shared/reference/gao-16-223-figures.csv`` (``figure.measure``), plus a few
    more counts the generator guarantees (``extra``)."""
    p = make_plan(scale, rates or DefectRates())
    ot = p.origin_type
    figures = {
        "origin.firearms_seized_in_mexico_submitted_for_tracing": p.traced_total,
        "origin.us_sourced": int(ot[:2].sum()),
        "origin.third_country": int(ot[2].sum()),
        "origin.undetermined": int(ot[3].sum()),
        "firearm_type.long_guns_traced": int(ot[:, 0].sum()),
        "firearm_type.short_guns_traced": int(ot[:, 1].sum()),
        "source_state.share_of_us_sourced_TX": GAO["share_TX"],
        "source_state.share_of_us_sourced_CA": GAO["share_CA"],
        "source_state.share_of_us_sourced_AZ": GAO["share_AZ"],
        "purchaser.purchaser_determined_share_of_us_sourced": GAO["purchaser_determined_pct"],
        "purchaser.purchaser_undetermined_share_of_us_sourced": GAO["purchaser_undetermined_pct"],
        "ice_seizures.firearms_seized_destined_for_mexico": int(p.seizure_years.sum()),
        "ice_seizures.long_guns": p.seizures_long,
        "ice_seizures.short_guns": p.seizures_short,
        "licensees.dealers_and_pawnbrokers_southwest_border_states": p.licensees_border,
        "licensees.dealers_and_pawnbrokers_nationwide": p.licensees_nationwide,
        "multiple_sales.dl3_long_guns_recovered": p.dl3["recovered"],
        "multiple_sales.dl3_recovered_in_us": p.dl3["us"],
        "multiple_sales.dl3_recovered_in_mexico": p.dl3["mexico"],
        "multiple_sales.dl3_recovery_undetermined": p.dl3["undetermined"],
    }
    extra = {
        "traced_by_year": {str(y): int(c) for y, c in zip(GAO_YEARS, p.years, strict=True)},
        "origin_detail": {
            "us_manufactured": int(ot[0].sum()),
            "us_imported": int(ot[1].sum()),
        },
        "firearm_type_other": int(ot[:, 2].sum()),
        "us_sourced_by_result": dict(p.us_results),
        "us_sourced_with_known_dealer_state": int(sum(p.state_counts.values())),
        "us_sourced_dealer_not_in_listing": p.dealer_not_in_listing,
        "source_state_counts": dict(p.state_counts),
        "seizures_by_year": {str(y): int(c) for y, c in zip(GAO_YEARS, p.seizure_years, strict=True)},
    }
    return {"scale": scale, "licensee_scale": p.licensee_scale, "gao": figures, "extra": extra}
