"""The figures of the report: the questions of GAO-16-223 and of ATF's Mexico trace
releases, each drawn from the published marts, with the numbers it shows as a table.

A figure is a chart (``charts``) and a table of the same numbers. Every value in a table
keeps its raw value (``Cell.value``), so a test can compare the page with the marts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.report import charts
from pipelines.report.charts import COLOURS, REASON_COLOURS

BORDER_STATES = ("AZ", "CA", "NM", "TX")


@dataclass
class Cell:
    text: str
    value: object = None
    numeric: bool = True


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]]
    caption: str = ""
    names: list[str] = field(default_factory=list)  # machine names of the columns
    wide: bool = False  # many rows: flow the table in columns on wide screens
    total_last: bool = False  # the last row is a total


@dataclass
class Figure:
    id: str
    title: str
    question: str
    marts: list[str]
    svg: str = ""
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # the chart as SVG and PNG, relative


# --- formatting -------------------------------------------------------------------------


def count(value) -> Cell:
    return Cell("" if value is None else f"{int(value):,}", value)


def pct(value, decimals: int = 1) -> Cell:
    return Cell("" if value is None else f"{float(value):.{decimals}f}%", value)


def year(value) -> Cell:
    return Cell("" if value is None else str(int(value)), value)


def text(value) -> Cell:
    return Cell("" if value is None else str(value), value, numeric=False)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    values = cursor.fetchall()
    charts.shown((sql, names, values))
    return [dict(zip(names, r, strict=True)) for r in values]


def _share(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


# --- the figures ------------------------------------------------------------------------


def origin(con, out: Path) -> Figure:
    fig = Figure(
        "origin",
        "Where the firearms recovered in Mexico and traced were made",
        "Were the firearms recovered in Mexico made in or imported through the United States? "
        "(GAO-16-223: 70 percent US-sourced, 17 third country, 13 undetermined, 2009-2014)",
        ["origin_by_year", "atf_published_by_year"],
    )
    rows = _rows(con, "select * from origin_by_year order by recovery_year")
    atf = _rows(con, "select * from atf_published_by_year order by recovery_year, atf_release")
    years = [str(r["recovery_year"]) for r in rows]
    series = [
        ("US-manufactured", [r["n_us_manufactured"] for r in rows], COLOURS["us_manufactured"]),
        ("US-imported", [r["n_us_imported"] for r in rows], COLOURS["us_imported"]),
        ("Third country", [r["n_third_country"] for r in rows], COLOURS["third_country"]),
        ("Undetermined", [r["n_undetermined"] for r in rows], COLOURS["undetermined"]),
    ]
    figure, ax = charts.new_figure(9.0, 3.8)
    charts.stacked_bars(ax, years, series)
    ax.set_ylabel("firearms traced")
    ax.set_title("Origin by year of recovery, this release (bars) and ATF's published totals")
    releases = sorted({a["atf_release"] for a in atf})
    traced = {r["recovery_year"]: r["n_traced"] for r in rows}
    matched = [a for a in atf if a["recovery_year"] in traced]
    ratio = (
        sum(traced[a["recovery_year"]] for a in matched) / sum(a["atf_n_traced"] for a in matched)
        if matched
        else 1.0
    )
    # A small sample would vanish beside ATF's counts: ATF's go on their own axis then.
    atf_ax = ax.twinx() if not 0.25 <= ratio <= 4 else ax
    if atf_ax is not ax:
        atf_ax.yaxis.set_major_formatter(charts._THOUSANDS)
        atf_ax.set_ylabel("ATF's published count (right axis)")
        atf_ax.grid(False)
        atf_ax.spines["right"].set_visible(True)
        atf_ax.set_ylim(0, max(a["atf_n_traced"] for a in atf) * 1.15)
        fig.notes.append(
            f"This release holds {100 * ratio:.1f} percent of ATF's count for the same years, "
            "so ATF's totals are drawn against the right-hand axis: compare the shape, not "
            "the height."
        )
    index = {y: i for i, y in enumerate(years)}
    for marker, release in zip(("D", "o"), releases, strict=False):
        points = [
            (index[str(a["recovery_year"])], a["atf_n_traced"])
            for a in atf
            if a["atf_release"] == release and str(a["recovery_year"]) in index
        ]
        if points:
            atf_ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker=marker,
                linestyle=":",
                color=COLOURS["reference"],
                markersize=5,
                label=f"{release} (traced)",
            )
    handles, labels = ax.get_legend_handles_labels()
    if atf_ax is not ax:
        more = atf_ax.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0, -0.1), ncol=3, fontsize=8.5)
    fig.svg = charts.render(figure, out, fig.id)

    gao = [r for r in rows if r["is_gao_period"]]
    table_rows = [
        [
            year(r["recovery_year"]),
            count(r["n_traced"]),
            count(r["n_us_manufactured"]),
            count(r["n_us_imported"]),
            count(r["n_third_country"]),
            count(r["n_undetermined"]),
            pct(r["pct_us_sourced"]),
            pct(r["pct_third_country"]),
            pct(r["pct_undetermined"]),
        ]
        for r in rows
    ]
    if gao:
        total = {
            k: sum(r[k] for r in gao)
            for k in (
                "n_traced",
                "n_us_manufactured",
                "n_us_imported",
                "n_us_sourced",
                "n_third_country",
                "n_undetermined",
            )
        }
        first, last = gao[0]["recovery_year"], gao[-1]["recovery_year"]
        table_rows.append(
            [
                text(f"{first}-{last}"),
                count(total["n_traced"]),
                count(total["n_us_manufactured"]),
                count(total["n_us_imported"]),
                count(total["n_third_country"]),
                count(total["n_undetermined"]),
                pct(_share(total["n_us_sourced"], total["n_traced"])),
                pct(_share(total["n_third_country"], total["n_traced"])),
                pct(_share(total["n_undetermined"], total["n_traced"])),
            ]
        )
    fig.tables.append(
        Table(
            [
                "Year",
                "Traced",
                "US-manufactured",
                "US-imported",
                "Third country",
                "Undetermined",
                "US-sourced %",
                "Third country %",
                "Undetermined %",
            ],
            table_rows,
            "Firearms recovered in Mexico and traced, one per firearm (repeat requests left out); "
            "the last row is GAO-16-223's period.",
            [
                "recovery_year",
                "n_traced",
                "n_us_manufactured",
                "n_us_imported",
                "n_third_country",
                "n_undetermined",
                "pct_us_sourced",
                "pct_third_country",
                "pct_undetermined",
            ],
            total_last=bool(gao),
        )
    )
    fig.tables.append(
        Table(
            [
                "Year",
                "ATF release",
                "ATF: traced",
                "ATF: US-sourced",
                "This release: traced",
                "This release: US-sourced",
                "This release as % of ATF",
            ],
            [
                [
                    year(a["recovery_year"]),
                    text(a["atf_release"]),
                    count(a["atf_n_traced"]),
                    count(a["atf_n_us_sourced"]),
                    count(a["n_traced"]),
                    count(a["n_us_sourced"]),
                    pct(a["pct_of_atf_n_traced"]),
                ]
                for a in atf
            ],
            "ATF's own published counts (two releases of different dates: a year's count grows "
            "as late traces arrive).",
            [
                "recovery_year",
                "atf_release",
                "atf_n_traced",
                "atf_n_us_sourced",
                "n_traced",
                "n_us_sourced",
                "pct_of_atf_n_traced",
            ],
        )
    )
    return fig


def firearm_types(con, out: Path) -> Figure:
    fig = Figure(
        "firearm_types",
        "Long guns and short guns recovered in Mexico and traced",
        "What kinds of firearms were recovered? (GAO-16-223, 2009-2014: 49,566 long guns, "
        "53,156 short guns, 2,128 neither)",
        ["firearm_types_by_year"],
    )
    rows = _rows(con, "select * from firearm_types_by_year order by recovery_year")
    figure, ax = charts.new_figure()
    charts.stacked_bars(
        ax,
        [str(r["recovery_year"]) for r in rows],
        [
            (
                "Long guns (rifles, shotguns, machine guns)",
                [r["n_long"] for r in rows],
                COLOURS["long"],
            ),
            (
                "Short guns (pistols, revolvers, derringers)",
                [r["n_short"] for r in rows],
                COLOURS["short"],
            ),
            ("Other or unknown", [r["n_other"] for r in rows], COLOURS["other"]),
        ],
    )
    ax.set_ylabel("firearms traced")
    ax.set_title("By year of recovery")
    charts.legend_outside(ax, 3)
    fig.svg = charts.render(figure, out, fig.id)
    fig.tables.append(
        Table(
            [
                "Year",
                "Traced",
                "Long guns",
                "Short guns",
                "Other",
                "Rifles",
                "Shotguns",
                "Pistols",
                "Revolvers",
                "Long %",
                "Short %",
            ],
            [
                [
                    year(r["recovery_year"]),
                    count(r["n_traced"]),
                    count(r["n_long"]),
                    count(r["n_short"]),
                    count(r["n_other"]),
                    count(r["n_rifle"]),
                    count(r["n_shotgun"]),
                    count(r["n_pistol"]),
                    count(r["n_revolver"]),
                    pct(r["pct_long"]),
                    pct(r["pct_short"]),
                ]
                for r in rows
            ],
            "Firearms recovered in Mexico and traced, by type.",
            [
                "recovery_year",
                "n_traced",
                "n_long",
                "n_short",
                "n_other",
                "n_rifle",
                "n_shotgun",
                "n_pistol",
                "n_revolver",
                "pct_long",
                "pct_short",
            ],
        )
    )
    return fig


def seizures(con, out: Path) -> Figure:
    fig = Figure(
        "seizures",
        "Southbound seizures: firearms seized in the United States on their way to Mexico",
        "How many firearms bound for Mexico were seized, and what kinds? (GAO-16-223, "
        "2009-2014: 5,951 seized; 2,341 long guns, 3,610 short guns)",
        ["seizures_by_year"],
    )
    rows = _rows(con, "select * from seizures_by_year order by seizure_year")
    figure, ax = charts.new_figure()
    charts.stacked_bars(
        ax,
        [str(r["seizure_year"]) for r in rows],
        [
            ("Long guns", [r["n_long"] for r in rows], COLOURS["long"]),
            ("Short guns", [r["n_short"] for r in rows], COLOURS["short"]),
            ("Other or unknown", [r["n_other"] for r in rows], COLOURS["other"]),
        ],
    )
    ax.set_ylabel("firearms seized")
    ax.set_title("By year of seizure and type")
    charts.legend_outside(ax, 3)
    fig.svg = charts.render(figure, out, fig.id)
    fig.tables.append(
        Table(
            [
                "Year",
                "Seized",
                "Long guns",
                "Short guns",
                "Other",
                "ICE-HSI",
                "CBP",
                "Other agency",
                "Cases",
            ],
            [
                [
                    year(r["seizure_year"]),
                    count(r["n_seized"]),
                    count(r["n_long"]),
                    count(r["n_short"]),
                    count(r["n_other"]),
                    count(r["n_ice_hsi"]),
                    count(r["n_cbp"]),
                    count(r["n_other_agency"]),
                    count(r["n_cases"]),
                ]
                for r in rows
            ],
            "Firearms bound for Mexico seized in the United States, one per seizure.",
            [
                "seizure_year",
                "n_seized",
                "n_long",
                "n_short",
                "n_other",
                "n_ice_hsi",
                "n_cbp",
                "n_other_agency",
                "n_cases",
            ],
        )
    )
    return fig


def source_states(con, out: Path) -> Figure:
    fig = Figure(
        "source_states",
        "Source states: where the first retail dealer of US-sourced firearms was",
        "Which US states were the US-sourced firearms first sold in? (GAO-16-223, 2009-2014: "
        "Texas 41 percent, California 19, Arizona 15 of those with a known dealer state)",
        ["source_states_gao_period"],
    )
    rows = _rows(
        con,
        "select * from source_states_gao_period where dealer_status = 'located' "
        "order by n_us_sourced desc, source_state",
    )
    other = _rows(
        con,
        "select dealer_status, n_us_sourced, pct_of_us_sourced from source_states_gao_period "
        "where dealer_status <> 'located' order by dealer_status",
    )
    period = rows[0]["period"] if rows else ""
    located = sum(r["n_us_sourced"] for r in rows)
    border = sum(r["n_us_sourced"] for r in rows if r["source_state"] in BORDER_STATES)
    border_share = _share(border, located)
    height = max(3.0, 0.16 * len(rows) + 1.2)
    figure, ax = charts.new_figure(9.0, height)
    charts.ranked_bars(
        ax,
        [f"{r['source_state']}  {r['source_state_name'] or ''}" for r in rows],
        [r["n_us_sourced"] for r in rows],
        [COLOURS["border"] if r["is_southwest_border"] else COLOURS["nation"] for r in rows],
        [f"{r['n_us_sourced']:,}  ({r['pct_of_located'] or 0:.1f}%)" for r in rows],
    )
    ax.set_xlabel("US-sourced firearms recovered in Mexico")
    ax.set_title(
        f"Every state ranked, {period}. Border states (orange: AZ, CA, NM, TX): "
        f"{border_share or 0:.1f}% of firearms with a known dealer state",
        loc="left",
        fontsize=9.5,
    )
    fig.svg = charts.render(figure, out, fig.id)
    fig.notes.append(
        f"Border states AZ, CA, NM and TX together: {border:,} of {located:,} firearms whose "
        f"dealer's state is known ({border_share or 0:.1f} percent)."
    )
    for o in other:
        label = {
            "dealer_not_in_listing": "dealer's license in no listing",
            "no_dealer": "no dealer identified",
        }.get(o["dealer_status"], o["dealer_status"])
        fig.notes.append(
            f"Not in the ranking: {o['n_us_sourced']:,} US-sourced firearms with {label} "
            f"({o['pct_of_us_sourced'] or 0:.1f} percent of all US-sourced)."
        )
    fig.tables.append(
        Table(
            ["Rank", "State", "Firearms", "Share", "Border"],
            [
                [
                    count(r["rank_by_firearms"]),
                    text(r["source_state"]),
                    count(r["n_us_sourced"]),
                    pct(r["pct_of_located"], 2),
                    text("yes" if r["is_southwest_border"] else ""),
                ]
                for r in rows
            ],
            f"US-sourced firearms recovered in Mexico, {period}, by the state of the first retail "
            "dealer (from the licensee listing valid at the purchase date).",
            [
                "rank_by_firearms",
                "source_state",
                "n_us_sourced",
                "pct_of_located",
                "is_southwest_border",
            ],
            wide=True,
        )
    )
    return fig


REASONS = (
    ("n_undetermined_incomplete_request", "Incomplete request"),
    ("n_undetermined_altered_serial", "Altered or obliterated serial"),
    ("n_undetermined_no_dealer_response", "No response from the dealer"),
    ("n_undetermined_out_of_business_records_missing", "Out-of-business dealer, records missing"),
    ("n_undetermined_too_old", "Too old to trace"),
    ("n_undetermined_other", "Other reason"),
)


def purchaser(con, out: Path) -> Figure:
    fig = Figure(
        "purchaser",
        "Purchaser determination: was the first retail purchaser found?",
        "For US-sourced firearms, could the trace find the first retail purchaser, and why not? "
        "(GAO-16-223, 2009-2014: 45 percent determined, 53 undetermined)",
        ["purchaser_determination_by_year"],
    )
    rows = _rows(con, "select * from purchaser_determination_by_year order by recovery_year")
    figure, ax = charts.new_figure(9.0, 4.0)
    series = [("Determined", [r["n_determined"] for r in rows], COLOURS["determined"])]
    series += [
        (f"Undetermined: {label.lower()}", [r[key] for r in rows], colour)
        for (key, label), colour in zip(REASONS, REASON_COLOURS, strict=True)
    ]
    series.append(("Pending", [r["n_pending"] for r in rows], COLOURS["pending"]))
    charts.stacked_bars(ax, [str(r["recovery_year"]) for r in rows], series)
    ax.set_ylabel("US-sourced firearms")
    ax.set_title("By year of recovery: determined, undetermined by reason, pending")
    charts.legend_outside(ax, 2)
    fig.svg = charts.render(figure, out, fig.id)
    fig.tables.append(
        Table(
            [
                "Year",
                "US-sourced",
                "Determined",
                "Undetermined",
                "Pending",
                "Determined %",
                "Undetermined %",
            ],
            [
                [
                    year(r["recovery_year"]),
                    count(r["n_us_sourced"]),
                    count(r["n_determined"]),
                    count(r["n_undetermined"]),
                    count(r["n_pending"]),
                    pct(r["pct_determined"]),
                    pct(r["pct_undetermined"]),
                ]
                for r in rows
            ],
            "US-sourced firearms recovered in Mexico and traced.",
            [
                "recovery_year",
                "n_us_sourced",
                "n_determined",
                "n_undetermined",
                "n_pending",
                "pct_determined",
                "pct_undetermined",
            ],
        )
    )
    gao = [r for r in rows if r["is_gao_period"]]
    undetermined = sum(r["n_undetermined"] for r in gao)
    fig.tables.append(
        Table(
            ["Why the purchaser went undetermined", "Firearms", "% of undetermined"],
            [
                [
                    text(label),
                    count(sum(r[key] for r in gao)),
                    pct(_share(sum(r[key] for r in gao), undetermined)),
                ]
                for key, label in REASONS
            ],
            "Reasons, summed over GAO-16-223's period (2009-2014).",
            ["reason", "n", "pct"],
        )
    )
    return fig


BUCKETS = (
    ("n_under_3_months", "Under 3 months"),
    ("n_3_to_7_months", "3 to under 7 months"),
    ("n_7_months_to_1_year", "7 months to under 1 year"),
    ("n_1_to_2_years", "1 to under 2 years"),
    ("n_2_to_3_years", "2 to under 3 years"),
    ("n_3_years_and_over", "3 years and over"),
)
TICKS = (
    "Under\n3 months",
    "3 to under\n7 months",
    "7 months to\nunder 1 year",
    "1 to under\n2 years",
    "2 to under\n3 years",
    "3 years\nand over",
)


def time_to_crime(con, out: Path) -> Figure:
    fig = Figure(
        "time_to_crime",
        "Time-to-crime: from the first retail sale to the recovery in Mexico",
        "How long after their first retail sale were the firearms recovered? (ATF's "
        "time-to-crime buckets, firearms with a purchase date, 2009-2014)",
        ["time_to_crime_by_source_state"],
    )
    sums = ", ".join(f"sum({k})::bigint as {k}" for k, _ in BUCKETS)
    rows = _rows(
        con,
        f"select is_southwest_border, {sums}, sum(n_with_time_to_crime)::bigint as n, "
        "sum(total_time_to_crime_days)::bigint as days from time_to_crime_by_source_state "
        "where is_gao_period group by is_southwest_border order by is_southwest_border",
    )
    border = next((r for r in rows if r["is_southwest_border"]), None)
    rest = next((r for r in rows if not r["is_southwest_border"]), None)
    total = {k: sum(r[k] or 0 for r in rows) for k in [*(k for k, _ in BUCKETS), "n", "days"]}
    figure, ax = charts.new_figure(9.0, 3.4)
    labels = [label for _, label in BUCKETS]
    width = 0.38
    for offset, part, name, colour in (
        (-width / 2, border, "Dealer in a border state (AZ, CA, NM, TX)", COLOURS["border"]),
        (width / 2, rest, "Dealer elsewhere, in no listing, or none", COLOURS["nation"]),
    ):
        values = [(part or {}).get(k) or 0 for k, _ in BUCKETS]
        bars = ax.bar(
            [i + offset for i in range(len(labels))], values, width, label=name, color=colour
        )
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=7.5, padding=2)
    ax.set_xticks(range(len(labels)), TICKS)
    ax.set_ylabel("firearms")
    ax.set_title("Recovered 2009-2014, by time from purchase to recovery")
    charts.legend_outside(ax, 2)
    fig.svg = charts.render(figure, out, fig.id)
    n = total["n"]
    fig.tables.append(
        Table(
            ["Time-to-crime", "Firearms", "% of firearms", "Border-state dealer", "Elsewhere"],
            [
                [
                    text(label),
                    count(total[k]),
                    pct(_share(total[k], n)),
                    count((border or {}).get(k) or 0),
                    count((rest or {}).get(k) or 0),
                ]
                for k, label in BUCKETS
            ]
            + [
                [
                    text("All with a purchase date"),
                    count(n),
                    pct(100.0 if n else None),
                    count((border or {}).get("n") or 0),
                    count((rest or {}).get("n") or 0),
                ]
            ],
            "Firearms recovered in Mexico in 2009-2014 with a purchase date.",
            ["bucket", "n", "pct", "n_border", "n_elsewhere"],
            total_last=True,
        )
    )
    if n:
        fig.notes.append(f"Average time-to-crime: {total['days'] / n / 365.25:.1f} years.")
    return fig


def multiple_sales(con, out: Path) -> Figure:
    fig = Figure(
        "multiple_sales",
        "Multiple sales: Demand Letter 3 rifles later recovered and traced",
        "How many rifles reported in multiple sales by border-state dealers (Demand Letter 3) "
        "were later recovered, and where? (GAO-16-223, 2011-2014: 490 recovered; 259 in the "
        "US, 209 in Mexico, 22 undetermined)",
        ["multiple_sale_recoveries_by_year"],
    )
    rows = _rows(con, "select * from multiple_sale_recoveries_by_year order by report_year")
    figure, ax = charts.new_figure(9.0, 3.4)
    charts.stacked_bars(
        ax,
        [str(r["report_year"]) for r in rows],
        [
            (
                "Recovered in the United States",
                [r["n_recovered_in_us"] for r in rows],
                COLOURS["us"],
            ),
            ("Recovered in Mexico", [r["n_recovered_in_mexico"] for r in rows], COLOURS["mexico"]),
            (
                "Recovered, country undetermined",
                [r["n_recovery_undetermined"] for r in rows],
                COLOURS["undetermined"],
            ),
            (
                "Recovered elsewhere",
                [r["n_recovered_in_other_country"] for r in rows],
                COLOURS["other_country"],
            ),
        ],
    )
    ax.set_ylabel("rifles recovered")
    ax.set_title("By year of the rifle's first report")
    charts.legend_outside(ax, 2)
    fig.svg = charts.render(figure, out, fig.id)
    fig.tables.append(
        Table(
            [
                "Report year",
                "Rifles reported",
                "Recovered",
                "In the US",
                "In Mexico",
                "Undetermined",
                "Elsewhere",
                "Recovered %",
            ],
            [
                [
                    year(r["report_year"]),
                    count(r["n_rifles_reported"]),
                    count(r["n_recovered"]),
                    count(r["n_recovered_in_us"]),
                    count(r["n_recovered_in_mexico"]),
                    count(r["n_recovery_undetermined"]),
                    count(r["n_recovered_in_other_country"]),
                    pct(r["pct_recovered"], 2),
                ]
                for r in rows
            ],
            "Rifles reported under Demand Letter 3, one per manufacturer and serial number.",
            [
                "report_year",
                "n_rifles_reported",
                "n_recovered",
                "n_recovered_in_us",
                "n_recovered_in_mexico",
                "n_recovery_undetermined",
                "n_recovered_in_other_country",
                "pct_recovered",
            ],
        )
    )
    return fig


def licensees(con, out: Path) -> Figure:
    fig = Figure(
        "licensees",
        "Dealers and pawnbrokers in the southwest border states and the nation",
        "How many gun dealers and pawnbrokers operate in the four border states, against the "
        "nation? (GAO-16-223, fiscal year 2014: 10,134 of 63,311)",
        ["licensees_by_month"],
    )
    rows = _rows(con, "select * from licensees_by_month order by snapshot_month")
    labels = [
        f"{r['snapshot_month']:%b %Y}"
        + (f"\nFY{r['fiscal_year']}" if r["is_fiscal_year_end"] else "")
        for r in rows
    ]
    figure, ax = charts.new_figure(9.0, 3.4)
    charts.stacked_bars(
        ax,
        labels,
        [
            (
                "Border states (AZ, CA, NM, TX)",
                [r["n_southwest_border"] for r in rows],
                COLOURS["border"],
            ),
            (
                "Rest of the nation",
                [r["n_dealers_and_pawnbrokers"] - r["n_southwest_border"] for r in rows],
                COLOURS["nation"],
            ),
        ],
    )
    for i, r in enumerate(rows):
        ax.annotate(
            f"{r['pct_southwest_border']:.1f}%",
            (i, r["n_southwest_border"] / 2),
            ha="center",
            va="center",
            fontsize=7.5,
            color="white",
        )
    ax.set_ylabel("licenses (types 01, 02)")
    ax.set_title("Per listing snapshot; the label in orange bars is the border share")
    charts.legend_outside(ax, 2)
    fig.svg = charts.render(figure, out, fig.id)
    fig.tables.append(
        Table(
            [
                "Listing",
                "Fiscal year",
                "Dealers",
                "Pawnbrokers",
                "Dealers and pawnbrokers",
                "In border states",
                "Border share",
            ],
            [
                [
                    text(f"{r['snapshot_month']:%Y-%m}"),
                    year(r["fiscal_year"]),
                    count(r["n_dealers"]),
                    count(r["n_pawnbrokers"]),
                    count(r["n_dealers_and_pawnbrokers"]),
                    count(r["n_southwest_border"]),
                    pct(r["pct_southwest_border"]),
                ]
                for r in rows
            ],
            "Dealers (license type 01) and pawnbrokers (02) in ATF's monthly listing; GAO counts "
            "the September listing of a fiscal year.",
            [
                "snapshot_month",
                "fiscal_year",
                "n_dealers",
                "n_pawnbrokers",
                "n_dealers_and_pawnbrokers",
                "n_southwest_border",
                "pct_southwest_border",
            ],
        )
    )
    return fig


FIGURES: tuple[Callable[[duckdb.DuckDBPyConnection, Path], Figure], ...] = (
    origin,
    firearm_types,
    seizures,
    source_states,
    purchaser,
    time_to_crime,
    multiple_sales,
    licensees,
)


def reproduction(con) -> Table | None:
    rows = _rows(
        con,
        "select figure, measure, period, unit, reference_value, computed_value, "
        "computed_value_compared, is_match from gao_16_223_reproduction order by figure, measure",
    )
    if not rows:
        return None
    return Table(
        [
            "Figure",
            "Measure",
            "Period",
            "Unit",
            "GAO-16-223",
            "This release",
            "As compared",
            "Match",
        ],
        [
            [
                text(r["figure"].replace("_", " ")),
                text(r["measure"].replace("_", " ")),
                text(r["period"]),
                text(r["unit"]),
                count(r["reference_value"]),
                Cell(
                    ""
                    if r["computed_value"] is None
                    else f"{r['computed_value']:,.2f}".rstrip("0").rstrip("."),
                    r["computed_value"],
                ),
                count(r["computed_value_compared"]),
                text("yes" if r["is_match"] else "no"),
            ]
            for r in rows
        ],
        "Each published figure of GAO-16-223 (seed gao_16_223_figures) against the value "
        "computed from this release's marts; shares are compared after rounding to a whole "
        "percent.",
        [
            "figure",
            "measure",
            "period",
            "unit",
            "reference_value",
            "computed_value",
            "computed_value_compared",
            "is_match",
        ],
    )
