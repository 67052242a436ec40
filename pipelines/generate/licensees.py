"""The population of federal firearms licensees and ATF's monthly listing files.

One table of licenses covers all snapshots: each license is present from snapshot
``first`` to snapshot ``last`` (indexes into ``catalog.SNAPSHOTS``), renews every three
years (so its expiry code changes between snapshots while region + district + sequence,
the stable key, stays), and keeps its name and address. The September 2014 snapshot
holds exactly the calibrated number of dealer and pawnbroker (01, 02) licenses.

Dealers that sell the traced firearms are drawn from the *core* licenses of type 01/02,
present in every snapshot, so that a dealer is always in the snapshot valid at the
purchase date (METHOD.md). Out-of-business dealers that are in no snapshot at all get
sequence numbers above every listed one (``NIL_SEQ_BASE``): they can never match.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from pipelines.generate import catalog
from pipelines.generate.plan import apportion

SEQ_MAX = 40_000  # listed licenses use sequence numbers 1..SEQ_MAX-1 in their district
NIL_SEQ_BASE = 60_000  # dealers in no snapshot: 60000..99999
SNAPSHOT_0914 = 5
LAST_SNAPSHOT = len(catalog.SNAPSHOTS) - 1
BORDER_DEALER_WEIGHTS = {"TX": 0.55, "AZ": 0.20, "CA": 0.15, "NM": 0.10}


def snapshot_month(index: int) -> tuple[int, int]:
    mmyy = catalog.SNAPSHOTS[index][0]
    return 2000 + int(mmyy[2:]), int(mmyy[:2])


def expiry_code(exp_month, phase, year, month):
    """Expiry code of the license term running at (year, month): the first expiry date
    on or after that month; expiry years are ``phase`` modulo 3. Works on arrays."""
    exp_month = np.asarray(exp_month)
    year = np.asarray(year)
    y = year + (np.asarray(phase) - year) % 3
    y = np.where((y == year) & (exp_month < np.asarray(month)), y + 3, y)
    return y % 10, exp_month


def code_str(digit, month) -> str:
    return f"{int(digit)}{catalog.EXPIRY_LETTERS[int(month) - 1]}"


def _quote(value: str) -> str:
    if "," in value or '"' in value:
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class Licensees:
    region: np.ndarray  # str
    district: np.ndarray  # str
    county: np.ndarray  # str
    ltype: np.ndarray  # str
    seq: np.ndarray  # int
    state: np.ndarray  # str
    first: np.ndarray  # int
    last: np.ndarray  # int
    exp_month: np.ndarray  # int 1..12
    phase: np.ndarray  # int 0..2
    rows_text: list[tuple[str, str]]  # per license: fields 7..17 joined, sort key
    pools: dict[str, np.ndarray]  # state -> core dealer license indexes
    order: np.ndarray | None = None  # listing order (by premise ZIP), built on first use
    head: list[str] | None = None
    tail: list[str] | None = None

    def __len__(self) -> int:
        return len(self.seq)

    def present(self, snapshot: int) -> np.ndarray:
        return (self.first <= snapshot) & (self.last >= snapshot)


def _street(rng: random.Random) -> str:
    num = rng.randrange(1, 30000) if rng.random() < 0.8 else rng.randrange(1, 999)
    prefix = rng.choice(catalog.STREET_PREFIXES)
    name = rng.choice(catalog.STREET_NAMES)
    suffix = rng.choice(catalog.STREET_SUFFIXES)
    street = f"{num} {prefix}{name} {suffix}"
    if rng.random() < 0.08:
        street += f" STE {rng.randrange(1, 400)}"
    return street


def _zip(rng: random.Random, base: str) -> str:
    z = base[:3] + f"{(int(base[3:]) + rng.randrange(0, 6)) % 100:02d}"
    if rng.random() < 0.12:
        z += "0000" if rng.random() < 0.8 else f"{rng.randrange(1, 10000):04d}"
    return z


def _phone(rng: random.Random, state: str) -> str:
    codes = catalog.STATES[state][5]
    phone = rng.choice(codes) + str(rng.randrange(2, 10)) + f"{rng.randrange(0, 1_000_000):06d}"
    r = rng.random()
    if r < 0.002:
        return phone[:9]
    if r < 0.003:
        return ""
    return phone


def _person(rng: random.Random) -> str:
    hispanic = rng.random() < 0.35
    last = (catalog.HISPANIC_LAST if hispanic else catalog.ANGLO_LAST)
    first = (catalog.HISPANIC_FIRST if hispanic else catalog.ANGLO_FIRST)
    ln = rng.choice(last)
    if hispanic and rng.random() < 0.2:
        ln = ln + "-" + rng.choice(last)
    name = f"{ln}, {rng.choice(first)}"
    r = rng.random()
    if r < 0.6:
        name += " " + "ABCDEFGHJKLMNPRSTW"[rng.randrange(18)]
    elif r < 0.7:
        name += " " + rng.choice(first)
    if rng.random() < 0.05:
        name += " JR"
    return name


def build_licensees(seed: int, licensee_scale: float, nationwide: int, border: int) -> Licensees:
    """The licensee population whose September 2014 snapshot has exactly ``nationwide``
    dealer+pawnbroker licenses, ``border`` of them in AZ CA NM TX."""
    nrng = np.random.default_rng([seed, 11])
    rng = random.Random(seed * 1_000_003 + 11)
    states = list(catalog.STATES)
    border_states = list(catalog.BORDER_STATES)
    others = [s for s in states if s not in border_states]
    n_border = apportion(border, [catalog.STATES[s][3] for s in border_states], minimum=1)
    n_other = apportion(nationwide - border, [catalog.STATES[s][3] for s in others], minimum=1)
    dealers_0914 = dict(zip(border_states, n_border.tolist(), strict=True))
    dealers_0914.update(zip(others, n_other.tolist(), strict=True))

    recs: list[dict] = []

    def add(state: str, ltype: str, first: int, last: int, core: bool = False):
        recs.append({"state": state, "ltype": ltype, "first": first, "last": last, "core": core})

    for state in states:
        n = dealers_0914[state]
        # in the Sept 2014 snapshot: core (all snapshots), joiners, leaving after 0914
        n_join = int(round(0.10 * n))
        n_leave = int(round(0.06 * n))
        n_core = n - n_join - n_leave
        if n_core < 1:
            n_core, n_join, n_leave = n, 0, 0
        types = np.where(nrng.random(n) < catalog.PAWNBROKER_SHARE, "02", "01")
        for i in range(n):
            if i < n_core:
                add(state, types[i], 0, LAST_SNAPSHOT, core=True)
            elif i < n_core + n_join:
                add(state, types[i], rng.randrange(1, SNAPSHOT_0914 + 1), LAST_SNAPSHOT)
            else:
                add(state, types[i], rng.randrange(0, SNAPSHOT_0914), SNAPSHOT_0914)
        # not in the Sept 2014 snapshot: closed earlier, or opened after
        for _ in range(int(round(0.10 * n))):
            add(state, "01" if rng.random() > catalog.PAWNBROKER_SHARE else "02", 0, rng.randrange(0, SNAPSHOT_0914))
        for _ in range(int(round(0.03 * n))):
            add(state, "01", LAST_SNAPSHOT, LAST_SNAPSHOT)
        # other license types, proportional to the dealers of the state
        for ltype, share in catalog.OTHER_LICENSE_TYPES:
            k = int(nrng.binomial(max(n, 1), share))
            for _ in range(k):
                if rng.random() < 0.9:
                    add(state, ltype, 0, LAST_SNAPSHOT)
                else:
                    add(state, ltype, rng.randrange(1, LAST_SNAPSHOT + 1), LAST_SNAPSHOT)

    n = len(recs)
    state_arr = np.array([r["state"] for r in recs])
    ltype_arr = np.array([r["ltype"] for r in recs])
    first = np.array([r["first"] for r in recs], dtype=np.int64)
    last = np.array([r["last"] for r in recs], dtype=np.int64)
    core = np.array([r["core"] for r in recs], dtype=bool)

    region = np.empty(n, dtype=object)
    district = np.empty(n, dtype=object)
    county = np.empty(n, dtype=object)
    rows_text: list[tuple[str, str]] = [("", "")] * n
    chains_by_state: dict[str, list] = {}
    for chain in catalog.CHAINS:
        for st in catalog.CHAIN_STATES[chain[0]]:
            chains_by_state.setdefault(st, []).append(chain)

    city_weights = {st: np.linspace(2.0, 1.0, len(c)).tolist() for st, c in catalog.CITIES.items()}
    # Licensees that hold several licenses (e.g. 01 + 07 + 08) share name and address.
    previous: dict[str, tuple] = {}
    for i in range(n):
        st = state_arr[i]
        reg, dists, n_counties, *_ = catalog.STATES[st]
        cities = catalog.CITIES[st]
        city, cnty, zip5, dist = rng.choices(cities, weights=city_weights[st])[0]
        if not dist:
            dist = dists[0]
        if rng.random() < 0.25 and n_counties > 0:
            # a rural licensee elsewhere in the county list of the state
            cnty = f"{2 * rng.randrange(0, n_counties) + 1:03d}"
        region[i], district[i], county[i] = str(reg), dist, cnty
        lt = ltype_arr[i]
        chain_list = chains_by_state.get(st, [])
        same = previous.get(st) if lt in ("06", "07", "08", "10", "11") and rng.random() < 0.3 else None
        if same is not None:
            name, business, street, pcity, pzip, mail, phone = same
            if rng.random() < 0.3:
                name = name.replace(" LLC", " L.L.C.").replace(" INC", " INC.")
        else:
            pcity, pzip = city, _zip(rng, zip5)
            street = _street(rng)
            r = rng.random()
            if lt in ("01", "02") and chain_list and r < 0.08:
                chain = rng.choice(chain_list)
                name, business = chain[0], f"{chain[1]} #{rng.randrange(1, 900)}"
                mail = (chain[2], chain[3], chain[4], chain[5])
                if chain[0] == "CASH AMERICA WEST INC" and rng.random() < 0.5:
                    mail = ('1600 WEST 7TH STREET  "ATTN: FIREARM DEPT"', chain[3], chain[4], chain[5])
            else:
                if r < 0.5:
                    name = _person(rng)
                    business = ""
                    if rng.random() < 0.5:
                        ln = name.split(",")[0]
                        word = rng.choice(catalog.BUSINESS_WORDS)
                        business = f"{ln}{'S' if rng.random() < 0.3 else ''} {word}"
                else:
                    pool = catalog.ANGLO_LAST if rng.random() < 0.6 else catalog.HISPANIC_LAST
                    base = rng.choice(pool)
                    word = rng.choice(catalog.BUSINESS_WORDS)
                    suffix = rng.choice(catalog.COMPANY_SUFFIXES)
                    comma = ", " if rng.random() < 0.3 else " "
                    name = f"{base} {word}{comma}{suffix}"
                    business = f"{base} {word}" if rng.random() < 0.6 else ""
                rr = rng.random()
                if rr < 0.80:
                    mail = (street, pcity, st, pzip)
                elif rr < 0.92:
                    mail = (f"PO BOX {rng.randrange(1, 9999)}", pcity, st, pzip[:5])
                else:
                    mail = (_street(rng), pcity, st, pzip)
            phone = _phone(rng, st)
            # ATF's text quirks: stray trailing and doubled spaces
            q = rng.random()
            if q < 0.01:
                business = business + " " if business else business
            elif q < 0.02:
                street = street.replace(" ", "  ", 1)
            previous[st] = (name, business, street, pcity, pzip, mail, phone)
        fields = (name, business, street, pcity, st, pzip, mail[0], mail[1], mail[2], mail[3], phone)
        rows_text[i] = ("\t".join(_quote(f) for f in fields), pzip)

    seq = np.zeros(n, dtype=np.int64)
    keys = np.array([f"{r}-{d}" for r, d in zip(region, district, strict=True)])
    for key in np.unique(keys):
        idx = np.flatnonzero(keys == key)
        seq[idx] = nrng.choice(np.arange(1, SEQ_MAX), size=len(idx), replace=False)

    pools = {}
    dealer = core & np.isin(ltype_arr, ["01", "02"])
    for st in catalog.SOURCE_STATES:
        idx = np.flatnonzero(dealer & (state_arr == st))
        pools[st] = nrng.permutation(idx)
    return Licensees(
        region=region,
        district=district,
        county=county,
        ltype=ltype_arr,
        seq=seq,
        state=state_arr,
        first=first,
        last=last,
        exp_month=nrng.integers(1, 13, n),
        phase=nrng.integers(0, 3, n),
        rows_text=rows_text,
        pools=pools,
    )


def snapshot_lines(lic: Licensees, snapshot: int, seed: int) -> list[str]:
    """The data lines of one snapshot (no line ends), in ATF's order (by premise ZIP)."""
    year, month = snapshot_month(snapshot)
    if lic.order is None:
        lic.order = np.array(sorted(range(len(lic)), key=lambda i: (lic.rows_text[i][1], lic.seq[i])))
        lic.head = [
            f"{lic.region[i]}\t{lic.district[i]}\t{lic.county[i]}\t{lic.ltype[i]}\t" for i in range(len(lic))
        ]
        lic.tail = [f"\t{lic.seq[i]:05d}\t{lic.rows_text[i][0]}" for i in range(len(lic))]
    idx = lic.order[lic.present(snapshot)[lic.order]]
    digit, mon = expiry_code(lic.exp_month[idx], lic.phase[idx], year, month)
    # A few licenses are listed with their last, already past, expiry (renewal pending).
    rng = np.random.default_rng([seed, 12, snapshot])
    pending = rng.random(len(idx)) < 0.004
    digit = np.where(pending, (digit - 3) % 10, digit)
    letters = catalog.EXPIRY_LETTERS
    codes = [f"{d}{letters[m - 1]}" for d, m in zip(digit.tolist(), mon.tolist(), strict=True)]
    head, tail = lic.head, lic.tail
    return [head[i] + c + tail[i] for i, c in zip(idx.tolist(), codes, strict=True)]


def snapshot_bytes(lic: Licensees, snapshot: int, seed: int) -> tuple[bytes, int]:
    style = catalog.SNAPSHOTS[snapshot][1]
    header = catalog.LICENSEE_HEADER_TITLE if style == "title" else catalog.LICENSEE_HEADER
    lines = snapshot_lines(lic, snapshot, seed)
    text = "\r\n".join(["\t".join(header), *lines]) + "\r\n"
    return text.encode("latin-1"), len(lines)
