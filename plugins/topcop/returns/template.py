"""The Excel template a focal point fills in, generated for one reporting unit and period.

Built from the codelists and the return model only, so its drop-down lists, column
names and prefilled rows always say what the reader and the validation expect: a
steward who adds a crime area or an indicator to ``codelists/`` changes the next
template without touching this code.

Protection guards the layout against accidents, not against a determined user: the
header rows, prefilled keys and sheet names are locked, the cells meant for data are
unlocked. Unlocking is done with column styles (one ``<col>`` entry per column)
rather than per-cell styles, so an empty seizures sheet stays small however many
rows the focal point pastes into it.

The template speaks the focal point's language (``lang``, else the unit's default
from ``codelists/reporting_units.csv``): instructions, the metadata sheet's help,
a note on every column heading, and the input and error messages of every
drop-down and check (``topcop.returns.template_words``). Sheet names, column
names, metadata field names and codes stay the same in every language, so every
template is read the same.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from topcop import i18n
from topcop.config import Codelists, Limits, codelists, limits
from topcop.periods import Period
from topcop.returns import template_words as words
from topcop.returns.model import (
    CODELISTS_SHEET,
    INDICATOR_COLUMNS,
    INDICATORS_SHEET,
    INSTRUCTIONS_SHEET,
    METADATA_FIELDS,
    METADATA_SHEET,
    OPTIONAL_METADATA_FIELDS,
    SEIZURE_COLUMNS,
    SEIZURES_SHEET,
)

TEMPLATE_SHEETS = (
    INSTRUCTIONS_SHEET,
    METADATA_SHEET,
    INDICATORS_SHEET,
    SEIZURES_SHEET,
    CODELISTS_SHEET,
)
METADATA_HEADER = ("field", "value", "help")
# The columns of the indicators sheet the focal point fills; the others are prefilled keys.
INDICATOR_DATA_COLUMNS = ("value", "obs_status", "conf_status", "comment")
PREFILLED_METADATA = ("country", "period", "template_version")
# The metadata rows of a new template: the required fields, then the language of the receipts.
TEMPLATE_METADATA_FIELDS = (*METADATA_FIELDS, *OPTIONAL_METADATA_FIELDS)

EXCEL_MAX_ROW = 1_048_576
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"  # stops Excel turning a reference like 1-2 into a date
UNLOCKED = Protection(locked=False)
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
KEY_FILL = PatternFill("solid", fgColor="F2F2F2")

# Which hidden list each drop-down column takes its codes from.
INDICATOR_LISTS = {
    "crime_area": "crime_area",
    "indicator": "indicator",
    "breakdown": "breakdown",
    "unit": "unit",
    "obs_status": "obs_status",
    "conf_status": "conf_status",
}
SEIZURE_LISTS = {
    "commodity": "commodity",
    "unit": "unit",
    "origin_country": "country",
    "departure_country": "country",
    "destination_country": "country",
    "transport_mode": "transport_mode",
    "ocg_involved": "ocg_involved",
}
METADATA_LISTS = {"handling_code": "handling_code"}
SEIZURE_FREE_TEXT = {"seizure_ref": "ref", "region": "ref", "concealment": "text"}


def prefilled_indicator_rows(lists: Codelists | None = None) -> list[dict[str, str | None]]:
    """The keys of every indicators row the template prefills, in sheet order.

    One row per crime area x applicable indicator; an indicator with breakdowns
    gets a total row (empty breakdown) followed by one row per breakdown.
    """
    lists = lists or codelists()
    rows: list[dict[str, str | None]] = []
    for crime_area in lists.crime_areas:
        for indicator in lists.indicators.values():
            if not indicator.applies_to(crime_area):
                continue
            for breakdown in (None, *indicator.breakdowns):
                rows.append(
                    {
                        "crime_area": crime_area,
                        "indicator": indicator.code,
                        "breakdown": breakdown,
                        "unit": indicator.unit,
                    }
                )
    return rows


def hidden_lists(lists: Codelists | None = None) -> dict[str, list[str]]:
    """The code lists the drop-downs offer, by list name, as the hidden sheet holds them."""
    lists = lists or codelists()
    return {
        "crime_area": list(lists.crime_areas),
        "indicator": list(lists.indicators),
        "breakdown": list(lists.breakdowns),
        "unit": list(lists.units),
        "obs_status": list(lists.obs_status),
        "conf_status": list(lists.conf_status),
        "commodity": list(lists.commodities),
        "transport_mode": list(lists.transport_modes),
        "ocg_involved": list(lists.ocg_involved),
        "handling_code": list(lists.handling_codes),
        "country": sorted(lists.countries),
    }


def build_template(country: str, period: str, lang: str | None = None) -> Workbook:
    """The blank return workbook for one reporting unit and period, in ``lang``.

    ``lang`` None (or one we have no catalog for): the unit's default language.
    """
    lists = codelists()
    if country not in lists.reporting_units:
        raise ValueError(f"{country!r} is not a reporting unit in codelists/reporting_units.csv")
    p = Period.parse(period)
    lim = limits()
    lang = i18n.language(lang, country)

    wb = Workbook()
    instructions = wb.active
    instructions.title = INSTRUCTIONS_SHEET
    metadata = wb.create_sheet(METADATA_SHEET)
    indicators = wb.create_sheet(INDICATORS_SHEET)
    seizures = wb.create_sheet(SEIZURES_SHEET)
    hidden = wb.create_sheet(CODELISTS_SHEET)

    ranges = _fill_codelists_sheet(hidden, hidden_lists(lists))
    _fill_instructions(instructions, words.instruction_lines(country, p, lists, lang))
    _fill_metadata(metadata, country, p, lists, ranges, lim, lang)
    _fill_indicators(indicators, lists, ranges, lim, lang)
    _fill_seizures(seizures, p, lists, ranges, lim, lang)

    wb.active = 0
    # Locking the structure keeps sheets from being renamed, moved, deleted or unhidden.
    wb.security = WorkbookProtection(lockStructure=True)
    wb.properties.title = words.workbook_title(country, p.code, lang)
    wb.properties.language = lang
    wb.properties.creator = "topcop"
    return wb


def write_template(country: str, period: str, path: Path, lang: str | None = None) -> Path:
    """Save the blank template for ``country`` and ``period`` to ``path``, in ``lang``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    build_template(country, period, lang).save(path)
    return path


# --- sheets ----------------------------------------------------------------------


def _fill_codelists_sheet(ws: Worksheet, lists: dict[str, list[str]]) -> dict[str, str]:
    """One list per column (name in row 1); returns list name -> absolute range."""
    ranges = {}
    for col, (name, codes) in enumerate(lists.items(), start=1):
        ws.cell(1, col, name).font = HEADER_FONT
        for row, code in enumerate(codes, start=2):
            ws.cell(row, col, code)
        letter = get_column_letter(col)
        ranges[name] = f"{CODELISTS_SHEET}!${letter}$2:${letter}${len(codes) + 1}"
        ws.column_dimensions[letter].width = max(len(name), *(len(c) for c in codes)) + 2
    ws.sheet_state = "hidden"
    ws.protection.sheet = True
    return ranges


def _fill_instructions(ws: Worksheet, lines: list[tuple[str, bool]]) -> None:
    ws.column_dimensions["A"].width = 120
    for row, (text, heading) in enumerate(lines, start=1):
        cell = ws.cell(row, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if heading:
            cell.font = Font(bold=True, size=14 if row == 1 else 11)
    ws.protection.sheet = True


def _fill_metadata(
    ws: Worksheet,
    country: str,
    p: Period,
    lists: Codelists,
    ranges: dict[str, str],
    lim: Limits,
    lang: str,
) -> None:
    _header(ws, METADATA_HEADER)
    prefilled = {
        "country": country,
        "period": p.code,
        "template_version": lists.template_version,
        "language": lang,
    }
    for row, name in enumerate(TEMPLATE_METADATA_FIELDS, start=2):
        ws.cell(row, 1, name).fill = KEY_FILL
        value = ws.cell(row, 2, prefilled.get(name))
        value.number_format = TEXT_FORMAT
        if name in PREFILLED_METADATA:
            value.fill = KEY_FILL
        else:
            value.protection = UNLOCKED
        help_text = words.metadata_help(name, lang)
        ws.cell(row, 3, help_text).alignment = Alignment(wrap_text=True, vertical="top")
        cell = f"B{row}"
        if name in METADATA_LISTS:
            _add_list(ws, ranges[METADATA_LISTS[name]], cell, lang, name, help_text)
        elif name == "language":
            choices = '"' + ",".join(i18n.LANGUAGES) + '"'  # a short literal list, no hidden sheet
            _add_validation(
                ws,
                DataValidation(type="list", formula1=choices, allow_blank=True),
                cell,
                lang,
                words.choose_a_language(lang),
                (name, help_text),
            )
        elif name == "submission_date":
            value.number_format = DATE_FORMAT
            _add_validation(
                ws,
                DataValidation(type="date", operator="greaterThan", formula1="DATE(2000,1,1)"),
                cell,
                lang,
                words.enter_a_date(lang),
                (name, help_text),
            )
        elif name not in PREFILLED_METADATA:
            _add_text_length(ws, lim.max_text_length, cell, lang, (name, help_text))
    for letter, width in zip("ABC", (20, 45, 70), strict=True):
        ws.column_dimensions[letter].width = width
    ws.protection.sheet = True


def _fill_indicators(
    ws: Worksheet, lists: Codelists, ranges: dict[str, str], lim: Limits, lang: str
) -> None:
    columns = list(INDICATOR_COLUMNS)
    helps = {name: words.column_help(INDICATORS_SHEET, name, lists, lang) for name in columns}
    _header(ws, columns, helps)
    rows = prefilled_indicator_rows(lists)
    last = len(rows) + 1
    whole, decimal = [], []
    for row, keys in enumerate(rows, start=2):
        for col, name in enumerate(columns, start=1):
            cell = ws.cell(row, col, keys.get(name))
            if name in INDICATOR_DATA_COLUMNS:
                cell.protection = UNLOCKED
                if name != "value":
                    cell.number_format = TEXT_FORMAT
            else:
                cell.fill = KEY_FILL
        (whole if lists.indicators[keys["indicator"]].whole_number else decimal).append(row)
    for name, list_name in INDICATOR_LISTS.items():
        area = _column_range(columns, name, last)
        _add_list(ws, ranges[list_name], area, lang, name, helps[name])
    prompt = ("value", helps["value"])
    if whole:
        _add_validation(
            ws,
            DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0"),
            _runs(_letter(columns, "value"), whole),
            lang,
            words.enter_a_count(lang),
            prompt,
        )
    if decimal:
        _add_validation(
            ws,
            DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0"),
            _runs(_letter(columns, "value"), decimal),
            lang,
            words.enter_a_figure(lang),
            prompt,
        )
    area = _column_range(columns, "comment", last)
    _add_text_length(ws, lim.max_text_length, area, lang, ("comment", helps["comment"]))
    _widths(ws, columns, {"indicator": 26, "comment": 60})
    ws.freeze_panes = "A2"
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # lets the focal point widen columns


def _fill_seizures(
    ws: Worksheet, p: Period, lists: Codelists, ranges: dict[str, str], lim: Limits, lang: str
) -> None:
    columns = list(SEIZURE_COLUMNS)
    helps = {name: words.column_help(SEIZURES_SHEET, name, lists, lang) for name in columns}
    _header(ws, columns, helps)
    last = min(lim.max_rows_per_sheet + 1, EXCEL_MAX_ROW)
    for name, dtype in SEIZURE_COLUMNS.items():
        dim = ws.column_dimensions[_letter(columns, name)]
        dim.protection = UNLOCKED
        if dtype.startswith("datetime"):
            dim.number_format = DATE_FORMAT
        elif dtype == "string":
            dim.number_format = TEXT_FORMAT
    for name, list_name in SEIZURE_LISTS.items():
        _add_list(
            ws, ranges[list_name], _column_range(columns, name, last), lang, name, helps[name]
        )
    for name, dtype in SEIZURE_COLUMNS.items():
        area = _column_range(columns, name, last)
        if dtype.startswith("datetime"):
            _add_validation(
                ws,
                DataValidation(
                    type="date",
                    operator="between",
                    formula1=f"DATE({p.start.year},{p.start.month},{p.start.day})",
                    formula2=f"DATE({p.end.year},{p.end.month},{p.end.day})",
                ),
                area,
                lang,
                words.enter_a_date_in(p, lang),
                (name, helps[name]),
            )
        elif dtype == "Float64":
            _add_validation(
                ws,
                DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0"),
                area,
                lang,
                words.enter_a_quantity(lang),
                (name, helps[name]),
            )
    for name, kind in SEIZURE_FREE_TEXT.items():
        length = lim.max_ref_length if kind == "ref" else lim.max_text_length
        area = _column_range(columns, name, last)
        _add_text_length(ws, length, area, lang, (name, helps[name]))
    _widths(ws, columns, {"seizure_ref": 22, "region": 22, "concealment": 30})
    ws.freeze_panes = "A2"
    protection = ws.protection
    protection.sheet = True
    protection.formatColumns = False
    protection.insertRows = False  # a new row inherits the unlocked style of its neighbours


# --- small pieces ----------------------------------------------------------------


def _header(
    ws: Worksheet, names: tuple[str, ...] | list[str], helps: dict[str, str] | None = None
) -> None:
    """The heading row; with ``helps``, a note on each heading saying what the column wants."""
    for col, name in enumerate(names, start=1):
        cell = ws.cell(1, col, name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        if helps and helps.get(name):
            cell.comment = Comment(helps[name], "topcop", width=320, height=110)


def _letter(columns: list[str], name: str) -> str:
    return get_column_letter(columns.index(name) + 1)


def _column_range(columns: list[str], name: str, last_row: int) -> str:
    letter = _letter(columns, name)
    return f"{letter}2:{letter}{last_row}"


def _runs(letter: str, rows: list[int]) -> str:
    """Cell ranges covering exactly ``rows`` of one column, e.g. ``D2:D5 D9:D12``."""
    ranges, start = [], rows[0]
    for previous, row in zip(rows, [*rows[1:], None], strict=True):
        if row != previous + 1:
            ranges.append(f"{letter}{start}:{letter}{previous}")
            start = row
    return " ".join(ranges)


def _widths(ws: Worksheet, columns: list[str], wide: dict[str, int]) -> None:
    for name in columns:
        ws.column_dimensions[_letter(columns, name)].width = wide.get(name, max(14, len(name) + 2))


def _add_list(
    ws: Worksheet, source: str, area: str, lang: str, column: str, help_text: str
) -> None:
    _add_validation(
        ws,
        DataValidation(type="list", formula1=source, allow_blank=True),
        area,
        lang,
        words.choose_from_list(lang),
        (column, help_text),
    )


def _add_text_length(
    ws: Worksheet, length: int, area: str, lang: str, prompt: tuple[str, str]
) -> None:
    _add_validation(
        ws,
        DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(length)),
        area,
        lang,
        words.at_most_characters(length, lang),
        prompt,
    )


def _add_validation(
    ws: Worksheet,
    dv: DataValidation,
    area: str,
    lang: str,
    message: str,
    prompt: tuple[str, str],
) -> None:
    """A check on ``area``: its input message (title: the column's code) and its error, in ``lang``."""
    dv.allow_blank = True
    dv.showErrorMessage = True
    dv.errorTitle = words.not_accepted(lang)
    dv.error = message
    title, text = prompt
    if text:
        dv.showInputMessage = True
        dv.promptTitle = title
        dv.prompt = text
    for part in area.split():
        dv.add(part)
    ws.add_data_validation(dv)
