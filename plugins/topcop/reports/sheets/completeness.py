"""The completeness sheet: each reporting unit's returns per period, on time, late or missing.

The classification is ``reports.completeness``'s, the one ``topcop status``
prints; this sheet colours it and explains the colours in a legend.
"""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import PatternFill

from topcop import config
from topcop.cells import write_cell
from topcop.reports.completeness import CompletenessCell, Timeliness, timeliness_label
from topcop.reports.edition import Edition
from topcop.reports.layout import BOLD, fit_columns, header, heading, title_block

SHEET_COMPLETENESS = "completeness"
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


def completeness_sheet(
    wb: Workbook, edition: Edition, periods: list[str], grids: dict[str, list[CompletenessCell]]
) -> None:
    """Add the grid of each unit's returns per period, one per dataset, and its legend."""
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
