"""Reporting periods: SDMX codes, calendar dates, deadlines."""

from __future__ import annotations

from datetime import date

import pytest

from topcop.periods import Period, PeriodError, last_closed_periods, period_containing


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-M02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2024-M02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026-S2", date(2026, 7, 1), date(2026, 12, 31)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_period_dates(code, start, end):
    p = Period.parse(code)
    assert (p.start, p.end, p.code) == (start, end, code)


@pytest.mark.parametrize(
    "code", ["2026-Q5", "2026-Q0", "2026-M13", "2026-M9", "26-Q1", "", "2026Q1"]
)
def test_bad_period_codes(code):
    with pytest.raises(PeriodError):
        Period.parse(code)


def test_deadline_and_neighbours():
    p = Period.parse("2026-Q4")
    assert p.deadline(30) == date(2027, 1, 30)
    assert p.next().code == "2027-Q1"
    assert p.previous().code == "2026-Q3"
    assert p.year_earlier().code == "2025-Q4"
    assert p.contains(date(2026, 12, 31)) and not p.contains(date(2027, 1, 1))


def test_last_closed_periods():
    assert [p.code for p in last_closed_periods(date(2026, 11, 29), 4)] == [
        "2025-Q4",
        "2026-Q1",
        "2026-Q2",
        "2026-Q3",
    ]
    assert period_containing(date(2026, 9, 30), "M").code == "2026-M09"
