"""One sheet per crime area: every current figure by indicator, breakdown and unit, and what moved.

Each row is one series (indicator, breakdown, reporting unit) across the
periods covered, with its change on the previous period and on a year
earlier. In the programme edition, what may not be published is shaded; in
the public edition it is already replaced by the suppression flag.
"""

from __future__ import annotations

from collections import defaultdict

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from topcop import config
from topcop.cells import write_cell
from topcop.periods import Period
from topcop.reports.changes import relative_change
from topcop.reports.charts import indicator_charts
from topcop.reports.edition import Edition, restricted_returns
from topcop.reports.figures import FLAGGED, Figure
from topcop.reports.handling import SUPPRESSED, Audience, Disclosure
from topcop.reports.layout import ITALIC, fit_columns, header, title_block
from topcop.reports.order import series_order

_RESTRICTED_FILL = PatternFill(fill_type="solid", fgColor="E4DFEC")
# Asked in the programme edition too, to shade what must not leave the programme.
_PUBLIC = Disclosure(Audience.PUBLIC)
_CHANGE_FORMAT = "+0%;-0%;0%"


def crime_area_sheet(
    wb: Workbook,
    edition: Edition,
    crime_area: str,
    area_figures: list[Figure],
    all_figures: list[Figure],
    periods: list[str],
) -> None:
    """Add ``crime_area``'s sheet: its series across ``periods``, changes, comments, charts."""
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
        edition.notes(suppressed, restricted_returns(edition, area_figures)),
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
    for r, key in enumerate(sorted(table, key=series_order), start=top + 1):
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
    indicator_charts(ws, r + 2, crime_area, area_figures, periods)


def _figure_cell(ws: Worksheet, row: int, column: int, figure: Figure, *, whole: bool) -> Cell:
    cell = write_cell(ws, row, column, figure.shown)
    if figure.number is not None:
        cell.number_format = "#,##0" if whole else "#,##0.00"
        if figure.obs_status in FLAGGED:
            cell.font = ITALIC
    return cell
