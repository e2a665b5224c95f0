"""The rules of the return contract that expectation suites cannot express.

GX checks one row (or one column) at a time. What needs several rows of a
sheet (a total against its breakdowns, one step of the justice chain against
the previous one), or facts from outside the file (whose bucket it came from,
whether the reporting unit was active, today's date against the period's
calendar) is checked here, one small named function per rule, each returning
findings.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pandas as pd

from topcop.config import codelists
from topcop.findings import ERROR, WARNING, Finding
from topcop.periods import Period, PeriodError
from topcop.returns.model import DATASETS, INDICATORS_SHEET, METADATA_SHEET, ROW, ReturnFile

_FREQUENCY_WORDS = {"A": "yearly", "S": "half-yearly", "Q": "quarterly", "M": "monthly"}


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
    if ret.indicators is not None:
        findings += total_equals_sum_of_breakdowns(ret.indicators)
        findings += justice_chain(ret.indicators)
    return findings


# --- who sends what, and when ------------------------------------------------------


def declared_country(ret: ReturnFile, reporting_unit: str) -> list[Finding]:
    """The declared country must be the reporting unit whose bucket the file came from."""
    declared = _text(ret.metadata.get("country"))
    if declared is None or declared == reporting_unit:
        return []
    units = codelists().reporting_units
    owner = units[reporting_unit]
    named = f"{declared} ({units[declared].name})" if declared in units else declared
    sheet, row = metadata_location(ret, "country")
    message = (
        f"This file was delivered to the bucket of {owner.name} ({owner.code}) but declares "
        f"country {named}. A focal point sends returns for its own country only: correct the "
        f"country, or have the file sent through the bucket of {declared}."
    )
    return [Finding(sheet, row, "country", declared, "country_matches_bucket", ERROR, message)]


def reporting_unit_active(ret: ReturnFile, reporting_unit: str, period: Period) -> list[Finding]:
    """The reporting unit must be active for at least part of the period."""
    unit = codelists().reporting_units[reporting_unit]
    ended = unit.active_until is not None and unit.active_until < period.start
    if unit.active_from <= period.end and not ended:
        return []
    reason = unit.note or (
        f"it reports for periods from {unit.active_from} until {unit.active_until or 'today'}."
    )
    sheet, row = metadata_location(ret, "period")
    message = f"{unit.name} is not an active reporting unit for {period}: {reason}"
    return [Finding(sheet, row, "period", period.code, "reporting_unit_active", ERROR, message)]


def period_frequency(ret: ReturnFile, period: Period) -> list[Finding]:
    """The period must have the frequency of the datasets the return carries."""
    datasets = codelists().datasets
    expected = {datasets[d].frequency for d in _datasets(ret)}
    if period.frequency in expected:
        return []
    words = " or ".join(sorted(_FREQUENCY_WORDS[f] for f in expected))
    sheet, row = metadata_location(ret, "period")
    message = (
        f"{period} is a {_FREQUENCY_WORDS[period.frequency]} period, but this return is "
        f"reported {words} (e.g. 2026-Q3 for a quarter)."
    )
    return [Finding(sheet, row, "period", period.code, "period_frequency", ERROR, message)]


def period_has_ended(ret: ReturnFile, period: Period, today: date) -> list[Finding]:
    """A return can only be sent for a period that ended before today."""
    if period.end < today:
        return []
    sheet, row = metadata_location(ret, "period")
    message = (
        f"The period {period} runs until {period.end}: its return can only be sent once "
        f"the period has ended."
    )
    return [Finding(sheet, row, "period", period.code, "period_has_ended", ERROR, message)]


def period_still_open(ret: ReturnFile, period: Period, today: date) -> list[Finding]:
    """A period closes a set time after its deadline; later corrections need a steward."""
    datasets = [codelists().datasets[d] for d in _datasets(ret)]
    closing = min(
        period.deadline(d.deadline_days) + timedelta(days=d.close_after_days) for d in datasets
    )
    if today <= closing:
        return []
    sheet, row = metadata_location(ret, "period")
    message = (
        f"The period {period} was open for ordinary submissions until {closing}: a return or "
        f"correction for it now needs a steward's approval. Please contact the programme team."
    )
    return [Finding(sheet, row, "period", period.code, "period_closed", ERROR, message)]


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
        added = " + ".join(
            f"{b} {_number(v)} (row {r})"
            for b, v, r in zip(parts["breakdown"], parts["value"], parts[ROW], strict=True)
        )
        message = (
            f"The total of {code} for {area} is {_number(total)}, but its breakdowns add up "
            f"to {_number(parts_sum)}: {added}. Correct the total or the breakdowns."
        )
        findings.append(
            Finding(
                INDICATORS_SHEET,
                int(totals[ROW].iloc[0]),
                "value",
                total,
                "total_equals_sum_of_breakdowns",
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
        figures = [(i, _figure(rows[rows["indicator"] == i.code])) for i in chain]
        figures = [(i, f) for i, f in figures if f is not None]
        for (earlier, (earlier_value, _)), (later, (later_value, row)) in pairwise(figures):
            if later_value <= earlier_value:
                continue
            message = (
                f"{later.name} ({_number(later_value)}) exceeds {earlier.name.lower()} "
                f"({_number(earlier_value)}) for {area}: further down the justice chain a figure "
                f"is normally not larger. Please check the figures or explain them in the comment."
            )
            comment = _text(row["comment"])
            if comment:
                message += f' The comment says: "{comment}"'
            findings.append(
                Finding(
                    INDICATORS_SHEET,
                    int(row[ROW]),
                    "value",
                    later_value,
                    "justice_chain_order",
                    WARNING,
                    message,
                )
            )
    return findings


def _figure(rows: pd.DataFrame) -> tuple[float, pd.Series] | None:
    """An indicator's figure for one crime area: its total, else the sum of its breakdowns."""
    if rows.empty:
        return None
    totals = rows[rows["breakdown"].isna()]
    if not totals.empty:
        return float(totals["value"].iloc[0]), totals.iloc[0]
    return float(rows["value"].sum()), rows.iloc[0]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(float(value))


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or value != value:
        return None
    return str(value).strip() or None
