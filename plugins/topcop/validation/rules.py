"""The rules of the return contract that expectation suites cannot express.

GX checks one row (or one column) at a time. What needs several rows of a
sheet (a total against its breakdowns, one step of the justice chain against
the previous one, the rows the sheet must hold), or facts from outside the
file (whose bucket it came from, whether the reporting unit was active, today's
date against the period's calendar) is checked here, one small named function
per rule, each returning findings. ``RULES`` names them all, so the warehouse
keeps a data-quality result for each, as it does for each expectation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pandas as pd

from topcop.config import Indicator, codelists
from topcop.findings import ERROR, WARNING, ExpectationResult, Finding, Severity
from topcop.i18n import Lowered, Text, joined, msg
from topcop.periods import Period, PeriodError
from topcop.returns.model import DATASETS, INDICATORS_SHEET, METADATA_SHEET, ROW, ReturnFile

_FREQUENCY_WORDS = {
    "A": msg("yearly"),
    "S": msg("half-yearly"),
    "Q": msg("quarterly"),
    "M": msg("monthly"),
}
SUITE = "rules"  # how the warehouse's data-quality results name this module


@dataclass(frozen=True)
class Rule:
    """One rule of this module, as findings and data-quality results name it."""

    name: str
    table: str  # the table it checks: metadata, indicators or seizures
    column: str
    severity: Severity
    needs_period: bool = False  # only checked when the declared period can be read


COUNTRY_MATCHES_BUCKET = Rule("country_matches_bucket", METADATA_SHEET, "country", ERROR)
REPORTING_UNIT_ACTIVE = Rule("reporting_unit_active", METADATA_SHEET, "period", ERROR, True)
PERIOD_FREQUENCY = Rule("period_frequency", METADATA_SHEET, "period", ERROR, True)
PERIOD_HAS_ENDED = Rule("period_has_ended", METADATA_SHEET, "period", ERROR, True)
PERIOD_CLOSED = Rule("period_closed", METADATA_SHEET, "period", ERROR, True)
SUBMITTED_AFTER_PERIOD = Rule(
    "submission_date_after_period", METADATA_SHEET, "submission_date", WARNING, True
)
TOTAL_EQUALS_BREAKDOWNS = Rule("total_equals_sum_of_breakdowns", INDICATORS_SHEET, "value", ERROR)
JUSTICE_CHAIN = Rule("justice_chain_order", INDICATORS_SHEET, "value", WARNING)
ROWS_COMPLETE = Rule("indicator_rows_complete", INDICATORS_SHEET, "indicator", WARNING)
RULES = (
    COUNTRY_MATCHES_BUCKET,
    REPORTING_UNIT_ACTIVE,
    PERIOD_FREQUENCY,
    PERIOD_HAS_ENDED,
    PERIOD_CLOSED,
    SUBMITTED_AFTER_PERIOD,
    TOTAL_EQUALS_BREAKDOWNS,
    JUSTICE_CHAIN,
    ROWS_COMPLETE,
)


def metadata_location(ret: ReturnFile, field: str) -> tuple[str, int | None]:
    """Where a metadata field sits: its row on the metadata sheet, or the CSV file's name."""
    if ret.file_format == "csv":
        return "file", None  # a CSV return's country and period come from its file name
    return METADATA_SHEET, ret.metadata_rows.get(field)


def declared_period(ret: ReturnFile) -> Period | None:
    """The period the return declares, or None when it is missing or unreadable
    (the metadata suite reports that)."""
    code = ret.metadata.get("period")
    if code is None or code != code:
        return None
    try:
        return Period.parse(str(code))
    except PeriodError:
        return None


def cross_rules(ret: ReturnFile, *, reporting_unit: str, today: date) -> list[Finding]:
    """Every rule of this module, for one return received in ``reporting_unit``'s bucket."""
    findings = declared_country(ret, reporting_unit)
    period = declared_period(ret)
    if period is not None:
        findings += reporting_unit_active(ret, reporting_unit, period)
        findings += period_frequency(ret, period)
        findings += period_has_ended(ret, period, today)
        findings += period_still_open(ret, period, today)
        findings += submitted_after_period(ret, period)
    if ret.indicators is not None:
        findings += total_equals_sum_of_breakdowns(ret.indicators)
        findings += justice_chain(ret.indicators)
        findings += indicator_rows_complete(ret.indicators)
    return findings


def rule_results(ret: ReturnFile, findings: list[Finding]) -> list[ExpectationResult]:
    """How each rule fared on ``ret``, given the findings of ``cross_rules``.

    A rule whose table the return does not carry, or that needs a period the
    return does not declare readably, was not evaluated (``unexpected_count`` None).
    """
    has_period = declared_period(ret) is not None
    results = []
    for rule in RULES:
        carried = rule.table == METADATA_SHEET or ret.table(rule.table) is not None
        if carried and (has_period or not rule.needs_period):
            count = sum(f.rule == rule.name for f in findings)
            result = ExpectationResult(
                SUITE, rule.name, rule.column, count == 0, count, rule.severity
            )
        else:
            result = ExpectationResult(SUITE, rule.name, rule.column, False, None, rule.severity)
        results.append(result)
    return results


# --- who sends what, and when ------------------------------------------------------


def declared_country(ret: ReturnFile, reporting_unit: str) -> list[Finding]:
    """The declared country must be the reporting unit whose bucket the file came from.

    A code that is no reporting unit at all is the metadata suite's finding.
    """
    declared = _text(ret.metadata.get("country"))
    units = codelists().reporting_units
    if declared is None or declared == reporting_unit or declared not in units:
        return []
    owner = units[reporting_unit]
    sheet, row = metadata_location(ret, "country")
    message = msg(
        "This file was delivered to the bucket of {owner} ({owner_code}) but declares country "
        "{declared} ({declared_name}). A focal point sends returns for its own country only: "
        "correct the country, or have the file sent through the bucket of {declared}.",
        owner=Text(owner.name),  # codelist labels: the catalogs translate them
        owner_code=owner.code,
        declared=declared,
        declared_name=Text(units[declared].name),
    )
    return [Finding(sheet, row, "country", declared, COUNTRY_MATCHES_BUCKET.name, ERROR, message)]


def reporting_unit_active(ret: ReturnFile, reporting_unit: str, period: Period) -> list[Finding]:
    """The reporting unit must be active for at least part of the period."""
    unit = codelists().reporting_units[reporting_unit]
    ended = unit.active_until is not None and unit.active_until < period.start
    if unit.active_from <= period.end and not ended:
        return []
    reason = (
        Text(unit.note)
        if unit.note
        else msg(
            "it reports for periods from {active_from} until {active_until}.",
            active_from=unit.active_from,
            active_until=unit.active_until or msg("today"),
        )
    )
    sheet, row = metadata_location(ret, "period")
    message = msg(
        "{unit} is not an active reporting unit for {period}: {reason}",
        unit=Text(unit.name),
        period=str(period),
        reason=reason,
    )
    return [Finding(sheet, row, "period", period.code, REPORTING_UNIT_ACTIVE.name, ERROR, message)]


def period_frequency(ret: ReturnFile, period: Period) -> list[Finding]:
    """The period must have the frequency of the datasets the return carries."""
    datasets = codelists().datasets
    expected = {datasets[d].frequency for d in _datasets(ret)}
    if period.frequency in expected:
        return []
    first, *others = sorted(_FREQUENCY_WORDS[f] for f in expected)
    words = first
    for other in others:
        words = msg("{first} or {second}", first=words, second=other)
    sheet, row = metadata_location(ret, "period")
    message = msg(
        "{period} is a {frequency} period, but this return is reported {expected} (e.g. 2026-Q3 "
        "for a quarter).",
        period=str(period),
        frequency=_FREQUENCY_WORDS[period.frequency],
        expected=words,
    )
    return [Finding(sheet, row, "period", period.code, PERIOD_FREQUENCY.name, ERROR, message)]


def period_has_ended(ret: ReturnFile, period: Period, today: date) -> list[Finding]:
    """A return can only be sent for a period that ended before today."""
    if period.end < today:
        return []
    sheet, row = metadata_location(ret, "period")
    message = msg(
        "The period {period} runs until {end}: its return can only be sent once the period has "
        "ended.",
        period=str(period),
        end=period.end,
    )
    return [Finding(sheet, row, "period", period.code, PERIOD_HAS_ENDED.name, ERROR, message)]


def period_still_open(ret: ReturnFile, period: Period, today: date) -> list[Finding]:
    """A period closes a set time after its deadline; later corrections need a steward."""
    datasets = [codelists().datasets[d] for d in _datasets(ret)]
    closing = min(
        period.deadline(d.deadline_days) + timedelta(days=d.close_after_days) for d in datasets
    )
    if today <= closing:
        return []
    sheet, row = metadata_location(ret, "period")
    message = msg(
        "The period {period} was open for ordinary submissions until {closing}: a return or "
        "correction for it now needs a steward's approval. A file with no other error is held "
        "for that decision; otherwise correct the other errors and send it again.",
        period=str(period),
        closing=closing,
    )
    return [Finding(sheet, row, "period", period.code, PERIOD_CLOSED.name, ERROR, message)]


def submitted_after_period(ret: ReturnFile, period: Period) -> list[Finding]:
    """A return is sent after its period has ended: an earlier submission date is a slip."""
    submitted = ret.metadata.get("submission_date")
    if not isinstance(submitted, date) or submitted > period.end:
        return []
    sheet, row = metadata_location(ret, "submission_date")
    message = msg(
        "The submission date {submitted} is not after the end of the period {period} ({end}): "
        "please write the date on which the return is sent.",
        submitted=submitted,
        period=str(period),
        end=period.end,
    )
    return [
        Finding(
            sheet, row, "submission_date", submitted, SUBMITTED_AFTER_PERIOD.name, WARNING, message
        )
    ]


def _datasets(ret: ReturnFile) -> list[str]:
    return ret.datasets or list(DATASETS)


# --- figures against each other ----------------------------------------------------


def total_equals_sum_of_breakdowns(indicators: pd.DataFrame) -> list[Finding]:
    """A total equals the sum of its breakdowns where the total and every breakdown are given."""
    lists = codelists()
    findings = []
    given = indicators[indicators["value"].notna()]
    for (area, code), rows in given.groupby(["crime_area", "indicator"], sort=False):
        indicator = lists.indicators.get(code)
        if indicator is None or not indicator.breakdowns:
            continue
        totals = rows[rows["breakdown"].isna()]
        parts = rows[rows["breakdown"].isin(indicator.breakdowns)]
        # Partial breakdowns cannot be compared; duplicated keys are findings of their own.
        if len(totals) != 1 or sorted(parts["breakdown"]) != sorted(indicator.breakdowns):
            continue
        total = float(totals["value"].iloc[0])
        parts_sum = float(parts["value"].sum())
        if math.isclose(total, parts_sum, rel_tol=1e-9, abs_tol=1e-6):
            continue
        added = joined(
            " + ",
            [
                msg("{breakdown} {value} (row {row})", breakdown=b, value=_number(v), row=int(r))
                for b, v, r in zip(parts["breakdown"], parts["value"], parts[ROW], strict=True)
            ],
        )
        message = msg(
            "The total of {indicator} for {crime_area} is {total}, but its breakdowns add up to "
            "{breakdowns_sum}: {added}. Correct the total or the breakdowns.",
            indicator=code,
            crime_area=area,
            total=_number(total),
            breakdowns_sum=_number(parts_sum),
            added=added,
        )
        findings.append(
            Finding(
                INDICATORS_SHEET,
                int(totals[ROW].iloc[0]),
                "value",
                total,
                TOTAL_EQUALS_BREAKDOWNS.name,
                ERROR,
                message,
            )
        )
    return findings


def justice_chain(indicators: pd.DataFrame) -> list[Finding]:
    """Further down the justice chain (arrested → charged → convicted) a figure is not larger.

    A warning, not an error: people charged this period may have been arrested in
    an earlier one. The message quotes the row's comment when the focal point gave one.
    """
    chain = sorted(
        (i for i in codelists().indicators.values() if i.justice_chain_step is not None),
        key=lambda i: i.justice_chain_step,
    )
    findings = []
    given = indicators[indicators["value"].notna()]
    for area, rows in given.groupby("crime_area", sort=False):
        figures = [(i, _figure(rows[rows["indicator"] == i.code], i)) for i in chain]
        figures = [(i, f) for i, f in figures if f is not None]
        for (earlier, (earlier_value, _)), (later, (later_value, row)) in pairwise(figures):
            if later_value <= earlier_value:
                continue
            figures = {
                "later": Text(later.name),  # codelist labels: the catalogs translate them
                "later_value": _number(later_value),
                "earlier": Lowered(earlier.name),
                "earlier_value": _number(earlier_value),
                "crime_area": area,
            }
            comment = _text(row["comment"])
            if comment:
                message = msg(
                    "{later} ({later_value}) exceeds {earlier} ({earlier_value}) for "
                    "{crime_area}: further down the justice chain a figure is normally not "
                    "larger. Please check the figures or explain them in the comment. The "
                    'comment says: "{comment}"',
                    comment=comment,
                    **figures,
                )
            else:
                message = msg(
                    "{later} ({later_value}) exceeds {earlier} ({earlier_value}) for "
                    "{crime_area}: further down the justice chain a figure is normally not "
                    "larger. Please check the figures or explain them in the comment.",
                    **figures,
                )
            findings.append(
                Finding(
                    INDICATORS_SHEET,
                    int(row[ROW]),
                    "value",
                    later_value,
                    JUSTICE_CHAIN.name,
                    WARNING,
                    message,
                )
            )
    return findings


def indicator_rows_complete(indicators: pd.DataFrame) -> list[Finding]:
    """Every crime area x indicator the programme collects has its (total) row.

    The template prefills them all; a row deleted from it, or left out of a CSV
    file, is a figure nobody said anything about. A warning, one per crime area:
    the focal point gives the figure, or says with the observation status why
    there is none.
    """
    lists = codelists()
    areas, codes = indicators["crime_area"], indicators["indicator"]
    if not (areas.isin(list(lists.crime_areas)).all() and codes.isin(list(lists.indicators)).all()):
        # A row with an unknown or missing key is an error of its own, and may be
        # the very row that seems missing here: one finding per mistake.
        return []
    present = set(zip(areas, codes, strict=True))
    no_value = ", ".join(sorted(set(lists.obs_status) - lists.obs_status_value_required))
    findings = []
    for area in lists.crime_areas:
        missing = [
            code
            for code, indicator in lists.indicators.items()
            if indicator.applies_to(area) and (area, code) not in present
        ]
        if not missing:
            continue
        if len(missing) == 1:
            message = msg(
                "The sheet has no row for crime area {crime_area} and indicator {indicators}. Add "
                "the row with the figure, or with an empty value and the observation status that "
                "says why there is none ({statuses}).",
                crime_area=area,
                indicators=missing[0],
                statuses=no_value,
            )
        else:
            message = msg(
                "The sheet has no row for crime area {crime_area} and indicators {indicators}. "
                "Add the rows with the figure, or with an empty value and the observation status "
                "that says why there is none ({statuses}).",
                crime_area=area,
                indicators=", ".join(missing),
                statuses=no_value,
            )
        findings.append(
            Finding(
                INDICATORS_SHEET,
                None,
                "indicator",
                f"{area}: {', '.join(missing)}",
                ROWS_COMPLETE.name,
                WARNING,
                message,
            )
        )
    return findings


def _figure(rows: pd.DataFrame, indicator: Indicator) -> tuple[float, pd.Series] | None:
    """An indicator's figure for one crime area: its total, else the sum of all its breakdowns.

    With neither (a breakdown missing, or rejected by an expectation) there is no figure
    to compare: a partial sum would make a chain look broken that is not.
    """
    if rows.empty:
        return None
    totals = rows[rows["breakdown"].isna()]
    if not totals.empty:
        return float(totals["value"].iloc[0]), totals.iloc[0]
    if not indicator.breakdowns or sorted(rows["breakdown"]) != sorted(indicator.breakdowns):
        return None
    return float(rows["value"].sum()), rows.iloc[0]


def _number(value: float) -> int | float:
    """A figure as a message quotes it: ``12`` or ``12.5`` (in the language's way elsewhere)."""
    return int(value) if float(value).is_integer() else float(value)


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or value != value:
        return None
    return str(value).strip() or None
