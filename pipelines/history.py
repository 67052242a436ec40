"""The release history page: ``reports/history.html``.

For each of the last releases (and each audit that held one back), newest first: its
decision, blocking failures, warnings, rows per mart and the key figures (the computed
values of ``gao_16_223_reproduction``), each with the change since the entry before it.

Built from what the project already keeps: each release's ``manifest.json`` (its run,
its validation report, its mart counts) and marts database (read-only), and each
audit's ``reports/<run>/validation.json``. Rewritten at each audit and each figures
report (after a publish). Like every page the project writes, it loads nothing.
Personal data cannot reach it: it shows counts, check descriptions and aggregate
figures only, never an example row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.config import Settings
from pipelines.manifest import Manifest

log = logging.getLogger(__name__)

LAST = 12  # entries shown
HISTORY_PAGE = "history.html"


@dataclass
class Entry:
    run_id: str
    when: str
    decision: str
    audited_at: str = ""  # the audit's clock: releases and held audits sort by it
    release_id: str = ""  # "" for an audit that held its release back
    n_checks: int | None = None
    n_blocking: int | None = None
    n_warnings: int | None = None
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mart_rows: dict[str, int] = field(default_factory=dict)
    figures: dict[str, float | None] = field(default_factory=dict)
    validation_href: str = ""
    # filled by ``compare``: the change since the entry before
    previous: str = ""
    new_failures: list[str] = field(default_factory=list)
    fixed_failures: list[str] = field(default_factory=list)
    new_warnings: list[str] = field(default_factory=list)
    mart_changes: dict[str, int | None] = field(default_factory=dict)  # None: new mart
    figure_changes: dict[str, float | None] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.release_id or f"run {self.run_id} (held)"

    @property
    def total_rows(self) -> int:
        return sum(self.mart_rows.values())


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _key_figures(database: Path) -> dict[str, float | None]:
    """The computed values of the reproduction mart, by figure and measure."""
    if not database.exists():
        return {}
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        log.warning("history: %s not read: %s", database, exc)
        return {}
    try:
        rows = con.execute(
            "select figure, measure, computed_value from gao_16_223_reproduction "
            "order by figure, measure"
        ).fetchall()
    except duckdb.Error:
        return {}  # an older release without that mart
    finally:
        con.close()
    return {f"{fig}: {measure}": None if v is None else float(v) for fig, measure, v in rows}


def _href(target: Path, folder: Path) -> str:
    return Path(os.path.relpath(target, folder)).as_posix()


def _from_validation(summary: dict, folder: Path, path: Path) -> Entry:
    html = path.with_name("validation.html")
    return Entry(
        run_id=str(summary.get("run_id", path.parent.name)),
        when=str(summary.get("created_at", "")),
        decision=str(summary.get("decision", "unknown")),
        n_checks=summary.get("n_checks"),
        n_blocking=summary.get("n_blocking"),
        n_warnings=summary.get("n_warnings"),
        reasons=list(summary.get("reasons") or []),
        warnings=list(summary.get("warnings") or []),
        mart_rows=dict(summary.get("mart_rows") or {}),
        validation_href=_href(html, folder) if html.exists() else "",
        audited_at=str(summary.get("created_at", "")),
    )


def collect(settings: Settings, last: int = LAST) -> list[Entry]:
    """Releases and held audits, oldest first, the last ``last`` of them, compared."""
    from pipelines import publish

    folder = settings.reports_dir
    entries: list[Entry] = []
    released_runs: set[str] = set()
    for release_id in publish.list_releases(settings):
        path = settings.releases_dir / release_id
        try:
            manifest = Manifest.read(path)
        except (OSError, ValueError) as exc:  # listed, so it was there: say so, show it bare
            log.warning("history: the manifest of release %s not read: %s", release_id, exc)
            manifest = Manifest()
        report = manifest.validation_report
        summary = _read_json(Path(report)) if report else None
        if summary is not None:
            entry = _from_validation(summary, folder, Path(report))
        else:
            validation = manifest.validation_summary
            entry = Entry(
                run_id=manifest.run_id,
                when="",
                decision=validation.decision or manifest.validation or "?",
                n_checks=validation.n_checks,
                n_blocking=validation.n_blocking,
                n_warnings=validation.n_warnings,
                warnings=list(validation.warnings),
            )
        entry.release_id = release_id
        entry.when = manifest.published_at or entry.when
        entry.audited_at = entry.audited_at or entry.when
        entry.mart_rows = dict(manifest.marts or entry.mart_rows)
        entry.figures = _key_figures(path / "marts.duckdb")
        released_runs.add(entry.run_id)
        entries.append(entry)
    if folder.is_dir():
        for path in sorted(folder.glob("*/validation.json")):
            summary = _read_json(path)
            if not summary or summary.get("decision") != "hold":
                continue  # a passing audit is in the history as the release it made
            if str(summary.get("run_id")) in released_runs:
                continue
            entries.append(_from_validation(summary, folder, path))
    entries.sort(key=lambda e: _when(e.audited_at))
    compare(entries)
    return entries[-last:]


def _when(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return dt.datetime.min


def compare(entries: list[Entry]) -> None:
    """Each entry against the release before it (a held audit changes nothing, so the
    entry after it is still compared with the last release)."""
    before: Entry | None = None
    for entry in entries:
        if before is not None:
            entry.previous = before.label
            entry.new_failures = [r for r in entry.reasons if r not in before.reasons]
            entry.fixed_failures = [r for r in before.reasons if r not in entry.reasons]
            entry.new_warnings = [w for w in entry.warnings if w not in before.warnings]
            for mart, n in entry.mart_rows.items():
                old = before.mart_rows.get(mart)
                if old is None:
                    entry.mart_changes[mart] = None
                elif old != n:
                    entry.mart_changes[mart] = n - old
            for key, value in entry.figures.items():
                old = before.figures.get(key)
                if value is not None and old is not None and value != old:
                    entry.figure_changes[key] = value - old
        if entry.release_id:
            before = entry


def render(entries: list[Entry]) -> str:
    from pipelines.report import template_env

    newest_first = list(reversed(entries))
    marts = sorted({m for e in entries for m in e.mart_rows})
    figures = sorted({f for e in entries for f in e.figures})
    return (
        template_env()
        .get_template("history.html.j2")
        .render(
            entries=newest_first,
            marts=marts,
            figures=figures,
            generated_at=dt.datetime.now().isoformat(timespec="seconds"),
        )
    )


def write_history(settings: Settings, last: int = LAST) -> Path:
    """Rebuild ``reports/history.html``; returns its path."""
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    path = settings.reports_dir / HISTORY_PAGE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(render(collect(settings, last)), encoding="utf-8")
    os.replace(tmp, path)
    return path
