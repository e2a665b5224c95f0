"""What the template says to the focal point, in the focal point's language.

The template's layout (sheets, columns, drop-downs, protection) lives in
``topcop.returns.template``; its words live here, each written once in English
with ``msg()`` so that Babel extracts it and the catalogs translate it. Codes,
sheet names and column names are never translated: the reader relies on them,
so a template in any language is read the same. Codelist labels (a crime area's
name, an indicator's...) come from the codelist files and are translated from
the catalogs too.

Excel shows at most 255 characters in a validation's input or error message and
32 in its title; every text meant for one is kept short in every language (the
tests check each language's template).
"""

from __future__ import annotations

from topcop.config import Codelists
from topcop.i18n import in_language, msg, shown_value
from topcop.periods import Period
from topcop.returns.model import INDICATORS_SHEET, METADATA_SHEET, SEIZURES_SHEET

Line = tuple[str, bool]  # text, and whether it is a heading


def label(name: str, lang: str) -> str:
    """A codelist label (never a code) in ``lang``."""
    return in_language(name, lang)


def workbook_title(country: str, period: str, lang: str) -> str:
    return msg("Return {country} {period}", country=country, period=period).in_language(lang)


# --- the metadata sheet's help column ---------------------------------------------------

_METADATA_HELP = {
    "country": msg("Prefilled: the reporting country. Do not change."),
    "period": msg("Prefilled: the reporting period. Do not change."),
    "template_version": msg("Prefilled: the version of this template. Do not change."),
    "submission_date": msg("The date you send this return (YYYY-MM-DD)."),
    "focal_point_ref": msg(
        "Your office or role (for example 'Analysis unit, MoIA'), not a person's name."
    ),
    "handling_code": msg("Who may see this return: choose from the list."),
    "remarks": msg("Anything the programme should know about this return (optional)."),
    "language": msg(
        "The language of your receipts: en, ru, uk, ro, ka, hy or az (choose from the list)."
    ),
}


def metadata_help(name: str, lang: str) -> str:
    text = _METADATA_HELP.get(name)
    return text.in_language(lang) if text is not None else ""


# --- help on the column headings (a note on each heading, and the input message) ------

_COLUMN_HELP = {
    INDICATORS_SHEET: {
        "crime_area": msg("Prefilled: the crime area of the row (a code; see the instructions)."),
        "indicator": msg("Prefilled: the indicator of the row (a code; see the instructions)."),
        "breakdown": msg("Prefilled: the breakdown of the row; an empty breakdown is the total."),
        "value": msg(
            "The figure: a number of 0 or more, whole for counts. Leave it empty only when "
            "obs_status says why."
        ),
        "unit": msg("Prefilled: the unit the indicator prescribes."),
        "comment": msg(
            "Optional: explain the figure, above all a large change since the last period."
        ),
    },
    SEIZURES_SHEET: {
        "seizure_ref": msg(
            "Your own reference of the seizure (e.g. a case number), unique in the return."
        ),
        "seizure_date": msg("The date of the seizure (YYYY-MM-DD), inside the reporting period."),
        "region": msg("The region where the seizure happened (a name or a code)."),
        "commodity": msg("What was seized: choose a code from the list."),
        "quantity": msg("How much was seized: a number of 0 or more, in the unit column's unit."),
        "unit": msg("The unit of the quantity: the one the commodity prescribes."),
        "origin_country": msg("Country of origin: ISO 3166-1 two-letter code (optional)."),
        "departure_country": msg("Country of departure: ISO 3166-1 two-letter code (optional)."),
        "destination_country": msg(
            "Country of destination: ISO 3166-1 two-letter code (optional)."
        ),
        "transport_mode": msg("How the goods travelled: choose a code from the list."),
        "concealment": msg("How the goods were hidden, in a few words. No personal data."),
    },
}


def column_help(sheet: str, column: str, lists: Codelists, lang: str) -> str:
    """What a column wants; for a short codelist, its codes with their labels."""
    short = {
        "obs_status": lambda codes: msg("Observation status, one of: {codes}.", codes=codes),
        "conf_status": lambda codes: msg("Confidentiality status, one of: {codes}.", codes=codes),
        "ocg_involved": lambda codes: msg(
            "Was an organised crime group involved? One of: {codes}.", codes=codes
        ),
    }
    if column in short and sheet in (INDICATORS_SHEET, SEIZURES_SHEET):
        codes = getattr(lists, column)
        listed = "; ".join(f"{code} {label(name, lang)}" for code, name in codes.items())
        return short[column](listed).in_language(lang)
    text = _COLUMN_HELP.get(sheet, {}).get(column)
    return text.in_language(lang) if text is not None else ""


# --- the drop-downs' and checks' messages ---------------------------------------------


def not_accepted(lang: str) -> str:
    """The title of every validation's error box (at most 32 characters)."""
    return msg("Not accepted").in_language(lang)


def choose_from_list(lang: str) -> str:
    return msg(
        "Choose a code from the drop-down list (see the codes on the instructions sheet)."
    ).in_language(lang)


def at_most_characters(length: int, lang: str) -> str:
    return msg("At most {length} characters.", length=length).in_language(lang)


def enter_a_date(lang: str) -> str:
    return msg("Enter a date, for example 2026-10-15.").in_language(lang)


def enter_a_date_in(p: Period, lang: str) -> str:
    return msg(
        "Enter a date inside the period, {start} to {end}.",
        start=p.start.isoformat(),
        end=p.end.isoformat(),
    ).in_language(lang)


def enter_a_figure(lang: str) -> str:
    return msg(
        "Enter a number of 0 or more, or leave empty and explain with obs_status."
    ).in_language(lang)


def enter_a_count(lang: str) -> str:
    return msg(
        "Counts are whole numbers of 0 or more. Enter one, or leave empty and explain with "
        "obs_status."
    ).in_language(lang)


def enter_a_quantity(lang: str) -> str:
    return msg(
        "Enter a number of 0 or more (digits only; the unit goes in the unit column)."
    ).in_language(lang)


def choose_a_language(lang: str) -> str:
    return msg("Choose one of en, ru, uk, ro, ka, hy, az.").in_language(lang)


# --- the instructions sheet ----------------------------------------------------------


def instruction_lines(country: str, p: Period, lists: Codelists, lang: str) -> list[Line]:
    """The instructions sheet, line by line, in ``lang``; codes stay codes."""
    unit = lists.reporting_units[country]

    def say(text) -> str:
        return text.in_language(lang)

    lines: list[Line] = [
        (
            say(
                msg(
                    "Organised crime statistics return: {unit} ({country}), period {period}",
                    unit=label(unit.name, lang),
                    country=country,
                    period=p.code,
                )
            ),
            True,
        ),
        (
            say(
                msg(
                    "Template version {version}. The period runs from {start} to {end}.",
                    version=lists.template_version,
                    start=p.start.isoformat(),
                    end=p.end.isoformat(),
                )
            ),
            False,
        ),
        ("", False),
        (say(msg("Deadline")), True),
    ]
    for dataset in lists.datasets.values():
        due = p.deadline(dataset.deadline_days)
        sentence = msg(
            "{dataset}: send by {due} ({due_iso}).",
            dataset=dataset.code,
            due=shown_value(due, lang),
            due_iso=due.isoformat(),
        )
        lines.append((say(sentence), False))
    lines += _what_to_fill(country, p, lists, lang)
    lines += _codes(lists, lang)
    return lines


def _what_to_fill(country: str, p: Period, lists: Codelists, lang: str) -> list[Line]:
    no_value = sorted(set(lists.obs_status) - lists.obs_status_value_required)
    explained = ", ".join(f"{c} ({label(lists.obs_status[c], lang)})" for c in no_value)
    texts = [
        ("", None),
        (msg("What to fill in"), True),
        (
            msg(
                "Sheet '{sheet}': fill the value column for submission_date, focal_point_ref "
                "(your office or role, never a person's name), handling_code (choose from the "
                "list) and remarks. Country, period and template version are prefilled. The "
                "language field says in which language your receipts are written.",
                sheet=METADATA_SHEET,
            ),
            False,
        ),
        (
            msg(
                "Sheet '{sheet}': one row is prefilled for each crime area and indicator (and "
                "breakdown). For every row fill value, obs_status and conf_status, and comment "
                "where useful. Counts are whole numbers; amounts in EUR may have decimals (use "
                "a dot). A total row (empty breakdown) must equal the sum of its breakdown rows. "
                "Leave value empty only when obs_status says why: {statuses}. If a figure "
                "changed a lot since the last period, say why in comment.",
                sheet=INDICATORS_SHEET,
                statuses=explained,
            ),
            False,
        ),
        (
            msg(
                "Sheet '{sheet}': one row per seizure event, from row 2 down. seizure_ref must "
                "be unique within your country; seizure_date (YYYY-MM-DD) must fall inside the "
                "period; quantity is a number in the unit the commodity prescribes; countries "
                "are ISO 3166-1 two-letter codes (GE, UA, TR...). Do not enter any personal "
                "data of suspects or victims. To remove a row, clear its cells: empty rows are "
                "ignored.",
                sheet=SEIZURES_SHEET,
            ),
            False,
        ),
        ("", None),
        (msg("Rules for the file"), True),
        (
            msg(
                "Do not rename, move, hide or delete sheets or columns, and do not change the "
                "header row (row 1): the columns are read by their names."
            ),
            False,
        ),
        (
            msg(
                "Type or paste values only: no formulas, macros or links to other files. Save "
                "as 'Excel Workbook (.xlsx)', without a password. Files in .xls, .xlsm or .ods "
                "format are refused."
            ),
            False,
        ),
        (
            msg(
                "Alternative: instead of this workbook you may send CSV files, one per dataset, "
                "named {indicators_csv} and {seizures_csv}, encoded in UTF-8 (with or without "
                "BOM), comma or semicolon separated, with the same column names in the first "
                "line as the sheets of this workbook and dates written YYYY-MM-DD.",
                indicators_csv=f"{country}_{p.code}_indicators.csv",
                seizures_csv=f"{country}_{p.code}_seizures.csv",
            ),
            False,
        ),
        ("", None),
        (msg("Codes"), True),
    ]
    return [(text.in_language(lang) if text else "", bool(heading)) for text, heading in texts]


def _codes(lists: Codelists, lang: str) -> list[Line]:
    def named(codes: dict[str, str]) -> dict[str, str]:
        return {code: label(name, lang) for code, name in codes.items()}

    sections = [
        (msg("Crime areas (crime_area)"), named(lists.crime_areas)),
        (
            msg("Indicators (indicator), with their unit"),
            {i.code: f"{label(i.name, lang)} [{i.unit}]" for i in lists.indicators.values()},
        ),
        (msg("Breakdowns (breakdown)"), named(lists.breakdowns)),
        (msg("Observation status (obs_status)"), named(lists.obs_status)),
        (msg("Confidentiality status (conf_status)"), named(lists.conf_status)),
        (
            msg("Commodities (commodity), with their units"),
            {
                c.code: f"{label(c.name, lang)} [{' / '.join(c.units)}]"
                for c in lists.commodities.values()
            },
        ),
        (msg("Units (unit)"), named(lists.units)),
        (msg("Transport modes (transport_mode)"), named(lists.transport_modes)),
        (msg("Organised crime group involved (ocg_involved)"), named(lists.ocg_involved)),
        (msg("Handling codes (handling_code)"), named(lists.handling_codes)),
    ]
    lines: list[Line] = []
    for title, codes in sections:
        lines.append((title.in_language(lang), True))
        lines += [(f"    {code}: {name}", False) for code, name in codes.items()]
    return lines
