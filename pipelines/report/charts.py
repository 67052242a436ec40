"""Charts drawn with matplotlib, returned as SVG text (inlined in the page) and written
as SVG and PNG files for slides. No script, font or image is loaded by a chart: text is
SVG text in the page's own font stack, so the page works offline."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; set before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: no embedded glyphs, no web font
        "svg.hashsalt": "tracepipe",  # the same chart gives the same SVG
        "font.family": ["DejaVu Sans", "sans-serif"],
        "font.size": 9.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 10.5,
        "axes.titleweight": "bold",
        "axes.grid": True,
        "axes.grid.axis": "y",
        "grid.color": "#e3e6ec",
        "axes.axisbelow": True,
        "legend.frameon": False,
        "figure.dpi": 100,
    }
)

# Colour-blind safe (Okabe-Ito), one meaning each across the page.
COLOURS = {
    "us_manufactured": "#0072B2",
    "us_imported": "#56B4E9",
    "third_country": "#E69F00",
    "undetermined": "#999999",
    "long": "#0072B2",
    "short": "#D55E00",
    "other": "#999999",
    "border": "#D55E00",
    "nation": "#0072B2",
    "determined": "#009E73",
    "pending": "#CCCCCC",
    "us": "#0072B2",
    "mexico": "#D55E00",
    "other_country": "#CC79A7",
    "reference": "#000000",
}
REASON_COLOURS = ["#E69F00", "#D55E00", "#CC79A7", "#F0E442", "#882255", "#999999"]

PNG_DPI = 150
# While a report is drawn (``chart_cache``): the folder of the last report's charts, by
# what they show, and the names of those this report used.
_CACHE: ContextVar[tuple[Path, set[str]] | None] = ContextVar("chart_cache", default=None)
# While a figure is made (``figure_data``): what it has read from the release so far.
_SHOWN: ContextVar[list | None] = ContextVar("figure_data", default=None)
# What draws a chart besides its data: this package's code and matplotlib.
_DRAWN_BY = (Path(__file__).with_name("charts.py"), Path(__file__).with_name("figures.py"))

_THOUSANDS = FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def new_figure(width: float = 9.0, height: float = 3.6) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.yaxis.set_major_formatter(_THOUSANDS)
    return fig, ax


def stacked_bars(
    ax: plt.Axes,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    label_totals: bool = True,
) -> None:
    """Stacked vertical bars; ``series`` is (label, values, colour) from the bottom up."""
    x = range(len(categories))
    bottom = [0.0] * len(categories)
    for label, values, colour in series:
        ax.bar(x, values, bottom=bottom, label=label, color=colour, width=0.7)
        bottom = [b + (v or 0) for b, v in zip(bottom, values, strict=True)]
    if label_totals:
        for i, total in enumerate(bottom):
            ax.annotate(
                f"{total:,.0f}",
                (i, total),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_xticks(list(x), list(categories))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.set_ylim(0, max(bottom + [1]) * 1.12)


def legend_outside(ax: plt.Axes, ncol: int = 4) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles[::-1] if ncol == 1 else handles,
            labels[::-1] if ncol == 1 else labels,
            loc="upper left",
            bbox_to_anchor=(0, -0.12),
            ncol=ncol,
            fontsize=8.5,
        )


def ranked_bars(
    ax: plt.Axes,
    labels: Sequence[str],
    values: Sequence[float],
    colours: Sequence[str],
    value_labels: Sequence[str],
) -> None:
    """Horizontal bars, first label at the top, each labelled with its value."""
    y = range(len(labels))
    ax.barh(list(y), values, color=colours, height=0.72)
    ax.set_yticks(list(y), list(labels), fontsize=7.5)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)
    ax.xaxis.set_major_formatter(_THOUSANDS)
    top = max(list(values) + [1])
    for i, (v, text) in enumerate(zip(values, value_labels, strict=True)):
        ax.annotate(
            text, (v, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7
        )
    ax.set_xlim(0, top * 1.18)
    ax.margins(y=0.005)


@contextlib.contextmanager
def chart_cache(folder: Path | None) -> Iterator[None]:
    """While the block draws a report, a chart made from the same data by the same code
    as one the last report drew is copied from ``folder`` (its SVG and PNG, as drawn)
    instead of being laid out and drawn again; on leaving, ``folder`` keeps the charts of
    this report only. A daily run draws only the charts whose figures changed. Without a
    folder, every chart is drawn."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    token = _CACHE.set((folder, used))
    try:
        yield
    finally:
        _CACHE.reset(token)
        for path in folder.iterdir():
            if path.suffix in (".svg", ".png") and path.name not in used:
                path.unlink(missing_ok=True)


@contextlib.contextmanager
def figure_data() -> Iterator[None]:
    """While the block makes one figure: what it reads from the release (``shown``) is
    what its chart is cached by."""
    token = _SHOWN.set([])
    try:
        yield
    finally:
        _SHOWN.reset(token)


def shown(what: object) -> None:
    """Note data the figure being made reads (a query and its rows): its chart shows it."""
    data = _SHOWN.get()
    if data is not None:
        data.append(what)


@lru_cache(maxsize=1)
def _code_version() -> str:
    digest = hashlib.sha256(matplotlib.__version__.encode())
    for path in _DRAWN_BY:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cached(name: str) -> tuple[Path, Path] | None:
    """The cache's SVG and PNG of chart ``name`` made from the data its figure read,
    marked as used by this report; None outside a cached report or a figure."""
    cache, data = _CACHE.get(), _SHOWN.get()
    if cache is None or data is None:
        return None
    folder, used = cache
    what = repr((_code_version(), PNG_DPI, name, data)).encode()
    key = hashlib.sha256(what).hexdigest()
    used.update((f"{key}.svg", f"{key}.png"))
    return folder / f"{key}.svg", folder / f"{key}.png"


def _copied(cached: tuple[Path, Path], svg_file: Path, png_file: Path) -> str | None:
    """The chart's SVG text, with both files copied from the cache; None when the last
    report did not draw it."""
    try:
        svg = cached[0].read_text(encoding="utf-8")
        shutil.copyfile(cached[1], png_file)
    except FileNotFoundError:
        return None
    svg_file.write_text(svg, encoding="utf-8")
    return svg


def _keep(source: Path, target: Path) -> None:
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def render(fig: Figure, folder: Path, name: str) -> str:
    """Write ``name.svg`` and ``name.png`` into ``folder``; return the SVG for inlining
    (without its XML prologue, sized by the page's CSS)."""
    folder.mkdir(parents=True, exist_ok=True)
    svg_file, png_file = folder / f"{name}.svg", folder / f"{name}.png"
    cached = _cached(name)
    svg = _copied(cached, svg_file, png_file) if cached is not None else None
    if svg is None:
        svg = _draw(fig, svg_file, png_file)
        if cached is not None:
            _keep(svg_file, cached[0])
            _keep(png_file, cached[1])
    plt.close(fig)
    start = svg.find("<svg")
    svg = svg[start:]
    # responsive: drop the fixed size, keep the viewBox
    head, rest = svg.split(">", 1)
    head = _drop_attribute(_drop_attribute(head, "width"), "height")
    return f'{head} role="img" aria-labelledby="{name}-title">{rest}'


def _draw(fig: Figure, svg_file: Path, png_file: Path) -> str:
    # Lay the figure out once for both files (each savefig would run the constrained
    # layout again).
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine("none")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    fig.savefig(png_file, dpi=PNG_DPI, metadata={"Software": None})
    svg_file.write_text(svg, encoding="utf-8")
    return svg


def _drop_attribute(tag: str, name: str) -> str:
    marker = f' {name}="'
    start = tag.find(marker)
    if start < 0:
        return tag
    end = tag.find('"', start + len(marker))
    return tag[:start] + tag[end + 1 :]
