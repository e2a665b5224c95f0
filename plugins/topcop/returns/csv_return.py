"""Reading a CSV return: its name, its encoding, its separator and its records.

A CSV return carries one dataset, and its country and period come from its file
name. The text must be UTF-8 (a byte-order mark allowed); the separator is a comma
or a semicolon, whichever splits the header into the model's column names (a
semicolon file comes from a locale that writes a decimal comma). A file separated
by tabs is refused as such, by name, rather than read as one column of nothing.

A plain file is read into columns by ``csv_columns``; any other record by record here.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

from topcop import config
from topcop.findings import ERROR, Finding, file_error
from topcop.i18n import Number, Text, msg
from topcop.periods import Period, PeriodError
from topcop.returns.csv_columns import read_plain
from topcop.returns.inspect import looks_utf16
from topcop.returns.model import COLUMNS, ReturnFile
from topcop.returns.table import too_large, type_table

CSV_NAME = re.compile(
    r"^(?P<country>[A-Za-z]{2})_(?P<period>\d{4}(?:-[QqMmSs]\d{1,2})?)_"
    r"(?P<dataset>indicators|seizures)\.csv$",
    re.IGNORECASE,
)


def read_csv_return(path: Path, result: ReturnFile) -> None:
    m = CSV_NAME.match(path.name)
    period = _csv_period(m)
    if m is None or period is None:
        result.findings.append(
            file_error(
                "file_csv_name",
                msg(
                    "A CSV return must be named <country>_<period>_<dataset>.csv, for example "
                    "GE_2026-Q3_indicators.csv or GE_2026-Q3_seizures.csv."
                ),
                path.name,
            )
        )
        return
    dataset = m["dataset"].lower()
    result.metadata = {"country": m["country"].upper(), "period": period}
    raw = path.read_bytes()
    text = _decode(raw, result.findings)
    if text is None:
        return
    separator = _separator(text, dataset)
    if separator == "\t":
        result.findings.append(
            file_error(
                "file_csv_separator",
                msg(
                    "The CSV file is separated by tabs; a CSV return is separated by commas (or "
                    "by semicolons). Save it as 'CSV UTF-8 (Comma delimited)' and send it again."
                ),
                "tab",
            )
        )
        return
    # Semicolon-separated files come from locales that write decimals with a comma.
    decimal_comma = separator == ";"
    plain = read_plain(
        raw.removeprefix(codecs.BOM_UTF8), separator, dataset, config.limits(),
        decimal_comma=decimal_comma,
    )  # fmt: skip
    if plain is not None:
        table, found = plain
        result.findings.extend(found)
        setattr(result, dataset, table)
        return
    parsed = _parse_csv(text, separator, dataset, result.findings)
    if parsed is None:
        return
    records, lines = parsed
    table = type_table(dataset, records, lines, result.findings, decimal_comma=decimal_comma)
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
                msg(
                    "The CSV file is saved as UTF-16 ('Unicode text'). Save it as 'CSV UTF-8 "
                    "(Comma delimited)' and send it again."
                ),
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
                msg(
                    "The CSV file is not UTF-8 text (first unreadable character on line {line}); "
                    "it was probably saved in {code_page}. Save it as 'CSV UTF-8 (Comma "
                    "delimited)' and send it again.",
                    line=line,
                    code_page=_code_page(raw),
                ),
                f"line {line}",
            )
        )
        return None


def _code_page(raw: bytes) -> Text:
    """Name the likely code page only when its letters say so: Cyrillic text in Windows-1251."""
    try:
        text = raw.decode("cp1251")
    except UnicodeDecodeError:
        return msg("a local code page")
    foreign = [c for c in text if ord(c) > 127 and c.isalpha()]
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in foreign)
    if foreign and cyrillic >= 0.9 * len(foreign):
        return msg("the Windows-1251 (Cyrillic) code page")
    return msg("a local code page")


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
                findings.append(too_large(dataset, len(records), len(record), lim))
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
                    msg(
                        "This line has {values} values but the header has {names} names: a value "
                        "probably contains the separator. Put such values in double quotes.",
                        values=len(record),
                        names=header,
                    ),
                )
            )  # fmt: skip
    return records, lines


def _csv_error(error: csv.Error, line: int) -> Finding:
    if "field larger than field limit" in str(error):
        # The csv module refuses values over 131,072 characters, far over any text limit.
        return file_error(
            "file_unreadable",
            msg(
                "A value starting near line {line} runs over {field_limit} characters; a text in "
                "a return has at most {max_text_length}. A double quote is probably not closed: "
                "check the quotes around that line.",
                line=line,
                field_limit=Number(csv.field_size_limit()),
                max_text_length=Number(config.limits().max_text_length),
            ),
            str(error),
        )
    # The csv module's own words (English) say what it met.
    cannot = msg(
        "The CSV file cannot be read near line {line}: {error}.", line=line, error=str(error)
    )
    return file_error("file_unreadable", cannot, str(error))


def _separator(text: str, dataset: str) -> str:
    """Comma or semicolon: whichever splits the header into more of the model's column names.

    A tab is tried too, only to say so when it wins: the contract names two separators.
    """
    header = text.split("\n", 1)[0]
    names = set(COLUMNS[dataset])

    def score(sep: str) -> tuple[int, int]:
        parts = [p.strip().strip('"').lower() for p in header.split(sep)]
        return len(names.intersection(parts)), len(parts)

    return max((",", ";", "\t"), key=score)
