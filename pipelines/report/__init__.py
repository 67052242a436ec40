"""Report: the figures of GAO-16-223 drawn from the published release.

Reads one release only (``published/current`` resolved once, read-only), never the
working warehouse, so the report shows exactly what analysts see. Writes
``reports/<run>/figures.html`` (one page, nothing loaded from the network: charts are
inline SVG drawn with matplotlib, styles inline, and a Content Security Policy forbids
any other load) and each chart as ``reports/<run>/figures/<figure>.svg`` and ``.png``.

Every figure shows its numbers as a table, the release it came from and that release's
validation outcome with a link to the validation report; the page says plainly when the
release is a generated sample whose totals are not meant to match GAO's.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import jinja2

from pipelines.config import Settings
from pipelines.manifest import DataOrigin, Manifest

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FIGURES_FOLDER = "figures"
# The last report's charts, by what they show (charts.chart_cache).
CHART_CACHE = ".chart-cache"


@dataclass
class ReleaseInfo:
    id: str
    path: Path
    published_at: str = ""
    code_version: str = ""
    decision: str = "unknown"
    validation_counts: str = ""
    validation_path: str = ""
    validation_href: str = ""
    docs_href: str = ""
    data_label: str = ""
    banners: list[str] = field(default_factory=list)


def template_env() -> jinja2.Environment:
    """The Jinja2 environment of every page the project writes (pipelines/templates/):
    autoescaped, and a missing variable is an error."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )


def _href(target: Path, folder: Path) -> str:
    return Path(os.path.relpath(target, folder)).as_posix()


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def release_info(
    release_path: Path, manifest: Manifest, folder: Path, matches: tuple[int, int]
) -> ReleaseInfo:
    summary = manifest.validation_summary
    info = ReleaseInfo(
        id=manifest.release_id or release_path.name,
        path=release_path,
        published_at=manifest.published_at.replace("T", " "),
        code_version=manifest.code_version,
        decision=summary.decision or manifest.validation or "unknown",
    )
    if summary.n_checks is not None:
        info.validation_counts = (
            f"{_plural(summary.n_checks, 'check')}, {summary.n_blocking or 0:,} blocking, "
            f"{_plural(summary.n_warnings or 0, 'warning')}"
        )
    report_json = manifest.validation_report
    if report_json:
        html_path = Path(report_json).with_name("validation.html")
        info.validation_path = str(html_path)
        if html_path.exists():
            info.validation_href = _href(html_path, folder)
    docs = release_path / "docs" / "index.html"
    if docs.exists():
        info.docs_href = _href(docs, folder)

    data = manifest.data or DataOrigin()  # not recorded (an older release)
    generator = data.generator or {}
    scale = generator.get("scale")
    matched, figures = matches
    if data.origin == "generated":
        info.data_label = f"generated sample, scale {scale:g}" if scale is not None else "generated"
        if scale is not None and scale < 1:
            info.banners.append(
                f"This release is a small generated sample (tracepipe generate, scale {scale:g}, "
                f"seed {generator.get('seed')}): about {100 * scale:g} percent of the volumes of "
                "GAO-16-223. Its totals are not meant to match GAO's; its shares roughly are. "
                f"{matched} of {figures} GAO figures match in this release."
            )
        elif scale is not None:
            info.banners.append(
                f"This release is generated data (tracepipe generate, scale {scale:g}), not real "
                "trace data: at scale 1 it is calibrated to reproduce GAO-16-223's figures "
                f"({matched} of {figures} match in this release)."
            )
    elif data.origin == "mixed":
        info.data_label = "exports and generated data"
        info.banners.append(
            f"This release mixes generated sample files ({data.generated_files} of "
            f"{data.loaded_files} loaded files) with other exports: its totals are not "
            "meant to match GAO's."
        )
    elif data.origin == "exports":
        info.data_label = "exports"
    else:
        info.data_label = "not recorded"
    if figures and matched < figures and not info.banners:
        info.banners.append(
            f"{figures - matched} of {figures} GAO-16-223 figures do not match this release "
            "(see the last table): its totals are not GAO's."
        )
    return info


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main'"
        ).fetchall()
    }


def build(
    release_path: Path,
    folder: Path,
    run_id: str,
    history_href: str = "",
    chart_cache: Path | None = None,
) -> Path:
    """Write ``folder/figures.html`` and ``folder/figures/*`` from the release at
    ``release_path``; returns the page's path. A chart the last report drew from the same
    data is copied from ``chart_cache`` (``charts.chart_cache``), not drawn again."""
    from pipelines.report import charts
    from pipelines.report import figures as figures_mod

    manifest = Manifest.read(release_path)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / FIGURES_FOLDER
    with charts.chart_cache(chart_cache):
        con = duckdb.connect(str(release_path / "marts.duckdb"), read_only=True)
        try:
            tables = _tables(con)
            drawn = []
            for make in figures_mod.FIGURES:
                probe = make.__name__
                try:
                    with charts.figure_data():
                        fig = make(con, out)
                except duckdb.CatalogException as exc:
                    # a mart this figure needs is not in the release (an older release)
                    log.warning("figure %s left out: %s", probe, exc)
                    continue
                fig.files = [
                    _href(out / f"{fig.id}.{ext}", folder)
                    for ext in ("svg", "png")
                    if (out / f"{fig.id}.{ext}").exists()
                ]
                missing = [m for m in fig.marts if m not in tables]
                if missing:
                    log.warning("figure %s drawn without %s", fig.id, ", ".join(missing))
                drawn.append(fig)
            reproduction = (
                figures_mod.reproduction(con) if "gao_16_223_reproduction" in tables else None
            )
        finally:
            con.close()
    matched = sum(1 for row in reproduction.rows if row[-1].text == "yes") if reproduction else 0
    total = len(reproduction.rows) if reproduction else 0
    info = release_info(release_path, manifest, folder, (matched, total))
    page = (
        template_env()
        .get_template("figures.html.j2")
        .render(
            release=info,
            figures=drawn,
            reproduction=reproduction,
            reproduction_summary=(
                f"{matched} of {total} figures match."
                + (
                    ""
                    if matched == total
                    else " A small or partial sample is not expected to match."
                )
            ),
            run_id=run_id,
            history_href=history_href,
            generated_at=dt.datetime.now().isoformat(timespec="seconds"),
        )
    )
    path = folder / "figures.html"
    path.write_text(page, encoding="utf-8")
    return path


def write_figures(settings: Settings, run_id: str) -> Path:
    """The figures of the current release, in ``reports/<run_id>/``."""
    if not settings.current_link.exists():
        raise FileNotFoundError(
            f"no published release at {settings.current_link}: run the pipeline first"
        )
    release_path = settings.current_link.resolve()  # one release, even if current moves
    folder = settings.reports_dir / run_id
    history_href = ""
    try:  # the release history, with the release just published
        from pipelines import history

        history_href = _href(history.write_history(settings), folder)
    except Exception as exc:  # noqa: BLE001 — a help beside the figures, not the figures
        log.warning("release history not written: %s: %s", type(exc).__name__, exc)
    return build(release_path, folder, run_id, history_href, settings.reports_dir / CHART_CACHE)
