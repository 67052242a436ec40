"""Small raw exports for tests, written in the formats of export-formats.md."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pipelines.contracts import CONTRACTS


def trace_row(**overrides: str) -> dict[str, str]:
    row = {
        "trace_number": "T2012-0000001",
        "request_date": "2012-03-10",
        "requesting_agency": "FGR",
        "recovery_date": "2012-02-15",
        "recovery_country": "MX",
        "recovery_state": "Chihuahua",
        "recovery_city": "Ciudad Juárez",
        "firearm_type": "RIFLE",
        "manufacturer": "COLT",
        "model": "AR-15",
        "caliber": ".223",
        "serial_number": "LGC123456",
        "serial_obliterated": "N",
        "country_of_manufacture": "US",
        "importer": "",
        "trace_status": "COMPLETED",
        "trace_result": "PURCHASER_IDENTIFIED",
        "ffl_license_number": "5-74-029-01-4F-12345",
        "purchase_date": "2010-06-01",
        "purchaser_name": "DOE, JOHN Q",
        "purchaser_dob": "1980-01-02",
        "purchaser_address": "1 MAIN ST, EL PASO TX",
    }
    row.update(overrides)
    return row


def write_export(
    path: Path,
    kind: str,
    rows: list[dict[str, str]],
    *,
    encoding: str = "utf-8",
    line_end: str = "\n",
    header: list[str] | None = None,
) -> Path:
    contract = CONTRACTS[kind]
    columns = header or [c.upper() if kind == "licensees" else c for c in contract.columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=contract.delimiter, lineterminator=line_end)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in contract.columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path
