"""The expectation suites: read ``expectations/suites/*.json``, refuse a malformed one
(``SuiteError``, naming the file and what is wrong), and say which batch each
expectation checks.

A suite file is GX's own suite format with the project's ``meta``: ``meta.batch`` (the
default batch) and ``meta.batches`` (further ones), and on each expectation
``meta.severity``, ``meta.check`` (in words) and, optionally, ``meta.batch``. This module
reads no data and runs no checks: batches.py reads what a batch names, gx_runner.py runs
the expectations.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines import privacy
from pipelines.config import Settings

SEVERITIES = ("error", "warning")
DEFAULT_BATCH = "main"


class SuiteError(RuntimeError):
    """A suite file is malformed: say which file and what is wrong."""


def load_suites(settings: Settings) -> list[dict]:
    suites = []
    for path in sorted((settings.expectations_dir / "suites").glob("*.json")):
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}: not valid JSON ({exc})") from exc
        check_suite(suite, path)
        suites.append(suite)
    if not suites:
        raise SuiteError(f"no expectation suites found in {settings.expectations_dir}/suites")
    names = [s["name"] for s in suites]
    if len(set(names)) != len(names):
        raise SuiteError(f"two suite files share a name: {sorted(names)}")
    return suites


def suite_batches(suite: dict) -> dict[str, dict]:
    meta = suite.get("meta", {})
    batches: dict[str, dict] = {}
    if "batch" in meta:
        batches[DEFAULT_BATCH] = {
            "index": meta.get("index_columns", []),
            **meta["batch"],
        }
    batches.update(meta.get("batches", {}))
    return batches


def default_batch(suite: dict) -> str:
    return suite.get("meta", {}).get("default_batch") or next(iter(suite_batches(suite)))


def expectation_batch(suite: dict, spec: dict) -> str:
    return (spec.get("meta") or {}).get("batch") or default_batch(suite)


def check_suite(suite: dict, path: Path | str = "") -> None:
    """Refuse a suite file whose checks would not say what they check or how much it matters."""
    where = f"{path}" if path else f"suite {suite.get('name')}"
    if not suite.get("name"):
        raise SuiteError(f"{where}: the suite has no name")
    batches = suite_batches(suite)
    if not batches:
        raise SuiteError(f"{where}: meta.batch or meta.batches must say what data it checks")
    for name, spec in batches.items():
        kinds = [k for k in ("relation", "query", "builtin") if k in spec]
        if len(kinds) != 1:
            raise SuiteError(
                f"{where}: batch {name!r} needs exactly one of relation, query, builtin"
            )
        if "relation" in spec and not spec.get("columns"):
            raise SuiteError(f"{where}: batch {name!r} reads a relation but lists no columns")
        if not isinstance(spec.get("materialize", True), bool):
            raise SuiteError(f"{where}: batch {name!r}: materialize must be true or false")
        leaked = [c for c in spec.get("columns", []) if privacy.is_pii(c)]
        if leaked:
            raise SuiteError(f"{where}: batch {name!r} would read personal data: {leaked}")
    seen: set[str] = set()
    for n, spec in enumerate(suite.get("expectations", []), start=1):
        meta = spec.get("meta") or {}
        label = f"{where}: expectation #{n} ({spec.get('type')})"
        if meta.get("severity") not in SEVERITIES:
            raise SuiteError(f"{label}: meta.severity must be one of {SEVERITIES}")
        if not meta.get("check"):
            raise SuiteError(f"{label}: meta.check must say in words what is checked")
        if expectation_batch(suite, spec) not in batches:
            raise SuiteError(f"{label}: meta.batch {meta.get('batch')!r} is not a batch")
        if meta["check"] in seen:
            raise SuiteError(f"{label}: another check already says {meta['check']!r}")
        seen.add(meta["check"])
