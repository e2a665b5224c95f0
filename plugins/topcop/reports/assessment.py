"""The regional assessment workbook: who reported, what the current figures say, what moved.

Built only from the warehouse's current views (``figures``), for one edition
(``handling``): the programme's own, or a public one with what may not be
published suppressed and the suppression said on every sheet it touches.
One function per sheet. Every value goes through ``cells.write_cell``, so
text from a return is never evaluated as a formula; openpyxl writes neither
macros nor external links. A build never replaces an earlier one: the file
name carries the edition and the build time, and the file appears under it
only once complete.
"""

from __future__ import annotations

import os
import secrets
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Engine

from topcop import config
from topcop.cells import write_cell
from topcop.periods import Period
from topcop.reports.changes import (
    MIN_RELATIVE_CHANGE,
    OUTLIER_FACTOR,
    biggest_changes,
    outliers,
    period_word,
    relative_change,
)
from topcop.reports.completeness import (
    CompletenessCell,
    Timeliness,
    completeness,
    timeliness_label,
)
from topcop.reports.figures import (
    Figure,
    RouteCount,
    SeizureTotal,
    StandingFinding,
    current_figures,
    latest_processed,
    seizure_routes,
    seizure_submissions,
    seizure_totals,
    standing_findings,
)
from topcop.reports.handling import SUPPRESSED, Audience, Disclosure, parse_audience
from topcop.reports.layout import (
    BOLD,
    ITALIC,
    bar_chart,
    charts_end,
    finish_sheet,
    fit_columns,
    header,
    heading,
    line_chart,
    number_block,
    place_charts,
    table,
    title_block,
)
from topcop.returns.model import INDICATORS_SHEET

_FILLS = {
    Timeliness.ON_TIME: PatternFill(fill_type="solid", fgColor="C6EFCE"),
    Timeliness.LATE: PatternFill(fill_type="solid", fgColor="FFEB9C"),
    Timeliness.MISSING: PatternFill(fill_type="solid", fgColor="FFC7CE"),
    Timeliness.DUE: PatternFill(fill_type="solid", fgColor="DDEBF7"),
    Timeliness.NOT_EXPECTED: PatternFill(fill_type="solid", fgColor="D9D9D9"),
}
_LEGEND = {
    Timeliness.ON_TIME: "accepted by the deadline",
    Timeliness.LATE: "accepted after the deadline (days after it)",
    Timeliness.MISSING: "nothing accepted and the deadline has passed",
    Timeliness.DUE: "nothing accepted yet, the deadline is still ahead",
    Timeliness.NOT_EXPECTED: "no return expected: the unit was not active at the period's start",
}
_RESTRICTED_FILL = PatternFill(fill_type="solid", fgColor="E4DFEC")
# Asked in the programme edition too, to shade what must not leave the programme.
_PUBLIC = Disclosure(Audience.PUBLIC)
_FLAGGED = {"P": "provisional", "E": "estimated"}
_CHANGE_FORMAT = "+0%;-0%;0%"
_TOP_ROUTES = 10
WITHHELD = "withheld in the public edition"

SHEET_OVERVIEW, SHEET_COMPLETENESS = "overview", "completeness"
SHEET_SEIZURES, SHEET_QUALITY = "seizures", "data quality"


@dataclass(frozen=True)
class Assessment:
    """What one build wrote, and from which submissions."""

    path: Path
    period: str
    audience: Audience
    periods: tuple[str, ...]
    built_at: datetime  # naive UTC
    data_as_of: datetime | None  # naive UTC: latest processing among the submissions used
    submissions: frozenset[str]


@dataclass(frozen=True)
class _Edition:
    disclosure: Disclosure
    running_title: str

    def notes(self, suppressed: int = 0, returns: set[tuple[str, str]] | None = None) -> list[str]:
        """The edition, and on a sheet that lost values to it, what and why."""
        notes = [self.disclosure.edition_note()]
        if self.disclosure.public and (suppressed or returns):
            text = (
                f"Suppressed on this sheet: {suppressed} value{'s' if suppressed != 1 else ''} "
                f"(shown as {SUPPRESSED}): {self.disclosure.suppression_reasons()}."
            )
            if returns:
                listed = ", ".join(f"{u} {p}" for u, p in sorted(returns, key=lambda x: x[::-1]))
                text += f" Returns with restricted handling: {listed}."
            notes.append(text)
        return notes


def build_assessment(
    engine: Engine,
    period: str,
    out_dir: Path,
    *,
    today: date,
    periods_back: int = 8,
    audience: Audience | str = Audience.PROGRAMME,
    built_at: datetime | None = None,
) -> Assessment:
    """Write the workbook for the ``periods_back`` periods ending at ``period`` into ``out_dir``.

    The name is ``eap_assessment_<period>_<audience>_<UTC build time>.xlsx``; an
    existing file is never replaced.
    """
    disclosure = Disclosure(parse_audience(audience))
    built_at = built_at or datetime.now(UTC)
    if built_at.tzinfo is not None:
        built_at = built_at.astimezone(UTC).replace(tzinfo=None)
    built_at = built_at.replace(microsecond=0)
    periods = report_periods(period, periods_back)
    period = periods[-1]
    year_earlier = Period.parse(period).year_earlier().code
    previous = Period.parse(period).previous().code

    figures = current_figures(
        engine, sorted({*periods, year_earlier}, key=Period.parse), disclosure
    )
    shown = [f for f in figures if f.period in periods]
    seizures = seizure_totals(engine, [previous, period], disclosure)
    routes = seizure_routes(engine, period, disclosure)
    cells = completeness(engine, periods, dataset="indicators", today=today)
    seizure_cells = completeness(engine, periods, dataset="seizures", today=today)
    current = {f.submission_id for f in shown} | seizure_submissions(engine, periods)
    findings = standing_findings(engine, current)
    used = (
        current
        | {f.submission_id for f in figures}
        | {s.submission_id for s in seizures}
        | {c.submission_id for c in cells + seizure_cells if c.submission_id}
    )
    data_as_of = latest_processed(engine, used)

    edition = _Edition(
        disclosure,
        f"EaP organised crime assessment {period}, {disclosure.audience.value} edition",
    )
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = edition.running_title
    wb.properties.creator = "topcop"
    _overview_sheet(
        wb,
        edition,
        periods=periods,
        built_at=built_at,
        data_as_of=data_as_of,
        returns_used=len(used),
        cells=[c for c in cells if c.period == period],
        changes=biggest_changes(figures, seizures, period),
        suppressed=sum(f.suppressed for f in shown)
        + sum(s.suppressed for s in seizures if s.period == period),
    )
    _completeness_sheet(wb, edition, periods, {"indicators": cells, "seizures": seizure_cells})
    for crime_area, area_figures in _by_crime_area(shown).items():
        _crime_area_sheet(wb, edition, crime_area, area_figures, figures, periods)
    _seizures_sheet(wb, edition, period, [s for s in seizures if s.period == period], routes)
    _quality_sheet(wb, edition, periods, shown, findings)
    for ws in wb.worksheets:
        finish_sheet(ws, edition.running_title)

    stamp = built_at.strftime("%Y%m%dT%H%M%SZ")
    name = f"eap_assessment_{period}_{disclosure.audience.value}_{stamp}"
    path = _save_new(wb, Path(out_dir), name)
    return Assessment(
        path=path,
        period=period,
        audience=disclosure.audience,
        periods=tuple(periods),
        built_at=built_at,
        data_as_of=data_as_of,
        submissions=frozenset(used),
    )


def report_periods(period: str, count: int) -> list[str]:
    """The ``count`` periods ending at ``period``, oldest first."""
    if count < 1:
        raise ValueError("a report covers at least one period")
    p = Period.parse(period)
    out = [p]
    while len(out) < count:
        p = p.previous()
        out.append(p)
    return [p.code for p in reversed(out)]


# --- sheets --------------------------------------------------------------------


def _overview_sheet(
    wb: Workbook,
    edition: _Edition,
    *,
    periods: list[str],
    built_at: datetime,
    data_as_of: datetime | None,
    returns_used: int,
    cells: list[CompletenessCell],
    changes: list[str],
    suppressed: int,
) -> None:
    ws = wb.create_sheet(SHEET_OVERVIEW)
    period = periods[-1]
    notes = [edition.disclosure.edition_note()]
    if edition.disclosure.public and suppressed:
        notes.append(
            f"{suppressed} values or seizure totals are suppressed in this edition; each sheet "
            "says what it withholds. The changes below compare published values only."
        )
    top = title_block(ws, f"Eastern Partnership organised crime assessment, {period}", notes)
    reporting = [c for c in cells if c.status in (Timeliness.ON_TIME, Timeliness.LATE)]
    rows = [
        ("Period", period),
        ("Edition", edition.disclosure.audience.value),
        ("Periods covered", f"{periods[0]} to {period}"),
        ("Built at (UTC)", built_at),
        ("Data as of (UTC, latest submission used)", data_as_of or "no data"),
        ("Submissions used", returns_used),
        ("Units expected", sum(c.expected for c in cells)),
        ("Units reporting", len(reporting)),
        ("of which on time", sum(c.status is Timeliness.ON_TIME for c in cells)),
        ("of which late", sum(c.status is Timeliness.LATE for c in cells)),
        ("Units missing", sum(c.status is Timeliness.MISSING for c in cells)),
        ("Units not yet due", sum(c.status is Timeliness.DUE for c in cells)),
        (
            "Figures",
            "current revision of each return; where a figure is empty its SDMX "
            "observation status is shown (O missing, L not collected, M cannot exist)",
        ),
    ]
    header(ws, top, ["Item", "Value"])
    r = top
    for r, (item, value) in enumerate(rows, start=top + 1):
        write_cell(ws, r, 1, item)
        cell = write_cell(ws, r, 2, value)
        if isinstance(value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
    fit_columns(ws, (top, r))

    told = r + 2
    heading(ws, told, f"Biggest changes on the previous {period_word(period)}")
    if not changes:
        changes = [
            f"No change of at least {MIN_RELATIVE_CHANGE:.0%} on a base large enough to matter."
        ]
    for n, sentence in enumerate(changes, start=told + 1):
        write_cell(ws, n, 1, sentence)


def _completeness_sheet(
    wb: Workbook, edition: _Edition, periods: list[str], grids: dict[str, list[CompletenessCell]]
) -> None:
    ws = wb.create_sheet(SHEET_COMPLETENESS)
    units = config.codelists().reporting_units
    top = title_block(
        ws, f"Completeness and timeliness, {periods[0]} to {periods[-1]}", edition.notes()
    )
    r, tables = top, []
    for n, (dataset, cells) in enumerate(grids.items()):
        heading(ws, r, f"Returns carrying {dataset}")
        tables.append((r + 1, r + 1 + len(units)))
        header(ws, r + 1, ["Reporting unit", "Name", *periods])
        if n == 0:
            ws.freeze_panes = f"C{r + 2}"
        rows = {code: row for row, code in enumerate(units, start=r + 2)}
        columns = {p: c for c, p in enumerate(periods, start=3)}
        for code, row in rows.items():
            write_cell(ws, row, 1, code)
            write_cell(ws, row, 2, units[code].name)
        for c in cells:
            cell = write_cell(ws, rows[c.reporting_unit], columns[c.period], c.label)
            cell.fill = _FILLS[c.status]
        r += len(rows) + 3
    # Widths from the grids alone: the legend's sentences may run across empty cells.
    fit_columns(ws, *tables)
    write_cell(ws, r, 1, "Legend").font = BOLD
    for status, meaning in _LEGEND.items():
        r += 1
        write_cell(ws, r, 1, timeliness_label(status, days_late=None)).fill = _FILLS[status]
        write_cell(ws, r, 2, meaning)


def _crime_area_sheet(
    wb: Workbook,
    edition: _Edition,
    crime_area: str,
    area_figures: list[Figure],
    all_figures: list[Figure],
    periods: list[str],
) -> None:
    lists = config.codelists()
    ws = wb.create_sheet(crime_area)
    period = Period.parse(periods[-1])
    previous, year_earlier = period.previous().code, period.year_earlier().code
    lookup = {
        (f.indicator, f.breakdown, f.reporting_unit, f.period): f
        for f in all_figures
        if f.crime_area == crime_area
    }
    table: dict[tuple[str, str | None, str], dict[str, Figure]] = defaultdict(dict)
    for f in area_figures:
        table[(f.indicator, f.breakdown, f.reporting_unit)][f.period] = f

    suppressed = sum(f.suppressed for f in area_figures)
    top = title_block(
        ws,
        f"{crime_area}: {lists.crime_areas.get(crime_area, crime_area)}",
        edition.notes(suppressed, _restricted_returns(edition, area_figures)),
    )
    header(
        ws,
        top,
        ["Indicator", "Indicator name", "Breakdown", "Country", "Unit", *periods,
         f"Change on previous period ({previous})", f"Change on a year earlier ({year_earlier})",
         f"Comment ({period.code})"],
    )  # fmt: skip
    first_period, change_column = 6, 6 + len(periods)
    r = top
    for r, key in enumerate(sorted(table, key=_series_order), start=top + 1):
        indicator, breakdown, unit_code = key
        known = lists.indicators.get(indicator)
        series = table[key]
        write_cell(ws, r, 1, indicator)
        write_cell(ws, r, 2, known.name if known else "")
        write_cell(ws, r, 3, breakdown or "total")
        write_cell(ws, r, 4, unit_code)
        write_cell(ws, r, 5, known.unit if known else next(iter(series.values())).unit)
        for c, p in enumerate(periods, start=first_period):
            if p in series:
                cell = _figure_cell(ws, r, c, series[p], whole=bool(known and known.whole_number))
                # Shaded in the programme edition only: in the public one the shading
                # would tell which of a withheld group's values was the confidential one.
                if not edition.disclosure.public and not _PUBLIC.value_publishable(
                    series[p].conf_status, series[p].handling_code
                ):
                    cell.fill = _RESTRICTED_FILL
        latest = series.get(period.code)
        for c, base_period in enumerate((previous, year_earlier), start=change_column):
            base = lookup.get((indicator, breakdown, unit_code, base_period))
            change = relative_change(
                latest.number if latest else None, base.number if base else None
            )
            if change is not None:
                write_cell(ws, r, c, change).number_format = _CHANGE_FORMAT
        if latest is not None and latest.comment_shown:
            write_cell(ws, r, change_column + 2, latest.comment_shown)
    fit_columns(ws, (top, r))
    ws.freeze_panes = ws.cell(top + 1, first_period).coordinate

    r += 2
    write_cell(
        ws,
        r,
        1,
        "Italic: provisional or estimated value. A letter instead of a number: the SDMX "
        "observation status (O missing, L not collected, M cannot exist). "
        + (
            f"{SUPPRESSED}: suppressed."
            if edition.disclosure.public
            else "Shaded: not for publication (its conf_status or its return's handling)."
        ),
    )
    _indicator_charts(ws, r + 2, crime_area, area_figures, periods)


def _figure_cell(ws: Worksheet, row: int, column: int, figure: Figure, *, whole: bool) -> Cell:
    cell = write_cell(ws, row, column, figure.shown)
    if figure.number is not None:
        cell.number_format = "#,##0" if whole else "#,##0.00"
        if figure.obs_status in _FLAGGED:
            cell.font = ITALIC
    return cell


def _indicator_charts(
    ws: Worksheet, top: int, crime_area: str, figures: list[Figure], periods: list[str]
) -> None:
    """A line chart per indicator: its published totals, one line per reporting unit."""
    lists = config.codelists()
    totals: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for f in figures:
        if f.breakdown is None and f.number is not None:
            totals[f.indicator][f.reporting_unit][f.period] = f.number
    indicators = sorted(totals, key=lambda i: _position(list(lists.indicators), i))
    if not indicators:
        return
    data_top = charts_end(top, len(indicators)) + 1
    heading(ws, data_top, "Chart data: published totals (numbers only)")
    charts, r = [], data_top + 1
    for indicator in indicators:
        by_unit = totals[indicator]
        units = sorted(by_unit, key=lambda u: _position(list(lists.reporting_units), u))
        block = number_block(
            ws, r, indicator, periods, [(u, [by_unit[u].get(p) for p in periods]) for u in units]
        )
        known = lists.indicators.get(indicator)
        charts.append(
            line_chart(
                block,
                f"{known.name if known else indicator} ({crime_area})",
                lists.units.get(known.unit, known.unit) if known else "",
            )
        )
        r = block.last_row + 2
    place_charts(ws, charts, top, "Charts: totals by reporting unit, published values")


def _seizures_sheet(
    wb: Workbook,
    edition: _Edition,
    period: str,
    seizures: list[SeizureTotal],
    routes: list[RouteCount],
) -> None:
    lists = config.codelists()
    ws = wb.create_sheet(SHEET_SEIZURES)
    restricted = {(s.reporting_unit, s.period) for s in seizures if s.suppressed}
    reporting = {s.reporting_unit for s in seizures}
    active = Period.parse(period).start
    units = [
        code
        for code, unit in lists.reporting_units.items()
        if unit.is_active_on(active) or code in reporting
    ]
    quantities: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    events: dict[tuple[str, str], int] = defaultdict(int)
    for s in seizures:
        if not s.suppressed:
            quantities[(s.commodity, s.unit)][s.reporting_unit] += s.quantity
            events[(s.commodity, s.unit)] += s.events
    # Only commodities some shown return seized: a row of its own would tell what a
    # withheld return seized.
    kinds = sorted(
        {(s.commodity, s.unit) for s in seizures if not s.suppressed},
        key=lambda k: (
            _position(list(lists.units), k[1]),
            _position(list(lists.commodities), k[0]),
        ),
    )
    suppressed_cells = len(kinds) * len({u for u, _p in restricted})
    legend = (
        "Empty: no seizures return for the period; 0: the return had none of this commodity."
        + (" Region totals and routes count published returns only." if restricted else "")
    )
    top = title_block(
        ws, f"Seizures, {period}", [*edition.notes(suppressed_cells, restricted), legend]
    )

    quantity_table = table(
        ws,
        top,
        f"Quantities seized by commodity and reporting unit, {period}",
        ["Commodity", "Name", "Unit", *units, "Region total", "Seizures"],
        [
            [commodity, lists.commodities[commodity].name if commodity in lists.commodities
             else "", measure,
             *(_seizure_cell(quantities[(commodity, measure)], u, period, reporting, restricted)
               for u in units),
             sum(quantities[(commodity, measure)].values()), events[(commodity, measure)]]
            for commodity, measure in kinds
        ],
        formats={c: "#,##0.##" for c in range(4, 5 + len(units))},
    )  # fmt: skip
    ranked = _top_routes(routes)
    route_table = table(
        ws,
        quantity_table[1] + 2,
        f"Top routes (origin → destination), {period}: seizures with both known",
        ["Rank", "Route", "Origin", "Destination", "Seizures", "Reporting units",
         "Main commodity"],
        [
            [rank, f"{origin} → {destination}", origin, destination, count, reporters, commodity]
            for rank, (origin, destination, count, reporters, commodity) in enumerate(ranked, 1)
        ],
    )  # fmt: skip
    fit_columns(ws, quantity_table, route_table)
    ws.freeze_panes = ws.cell(top + 2, 4).coordinate
    _seizure_charts(
        ws, route_table[1] + 2, units, reporting, restricted, period, quantities, kinds, ranked
    )


def _seizure_cell(
    by_unit: dict[str, float],
    unit_code: str,
    period: str,
    reporting: set[str],
    restricted: set[tuple[str, str]],
) -> float | str | None:
    """The quantity, 0 when the unit's return had none, empty without a return, or the flag."""
    if (unit_code, period) in restricted:
        return SUPPRESSED
    return by_unit.get(unit_code, 0.0) if unit_code in reporting else None


def _top_routes(routes: list[RouteCount]) -> list[tuple[str, str, int, str, str]]:
    """(origin, destination, seizures, reporting units, main commodity), most seizures first."""
    lists = config.codelists()
    count: dict[tuple[str, str], int] = defaultdict(int)
    reporters: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_commodity: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for route in routes:
        if route.suppressed:
            continue
        key = (route.origin, route.destination)
        count[key] += route.events
        reporters[key].add(route.reporting_unit)
        by_commodity[key][route.commodity] += route.events
    ranked = sorted(count, key=lambda k: (-count[k], k))[:_TOP_ROUTES]
    order = list(lists.reporting_units)
    return [
        (
            origin,
            destination,
            count[(origin, destination)],
            ", ".join(sorted(reporters[(origin, destination)], key=lambda u: _position(order, u))),
            min(by_commodity[(origin, destination)].items(), key=lambda kv: (-kv[1], kv[0]))[0],
        )
        for origin, destination in ranked
    ]


def _seizure_charts(
    ws: Worksheet,
    top: int,
    units: list[str],
    reporting: set[str],
    restricted: set[tuple[str, str]],
    period: str,
    quantities: dict[tuple[str, str], dict[str, float]],
    kinds: list[tuple[str, str]],
    ranked: list[tuple[str, str, int, str, str]],
) -> None:
    """A bar chart per unit of measure (commodities by reporting unit) and one of the top routes."""
    lists = config.codelists()
    shown_units = [u for u in units if u in reporting and (u, period) not in restricted]
    measures = sorted({m for _c, m in kinds}, key=lambda m: _position(list(lists.units), m))
    count = len(measures) + (1 if ranked else 0)
    if not count or not shown_units:
        return
    data_top = charts_end(top, count) + 1
    heading(ws, data_top, "Chart data: published quantities (numbers only)")
    charts, r = [], data_top + 1
    for measure in measures:
        rows = [
            (commodity, [quantities.get((commodity, m), {}).get(u, 0.0) for u in shown_units])
            for commodity, m in kinds
            if m == measure
        ]
        block = number_block(ws, r, f"Commodity ({measure})", shown_units, rows)
        name = lists.units.get(measure, measure)
        charts.append(bar_chart(block, f"Seizures by commodity, {name.lower()}", name))
        r = block.last_row + 2
    if ranked:
        rows = [(f"{o} → {d}", [float(n)]) for o, d, n, _who, _what in ranked]
        block = number_block(ws, r, "Route", ["Seizures"], rows)
        charts.append(bar_chart(block, "Top routes: number of seizures", "Seizures"))
    place_charts(ws, charts, top, "Charts: published seizures")


def _quality_sheet(
    wb: Workbook,
    edition: _Edition,
    periods: list[str],
    figures: list[Figure],
    findings: list[StandingFinding],
) -> None:
    lists = config.codelists()
    ws = wb.create_sheet(SHEET_QUALITY)
    shown_findings, dropped = _public_findings(edition.disclosure, findings, figures)
    flagged = [f for f in figures if f.obs_status in _FLAGGED]
    flagged_shown = [f for f in flagged if not f.suppressed]
    suppressed = dropped + len(flagged) - len(flagged_shown)
    top = title_block(
        ws,
        f"Data-quality annex, {periods[0]} to {periods[-1]}",
        edition.notes(suppressed, _restricted_returns(edition, figures)),
    )
    unit_order, area_order = list(lists.reporting_units), list(lists.crime_areas)

    warnings = table(
        ws,
        top,
        "Warnings still standing: findings of the current revision of each return",
        ["Country", "Period", "Submission", "Sheet", "Row", "Column", "Value", "Rule", "Message"],
        [
            [f.reporting_unit, f.period, f.submission_id, f.sheet, f.row_number, f.column_name,
             f.value, f.rule, f.message]
            for f in shown_findings
        ],
    )  # fmt: skip
    found = sorted(
        outliers(figures, periods),
        key=lambda o: (-abs(o.ratio - 1), _position(unit_order, o.figure.reporting_unit)),
    )
    outlying = table(
        ws,
        warnings[1] + 2,
        f"Outliers: {periods[-1]} values at least {OUTLIER_FACTOR:g} times, or at most "
        f"1/{OUTLIER_FACTOR:g} of, the reporting unit's median over the earlier periods",
        ["Country", "Period", "Crime area", "Indicator", "Breakdown", "Value", "Median",
         "Periods", "Ratio", "Comment"],
        [
            [o.figure.reporting_unit, o.figure.period, o.figure.crime_area, o.figure.indicator,
             o.figure.breakdown or "total", o.figure.number, o.median, o.history, o.ratio,
             o.figure.comment_shown]
            for o in found
        ],
        formats={9: "0.0"},
    )  # fmt: skip
    flagged_shown.sort(
        key=lambda f: (
            Period.parse(f.period),
            _position(unit_order, f.reporting_unit),
            _position(area_order, f.crime_area),
            _series_order((f.indicator, f.breakdown, f.reporting_unit)),
        )
    )
    estimated = table(
        ws,
        outlying[1] + 2,
        "Estimated and provisional values",
        ["Country", "Period", "Crime area", "Indicator", "Breakdown", "Value", "Status",
         "Comment"],
        [
            [f.reporting_unit, f.period, f.crime_area, f.indicator, f.breakdown or "total",
             f.number, f"{f.obs_status} {_FLAGGED[f.obs_status]}", f.comment_shown]
            for f in flagged_shown
        ],
    )  # fmt: skip
    fit_columns(ws, warnings, outlying, estimated)
    ws.freeze_panes = ws.cell(top + 2, 1).coordinate


def _public_findings(
    disclosure: Disclosure, findings: list[StandingFinding], figures: list[Figure]
) -> tuple[list[StandingFinding], int]:
    """The findings this edition may show, and how many it drops or blanks.

    A finding on a suppressed row goes; another finding of a return holding
    suppressed values keeps its place but not its value and message, which may
    quote a neighbouring row (a justice-chain warning quotes two figures).
    """
    if not disclosure.public:
        return findings, 0
    hidden_rows = {(f.submission_id, f.row_number) for f in figures if f.suppressed}
    touched = {f.submission_id for f in figures if f.suppressed}
    shown, withheld = [], 0
    for f in findings:
        if not disclosure.return_publishable(f.handling_code) or (
            f.sheet == INDICATORS_SHEET and (f.submission_id, f.row_number) in hidden_rows
        ):
            withheld += 1
        elif f.submission_id in touched:
            withheld += 1
            shown.append(replace(f, value=None, message=WITHHELD))
        else:
            shown.append(f)
    return shown, withheld


# --- grouping and order --------------------------------------------------------


def _by_crime_area(figures: list[Figure]) -> dict[str, list[Figure]]:
    """Crime area → its figures, crime areas in codelist order, only those with data."""
    by_area: dict[str, list[Figure]] = defaultdict(list)
    for f in figures:
        by_area[f.crime_area].append(f)
    order = list(config.codelists().crime_areas)
    return {area: by_area[area] for area in sorted(by_area, key=lambda a: _position(order, a))}


def _restricted_returns(edition: _Edition, figures: list[Figure]) -> set[tuple[str, str]]:
    return {
        (f.reporting_unit, f.period)
        for f in figures
        if not edition.disclosure.return_publishable(f.handling_code)
    }


def _series_order(key: tuple[str, str | None, str]) -> tuple:
    lists = config.codelists()
    indicator, breakdown, unit_code = key
    return (
        _position(list(lists.indicators), indicator),
        breakdown is not None,
        _position(list(lists.breakdowns), breakdown),
        _position(list(lists.reporting_units), unit_code),
    )


def _position(codes: list[str], code: str | None) -> tuple[int, str]:
    """Codelist order first; codes no longer in the list after them, alphabetically."""
    return (codes.index(code), "") if code in codes else (len(codes), code or "")


# --- file ----------------------------------------------------------------------


def _save_new(wb: Workbook, out_dir: Path, name: str) -> Path:
    """Save as ``<name>.xlsx`` (or ``<name>-2.xlsx``...), never replacing a file.

    Written to a temporary name first and then hard-linked under the final
    one: the link fails when the name exists, and no reader sees half a file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{name}.{secrets.token_hex(6)}.tmp"
    try:
        wb.save(tmp)
        for n in range(1, 100):
            path = out_dir / (f"{name}.xlsx" if n == 1 else f"{name}-{n}.xlsx")
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue
            return path
        raise FileExistsError(f"{out_dir}: 99 builds named {name} already")
    finally:
        tmp.unlink(missing_ok=True)
