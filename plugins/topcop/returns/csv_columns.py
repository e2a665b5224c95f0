"""Reading a CSV return's records straight into Arrow columns (pyarrow.csv), when plain.

The csv module makes a Python list per record and a text object per value; pyarrow
parses the whole file into columns in C. It is used only for a file both read alike,
which is nearly every file: every record as wide as the header, no line break inside
a quoted value, quotes only around whole values, no NUL and no value longer than the
csv module's field limit. Any other file is read by ``csv_return`` record by record,
which says what is odd about it; both give the same table and findings
(tests/test_reader_columns.py). The record's line numbers come from the bytes: a
record is a line, and an empty line is no record (to either reader, in effect: the
csv module's empty record is dropped with the empty rows).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from topcop.config import Limits
from topcop.findings import Finding
from topcop.returns.columns import model_positions, typed_table

_QUOTE, _NEWLINE, _RETURN = ord('"'), ord("\n"), ord("\r")


def read_plain(
    data: bytes, separator: str, dataset: str, lim: Limits, *, decimal_comma: bool
) -> tuple[pd.DataFrame, list[Finding]] | None:
    """The dataset's typed table and its findings; None when the file is not plain."""
    if b"\x00" in data:
        return None
    lines = _record_lines(data, separator, lim)
    if lines is None:
        return None
    first = data[: _first_line_end(data)].rstrip(b"\r").decode()
    header = next(csv.reader(io.StringIO(first), delimiter=separator), [])
    positions = model_positions(dataset, header)
    if positions is None or len(header) > lim.max_columns_per_sheet:
        return None
    if len(header) * len(lines) > lim.max_cells_per_sheet:
        return None
    names = [f"f{i}" for i in range(len(header))]
    uneven = []

    def invalid(row: pa_csv.InvalidRow) -> str:
        uneven.append(row)
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pa_csv.ParseOptions(delimiter=separator, invalid_row_handler=invalid),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if uneven or table.num_rows != len(lines) - 1:
        return None
    findings: list[Finding] = []
    typed = typed_table(dataset, table, positions, lines[1:], findings, decimal_comma=decimal_comma)
    return None if typed is None else (typed, findings)


def _first_line_end(data: bytes) -> int:
    end = data.find(b"\n")
    return len(data) if end < 0 else end


def _record_lines(data: bytes, separator: str, lim: Limits) -> np.ndarray | None:
    """The 1-based line of each record (header first), or None when a record is not a line.

    Not a line: a line break inside quotes, a quote inside a value, a lone carriage
    return, a first line that is empty, a value over the csv module's field limit.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(buffer == _NEWLINE)
    returns = np.flatnonzero(buffer == _RETURN)
    if len(returns) and (returns[-1] + 1 >= len(buffer) or (buffer[returns + 1] != _NEWLINE).any()):
        return None
    quotes = np.flatnonzero(buffer == _QUOTE)
    if len(quotes) and not _quotes_plain(buffer, quotes, breaks, ord(separator)):
        return None
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(buffer)]))
    lengths = ends - starts
    if len(returns):
        lengths[np.searchsorted(starts, returns, side="right") - 1] -= 1
    if lengths.max(initial=0) > csv.field_size_limit() or lengths[0] <= 0:
        return None
    if len(lengths) > lim.max_rows_per_sheet + 2:
        return None  # the csv module counts the records up to the limit and says so
    return np.flatnonzero(lengths > 0).astype("int64") + 1


def _quotes_plain(
    buffer: np.ndarray, quotes: np.ndarray, breaks: np.ndarray, separator: int
) -> bool:
    """Quotes only around whole values (doubled inside), and no line break between a pair.

    Counted from the start, an even quote opens a value (after a separator or a line
    break) unless it follows the quote before it (a doubled quote); an odd one closes
    it (before a separator or a line break) unless the next quote follows it.
    """
    if len(quotes) % 2 or (np.searchsorted(quotes, breaks) % 2).any():
        return False
    before = np.where(quotes > 0, buffer[np.maximum(quotes - 1, 0)], _NEWLINE)
    after = np.where(
        quotes + 1 < len(buffer), buffer[np.minimum(quotes + 1, len(buffer) - 1)], _NEWLINE
    )
    edge = (separator, _NEWLINE, _RETURN)
    doubled_before = np.concatenate(([False], np.diff(quotes) == 1))
    doubled_after = np.concatenate((np.diff(quotes) == 1, [False]))
    opening = np.isin(before, edge) | doubled_before
    closing = np.isin(after, edge) | doubled_after
    return bool(opening[0::2].all() and closing[1::2].all())
