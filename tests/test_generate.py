"""Tests of the sample-data generator (pipelines.generate).

The calibration tests do not trust the generator's own bookkeeping: they read the
delivered files the way a careful loader would (reject unreadable files, drop rows that
break the contract, one row per trace number), then count GAO-16-223's figures with a
plain Python implementation of docs/METHOD.md, and compare with the published values.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import replace
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from released import scale_1_landing

from pipelines.generate import DEFAULT_SEED, DefectRates, UpdateRates, expected_figures, generate
from pipelines.generate.catalog import MEXICAN_STATES

# Copies kept in the repository: the published figures as a dbt seed, the real ATF sample as test data.
REFERENCE = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "gao_16_223_figures.csv"

USES_DBT_STATE = False  # the generator's files are read here, never built (conftest.dbt_state)

FFL_SAMPLE = Path(__file__).resolve().parent / "data" / "0124-ffl-list-sample.txt"

# GAO-16-223, as published (also in shared/reference/gao-16-223-figures.csv)
GAO = {
    "origin.firearms_seized_in_mexico_submitted_for_tracing": 104850,
    "origin.us_sourced": 73684,
    "origin.third_country": 17544,
    "origin.undetermined": 13622,
    "firearm_type.long_guns_traced": 49566,
    "firearm_type.short_guns_traced": 53156,
    "source_state.share_of_us_sourced_TX": 41,
    "source_state.share_of_us_sourced_CA": 19,
    "source_state.share_of_us_sourced_AZ": 15,
    "purchaser.purchaser_determined_share_of_us_sourced": 45,
    "purchaser.purchaser_undetermined_share_of_us_sourced": 53,
    "ice_seizures.firearms_seized_destined_for_mexico": 5951,
    "ice_seizures.long_guns": 2341,
    "ice_seizures.short_guns": 3610,
    "licensees.dealers_and_pawnbrokers_southwest_border_states": 10134,
    "licensees.dealers_and_pawnbrokers_nationwide": 63311,
    "multiple_sales.dl3_long_guns_recovered": 490,
    "multiple_sales.dl3_recovered_in_us": 259,
    "multiple_sales.dl3_recovered_in_mexico": 209,
    "multiple_sales.dl3_recovery_undetermined": 22,
}

TRACE_COLUMNS = [
    "trace_number",
    "request_date",
    "requesting_agency",
    "recovery_date",
    "recovery_country",
    "recovery_state",
    "recovery_city",
    "firearm_type",
    "manufacturer",
    "model",
    "caliber",
    "serial_number",
    "serial_obliterated",
    "country_of_manufacture",
    "importer",
    "trace_status",
    "trace_result",
    "ffl_license_number",
    "purchase_date",
    "purchaser_name",
    "purchaser_dob",
    "purchaser_address",
]
SEIZURE_COLUMNS = [
    "seizure_id",
    "seizure_date",
    "seizing_agency",
    "location",
    "us_state",
    "destination_country",
    "firearm_type",
    "manufacturer",
    "model",
    "caliber",
    "serial_number",
    "case_number",
]
DL3_COLUMNS = [
    "report_id",
    "report_date",
    "ffl_license_number",
    "serial_number",
    "manufacturer",
    "importer",
    "model",
    "caliber",
    "disposition_date",
    "purchaser_name",
    "purchaser_dob",
    "purchaser_id_number",
]
LICENSEE_COLUMNS = [
    "LIC_REGN",
    "LIC_DIST",
    "LIC_CNTY",
    "LIC_TYPE",
    "LIC_XPRDTE",
    "LIC_SEQN",
    "LICENSE_NAME",
    "BUSINESS_NAME",
    "PREMISE_STREET",
    "PREMISE_CITY",
    "PREMISE_STATE",
    "PREMISE_ZIP_CODE",
    "MAIL_STREET",
    "MAIL_CITY",
    "MAIL_STATE",
    "MAIL_ZIP_CODE",
    "VOICE_PHONE",
]
TYPE_CLASS = {
    "RIFLE": "long",
    "FUSIL": "long",
    "CARABINA": "long",
    "SHOTGUN": "long",
    "ESCOPETA": "long",
    "MACHINE GUN": "long",
    "AMETRALLADORA": "long",
    "PISTOL": "short",
    "PISTOLA": "short",
    "REVOLVER": "short",
    "DERRINGER": "short",
    "SUBMACHINE GUN": "other",
    "SUBAMETRALLADORA": "other",
    "RECEIVER/FRAME": "other",
    "RECEPTOR/ARMAZON": "other",
    "UNKNOWN": "other",
    "DESCONOCIDO": "other",
}
STATUSES = {"COMPLETED", "NOT_COMPLETED", "PENDING"}
RESULTS = {
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
}
LICENSE = re.compile(r"^\d-\d{2}-\d{3}-\d{2}-\d[A-HJ-M]-\d{5}$")
ISO2 = re.compile(r"^[A-Z]{2}$")
DMY_RE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SEPARATORS = re.compile(r"[\s-]+")
ODD_CHARACTERS = re.compile(r"[^A-Z0-9\- ]")
MISSING_WORDS = {"NONE", "N/A", "S/N", "SIN NUMERO", "UNKNOWN", "NO VISIBLE"}
STATES_51 = set(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)


# --- a careful, independent reader ------------------------------------------------------------


@cache
def norm(value: str | None) -> str:
    value = value or ""
    if not value.isascii():
        value = unicodedata.normalize("NFKD", value)
        value = "".join(c for c in value if not unicodedata.combining(c))
    return " ".join(value.upper().split())


def decode(data: bytes) -> str | None:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


@cache
def parse_date(value: str, style: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value.strip(), style).date()
    except ValueError:
        return None


def read_files(folder: Path, columns: list[str], date_columns: list[str]):
    """Rows of every readable file whose header is the contract's, in file-name order
    (the order files land), with the file's date style: (file, style, row), where row is
    None for a row with the wrong number of fields."""
    seen_bytes = set()
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if not data.strip() or digest in seen_bytes:
            continue
        text = decode(data)
        if text is None or not text.endswith(("\n", "\r")):
            continue
        records = list(csv.reader(io.StringIO(text, newline="")))
        if [h.strip().lower() for h in records[0]] != columns:
            continue
        seen_bytes.add(digest)
        body = [r for r in records[1:] if len(r) == len(columns)]
        positions = [columns.index(c) for c in date_columns]
        dmy = sum(bool(DMY_RE.match(r[p])) for r in body[:1000] for p in positions)
        iso = sum(bool(ISO_RE.match(r[p])) for r in body[:1000] for p in positions)
        style = "%d/%m/%Y" if dmy > iso else "%Y-%m-%d"
        for row in records[1:]:
            if len(row) != len(columns):
                yield path.name, style, None
            else:
                yield path.name, style, dict(zip(columns, [v.strip() for v in row], strict=True))


# The export date of a file: the first date in its name written YYYY-MM-DD, YYYYMMDD or
# YYYY-MM (separators - or _); a name without one counts as exported the day it is loaded.
EXPORT_DATE = re.compile(r"(?<!\d)(\d{4})(?:([-_])(\d{2})(?:\2(\d{2}))?|(\d{2})(\d{2}))(?!\d)")


def export_date(name: str) -> dt.date | None:
    for m in EXPORT_DATE.finditer(name):
        year, month, day = int(m[1]), int(m[3] or m[5]), int(m[4] or m[6] or 1)
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def trace_ok(r: dict, d: dict) -> bool:
    if not all(
        r[c]
        for c in (
            "trace_number",
            "request_date",
            "recovery_date",
            "recovery_country",
            "firearm_type",
        )
    ):
        return False
    if d["purchase_date"] and d["purchase_date"] > d["recovery_date"]:
        return False
    if d["recovery_date"] > d["request_date"]:
        return False
    if not ISO2.match(r["recovery_country"]) or (
        r["country_of_manufacture"] and not ISO2.match(r["country_of_manufacture"])
    ):
        return False
    if norm(r["firearm_type"]) not in TYPE_CLASS:
        return False
    if (r["trace_status"] and r["trace_status"] not in STATUSES) or (
        r["trace_result"] and r["trace_result"] not in RESULTS
    ):
        return False
    return not (r["ffl_license_number"] and not LICENSE.match(r["ffl_license_number"]))


def seizure_ok(r: dict, d: dict) -> bool:
    return bool(
        r["seizure_id"]
        and d["seizure_date"]
        and norm(r["firearm_type"]) in TYPE_CLASS
        and ISO2.match(r["destination_country"])
    )


def dl3_ok(r: dict, d: dict) -> bool:
    if not (r["report_id"] and d["report_date"] and LICENSE.match(r["ffl_license_number"])):
        return False
    return not (d["disposition_date"] and d["disposition_date"] > d["report_date"])


# kind -> columns, date columns, record key, contract check
KINDS = {
    "trace": (
        TRACE_COLUMNS,
        ["request_date", "recovery_date", "purchase_date", "purchaser_dob"],
        lambda r: r["trace_number"],
        trace_ok,
    ),
    "seizures": (SEIZURE_COLUMNS, ["seizure_date"], lambda r: r["seizure_id"], seizure_ok),
    "multiple_sales": (
        DL3_COLUMNS,
        ["report_date", "disposition_date", "purchaser_dob"],
        lambda r: (r["report_id"], r["manufacturer"], r["serial_number"]),
        dl3_ok,
    ),
}


def careful_load(root: Path, kind: str) -> tuple[dict, dict[str, Counter]]:
    """Load the files of a kind as export-formats.md ("Delivery") says, files in name
    order: a row that breaks the contract, or repeats a key within its file, is
    quarantined; a later row for a known key is a new version, unless it is identical to
    the current version (values trimmed, dates as dates), which changes nothing. The
    current version of a key is the one of the later export date, then the later-loaded
    file, then the later row.

    Returns key -> (current row, its compared values), and per file the counts an
    ingest reports (rows_read, rows_loaded, rows_quarantined, rows_new, rows_changed,
    rows_unchanged)."""
    columns, date_columns, key_of, ok = KINDS[kind]
    current: dict = {}
    counts: dict[str, Counter] = {}
    today = dt.date.today()
    files = itertools.groupby(read_files(root / kind, columns, date_columns), key=lambda t: t[0])
    for seq, (name, items) in enumerate(files):
        exported = export_date(name) or today
        c = counts[name] = Counter()
        in_file = set()
        for number, (_n, style, r) in enumerate(items, 1):
            c["rows_read"] += 1
            if r is None:
                c["rows_quarantined"] += 1
                continue
            d = {col: (parse_date(r[col], style) if r[col] else None) for col in date_columns}
            if any(r[col] and d[col] is None for col in date_columns) or not ok(r, d):
                c["rows_quarantined"] += 1
                continue
            key = key_of(r)
            if key in in_file:
                c["rows_quarantined"] += 1
                continue
            in_file.add(key)
            c["rows_loaded"] += 1
            values = tuple(d.get(col, r[col]) for col in columns)
            r.update({f"_{col}": d[col] for col in date_columns})
            r["_file"], r["_row"] = name, number
            order = (exported, seq, number)
            old = current.get(key)
            if old is None:
                c["rows_new"] += 1
                current[key] = (order, r, values)
            elif old[2] == values:
                c["rows_unchanged"] += 1
            else:
                c["rows_changed"] += 1
                if order > old[0]:
                    current[key] = (order, r, values)
    return {k: (r, values) for k, (_o, r, values) in current.items()}, counts


def load_traces(root: Path) -> list[dict]:
    """The current version of every trace request that passes the contract."""
    return [r for r, _values in careful_load(root, "trace")[0].values()]


def flag(r: dict) -> dict:
    """METHOD.md flags of one trace request."""
    serial = norm(r["serial_number"])
    marked = r["serial_obliterated"].upper() == "Y"
    missing = (serial == "" or serial in MISSING_WORDS) and not marked
    compact = SEPARATORS.sub("", serial)
    altered = (
        marked
        or any(w in serial for w in ("OBLITERATED", "BORRADO", "LIMADO", "RAYADO", "GROUND OFF"))
        or (len(compact) >= 3 and len(set(compact)) == 1)
        or (
            serial not in MISSING_WORDS
            and serial != ""
            and ODD_CHARACTERS.search(serial) is not None
        )
    )
    country, importer, result = (
        r["country_of_manufacture"].upper(),
        norm(r["importer"]),
        r["trace_result"],
    )
    incomplete = (
        not norm(r["manufacturer"])
        or not norm(r["model"])
        or not norm(r["caliber"])
        or missing
        or (country not in ("", "US") and not importer and result != "FOREIGN_NOT_IMPORTED_TO_US")
    )
    if result == "FOREIGN_NOT_IMPORTED_TO_US":
        origin = "third_country"
    elif result == "MANUFACTURER_OR_IMPORTER_NOT_FOUND":
        origin = "undetermined"
    elif country == "US":
        origin = "us_manufactured"
    elif country and importer:
        origin = "us_imported"
    else:
        origin = "undetermined"
    return {
        "missing": missing,
        "altered": altered,
        "incomplete": incomplete,
        "origin": origin,
        "serial_key": compact,
    }


def mark_repeats(traces: list[dict]) -> None:
    groups = defaultdict(list)
    for r in traces:
        f = r["_flags"] = flag(r)
        if f["serial_key"] and not f["missing"] and not f["altered"]:
            key = (
                f["serial_key"],
                norm(r["manufacturer"]),
                r["_recovery_date"],
                r["recovery_country"],
                norm(r["recovery_state"]),
                norm(r["recovery_city"]),
            )
            groups[key].append(r)
        r["_repeat"] = False
    for rows in groups.values():
        rows.sort(key=lambda r: (r["_request_date"], r["trace_number"]))
        for r in rows[1:]:
            r["_repeat"] = True


def load_licensees(root: Path) -> dict[dt.date, pl.DataFrame]:
    """Snapshot month -> its rows (17 text columns named as ATF's current header);
    a file re-sent with the same bytes counts once."""
    snaps: dict[dt.date, pl.DataFrame] = {}
    seen = set()
    for path in sorted((root / "licensees").iterdir()):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        m = re.match(r"^(\d{2})(\d{2})-ffl-list(-complete)?\.txt$", path.name)
        if not m or digest in seen:
            continue
        seen.add(digest)
        frame = pl.read_csv(
            data.decode("latin-1").encode("utf-8"),
            separator="\t",
            infer_schema=False,
            new_columns=LICENSEE_COLUMNS,
            quote_char='"',
            eol_char="\n",
        ).with_columns(pl.all().str.strip_chars_end("\r"))
        month = dt.date(2000 + int(m[2]), int(m[1]), 1)
        snaps[month] = pl.concat([snaps[month], frame]).unique() if month in snaps else frame
    return snaps


def count_figures(root: Path) -> dict:
    """GAO-16-223's figures counted from the files under ``root`` with METHOD.md."""
    loads = {kind: careful_load(root, kind) for kind in KINDS}
    traces = [r for r, _values in loads["trace"][0].values()]
    mark_repeats(traces)
    snaps = load_licensees(root)
    months = sorted(snaps)
    stable = {
        m: dict(
            zip(
                snaps[m]
                .select(pl.concat_str("LIC_REGN", pl.lit("-"), "LIC_DIST", pl.lit("-"), "LIC_SEQN"))
                .to_series()
                .to_list(),
                snaps[m]["PREMISE_STATE"].to_list(),
                strict=True,
            )
        )
        for m in months
    }

    universe = [
        r
        for r in traces
        if r["recovery_country"] == "MX"
        and 2009 <= r["_recovery_date"].year <= 2014
        and not r["_repeat"]
    ]
    origin = Counter(r["_flags"]["origin"] for r in universe)
    gun = Counter(TYPE_CLASS[norm(r["firearm_type"])] for r in universe)
    us = [r for r in universe if r["_flags"]["origin"] in ("us_manufactured", "us_imported")]
    determined = sum(r["trace_result"] == "PURCHASER_IDENTIFIED" for r in us)
    pending = sum(r["trace_result"] == "PENDING" or r["trace_status"] == "PENDING" for r in us)
    undetermined = len(us) - determined - pending
    states: Counter = Counter()
    not_listed = 0
    for r in us:
        lic = r["ffl_license_number"]
        if not lic:
            continue
        # among the snapshots that hold the dealer's key, the latest on or before the
        # purchase (else recovery) month, else the earliest of them
        when = (r["_purchase_date"] or r["_recovery_date"]).replace(day=1)
        p = lic.split("-")
        key = f"{p[0]}-{p[1]}-{p[5]}"
        holding = [m for m in months if key in stable[m]]
        if not holding:
            not_listed += 1
            continue
        valid = [m for m in holding if m <= when]
        states[stable[valid[-1] if valid else holding[0]][key]] += 1
    known = sum(states.values())

    seizures = Counter()
    for r, _values in loads["seizures"][0].values():
        if r["destination_country"] == "MX" and 2009 <= r["_seizure_date"].year <= 2014:
            seizures[TYPE_CLASS[norm(r["firearm_type"])]] += 1

    first_report: dict[tuple[str, str], dt.date] = {}
    for r, _values in loads["multiple_sales"][0].values():
        rd = r["_report_date"]
        rifle = (norm(r["manufacturer"]), SEPARATORS.sub("", norm(r["serial_number"])))
        first_report[rifle] = min(rd, first_report.get(rifle, rd))
    # a rifle counts once, in the year of its earliest report
    rifles = {k for k, d in first_report.items() if 2011 <= d.year <= 2014}
    first_trace = {}
    for r in sorted(traces, key=lambda r: (r["_recovery_date"], r["trace_number"])):
        if r["_repeat"]:
            continue
        key = (norm(r["manufacturer"]), r["_flags"]["serial_key"])
        first_trace.setdefault(key, r["recovery_country"])
    where = Counter(first_trace[k] for k in rifles if k in first_trace)

    sep = snaps[dt.date(2014, 9, 1)].unique(subset=LICENSEE_COLUMNS[:6])
    dealers = sep.filter(pl.col("LIC_TYPE").is_in(["01", "02"]))["PREMISE_STATE"].to_list()
    return {
        "gao": {
            "origin.firearms_seized_in_mexico_submitted_for_tracing": len(universe),
            "origin.us_sourced": len(us),
            "origin.third_country": origin["third_country"],
            "origin.undetermined": origin["undetermined"],
            "firearm_type.long_guns_traced": gun["long"],
            "firearm_type.short_guns_traced": gun["short"],
            "source_state.share_of_us_sourced_TX": round(100 * states["TX"] / known),
            "source_state.share_of_us_sourced_CA": round(100 * states["CA"] / known),
            "source_state.share_of_us_sourced_AZ": round(100 * states["AZ"] / known),
            "purchaser.purchaser_determined_share_of_us_sourced": round(100 * determined / len(us)),
            "purchaser.purchaser_undetermined_share_of_us_sourced": round(
                100 * undetermined / len(us)
            ),
            "ice_seizures.firearms_seized_destined_for_mexico": seizures["long"]
            + seizures["short"]
            + seizures["other"],
            "ice_seizures.long_guns": seizures["long"],
            "ice_seizures.short_guns": seizures["short"],
            "licensees.dealers_and_pawnbrokers_southwest_border_states": sum(
                s in ("AZ", "CA", "NM", "TX") for s in dealers
            ),
            "licensees.dealers_and_pawnbrokers_nationwide": len(dealers),
            "multiple_sales.dl3_long_guns_recovered": sum(where.values()),
            "multiple_sales.dl3_recovered_in_us": where["US"],
            "multiple_sales.dl3_recovered_in_mexico": where["MX"],
            "multiple_sales.dl3_recovery_undetermined": where["ZZ"],
        },
        "by_year": Counter(r["_recovery_date"].year for r in universe),
        "other_guns": gun["other"],
        "states": states,
        "not_listed": not_listed,
        "traces": traces,
        "repeats": sum(r["_repeat"] for r in traces),
        "ingest_counts": {kind: counts for kind, (_current, counts) in loads.items()},
    }


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "landing"
    generate(out=out, scale=0.01, seed=DEFAULT_SEED)
    return out


@pytest.fixture(scope="module")
def manifest(small) -> dict:
    return json.loads((small / "_generator" / "manifest.json").read_text(encoding="utf-8"))


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- reproducibility --------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(small, tmp_path):
    again = tmp_path / "again"
    generate(out=again, scale=0.01, seed=DEFAULT_SEED)
    assert file_digests(again) == file_digests(small)
    other = tmp_path / "other"
    generate(out=other, scale=0.01, seed=DEFAULT_SEED + 1)
    a, b = file_digests(small), file_digests(other)
    changed = [k for k in a if k.startswith("trace/") and a[k] != b.get(k)]
    assert len(changed) > 0.9 * sum(k.startswith("trace/") for k in a)


def test_generating_again_into_the_same_folder_replaces_it_but_foreign_files_stop_it(
    small, tmp_path
):
    out = tmp_path / "landing"
    generate(out=out, scale=0.005, seed=7)
    generate(out=out, scale=0.01, seed=DEFAULT_SEED)
    assert file_digests(out) == file_digests(small)
    (out / "trace" / "real_export.csv").write_text("trace_number\n")
    with pytest.raises(FileExistsError, match="real_export.csv"):
        generate(out=out, scale=0.01, seed=DEFAULT_SEED)
    assert (out / "trace" / "real_export.csv").exists()


# --- formats -----------------------------------------------------------------------------------


def test_csv_headers_encodings_line_ends_and_date_styles_are_as_the_manifest_says(small, manifest):
    headers = {"trace": TRACE_COLUMNS, "seizures": SEIZURE_COLUMNS, "multiple_sales": DL3_COLUMNS}
    normal = [f for f in manifest["files"] if f["role"] == "normal" and f["kind"] != "licensees"]
    assert {f["encoding"] for f in normal} == {"utf-8", "utf-8-sig", "cp1252"}
    assert {f["line_end"] for f in normal} == {"LF", "CRLF"}
    assert {f["date_format"] for f in normal if f["kind"] == "trace"} == {
        "YYYY-MM-DD",
        "DD/MM/YYYY",
    }
    for f in normal:
        data = (small / f["kind"] / f["name"]).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") == (f["encoding"] == "utf-8-sig"), f["name"]
        if f["encoding"] == "cp1252" and re.search(rb"[\x80-\xff]", data):
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        text = decode(data)
        crlf = text.count("\r\n")
        assert (crlf == text.count("\n")) == (f["line_end"] == "CRLF"), f["name"]
        assert text.endswith("\r\n" if f["line_end"] == "CRLF" else "\n")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0] == headers[f["kind"]], f["name"]
        assert len(rows) - 1 == f["rows"], f["name"]
        # one date style per file, never mixed
        dates = [
            v
            for r in rows[1:]
            for v in r
            if re.match(r"^\d{4}-\d{2}-\d{2}$|^\d{2}/\d{2}/\d{4}$", v)
        ]
        iso = sum("-" in v for v in dates)
        expected_iso = f["date_format"] == "YYYY-MM-DD"
        assert iso == (len(dates) if expected_iso else 0), f["name"]
        assert hashlib.sha256(data).hexdigest() == f["sha256"]


def test_trace_values_look_like_etrace(small):
    traces = load_traces(small)
    assert all(re.match(r"^T20\d\d-\d{7}$", r["trace_number"]) for r in traces)
    # the trace number's year is the request year
    assert all(r["trace_number"][1:5] == str(r["_request_date"].year) for r in traces)
    mx = [r for r in traces if r["recovery_country"] == "MX"]
    words = {norm(r["firearm_type"]) for r in mx}
    assert {"PISTOLA", "ESCOPETA", "PISTOL", "RIFLE"} <= words
    states = {r["recovery_state"] for r in mx}
    assert any(re.search(r"[áéíóú]", s) for s in states) and any(s.isdigit() for s in states)
    assert any(s.isupper() for s in states) and any(s.islower() for s in states)
    assert {r["recovery_country"] for r in traces} == {"MX", "US", "ZZ"}
    for r in traces:
        f = flag(r)
        if f["origin"] == "third_country":
            assert r["country_of_manufacture"] not in ("", "US") and not r["importer"]
        if r["trace_result"] == "PURCHASER_IDENTIFIED":
            assert (
                r["ffl_license_number"]
                and r["_purchase_date"]
                and r["purchaser_name"]
                and r["_purchaser_dob"]
            )
            assert (
                r["_purchaser_dob"]
                < r["_purchase_date"]
                < r["_recovery_date"]
                <= r["_request_date"]
            )
        if r["trace_result"] == "INCOMPLETE_REQUEST":
            assert f["incomplete"], r
        elif f["incomplete"]:
            pytest.fail(f"an incomplete request with result {r['trace_result']}: {r}")
        if r["trace_result"] == "OBLITERATED_SERIAL":
            assert f["altered"], r
    # AK-type rifles in 7.62X39 from Romania imported by Century Arms
    assert any(
        norm(r["manufacturer"]) == "ROMARM/CUGIR" and r["caliber"] == "7.62X39" for r in traces
    )


def test_licensee_listings_are_in_atf_format(small, manifest):
    sample = FFL_SAMPLE.read_bytes() if FFL_SAMPLE.exists() else None
    listings = [f for f in manifest["files"] if f["kind"] == "licensees" and f["role"] == "normal"]
    assert {f["header"] for f in listings} == {"upper_case", "title_case"}
    sample_districts = defaultdict(set)
    if sample:
        for r in list(
            csv.reader(io.StringIO(sample.decode("latin-1"), newline=""), delimiter="\t")
        )[1:]:
            sample_districts[r[10]].add((r[0], r[1]))
    for f in listings:
        data = (small / "licensees" / f["name"]).read_bytes()
        assert re.match(r"^\d{4}-ffl-list(-complete)?\.txt$", f["name"])
        assert data.endswith(b"\r\n") and data.count(b"\r\n") == data.count(b"\n")
        lines = data.decode("latin-1").split("\r\n")[:-1]
        header = lines[0].split("\t")
        if f["header"] == "upper_case":
            assert header == LICENSEE_COLUMNS
        else:
            assert (
                header[0] == "Lic Regn"
                and [h.upper().replace(" ", "_") for h in header] == LICENSEE_COLUMNS
            )
        rows = list(csv.reader(io.StringIO("\n".join(lines[1:]), newline=""), delimiter="\t"))
        assert all(len(r) == 17 for r in rows)
        for r in rows:
            assert (
                re.match(r"^\d$", r[0])
                and re.match(r"^\d{2}$", r[1])
                and re.match(r"^\d{3}$", r[2])
            )
            assert r[3] in {"01", "02", "03", "06", "07", "08", "09", "10", "11"}
            assert re.match(r"^\d[A-HJ-M]$", r[4]) and re.match(r"^\d{5}$", r[5])
            assert re.match(r"^\d{5}(\d{4})?$", r[11]) and re.match(r"^(\d{9,10})?$", r[16])
            if r[10] in sample_districts:
                assert (r[0], r[1]) in sample_districts[r[10]], r
        # names with commas are quoted, as ATF does
        assert any(line.split("\t")[6].startswith('"') for line in lines[1:200])
        assert {r[3] for r in rows} >= {"01", "02", "07"}
    # dealers renew: the same stable key shows new expiry codes in later snapshots
    snaps = load_licensees(small)
    first, last = snaps[min(snaps)], snaps[max(snaps)]
    key = ["LIC_REGN", "LIC_DIST", "LIC_SEQN"]
    both = first.join(last, on=key, suffix="_last")
    renewed = both.filter(pl.col("LIC_XPRDTE") != pl.col("LIC_XPRDTE_last")).height
    assert renewed > 0.3 * last.height
    assert both.filter(pl.col("LIC_TYPE") != pl.col("LIC_TYPE_last")).height == 0


# --- calibration -------------------------------------------------------------------------------


def test_reference_file_holds_the_figures_this_test_checks():
    with REFERENCE.open(newline="") as handle:
        published = {
            f"{r['figure']}.{r['measure']}": int(r["value"]) for r in csv.DictReader(handle)
        }
    assert published == GAO


def test_small_scale_counts_match_the_expected_figures(small, manifest):
    counted = count_figures(small)
    assert counted["gao"] == expected_figures(0.01)["gao"] == manifest["expected_figures"]["gao"]
    assert set(counted["states"]) == STATES_51


@pytest.mark.slow
def test_scale_1_reproduces_every_gao_figure_exactly(tmp_path_factory):
    out = scale_1_landing(tmp_path_factory)  # generate(scale=1.0, seed=DEFAULT_SEED)
    counted = count_figures(out)
    assert counted["gao"] == GAO
    assert counted["other_guns"] == 2128
    assert set(counted["states"]) == STATES_51, "every state and DC is a source at least once"
    years = counted["by_year"]
    assert [years[y] for y in range(2009, 2015)] == [21313, 7971, 20335, 19900, 18350, 16981]
    assert (
        years[2010] < years[2009]
        and years[2011] > years[2010]
        and years[2014] < years[2013] < years[2012] < years[2011]
    )
    # the year, country and repeat-request rules each remove something
    traces = counted["traces"]
    assert counted["repeats"] > 1000
    assert (
        sum(
            r["recovery_country"] == "MX" and r["_recovery_date"].year in (2007, 2008, 2015)
            for r in traces
        )
        > 1000
    )
    assert sum(r["recovery_country"] == "US" for r in traces) > 10000
    extra = expected_figures(1.0)["extra"]
    assert counted["not_listed"] == extra["us_sourced_dealer_not_in_listing"] > 0
    assert dict(counted["states"]) == extra["source_state_counts"]
    # with the updates applied (current versions), and the ingest counts the manifest expects
    manifest = json.loads((out / "_generator" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["defects"]["pending_completed"] == int(
        0.02 * manifest["counts"]["trace_requests"] + 0.5
    )
    for f in manifest["files"]:
        if "expected_ingest" in f:
            c = counted["ingest_counts"][f["kind"]][f["name"]]
            assert {k: c.get(k, 0) for k in f["expected_ingest"]} == f["expected_ingest"], f["name"]


# --- ground truth --------------------------------------------------------------------------------


def ledger(root: Path) -> list[dict]:
    with (root / "_generator" / "defects.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_manifest_and_defect_ledger_match_the_files(small, manifest):
    rows = ledger(small)
    assert Counter(r["defect"] for r in rows) == {
        k: v for k, v in manifest["counts"]["defects"].items() if not k.startswith("file_")
    }
    id_column = {"trace": "trace_number", "seizures": "seizure_id", "multiple_sales": "report_id"}
    cache: dict[tuple[str, str], list[list[str]]] = {}
    for r in rows:
        key = (r["kind"], r["file"])
        if key not in cache:
            text = decode((small / r["kind"] / r["file"]).read_bytes())
            cache[key] = list(csv.reader(io.StringIO(text, newline="")))
        table = cache[key]
        line = table[int(r["row"])]
        if r["defect"] != "wrong_field_count":
            assert line[table[0].index(id_column[r["kind"]])] == r["record_id"], r
        if r["defect"] == "wrong_field_count":
            assert len(line) != len(table[0]), r
    # files listed with their real size and hash
    for f in manifest["files"]:
        data = (small / f["kind"] / f["name"]).read_bytes()
        assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"], f[
            "name"
        ]
    on_disk = {
        (p.parent.name, p.name)
        for k in ("trace", "seizures", "licensees", "multiple_sales")
        for p in (small / k).iterdir()
    }
    assert on_disk == {(f["kind"], f["name"]) for f in manifest["files"]}


def test_flags_recounted_from_the_files_match_the_ledger(small):
    traces = load_traces(small)
    mark_repeats(traces)
    rows = [r for r in ledger(small) if r["kind"] == "trace"]
    by_defect = defaultdict(set)
    for r in rows:
        by_defect[r["defect"]].add(r["record_id"])
    assert {r["trace_number"] for r in traces if r["_flags"]["incomplete"]} == by_defect[
        "incomplete_request"
    ]
    assert {r["trace_number"] for r in traces if r["_flags"]["altered"]} == by_defect[
        "altered_serial"
    ]
    assert {r["trace_number"] for r in traces if r["_repeat"]} == by_defect["repeat_request"]
    both = by_defect["incomplete_request"] & by_defect["altered_serial"]
    assert both, "some requests are both incomplete and altered (another identifier missing)"
    for r in traces:
        if r["trace_number"] in both:
            assert not r["_flags"]["missing"] and (
                not r["manufacturer"] or not r["model"] or not r["caliber"] or not r["importer"]
            )
    # malformed rows are exactly the rows a careful loader drops
    read = {
        row["trace_number"]
        for _n, _s, row in read_files(small / "trace", TRACE_COLUMNS, ["request_date"])
        if row is not None
    }
    loaded = {r["trace_number"] for r in traces}
    quarantined = {
        r["record_id"]
        for r in rows
        if r["handling"] == "quarantine" and r["defect"] != "wrong_field_count"
    }
    assert read - loaded - {""} == quarantined - {""}
    wrong_count = {r["record_id"] for r in rows if r["defect"] == "wrong_field_count"}
    assert wrong_count and not wrong_count & read


def test_every_defect_kind_is_present_at_default_rates(manifest):
    counts = manifest["counts"]["defects"]
    row_kinds = {
        "incomplete_request",
        "altered_serial",
        "repeat_request",
        "dealer_not_in_listing",
        "bad_date",
        "impossible_date",
        "purchase_after_recovery",
        "unknown_code",
        "wrong_field_count",
        "missing_required",
        "duplicate_seizure",
        "dl3_reported_again",
        "pending_completed",
        "corrected_row",
        "identical_resend",
    }
    assert row_kinds <= {k for k, v in counts.items() if v > 0}
    roles = Counter(f["role"] for f in manifest["files"])
    for role in (
        "resent_same_bytes",
        "resent_new_bytes",
        "truncated",
        "empty",
        "wrong_kind",
        "bad_header",
        "bad_encoding",
    ):
        assert roles[role] >= 1, role
    handling = manifest["counts"]["defects_by_handling"]
    # a later row for a key already sent is a version (it changes the record) or an
    # identical re-send (unchanged), not a quarantined duplicate
    assert set(handling) == {
        "quarantine",
        "flag_incomplete",
        "flag_altered",
        "flag_duplicate",
        "dealer_not_in_listing",
        "version_new",
        "version_changed",
        "unchanged",
    }
    assert {f["role"]: f["handling"] for f in manifest["files"]} == {
        "normal": "load",
        "resent_same_bytes": "ignore_same_bytes",
        "resent_new_bytes": "unchanged",
        "truncated": "reject",
        "empty": "reject",
        "wrong_kind": "reject",
        "bad_header": "reject",
        "bad_encoding": "reject",
    }


def test_file_level_defects_are_recognisable_and_lose_nothing(small, manifest):
    for f in manifest["files"]:
        data = (small / f["kind"] / f["name"]).read_bytes()
        role = f["role"]
        if role == "truncated":
            assert not data.endswith(b"\n") and data.endswith(data[-1:])
            source = (small / "trace" / f["source"]).read_bytes()
            assert source.startswith(data) and len(source) > len(data)
        elif role == "empty":
            assert data == b""
        elif role == "resent_same_bytes":
            assert data == (small / f["kind"] / f["source"]).read_bytes()
        elif role == "resent_new_bytes":
            original = decode((small / f["kind"] / f["source"]).read_bytes())
            assert data != (small / f["kind"] / f["source"]).read_bytes()
            # no row of the source has a later version: every row of the copy is the
            # current version of its key, whatever the load order
            assert not [
                r
                for r in ledger(small)
                if r["kind"] == f["kind"] and earlier_version(r)[0] == f["source"]
            ]
            assert decode(data).replace("\r\n", "\n") == original.replace("\r\n", "\n")
        elif role == "bad_encoding":
            assert data.startswith((b"\xff\xfe", b"\xfe\xff"))
        elif role in ("wrong_kind", "bad_header"):
            first = decode(data).splitlines()[0].split(",")
            own = {
                "trace": TRACE_COLUMNS,
                "seizures": SEIZURE_COLUMNS,
                "multiple_sales": DL3_COLUMNS,
            }[f["kind"]]
            assert first != own
    # every file-level defect is an extra file: the normal files alone give the figures,
    # which the small-scale calibration test checks with all files present


def test_without_defects_nothing_is_injected(tmp_path):
    none = DefectRates(
        incomplete_request=0,
        altered_serial=0,
        undetermined_missing_importer=0,
        undetermined_incomplete_other=0,
        undetermined_altered=0,
        altered_and_incomplete=0,
        restored_serial=0,
        dealer_not_in_listing=0,
        repeat_request=0,
        bad_date=0,
        impossible_date=0,
        purchase_after_recovery=0,
        unknown_code=0,
        wrong_field_count=0,
        missing_required=0,
        duplicate_seizure=0,
        dl3_reported_again=0,
        resent_same_bytes=0,
        resent_new_bytes=0,
        truncated=0,
        empty=0,
        wrong_kind=0,
        bad_header=0,
        bad_encoding=0,
    )
    summary = generate(
        out=tmp_path / "clean", scale=0.01, seed=3, defects=none, updates=UpdateRates.none()
    )
    assert summary.defects == {}
    assert ledger(tmp_path / "clean") == []
    counted = count_figures(tmp_path / "clean")
    assert counted["gao"] == expected_figures(0.01, none)["gao"]
    # without defects but with the default updates, only updates are recorded
    summary = generate(out=tmp_path / "updates", scale=0.01, seed=3, defects=none)
    assert set(summary.defects) == {"pending_completed", "corrected_row", "identical_resend"}
    assert {r["handling"] for r in ledger(tmp_path / "updates")} == {
        "version_new",
        "version_changed",
        "unchanged",
    }
    assert count_figures(tmp_path / "updates")["gao"] == counted["gao"]


def test_defect_rates_are_validated():
    with pytest.raises(ValueError, match="0.53"):
        DefectRates(incomplete_request=0.3, altered_serial=0.3)
    with pytest.raises(ValueError, match="negative"):
        replace(DefectRates(), repeat_request=-0.1)
    with pytest.raises(ValueError, match="negative"):
        UpdateRates(corrected_row=-0.01)
    with pytest.raises(ValueError, match="more than 1"):
        UpdateRates(pending_completed=0.6, identical_resend=0.5)
    with pytest.raises(ValueError, match="max_months_later"):
        UpdateRates(max_months_later=0)


def test_higher_rates_give_more_defects_and_the_same_figures(tmp_path):
    more = DefectRates(repeat_request=0.2, bad_date=0.01)
    summary = generate(out=tmp_path / "more", scale=0.01, seed=DEFAULT_SEED, defects=more)
    base = expected_figures(0.01)["gao"]
    assert summary.defects["repeat_request"] > 150
    assert summary.defects["bad_date"] > 10
    assert count_figures(tmp_path / "more")["gao"] == base


# --- record updates ------------------------------------------------------------------------------

UPDATE_HANDLING = {"version_new", "version_changed", "unchanged"}
EARLIER = re.compile(r"earlier version (\S+) row (\d+)")
COMPLETED = {
    "PURCHASER_IDENTIFIED",
    "FFL_IDENTIFIED_NO_PURCHASER",
    "TOO_OLD",
    "FFL_OUT_OF_BUSINESS_RECORDS_MISSING",
}
PENDING_BLANK = (
    "ffl_license_number",
    "purchase_date",
    "purchaser_name",
    "purchaser_dob",
    "purchaser_address",
)
INGEST_COUNTS = (
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "rows_new",
    "rows_changed",
    "rows_unchanged",
)


def earlier_version(r: dict) -> tuple[str | None, int | None]:
    m = EARLIER.search(r["detail"])
    return (m[1], int(m[2])) if m else (None, None)


def rows_by_file(root: Path, kind: str) -> dict[str, tuple[str, list[dict | None]]]:
    columns, date_columns, *_ = KINDS[kind]
    out: dict[str, tuple[str, list]] = {}
    for name, style, r in read_files(root / kind, columns, date_columns):
        out.setdefault(name, (style, []))[1].append(r)
    return out


def compared(kind: str, r: dict, style: str) -> dict:
    """A row's values as an ingest compares them: trimmed, dates as dates."""
    columns, date_columns, *_ = KINDS[kind]
    return {c: (parse_date(r[c], style) if c in date_columns and r[c] else r[c]) for c in columns}


def mexican_state_of() -> dict[str, str]:
    """Every written form of a Mexican state (normalised) -> its INEGI code."""
    out = {}
    for code, name, _w, _cities, aliases in MEXICAN_STATES:
        for form in (name, name.upper(), name.lower(), code, str(int(code)), *aliases):
            out[norm(form)] = code
    return out


def test_updates_are_recorded_at_their_rates(small, manifest):
    rows = ledger(small)
    rates = UpdateRates()
    assert manifest["update_rates"] == rates.to_dict()
    updates = [r for r in rows if r["handling"] in UPDATE_HANDLING]
    got = Counter((r["kind"], r["defect"]) for r in updates)

    def count(rate, n):
        return max(1, int(rate * n + 0.5))

    n_trace = manifest["counts"]["trace_requests"]
    assert got[("trace", "pending_completed")] == count(rates.pending_completed, n_trace)
    assert got[("trace", "corrected_row")] == count(rates.corrected_row, n_trace)
    assert got[("trace", "identical_resend")] == count(rates.identical_resend, n_trace)
    in_files = manifest["counts"]["rows_in_normal_files"]
    seizure_rows = in_files["seizures"] - sum(
        r["kind"] == "seizures" and r["defect"] in ("duplicate_seizure", "corrected_row")
        for r in rows
    )
    assert got[("seizures", "corrected_row")] == count(rates.corrected_seizure, seizure_rows)
    dl3_rows = in_files["multiple_sales"] - got[("multiple_sales", "identical_resend")]
    assert got[("multiple_sales", "identical_resend")] == count(rates.dl3_resend, dl3_rows)
    # each kind of update has one handling
    pairs = {(r["defect"], r["handling"]) for r in updates}
    assert {
        ("pending_completed", "version_new"),
        ("corrected_row", "version_changed"),
        ("identical_resend", "unchanged"),
    } <= pairs
    assert pairs <= {
        ("pending_completed", "version_new"),
        ("corrected_row", "version_changed"),
        ("identical_resend", "unchanged"),
        ("duplicate_seizure", "unchanged"),
    }
    # seizures sent twice: in the same file a duplicate key, in the next file unchanged
    for r in rows:
        if r["defect"] == "duplicate_seizure":
            same = r["detail"].startswith("same seizure_id as ")
            assert r["handling"] == ("quarantine" if same else "unchanged"), r
    assert manifest["counts"]["update_rows"] == {
        kind: sum(r["kind"] == kind for r in updates)
        for kind in ("trace", "seizures", "multiple_sales")
    }


def test_each_update_is_a_later_version_of_its_key_in_a_later_file(small, manifest):
    updates = [r for r in ledger(small) if r["handling"] in UPDATE_HANDLING]
    assert updates
    tables = {kind: rows_by_file(small, kind) for kind in KINDS}
    normal = {
        kind: sorted(
            f["name"] for f in manifest["files"] if f["kind"] == kind and f["role"] == "normal"
        )
        for kind in KINDS
    }
    state_of = mexican_state_of()
    max_later = UpdateRates().max_months_later
    for r in updates:
        kind = r["kind"]
        columns, _dates, key_of, _ok = KINDS[kind]
        early_name, early_row = earlier_version(r)
        assert early_name in normal[kind] and r["file"] in normal[kind], r
        style_l, rows_l = tables[kind][r["file"]]
        style_e, rows_e = tables[kind][early_name]
        later, early = rows_l[int(r["row"]) - 1], rows_e[early_row - 1]
        assert key_of(later) == key_of(early), r
        assert later[columns[0]] == r["record_id"], r
        step = normal[kind].index(r["file"]) - normal[kind].index(early_name)
        if kind == "seizures":
            assert step == 1, r  # the next year's file
        else:
            assert 1 <= step <= max_later, r
            assert export_date(r["file"]) > export_date(early_name), r
        a, b = compared(kind, early, style_e), compared(kind, later, style_l)
        diff = [c for c in columns if a[c] != b[c]]
        if r["defect"] == "pending_completed":
            assert kind == "trace"
            assert early["trace_status"] == early["trace_result"] == "PENDING", r
            assert not any(early[c] for c in PENDING_BLANK), r
            assert later["trace_status"] == "COMPLETED" and later["trace_result"] in COMPLETED, r
            assert (
                {"trace_status", "trace_result"}
                <= set(diff)
                <= {"trace_status", "trace_result", *PENDING_BLANK}
            ), r
        elif r["defect"] == "corrected_row":
            field = re.search(r"\((\w+) corrected\)", r["detail"])[1]
            assert diff == [field], (r, diff)
            assert early[field] and norm(early[field]) != norm(later[field]), r
            if field == "recovery_state":
                # another real Mexican state, written in the same way
                assert state_of[norm(early[field])] != state_of[norm(later[field])], r
        else:
            assert diff == [], (r, diff)


def test_update_rows_carry_no_other_defect_and_each_key_is_updated_once(small):
    rows = ledger(small)
    updated = [(r["kind"], r["record_id"]) for r in rows if r["handling"] in UPDATE_HANDLING]
    keys = set(updated)
    assert [
        r
        for r in rows
        if (r["kind"], r["record_id"]) in keys and r["handling"] not in UPDATE_HANDLING
    ] == []
    # a trace request or a seizure is updated at most once (a report id covers several rifles)
    once = Counter(k for k in updated if k[0] != "multiple_sales")
    assert max(once.values()) == 1


def test_current_versions_are_exactly_the_calibrated_data(small, manifest, tmp_path):
    plain = tmp_path / "plain"
    generate(out=plain, scale=0.01, seed=DEFAULT_SEED, updates=UpdateRates.none())
    plain_manifest = json.loads(
        (plain / "_generator" / "manifest.json").read_text(encoding="utf-8")
    )
    assert plain_manifest["counts"]["update_rows"] == {
        "trace": 0,
        "seizures": sum(
            r["defect"] == "duplicate_seizure" and r["handling"] == "unchanged"
            for r in ledger(plain)
        ),
        "multiple_sales": 0,
    }
    for kind in KINDS:
        current = {k: values for k, (_r, values) in careful_load(small, kind)[0].items()}
        calibrated = {k: values for k, (_r, values) in careful_load(plain, kind)[0].items()}
        assert len(current) == len(calibrated), kind
        assert current == calibrated, kind
    # the updates came on top of the calibrated rows, as recorded
    rows = ledger(small)
    extra = Counter(
        r["kind"]
        for r in rows
        if r["handling"] in UPDATE_HANDLING and r["defect"] != "duplicate_seizure"
    )
    plain_rows, rows_now = (
        plain_manifest["counts"]["rows_in_normal_files"],
        manifest["counts"]["rows_in_normal_files"],
    )
    assert {k: rows_now[k] - plain_rows[k] for k in rows_now} == {
        "trace": extra["trace"],
        "seizures": extra["seizures"],
        "licensees": 0,
        "multiple_sales": extra["multiple_sales"],
    }
    # the rest of the data does not depend on the update rates
    assert file_digests(plain / "licensees") == file_digests(small / "licensees")
    assert plain_manifest["expected_figures"] == manifest["expected_figures"]


def test_manifest_expects_the_ingest_counts_of_a_careful_load(small, manifest):
    for kind in KINDS:
        _current, counts = careful_load(small, kind)
        expected = {
            f["name"]: f["expected_ingest"]
            for f in manifest["files"]
            if f["kind"] == kind and "expected_ingest" in f
        }
        assert {
            name: {k: c.get(k, 0) for k in INGEST_COUNTS} for name, c in counts.items()
        } == expected, kind
        for e in expected.values():
            assert e["rows_read"] == e["rows_loaded"] + e["rows_quarantined"]
            assert e["rows_loaded"] == e["rows_new"] + e["rows_changed"] + e["rows_unchanged"]
        assert manifest["counts"]["expected_ingest"][kind] == {
            k: sum(e[k] for e in expected.values()) for k in INGEST_COUNTS
        }
    # files that are not loaded have no expected counts
    for f in manifest["files"]:
        assert ("expected_ingest" in f) == (
            f["kind"] != "licensees" and f["role"] in ("normal", "resent_new_bytes")
        ), f["name"]
    resent = [f for f in manifest["files"] if f["role"] == "resent_new_bytes"]
    assert resent and all(
        f["expected_ingest"]["rows_unchanged"] > 0 and f["expected_ingest"]["rows_new"] == 0
        for f in resent
    )
    totals = manifest["counts"]["expected_ingest"]["trace"]
    assert totals["rows_changed"] > 0 and totals["rows_unchanged"] > 0


def test_higher_update_rates_give_more_updates_and_the_same_figures(tmp_path):
    more = UpdateRates(
        pending_completed=0.1,
        corrected_row=0.05,
        identical_resend=0.05,
        corrected_seizure=0.05,
        dl3_resend=0.05,
    )
    out = tmp_path / "more"
    summary = generate(out=out, scale=0.01, seed=DEFAULT_SEED, updates=more)
    n_trace = json.loads((out / "_generator" / "manifest.json").read_text())["counts"][
        "trace_requests"
    ]
    got = Counter((r["kind"], r["defect"]) for r in ledger(out) if r["handling"] in UPDATE_HANDLING)
    assert got[("trace", "pending_completed")] == int(0.1 * n_trace + 0.5)
    assert (
        got[("trace", "corrected_row")]
        == got[("trace", "identical_resend")]
        == int(0.05 * n_trace + 0.5)
    )
    assert (
        got[("seizures", "corrected_row")] >= 3
        and got[("multiple_sales", "identical_resend")] >= 10
    )
    assert summary.defects["pending_completed"] == got[("trace", "pending_completed")]
    assert count_figures(out)["gao"] == expected_figures(0.01)["gao"]
