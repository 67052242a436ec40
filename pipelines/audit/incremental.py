"""The incremental audit: which checks may look at the rows written since the last
published audit only, and since when (``plan``, ``Plan``).

A batch whose rows are rows of one model, each computed from that row alone (and from
reference data, which is part of the rules), says so with ``incremental_by``: the
column that says when the row was last written (``written_at``). The model rewrites a
row, with a new ``written_at``, whenever anything it holds can change (a new version, a
repeat group or a listing decided again, a retraction; new rules rewrite every row).
So a row not written since an audit holds what that audit saw.

A check runs on the new rows only when all of these hold, else on all rows:

- its type is *row-local* (``ROW_LOCAL``): each row passes or fails on its own values,
  whatever the other rows hold, and ``mostly`` is not set (a share of all rows is not);
- the audit that published the current release ran it with the same arguments (as
  resolved: reference codes, dates) and it passed: every row up to that audit's
  watermark passed it then, and a row not written since holds the same values;
- nothing else that could change an old row's outcome changed since that audit: the
  suite files (their checksums), the code and rules (dbt project, suites, pipeline
  code: ``fingerprint.code_fingerprint``), the purchaser key (by its id), and the load
  ledger is the one it saw (the same loads in the same order: not a rebuilt or
  restored warehouse);
- no full audit was asked for (``tracepipe audit --full``, ``tracepipe run
  --full-refresh``) and there is a published release.

The watermark is advanced only by a published release: it is read from the
validation.json of the audit that published the current release (the release manifest's
``validation_report``). A held audit changes nothing, so a row that failed is checked
again by every later audit until a release that passes it is published.

Checks that span rows (uniqueness, minimum, maximum, mean, a share with ``mostly``,
counts, reconciliations, lineage, the marts) always run over all rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.config import Settings
from pipelines.manifest import Manifest

# Expectation types whose outcome for a row depends on that row's values only: a row
# that passed once passes again while its values stay the same, so checking the rows
# written since a passing audit is checking every row. A share (``mostly`` below 1) is
# not row-local: whether 90 % of the rows pass depends on all of them.
ROW_LOCAL = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
        "expect_column_values_to_match_like_pattern",
        "expect_column_values_to_not_match_like_pattern",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_in_set",
        "expect_multicolumn_sum_to_equal",
        "expect_select_column_values_to_be_unique_within_record",
    }
)
# Not row-local, so always over all rows (named here so the choice is explicit):
# uniqueness compares a row with every other; minimum, maximum, mean, sums, distinct
# sets and row counts are about the whole column; order (increasing) about neighbours.
SPANS_ROWS = frozenset(
    {
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_min_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_mean_to_be_between",
        "expect_column_median_to_be_between",
        "expect_column_sum_to_be_between",
        "expect_column_stdev_to_be_between",
        "expect_column_proportion_of_unique_values_to_be_between",
        "expect_column_unique_value_count_to_be_between",
        "expect_column_distinct_values_to_be_in_set",
        "expect_column_distinct_values_to_contain_set",
        "expect_column_distinct_values_to_equal_set",
        "expect_column_values_to_be_increasing",
        "expect_column_values_to_be_decreasing",
        "expect_table_row_count_to_be_between",
        "expect_table_row_count_to_equal",
    }
)
assert not ROW_LOCAL & SPANS_ROWS

NEW, ALL = "new", "all"  # a check's rows: those written since the watermark, or all


def row_local(spec: dict) -> bool:
    """Whether each row's outcome of this expectation depends on that row alone."""
    mostly = (spec.get("kwargs") or {}).get("mostly")
    return spec.get("type") in ROW_LOCAL and (mostly is None or float(mostly) >= 1)


def args_digest(spec: dict) -> str:
    """The expectation as it runs (type and resolved arguments): equal digests, same check.
    A value set is a set: its order (a ``$query`` without one) does not count."""
    kwargs = dict(spec.get("kwargs") or {})
    if isinstance(kwargs.get("value_set"), list):
        kwargs["value_set"] = sorted(kwargs["value_set"], key=lambda v: (str(type(v)), str(v)))
    text = json.dumps({"type": spec.get("type"), "kwargs": kwargs}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def suite_checksums(settings: Settings) -> dict[str, str]:
    """SHA-256 of each suite file the audit reads, by file name."""
    folder = settings.expectations_dir / "suites"
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.json"))
    }


def ledger_mark(con: duckdb.DuckDBPyConnection, upto: int | None = None) -> dict[str, Any]:
    """The load ledger as far as load ``upto`` (all of it when None): how many loads, the
    last load's number, and a digest of their ids in load order. A later ledger of the
    same warehouse has the same first loads (it only grows; a retraction changes a
    load's status, not its id or number)."""
    where = "load_seq is not null" + ("" if upto is None else f" and load_seq <= {int(upto)}")
    n, last, digest = con.execute(
        "select count(*), max(load_seq), md5(coalesce(string_agg(load_id || ':' || "
        f"load_seq::varchar, ',' order by load_seq, load_id), '')) from meta.load_ledger "
        f"where {where}"
    ).fetchall()[0]
    return {"loads": int(n), "last_load_seq": None if last is None else int(last), "digest": digest}


def fingerprint(settings: Settings, con: duckdb.DuckDBPyConnection, relations: set[str]) -> dict:
    """What besides a row's own values decides its outcome, as this audit sees it."""
    from pipelines import fingerprint as code
    from pipelines.secrets import key_id, pii_key

    return {
        "code": code.code_fingerprint(),
        "purchaser_key_id": key_id(pii_key(settings)),
        "suites": suite_checksums(settings),
        "ledger": ledger_mark(con) if "meta.load_ledger" in relations else None,
    }


def published_audit(settings: Settings, manifest: Manifest) -> tuple[dict | None, str]:
    """The validation.json of the audit that published ``manifest``'s release, or None and
    why it cannot serve."""
    label = f"release {manifest.release_id or '?'}"
    paths = [Path(manifest.validation_report)] if manifest.validation_report else []
    if manifest.run_id:
        paths.append(settings.reports_dir / manifest.run_id / "validation.json")
    for path in paths:
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if found.get("run_id") != manifest.run_id or found.get("decision") != "publish":
            continue
        if not (found.get("incremental") or {}).get("fingerprint"):
            return None, f"the audit of {label} recorded no watermark (an earlier version)"
        return found, ""
    return None, f"the validation report of {label} is not found"


@dataclass
class Plan:
    """Which rows each check of this audit sees: all of them (``full``, with ``reason``),
    or the rows written since the watermarks of the audit that published the current
    release (``since_run``, ``since_release``)."""

    full: bool
    reason: str
    fingerprint: dict
    since_run: str | None = None
    since_release: str | None = None
    watermarks: dict[str, str] = field(default_factory=dict)  # batch key -> written_at
    passed: dict[tuple[str, str], str] = field(default_factory=dict)  # (suite, check) -> digest

    def since(self, batch_key: str, spec: dict) -> str | None:
        """The watermark of a batch's rows, or None when all its rows are checked."""
        if self.full or not spec.get("incremental_by"):
            return None
        return self.watermarks.get(batch_key)

    def scope(self, suite: str, spec: dict, since: str | None) -> str:
        """NEW when this expectation may look at the new rows only, else ALL."""
        check = (spec.get("meta") or {}).get("check")
        if since is None or not row_local(spec):
            return ALL
        return NEW if self.passed.get((suite, check)) == args_digest(spec) else ALL

    def to_dict(self, next_watermarks: dict[str, str]) -> dict:
        return {
            "mode": "all rows" if self.full else "new rows",
            "reason": self.reason,
            "since_run": self.since_run,
            "since_release": self.since_release,
            "row_local_types": sorted(ROW_LOCAL),
            "fingerprint": self.fingerprint,
            # What the next audit uses, once this one's release is published.
            "watermarks": next_watermarks,
        }


def plan(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    relations: set[str],
    manifest: Manifest | None,
    full: bool = False,
) -> Plan:
    """Decide whether this audit may check new rows only, from the current release's audit."""
    now = fingerprint(settings, con, relations)

    def everything(reason: str) -> Plan:
        return Plan(full=True, reason=reason, fingerprint=now)

    if full:
        return everything("a full audit was asked for (--full, or a full refresh)")
    if manifest is None:
        return everything("there is no published release yet")
    previous, why = published_audit(settings, manifest)
    if previous is None:
        return everything(why)
    state = previous["incremental"]
    before = state["fingerprint"]
    label = f"release {manifest.release_id}"
    changed = sorted(
        name
        for name in set(before.get("suites") or {}) | set(now["suites"])
        if (before.get("suites") or {}).get(name) != now["suites"].get(name)
    )
    if changed:
        return everything(f"suite file {', '.join(changed)} changed since {label}")
    if before.get("purchaser_key_id") != now["purchaser_key_id"]:
        return everything(f"the purchaser key changed since {label}")
    if before.get("code") != now["code"]:
        return everything(f"the code or rules (dbt project, pipeline code) changed since {label}")
    old_ledger = before.get("ledger")
    if old_ledger and (
        now["ledger"] is None or ledger_mark(con, old_ledger["last_load_seq"] or 0) != old_ledger
    ):
        return everything(
            f"the load ledger does not continue the one {label} was audited on "
            "(a rebuilt or restored warehouse)"
        )
    passed = {
        (c["suite"], c["check"]): c.get("args_digest") or ""
        for c in previous.get("checks", [])
        if c.get("status") == "pass" and c.get("args_digest")
    }
    return Plan(
        full=False,
        reason="",
        fingerprint=now,
        since_run=previous.get("run_id"),
        since_release=manifest.release_id,
        watermarks=dict(state.get("watermarks") or {}),
        passed=passed,
    )


def new_rows_sql(sql: str, column: str, since: str) -> str:
    """The rows of a batch's query written after ``since``."""
    quoted = '"' + column.replace('"', '""') + '"'
    stamp = since.replace("'", "''")
    return f"select * from ({sql}) as written where {quoted} > timestamp '{stamp}'"


def watermark(con: duckdb.DuckDBPyConnection, sql: str, column: str) -> str | None:
    """The newest ``column`` of a batch's rows (text, exact to the microsecond)."""
    quoted = '"' + column.replace('"', '""') + '"'
    (value,) = con.execute(f"select max({quoted})::varchar from ({sql}) as b").fetchall()[0]
    return value
