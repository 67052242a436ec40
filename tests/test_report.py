"""The figures report, built by the real pipeline from generated data: every figure is
there with its chart and numbers, the numbers equal the published marts', each figure
names its release and validation outcome and links the validation report, the page says
it is a small sample, and it renders in headless Chromium at 1,400 px with no console
message and no request leaving the machine (a screenshot is taken)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from browser import CHROMIUM, SKIP_REASON, png_size, render
from released import SCALE, generated_release

pytestmark = pytest.mark.slow  # a release built from generated data (released.py)

FIGURES = [
    "origin",
    "firearm_types",
    "seizures",
    "source_states",
    "purchaser",
    "time_to_crime",
    "multiple_sales",
    "licensees",
    "gao_16_223_reproduction",
]


class Page(HTMLParser):
    """Sections (data-figure) with their tables (data-columns: rows of cell texts), svg
    count, links and text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.section: dict | None = None
        self.table: dict | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.links: list[str] = []
        self.text: list[str] = []
        self.meta: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta":
            self.meta.append(a)
        if tag == "section" and "data-figure" in a:
            self.section = {"tables": [], "svg": 0, "links": [], "text": []}
            self.sections[a["data-figure"]] = self.section
        if self.section is None:
            if tag == "a":
                self.links.append(a.get("href", ""))
            return
        if tag == "svg":
            self.section["svg"] += 1
        if tag == "a":
            self.section["links"].append(a.get("href", ""))
        if tag == "table":
            self.table = {"columns": (a.get("data-columns") or "").split(), "rows": []}
            self.section["tables"].append(self.table)
        if tag == "tr" and self.table is not None:
            self.row = []
        if tag == "td" and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        if tag == "tr" and self.row is not None and self.table is not None:
            if self.row:
                self.table["rows"].append(self.row)
            self.row = None
        if tag == "table":
            self.table = None
        if tag == "section":
            self.section = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        (self.section["text"] if self.section is not None else self.text).append(data)


def number(text: str) -> float | None:
    """A cell's text as a number: '1,049' -> 1049, '70.3%' -> 70.3, '' -> None."""
    text = text.replace(",", "").rstrip("%").strip()
    return None if text == "" else float(text)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    settings, outcome = generated_release(tmp_path_factory)
    path = Path(outcome["report"]["report"])
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    con = duckdb.connect(str(settings.current_link / "marts.duckdb"), read_only=True)
    yield settings, path, page, con
    con.close()


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def table(page: Page, figure: str, first_column: str) -> dict:
    for t in page.sections[figure]["tables"]:
        if t["columns"] and t["columns"][0] == first_column:
            return t
    raise AssertionError(f"{figure} has no table starting with {first_column}")


def test_every_figure_is_there_with_its_chart_table_and_files(report):
    _settings, path, page, _con = report
    assert list(page.sections) == FIGURES
    for figure in FIGURES[:-1]:
        section = page.sections[figure]
        assert section["svg"] == 1, figure
        assert section["tables"] and all(t["rows"] for t in section["tables"]), figure
        for ext in ("svg", "png"):
            assert f"figures/{figure}.{ext}" in section["links"], figure
            file = path.parent / "figures" / f"{figure}.{ext}"
            assert file.stat().st_size > 1000, file
        ET.parse(path.parent / "figures" / f"{figure}.svg")  # well-formed SVG
        width, height = png_size(path.parent / "figures" / f"{figure}.png")
        assert width >= 1200 and height >= 400, (figure, width, height)


def test_the_per_year_tables_equal_the_marts(report):
    _settings, _path, page, con = report
    checks = [
        ("origin", "origin_by_year", "recovery_year"),
        ("firearm_types", "firearm_types_by_year", "recovery_year"),
        ("seizures", "seizures_by_year", "seizure_year"),
        ("purchaser", "purchaser_determination_by_year", "recovery_year"),
        ("multiple_sales", "multiple_sale_recoveries_by_year", "report_year"),
    ]
    for figure, mart, key in checks:
        shown = table(page, figure, key)
        columns = shown["columns"]
        expected = rows(con, f"select {', '.join(columns)} from {mart} order by {key}")
        per_year = [r for r in shown["rows"] if "-" not in r[0]]
        assert len(per_year) == len(expected), figure
        for got, want in zip(per_year, expected, strict=True):
            assert re.fullmatch(r"\d{4}", got[0]), (figure, got[0])  # 2009, never 2,009
            assert [number(c) for c in got] == [None if v is None else float(v) for v in want], (
                figure,
                got,
                want,
            )


def test_the_gao_period_and_derived_numbers_equal_the_marts(report):
    _settings, _path, page, con = report
    # origin: the 2009-2014 row
    total = table(page, "origin", "recovery_year")["rows"][-1]
    assert total[0] == "2009-2014"
    want = rows(
        con,
        "select sum(n_traced), sum(n_us_manufactured), sum(n_us_imported), "
        "sum(n_third_country), sum(n_undetermined), "
        "round(100.0 * sum(n_us_sourced) / sum(n_traced), 1) "
        "from origin_by_year where recovery_year between 2009 and 2014",
    )[0]
    assert [number(c) for c in total[1:7]] == [float(v) for v in want]
    # ATF's published counts beside this release's
    atf = page.sections["origin"]["tables"][1]
    assert [(int(number(r[0])), r[1], number(r[2]), number(r[4])) for r in atf["rows"]] == [
        (y, s, float(a), float(n))
        for y, s, a, n in rows(
            con,
            "select recovery_year, atf_release, atf_n_traced, n_traced "
            "from atf_published_by_year order by recovery_year, atf_release",
        )
    ]
    # source states: every state and DC ranked, with the marts' counts
    states = [r for t in page.sections["source_states"]["tables"] for r in t["rows"]]
    want_states = rows(
        con,
        "select source_state, n_us_sourced from source_states_gao_period "
        "where dealer_status = 'located' and is_state_or_dc",
    )
    assert len(want_states) == 51
    shown = {r[1]: number(r[2]) for r in states}
    assert {s: float(n) for s, n in want_states} == {s: shown.get(s) for s, _ in want_states}
    border = rows(
        con,
        "select round(100.0 * sum(n_us_sourced) filter (where is_southwest_border) "
        "/ sum(n_us_sourced), 1) from source_states_gao_period where dealer_status = 'located'",
    )[0][0]
    assert f"({border:.1f} percent)" in "".join(page.sections["source_states"]["text"])
    # purchaser: the reasons over the GAO period
    reasons = table(page, "purchaser", "reason")["rows"]
    want_reasons = rows(
        con,
        "select sum(n_undetermined_incomplete_request), sum(n_undetermined_altered_serial), "
        "sum(n_undetermined_no_dealer_response), "
        "sum(n_undetermined_out_of_business_records_missing), sum(n_undetermined_too_old), "
        "sum(n_undetermined_other) from purchaser_determination_by_year where is_gao_period",
    )[0]
    assert [number(r[1]) for r in reasons] == [float(v) for v in want_reasons]
    # time-to-crime: the six buckets over the GAO period
    buckets = table(page, "time_to_crime", "bucket")["rows"]
    want_buckets = rows(
        con,
        "select sum(n_under_3_months), sum(n_3_to_7_months), sum(n_7_months_to_1_year), "
        "sum(n_1_to_2_years), sum(n_2_to_3_years), sum(n_3_years_and_over), "
        "sum(n_with_time_to_crime) from time_to_crime_by_source_state where is_gao_period",
    )[0]
    assert [number(r[1]) for r in buckets] == [float(v) for v in want_buckets]
    # licensees: border states against the nation per snapshot
    lic = table(page, "licensees", "snapshot_month")["rows"]
    want_lic = rows(
        con,
        "select strftime(snapshot_month, '%Y-%m'), n_dealers_and_pawnbrokers, "
        "n_southwest_border from licensees_by_month order by snapshot_month",
    )
    assert [(r[0], number(r[4]), number(r[5])) for r in lic] == [
        (m, float(a), float(b)) for m, a, b in want_lic
    ]
    # GAO's figures against the release
    gao = table(page, "gao_16_223_reproduction", "figure")["rows"]
    assert len(gao) == rows(con, "select count(*) from gao_16_223_reproduction")[0][0]


def test_each_figure_names_its_release_and_validation_with_a_link(report):
    settings, path, page, _con = report
    release = settings.current_link.resolve().name
    for figure in FIGURES:
        text = " ".join("".join(page.sections[figure]["text"]).split())
        assert f"release {release}" in text, figure
        assert "validation publish" in text and "0 blocking" in text, (figure, text[-300:])
        hrefs = [h for h in page.sections[figure]["links"] if h.endswith("validation.html")]
        assert hrefs, figure
        assert (path.parent / hrefs[0]).resolve().is_file(), hrefs[0]
    docs = [h for h in page.links if h.endswith("docs/index.html")]
    assert docs and (path.parent / docs[0]).resolve().is_file()


def test_the_page_says_it_is_a_small_sample(report):
    _settings, _path, page, _con = report
    text = " ".join("".join(page.text).split())
    assert f"small generated sample (tracepipe generate, scale {SCALE:g}" in text
    assert "not meant to match GAO's" in text


def test_the_page_forbids_every_load_from_outside(report):
    _settings, _path, page, _con = report
    csp = [m["content"] for m in page.meta if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_it_renders_in_chromium_offline_at_1400px(report, tmp_path):
    _settings, path, _page, _con = report
    # The detector sees a page that does reach out (so its silence below means something).
    control = tmp_path / "control.html"
    control.write_text(
        "<!doctype html><title>control</title>"
        "<img src='http://tracepipe-control.invalid/x.png'>"
        "<script>console.error('control error')</script>",
        encoding="utf-8",
    )
    seen = render(control.as_uri(), tmp_path / "control.png", tmp_path / "control-run")
    assert any("tracepipe-control.invalid" in u for u in seen.requests), seen.requests
    assert any("control error" in line for line in seen.console)

    shot = path.parent / "figures-1400.png"
    rendered = render(path.as_uri(), shot, tmp_path / "run", width=1400, height=2400)
    assert rendered.console == []
    assert rendered.requests == []
    assert "Firearms recovered in Mexico and traced" in rendered.dom
    assert rendered.dom.count("<svg") >= len(FIGURES) - 1
    assert png_size(shot) == (1400, 2400)


def test_a_second_report_copies_the_charts_whose_data_is_unchanged_and_draws_the_others(
    report, tmp_path, monkeypatch
):
    """A report of the same release draws no chart again: each SVG and PNG is copied from
    the last report's, byte for byte the same as drawn; a chart whose data changed is
    drawn; the cache keeps only the charts of the last report."""
    import shutil

    from matplotlib.figure import Figure

    from pipelines.report import build

    settings, path, _page, _con = report
    release = settings.current_link.resolve()
    drawn: list[str] = []
    real_savefig = Figure.savefig

    def savefig(self, target, *args, **kwargs):
        drawn.append(kwargs.get("format") or Path(target).name)
        return real_savefig(self, target, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    cache = tmp_path / "cache"
    charts = FIGURES[:-1]
    build(release, tmp_path / "first", "first", chart_cache=cache)
    assert sorted(drawn) == sorted([f"{f}.png" for f in charts] + ["svg"] * len(charts))
    drawn.clear()
    build(release, tmp_path / "second", "second", chart_cache=cache)
    assert drawn == []
    for figure in charts:
        for ext in ("png", "svg"):
            chart = f"figures/{figure}.{ext}"
            again = (tmp_path / "second" / chart).read_bytes()
            assert again == (tmp_path / "first" / chart).read_bytes()
            assert again == (path.parent / chart).read_bytes()
    first_page = (tmp_path / "first" / "figures.html").read_text()
    second_page = (tmp_path / "second" / "figures.html").read_text()
    assert first_page.count("<svg") == second_page.count("<svg") == len(charts)
    assert sorted(p.suffix for p in cache.iterdir()) == [".png"] * len(charts) + [".svg"] * len(
        charts
    )

    # one mart changes (a count of seizures): its chart alone is drawn, the cache follows
    changed = tmp_path / "changed"
    shutil.copytree(release, changed)
    con = duckdb.connect(str(changed / "marts.duckdb"))
    try:
        con.execute(
            "update seizures_by_year set n_long = n_long + 1 "
            "where seizure_year = (select min(seizure_year) from seizures_by_year)"
        )
    finally:
        con.close()
    build(changed, tmp_path / "third", "third", chart_cache=cache)
    assert sorted(drawn) == ["seizures.png", "svg"]
    assert len(list(cache.iterdir())) == 2 * len(charts)
    assert (tmp_path / "third" / "figures" / "seizures.svg").read_bytes() != (
        tmp_path / "second" / "figures" / "seizures.svg"
    ).read_bytes()
