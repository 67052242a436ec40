"""Demand Letter 3 reports (ATF Form 3310.12): one row per rifle, one file per month.

A report covers two to four semi-automatic rifles over .22 calibre sold to one person
by one dealer in AZ, CA, NM or TX. Rifles that are later traced come from the trace
population: their report is built around them (same dealer license, sale date =
purchase date, same purchaser), and companions fill the report. The other reports are
rifles never traced.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate import catalog
from pipelines.generate import population as P
from pipelines.generate import text as T
from pipelines.generate.licensees import BORDER_DEALER_WEIGHTS
from pipelines.generate.plan import DefectRates, Plan, round_half_up
from pipelines.generate.rand import format_serials, serial_numbers

DL3_HEADER = (
    "report_id", "report_date", "ffl_license_number", "serial_number", "manufacturer", "importer",
    "model", "caliber", "disposition_date", "purchaser_name", "purchaser_dob", "purchaser_id_number",
)
DL3_MALFORMED = ("bad_date", "impossible_date", "unknown_code", "wrong_field_count", "missing_required")


def build_reports(seed: int, plan: Plan, rates: DefectRates, pop: P.Population, fid_base: int) -> dict[str, np.ndarray]:
    """One row per reported rifle (codes), sorted by report date then report."""
    rng = np.random.default_rng([seed, 41])
    border = np.array([catalog.SOURCE_STATES.index(s) for s in BORDER_DEALER_WEIGHTS], dtype=np.int8)
    border_p = np.array(list(BORDER_DEALER_WEIGHTS.values()))

    # reports built around traced rifles
    traced = np.flatnonzero(pop.dl3)
    t_report = pop.report_day[traced]
    t_disp = pop.pur_day[traced]
    t_state = pop.dstate[traced]
    t_size = rng.integers(2, 5, len(traced))

    # reports of rifles never traced
    def untraced(total: int, lo: int, hi: int):
        sizes = rng.integers(2, 5, total // 2 + 1)
        ends = np.cumsum(sizes)
        k = int(np.searchsorted(ends, total))  # the report that reaches the total
        sizes = sizes[: k + 1].astype(np.int64)
        sizes[-1] -= int(ends[k]) - total
        if len(sizes) > 1 and sizes[-1] < 2:  # a report covers two rifles or more
            sizes[-2] += sizes[-1]
            sizes = sizes[:-1]
        sizes = sizes[sizes > 0]
        disp = lo + (rng.random(len(sizes)) * (hi - lo)).astype(np.int64)
        return sizes, disp

    companions = int((t_size - 1).sum())
    s1, d1 = untraced(max(plan.extra["dl3_rifles_2011_2014"] - companions, 0), P.DL3_START, P.day(2014, 12, 24))
    s2, d2 = untraced(plan.extra["dl3_rifles_2015"], P.day(2015, 1, 2), P.day(2015, 12, 24))
    u_size = np.concatenate([s1, s2])
    u_disp = np.concatenate([d1, d2])
    u_report = u_disp + rng.integers(0, 7, len(u_disp))
    u_state = border[rng.choice(len(border), size=len(u_size), p=border_p)]

    # malformed rows: single-rifle reports
    counts = []
    n_rows = int(t_size.sum() + u_size.sum())
    for kind in DL3_MALFORMED:
        rate = getattr(rates, kind)
        counts.append(max(1, round_half_up(rate * n_rows)) if rate > 0 else 0)
    b_kind = np.repeat(np.arange(1, len(DL3_MALFORMED) + 1, dtype=np.int8), counts)
    b_disp = P.day(2012) + rng.integers(0, 3 * 365, len(b_kind))
    b_report = b_disp + rng.integers(0, 7, len(b_kind))
    b_state = border[rng.choice(len(border), size=len(b_kind), p=border_p)]

    n_rep = len(traced) + len(u_size) + len(b_kind)
    size = np.concatenate([t_size, u_size, np.ones(len(b_kind), dtype=np.int64)])
    report = np.concatenate([t_report, u_report, b_report]).astype(np.int32)
    disp = np.concatenate([t_disp, u_disp, b_disp]).astype(np.int32)
    state = np.concatenate([t_state, u_state, b_state]).astype(np.int8)
    kind = np.concatenate([np.zeros(len(traced) + len(u_size), dtype=np.int8), b_kind])
    # rifle ids: a traced rifle keeps its firearm id, companions and others get new ones
    n_new = int(size.sum()) - len(traced)
    new_ids = fid_base + np.arange(n_new)
    rep_of_row = np.repeat(np.arange(n_rep), size)
    first_of_report = np.concatenate([[0], np.cumsum(size)[:-1]])
    fid = np.empty(int(size.sum()), dtype=np.int64)
    is_first = np.zeros(len(fid), dtype=bool)
    is_first[first_of_report] = True
    lead_traced = is_first & (rep_of_row < len(traced))
    fid[lead_traced] = traced[rep_of_row[lead_traced]]
    fid[~lead_traced] = new_ids
    lead = fid[first_of_report][rep_of_row]
    traced_row = lead_traced
    again = np.zeros(len(fid), dtype=bool)
    again_of = np.full(len(fid), -1, dtype=np.int64)

    # Rifles resold and reported again in a later report (a rifle counts once, in the
    # year of its earliest report): traced rifles first reported 2011-2014 join a later
    # report of rifles never traced, at least 30 days after.
    cand = np.flatnonzero(t_report <= P.day(2014, 12, 31))
    n_again = round_half_up(rates.dl3_reported_again * len(cand))
    if rates.dl3_reported_again > 0 and len(cand):
        n_again = max(n_again, 1)
    if n_again and len(u_size):
        chosen = np.sort(rng.choice(cand, size=min(n_again, len(cand)), replace=False))
        u_idx = len(traced) + np.arange(len(u_size))
        o = np.argsort(report[u_idx], kind="stable")
        later, later_days = u_idx[o], report[u_idx][o]
        lo = np.searchsorted(later_days, t_report[chosen] + 30)
        ok = lo < len(later)
        chosen, lo = chosen[ok], lo[ok]
        target = later[lo + (rng.random(len(lo)) * (len(later) - lo)).astype(np.int64)]
        fid = np.concatenate([fid, traced[chosen]])
        lead = np.concatenate([lead, fid[first_of_report][target]])
        rep_of_row = np.concatenate([rep_of_row, target])
        is_first = np.concatenate([is_first, np.zeros(len(chosen), dtype=bool)])
        traced_row = np.concatenate([traced_row, np.zeros(len(chosen), dtype=bool)])
        again = np.concatenate([again, np.ones(len(chosen), dtype=bool)])
        again_of = np.concatenate([again_of, chosen])  # a traced rifle's report index = its position

    order = np.lexsort((np.arange(len(fid)), rep_of_row, report[rep_of_row]))
    r = {
        "fid": fid[order],
        "lead": lead[order],
        "report": rep_of_row[order],
        "report_day": report[rep_of_row][order],
        "disp_day": disp[rep_of_row][order],
        "state": state[rep_of_row][order],
        "malform": np.where(is_first, kind[rep_of_row], 0)[order].astype(np.int8),
        "traced": traced_row[order],
        "again": again[order],
        "again_of": again_of[order],
    }
    # report ids: per report year, in report order
    rep_order = np.unique(r["report"], return_index=True)
    first_pos = np.sort(rep_order[1])
    rid = np.zeros(n_rep, dtype=np.int64)
    ryear = np.zeros(n_rep, dtype=np.int64)
    years = P.years_of(r["report_day"][first_pos])
    for y in np.unique(years):
        m = first_pos[years == y]
        reps = r["report"][m]
        rid[reps] = int(rng.integers(100, 2000)) + np.cumsum(rng.integers(1, 4, len(m)))
        ryear[reps] = y
    r["rid"] = rid[r["report"]]
    r["ryear"] = ryear[r["report"]]
    r["rid_by_report"], r["ryear_by_report"] = rid, ryear
    # origin of untraced rifles (manufactured vs imported)
    origin = np.where(rng.random(len(r["fid"])) < 0.65, P.O_MANU, P.O_IMP).astype(np.int8)
    tr = r["traced"] | r["again"]
    origin[tr] = pop.origin[r["fid"][tr]]
    r["origin"] = origin
    return r


class DL3Writer:
    def __init__(self, trace_writer):
        self.tw = trace_writer
        self.h = trace_writer.h
        self.cat = trace_writer.cat

    def chunk(self, r: dict[str, np.ndarray], idx: np.ndarray) -> tuple[bytes, pl.DataFrame | None]:
        """CSV lines (UTF-8, LF, ISO dates) of the rifles ``idx``, and their defects
        (column ``i``: position in ``idx``)."""
        h, tw = self.h, self.tw
        n = len(idx)
        fid, lead = r["fid"][idx], r["lead"][idx]
        origin = r["origin"][idx]
        disp, report = r["disp_day"][idx], r["report_day"][idx]
        state = r["state"][idx]
        malform = r["malform"][idx]
        fmt = T.ISO
        cols: dict[str, pl.Series] = {}
        rid = T.concat("DL3-", T.zfill(r["ryear"][idx], 4), "-", T.zfill(r["rid"][idx], 6))
        cols["report_id"] = rid
        cols["report_date"] = T.dates(report, fmt)
        lic, _ = tw.license_numbers(lead, state, disp)
        cols["ffl_license_number"] = lic
        zeros = np.zeros(n, dtype=np.int8)
        entry, _ = tw.firearm_entries(fid, origin, zeros, zeros, np.ones(n, dtype=bool))
        serial = format_serials(serial_numbers(fid), self.cat.fmt[entry])
        cols["serial_number"] = T.where(h.u(fid, "dl3-serial") < 0.2, serial.str.replace_all("-", "", literal=True), serial)
        upper = h.u(fid, "dl3-mfr-case") < 0.5
        cols["manufacturer"] = T.where(upper, T.pick(self.cat.mfr_upper, entry), T.pick(self.cat.mfr_as_is, entry))
        cols["importer"] = T.where(origin == P.O_IMP, T.pick(self.cat.importer_upper, entry), None)
        cols["model"] = T.pick(self.cat.model_t, entry)
        cols["caliber"] = T.pick(self.cat.caliber_t, entry)
        cols["disposition_date"] = T.dates(disp, fmt)
        cols["purchaser_name"] = tw.people.names(h, lead)
        age = (21 * 365 + h.below(lead, "p-age", 40 * 365)).astype(np.int32)
        cols["purchaser_dob"] = T.dates(disp - age, fmt)
        st = np.array(catalog.SOURCE_STATES)[state]
        digits = h.below(lead, "p-id", 10**8)
        letter = T.pick(list("ABCDEFGHJKLMNPRSTUVWXYZ"), h.below(lead, "p-id-l", 23))
        idn = T.zfill(digits, 8)
        # the kind of ID and its state, then a number shaped like that state's licenses;
        # the prefix keeps it from ever equalling a serial number
        number = T.where(
            st == "TX", idn,
            T.where(st == "CA", T.concat(letter, idn.str.slice(1)), T.where(st == "AZ", T.concat(letter, idn), T.concat("0", idn))),
        )
        cols["purchaser_id_number"] = T.concat(pl.Series(st.tolist(), dtype=pl.Utf8), " DL ", number)

        bad = malform > 0
        kind = malform - 1
        detail = np.full(n, "", dtype=object)
        if bad.any():
            which = h.u(fid, "dl3-date-col") < 0.5
            m = bad & (kind == DL3_MALFORMED.index("bad_date"))
            for flag, name in ((True, "report_date"), (False, "disposition_date")):
                mm = m & (which == flag)
                cols[name] = T.where(mm, "N/D", cols[name])
                detail[mm] = f"bad_date:{name}"
            m = bad & (kind == DL3_MALFORMED.index("impossible_date"))
            y = P.years_of(report)
            for flag, name in ((True, "report_date"), (False, "disposition_date")):
                mm = m & (which == flag)
                cols[name] = T.where(mm, T.concat(T.zfill(y, 4), "-02-30"), cols[name])
                detail[mm] = f"impossible_date:{name}"
            m = bad & (kind == DL3_MALFORMED.index("unknown_code"))
            cols["ffl_license_number"] = T.where(m, cols["ffl_license_number"].str.slice(0, 16), cols["ffl_license_number"])
            detail[m] = "unknown_code:ffl_license_number"
            m = bad & (kind == DL3_MALFORMED.index("missing_required"))
            w3 = h.below(fid, "dl3-req", 3)
            for c, name in enumerate(("report_id", "report_date", "ffl_license_number")):
                mm = m & (w3 == c)
                cols[name] = T.where(mm, None, cols[name])
                detail[mm] = f"missing_required:{name}"
            m = bad & (kind == DL3_MALFORMED.index("wrong_field_count"))
            cols["purchaser_id_number"] = T.where(m, None, cols["purchaser_id_number"])
            extra = h.u(fid, "dl3-fc") < 0.5
            detail[m & extra] = "wrong_field_count:13"
            detail[m & ~extra] = "wrong_field_count:11"
        data = T.csv_chunk({c: cols[c] for c in DL3_HEADER}, "\n")
        wrong = bad & (kind == DL3_MALFORMED.index("wrong_field_count"))
        if wrong.any():
            data = T.patch_lines(
                data, "\n", np.flatnonzero(wrong),
                lambda line, i: line + ",EXTRA" if detail[i].endswith("13") else line[:-1],
            )
        again = r["again"][idx]
        if again.any():
            of = r["again_of"][idx][again]
            detail[again] = [
                f"first reported in DL3-{y:04d}-{n:06d}"
                for y, n in zip(r["ryear_by_report"][of], r["rid_by_report"][of], strict=True)
            ]
        flagged = bad | again
        ledger = None
        if flagged.any():
            b = np.flatnonzero(flagged)
            ledger = pl.DataFrame(
                {
                    "i": b,
                    "record_id": cols["report_id"].gather(b).fill_null(""),
                    "defect": [DL3_MALFORMED[k] if k >= 0 else "dl3_reported_again" for k in kind[b]],
                    "handling": ["quarantine" if k >= 0 else "flag_duplicate" for k in kind[b]],
                    "detail": pl.Series(detail[b].tolist(), dtype=pl.Utf8),
                }
            )
        return data, ledger
