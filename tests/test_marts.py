"""The marts answer GAO-16-223's questions from a small, fully known set of exports of every
kind: origin, source state through the licensee listing valid at the purchase date,
purchaser determination, firearm types, seizures, licensees, Demand Letter 3 recoveries,
time-to-crime, flagged records, repeat purchasers and the shared (suppressed) marts.

The exports land in two rounds: the second (a day-first, Latin-1 trace file) holds a
repeat request that is *earlier* than a request of the first round, a repeat request that
is later, and a new firearm. The second build is incremental; it must give exactly what a
full rebuild gives, without normalising the first round's rows again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import copy_data, make_settings
from exports import trace_row, write_export

from pipelines import ingest, privacy
from pipelines.config import Settings
from pipelines.transform import (
    TEST_WATERMARKS_ENV,
    code_checksum,
    data_test_watermarks,
    data_tests_checksum,
    run_dbt,
    transform,
)

# The real ATF licensee sample (a repository copy of shared/data/ffl/).
FFL_SAMPLE = Path(__file__).resolve().parent / "data" / "0124-ffl-list-sample.txt"

NO_PURCHASER = {
    "purchase_date": "",
    "purchaser_name": "",
    "purchaser_dob": "",
    "purchaser_address": "",
}
NO_DEALER = {"ffl_license_number": "", **NO_PURCHASER}
TX_DEALER = "5-74-029-01-4F-12345"  # stable key 5-74-12345, TX in both listings
MOVED_DEALER = "9-33-073-01-4F-00777"  # key 9-33-00777: CA in Sept 2013, AZ in Sept 2014
PAWNBROKER = "8-86-013-02-5B-00100"  # AZ
NM_DEALER = "6-85-001-01-5C-00200"  # only in the Sept 2014 listing
GONE_DEALER = "5-74-029-01-4F-99999"  # in no listing
DOE = {"purchaser_name": "DOE, JOHN Q", "purchaser_dob": "1980-01-02"}
ROE = {"purchaser_name": "ROE, RICHARD", "purchaser_dob": "1975-05-05"}


def t(number: str, **fields: str) -> dict[str, str]:
    return trace_row(**{"trace_number": number, "serial_number": f"{number}-SN", **fields})


def first_round_traces() -> list[dict[str, str]]:
    return [
        # 2012, Mexico
        t(
            "T2012-A1",
            request_date="2012-03-10",
            recovery_date="2012-02-15",
            ffl_license_number=TX_DEALER,
            purchase_date="2011-06-01",
            **DOE,
        ),
        t(
            "T2012-A10",
            request_date="2012-05-01",
            recovery_date="2012-04-01",
            serial_number="DL3-1",
            ffl_license_number=TX_DEALER,
            purchase_date="2012-01-20",
            **ROE,
        ),
        # 2013, Mexico
        t(
            "T2013-A2",
            request_date="2013-06-01",
            recovery_date="2013-05-10",
            firearm_type="pistola",
            manufacturer="Smith & Wesson",
            model="M&P9",
            caliber="9MM",
            recovery_state="nuevo león",
            ffl_license_number=MOVED_DEALER,
            purchase_date="2013-01-15",
            purchaser_name="POE, EDGAR",
            purchaser_dob="1970-01-19",
        ),
        t(
            "T2013-A4",
            request_date="2013-09-01",
            recovery_date="2013-08-01",
            firearm_type="ESCOPETA",
            recovery_state="MICHOACÁN",
            ffl_license_number=GONE_DEALER,
            trace_status="NOT_COMPLETED",
            trace_result="FFL_OUT_OF_BUSINESS_RECORDS_MISSING",
            **NO_PURCHASER,
        ),
        t(
            "T2013-A5",
            request_date="2013-08-01",
            recovery_date="2013-07-01",
            firearm_type="REVOLVER",
            manufacturer="TAURUS",
            model="85",
            caliber=".38 SPL",
            country_of_manufacture="BR",
            importer="TAURUS INTERNATIONAL",
            recovery_state="Sonora",
            ffl_license_number=PAWNBROKER,
            trace_status="NOT_COMPLETED",
            trace_result="FFL_NO_RESPONSE",
            **NO_PURCHASER,
        ),
        t(
            "T2013-A6",
            request_date="2013-04-01",
            recovery_date="2013-03-01",
            manufacturer="NORINCO",
            model="MAK90",
            caliber="7.62X39",
            country_of_manufacture="CN",
            importer="",
            recovery_state="Sinaloa",
            trace_result="FOREIGN_NOT_IMPORTED_TO_US",
            **NO_DEALER,
        ),
        t(
            "T2013-A7",
            request_date="2013-04-01",
            recovery_date="2013-03-02",
            firearm_type="DESCONOCIDO",
            manufacturer="",
            country_of_manufacture="",
            serial_number="SIN NUMERO",
            trace_status="NOT_COMPLETED",
            trace_result="INCOMPLETE_REQUEST",
            **NO_DEALER,
        ),
        # 2014, Mexico
        t(
            "T2014-A3",
            request_date="2014-12-20",
            recovery_date="2014-12-01",
            firearm_type="FUSIL",
            recovery_state="19",
            ffl_license_number="9-33-013-01-7F-00777",
            purchase_date="2014-10-05",
            **DOE,
        ),
        t(
            "T2014-A8",
            request_date="2014-04-01",
            recovery_date="2014-03-01",
            firearm_type="PISTOL",
            manufacturer="RUGER",
            model="P95",
            caliber="9MM",
            serial_number="LIMADO",
            trace_status="NOT_COMPLETED",
            trace_result="OBLITERATED_SERIAL",
            **NO_DEALER,
        ),
        t(
            "T2014-A11",
            request_date="2014-06-01",
            recovery_date="2014-05-01",
            ffl_license_number=NM_DEALER,
            purchase_date="2014-01-10",
            purchaser_name="",
            purchaser_dob="",
            purchaser_address="",
            trace_status="PENDING",
            trace_result="PENDING",
        ),
        t(
            "T2014-A14",
            request_date="2014-03-01",
            recovery_date="2014-02-01",
            recovery_state="Sonora",
            ffl_license_number=TX_DEALER,
            purchase_date="2013-05-05",
            **ROE,
        ),
        # recovered in the United States, or where is unknown (ZZ)
        t(
            "T2014-A9",
            recovery_country="US",
            recovery_state="TX",
            recovery_city="EL PASO",
            request_date="2014-05-10",
            recovery_date="2014-05-01",
            firearm_type="PISTOL",
            manufacturer="RUGER",
            ffl_license_number="5-74-029-01-7F-12345",
            purchase_date="2014-01-01",
            purchaser_name="doe,  john q",
            purchaser_dob="1980-01-02",
        ),
        t(
            "T2013-A12",
            recovery_country="ZZ",
            recovery_state="",
            recovery_city="",
            request_date="2013-07-01",
            recovery_date="2013-06-01",
            serial_number="DL3-3",
            trace_result="FFL_IDENTIFIED_NO_PURCHASER",
            ffl_license_number=TX_DEALER,
            **NO_PURCHASER,
        ),
        # recovered in the US, incomplete (no model): a later export repeats it earlier
        t(
            "T2013-A15",
            recovery_country="US",
            recovery_state="TX",
            recovery_city="LAREDO",
            request_date="2013-05-01",
            recovery_date="2013-04-01",
            model="",
            trace_status="NOT_COMPLETED",
            trace_result="INCOMPLETE_REQUEST",
            **NO_DEALER,
        ),
        t(
            "T2013-A13",
            recovery_country="US",
            recovery_state="TX",
            recovery_city="LAREDO",
            request_date="2013-03-01",
            recovery_date="2013-02-01",
            serial_number="DL3-2",
            trace_result="FFL_IDENTIFIED_NO_PURCHASER",
            ffl_license_number=TX_DEALER,
            purchase_date="2012-12-01",
            purchaser_name="",
            purchaser_dob="",
            purchaser_address="",
        ),
    ]


def second_round_traces() -> list[dict[str, str]]:
    """Day-first dates, Latin-1: a repeat request earlier than T2012-A10 (it becomes the one
    kept), a repeat request later than T2014-A3, and a new firearm."""
    rows = [
        t(
            "T2013-B4",
            recovery_country="US",
            recovery_state="TX",
            recovery_city="LAREDO",
            request_date="2013-04-20",
            recovery_date="2013-04-01",
            serial_number="T2013-A15-SN",
            trace_result="FFL_IDENTIFIED_NO_PURCHASER",
            ffl_license_number=TX_DEALER,
            **NO_PURCHASER,
        ),
        t(
            "T2012-B1",
            request_date="2012-04-15",
            recovery_date="2012-04-01",
            serial_number="DL3-1",
            recovery_state="CHIHUAHUA",
            recovery_city="CIUDAD JUAREZ",
            ffl_license_number=TX_DEALER,
            purchase_date="2012-01-20",
            **ROE,
        ),
        t(
            "T2014-B3",
            request_date="2015-01-05",
            recovery_date="2014-12-01",
            firearm_type="RIFLE",
            serial_number="T2014-A3-SN",
            recovery_state="Nuevo León",
            recovery_city="ciudad juárez",
            ffl_license_number="9-33-013-01-7F-00777",
            purchase_date="2014-10-05",
            **DOE,
        ),
        t(
            "T2014-B2",
            request_date="2014-03-20",
            recovery_date="2014-03-01",
            firearm_type="SHOTGUN",
            recovery_state="Estado de México",
            ffl_license_number="5-74-029-01-7F-12345",
            purchase_date="2014-02-01",
            purchaser_name="LOE, ANN",
            purchaser_dob="1990-02-02",
        ),
    ]
    for row in rows:
        for col in ("request_date", "recovery_date", "purchase_date", "purchaser_dob"):
            if row[col]:
                y, m, d = row[col].split("-")
                row[col] = f"{d}/{m}/{y}"
    return rows


def license(number: str, state: str, **fields: str) -> dict[str, str]:
    regn, dist, cnty, ltype, xprdte, seqn = number.split("-")
    return {
        "lic_regn": regn,
        "lic_dist": dist,
        "lic_cnty": cnty,
        "lic_type": ltype,
        "lic_xprdte": xprdte,
        "lic_seqn": seqn,
        "license_name": "EXAMPLE ARMS LLC",
        "business_name": "",
        "premise_street": "1 MAIN ST",
        "premise_city": "TOWN",
        "premise_state": state,
        "premise_zip_code": "79901",
        "mail_street": "",
        "mail_city": "",
        "mail_state": "",
        "mail_zip_code": "",
        "voice_phone": "9155550100",
        **fields,
    }


LISTING_0913 = [
    license(TX_DEALER, "TX"),
    license(MOVED_DEALER, "CA"),
    license(PAWNBROKER, "AZ"),
    license("5-74-029-07-5C-00300", "TX"),  # a manufacturer: not a dealer
]
LISTING_0914 = [
    license("5-74-029-01-7F-12345", "TX"),  # renewed: new expiry code, same key
    license("9-33-013-01-7F-00777", "AZ"),  # moved to Arizona
    license(PAWNBROKER, "AZ"),
    license(NM_DEALER, "NM"),
    license("5-74-029-07-5C-00300", "TX"),
    license("1-66-003-01-4F-00258", "PR", license_name="HERNANDEZ-MUNOZ, GILBERTO"),
    license("1-13-047-01-6D-00400", "NY"),
]


def seizure(sid: str, date: str, dest: str, ftype: str, agency: str = "ICE-HSI") -> dict[str, str]:
    return {
        "seizure_id": sid,
        "seizure_date": date,
        "seizing_agency": agency,
        "location": "NOGALES",
        "us_state": "AZ",
        "destination_country": dest,
        "firearm_type": ftype,
        "manufacturer": "COLT",
        "model": "AR-15",
        "caliber": ".223",
        "serial_number": f"{sid}X",
        "case_number": "C-1",
    }


SEIZURES = [
    seizure("S1", "2010-01-05", "MX", "PISTOL"),
    seizure("S2", "2010-02-05", "MX", "RIFLE", "CBP"),
    seizure("S3", "2011-03-05", "MX", "ESCOPETA"),
    seizure("S4", "2012-04-05", "GT", "PISTOL"),
    seizure("S5", "2008-05-05", "MX", "PISTOLA"),
    seizure("S6", "2014-06-05", "MX", "REVÓLVER"),
]


def dl3(report: str, date: str, manufacturer: str, serial: str, **fields: str) -> dict[str, str]:
    return {
        "report_id": report,
        "report_date": date,
        "ffl_license_number": TX_DEALER,
        "serial_number": serial,
        "manufacturer": manufacturer,
        "importer": "",
        "model": "AR-15",
        "caliber": ".223",
        "disposition_date": date,
        "purchaser_name": "SMITH, JANE",
        "purchaser_dob": "03/03/1985",
        "purchaser_id_number": "TX99887766",
        **fields,
    }


# Day-first dates: the purchaser key must not depend on the file's date style.
MULTIPLE_SALES = [
    dl3(
        "R1",
        "01/03/2012",
        "COLT",
        "DL3-1",
        disposition_date="20/01/2012",
        purchaser_name="Roe, Richard",
        purchaser_dob="05/05/1975",
        purchaser_id_number="D1234567",
    ),
    dl3(
        "R1",
        "01/03/2012",
        "COLT",
        "DL3-2",
        disposition_date="20/01/2012",
        purchaser_name="Roe, Richard",
        purchaser_dob="05/05/1975",
        purchaser_id_number="D1234567",
    ),
    dl3("R2", "15/06/2013", "COLT", "DL3-3"),
    dl3("R2", "15/06/2013", "RUGER", "NEVER-TRACED"),
    dl3("R3", "05/05/2010", "COLT", "DL3-5"),
]


def land_first_round(settings: Settings) -> None:
    landing = settings.landing_dir
    write_export(landing / "trace" / "trace_a.csv", "trace", first_round_traces())
    write_export(
        landing / "licensees" / "0913-ffl-list.txt", "licensees", LISTING_0913, line_end="\r\n"
    )
    write_export(
        landing / "licensees" / "0914-ffl-list-complete.txt",
        "licensees",
        LISTING_0914,
        line_end="\r\n",
    )
    shutil.copy(FFL_SAMPLE, landing / "licensees" / "0124-ffl-list-sample.txt")
    write_export(landing / "seizures" / "seizures.csv", "seizures", SEIZURES)
    write_export(landing / "multiple_sales" / "dl3.csv", "multiple_sales", MULTIPLE_SALES)


def build(settings: Settings) -> None:
    summary = ingest.ingest(settings)
    assert summary.rows_quarantined == 0, [f.quarantine_examples for f in summary.files]
    assert not summary.by_status("rejected"), [f.reason for f in summary.files]
    transform(settings)  # dbt build; raises TransformFailed with dbt's failures


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> Settings:
    s = make_settings(tmp_path_factory.mktemp("marts-first") / "data")
    s.ensure_dirs()
    s.ensure_landing()
    land_first_round(s)
    build(s)
    return s


@pytest.fixture(scope="module")
def second(first, tmp_path_factory) -> Settings:
    """The first round's warehouse, a second trace file landed, built incrementally."""
    s = copy_data(first.data_dir, tmp_path_factory.mktemp("marts-second") / "data")
    write_export(
        s.landing_dir / "trace" / "trace_b.csv",
        "trace",
        second_round_traces(),
        encoding="cp1252",
        line_end="\r\n",
    )
    build(s)
    return s


@pytest.fixture(scope="module")
def third(second, tmp_path_factory) -> Settings:
    """Then an older licensee listing arrives (January 2013): in it the moved dealer is in
    Nevada, so a purchase of January 2013 is placed there. Built incrementally."""
    s = copy_data(second.data_dir, tmp_path_factory.mktemp("marts-third") / "data")
    listing = [license(MOVED_DEALER, "NV"), license(TX_DEALER, "TX")]
    write_export(
        s.landing_dir / "licensees" / "0113-ffl-list.txt", "licensees", listing, line_end="\r\n"
    )
    build(s)
    return s


@pytest.fixture(scope="module")
def rebuilt(third, tmp_path_factory) -> Settings:
    """The same raw data as ``third``, every model rebuilt from scratch, as
    ``tracepipe transform --full-refresh`` does (dbt build --full-refresh)."""
    from pipelines import steps

    s = copy_data(third.data_dir, tmp_path_factory.mktemp("marts-rebuilt") / "data")
    assert steps.transform(s, full_refresh=True)["command"].startswith("build --full-refresh")
    return s


def q(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def by_key(settings: Settings, sql: str) -> dict:
    return {row[0]: row[1:] if len(row) > 2 else row[1] for row in q(settings, sql)}


# --- origin, types, purchaser ----------------------------------------------------------


def test_origin_counts_each_recovered_firearm_once_by_recovery_year(second):
    got = by_key(
        second,
        "select recovery_year, n_traced, n_us_manufactured, n_us_imported, n_third_country, "
        "n_undetermined from marts.origin_by_year order by 1",
    )
    assert got == {2012: (2, 2, 0, 0, 0), 2013: (5, 2, 1, 1, 1), 2014: (5, 5, 0, 0, 0)}


def test_origin_by_recovery_country_separates_mexico_us_and_unknown(second):
    got = q(
        second,
        "select recovery_year, recovery_country, n_traced from marts.origin_by_recovery_country "
        "where recovery_country <> 'MX' order by 1, 2",
    )
    assert got == [(2013, "US", 2), (2013, "ZZ", 1), (2014, "US", 1)]
    mx = q(
        second,
        "select sum(n_traced) from marts.origin_by_recovery_country where recovery_country = 'MX'",
    )
    assert mx == [(12,)]


def test_spanish_and_english_firearm_types_count_as_one_vocabulary(second):
    got = by_key(
        second,
        "select recovery_year, n_long, n_short, n_other, n_rifle, n_shotgun, n_pistol, n_revolver "
        "from marts.firearm_types_by_year order by 1",
    )
    assert got == {
        2012: (2, 0, 0, 2, 0, 0, 0),
        2013: (2, 2, 1, 1, 1, 1, 1),
        2014: (4, 1, 0, 3, 1, 1, 0),
    }


def test_purchaser_determination_gives_reasons_for_the_undetermined(second):
    got = by_key(
        second,
        "select recovery_year, n_us_sourced, n_determined, n_undetermined, n_pending, "
        "n_undetermined_out_of_business_records_missing, n_undetermined_no_dealer_response, "
        "n_undetermined_altered_serial from marts.purchaser_determination_by_year order by 1",
    )
    assert got == {
        2012: (2, 2, 0, 0, 0, 0, 0),
        2013: (3, 1, 2, 0, 1, 1, 0),
        2014: (5, 3, 1, 1, 0, 0, 1),
    }


def test_top_calibers_and_manufacturers_are_ranked_per_year(second):
    got = q(
        second,
        "select manufacturer, n_traced, rank_in_year from marts.manufacturers_by_year "
        "where recovery_year = 2013 order by rank_in_year, manufacturer",
    )
    assert got == [
        ("COLT", 1, 1),
        ("NORINCO", 1, 1),
        ("SMITH & WESSON", 1, 1),
        ("TAURUS", 1, 1),
        (None, 1, 1),
    ]
    calibers = by_key(
        second,
        "select caliber, n_traced from marts.calibers_by_year where recovery_year = 2014",
    )
    assert calibers == {".223": 4, "9MM": 1}


# --- source state ----------------------------------------------------------------------


def test_dealer_state_comes_from_the_listing_valid_at_the_purchase_date(second):
    got = by_key(
        second,
        "select trace_number, dealer_status, source_state, listing_snapshot_month::varchar "
        "from intermediate.int_trace_requests_flagged order by 1",
    )
    assert got["T2012-A1"] == ("located", "TX", "2013-09-01")  # before every listing: earliest
    assert got["T2013-A2"] == ("located", "CA", "2013-09-01")
    assert got["T2014-A3"] == ("located", "AZ", "2014-09-01")  # moved; renewed license
    assert got["T2013-A5"] == ("located", "AZ", "2013-09-01")  # no purchase date: recovery date
    assert got["T2014-A11"] == ("located", "NM", "2014-09-01")  # only in a later listing
    assert got["T2014-A14"] == ("located", "TX", "2013-09-01")
    assert got["T2014-B2"] == ("located", "TX", "2013-09-01")
    assert got["T2013-A4"] == ("dealer_not_in_listing", None, None)  # reported, not dropped
    assert got["T2014-A8"] == ("no_dealer", None, None)


def test_source_states_list_every_state_and_dc_with_shares_of_known_dealers(second):
    rows = q(
        second,
        "select dealer_status, source_state, n_us_sourced, n_located_total, pct_of_located, "
        "is_southwest_border from marts.source_states_gao_period",
    )
    located = {r[1]: r for r in rows if r[0] == "located"}
    assert len(located) == 51  # 50 states + DC, zero or not
    assert {s: r[2] for s, r in located.items() if r[2]} == {"TX": 4, "AZ": 2, "CA": 1, "NM": 1}
    assert located["TX"][3] == 8 and float(located["TX"][4]) == 50.0
    assert located["NM"][5] and not located["NV"][5]
    others = {r[0]: r[2] for r in rows if r[0] != "located"}
    assert others == {"dealer_not_in_listing": 1, "no_dealer": 1}
    per_year = q(
        second,
        "select recovery_year, count(*) from marts.source_states_by_year "
        "where dealer_status = 'located' group by 1 order by 1",
    )
    assert per_year == [(2012, 51), (2013, 51), (2014, 51)]


def test_source_state_by_mexican_recovery_state_matrix(second):
    got = q(
        second,
        "select source_state, recovery_state, sum(n_us_sourced)::int "
        "from marts.source_state_by_recovery_state where dealer_status = 'located' "
        "group by 1, 2 order by 1, 2",
    )
    assert got == [
        ("AZ", "Nuevo León", 1),  # A3, written as INEGI code 19
        ("AZ", "Sonora", 1),
        ("CA", "Nuevo León", 1),  # A2, written "nuevo león"
        ("NM", "Chihuahua", 1),
        ("TX", "Chihuahua", 2),
        ("TX", "Estado de México", 1),
        ("TX", "Sonora", 1),
    ]


# --- seizures, licensees, multiple sales, time-to-crime --------------------------------


def test_seizures_bound_for_mexico_by_year_and_type(second):
    got = by_key(
        second,
        "select seizure_year, n_seized, n_long, n_short, n_ice_hsi, n_cbp "
        "from marts.seizures_by_year order by 1",
    )
    assert got == {
        2008: (1, 0, 1, 1, 0),
        2010: (2, 1, 1, 1, 1),
        2011: (1, 1, 0, 1, 0),
        2014: (1, 0, 1, 1, 0),
    }


def test_licensees_count_dealers_and_pawnbrokers_per_snapshot(second):
    got = by_key(
        second,
        "select snapshot_month::varchar, fiscal_year, n_dealers, n_pawnbrokers, "
        "n_dealers_and_pawnbrokers, n_southwest_border from marts.licensees_by_month "
        "where snapshot_month < '2020-01-01' order by 1",
    )
    assert got == {"2013-09-01": (2013, 2, 1, 3, 3), "2014-09-01": (2014, 5, 1, 6, 4)}
    states = q(
        second,
        "select count(*), count(*) filter (where is_state_or_dc), "
        "sum(n_dealers_and_pawnbrokers) from marts.licensees_by_state_month "
        "where snapshot_month = '2014-09-01'",
    )
    assert states == [(52, 51, 6)]  # 50 states, DC and Puerto Rico


def test_real_atf_listing_sample_loads_into_the_licensee_marts(second):
    [(n, n_dp)] = q(
        second,
        "select n_licenses_all_types, n_dealers_and_pawnbrokers from marts.licensees_by_month "
        "where snapshot_month = '2024-01-01'",
    )
    assert n == 1311 and 0 < n_dp < n


def test_multiple_sale_rifles_recovered_by_where_first_traced(second):
    got = by_key(
        second,
        "select report_year, n_rifles_reported, n_recovered, n_recovered_in_us, "
        "n_recovered_in_mexico, n_recovery_undetermined "
        "from marts.multiple_sale_recoveries_by_year order by 1",
    )
    assert got == {2010: (1, 0, 0, 0, 0), 2012: (2, 2, 1, 1, 0), 2013: (2, 1, 0, 0, 1)}


def test_time_to_crime_in_atf_buckets_by_source_state(second):
    got = q(
        second,
        "select recovery_year, source_state, n_with_time_to_crime, n_under_3_months, n_3_to_7_months, "
        "n_7_months_to_1_year from marts.time_to_crime_by_source_state order by 1, 2",
    )
    assert got == [
        (2012, "TX", 2, 1, 0, 1),
        (2013, "CA", 1, 0, 1, 0),
        (2014, "AZ", 1, 1, 0, 0),
        (2014, "NM", 1, 0, 1, 0),
        (2014, "TX", 2, 1, 0, 1),
    ]


# --- flagged records, repeat purchasers ------------------------------------------------


def test_flagged_records_say_what_is_missing_or_altered(first, second):
    sql = (
        "select trace_number, is_incomplete_request, has_altered_serial, missing_identifiers "
        "from marts.flagged_trace_requests order by 1"
    )
    expected = {
        "T2013-A7": (True, False, "manufacturer, serial_number"),
        "T2014-A8": (False, True, ""),
    }
    assert by_key(first, sql) == {**expected, "T2013-A15": (True, False, "model")}
    # T2013-A15 became a repeat request of T2013-B4 (requested earlier, complete): it
    # leaves the records to follow up in the incremental build
    assert by_key(second, sql) == expected


def test_repeat_purchasers_are_linked_by_keyed_hash_across_exports(second):
    rows = q(
        second,
        "select purchaser_key, n_firearms_recovered, n_recovered_in_mexico, n_recovered_in_us, "
        "n_dealers, n_source_states, n_dl3_rifles_reported, n_dl3_rifles_recovered "
        "from marts.repeat_purchasers order by n_firearms_recovered desc",
    )
    assert [r[1:] for r in rows] == [
        (3, 2, 1, 2, 2, 0, 0),  # DOE: A1, A3 and A9 (name written "doe,  john q")
        (2, 2, 0, 1, 1, 2, 2),  # ROE: B1 and A14, and two DL3 rifles in a day-first file
    ]
    for key, *_ in rows:
        assert len(key) == 64 and "DOE" not in key and "ROE" not in key


# --- incremental -----------------------------------------------------------------------


def test_an_earlier_repeat_request_in_a_later_load_takes_over(first, second):
    before = by_key(
        first,
        "select trace_number, is_duplicate_request from intermediate.int_trace_requests_flagged "
        "where trace_number in ('T2012-A10', 'T2014-A3')",
    )
    assert before == {"T2012-A10": False, "T2014-A3": False}
    after = by_key(
        second,
        "select trace_number, is_duplicate_request from intermediate.int_trace_requests_flagged "
        "where is_duplicate_request or trace_number in ('T2012-B1', 'T2014-A3') order by 1",
    )
    assert after == {
        "T2012-A10": True,
        "T2012-B1": False,
        "T2013-A15": True,
        "T2014-A3": False,
        "T2014-B3": True,
    }


def test_the_incremental_build_does_not_normalise_earlier_loads_again(first, second):
    runs = q(
        second,
        "select file_name, count(distinct dbt_invocation_id), min(dbt_invocation_id) "
        "from intermediate.int_trace_requests_flagged group by 1 order by 1",
    )
    first_run = q(
        first, "select distinct dbt_invocation_id from intermediate.int_trace_requests_flagged"
    )
    assert [r[:2] for r in runs] == [("trace_a.csv", 1), ("trace_b.csv", 1)]
    assert runs[0][2] == first_run[0][0]
    assert runs[1][2] != first_run[0][0]


def _tables(settings: Settings, schema: str) -> list[str]:
    return [
        r[0]
        for r in q(
            settings,
            f"select table_name from information_schema.tables where table_schema = '{schema}' "
            "and table_type = 'BASE TABLE' order by 1",
        )
    ]


def test_a_new_listing_places_old_purchases_again_without_normalising_them(second, third):
    sql = (
        "select trace_number, source_state, listing_snapshot_month::varchar, dbt_invocation_id "
        "from intermediate.int_trace_requests_flagged where trace_number in "
        "('T2013-A2', 'T2012-A1', 'T2014-A3') order by 1"
    )
    before, after = q(second, sql), q(third, sql)
    assert [r[:3] for r in after] == [
        ("T2012-A1", "TX", "2013-01-01"),  # before every listing: now the January one
        ("T2013-A2", "NV", "2013-01-01"),  # was CA (2013-09-01): January 2013 was valid
        ("T2014-A3", "AZ", "2014-09-01"),
    ]
    assert before[1][1:3] == ("CA", "2013-09-01")
    assert [r[3] for r in after] == [r[3] for r in before]  # located again, not normalised
    assert q(
        third, "select n_us_sourced from marts.source_states_gao_period where source_state = 'NV'"
    ) == [(1,)]


def test_incremental_builds_equal_a_full_rebuild(third, rebuilt):
    marts = _tables(third, "marts")
    assert marts == _tables(rebuilt, "marts")
    # columns that say when a row was written differ, by design
    queries = [
        f"select * exclude (source_written_at) from marts.{table}"
        if table == "flagged_trace_requests"
        else f"select * from marts.{table}"
        for table in marts
    ] + [
        "select * exclude (dbt_invocation_id, written_at) "
        "from intermediate.int_trace_requests_flagged",
        # through_seq: how far in the change sequence the model had read when it wrote
        "select * exclude (loaded_at, through_seq) from intermediate.int_licensee_listings_keyed",
        "select * exclude (written_at, through_seq) from intermediate.int_trace_versions",
        "select * exclude (through_seq) from intermediate.int_trace_rows_superseded",
        "select * from intermediate.int_multiple_sale_purchaser_keys",
        # the pairs the requests join (a pair of a request since corrected or retracted
        # may stay in the incremental table until the listing changes)
        "select pairs.* exclude (written_at) from intermediate.int_trace_dealer_listings pairs "
        "semi join intermediate.int_trace_requests_flagged requests "
        "on pairs.dealer_key = requests.dealer_key and pairs.dealer_match_month "
        "is not distinct from date_trunc('month', "
        "coalesce(requests.purchase_date, requests.recovery_date))::date",
    ]
    for sql in queries:
        assert sorted(q(third, sql), key=repr) == sorted(q(rebuilt, sql), key=repr), sql


@pytest.mark.slow
def test_purchaser_hashes_of_multiple_sales_are_made_once_per_load_and_leave_with_it(
    third, tmp_path
):
    """int_multiple_sale_purchaser_keys hashes the rows of the loads it has not hashed yet
    (a new file's rows, the old ones kept as they were) and drops a retracted load's rows;
    the rifles read their purchaser's hash from it."""
    from pipelines import steps

    s = copy_data(third.data_dir, tmp_path / "data")
    keys = "select load_id, file_row_number, purchaser_key from intermediate.int_multiple_sale_purchaser_keys"
    before = q(s, keys)
    (first_load,) = {load for load, _, _ in before}
    write_export(
        s.landing_dir / "multiple_sales" / "dl3_b.csv",
        "multiple_sales",
        [
            dl3(
                "R9",
                "01/06/2013",
                "RUGER",
                "DL3-9",
                purchaser_name="Roe, Richard",
                purchaser_dob="05/05/1975",
            )
        ],
    )
    build(s)
    after = q(s, keys)
    assert set(before) < set(after)  # the first file's hashes kept as they were
    new = [row for row in after if row[0] != first_load]
    assert len(new) == 1 and new[0][2] in {k for _, _, k in before}  # the same purchaser
    rifle_key = q(
        s,
        "select purchaser_key from intermediate.int_multiple_sale_rifles_matched "
        "where serial_match_key = 'DL39'",
    )
    assert rifle_key == [(new[0][2],)]

    steps.retract(s, "dl3.csv", "sent by mistake")
    transform(s)
    assert {load for load, _, _ in q(s, keys)} == {new[0][0]}
    assert q(
        s,
        "select count(*) from intermediate.int_multiple_sale_rifles_matched "
        "where report_id in ('R1', 'R2', 'R3')",
    ) == [(0,)]


# --- shared marts and personal data ----------------------------------------------------


def test_shared_marts_show_no_small_count_and_no_lone_hidden_cell(second):
    shared = [t for t in _tables(second, "marts") if t.startswith("shared_")]
    assert len(shared) == 8
    for table in shared:
        cols = [
            r[0]
            for r in q(
                second,
                f"select column_name from information_schema.columns "
                f"where table_schema = 'marts' and table_name = '{table}' "
                "order by ordinal_position",
            )
        ]
        row, col = cols[0], cols[1]
        assert cols[2:] == ["n_firearms", "is_suppressed", "suppression"], table
        small = q(
            second,
            f"select count(*) from marts.{table} "
            "where not is_suppressed and n_firearms between 1 and 4",
        )
        assert small == [(0,)], table
        for line in (row, col):
            lone = q(
                second,
                f"select {line} from marts.{table} group by 1 "
                "having count(*) filter (where is_suppressed) = 1",
            )
            assert lone == [], (table, line)
    # totals are given, and when visible they are the true totals
    assert q(
        second,
        "select n_firearms from marts.shared_origin_by_year "
        "where recovery_year = 'ALL' and origin = 'ALL'",
    ) == [(12,)]


def _personal_values(settings: Settings) -> set[str]:
    values: set[str] = set()
    for table in ("trace", "multiple_sales", "licensees"):
        for column in sorted(privacy.personal_data_columns(table)):
            for (value,) in q(settings, f"select distinct {column} from raw.{table}"):
                if value and value.strip():
                    values.add(value.strip())
                    values.add(" ".join(value.upper().split()))
    return values


def test_no_mart_holds_personal_data(second):
    columns = q(
        second,
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts'",
    )
    assert columns
    names = {c for _, c, _ in columns}
    # the one rule (seeds personal_data_columns and personal_data_name_rules)
    assert not {c for c in names if privacy.is_personal_data_column(c)}
    assert {c for c in names if "name" in c} == {
        "source_state_name",
        "premise_state_name",
        "recovery_country_name",
        "file_name",
    }
    personal = _personal_values(second)
    assert "DOE, JOHN Q" in personal and "D1234567" in personal
    con = duckdb.connect(str(second.warehouse_path), read_only=True)
    try:
        for table, column, data_type in columns:
            if data_type != "VARCHAR":
                continue
            values = {
                v
                for (v,) in con.execute(
                    f'select distinct "{column}" from marts."{table}"'
                ).fetchall()
                if v is not None
            }
            leaked = {v for v in values if v in personal or v.upper() in personal}
            assert not leaked, f"marts.{table}.{column} holds personal data"
    finally:
        con.close()


def test_reproduction_table_has_every_reference_figure(second):
    rows = q(
        second,
        "select figure, measure, period, reference_value, is_match "
        "from marts.gao_16_223_reproduction",
    )
    reference = q(second, "select figure, measure, period, value from reference.gao_16_223_figures")
    assert sorted(r[:4] for r in rows) == sorted(reference)
    assert len(rows) == 20
    # the small sample matches nothing of GAO's, and says so without failing the build
    assert not any(r[4] for r in rows)


def test_a_models_column_rules_are_checked_in_one_scan_that_names_each_broken_rule(built_copy):
    """``column_values`` (macros/test_column_values.sql): one query reads the model once
    for all its not_null, accepted_values, unique, required_when and in_table rules and
    fails when any is broken; the transform's message names each broken rule and its
    rows, and the stored failures hold one value that breaks accepted_values or in_table.
    A combination of columns is unique as a whole; a shared mart's suppression rules
    find a small count shown, a hidden count shown and a hidden cell alone in its line."""
    s = built_copy
    model = "int_trace_requests_flagged"
    con = duckdb.connect(str(s.warehouse_path))
    try:
        first, last = con.execute(
            f"select min(trace_number), max(trace_number) from intermediate.{model}"
        ).fetchone()
        con.execute(
            f"update intermediate.{model} set origin = 'martian' where trace_number = ?", [first]
        )
        con.execute(
            f"update intermediate.{model} set dealer_status = null, recovery_state_code = '99' "
            "where trace_number = ?",
            [last],
        )
        # an undetermined purchaser without the reason (the last such request but one)
        con.execute(
            f"update intermediate.{model} set undetermined_reason = null where trace_number = "
            f"(select max(trace_number) from intermediate.{model} "
            "where purchaser_status = 'undetermined' and trace_number < ?)",
            [last],
        )
        # a request twice: the second row repeats the first's trace number
        con.execute(
            f"insert into intermediate.{model} select * from intermediate.{model} "
            "where trace_number = (select min(trace_number) from intermediate."
            f"{model} where trace_number > ?)",
            [first],
        )
        # a year's origin twice in a mart whose rule is the combination of the two
        con.execute(
            "insert into marts.shared_origin_by_year select * from marts.shared_origin_by_year "
            "where recovery_year = '2010' and origin = 'us_manufactured'"
        )
        # and its suppression undone three ways: a small count shown, a hidden count shown,
        # and a total of 2012 shown, which leaves one hidden cell alone in the year (and
        # 2011's total alone among the hidden totals)
        for sql in (
            "set n_firearms = 3 where recovery_year = '2012' and origin = 'undetermined'",
            "set n_firearms = 2 where recovery_year = '2011' and origin = 'ALL'",
            "set n_firearms = 5, is_suppressed = false, suppression = null "
            "where recovery_year = '2012' and origin = 'ALL'",
        ):
            con.execute(f"update marts.shared_origin_by_year {sql}")
    finally:
        con.close()
    result = run_dbt(s, "test", "--select", f"{model},test_name:column_values", "--store-failures")
    assert not result.success
    (failure,) = result.failures
    # the message says which rules, in words and with counts, and shows no value
    assert failure.startswith(f"test.tracepipe.{model}_column_values."), failure
    assert failure.endswith(
        ": dealer_status: 1 row(s) without a value; origin: 1 row(s) with a value not "
        "accepted; recovery_state_code: 1 row(s) with a value not in the table it refers to; "
        "trace_number: 1 row(s) that repeat another row's values; undetermined_reason: 1 "
        "row(s) without a value where the model requires one"
    ), failure
    assert "martian" not in failure and "'99'" not in failure
    (compiled,) = (s.dbt_target_dir / "compiled").rglob(f"{model}_column_values.sql")
    assert compiled.read_text().count(model) == 1  # one scan, every rule
    con = duckdb.connect(str(s.warehouse_path), read_only=True)
    try:
        ((schema, table),) = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name like '%dbt_test__audit' and table_name = ?",
            [f"{model}_column_values"],
        ).fetchall()
        broken = con.execute(
            f'select column_name, rule, n_rows, example from "{schema}"."{table}" order by 1'
        ).fetchall()
    finally:
        con.close()
    # a null passes accepted_values, as in dbt's own test; it breaks not_null
    assert broken == [
        ("dealer_status", "not_null", 1, None),
        ("origin", "accepted_values", 1, "martian"),
        ("recovery_state_code", "in_table", 1, "99"),
        ("trace_number", "unique", 1, None),
        ("undetermined_reason", "required_when", 1, None),
    ]
    result = run_dbt(s, "test", "--select", "shared_origin_by_year,test_name:column_values")
    assert not result.success
    (failure,) = result.failures
    line = "recovery_year,origin"
    assert failure.endswith(
        f": {line}: 2 row(s) suppressed alone in their row or column, so the totals give them "
        f"away; {line}: 1 row(s) that are suppressed yet show their count; {line}: 1 row(s) "
        f"that show a count small enough to be suppressed; {line}: 1 row(s) that repeat "
        "another row's values"
    ), failure


def test_a_models_row_rules_look_at_the_rows_written_since_the_tests_last_pass(built_copy):
    """A ``column_values`` test with ``incremental_by`` (the flagged model's, by
    ``written_at``): after a build, the transform records where its pass reached; the next
    build hands that watermark over, and the rules about one row at a time look at the
    rows written since. Uniqueness looks at the rows that share a trace number with a row
    written since: a new row that repeats an old one is found, two old rows made alike by
    hand are not (they passed before; the audit's uniqueness over every row finds them).
    Without the watermark every rule looks at every row."""
    s = built_copy
    model = "int_trace_requests_flagged"
    con = duckdb.connect(str(s.warehouse_path))
    try:
        marks = data_test_watermarks(con, data_tests_checksum(s, code_checksum(s)))
        assert set(marks) == {f"{model}.written_at", "stg_trace__requests.load_seq"}
        (newest,) = con.execute(
            f"select max(written_at)::varchar from intermediate.{model}"
        ).fetchone()
        assert marks[f"{model}.written_at"] == [newest, "TIMESTAMP"]
        first, last = con.execute(
            f"select min(trace_number), max(trace_number) from intermediate.{model}"
        ).fetchone()
        # a row broken in place, as no build writes one (its written_at is the pass's), and
        # a row broken and written since
        con.execute(
            f"update intermediate.{model} set origin = 'martian' where trace_number = ?", [first]
        )
        con.execute(
            f"update intermediate.{model} set origin = 'martian', "
            "written_at = written_at + interval 1 second where trace_number = ?",
            [last],
        )
        # an old row twice, by hand (its written_at is the pass's)
        con.execute(
            f"insert into intermediate.{model} select * from intermediate.{model} "
            f"where trace_number = (select min(trace_number) from intermediate.{model} "
            "where trace_number > ?)",
            [first],
        )
        # a row written since that repeats an old one's trace number
        con.execute(
            f"insert into intermediate.{model} select * replace "
            f"(written_at + interval 1 second as written_at) from intermediate.{model} "
            f"where trace_number = (select max(trace_number) from intermediate.{model} "
            "where trace_number < ?)",
            [last],
        )
    finally:
        con.close()
    select = ("test", "--select", f"{model},test_name:column_values")
    result = run_dbt(s, *select, env={TEST_WATERMARKS_ENV: json.dumps(marks)})
    assert not result.success
    (failure,) = result.failures
    assert failure.endswith(
        ": origin: 1 row(s) with a value not accepted; "
        "trace_number: 1 row(s) that repeat another row's values"
    ), failure
    (compiled,) = (s.dbt_target_dir / "compiled").rglob(f"{model}_column_values.sql")
    assert f"written_at > cast('{newest}' as TIMESTAMP)" in compiled.read_text()
    result = run_dbt(s, *select)
    (failure,) = result.failures
    assert failure.endswith(
        ": origin: 2 row(s) with a value not accepted; "
        "trace_number: 2 row(s) that repeat another row's values"
    ), failure


def test_a_later_build_checks_the_staging_rules_on_its_new_loads_only(first, second):
    """The trace staging view's test (``incremental_by: load_seq``) in the second build
    looks at the loads after those the first build's pass saw, and passes."""
    con = duckdb.connect(str(first.warehouse_path), read_only=True)
    try:
        marks = data_test_watermarks(con, data_tests_checksum(first, code_checksum(first)))
        (loaded,) = con.execute("select max(load_seq) from meta.load_ledger").fetchone()
    finally:
        con.close()
    mark, kind = marks["stg_trace__requests.load_seq"]
    assert int(mark) <= loaded
    (compiled,) = (second.dbt_target_dir / "compiled").rglob(
        "stg_trace__requests_column_values.sql"
    )
    assert f"load_seq > cast('{mark}' as {kind})" in compiled.read_text()
    con = duckdb.connect(str(second.warehouse_path), read_only=True)
    try:
        later = data_test_watermarks(con, data_tests_checksum(second, code_checksum(second)))
    finally:
        con.close()
    assert int(later["stg_trace__requests.load_seq"][0]) > int(mark)


ONE_KIND_MODELS = {
    "int_multiple_sale_versions": "multiple_sales",
    "int_multiple_sale_rifles_current": "multiple_sales",
    "int_multiple_sale_rifles": "multiple_sales",
    "int_seizure_versions": "seizures",
    "int_seizures_classified": "seizures",
}


def _left_as_it_was(settings: Settings) -> set[str]:
    """The one-kind models (``rebuilt_when_changed``) that the last build left as they
    were: their compiled SQL appends no row."""
    compiled = settings.dbt_target_dir / "compiled"
    return {
        model
        for model in ONE_KIND_MODELS
        if "where false" in next(compiled.rglob(f"{model}.sql")).read_text()
    }


def test_a_model_of_one_kind_of_export_is_built_again_only_when_that_kind_changed(
    first, second, tmp_path
):
    """The seizure and multiple-sale models are built from their own exports alone: the
    second build (a trace file only) leaves them as they were, and a build after a new
    multiple-sale file builds those again, with the new report, and not the seizures'."""
    assert _left_as_it_was(first) == set()
    assert _left_as_it_was(second) == set(ONE_KIND_MODELS)
    sql = "select count(*) from intermediate.{}"
    assert [q(second, sql.format(m)) for m in ONE_KIND_MODELS] == [
        q(first, sql.format(m)) for m in ONE_KIND_MODELS
    ]
    s = copy_data(second.data_dir, tmp_path / "data")
    write_export(
        s.landing_dir / "multiple_sales" / "dl3_later.csv",
        "multiple_sales",
        [dl3("R9", "01/07/2014", "COLT", "DL3-LATER")],
    )
    build(s)
    assert _left_as_it_was(s) == {"int_seizure_versions", "int_seizures_classified"}
    reports = q(s, "select report_id from intermediate.int_multiple_sale_rifles_current")
    assert ("R9",) in reports and len(reports) == len(
        q(second, "select report_id from intermediate.int_multiple_sale_rifles_current")
    ) + 1


def test_a_changed_staging_view_is_a_new_rule_of_the_models_built_on_it(second, tmp_path):
    """``rules_version`` covers every model a model reads, directly or through others:
    a change to the trace staging view (read by the flagged model through
    int_trace_requests_current) makes the flagged model reprocess every request."""
    import dataclasses

    s = copy_data(second.data_dir, tmp_path / "data")
    project = tmp_path / "dbt_project"
    shutil.copytree(s.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    view = project / "models" / "staging" / "trace" / "stg_trace__requests.sql"
    view.write_text(view.read_text() + "\n-- a new rule\n")
    changed = dataclasses.replace(s, dbt_project_dir=project)
    sql = "select count(distinct dbt_invocation_id) from intermediate.int_trace_requests_flagged"
    assert q(s, sql) == [(2,)]  # the two loads, each normalised by its own build
    transform(changed)
    assert q(changed, sql) == [(1,)]  # every request normalised again, by this build


def test_a_one_kind_model_built_before_it_kept_its_change_is_built_again(second, tmp_path):
    """A one-kind model's table as an earlier version of the project left it (no
    ``rules_version``, no ``through_seq``) is built again whole, its new columns added:
    dbt's column sync and the pre-hook's delete do not meet in one transaction, which
    DuckDB would refuse to commit."""
    s = copy_data(second.data_dir, tmp_path / "data")
    con = duckdb.connect(str(s.warehouse_path))
    try:
        for model in ONE_KIND_MODELS:
            con.execute(
                f"create or replace table intermediate.{model} as select * exclude "
                f"(rules_version, through_seq) from intermediate.{model}"
            )
    finally:
        con.close()
    transform(s)
    sql = "select count(*), count(through_seq) from intermediate.{}"
    for model in ONE_KIND_MODELS:
        ((rows, stamped),) = q(s, sql.format(model))
        assert rows == stamped == q(second, sql.format(model))[0][0], model


def _models_emptied_when_rules_change(settings: Settings) -> dict[str, str]:
    """The models whose pre-hook is empty_when_rules_changed, with their schemas, as
    dbt's manifest of the last build lists them."""
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    return {
        node["name"]: node["schema"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and any("empty_when_rules_changed" in h["sql"] for h in node["config"]["pre-hook"])
    }


def test_new_rules_that_drop_a_column_rebuild_a_warehouse_built_before_them(second, tmp_path):
    """An upgrade whose models write a column fewer (as the record hash left the flagged
    model): each incremental model's table holds that column and rows of the earlier
    rules. The next transform builds every one of them again, without the column and
    with the rows a fresh build has; DuckDB would refuse to commit a delete of the old
    rows followed by dbt's drop of the column (duckdb/duckdb#20570)."""
    s = copy_data(second.data_dir, tmp_path / "data")
    models = _models_emptied_when_rules_change(s)
    assert "int_trace_requests_flagged" in models and "flagged_trace_requests" in models
    con = duckdb.connect(str(s.warehouse_path))
    try:
        for model, schema in models.items():
            con.execute(f"alter table {schema}.{model} add column retired_column varchar")
            con.execute(f"update {schema}.{model} set rules_version = 'earlier rules'")
    finally:
        con.close()
    transform(s)
    for model, schema in models.items():
        columns = q(
            s,
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{model}'",
        )
        assert ("retired_column",) not in columns, model
        sql = f"select count(*) from {schema}.{model}"
        assert q(s, sql) == q(second, sql), model
        assert q(s, f"{sql} where rules_version = 'earlier rules'") == [(0,)], model
