"""How a cell's value is read: numbers, dates and text as the region's focal points write them.

One place for the locale rules (digits grouped by spaces, a decimal comma in
semicolon-separated files, day.month.year dates, a spreadsheet's midnight time on a
date) and for how a cell is quoted back in a finding: always the text the file
holds, or "empty", never a Python or pandas spelling of "no value" (``nan``,
``None``, ``NaT``, ``<NA>``) that a focal point cannot find in the file.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from types import NoneType
from typing import Any

import numpy as np
import pandas as pd

from topcop.findings import ERROR, Finding
from topcop.i18n import msg

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_DECIMAL_COMMA = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"
# Digits grouped by thousands with a space (also no-break, narrow no-break and thin spaces).
_GROUP_SPACE = "[ \u00a0\u202f\u2009]"
_GROUPED = rf"[+-]?\d{{1,3}}(?:{_GROUP_SPACE}\d{{3}})+(?:\.\d+)?"
_GROUPED_DECIMAL_COMMA = rf"[+-]?\d{{1,3}}(?:{_GROUP_SPACE}\d{{3}})+(?:[.,]\d+)?"
_COMMA_GROUP = re.compile(r"[+-]?\d{1,3},\d{3}")
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
# 15.08.2026, as the region's systems write dates (CLDR's ru, uk, ro, ka, hy, az: dd.MM.y).
# A spreadsheet in those locales saves a date-time cell as CSV with its time after the
# date: "24.09.2026 0:00" (Excel), "24.09.2026 00:00:00" (LibreOffice), "24.09.2026, 0:00"
# (CLDR's date-time pattern). Midnight is the date itself; any other time is refused.
_DOTTED_DATE = re.compile(
    r"(?P<date>\d{1,2}\.\d{1,2}\.\d{4})"
    r"(?:,?\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?)?"
)
# Kinds of value a column can hold and be typed without looking at each value.
_TEXT_KINDS = frozenset({str, NoneType})
_NUMBER_KINDS = frozenset({float, int, NoneType})
# The days whose midnight a datetime64[ns] column can store.
_FIRST_DAY = pd.Timestamp.min.ceil("D").date()
_LAST_DAY = pd.Timestamp.max.floor("D").date()
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
EMPTY = "empty"  # how a cell without a value is named in a finding


def typed_texts(
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
        values[other] = values[other].map(lambda v: cell_text(v) or None)
    return values.astype("string")


def typed_numbers(
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
            msg(
                "'{value}' could be {whole} (comma separating thousands) or {decimal} (comma as "
                "decimal mark). Write {whole} or {decimal}: digits only, a dot for decimals.",
                value=value, whole=whole, decimal=decimal,
            ),
        )  # fmt: skip
    return Finding(
        sheet, row, column, value, "type_number", ERROR,
        msg(
            "{value} is not a number. Enter digits only, with a dot for decimals (for example "
            "1250.5); units and notes go in their own columns.",
            value=quoted(value),
        ),
    )  # fmt: skip


def typed_dates(
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
            parse_dates(values[kind.eq(str)].astype(object)),
        ]
    )
    parsed = parsed[parsed.notna() & parsed.ge(pd.Timestamp.min) & parsed.le(pd.Timestamp.max)]
    out[parsed.index] = parsed.astype("datetime64[ns]")
    bad = values.index[~kind.eq(NoneType)].difference(parsed.index)
    for i in bad:
        findings.append(not_a_date(sheet, int(rows[i]), column, values[i], kind[i]))
    return out


def parse_dates(text: pd.Series) -> pd.Series:
    """ISO dates (time allowed) and day.month.year (midnight allowed); else, or no such day, NaT."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    iso = text.str.fullmatch(_ISO_DATE)
    if iso.any():
        out[iso] = pd.to_datetime(text[iso], format="ISO8601", errors="coerce")
    dotted = text[~iso].str.extract(f"^(?:{_DOTTED_DATE.pattern})$")
    day = dotted["date"].notna()
    if day.any():
        midnight = dotted.loc[day, ["hour", "minute", "second"]].fillna("0").astype(int).eq(0)
        at_midnight = midnight.all(axis=1)
        days = dotted.loc[day, "date"][at_midnight]
        out[days.index] = pd.to_datetime(days, format="%d.%m.%Y", errors="coerce")
    return out


def time_of_day(text: str) -> str | None:
    """The time written after a day.month.year date when it is not midnight, else None."""
    m = _DOTTED_DATE.fullmatch(text.strip())
    if m is None or m["hour"] is None:
        return None
    hms = (int(m["hour"]), int(m["minute"]), int(m["second"] or 0))
    return None if hms == (0, 0, 0) else text.strip()[m.start("hour") :]


def not_a_date(sheet: str, row: int | None, column: str, value: Any, kind: type) -> Finding:
    """Why a cell is not read as a date, quoting the cell."""
    clock = time_of_day(value) if isinstance(value, str) else None
    shown = quoted(value)
    if kind in (float, int):
        message = msg(
            "{value} is a number, not a date. Write dates as YYYY-MM-DD (for example 2026-08-15) "
            "or format the cell as a date.",
            value=shown,
        )
    elif kind in (date, datetime):
        message = msg(
            "{value} is outside the range of dates that can be stored. Write dates as YYYY-MM-DD "
            "(for example 2026-08-15) or format the cell as a date.",
            value=shown,
        )
    elif clock is not None:
        message = msg(
            "{value} has a time of day ({time}); the column holds dates only. Write the date "
            "alone, or a time of 00:00. Write dates as YYYY-MM-DD (for example 2026-08-15) or "
            "format the cell as a date.",
            value=shown,
            time=clock,
        )
    else:
        message = msg(
            "{value} is not a date. Write dates as YYYY-MM-DD (for example 2026-08-15) or format "
            "the cell as a date.",
            value=shown,
        )
    return Finding(sheet, row, column, value, "type_date", ERROR, message)


# --- small pieces ----------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as the text a focal point sees in it, without surrounding blanks ("" if none)."""
    if is_empty(value):
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


def is_empty(value: Any) -> bool:
    """No value, in any of the spellings Python, numpy and pandas have for it."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, np.datetime64 | np.timedelta64) and np.isnat(value)


def quoted(value: Any) -> str:
    """A cell as a finding quotes it: its text in quotes, or "empty"."""
    if isinstance(value, str):
        return f"'{value}'"
    return cell_text(value) or EMPTY
