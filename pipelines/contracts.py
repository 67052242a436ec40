"""Contracts of the raw exports (``../shared/export-formats.md``), checked with pandera.

A contract says, for one kind of export, which columns its header has, which values are
required, which codes and patterns are allowed, how dates are written and in what order
they must fall. ``schema_for`` turns it into a pandera schema that checks a whole file
at once (``lazy=True``) so every failure of every row is reported, not just the first.

Values are checked as text, after trimming spaces; blank means missing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import pandera.polars as pa
import polars as pl

from pipelines import reference

ISO_DATE = "%Y-%m-%d"
DAY_FIRST_DATE = "%d/%m/%Y"
DATE_STYLES = {
    ISO_DATE: re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    DAY_FIRST_DATE: re.compile(r"^\d{2}/\d{2}/\d{4}$"),
}
DATE_STYLE_LABEL = {ISO_DATE: "YYYY-MM-DD", DAY_FIRST_DATE: "DD/MM/YYYY"}
EARLIEST_DATE = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class Field:
    name: str
    required: bool = False
    is_date: bool = False
    pattern: str | None = None
    domain: Callable[[], frozenset[str]] | None = None
    # Compare the accent-free, upper-case form of the value with the domain.
    normalise: bool = False


@dataclass(frozen=True)
class Contract:
    kind: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    delimiter: str = ","
    # (earlier, later): the first date may not fall after the second.
    date_order: tuple[tuple[str, str], ...] = ()
    # A licensee listing is a snapshot; its month comes from the file name.
    snapshot_name: re.Pattern[str] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def date_columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.is_date)


def _codes(*values: str) -> Callable[[], frozenset[str]]:
    frozen = frozenset(values)
    return lambda: frozen


LICENSE_NUMBER = r"^\d-\d{2}-\d{3}-\d{2}-\d[A-HJ-M]-\d{5}$"
TRACE_STATUS = _codes("COMPLETED", "NOT_COMPLETED", "PENDING")
YES_NO = _codes("Y", "N")

TRACE = Contract(
    kind="trace",
    key=("trace_number",),
    fields=(
        Field("trace_number", required=True, pattern=r"^\S+$"),
        Field("request_date", required=True, is_date=True),
        Field("requesting_agency"),
        Field("recovery_date", required=True, is_date=True),
        Field("recovery_country", required=True, domain=reference.country_codes),
        Field("recovery_state"),
        Field("recovery_city"),
        Field("firearm_type", required=True, domain=reference.firearm_type_keys, normalise=True),
        Field("manufacturer"),
        Field("model"),
        Field("caliber"),
        Field("serial_number"),
        Field("serial_obliterated", domain=YES_NO),
        Field("country_of_manufacture", domain=reference.country_codes),
        Field("importer"),
        Field("trace_status", domain=TRACE_STATUS),
        Field("trace_result", domain=reference.trace_result_codes),
        Field("ffl_license_number", pattern=LICENSE_NUMBER),
        Field("purchase_date", is_date=True),
        Field("purchaser_name"),
        Field("purchaser_dob", is_date=True),
        Field("purchaser_address"),
    ),
    date_order=(
        ("purchase_date", "recovery_date"),
        ("recovery_date", "request_date"),
        ("purchaser_dob", "purchase_date"),
    ),
)

SEIZURES = Contract(
    kind="seizures",
    key=("seizure_id",),
    fields=(
        Field("seizure_id", required=True, pattern=r"^\S+$"),
        Field("seizure_date", required=True, is_date=True),
        Field("seizing_agency"),
        Field("location"),
        Field("us_state", domain=reference.us_state_codes),
        Field("destination_country", domain=reference.country_codes),
        Field("firearm_type", required=True, domain=reference.firearm_type_keys, normalise=True),
        Field("manufacturer"),
        Field("model"),
        Field("caliber"),
        Field("serial_number"),
        Field("case_number"),
    ),
)

LICENSEE_TYPES = _codes("01", "02", "03", "06", "07", "08", "09", "10", "11")
ZIP = r"^\d{5}(\d{4})?$"

LICENSEES = Contract(
    kind="licensees",
    key=("lic_regn", "lic_dist", "lic_cnty", "lic_type", "lic_xprdte", "lic_seqn"),
    delimiter="\t",
    snapshot_name=re.compile(
        r"^(?P<mm>0[1-9]|1[0-2])(?P<yy>\d{2})-ffl-list(-complete)?(?:\b.*)?\.txt$"
    ),
    fields=(
        Field("lic_regn", required=True, pattern=r"^\d$"),
        Field("lic_dist", required=True, pattern=r"^\d{2}$"),
        Field("lic_cnty", required=True, pattern=r"^\d{3}$"),
        Field("lic_type", required=True, domain=LICENSEE_TYPES),
        Field("lic_xprdte", required=True, pattern=r"^\d[A-HJ-M]$"),
        Field("lic_seqn", required=True, pattern=r"^\d{5}$"),
        Field("license_name", required=True),
        Field("business_name"),
        Field("premise_street"),
        Field("premise_city"),
        Field("premise_state", required=True, domain=reference.us_state_codes),
        Field("premise_zip_code", pattern=ZIP),
        Field("mail_street"),
        Field("mail_city"),
        Field("mail_state"),
        Field("mail_zip_code"),
        Field("voice_phone", pattern=r"^\d{7,10}$"),
    ),
)

MULTIPLE_SALES = Contract(
    kind="multiple_sales",
    key=("report_id", "manufacturer", "serial_number"),
    fields=(
        Field("report_id", required=True, pattern=r"^\S+$"),
        Field("report_date", required=True, is_date=True),
        Field("ffl_license_number", required=True, pattern=LICENSE_NUMBER),
        Field("serial_number"),
        Field("manufacturer"),
        Field("importer"),
        Field("model"),
        Field("caliber"),
        Field("disposition_date", is_date=True),
        Field("purchaser_name"),
        Field("purchaser_dob", is_date=True),
        Field("purchaser_id_number"),
    ),
    date_order=(("disposition_date", "report_date"), ("purchaser_dob", "disposition_date")),
)

CONTRACTS: dict[str, Contract] = {c.kind: c for c in (TRACE, SEIZURES, LICENSEES, MULTIPLE_SALES)}


def header_key(name: str) -> str:
    """ATF's old title-case headers (``Lic Regn``) and the current ones (``LIC_REGN``)
    compare equal, as do any case and spacing variants."""
    return re.sub(r"[\s_]+", "_", name.strip().strip("\ufeff").strip('"')).lower()


# --- pandera --------------------------------------------------------------------------

RULE_TEXT = {
    "not_nullable": "a value is required but the field is blank",
    "pattern": "does not have the expected form",
    "domain": "is not a known code",
    "date": "is not a real date written {style}",
    "date_range": "is outside 1900 to today",
    "unique": "repeats a key already present in this file",
    "date_order": "{earlier} falls after {later}",
}


def _parsed(column: str, fmt: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, fmt, strict=False)


def schema_for(kind: str, date_format: str, today: dt.date | None = None) -> pa.DataFrameSchema:
    """The pandera schema of one kind of export whose dates are written ``date_format``;
    no date may fall after ``today`` (by default the day of the call, so a process that
    runs for days, such as an Airflow worker, checks against the real day)."""
    return _schema_for(kind, date_format, today or dt.date.today())


@lru_cache(maxsize=64)
def _schema_for(kind: str, date_format: str, today: dt.date) -> pa.DataFrameSchema:
    contract = CONTRACTS[kind]
    columns: dict[str, pa.Column] = {}
    for f in contract.fields:
        checks: list[pa.Check] = []
        if f.pattern:
            regex = f.pattern
            checks.append(
                pa.Check(
                    lambda data, regex=regex: data.lazyframe.select(
                        pl.col(data.key).is_null() | pl.col(data.key).str.contains(regex)
                    ),
                    name="pattern",
                )
            )
        if f.domain:
            domain = f.domain
            checks.append(
                pa.Check(
                    lambda data, domain=domain: data.lazyframe.select(
                        pl.col(data.key).is_null() | pl.col(data.key).is_in(sorted(domain()))
                    ),
                    name="domain",
                )
            )
        if f.is_date:
            checks.append(
                pa.Check(
                    lambda data: data.lazyframe.select(
                        pl.col(data.key).is_null() | _parsed(data.key, date_format).is_not_null()
                    ),
                    name="date",
                )
            )
            checks.append(
                pa.Check(
                    lambda data: data.lazyframe.select(
                        _parsed(data.key, date_format).is_null()
                        | _parsed(data.key, date_format).is_between(EARLIEST_DATE, today)
                    ),
                    name="date_range",
                )
            )
        columns[f.name] = pa.Column(
            pl.Utf8,
            nullable=not f.required,
            unique=False,
            checks=checks,
            coerce=False,
        )

    frame_checks = []
    for earlier, later in contract.date_order:
        frame_checks.append(
            pa.Check(
                lambda data, earlier=earlier, later=later: data.lazyframe.select(
                    _parsed(earlier, date_format).is_null()
                    | _parsed(later, date_format).is_null()
                    | (_parsed(earlier, date_format) <= _parsed(later, date_format))
                ),
                name=f"date_order:{earlier}<={later}",
            )
        )
    key = list(contract.key)
    frame_checks.append(
        pa.Check(
            lambda data: data.lazyframe.select(pl.struct(key).is_first_distinct()),
            name="duplicate_key",
        )
    )
    return pa.DataFrameSchema(
        columns,
        checks=frame_checks,
        strict=True,
        ordered=False,
        name=f"{kind} export",
    )


def describe_rule(check: str, column: str | None, date_format: str) -> tuple[str, str]:
    """(rule, plain-language description) for a pandera failure."""
    if check.startswith("date_order:"):
        earlier, later = check.split(":", 1)[1].split("<=")
        return "date_order", f"{earlier} falls after {later}"
    if check in ("not_nullable",):
        return "required", RULE_TEXT["not_nullable"]
    if check == "date":
        return "date", RULE_TEXT["date"].format(style=DATE_STYLE_LABEL[date_format])
    if check == "duplicate_key":
        return "duplicate_key", RULE_TEXT["unique"]
    return check, RULE_TEXT.get(check, check)
