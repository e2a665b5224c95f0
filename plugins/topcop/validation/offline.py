"""The offline validator: a focal point checks a return before sending it, with the pipeline's rules.

``topcop validate FILE --country CC [--period P]`` runs what the pipeline runs
on a received file — the same admission checks and ``check_return`` — and
prints the findings its receipt would list, errors first in the order found.
It exits 1 when the file would be rejected, 0 when it would be accepted (with
or without warnings) and 2 when it cannot check (no such file, unknown unit).

Comparing figures with the unit's history needs the warehouse: it is done only
when one is configured — ``TOPCOP_WAREHOUSE_URL``, or the Airflow connection
``topcop_warehouse`` in ``AIRFLOW_CONN_TOPCOP_WAREHOUSE`` (the programme's staff,
or a focal point given read access) — never on the embedded default, and the
output says whether it was.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from topcop.config import codelists
from topcop.findings import ERROR, WARNING, Finding
from topcop.i18n import SOURCE, Text, in_language, language, msg, msgn
from topcop.periods import Period, PeriodError
from topcop.validation.check import CheckedReturn
from topcop.validation.rules import metadata_location

INTENDED_PERIOD = "period_as_intended"  # --period given and the file declares another

EXIT_ACCEPTED, EXIT_REJECTED, EXIT_CANNOT_CHECK = 0, 1, 2


def validate_file(
    path: Path,
    *,
    country: str,
    period: str | None = None,
    engine: Engine | None = None,
    today: date | None = None,
    out: TextIO | None = None,
    lang: str | None = None,
) -> int:
    """Check ``path`` as if ``country``'s focal point had sent it today; print what was found.

    In ``lang`` when given, else in the unit's default language (``topcop.i18n``).
    """
    out = out or sys.stdout
    path, country = Path(path), country.strip().upper()
    units = codelists().reporting_units
    lang = language(lang, country)
    if country not in units:
        unknown = msg(
            "{country} is not a reporting unit: use one of {units}.",
            country=country,
            units=", ".join(sorted(units)),
        )
        print(unknown.in_language(lang), file=out)
        return EXIT_CANNOT_CHECK
    if not path.is_file():
        print(msg("There is no file {path}.", path=str(path)).in_language(lang), file=out)
        return EXIT_CANNOT_CHECK
    intended = None
    if period is not None:
        try:
            intended = Period.parse(period)
        except PeriodError as error:
            print(f"--period: {error}", file=out)  # the period parser's own words (English)
            return EXIT_CANNOT_CHECK

    unit_name = in_language(units[country].name, lang)
    checking = msg(
        "Checking {file_name} for {unit} ({country}) with the pipeline's rules.",
        file_name=path.name,
        unit=unit_name,
        country=country,
    )
    print(checking.in_language(lang), file=out)
    history_note = None
    if engine is None:
        engine, history_note = _configured_warehouse()
    checked = check_file(path, country=country, today=today, engine=engine)
    findings = checked.findings + _period_as_intended(checked, intended)
    print(_history_line(checked, unit_name, history_note).in_language(lang), file=out)
    print(file=out)
    return report(findings, out, lang)


def check_file(
    path: Path, *, country: str, today: date | None = None, engine: Engine | None = None
) -> CheckedReturn:
    """What the pipeline would find in ``path`` arriving in ``country``'s bucket today."""
    from topcop.landing import InboxFile
    from topcop.validation.admission import refused_unread
    from topcop.validation.check import check_return

    now = datetime.now(UTC)
    item = InboxFile(
        reporting_unit=country, name=path.name, size=path.stat().st_size, received_at=now
    )
    refused = refused_unread(item, path)
    if refused is not None:
        return refused
    return check_return(path, reporting_unit=country, today=today or now.date(), engine=engine)


def report(findings: list[Finding], out: TextIO, lang: str = SOURCE) -> int:
    """Print the findings, errors first, and the verdict; returns the exit code."""
    errors = [f for f in findings if f.severity == ERROR]
    warnings = [f for f in findings if f.severity == WARNING]
    for finding in errors + warnings:
        print(format_finding(finding, lang), file=out)
    if findings:
        print(file=out)
    if errors:
        verdict = msg(
            "Would be REJECTED: {errors} and {warnings}. "
            "Correct the errors and check the file again before sending it.",
            errors=msgn("{n} error", "{n} errors", len(errors), lang),
            warnings=msgn("{n} warning", "{n} warnings", len(warnings), lang),
        )
        print(verdict.in_language(lang), file=out)
        return EXIT_REJECTED
    if warnings:
        verdict = msg(
            "Would be ACCEPTED WITH WARNINGS: {warnings}. Check each figure "
            "named above; explain in the comment any that is right.",
            warnings=msgn("{n} warning", "{n} warnings", len(warnings), lang),
        )
    else:
        verdict = msg("Would be ACCEPTED: nothing was found to correct.")
    print(verdict.in_language(lang), file=out)
    return EXIT_ACCEPTED


def format_finding(finding: Finding, lang: str = SOURCE) -> str:
    """One finding as the focal point reads it: where, what to do, then value and rule.

    Severity, sheet, column and rule stay codes (the lines a steward greps for); the
    message and the labels of value and rule are in ``lang``.
    """
    head = f"{finding.severity.upper():<8}{finding.where()}"
    detail = msg("value: {value} | rule: {rule}", value=_shown(finding.value), rule=finding.rule)
    return f"{head}\n        {finding.message_in(lang)}\n        {detail.in_language(lang)}"


def _configured_warehouse() -> tuple[Engine | None, Text | None]:
    """The configured warehouse when it can be read; else None and why not."""
    from topcop.warehouse.engine import AIRFLOW_CONN_ID, URL_ENV, warehouse_engine

    connection = f"AIRFLOW_CONN_{AIRFLOW_CONN_ID.upper()}"
    if URL_ENV not in os.environ and connection not in os.environ:
        return None, msg("no warehouse is configured ({setting} is not set)", setting=URL_ENV)
    engine = warehouse_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT COUNT(*) FROM v_indicator_current WHERE 1 = 0"))
    except SQLAlchemyError as error:
        engine.dispose()
        reason = str(error).splitlines()[0]
        return None, msg("the configured warehouse could not be read ({reason})", reason=reason)
    return engine, None


def _history_line(checked: CheckedReturn, unit_name: str, why_not: Text | None) -> Text:
    if checked.history_checked:
        return msg(
            "Figures were compared with {unit}'s accepted figures for earlier periods.",
            unit=unit_name,
        )
    if why_not:
        return msg(
            "Figures were NOT compared with earlier periods: {reason}. The pipeline makes "
            "that comparison too, so its receipt may add warnings about large changes.",
            reason=why_not,
        )
    return msg("Figures were not compared with earlier periods: the file has none to compare.")


def _period_as_intended(checked: CheckedReturn, intended: Period | None) -> list[Finding]:
    """With ``--period``: the file must declare that period (a wrong template is easily taken)."""
    declared = checked.ret.metadata.get("period")
    if intended is None or declared is None:
        return []
    try:
        if Period.parse(str(declared)) == intended:
            return []
    except PeriodError:
        return []  # the validation's own finding says what is wrong with it
    sheet, row = metadata_location(checked.ret, "period")
    return [
        Finding(
            sheet,
            row,
            "period",
            declared,
            INTENDED_PERIOD,
            ERROR,
            msg(
                "The file declares the period {declared}, not {intended} as you said: it was "
                "made from the template of another period. Use the template for {intended}.",
                declared=str(declared),
                intended=str(intended),
            ),
        )
    ]


def _shown(value: object) -> str | Text:
    if value is None:
        return msg("(empty)")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)
