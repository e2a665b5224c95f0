"""Typing a table read straight into Arrow columns, with no Python object per cell.

fastexcel (calamine into Arrow) and pyarrow.csv hand over whole columns; this
module types them into the model's table in C: text trimmed and emptied to a gap,
numbers and dates converted column by column. It takes only the plain case, the
one nearly every return is: the header names exactly the model's columns (beside
unnamed ones, such as the index ``DataFrame.to_excel()`` writes) and every column
holds one kind of value. Anything else (a header the template does not have, a
number column with text in it that is not a number, a date no day has) returns
``None`` or hands that column to ``values`` value by value, so the general path of
``table`` says what is wrong in exactly the words it always has: the two paths
give the same table and the same findings (tests/test_reader_columns.py).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from topcop.findings import Finding
from topcop.returns.model import COLUMNS, ROW
from topcop.returns.values import typed_dates, typed_numbers

# Whatever Python's str.strip() strips (str.isspace): Unicode separators, ASCII controls.
_SPACE = r"[\pZ\t\n\x0b\x0c\r\x1c-\x1f\x85]"
_PADDED = f"^{_SPACE}|{_SPACE}$"
_UNNAMED = re.compile(r"__UNNAMED__\d+")  # fastexcel's name for a column without a header
# Numbers and dates whose text Arrow converts exactly as ``values`` would.
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_PLAIN_NUMBER_DECIMAL_COMMA = r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$"
_PLAIN_DATE = r"^\d{4}-\d{2}-\d{2}$"
# The days whose midnight a datetime64[ns] column holds (as values._FIRST_DAY, _LAST_DAY).
_FIRST_DAY = pa.scalar(pd.Timestamp.min.ceil("D").value // 1000, pa.timestamp("us"))
_LAST_DAY = pa.scalar(pd.Timestamp.max.floor("D").value // 1000, pa.timestamp("us"))
_TEXT = pd.StringDtype()
_FLOAT = pd.Float64Dtype()


def model_positions(sheet: str, names: list[str]) -> dict[str, int] | None:
    """Model column -> index among ``names``, when the header is the plain one; else None.

    Plain: every model column once (case and surrounding blanks aside), and any other
    column unnamed. An unknown, doubled or missing name is for the general path to report.
    """
    columns = COLUMNS[sheet]
    positions: dict[str, int] = {}
    for index, raw in enumerate(names):
        if not isinstance(raw, str):
            return None
        name = raw.strip().lower()
        if not name or _UNNAMED.fullmatch(raw):
            continue
        if name not in columns or name in positions:
            return None
        positions[name] = index
    return positions if len(positions) == len(columns) else None


def typed_table(
    sheet: str,
    table: pa.Table | pa.RecordBatch,
    positions: dict[str, int],
    rows: np.ndarray,
    findings: list[Finding],
    *,
    decimal_comma: bool = False,
) -> pd.DataFrame | None:
    """The model's typed table from Arrow columns (``rows``: each row's number), or None.

    None when a column holds a kind of value only the general path types (a number in
    a text column, text in a number column of a workbook, a date out of range).
    """
    columns = COLUMNS[sheet]
    arrays: dict[str, pa.Array] = {}
    for name, dtype in columns.items():
        array = _combined(table.column(positions[name]))
        if dtype == "string" or _is_text(array):
            array = _text(array)
        if array is None:
            return None
        arrays[name] = array
    present = [pc.is_valid(a) for a in arrays.values()]
    keep = present[0]
    for p in present[1:]:
        keep = pc.or_(keep, p)
    if keep.false_count:  # empty rows, wherever they are, carry nothing to read
        mask = keep.to_numpy(zero_copy_only=False)
        arrays = {name: a.filter(keep) for name, a in arrays.items()}
        rows = rows[mask]
    typed: dict[str, Any] = {ROW: np.asarray(rows, dtype="int64")}
    for name, dtype in columns.items():
        array = arrays[name]
        if dtype == "string":
            typed[name] = _TEXT.__from_arrow__(array)
        elif dtype == "Float64":
            typed[name] = _numbers(sheet, name, array, rows, findings, decimal_comma)
        else:
            typed[name] = _dates(sheet, name, array, rows, findings)
        if typed[name] is None:
            return None
    return pd.DataFrame(typed, copy=False)


def _combined(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.Array):
        return column
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _is_text(array: pa.Array) -> bool:
    return pa.types.is_string(array.type) or pa.types.is_large_string(array.type)


def _text(array: pa.Array) -> pa.Array | None:
    """Text stripped as ``str.strip`` strips it, empty text a gap; None for other kinds."""
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    if not pa.types.is_string(array.type):
        return None
    padded = pc.match_substring_regex(array, _PADDED)
    if padded.true_count:  # rare: a blank typed before or after a code
        array = pa.array([v.strip() if v is not None else None for v in array.to_pylist()])
    empty = pc.equal(array, "")
    if empty.true_count:
        array = pc.if_else(empty, pa.scalar(None, pa.string()), array)
    return array


def _numbers(
    sheet: str,
    column: str,
    array: pa.Array,
    rows: np.ndarray,
    findings: list[Finding],
    decimal_comma: bool,
) -> pd.api.extensions.ExtensionArray | None:
    kind = array.type
    if pa.types.is_null(kind):
        return _FLOAT.__from_arrow__(pa.nulls(len(array), pa.float64()))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        floats = array.cast(pa.float64()).to_numpy(zero_copy_only=False)  # a gap as NaN
        return pd.arrays.FloatingArray(floats, np.isnan(floats))
    if not _is_text(array):
        return None
    text = array  # stripped already
    plain = _PLAIN_NUMBER_DECIMAL_COMMA if decimal_comma else _PLAIN_NUMBER
    if pc.all(pc.match_substring_regex(text, plain)).as_py() is not False:
        dotted = pc.replace_substring(text, ",", ".") if decimal_comma else text
        floats = dotted.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if np.isinf(floats).any():  # too large a number: the general path says so
            return _numbers_by_value(sheet, column, text, rows, findings, decimal_comma)
        return pd.arrays.FloatingArray(floats, np.isnan(floats))
    return _numbers_by_value(sheet, column, text, rows, findings, decimal_comma)


def _numbers_by_value(
    sheet: str,
    column: str,
    text: pa.Array,
    rows: np.ndarray,
    findings: list[Finding],
    decimal_comma: bool,
) -> pd.api.extensions.ExtensionArray:
    values = text.to_pylist()
    return typed_numbers(
        sheet, column, values, _kinds(values), rows.tolist(), findings, decimal_comma
    )


def _dates(
    sheet: str, column: str, array: pa.Array, rows: np.ndarray, findings: list[Finding]
) -> np.ndarray | pd.api.extensions.ExtensionArray | None:
    kind = array.type
    if pa.types.is_null(kind):
        return np.full(len(array), np.datetime64("NaT"), dtype="datetime64[ns]")
    text = None
    if _is_text(array):
        text = array  # stripped already
        if pc.all(pc.match_substring_regex(text, _PLAIN_DATE)).as_py() is False:
            values = text.to_pylist()
            return typed_dates(sheet, column, values, _kinds(values), rows.tolist(), findings)
        try:
            array = text.cast(pa.date32())
        except pa.ArrowInvalid:  # no such day: the general path names it
            values = text.to_pylist()
            return typed_dates(sheet, column, values, _kinds(values), rows.tolist(), findings)
    if not (pa.types.is_date(array.type) or pa.types.is_timestamp(array.type)):
        return None
    stamps = array.cast(pa.timestamp("us"))
    if len(stamps) and stamps.null_count < len(stamps):
        low, high = pc.min_max(stamps).values()
        if pc.less(low, _FIRST_DAY).as_py() or pc.greater(high, _LAST_DAY).as_py():
            if text is None:
                return None  # a workbook's date past what can be stored: the general path
            values = text.to_pylist()
            return typed_dates(sheet, column, values, _kinds(values), rows.tolist(), findings)
    return stamps.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False)


def _kinds(values: list[Any]) -> set[type]:
    return set(map(type, values))
