"""The regional assessment workbook: who reported, and what the current figures say.

Built only from the warehouse's current views, so a corrected return (a new
revision) replaces the figures it corrects and nothing half-loaded shows. One
function per sheet, so later sheets (charts, seizures, data-quality annex) and
audience rules (what a public report may show) slot in beside the others.
Every value goes through ``cells.write_cell``: text from a return is never
evaluated as a formula.
"""

from __future__ import annotations

import os
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import DateTime, Engine, bindparam, text

from topcop import config
from topcop.periods import Period
from topcop.reports.cells import write_cell
from topcop.reports.completeness import (
    CompletenessCell,
    Timeliness,
    completeness,
    timeliness_label,
)

_BOLD = Font(bold=True)
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
_DATASET = "indicators"


@dataclass(frozen=True)
class _Figure:
    value: float | None
    obs_status: str
    comment: str | None


# (indicator, breakdown, reporting unit) → period → figure
_SeriesTable = dict[tuple[str, str | None, str], dict[str, _Figure]]


def build_assessment(
    engine: Engine, period: str, out_dir: Path, *, today: date, periods_back: int = 8
) -> Path:
    """Write ``eap_assessment_<period>.xlsx`` to ``out_dir`` and return its path.

    The workbook covers the ``periods_back`` periods ending at ``period``. It
    appears under its final name only once complete.
    """
    periods = report_periods(period, periods_back)
    period = periods[-1]
    cells = completeness(engine, periods, dataset=_DATASET, today=today)
    figures = _current_figures(engine, periods)

    wb = Workbook()
    wb.remove(wb.active)
    _overview_sheet(
        wb,
        period=period,
        built_at=datetime.now(UTC),
        data_as_of=_data_as_of(engine, periods),
        cells=[c for c in cells if c.period == period],
    )
    _completeness_sheet(wb, periods, cells)
    for crime_area, table in figures.items():
        _crime_area_sheet(wb, crime_area, table, periods)
    return _save(wb, Path(out_dir) / f"eap_assessment_{period}.xlsx")


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
    *,
    period: str,
    built_at: datetime,
    data_as_of: datetime | None,
    cells: list[CompletenessCell],
) -> None:
    ws = wb.create_sheet("overview")
    reporting = [c for c in cells if c.status in (Timeliness.ON_TIME, Timeliness.LATE)]
    rows = [
        ("Period", period),
        ("Built at (UTC)", built_at),
        ("Data as of (UTC, latest submission processed)", data_as_of or "no data"),
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
    _header(ws, ["Item", "Value"])
    for r, (item, value) in enumerate(rows, start=2):
        write_cell(ws, r, 1, item)
        cell = write_cell(ws, r, 2, value)
        if isinstance(value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
    _fit_columns(ws)


def _completeness_sheet(wb: Workbook, periods: list[str], cells: list[CompletenessCell]) -> None:
    ws = wb.create_sheet("completeness")
    units = config.codelists().reporting_units
    _header(ws, ["Reporting unit", "Name", *periods])
    rows = {code: r for r, code in enumerate(units, start=2)}
    columns = {p: c for c, p in enumerate(periods, start=3)}
    for code, r in rows.items():
        write_cell(ws, r, 1, code)
        write_cell(ws, r, 2, units[code].name)
    for c in cells:
        cell = write_cell(ws, rows[c.reporting_unit], columns[c.period], c.label)
        cell.fill = _FILLS[c.status]

    # Widths from the table alone: the legend's sentences may run across empty cells.
    _fit_columns(ws)
    r = len(rows) + 3
    write_cell(ws, r, 1, "Legend").font = _BOLD
    for status, meaning in _LEGEND.items():
        r += 1
        write_cell(ws, r, 1, timeliness_label(status, days_late=None)).fill = _FILLS[status]
        write_cell(ws, r, 2, meaning)
    ws.freeze_panes = "C2"


def _crime_area_sheet(
    wb: Workbook, crime_area: str, table: _SeriesTable, periods: list[str]
) -> None:
    lists = config.codelists()
    ws = wb.create_sheet(crime_area)
    _header(
        ws,
        ["Indicator", "Indicator name", "Breakdown", "Country", "Unit", *periods,
         f"Comment ({periods[-1]})"],
    )  # fmt: skip
    for r, key in enumerate(sorted(table, key=_series_order), start=2):
        indicator, breakdown, unit_code = key
        known = lists.indicators.get(indicator)
        series = table[key]
        write_cell(ws, r, 1, indicator)
        write_cell(ws, r, 2, known.name if known else "")
        write_cell(ws, r, 3, breakdown or "total")
        write_cell(ws, r, 4, unit_code)
        write_cell(ws, r, 5, known.unit if known else "")
        for c, p in enumerate(periods, start=6):
            figure = series.get(p)
            if figure is None:
                continue
            value = figure.value if figure.value is not None else figure.obs_status
            cell = write_cell(ws, r, c, value)
            if figure.value is not None:
                cell.number_format = "#,##0" if known and known.whole_number else "#,##0.00"
        latest = series.get(periods[-1])
        if latest is not None and latest.comment:
            write_cell(ws, r, 6 + len(periods), latest.comment)
    _fit_columns(ws)
    ws.freeze_panes = "F2"


# --- warehouse queries ---------------------------------------------------------

_CURRENT_FIGURES = text(
    "SELECT reporting_unit, period, crime_area, indicator, breakdown, value, obs_status, comment"
    " FROM v_indicator_current WHERE period IN :periods"
).bindparams(bindparam("periods", expanding=True))

_DATA_AS_OF = (
    text(
        "SELECT MAX(processed_at) AS as_of FROM v_submission_accepted"
        " WHERE dataset IN ('return', :dataset) AND period IN :periods"
    )
    .bindparams(bindparam("periods", expanding=True))
    .columns(as_of=DateTime)
)


def _current_figures(engine: Engine, periods: list[str]) -> dict[str, _SeriesTable]:
    """Crime area → its series, crime areas in codelist order, only those with data."""
    with engine.connect() as conn:
        rows = conn.execute(_CURRENT_FIGURES, {"periods": periods}).all()
    by_area: dict[str, _SeriesTable] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        key = (row.indicator, row.breakdown or None, row.reporting_unit)
        series = by_area[row.crime_area][key]
        if row.period in series:
            raise ValueError(
                f"two current figures for {row.crime_area}/{key} in {row.period}: "
                "the warehouse must hold one row per key in a revision"
            )
        series[row.period] = _Figure(row.value, row.obs_status, row.comment)
    order = list(config.codelists().crime_areas)
    return {
        area: dict(by_area[area]) for area in sorted(by_area, key=lambda a: _position(order, a))
    }


def _data_as_of(engine: Engine, periods: list[str]) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(_DATA_AS_OF, {"dataset": _DATASET, "periods": periods}).scalar()


# --- layout --------------------------------------------------------------------


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


def _header(ws: Worksheet, titles: list[str]) -> None:
    for c, title in enumerate(titles, start=1):
        write_cell(ws, 1, c, title).font = _BOLD
    ws.freeze_panes = "A2"


def _fit_columns(ws: Worksheet, widest: int = 60) -> None:
    """Widths from the longest text in each column, so codes and labels read without resizing."""
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            shown = f"{cell.value:,.2f}" if isinstance(cell.value, float) else str(cell.value)
            widths[cell.column] = max(widths.get(cell.column, 0), len(shown))
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 8), widest)


def _save(wb: Workbook, path: Path) -> Path:
    """Save to a temporary name beside ``path``, then rename: no reader sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name per build: two builds racing each write their own file, the last rename wins.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
