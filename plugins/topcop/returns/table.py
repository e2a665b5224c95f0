"""Typing a table: the rows under a header row, found by name, into the model's typed columns.

Where the columns are is read from the header row, by name, wherever they sit: a
leading unnamed index column (as ``DataFrame.to_excel()`` writes one) or a column
the template does not have is passed over. What each value means is
``topcop.returns.values``' business; here the columns are gathered, emptied rows
dropped, and each column handed over whole, so a 100,000-row seizures sheet is
typed in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, compress
from operator import itemgetter
from types import NoneType
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from topcop import config
from topcop.findings import ERROR, WARNING, Finding, file_error
from topcop.i18n import Number, msg
from topcop.returns.model import COLUMNS, ROW
from topcop.returns.values import cell_text, typed_dates, typed_numbers, typed_texts

HEADER_SEARCH_ROWS = 10  # how far down a pushed-down header is looked for


def type_table(
    sheet: str,
    cells: Sequence[Sequence[Any]],
    numbers: Sequence[int],
    findings: list[Finding],
    *,
    decimal_comma: bool = False,
) -> pd.DataFrame | None:
    """Type the rows under a header row into the model's columns, plus ``row``.

    Text columns holding nothing but text are typed together, and a number or date
    column of one kind of value converts in one step; only a column that mixes kinds
    (text in a number column, say) is typed value by value, with pandas.
    """
    columns = COLUMNS[sheet]
    if all(_is_blank_row(r) for r in cells):
        findings.append(
            Finding(
                sheet, None, None, None, "sheet_empty", ERROR,
                msg(
                    "The sheet '{sheet}' is empty: even its header row is missing. Use the "
                    "template as sent.",
                    sheet=sheet,
                ),
            )
        )  # fmt: skip
        return None
    positions = _header_positions(sheet, cells[0], columns, findings)
    if len(positions) < len(columns):
        findings.extend(_header_below(sheet, cells, numbers, columns, len(positions)))
    data = _padded(cells[1:])
    width = len(data[0]) if data else 0
    found = {name: position for name, position in positions.items() if position < width}
    cleaned = _plain_texts(data, {n: p for n, p in found.items() if columns[n] == "string"})
    for name in columns:
        if name in cleaned:
            continue
        if name in found:
            cleaned[name] = _clean(list(map(itemgetter(found[name]), data)))
        else:
            cleaned[name] = _absent(len(data))
    rows = list(numbers[1:])
    keep = _kept(cleaned.values())  # empty rows, wherever they are, carry nothing to read
    if keep is not None:
        rows = list(compress(rows, keep))
        cleaned = {name: column.kept(keep) for name, column in cleaned.items()}

    typed: dict[str, Any] = {ROW: np.array(rows, dtype="int64")}
    for name, dtype in columns.items():
        values, kinds = cleaned[name]
        if dtype == "Float64":
            typed[name] = typed_numbers(sheet, name, values, kinds, rows, findings, decimal_comma)
        elif dtype.startswith("datetime"):
            typed[name] = typed_dates(sheet, name, values, kinds, rows, findings)
        else:
            typed[name] = typed_texts(values, kinds)
    return pd.DataFrame(typed, copy=False)


def _is_blank_row(row: Sequence[Any]) -> bool:
    return not any(cell_text(v) for v in row)


def _header_positions(
    sheet: str, header: Sequence[Any], columns: dict[str, str], findings: list[Finding]
) -> dict[str, int]:
    positions: dict[str, int] = {}
    for position, cell in enumerate(header):
        name = cell_text(cell).lower()
        if not name:
            continue
        if name not in columns:
            findings.append(
                Finding(
                    sheet, 1, name, cell_text(cell), "column_unknown", WARNING,
                    msg(
                        "The column '{column}' is not part of the template and was ignored.",
                        column=cell_text(cell),
                    ),
                )
            )  # fmt: skip
        elif name in positions:
            findings.append(
                Finding(
                    sheet, 1, name, cell_text(cell), "column_duplicate", ERROR,
                    msg(
                        "The column '{column}' appears twice in the header; only the first was "
                        "read. Delete the copy.",
                        column=name,
                    ),
                )
            )  # fmt: skip
        else:
            positions[name] = position
    for name in columns:
        if name not in positions:
            findings.append(
                Finding(
                    sheet, 1, name, None, "column_missing", ERROR,
                    msg(
                        "The header row has no column '{column}'. Use the template as sent and "
                        "do not rename or delete columns.",
                        column=name,
                    ),
                )
            )  # fmt: skip
    return positions


def _header_below(
    sheet: str,
    cells: Sequence[Sequence[Any]],
    numbers: Sequence[int],
    columns: dict[str, str],
    in_first_row: int,
) -> list[Finding]:
    """A header pushed down by a title row: say where it is rather than only what is missing."""
    for row, number in zip(
        cells[1:HEADER_SEARCH_ROWS], numbers[1:HEADER_SEARCH_ROWS], strict=False
    ):
        names = {cell_text(v).lower() for v in row} & set(columns)
        if len(names) > max(in_first_row, len(columns) // 2):
            return [
                Finding(
                    sheet, number, None, None, "header_not_first_row", ERROR,
                    msg(
                        "The column names are in row {row}, not in row 1. Delete the rows above "
                        "them so that the header is the first row, as in the template.",
                        row=number,
                    ),
                )
            ]  # fmt: skip
    return []


class _Column(NamedTuple):
    """A column's values, text stripped and empty text None, and the kinds of value in it.

    ``values`` is a list, or text already typed with the other plain text columns.
    ``kinds`` never misses the type of a value, but may name one no value has any more.
    """

    values: list[Any] | pd.api.extensions.ExtensionArray
    kinds: set[type]

    def gaps(self) -> np.ndarray:
        """Where the column holds no value."""
        if isinstance(self.values, list):
            return np.fromiter((v is None for v in self.values), bool, len(self.values))
        return np.asarray(self.values.isna())

    def kept(self, keep: np.ndarray) -> _Column:
        if isinstance(self.values, list):
            return _Column(list(compress(self.values, keep)), self.kinds)
        return _Column(self.values[keep], self.kinds)


def _padded(rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
    """Rows of one width: a CSV record may be short, and None fills it out to the widest."""
    widths = set(map(len, rows))
    if len(widths) < 2:
        return rows
    width = max(widths)
    return [[*row, *[None] * (width - len(row))] for row in rows]


def _plain_texts(rows: Sequence[Sequence[Any]], positions: dict[str, int]) -> dict[str, _Column]:
    """The text columns holding nothing but text, stripped and typed together.

    calamine makes the cells row by row; reading down one column after another jumps
    across memory at every cell and costs several times more than one pass along the
    rows. So the columns are read together from one text array, then gathered.
    """
    kinds = _kinds(rows, list(positions.values()))
    plain = {name: p for (name, p), k in zip(positions.items(), kinds, strict=True) if k == {str}}
    if not plain:
        return {}
    width = len(plain)
    cells = map(str.strip, _cells(rows, list(plain.values())))
    stripped = np.fromiter(cells, dtype=object, count=len(rows) * width)
    empty = stripped == ""
    stripped[empty] = None
    texts = pd.array(stripped, dtype="string", copy=False)
    gaps = empty.reshape(len(rows), width).any(axis=0)
    return {
        name: _Column(_gathered(texts[i::width]), {str, NoneType} if gaps[i] else {str})
        for i, name in enumerate(plain)
    }


def _gathered(column: pd.api.extensions.ExtensionArray) -> pd.api.extensions.ExtensionArray:
    """The column as one contiguous array whose equal texts are one object.

    calamine makes a new text object for every cell, in row order, so a column's
    texts lie scattered through memory. Each later pass down the column (the
    validation makes dozens) then waits on memory at almost every cell: such a
    column validated about 1.5 times slower than the same one unpickled. A column of
    codes holds a few distinct texts; pointing every cell at one copy of each keeps
    the column's texts together (factorize hashes them once, in C).
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return uniques.take(codes, allow_fill=True)


def _kinds(rows: Sequence[Sequence[Any]], positions: list[int]) -> list[set[type]]:
    """The kinds of value in each column at ``positions``, from passes along the rows."""
    if not positions or not rows:
        return [set() for _ in positions]
    every = set(map(type, _cells(rows, positions)))
    if len(every) == 1:  # text columns as calamine reads them (empty cells are ""): one pass
        return [set(every) for _ in positions]
    types = map(type, _cells(rows, positions))
    signatures = set(zip(*[types] * len(positions), strict=True))  # few rows differ in kinds
    return [{signature[i] for signature in signatures} for i in range(len(positions))]


def _cells(rows: Sequence[Sequence[Any]], positions: list[int]) -> Iterator[Any]:
    """The cells at ``positions``, row by row."""
    if len(positions) == 1:
        return map(itemgetter(positions[0]), rows)
    return chain.from_iterable(map(itemgetter(*positions), rows))


def _clean(raw: Sequence[Any]) -> _Column:
    """Strip text once per column and make empty text None."""
    kinds = set(map(type, raw))
    if str not in kinds:
        return _Column(list(raw), kinds)
    if kinds == {str}:
        values = list(map(str.strip, raw))
    else:
        values = [v.strip() if type(v) is str else v for v in raw]
    if "" in values:
        values = [None if type(v) is str and not v else v for v in values]
        kinds = set(map(type, values))  # a number column's empty cells leave no text
    return _Column(values, kinds)


def _absent(length: int) -> _Column:
    """A column the header lacks: no value in any row (never NaN, which would read as "nan")."""
    return _Column([None] * length, {NoneType})


def _kept(columns: Iterable[_Column]) -> np.ndarray | None:
    """Which rows hold a value in some column; None when every row does."""
    columns = list(columns)
    if any(NoneType not in c.kinds for c in columns):  # a column without a gap
        return None
    return ~np.logical_and.reduce([c.gaps() for c in columns])


def too_large(sheet: str, rows: int, columns: int, lim: config.Limits) -> Finding:
    """A table past a limit; for a CSV file, counted up to the first line past it."""
    return file_error(
        "file_sheet_too_large",
        msg(
            "'{sheet}' goes past the limits at row {rows} ({columns} values in that row); at most "
            "{max_rows} rows, {max_columns} columns and {max_cells} values in all are accepted. "
            "Delete anything typed far below or to the right of the data.",
            sheet=sheet,
            rows=Number(rows),
            columns=columns,
            max_rows=Number(lim.max_rows_per_sheet),
            max_columns=lim.max_columns_per_sheet,
            max_cells=Number(lim.max_cells_per_sheet),
        ),
        f"row {rows}",
    )
