"""Reading a return file into typed tables, with every problem in it turned into a finding.

The reader is where untrusted files meet the pipeline: whatever a focal point sends
(a damaged workbook, text in a number column, a renamed header) ends as a
``Finding`` that says sheet, row, column and value, never as a traceback. It only
reads and types; what the values must satisfy is the validation's business.

Workbooks are read with calamine, which takes the values Excel cached and never
evaluates a formula. Typing is done per column, not per cell in Python (only a
column mixing kinds of value, such as text among numbers, goes through pandas
value by value), so a 100,000-row seizures sheet reads in a couple of seconds.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from itertools import chain, compress
from operator import itemgetter
from pathlib import Path
from types import NoneType
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from topcop import config
from topcop.findings import ERROR, WARNING, Finding, file_error, has_errors
from topcop.periods import Period, PeriodError
from topcop.returns.inspect import inspect_file, looks_utf16
from topcop.returns.model import (
    COLUMNS,
    DATA_SHEETS,
    INDICATORS_SHEET,
    METADATA_FIELDS,
    METADATA_SHEET,
    OPTIONAL_METADATA_FIELDS,
    ROW,
    SEIZURES_SHEET,
    ReturnFile,
)

CSV_NAME = re.compile(
    r"^(?P<country>[A-Za-z]{2})_(?P<period>\d{4}(?:-[QqMmSs]\d{1,2})?)_"
    r"(?P<dataset>indicators|seizures)\.csv$",
    re.IGNORECASE,
)
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_DECIMAL_COMMA = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"
# Digits grouped by thousands with a space (also no-break, narrow no-break and thin spaces).
_GROUP_SPACE = "[ \u00a0\u202f\u2009]"
_GROUPED = rf"[+-]?\d{{1,3}}(?:{_GROUP_SPACE}\d{{3}})+(?:\.\d+)?"
_GROUPED_DECIMAL_COMMA = rf"[+-]?\d{{1,3}}(?:{_GROUP_SPACE}\d{{3}})+(?:[.,]\d+)?"
_COMMA_GROUP = re.compile(r"[+-]?\d{1,3},\d{3}")
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DOTTED_DATE = r"\d{1,2}\.\d{1,2}\.\d{4}"  # 15.08.2026, as the region's systems write dates
_DATE_FIELDS = frozenset({"submission_date"})
HEADER_SEARCH_ROWS = 10  # how far down a pushed-down header is looked for
# Kinds of value a column can hold and be typed without looking at each value.
_TEXT_KINDS = frozenset({str, NoneType})
_NUMBER_KINDS = frozenset({float, int, NoneType})
# The days whose midnight a datetime64[ns] column can store.
_FIRST_DAY = pd.Timestamp.min.ceil("D").date()
_LAST_DAY = pd.Timestamp.max.floor("D").date()
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

NUMBER_HINT = (
    "Enter digits only, with a dot for decimals (for example 1250.5); units and notes go in "
    "their own columns."
)
DATE_HINT = "Write dates as YYYY-MM-DD (for example 2026-08-15) or format the cell as a date."


def read_return(path: Path) -> ReturnFile:
    """Read one received file (template workbook or CSV) into a ``ReturnFile``."""
    path = Path(path)
    file_format = "csv" if path.suffix.lower() == ".csv" else "xlsx"
    result = ReturnFile(path=path, file_format=file_format)
    result.findings.extend(inspect_file(path))
    if has_errors(result.findings):
        return result
    if file_format == "csv":
        _read_csv(path, result)
    else:
        _read_xlsx(path, result)
    return result


# --- workbooks -------------------------------------------------------------------


def _read_xlsx(path: Path, result: ReturnFile) -> None:
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
        setattr(result, dataset, _table(dataset, cells, numbers, result.findings))


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
                    findings.append(_too_large(name, sheet.height, sheet.width, lim))
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
    """Field names in column A, values in column B, from row 2 (row 1 is the header)."""
    values: dict[str, Any] = dict.fromkeys(METADATA_FIELDS)
    findings = result.findings
    for number, row in enumerate(cells[1:], start=2):
        name = _text(row[0]).lower() if row else ""
        if not name:
            continue
        raw = row[1] if len(row) > 1 else ""
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


def _metadata_value(name: str, raw: Any, row: int, findings: list[Finding]) -> Any:
    if name not in _DATE_FIELDS:
        return _text(raw) or None
    if type(raw) is datetime:
        return raw.date()
    if type(raw) is date:
        return raw
    text = _text(raw)
    if not text:
        return None
    parsed = _parse_dates(pd.Series([text]))[0]
    if pd.isna(parsed):
        findings.append(
            Finding(
                METADATA_SHEET, row, "value", raw, "type_date", ERROR,
                f"'{text}' is not a date. {DATE_HINT}",
            )
        )  # fmt: skip
        return None
    return parsed.date()


# --- CSV -------------------------------------------------------------------------


def _read_csv(path: Path, result: ReturnFile) -> None:
    m = CSV_NAME.match(path.name)
    period = _csv_period(m)
    if m is None or period is None:
        result.findings.append(
            file_error(
                "file_csv_name",
                "A CSV return must be named <country>_<period>_<dataset>.csv, for example "
                "GE_2026-Q3_indicators.csv or GE_2026-Q3_seizures.csv.",
                path.name,
            )
        )
        return
    dataset = m["dataset"].lower()
    result.metadata = {"country": m["country"].upper(), "period": period}
    text = _decode(path.read_bytes(), result.findings)
    if text is None:
        return
    separator = _separator(text, dataset)
    parsed = _parse_csv(text, separator, dataset, result.findings)
    if parsed is None:
        return
    records, lines = parsed
    # Semicolon-separated files come from locales that write decimals with a comma.
    table = _table(dataset, records, lines, result.findings, decimal_comma=separator == ";")
    setattr(result, dataset, table)


def _csv_period(m: re.Match[str] | None) -> str | None:
    if m is None:
        return None
    try:
        return Period.parse(m["period"].upper()).code
    except PeriodError:
        return None


def _decode(raw: bytes, findings: list[Finding]) -> str | None:
    """UTF-8, with or without a byte-order mark; anything else is refused, naming what it is.

    A file in a Windows code page is not decoded by guessing: Romanian text in
    Windows-1250 and Russian text in KOI8-R both decode "successfully" as Windows-1251,
    into wrong letters nobody would notice in the warehouse. Saving as UTF-8 costs the
    focal point a minute.
    """
    if looks_utf16(raw[:512]):
        findings.append(
            file_error(
                "file_encoding",
                "The CSV file is saved as UTF-16 ('Unicode text'). Save it as 'CSV UTF-8 (Comma "
                "delimited)' and send it again.",
                "UTF-16",
            )
        )
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        findings.append(
            file_error(
                "file_encoding",
                f"The CSV file is not UTF-8 text (first unreadable character on line {line}); it "
                f"was probably saved in {_code_page(raw)}. Save it as 'CSV UTF-8 (Comma "
                "delimited)' and send it again.",
                f"line {line}",
            )
        )
        return None


def _code_page(raw: bytes) -> str:
    """Name the likely code page only when its letters say so: Cyrillic text in Windows-1251."""
    try:
        text = raw.decode("cp1251")
    except UnicodeDecodeError:
        return "a local code page"
    foreign = [c for c in text if ord(c) > 127 and c.isalpha()]
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in foreign)
    if foreign and cyrillic >= 0.9 * len(foreign):
        return "the Windows-1251 (Cyrillic) code page"
    return "a local code page"


def _parse_csv(
    text: str, separator: str, dataset: str, findings: list[Finding]
) -> tuple[list[list[str]], list[int]] | None:
    """Records and the file line each starts on (a quoted value may span lines)."""
    lim = config.limits()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    records: list[list[str]] = []
    lines: list[int] = []
    lines_read = cells = 0
    try:
        for record in reader:
            # A record starts on the line after the previous one ended (blank lines are records).
            lines.append(lines_read + 1)
            records.append(record)
            lines_read = reader.line_num
            cells += len(record)
            # Stop at the first record over a limit: memory stays bounded by the limits.
            if (
                len(records) - 1 > lim.max_rows_per_sheet
                or len(record) > lim.max_columns_per_sheet
                or cells > lim.max_cells_per_sheet
            ):
                findings.append(_too_large(dataset, len(records), len(record), lim))
                return None
    except csv.Error as e:
        findings.append(_csv_error(e, reader.line_num + 1))
        return None
    header = len(records[0]) if records else 0
    for record, line in zip(records[1:], lines[1:], strict=True):
        if len(record) > header:
            findings.append(
                Finding(
                    dataset, line, None, len(record), "csv_field_count", ERROR,
                    f"This line has {len(record)} values but the header has {header} names: a "
                    "value probably contains the separator. Put such values in double quotes.",
                )
            )  # fmt: skip
    return records, lines


def _csv_error(error: csv.Error, line: int) -> Finding:
    if "field larger than field limit" in str(error):
        # The csv module refuses values over 131,072 characters, far over any text limit.
        return file_error(
            "file_unreadable",
            f"A value starting near line {line} runs over {csv.field_size_limit():,} "
            f"characters; a text in a return has at most {config.limits().max_text_length:,}. "
            "A double quote is probably not closed: check the quotes around that line.",
            str(error),
        )
    return file_error(
        "file_unreadable", f"The CSV file cannot be read near line {line}: {error}.", str(error)
    )


def _separator(text: str, dataset: str) -> str:
    """Comma or semicolon: whichever splits the header into more of the model's column names."""
    header = text.split("\n", 1)[0]
    names = set(COLUMNS[dataset])

    def score(sep: str) -> tuple[int, int]:
        parts = [p.strip().strip('"').lower() for p in header.split(sep)]
        return len(names.intersection(parts)), len(parts)

    return max((",", ";"), key=score)


# --- typing a table --------------------------------------------------------------


def _table(
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
                f"The sheet '{sheet}' is empty: even its header row is missing. Use the "
                "template as sent.",
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
            typed[name] = _numbers(sheet, name, values, kinds, rows, findings, decimal_comma)
        elif dtype.startswith("datetime"):
            typed[name] = _dates(sheet, name, values, kinds, rows, findings)
        else:
            typed[name] = _texts(values, kinds)
    return pd.DataFrame(typed, copy=False)


def _is_blank_row(row: Sequence[Any]) -> bool:
    return not any(_text(v) for v in row)


def _header_positions(
    sheet: str, header: Sequence[Any], columns: dict[str, str], findings: list[Finding]
) -> dict[str, int]:
    positions: dict[str, int] = {}
    for position, cell in enumerate(header):
        name = _text(cell).lower()
        if not name:
            continue
        if name not in columns:
            findings.append(
                Finding(
                    sheet, 1, name, _text(cell), "column_unknown", WARNING,
                    f"The column '{_text(cell)}' is not part of the template and was ignored.",
                )
            )  # fmt: skip
        elif name in positions:
            findings.append(
                Finding(
                    sheet, 1, name, _text(cell), "column_duplicate", ERROR,
                    f"The column '{name}' appears twice in the header; only the first was read. "
                    "Delete the copy.",
                )
            )  # fmt: skip
        else:
            positions[name] = position
    for name in columns:
        if name not in positions:
            findings.append(
                Finding(
                    sheet, 1, name, None, "column_missing", ERROR,
                    f"The header row has no column '{name}'. Use the template as sent and do "
                    "not rename or delete columns.",
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
        names = {_text(v).lower() for v in row} & set(columns)
        if len(names) > max(in_first_row, len(columns) // 2):
            return [
                Finding(
                    sheet, number, None, None, "header_not_first_row", ERROR,
                    f"The column names are in row {number}, not in row 1. Delete the rows above "
                    "them so that the header is the first row, as in the template.",
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
    """A column the header lacks: what pandas fills an object column of no values with."""
    values = list(pd.Series(None, index=range(length), dtype=object))
    return _Column(values, set(map(type, values)))


def _kept(columns: Iterable[_Column]) -> np.ndarray | None:
    """Which rows hold a value in some column; None when every row does."""
    columns = list(columns)
    if any(NoneType not in c.kinds for c in columns):  # a column without a gap
        return None
    return ~np.logical_and.reduce([c.gaps() for c in columns])


def _texts(
    values: list[Any] | pd.api.extensions.ExtensionArray, kinds: set[type]
) -> pd.api.extensions.ExtensionArray:
    if not isinstance(values, list):
        return values  # typed with the other plain text columns
    if kinds <= _TEXT_KINDS:
        return pd.array(values, dtype="string")
    return _texts_of_other_kinds(*_series(values)).array


def _texts_of_other_kinds(values: pd.Series, kind: pd.Series) -> pd.Series:
    other = ~kind.isin([str, NoneType])
    if other.any():
        values = values.copy()
        values[other] = values[other].map(_text)
    return values.astype("string")


def _numbers(
    sheet: str,
    column: str,
    values: list[Any],
    kinds: set[type],
    rows: list[int],
    findings: list[Finding],
    decimal_comma: bool,
) -> pd.api.extensions.ExtensionArray:
    if kinds <= _NUMBER_KINDS:  # as calamine reads a number column: nothing to parse
        floats = np.array(values, dtype=float)  # None as NaN
        return pd.arrays.FloatingArray(floats, np.isnan(floats))
    return _numbers_in_text(sheet, column, values, rows, findings, decimal_comma).array


def _numbers_in_text(
    sheet: str,
    column: str,
    values_read: list[Any],
    rows_read: list[int],
    findings: list[Finding],
    decimal_comma: bool,
) -> pd.Series:
    values, kind = _series(values_read)
    rows = pd.Series(rows_read, dtype="int64")
    out = pd.Series(pd.NA, index=values.index, dtype="Float64")
    is_number = kind.isin([float, int])
    out[is_number] = values[is_number].astype(float)
    text = values[kind.eq(str)].astype(object)
    # "1 234 567" (digits grouped by spaces, as the region's locales show them) is one number.
    grouped = text.str.fullmatch(_GROUPED_DECIMAL_COMMA if decimal_comma else _GROUPED)
    text[grouped] = text[grouped].str.replace(_GROUP_SPACE, "", regex=True)
    good = text.str.fullmatch(_NUMBER_DECIMAL_COMMA if decimal_comma else _NUMBER)
    parsed = text[good].str.replace(",", ".", regex=False).astype(float)
    parsed = parsed[parsed.abs().lt(float("inf"))]
    out[parsed.index] = parsed
    bad = values.index[~is_number & ~kind.eq(NoneType)].difference(parsed.index)
    for i in bad:
        value = values[i]
        findings.append(_not_a_number(sheet, int(rows[i]), column, value, decimal_comma))
    return out


def _series(values: list[Any]) -> tuple[pd.Series, pd.Series]:
    """A column for typing with pandas: its values, as pandas infers them, and their types.

    pandas makes a column of datetimes (or of durations) a datetime64 (timedelta64)
    column; the values are found and reported as such.
    """
    return pd.Series(_objects(values)), pd.Series(_objects(list(map(type, values))))


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _not_a_number(sheet: str, row: int, column: str, value: Any, decimal_comma: bool) -> Finding:
    text = value.strip() if isinstance(value, str) else None
    if text and not decimal_comma and _COMMA_GROUP.fullmatch(text):
        # "1,234": a thousand and more to one locale, one and a bit to the region's own.
        whole, decimal = text.replace(",", ""), text.replace(",", ".")
        return Finding(
            sheet, row, column, value, "type_number_ambiguous", ERROR,
            f"'{value}' could be {whole} (comma separating thousands) or {decimal} (comma as "
            f"decimal mark). Write {whole} or {decimal}: digits only, a dot for decimals.",
        )  # fmt: skip
    return Finding(
        sheet, row, column, value, "type_number", ERROR,
        f"{_quoted(value)} is not a number. {NUMBER_HINT}",
    )  # fmt: skip


def _dates(
    sheet: str,
    column: str,
    values: list[Any],
    kinds: set[type],
    rows: list[int],
    findings: list[Finding],
) -> np.ndarray | pd.api.extensions.ExtensionArray:
    days = _days(values, kinds)
    if days is not None:
        return days
    return _dates_in_text(sheet, column, values, rows, findings).array


def _days(values: list[Any], kinds: set[type]) -> np.ndarray | None:
    """A column of dates, as calamine reads one, that can all be stored; else None."""
    if not kinds <= {date, NoneType}:
        return None
    present = [v for v in values if v is not None] if NoneType in kinds else values
    if present and (min(present) < _FIRST_DAY or max(present) > _LAST_DAY):
        return None
    ordinals = np.fromiter(map(date.toordinal, present), np.int64, len(present))
    days = (ordinals - _EPOCH_ORDINAL).astype("datetime64[D]").astype("datetime64[ns]")
    if present is values:
        return days
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[np.array([v is not None for v in values], dtype=bool)] = days
    return out


def _dates_in_text(
    sheet: str,
    column: str,
    values_read: list[Any],
    rows_read: list[int],
    findings: list[Finding],
) -> pd.Series:
    values, kind = _series(values_read)
    rows = pd.Series(rows_read, dtype="int64")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    is_date = kind.isin([date, datetime])
    parsed = pd.concat(
        [
            pd.to_datetime(values[is_date], errors="coerce").astype("datetime64[us]"),
            _parse_dates(values[kind.eq(str)].astype(object)),
        ]
    )
    parsed = parsed[parsed.notna() & parsed.ge(pd.Timestamp.min) & parsed.le(pd.Timestamp.max)]
    out[parsed.index] = parsed.astype("datetime64[ns]")
    bad = values.index[~kind.eq(NoneType)].difference(parsed.index)
    for i in bad:
        value = values[i]
        if kind[i] in (float, int):
            why = "is a number, not a date"
        elif kind[i] in (date, datetime):
            why = "is outside the range of dates that can be stored"
        else:
            why = "is not a date"
        findings.append(
            Finding(
                sheet, int(rows[i]), column, value, "type_date", ERROR,
                f"{_quoted(value)} {why}. {DATE_HINT}",
            )
        )  # fmt: skip
    return out


def _parse_dates(text: pd.Series) -> pd.Series:
    """ISO dates (time allowed) and day.month.year; anything else, or no such day, is NaT."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    iso = text.str.fullmatch(_ISO_DATE)
    dotted = text.str.fullmatch(_DOTTED_DATE)
    if iso.any():
        out[iso] = pd.to_datetime(text[iso], format="ISO8601", errors="coerce")
    if dotted.any():
        out[dotted] = pd.to_datetime(text[dotted], format="%d.%m.%Y", errors="coerce")
    return out


# --- small pieces ----------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as the text a focal point sees in it, without surrounding blanks."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else _text(value) or repr(value)


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


def _too_large(sheet: str, rows: int, columns: int, lim: config.Limits) -> Finding:
    """A table past a limit; for a CSV file, counted up to the first line past it."""
    return file_error(
        "file_sheet_too_large",
        f"'{sheet}' goes past the limits at row {rows:,} ({columns} values in that row); at "
        f"most {lim.max_rows_per_sheet:,} rows, {lim.max_columns_per_sheet} columns and "
        f"{lim.max_cells_per_sheet:,} values in all are accepted. Delete anything typed far "
        "below or to the right of the data.",
        f"row {rows}",
    )


def _unreadable(error: BaseException) -> Finding:
    return file_error(
        "file_unreadable",
        "The workbook could not be read: it is damaged or not saved by a spreadsheet program "
        "in the .xlsx format. Open it in Excel, save it as 'Excel Workbook (*.xlsx)' and send "
        "it again.",
        f"{type(error).__name__}: {error}",
    )
