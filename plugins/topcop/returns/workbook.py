"""Reading a return workbook: its sheets through calamine, its metadata sheet by field name.

calamine takes the values Excel cached and never evaluates a formula, so nothing in
a received workbook runs. A sheet hidden or with merged cells is read, and said so;
a workbook calamine cannot open is a finding, never a traceback.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from topcop import config
from topcop.findings import ERROR, WARNING, Finding, file_error
from topcop.returns.model import (
    DATA_SHEETS,
    INDICATORS_SHEET,
    METADATA_FIELDS,
    METADATA_SHEET,
    OPTIONAL_METADATA_FIELDS,
    SEIZURES_SHEET,
    ReturnFile,
)
from topcop.returns.table import HEADER_SEARCH_ROWS, too_large, type_table
from topcop.returns.values import cell_text, not_a_date, parse_dates

_DATE_FIELDS = frozenset({"submission_date"})
_KEY_HEADER, _VALUE_HEADER = "field", "value"  # the template's metadata header


def read_workbook(path: Path, result: ReturnFile) -> None:
    sheets = _load_sheets(path, result.findings)
    if sheets is None:
        return
    for name in DATA_SHEETS:
        if name not in sheets:
            result.findings.append(
                Finding(
                    name, None, None, name, "sheet_missing", ERROR,
                    f"The workbook has no sheet named '{name}'. Use the template as sent and do "
                    "not rename or delete its sheets.",
                )
            )  # fmt: skip
    if METADATA_SHEET in sheets:
        _read_metadata(sheets[METADATA_SHEET], result)
    for dataset in (INDICATORS_SHEET, SEIZURES_SHEET):
        cells = sheets.get(dataset)
        if cells is None:
            continue
        numbers = list(range(1, len(cells) + 1))
        setattr(result, dataset, type_table(dataset, cells, numbers, result.findings))


def _load_sheets(path: Path, findings: list[Finding]) -> dict[str, list[list[Any]]] | None:
    """The data sheets' cells as lists of rows (row 1 first), or None when unreadable."""
    lim = config.limits()
    sheets: dict[str, list[list[Any]]] = {}
    try:
        with CalamineWorkbook.from_path(str(path)) as wb:
            available = {name.strip().lower(): name for name in wb.sheet_names}
            hidden = {m.name for m in wb.sheets_metadata if m.visible != SheetVisibleEnum.Visible}
            for name in DATA_SHEETS:
                actual = name if name in wb.sheet_names else available.get(name)
                if actual is None:
                    continue
                sheet = wb.get_sheet_by_name(actual)
                # inspect_file has measured the sheet already; this guards a reader bug there.
                if (
                    sheet.height - 1 > lim.max_rows_per_sheet
                    or sheet.width > lim.max_columns_per_sheet
                ):
                    findings.append(too_large(name, sheet.height, sheet.width, lim))
                    return None
                if actual in hidden:
                    findings.append(_hidden(name))
                findings.extend(_merged(name, sheet.merged_cell_ranges or []))
                sheets[name] = sheet.to_python(skip_empty_area=False)
    except BaseException as e:
        # calamine reports a Rust panic on a malformed file as a BaseException.
        if isinstance(e, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        findings.append(_unreadable(e))
        return None
    return sheets


def _read_metadata(cells: list[list[Any]], result: ReturnFile) -> None:
    """Field names in one column, their values in the next, found by what the cells say.

    The template puts them in columns A and B under a header row ("field", "value");
    a workbook written by ``DataFrame.to_excel()`` shifts them one column right behind
    its unnamed index, and a focal point may insert a column. So the header row, or
    failing that the column that holds the most field names, says where they are.
    """
    values: dict[str, Any] = dict.fromkeys(METADATA_FIELDS)
    findings = result.findings
    layout = _metadata_layout(cells)
    if layout is None:
        findings.append(_metadata_unreadable(cells))
        result.metadata = values
        return
    first, key, value = layout
    for number, row in enumerate(cells[first:], start=first + 1):
        name = cell_text(row[key]).lower() if len(row) > key else ""
        if not name:
            continue
        raw = row[value] if len(row) > value else ""
        if name not in values and name not in OPTIONAL_METADATA_FIELDS:
            findings.append(
                Finding(
                    METADATA_SHEET, number, "field", name, "metadata_unknown_field", WARNING,
                    f"'{name}' is not a metadata field of the template and was ignored.",
                )
            )  # fmt: skip
            continue
        if name in result.metadata_rows:
            findings.append(
                Finding(
                    METADATA_SHEET, number, "field", name, "metadata_duplicate_field", ERROR,
                    f"The field '{name}' appears twice (also in row "
                    f"{result.metadata_rows[name]}); keep one row per field.",
                )
            )  # fmt: skip
            continue
        result.metadata_rows[name] = number
        values[name] = _metadata_value(name, raw, number, findings)
    for name in METADATA_FIELDS:
        if name not in result.metadata_rows:
            findings.append(
                Finding(
                    METADATA_SHEET, None, "field", name, "metadata_missing_field", ERROR,
                    f"The metadata sheet has no row for '{name}'. Use the template as sent.",
                )
            )  # fmt: skip
    result.metadata = values


def _metadata_layout(cells: list[list[Any]]) -> tuple[int, int, int] | None:
    """(first row index after the header, field-name column, value column), or None."""
    for index, row in enumerate(cells[:HEADER_SEARCH_ROWS]):
        names = [cell_text(v).lower() for v in row]
        if _KEY_HEADER in names and _VALUE_HEADER in names:
            return index + 1, names.index(_KEY_HEADER), names.index(_VALUE_HEADER)
    counts: dict[int, int] = {}
    for row in cells:
        for position, cell in enumerate(row):
            if cell_text(cell).lower() in METADATA_FIELDS:
                counts[position] = counts.get(position, 0) + 1
    if not counts:
        return None
    key = max(counts, key=lambda p: (counts[p], -p))
    return 1, key, key + 1  # row 1 is a header row, as in the template


def _metadata_unreadable(cells: list[list[Any]]) -> Finding:
    """No column names a metadata field: say what the sheet holds where, not what is missing."""
    seen = [
        f"{get_column_letter(position + 1)}{number}: '{cell_text(cell)}'"
        for number, row in enumerate(cells[:HEADER_SEARCH_ROWS], start=1)
        for position, cell in enumerate(row)
        if cell_text(cell)
    ][:6]
    found = "; ".join(seen) if seen else "no text at all"
    return Finding(
        METADATA_SHEET, None, None, None, "metadata_layout", ERROR,
        "The metadata sheet names none of the fields (" + ", ".join(METADATA_FIELDS) + ") in "
        f"any column, so its values cannot be told apart. It holds {found}. Use the template "
        "as sent: field names in column A under the header 'field', their values in column B.",
    )  # fmt: skip


def _metadata_value(name: str, raw: Any, row: int, findings: list[Finding]) -> Any:
    if name not in _DATE_FIELDS:
        return cell_text(raw) or None
    if type(raw) is datetime:
        return raw.date()
    if type(raw) is date:
        return raw
    text = cell_text(raw)
    if not text:
        return None
    parsed = parse_dates(pd.Series([text]))[0]
    if pd.isna(parsed):
        findings.append(replace(not_a_date(METADATA_SHEET, row, "value", text, str), value=raw))
        return None
    return parsed.date()


def _hidden(sheet: str) -> Finding:
    # The figures are where the contract puts them, so they are read; but whoever sent
    # the file may not have seen them.
    return Finding(
        sheet, None, None, sheet, "sheet_hidden", WARNING,
        f"The sheet '{sheet}' is hidden in the workbook. Its figures were read as usual; "
        "please check that they are the ones you meant to send.",
    )  # fmt: skip


def _merged(sheet: str, ranges: list[tuple[tuple[int, int], tuple[int, int]]]) -> list[Finding]:
    findings = []
    for (top, left), (bottom, right) in ranges:
        first = f"{get_column_letter(left + 1)}{top + 1}"
        area = f"{first}:{get_column_letter(right + 1)}{bottom + 1}"
        findings.append(
            Finding(
                sheet, top + 1, None, area, "cells_merged", WARNING,
                f"Cells {area} are merged: only {first} holds a value and the others are read "
                "as empty. Unmerge them and fill every cell.",
            )
        )  # fmt: skip
    return findings


def _unreadable(error: BaseException) -> Finding:
    return file_error(
        "file_unreadable",
        "The workbook could not be read: it is damaged or not saved by a spreadsheet program "
        "in the .xlsx format. Open it in Excel, save it as 'Excel Workbook (*.xlsx)' and send "
        "it again.",
        f"{type(error).__name__}: {error}",
    )
