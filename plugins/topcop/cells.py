"""Writing spreadsheet cells so that text from a return stays text.

openpyxl turns any string starting with ``=`` into a formula and ``#N/A``-like
strings into error values. A focal point's comment such as
``=HYPERLINK("http://x","y")`` must reach the reader as the words typed, never
as something Excel evaluates, so every value a report or a receipt writes goes
through ``write_cell``. A foundation module: receipts and reports both use it,
and it imports nothing of the package.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet


def safe_text(value: object) -> str:
    """``value`` as text an xlsx file can hold (XML 1.0 forbids most control characters)."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def write_cell(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Put ``value`` in the cell; a string stays a literal string, whatever it starts with."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = safe_text(value)
        # Set after the value: openpyxl's type guess would make "=..." a formula.
        cell.data_type = "s"
    elif isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones; reports state UTC in their labels.
        cell.value = value.astimezone(UTC).replace(tzinfo=None)
    else:
        cell.value = value
    return cell
