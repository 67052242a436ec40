"""Trace export rows: from the population's codes to the CSV columns of export-formats.md.

Every value is a function of the firearm id (what the firearm is, where it was found,
who bought it) or of the request (trace number, date, agency, how it was typed), so a
repeat request written in any later file shows the same firearm, typed a little
differently (case, accents, dashes), exactly as the deduplication rules expect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate import catalog
from pipelines.generate import population as P
from pipelines.generate import text as T
from pipelines.generate import updates as U
from pipelines.generate.licensees import NIL_SEQ_BASE, Licensees, expiry_code
from pipelines.generate.plan import RESULTS, DefectRates, R
from pipelines.generate.rand import SERIAL_FORMATS, Hasher, format_serials, serial_numbers

TRACE_HEADER = (
    "trace_number", "request_date", "requesting_agency", "recovery_date", "recovery_country",
    "recovery_state", "recovery_city", "firearm_type", "manufacturer", "model", "caliber",
    "serial_number", "serial_obliterated", "country_of_manufacture", "importer", "trace_status",
    "trace_result", "ffl_license_number", "purchase_date", "purchaser_name", "purchaser_dob",
    "purchaser_address",
)

STATUS = {
    "PURCHASER_IDENTIFIED": "COMPLETED",
    "FFL_IDENTIFIED_NO_PURCHASER": "COMPLETED",
    "FOREIGN_NOT_IMPORTED_TO_US": "COMPLETED",
    "TOO_OLD": "COMPLETED",
    "FFL_OUT_OF_BUSINESS_RECORDS_MISSING": "COMPLETED",
    "OBLITERATED_SERIAL": "NOT_COMPLETED",
    "INCOMPLETE_REQUEST": "NOT_COMPLETED",
    "FFL_NO_RESPONSE": "NOT_COMPLETED",
    "MANUFACTURER_OR_IMPORTER_NOT_FOUND": "NOT_COMPLETED",
    "PENDING": "PENDING",
}

# identifiers a request can lack
MISSING_FIELDS = ("manufacturer", "model", "caliber", "serial_number", "importer")
M_MFR, M_MODEL, M_CAL, M_SERIAL, M_IMPORTER = range(5)
# forms of an altered serial
ALTERED_FORMS = ("marked_obliterated_blank", "marked_obliterated_partial", "removal_word", "filler", "odd_characters", "restored")
A_BLANK, A_PARTIAL, A_WORD, A_FILLER, A_ODD, A_RESTORED = range(6)

BAD_DATES = {T.ISO: ("N/D", "SIN FECHA", "2013-02-XX", "??/??/2012", "0000-00-00"),
             T.DMY: ("N/D", "SIN FECHA", "XX/02/2013", "??/??/2012", "00/00/0000")}


class Catalogue:
    """The firearm table as arrays, with weighted pools per (origin pool, class, DL3)."""

    POOLS = ("M", "I", "T", "F", "A", "S")  # S: sold in the US, no machine guns (seizures)

    def __init__(self):
        rows = catalog.FIREARMS
        self.mfr = [r[0] for r in rows]
        self.model = [r[1] for r in rows]
        self.caliber = [r[2] for r in rows]
        self.ftype = [r[3] for r in rows]
        self.country = [r[4] for r in rows]
        self.importer = [r[5] or None for r in rows]
        self.fmt = np.array([SERIAL_FORMATS.index(r[6]) for r in rows])
        self.cls = np.array([catalog.TYPE_CLASS[r[3]] for r in rows])
        weight = np.array([r[7] for r in rows], dtype=float)
        roles = [r[8] for r in rows]
        foreign = np.array([c != "US" for c in self.country])
        self.has_importer = np.array([bool(i) for i in self.importer])
        self.pools: dict[tuple[int, int, bool], tuple[np.ndarray, np.ndarray]] = {}
        for p, pool in enumerate(self.POOLS):
            if pool == "F":
                member = foreign & np.array([("I" in r or "T" in r) for r in roles])
            elif pool == "A":
                member = np.ones(len(rows), dtype=bool)
            elif pool == "S":
                member = np.array([("M" in r or "I" in r) for r in roles]) & (np.array(self.ftype) != "MACHINE GUN")
            else:
                member = np.array([pool in r for r in roles])
            for cls in range(4):
                for dl3 in (False, True):
                    m = member & ((self.cls == cls) if cls < 3 else True)
                    if dl3:
                        m = m & np.array(["D" in r for r in roles])
                    idx = np.flatnonzero(m)
                    if len(idx):
                        cum = np.cumsum(weight[idx])
                        self.pools[(p, cls, dl3)] = (idx, cum / cum[-1])
        self.mfr_upper = T.table([m.upper() for m in self.mfr])
        self.mfr_as_is = T.table(self.mfr)
        self.importer_upper = T.table([i.upper() if i else None for i in self.importer])
        self.importer_as_is = T.table(self.importer)
        self.model_t = T.table(self.model)
        self.caliber_t = T.table(self.caliber)
        self.country_t = T.table(self.country)
        # distinct models and calibres, for corrections (a wrong value is another one)
        self.models_u = sorted(set(self.model))
        self.model_uidx = np.array([self.models_u.index(m) for m in self.model])
        self.models_u_t = T.table(self.models_u)
        self.calibers_u = sorted(set(self.caliber))
        self.caliber_uidx = np.array([self.calibers_u.index(c) for c in self.caliber])
        self.calibers_u_t = T.table(self.calibers_u)

    def choose(self, u: np.ndarray, pool: np.ndarray, cls: np.ndarray, dl3: np.ndarray) -> np.ndarray:
        out = np.zeros(len(u), dtype=np.int64)
        key = pool * 100 + cls * 10 + dl3.astype(np.int64)
        for k in np.unique(key):
            m = key == k
            idx, cum = self.pools[(int(k // 100), int(k // 10 % 10), bool(k % 10))]
            out[m] = idx[np.minimum(np.searchsorted(cum, u[m], side="right"), len(idx) - 1)]
        return out


class Places:
    """Mexican states and cities in every spelling a requester uses; US places."""

    STATE_FORMS = 7  # name, UPPER no accents, UPPER, lower, INEGI 2-digit, INEGI 1-digit, alias

    def __init__(self):
        st = catalog.MEXICAN_STATES
        self.state_w = np.array([s[2] for s in st])
        forms, variants = [], []
        for code, name, _w, _cities, aliases in st:
            alias = aliases[0] if aliases else name
            f = [name, T.strip_accents(name).upper(), name.upper(), name.lower(), code, str(int(code)), alias]
            forms += f
            variants += [T.strip_accents(x).upper() if i not in (4, 5) else x for i, x in enumerate(f)]
        self.state_forms = T.table(forms)
        self.state_variants = T.table(variants)
        self.form_w = np.array([0.40, 0.25, 0.08, 0.04, 0.12, 0.03, 0.08])
        cities, cvars, self.city_start, self.city_n, cw = [], [], [], [], []
        for _code, _name, _w, cl, _a in st:
            self.city_start.append(len(cities) // 3)
            self.city_n.append(len(cl))
            for c, w in cl:
                f = [c, T.strip_accents(c).upper(), c.upper()]
                cities += f
                cvars += [T.strip_accents(c).upper()] * 3
                cw.append(w)
        self.city_forms = T.table(cities)
        self.city_variants = T.table(cvars)
        self.city_start = np.array(self.city_start)
        self.city_n = np.array(self.city_n)
        self.city_w = np.array(cw, dtype=float)
        # cumulative city weights within each state
        self.city_cum = []
        for s, n in zip(self.city_start, self.city_n, strict=True):
            w = self.city_w[s : s + n]
            self.city_cum.append(np.cumsum(w) / w.sum())
        # US recovery places
        us_states = [s for s in catalog.SOURCE_STATES]
        w = np.array([catalog.STATES[s][4] for s in us_states], dtype=float)
        for s, x in (("TX", 6.0), ("CA", 5.0), ("AZ", 3.0)):
            w[us_states.index(s)] = x
        self.us_states = us_states
        self.us_state_w = w
        self.us_state_t = T.table(us_states)
        uc, self.us_city_start, self.us_city_n = [], [], []
        for s in us_states:
            self.us_city_start.append(len(uc))
            self.us_city_n.append(len(catalog.CITIES[s]))
            uc += [c[0] for c in catalog.CITIES[s]]
        self.us_city_t = T.table(uc)
        self.us_city_start = np.array(self.us_city_start)
        self.us_city_n = np.array(self.us_city_n)


class People:
    """Fake purchasers: names, birth dates, addresses in the dealer's state."""

    def __init__(self):
        self.last = T.table(catalog.HISPANIC_LAST + catalog.ANGLO_LAST)
        self.first = T.table(catalog.HISPANIC_FIRST + catalog.ANGLO_FIRST)
        self.n_hl, self.n_al = len(catalog.HISPANIC_LAST), len(catalog.ANGLO_LAST)
        self.n_hf, self.n_af = len(catalog.HISPANIC_FIRST), len(catalog.ANGLO_FIRST)
        self.initials = T.table(list("ABCDEFGHJKLMNPRSTVW") + [""] * 12)
        self.streets = T.table(catalog.STREET_NAMES)
        self.suffixes = T.table(catalog.STREET_SUFFIXES)
        self.prefixes = T.table(catalog.STREET_PREFIXES)
        states = list(catalog.STATES)
        self.state_t = T.table(states)
        cities, zips, start, count = [], [], [], []
        for s in states:
            start.append(len(cities))
            count.append(len(catalog.CITIES[s]))
            cities += [c[0] for c in catalog.CITIES[s]]
            zips += [c[2] for c in catalog.CITIES[s]]
        self.city_t, self.zip_t = T.table(cities), T.table(zips)
        self.city_start, self.city_n = np.array(start), np.array(count)
        self.state_index = {s: i for i, s in enumerate(states)}

    def names(self, h: Hasher, ids: np.ndarray, hispanic_share: float = 0.7) -> pl.Series:
        hisp = h.u(ids, "p-hisp") < hispanic_share
        li = np.where(hisp, h.below(ids, "p-last", self.n_hl), self.n_hl + h.below(ids, "p-last", self.n_al))
        fi = np.where(hisp, h.below(ids, "p-first", self.n_hf), self.n_hf + h.below(ids, "p-first", self.n_af))
        mi = h.below(ids, "p-mi", len(self.initials))
        initial = T.pick(self.initials, mi)
        sep = T.where(initial.str.len_chars().to_numpy() > 0, " ", "")
        # "FIRST M LAST", as typed on the forms: never equal to a licensee name, which ATF
        # writes "LAST, FIRST M" (a privacy audit compares published values with these)
        return T.concat(T.pick(self.first, fi), " ", initial, sep, T.pick(self.last, li))

    def addresses(self, h: Hasher, ids: np.ndarray, state_codes: np.ndarray) -> pl.Series:
        codes, inverse = np.unique(state_codes, return_inverse=True)
        si = np.array([self.state_index[s] for s in codes], dtype=np.int64)[inverse]
        ci = self.city_start[si] + h.below(ids, "p-city", self.city_n[si])
        num = 1 + h.below(ids, "p-num", 19_999)
        return T.concat(
            T.zfill(num, 1), " ",
            T.pick(self.prefixes, h.below(ids, "p-pre", len(self.prefixes))),
            T.pick(self.streets, h.below(ids, "p-street", len(self.streets))), " ",
            T.pick(self.suffixes, h.below(ids, "p-suf", len(self.suffixes))), ", ",
            T.pick(self.city_t, ci), ", ", T.pick(self.state_t, si), " ", T.pick(self.zip_t, ci),
        )


@dataclass
class FileStyle:
    encoding: str  # utf-8 | utf-8-sig | cp1252
    line_end: str  # "\n" | "\r\n"
    date_format: str  # T.ISO | T.DMY
    spanish: float  # share of Mexican rows with Spanish firearm-type words


class TraceWriter:
    def __init__(self, seed: int, rates: DefectRates, pop: P.Population, lic: Licensees):
        self.h = Hasher(seed)
        self.rates = rates
        self.pop = pop
        self.lic = lic
        self.cat = Catalogue()
        self.places = Places()
        self.people = People()
        self.result_t = T.table(RESULTS)
        self.status_t = T.table([STATUS[r] for r in RESULTS])
        self.country_t = T.table(P.COUNTRY_CODES)
        self.mx_agency_w = np.array([w for _, w in catalog.MX_AGENCIES], dtype=float)
        self.agencies = T.table([a for a, _ in catalog.MX_AGENCIES] + [a for a, _ in catalog.US_AGENCIES] + [a for a, _ in catalog.ZZ_AGENCIES])
        self.us_agency_w = np.array([w for _, w in catalog.US_AGENCIES], dtype=float)
        self.zz_agency_w = np.array([w for _, w in catalog.ZZ_AGENCIES], dtype=float)
        en = list(catalog.TYPE_CLASS)
        self.type_en = T.table(en)
        self.type_es = T.table([catalog.SPANISH_TYPE[t][0] for t in en])
        self.type_es2 = T.table([catalog.SPANISH_TYPE[t][-1] for t in en])
        self.type_index = {t: i for i, t in enumerate(en)}
        self.entry_type = np.array([self.type_index[t] for t in self.cat.ftype])
        # licensee strings
        self.lic_region = T.table(lic.region.tolist())
        self.lic_district = T.table(lic.district.tolist())
        self.lic_county = T.table(lic.county.tolist())
        self.lic_type = T.table(lic.ltype.tolist())
        self.letters = T.table(list(catalog.EXPIRY_LETTERS))
        self.state_p = P._state_p()
        nil_cities = []
        for s in catalog.SOURCE_STATES:
            reg, dists, *_ = catalog.STATES[s]
            c = catalog.CITIES[s][0]
            nil_cities.append((str(reg), c[3] or dists[0], c[1]))
        self.nil_region = T.table([c[0] for c in nil_cities])
        self.nil_district = T.table([c[1] for c in nil_cities])
        self.nil_county = T.table([c[2] for c in nil_cities])
        self.source_state_t = T.table(catalog.SOURCE_STATES)

    # ---------------------------------------------------------------------------------
    def firearm_entries(self, fid: np.ndarray, origin, tclass, uvar, dl3) -> tuple[np.ndarray, np.ndarray]:
        """Catalogue entry of each firearm, and whether its type is written UNKNOWN."""
        h = self.h
        pool = np.select(
            [origin == P.O_MANU, origin == P.O_IMP, origin == P.O_THIRD, uvar == P.U_MISSING_IMPORTER],
            [0, 1, 2, 3],
            4,
        )
        unknown = (tclass == 2) & (h.u(fid, "type-unknown") < 0.2) & ~dl3
        cls = np.where(unknown, 3, tclass)
        return self.cat.choose(h.u(fid, "entry"), pool, cls, dl3 & (tclass == 0)), unknown

    def license_numbers(self, fid: np.ndarray, dstate: np.ndarray, when_day: np.ndarray) -> tuple[pl.Series, np.ndarray]:
        """License number of the first retail dealer (blank when none) and the dealer's
        state code index (-1 none)."""
        h = self.h
        n = len(fid)
        has = dstate >= 0
        out = pl.Series([None] * n, dtype=pl.Utf8)
        if not has.any():
            return out, dstate
        year = P.years_of(when_day)
        month = (P.months_of(when_day) % 12) + 1
        listed = has & (dstate != P.D_NIL)
        lic_idx = np.zeros(n, dtype=np.int64)
        if listed.any():
            u = h.u(fid, "dealer") ** 1.7  # a few dealers sell many traced guns
            for s in np.unique(dstate[listed]):
                m = listed & (dstate == s)
                pool = self.lic.pools[catalog.SOURCE_STATES[s]]
                lic_idx[m] = pool[np.minimum((u[m] * len(pool)).astype(np.int64), len(pool) - 1)]
        digit, mon = expiry_code(self.lic.exp_month[lic_idx], self.lic.phase[lic_idx], year, month)
        seq = self.lic.seq[lic_idx]
        region = T.pick(self.lic_region, lic_idx)
        district = T.pick(self.lic_district, lic_idx)
        county = T.pick(self.lic_county, lic_idx)
        ltype = T.pick(self.lic_type, lic_idx)
        nil = dstate == P.D_NIL
        if nil.any():
            ns = np.where(nil, h.choice(fid, "nil-state", self.state_p), 0)
            region = T.where(nil, T.pick(self.nil_region, ns), region)
            district = T.where(nil, T.pick(self.nil_district, ns), district)
            county = T.where(nil, T.pick(self.nil_county, ns), county)
            ltype = T.where(nil, "01", ltype)
            seq = np.where(nil, NIL_SEQ_BASE + h.below(fid, "nil-seq", 99_999 - NIL_SEQ_BASE), seq)
            nd, nm = expiry_code(1 + h.below(fid, "nil-exp", 12), h.below(fid, "nil-phase", 3), year, month)
            digit, mon = np.where(nil, nd, digit), np.where(nil, nm, mon)
        lic = T.concat(
            region, "-", district, "-", county, "-", ltype, "-", T.zfill(digit, 1),
            T.pick(self.letters, mon - 1), "-", T.zfill(seq, 5),
        )
        return T.where(has, lic, None), dstate

    # ---------------------------------------------------------------------------------
    def corrected_fields(self, pos: np.ndarray) -> np.ndarray:
        """Which field (``updates.TRACE_FIELDS``) a correction of the request at ``pos``
        changes: a recovery state only in Mexico, a city only where there is one."""
        rid = pos.astype(np.int64) + (1 << 40)
        country = self.pop.country[self.pop.req_fid[pos]]
        field = self.h.below(rid, "fix-field", len(U.TRACE_FIELDS))
        field = np.where((field == U.F_STATE) & (country != P.C_MX), U.F_CITY, field)
        return np.where((field == U.F_CITY) & (country == P.C_ZZ), U.F_MODEL, field)

    def chunk(
        self, pos: np.ndarray, dmy: np.ndarray, spanish_share: np.ndarray, variant: np.ndarray | None = None
    ) -> tuple[bytes, pl.DataFrame | None]:
        """CSV lines (UTF-8, LF, no header) of the requests at positions ``pos``, and the
        defects injected in them (column ``i``: position in ``pos``).

        ``dmy`` (per row) writes dates day-first; ``spanish_share`` (per row) is the share
        of Mexican rows typed with Spanish firearm words. Both are per-file properties:
        a chunk may hold several small files, which the caller splits again. ``variant``
        (per row, ``updates.V_*``) writes a row as an earlier version of the request:
        pending, or with one wrong value; 0 (default) is the calibrated row."""
        h, pop, rates = self.h, self.pop, self.rates
        n = len(pos)
        fid = pop.req_fid[pos].astype(np.int64)
        rid = pos.astype(np.int64) + (1 << 40)  # request ids, distinct from firearm ids
        rep = pop.req_repeat[pos]
        country = pop.country[fid]
        origin, tclass, result = pop.origin[fid], pop.tclass[fid], pop.result[fid]
        uvar, dstate, dl3 = pop.uvar[fid], pop.dstate[fid], pop.dl3[fid]
        malform = pop.malform[fid]
        rec_day, pur_day, req_day = pop.rec_day[fid], pop.pur_day[fid], pop.req_day[pos]
        mx = country == P.C_MX
        dmy = np.asarray(dmy, dtype=bool)
        cols: dict[str, pl.Series] = {}

        def dates(days):
            return T.dates_styled(days, dmy)


        trace_number = T.concat("T", T.zfill(pop.tn_year[pos], 4), "-", T.zfill(pop.tn_seq[pos], 7))
        cols["trace_number"] = trace_number
        cols["request_date"] = dates(req_day)
        ag = np.where(
            mx,
            h.choice(rid, "agency", self.mx_agency_w),
            np.where(
                country == P.C_US,
                len(self.mx_agency_w) + h.choice(rid, "agency", self.us_agency_w),
                len(self.mx_agency_w) + len(self.us_agency_w) + h.choice(rid, "agency", self.zz_agency_w),
            ),
        )
        agency = T.pick(self.agencies, ag)
        cols["recovery_date"] = dates(rec_day)
        cols["recovery_country"] = T.pick(self.country_t, country)

        # where it was recovered
        pl_ = self.places
        var = rep & (h.u(rid, "rep-place") < 0.5)
        st = h.choice(fid, "mx-state", pl_.state_w)
        form = h.choice(fid, "mx-state-form", pl_.form_w)
        k = st * pl_.STATE_FORMS + form
        mx_state = T.where(var, T.pick(pl_.state_variants, k), T.pick(pl_.state_forms, k))
        u = h.u(fid, "mx-city")
        city = np.zeros(n, dtype=np.int64)
        for s in np.unique(st):
            m = st == s
            cum = pl_.city_cum[s]
            city[m] = pl_.city_start[s] + np.minimum(np.searchsorted(cum, u[m], side="right"), len(cum) - 1)
        cform = h.choice(fid, "mx-city-form", [0.55, 0.35, 0.10])
        kc = city * 3 + cform
        mx_city = T.where(var, T.pick(pl_.city_variants, kc), T.pick(pl_.city_forms, kc))
        us_st = h.choice(fid, "us-state", pl_.us_state_w)
        us_city = pl_.us_city_start[us_st] + h.below(fid, "us-city", pl_.us_city_n[us_st])
        # in the US, most requests come from the police of the city of recovery
        local = (country == P.C_US) & (h.u(rid, "agency-local") < 0.6)
        police = T.concat(T.pick(pl_.us_city_t, us_city), " POLICE DEPARTMENT")
        cols["requesting_agency"] = T.where(local, police, agency)
        cols["recovery_state"] = T.where(mx, mx_state, T.where(country == P.C_US, T.pick(pl_.us_state_t, us_st), None))
        cols["recovery_city"] = T.where(mx, mx_city, T.where(country == P.C_US, T.pick(pl_.us_city_t, us_city), None))

        # the firearm
        cat = self.cat
        entry, unknown = self.firearm_entries(fid, origin, tclass, uvar, dl3)
        tix = np.where(unknown, self.type_index["UNKNOWN"], self.entry_type[entry])
        spanish = mx & (h.u(rid, "spanish") < spanish_share)
        es2 = h.u(rid, "spanish-2") < 0.3
        ftype = T.where(
            spanish,
            T.where(es2, T.pick(self.type_es2, tix), T.pick(self.type_es, tix)),
            T.pick(self.type_en, tix),
        )
        upper = h.u(fid, "mfr-case") < 0.65
        upper = np.where(rep & (h.u(rid, "rep-mfr") < 0.5), ~upper, upper)
        manufacturer = T.where(upper, T.pick(cat.mfr_upper, entry), T.pick(cat.mfr_as_is, entry))
        model = T.pick(cat.model_t, entry)
        caliber = T.pick(cat.caliber_t, entry)
        serial = format_serials(serial_numbers(fid), cat.fmt[entry])
        sv = h.u(rid, "rep-serial")
        serial = T.where(rep & (sv < 0.3), serial.str.to_lowercase(), serial)
        serial = T.where(rep & (sv >= 0.3) & (sv < 0.6), serial.str.replace_all("-", "", literal=True), serial)
        obliterated = T.where(h.u(fid, "obl-flag") < 0.6, "N", None)

        # country of manufacture and importer
        imp_upper = h.u(fid, "imp-case") < 0.7
        importer = T.where(imp_upper, T.pick(cat.importer_upper, entry), T.pick(cat.importer_as_is, entry))
        country_m = T.pick(cat.country_t, entry)
        monf_known = (uvar == P.U_NOT_FOUND) & cat.has_importer[entry] & (h.u(fid, "monf-country") < 0.3)
        keep_country = (origin <= P.O_THIRD) | (uvar == P.U_MISSING_IMPORTER) | monf_known
        keep_importer = (origin == P.O_IMP) | monf_known
        country_m = T.where(origin == P.O_MANU, "US", T.where(keep_country, country_m, None))
        importer = T.where(keep_importer, importer, None)

        # incomplete requests and altered serials
        inc = (result == R["INCOMPLETE_REQUEST"]) & (malform == 0)
        u = h.u(fid, "missing")
        miss = np.full(n, -1)
        miss = np.where(
            inc & (origin <= P.O_IMP),
            np.select([u < 0.45, u < 0.70, u < 0.85], [M_SERIAL, M_MODEL, M_CAL], M_MFR),
            miss,
        )
        miss = np.where(inc & (uvar == P.U_MISSING_IMPORTER), M_IMPORTER, miss)
        miss = np.where(
            inc & (uvar == P.U_INCOMPLETE_OTHER),
            np.select([u < 0.40, u < 0.70, u < 0.85], [M_MFR, M_SERIAL, M_MODEL], M_CAL),
            miss,
        )
        both = inc & (miss != M_SERIAL) & (h.u(fid, "both") < rates.altered_and_incomplete)
        restored = P.restored_mask(h, fid, result, rates.restored_serial) & (malform == 0)
        altered = ((result == R["OBLITERATED_SERIAL"]) & (malform == 0)) | both | restored
        u = h.u(fid, "altered-form")
        aform = np.where(
            restored, A_RESTORED,
            np.select([u < 0.25, u < 0.35, u < 0.65, u < 0.85], [A_BLANK, A_PARTIAL, A_WORD, A_FILLER], A_ODD),
        )
        aform = np.where(altered, aform, -1)

        manufacturer = T.where(miss == M_MFR, None, manufacturer)
        model = T.where(miss == M_MODEL, None, model)
        caliber = T.where(miss == M_CAL, None, caliber)
        importer = T.where(miss == M_IMPORTER, None, importer)
        marker = T.pick(list(catalog.SERIAL_MISSING), h.below(fid, "serial-missing", len(catalog.SERIAL_MISSING)))
        marker = T.where(marker.str.len_chars().to_numpy() == 0, None, marker)
        serial = T.where(miss == M_SERIAL, marker, serial)
        word = T.pick(list(catalog.SERIAL_REMOVAL), h.below(fid, "serial-word", len(catalog.SERIAL_REMOVAL)))
        filler = T.pick(list(catalog.SERIAL_FILLER), h.below(fid, "serial-filler", len(catalog.SERIAL_FILLER)))
        sym = T.pick(list("#?@%"), h.below(fid, "serial-sym", 4))
        odd = T.concat(serial.str.slice(0, 2), sym, serial.str.slice(3))
        serial = T.where(aform == A_BLANK, None, serial)
        serial = T.where(aform == A_PARTIAL, serial.str.slice(0, 4), serial)
        serial = T.where(aform == A_WORD, word, serial)
        serial = T.where(aform == A_FILLER, filler, serial)
        serial = T.where(aform == A_ODD, odd, serial)
        marked = np.isin(aform, [A_BLANK, A_PARTIAL, A_RESTORED])
        obliterated = T.where(marked, "Y", obliterated)

        cols["firearm_type"] = ftype
        cols["manufacturer"] = manufacturer
        cols["model"] = model
        cols["caliber"] = caliber
        cols["serial_number"] = serial
        cols["serial_obliterated"] = obliterated
        cols["country_of_manufacture"] = country_m
        cols["importer"] = importer
        cols["trace_status"] = T.pick(self.status_t, result)
        cols["trace_result"] = T.pick(self.result_t, result)

        # dealer and purchaser
        when = np.where(pur_day > T.NO_DAY, pur_day, rec_day)
        lic, _ = self.license_numbers(fid, dstate, when)
        cols["ffl_license_number"] = lic
        pi = result == R["PURCHASER_IDENTIFIED"]
        cols["purchase_date"] = dates(np.where(pi, pur_day, T.NO_DAY))
        cols["purchaser_name"] = T.where(pi, self.people.names(self.h, fid), None)
        age = (21 * 365 + h.below(fid, "p-age", 40 * 365)).astype(np.int32)
        cols["purchaser_dob"] = dates(np.where(pi, pur_day - age, T.NO_DAY))
        dealer_state = np.array(catalog.SOURCE_STATES + ("TX",))[np.where(dstate >= 0, dstate, 0)]
        cols["purchaser_address"] = T.where(pi, self.people.addresses(self.h, fid, dealer_state), None)

        # earlier versions of updated requests (never malformed or otherwise defective)
        if variant is not None and variant.any():
            pend = variant == U.V_PENDING
            if pend.any():
                cols["trace_status"] = T.where(pend, "PENDING", cols["trace_status"])
                cols["trace_result"] = T.where(pend, "PENDING", cols["trace_result"])
                for c in ("ffl_license_number", "purchase_date", "purchaser_name", "purchaser_dob", "purchaser_address"):
                    cols[c] = T.where(pend, None, cols[c])
            fix = variant == U.V_CORRECTED
            if fix.any():
                field = np.where(fix, self.corrected_fields(pos), -1)
                m = field == U.F_MODEL
                alt = U.other_value(h, rid, "fix-model", cat.model_uidx[entry], len(cat.models_u))
                cols["model"] = T.where(m, T.pick(cat.models_u_t, alt), cols["model"])
                m = field == U.F_CALIBER
                alt = U.other_value(h, rid, "fix-caliber", cat.caliber_uidx[entry], len(cat.calibers_u))
                cols["caliber"] = T.where(m, T.pick(cat.calibers_u_t, alt), cols["caliber"])
                m = field == U.F_STATE
                alt = U.other_value(h, rid, "fix-state", st, len(pl_.state_w))
                cols["recovery_state"] = T.where(m, T.pick(pl_.state_forms, alt * pl_.STATE_FORMS + form), cols["recovery_state"])
                m = np.flatnonzero(field == U.F_CITY)
                if len(m):
                    right = cols["recovery_city"].gather(m).to_list()
                    wrong = [U.misspell(c, u_) for c, u_ in zip(right, h.u(rid[m], "fix-city").tolist(), strict=True)]
                    cols["recovery_city"] = cols["recovery_city"].clone().scatter(m, pl.Series(wrong, dtype=pl.Utf8))

        # malformed rows: one unambiguous fault each
        defects = []
        bad = malform > 0
        detail = np.full(n, "", dtype=object)
        if bad.any():
            kind = malform - 1
            u = h.u(fid, "bad-column")
            date_col = np.select([u < 0.4, (u < 0.8) | ~pi], [0, 1], 2)
            date_names = ("request_date", "recovery_date", "purchase_date")
            date_days = (req_day, rec_day, pur_day)
            m_bad = bad & (kind == P.MALFORMED.index("bad_date"))
            bv = h.below(fid, "bad-value", len(BAD_DATES[T.ISO]))
            vals = T.where(dmy, T.pick(list(BAD_DATES[T.DMY]), bv), T.pick(list(BAD_DATES[T.ISO]), bv))
            m_imp = bad & (kind == P.MALFORMED.index("impossible_date"))
            for c in range(3):
                m = m_bad & (date_col == c)
                cols[date_names[c]] = T.where(m, vals, cols[date_names[c]])
                detail[m] = f"bad_date:{date_names[c]}"
                m = m_imp & (date_col == c)
                if m.any():
                    y = P.years_of(np.where(date_days[c] > T.NO_DAY, date_days[c], 0))
                    iv = h.below(fid, "impossible", 4)
                    s = T.where(
                        dmy,
                        T.concat(T.pick(["30/02/", "31/06/", "05/13/", "31/04/"], iv), T.zfill(y, 4)),
                        T.concat(T.zfill(y, 4), T.pick(["-02-30", "-06-31", "-13-05", "-04-31"], iv)),
                    )
                    cols[date_names[c]] = T.where(m, s, cols[date_names[c]])
                    detail[m] = f"impossible_date:{date_names[c]}"
            m = bad & (kind == P.MALFORMED.index("purchase_after_recovery"))
            detail[m] = "purchase_after_recovery:purchase_date"
            m_unk = bad & (kind == P.MALFORMED.index("unknown_code"))
            ucol = h.below(fid, "unknown-col", 5)
            ucol = np.where((ucol == 4) & ~keep_country, 0, ucol)
            for c, (name, values) in enumerate(
                (
                    ("trace_status", ("CLOSED", "CERRADO")),
                    ("trace_result", ("NO_RESULT", "TRACED")),
                    ("firearm_type", ("CANNON", "LANZAGRANADAS")),
                    ("recovery_country", ("99", "M1")),
                    ("country_of_manufacture", ("9Z", "X1")),
                )
            ):
                m = m_unk & (ucol == c)
                cols[name] = T.where(m, T.pick(list(values), h.below(fid, "unknown-val", 2)), cols[name])
                detail[m] = f"unknown_code:{name}"
            m_req = bad & (kind == P.MALFORMED.index("missing_required"))
            rcol = h.below(fid, "required-col", 5)
            for c, name in enumerate(("trace_number", "request_date", "recovery_date", "recovery_country", "firearm_type")):
                m = m_req & (rcol == c)
                cols[name] = T.where(m, None, cols[name])
                detail[m] = f"missing_required:{name}"
            m = bad & (kind == P.MALFORMED.index("wrong_field_count"))
            extra = h.u(fid, "field-count") < 0.5
            detail[m & extra] = "wrong_field_count:23"
            detail[m & ~extra] = "wrong_field_count:21"

        data = T.csv_chunk({c: cols[c] for c in TRACE_HEADER}, "\n")
        wrong = bad & (malform - 1 == P.MALFORMED.index("wrong_field_count"))
        if wrong.any():

            def fix(line: str, i: int) -> str:
                if detail[i].endswith("23"):
                    return line + ",EXTRA"
                assert line.endswith(","), line
                return line[:-1]

            data = T.patch_lines(data, "\n", np.flatnonzero(wrong), fix)

        # the defect ledger of this chunk
        tn = cols["trace_number"]
        row = np.arange(n)

        def record(mask, defect, handling, details):
            idx = np.flatnonzero(mask)
            if len(idx):
                defects.append(
                    pl.DataFrame(
                        {
                            "i": row[idx],
                            "record_id": tn.gather(idx).fill_null(""),
                            "defect": defect,
                            "handling": handling,
                            "detail": (
                                details.gather(idx) if isinstance(details, pl.Series)
                                else pl.Series(details[idx], dtype=pl.Utf8)
                            ),
                        }
                    )
                )

        names = np.array(MISSING_FIELDS + ("",))
        record(inc, "incomplete_request", "flag_incomplete", np.char.add("missing:", names[miss]).astype(object))
        forms = np.array(ALTERED_FORMS + ("",))
        record(altered, "altered_serial", "flag_altered", np.char.add("form:", forms[aform]).astype(object))
        if rep.any():
            firsts = pop.first_req[fid[rep]]
            orig = np.full(n, "", dtype=object)
            orig[rep] = [f"repeat of T{y:04d}-{s:07d}" for y, s in zip(pop.tn_year[firsts], pop.tn_seq[firsts], strict=True)]
            record(rep, "repeat_request", "flag_duplicate", orig)
        nil = dstate == P.D_NIL
        if nil.any():
            record(nil, "dealer_not_in_listing", "dealer_not_in_listing", lic)
        if bad.any():
            for k, kind_name in enumerate(P.MALFORMED):
                m = bad & (malform - 1 == k)
                record(m, kind_name, "quarantine", detail)
        ledger = pl.concat(defects) if defects else None
        if ledger is not None:
            ledger = ledger.sort("i", maintain_order=True)
        return data, ledger
