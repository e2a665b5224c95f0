"""Reading a return workbook: its sheets through calamine, its metadata sheet by field name.

calamine takes the values Excel cached and never evaluates a formula, so nothing in
a received workbook runs. A sheet hidden or with merged cells is read, and said so;
a workbook calamine cannot open is a finding, never a traceback.

A data sheet is read by fastexcel (calamine into Arrow columns, no Python object per
cell) and typed by ``columns``; a sheet that is not plain (merged cells, an odd
header, a column of mixed kinds) is read again as rows of Python values and typed
by ``table``, which reports what is wrong with it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import fastexcel
import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from topcop import config
from topcop.findings import ERROR, WARNING, Finding, file_error
from topcop.i18n import joined, msg
from topcop.returns.columns import model_positions, typed_table
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

# fastexcel logs a warning for every column without a value; an optional column left
# empty is an ordinary return, and the warning would fill every task's log.
logging.getLogger("fastexcel.types.dtype").setLevel(logging.ERROR)
_DATE_FIELDS = frozenset({"submission_date"})
_KEY_HEADER, _VALUE_HEADER = "field", "value"  # the template's metadata header


def read_workbook(
    path: Path, result: ReturnFile, merged: set[str] | frozenset[str] = frozenset()
) -> None:
    """Read the workbook into ``result``; ``merged``: sheets the inspection saw merged cells in."""
    sheets = _load_sheets(path, result.findings, merged)
    if sheets is None:
        return
    for name in DATA_SHEETS:
        if name not in sheets:
            result.findings.append(
                Finding(
                    name, None, None, name, "sheet_missing", ERROR,
                    msg(
                        "The workbook has no sheet named '{sheet}'. Use the template as sent and "
                        "do not rename or delete its sheets.",
                        sheet=name,
                    ),
                )
            )  # fmt: skip
    if METADATA_SHEET in sheets:
        _read_metadata(sheets[METADATA_SHEET], result)
    for dataset in (INDICATORS_SHEET, SEIZURES_SHEET):
        cells = sheets.get(dataset)
        if cells is None:
            continue
        if isinstance(cells, tuple):  # read and typed as columns
            table, found = cells
            result.findings.extend(found)
            setattr(result, dataset, table)
            continue
        numbers = list(range(1, len(cells) + 1))
        setattr(result, dataset, type_table(dataset, cells, numbers, result.findings))


_Typed = tuple[pd.DataFrame, list[Finding]]  # a sheet typed from columns, its findings


def _load_sheets(
    path: Path, findings: list[Finding], merged: set[str] | frozenset[str]
) -> dict[str, list[list[Any]] | _Typed] | None:
    """Each data sheet typed from columns, or its cells as lists of rows (row 1 first).

    None when the workbook is unreadable.
    """
    lim = config.limits()
    sheets: dict[str, list[list[Any]] | _Typed] = {}
    columnar = _columnar_reader(path)
    try:
        with CalamineWorkbook.from_path(str(path)) as wb:
            available = {name.strip().lower(): name for name in wb.sheet_names}
            hidden = {m.name for m in wb.sheets_metadata if m.visible != SheetVisibleEnum.Visible}
            for name in DATA_SHEETS:
                actual = name if name in wb.sheet_names else available.get(name)
                if actual is None:
                    continue
                # inspect_file has measured the sheet already; the sizes checked below
                # guard a reader bug there.
                if actual in hidden:
                    findings.append(_hidden(name))
                if columnar is not None and name != METADATA_SHEET and actual not in merged:
                    typed = _columnar(columnar, actual, name, lim)
                    if typed is not None:
                        sheets[name] = typed
                        continue
                sheet = wb.get_sheet_by_name(actual)
                if (
                    sheet.height - 1 > lim.max_rows_per_sheet
                    or sheet.width > lim.max_columns_per_sheet
                ):
                    findings.append(too_large(name, sheet.height, sheet.width, lim))
                    return None
                findings.extend(_merged(name, sheet.merged_cell_ranges or []))
                sheets[name] = sheet.to_python(skip_empty_area=False)
    except BaseException as e:
        # calamine reports a Rust panic on a malformed file as a BaseException.
        if isinstance(e, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        findings.append(_unreadable(e))
        return None
    return sheets


def _columnar_reader(path: Path) -> fastexcel.ExcelReader | None:
    """fastexcel's reader, or None: calamine below then says why the workbook is unreadable."""
    try:
        return fastexcel.read_excel(str(path))
    except BaseException as e:  # a Rust panic is a BaseException
        if isinstance(e, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        return None


def _columnar(
    columnar: fastexcel.ExcelReader, actual: str, name: str, lim: config.Limits
) -> _Typed | None:
    """The sheet typed from Arrow columns, or None for the general path to read it.

    ``skip_rows=0`` keeps the header at the sheet's row 1 and every row in place (without
    it fastexcel starts at the first row holding a value). "strict" refuses a column of
    mixed kinds, sampled over all rows, rather than turning its numbers into text.
    """
    try:
        sheet = columnar.load_sheet(
            actual, header_row=0, skip_rows=0, schema_sample_rows=None, dtype_coercion="strict"
        )
        if sheet.height > lim.max_rows_per_sheet or sheet.width > lim.max_columns_per_sheet:
            return None  # the general path says so
        positions = model_positions(name, [c.name for c in sheet.available_columns()])
        if positions is None:
            return None
        table = sheet.to_arrow()
    except BaseException as e:  # a Rust panic is a BaseException
        if isinstance(e, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        return None
    rows = np.arange(2, table.num_rows + 2, dtype="int64")
    findings: list[Finding] = []
    typed = typed_table(name, table, positions, rows, findings)
    return None if typed is None else (typed, findings)


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
                    msg(
                        "'{field}' is not a metadata field of the template and was ignored.",
                        field=name,
                    ),
                )
            )  # fmt: skip
            continue
        if name in result.metadata_rows:
            findings.append(
                Finding(
                    METADATA_SHEET, number, "field", name, "metadata_duplicate_field", ERROR,
                    msg(
                        "The field '{field}' appears twice (also in row {first_row}); keep one "
                        "row per field.",
                        field=name,
                        first_row=result.metadata_rows[name],
                    ),
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
                    msg(
                        "The metadata sheet has no row for '{field}'. Use the template as sent.",
                        field=name,
                    ),
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
    found = joined("; ", seen) if seen else msg("no text at all")
    return Finding(
        METADATA_SHEET, None, None, None, "metadata_layout", ERROR,
        msg(
            "The metadata sheet names none of the fields ({fields}) in any column, so its values "
            "cannot be told apart. It holds {found}. Use the template as sent: field names in "
            "column A under the header 'field', their values in column B.",
            fields=", ".join(METADATA_FIELDS),
            found=found,
        ),
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
        msg(
            "The sheet '{sheet}' is hidden in the workbook. Its figures were read as usual; "
            "please check that they are the ones you meant to send.",
            sheet=sheet,
        ),
    )  # fmt: skip


def _merged(sheet: str, ranges: list[tuple[tuple[int, int], tuple[int, int]]]) -> list[Finding]:
    findings = []
    for (top, left), (bottom, right) in ranges:
        first = f"{get_column_letter(left + 1)}{top + 1}"
        area = f"{first}:{get_column_letter(right + 1)}{bottom + 1}"
        findings.append(
            Finding(
                sheet, top + 1, None, area, "cells_merged", WARNING,
                msg(
                    "Cells {area} are merged: only {first} holds a value and the others are "
                    "read as empty. Unmerge them and fill every cell.",
                    area=area,
                    first=first,
                ),
            )
        )  # fmt: skip
    return findings


def _unreadable(error: BaseException) -> Finding:
    return file_error(
        "file_unreadable",
        msg(
            "The workbook could not be read: it is damaged or not saved by a spreadsheet program "
            "in the .xlsx format. Open it in Excel, save it as 'Excel Workbook (*.xlsx)' and "
            "send it again."
        ),
        f"{type(error).__name__}: {error}",
    )
