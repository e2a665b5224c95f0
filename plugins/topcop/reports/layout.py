"""How a report sheet looks, prints and charts, so every sheet of every report reads alike.

Each sheet opens with a title and the notes that apply to it (edition,
suppression), then its tables. Charts never read a table that may hold text
(an observation status, the suppression flag): spreadsheet programs plot text
as zero, so each chart reads a small block of numbers only, written beside it.
Sheets print landscape on A4, one page wide, with the sheet name in the header.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from topcop.cells import write_cell

BOLD = Font(bold=True)
ITALIC = Font(italic=True)
_TITLE = Font(bold=True, size=14)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CHART_WIDTH_CM, _CHART_HEIGHT_CM = 15.0, 7.0
# Rows a chart and its margin take at the default row height (15 pt): two bands of
# charts and their heading fit the printable height of a landscape A4 page.
_CHART_ROWS = 15
_BANDS_PER_PAGE = 2
_DEFAULT_COLUMN_WIDTH = 8.43


def title_block(ws: Worksheet, title: str, notes: list[str]) -> int:
    """The sheet's title and notes; returns the first row after them and a blank row."""
    write_cell(ws, 1, 1, title).font = _TITLE
    for r, note in enumerate(notes, start=2):
        write_cell(ws, r, 1, note)
    return len(notes) + 3


def header(ws: Worksheet, row: int, titles: list[str], column: int = 1) -> None:
    """Bold column titles; long ones wrap rather than widen their column."""
    for c, title in enumerate(titles, start=column):
        cell = write_cell(ws, row, c, title)
        cell.font = BOLD
        cell.alignment = _WRAP


def heading(ws: Worksheet, row: int, text: str) -> None:
    write_cell(ws, row, 1, text).font = Font(bold=True, size=12)


def table(
    ws: Worksheet,
    top: int,
    title: str,
    columns: list[str],
    rows: list[list],
    formats: dict[int, str] | None = None,
) -> tuple[int, int]:
    """A heading, a header row and the rows below it ("None." when there are none).

    Returns the header row and the last row, the range ``fit_columns`` sizes by.
    ``formats`` maps a 1-based column to the number format of its values.
    """
    heading(ws, top, title)
    header(ws, top + 1, columns)
    if not rows:
        write_cell(ws, top + 2, 1, "None.")
        return top + 1, top + 2
    for r, values in enumerate(rows, start=top + 2):
        for c, value in enumerate(values, start=1):
            cell = write_cell(ws, r, c, value)
            if formats and c in formats and isinstance(value, int | float):
                cell.number_format = formats[c]
    return top + 1, top + 1 + len(rows)


def fit_columns(ws: Worksheet, *tables: tuple[int, int], widest: int = 60) -> None:
    """Widths from the tables (header row, last row), not from titles, headings and notes.

    A header counts by its longest word only: it wraps (``header``).
    """
    widths: dict[int, int] = {}
    for header_row, last_row in tables:
        for row in ws.iter_rows(min_row=header_row, max_row=max(header_row, last_row)):
            for cell in row:
                if cell.value is None:
                    continue
                if cell.row == header_row:
                    shown = max(str(cell.value).split(), key=len, default="")
                elif isinstance(cell.value, float):
                    shown = f"{cell.value:,.2f}"
                else:
                    shown = str(cell.value)
                widths[cell.column] = max(widths.get(cell.column, 0), len(shown))
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 8), widest)
    # Spreadsheet programs do not all grow a row for wrapped text on opening: set the height.
    for header_row, _last in tables:
        lines = max(
            (
                _wrapped_lines(str(cell.value), ws.column_dimensions[cell.column_letter].width)
                for cell in ws[header_row]
                if cell.value is not None
            ),
            default=1,
        )
        if lines > 1:
            ws.row_dimensions[header_row].height = 15 * lines


def _wrapped_lines(text: str, width: float) -> int:
    """Lines ``text`` takes, wrapped at word boundaries, in a column ``width`` characters wide."""
    room, lines, used = max(int(width) - 1, 1), 1, 0
    for word in text.split():
        needed = len(word) if used == 0 else used + 1 + len(word)
        if needed <= room or used == 0:
            used = needed
        else:
            lines, used = lines + 1, len(word)
    return lines


def finish_sheet(ws: Worksheet, running_title: str) -> None:
    """Once the sheet is written: notes wrapped to the tables' width, then the page set-up.

    Landscape A4, one page wide; the header names the report and the sheet, the
    footer the page.
    """
    _wrap_notes(ws)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the sheet needs
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.oddHeader.left.text = running_title.replace("&", "&&")
    ws.oddHeader.right.text = "&A"
    ws.oddFooter.center.text = "Page &P of &N"


def _wrap_notes(ws: Worksheet) -> None:
    """Spread each note of the title block over the tables' width, wrapped.

    A long note would otherwise run past the last column and be cut off on paper.
    """
    last = max(ws.max_column, 2)
    width = sum(_width(ws, c) for c in range(1, last + 1))
    row = 2
    while ws.cell(row, 1).value is not None:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last)
        ws.cell(row, 1).alignment = _WRAP
        lines = _wrapped_lines(str(ws.cell(row, 1).value), width)
        if lines > 1:
            ws.row_dimensions[row].height = 15 * lines
        row += 1


def _width(ws: Worksheet, column: int) -> float:
    letter = get_column_letter(column)
    width = ws.column_dimensions[letter].width if letter in ws.column_dimensions else None
    return width or _DEFAULT_COLUMN_WIDTH


@dataclass(frozen=True)
class NumberBlock:
    """A block of numbers for a chart: a label column, then one column per category."""

    ws: Worksheet
    top: int  # header row
    left: int  # label column
    categories: int
    rows: int

    @property
    def last_row(self) -> int:
        return self.top + self.rows


def number_block(
    ws: Worksheet,
    top: int,
    corner: str,
    categories: list[str],
    rows: list[tuple[str, list[float | None]]],
    left: int = 1,
) -> NumberBlock:
    """Write labels and numbers only (``None`` stays an empty cell, a gap in the chart)."""
    header(ws, top, [corner, *categories], column=left)
    for r, (label, values) in enumerate(rows, start=top + 1):
        write_cell(ws, r, left, label)
        for c, value in enumerate(values, start=left + 1):
            if value is not None:
                write_cell(ws, r, c, float(value)).number_format = "#,##0.##"
    return NumberBlock(ws, top, left, len(categories), len(rows))


def line_chart(block: NumberBlock, title: str, y_title: str) -> LineChart:
    """One line per row of the block, categories along the x axis."""
    chart = LineChart()
    data = Reference(
        block.ws,
        min_col=block.left,
        max_col=block.left + block.categories,
        min_row=block.top + 1,
        max_row=block.last_row,
    )
    chart.add_data(data, from_rows=True, titles_from_data=True)
    return _finish(chart, block, title, y_title)


def bar_chart(block: NumberBlock, title: str, y_title: str) -> BarChart:
    """One bar per row of the block, one series per category column."""
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    data = Reference(
        block.ws,
        min_col=block.left + 1,
        max_col=block.left + block.categories,
        min_row=block.top,
        max_row=block.last_row,
    )
    chart.add_data(data, titles_from_data=True)
    labels = Reference(block.ws, min_col=block.left, min_row=block.top + 1, max_row=block.last_row)
    _text_categories(chart, labels)
    chart.title = title
    chart.y_axis.title = y_title
    return _sized(chart)


def _finish(chart: LineChart, block: NumberBlock, title: str, y_title: str) -> LineChart:
    categories = Reference(
        block.ws,
        min_col=block.left + 1,
        max_col=block.left + block.categories,
        min_row=block.top,
        max_row=block.top,
    )
    _text_categories(chart, categories)
    chart.title = title
    chart.y_axis.title = y_title
    chart.display_blanks = "gap"
    return _sized(chart)


def _text_categories(chart, labels: Reference) -> None:
    """Categories are labels (periods, commodities, routes): a string reference, not numbers."""
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(labels)))


def _sized(chart):
    chart.width, chart.height = _CHART_WIDTH_CM, _CHART_HEIGHT_CM
    # Newer Excel hides axes that do not say they are kept.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart


def charts_end(top: int, count: int) -> int:
    """The first row below a section of ``count`` charts whose heading is at ``top``."""
    return top + 1 + ((count + 1) // 2) * _CHART_ROWS


def place_charts(ws: Worksheet, charts: list, top: int, title: str) -> None:
    """Charts under a heading at ``top``, on pages of their own, two side by side, four a page.

    What lies below the charts (their number blocks) is left out of the print area:
    on paper the tables above already show the numbers.
    """
    heading(ws, top, title)
    ws.row_breaks.append(Break(id=top - 1))
    second_column = _column_at(ws, _CHART_WIDTH_CM + 0.5)
    for i, chart in enumerate(charts):
        band, row = i // 2, top + 1 + (i // 2) * _CHART_ROWS
        if band and band % _BANDS_PER_PAGE == 0 and i % 2 == 0:
            ws.row_breaks.append(Break(id=row - 1))
        column = "A" if i % 2 == 0 else get_column_letter(second_column)
        ws.add_chart(chart, f"{column}{row}")
    right = max(ws.max_column, _column_at(ws, 2 * _CHART_WIDTH_CM + 1))
    ws.print_area = f"A1:{get_column_letter(right)}{charts_end(top, len(charts)) - 1}"


def _column_at(ws: Worksheet, cm: float) -> int:
    """The first column whose left edge lies at least ``cm`` from the sheet's left edge."""
    left, column = 0.0, 1
    while left < cm:
        # Excel's rule: a width of w characters is 7w + 5 pixels at 96 dpi.
        left += (_width(ws, column) * 7 + 5) * 2.54 / 96
        column += 1
    return column
