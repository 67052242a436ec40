"""Values as the audit's results show them: JSON-safe (``jsonable``), blank or not
(``blank``), shortened for a line of text (``short``) and as a name's safe part (``slug``).

Pure functions of one value each; nothing here reads data or knows about checks.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pandas as pd


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):
        try:
            return jsonable(value.item())
        except (ValueError, AttributeError):
            return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def blank(value: Any) -> bool:
    return value is None or value is pd.NA or value != value


def short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:60]
