"""The overview sheet: the period, who reported, and the biggest changes told in words."""

from __future__ import annotations

from datetime import datetime

from openpyxl import Workbook

from topcop.cells import write_cell
from topcop.reports.changes import MIN_RELATIVE_CHANGE, period_word
from topcop.reports.completeness import CompletenessCell, Timeliness
from topcop.reports.edition import Edition
from topcop.reports.layout import fit_columns, header, heading, title_block

SHEET_OVERVIEW = "overview"


def overview_sheet(
    wb: Workbook,
    edition: Edition,
    *,
    periods: list[str],
    built_at: datetime,
    data_as_of: datetime | None,
    returns_used: int,
    cells: list[CompletenessCell],
    changes: list[str],
    suppressed: int,
) -> None:
    """Add the overview: what the edition covers, who reported, and what moved most."""
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
