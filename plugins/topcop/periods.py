"""Reporting periods in SDMX time format and their calendar dates.

``2026-Q3`` (quarter), ``2026-M09`` (month), ``2026-S2`` (half-year), ``2026`` (year).
Every date a return is judged by (seizure dates inside the period, the deadline,
the closing date) is derived here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?P<kind>[QMS])(?P<num>\d{1,2}))?$")
_PER_YEAR = {"A": 1, "S": 2, "Q": 4, "M": 12}


class PeriodError(ValueError):
    """A period code that is not valid SDMX time format."""


@dataclass(frozen=True, order=True)
class Period:
    year: int
    frequency: str  # A, S, Q or M
    number: int  # 1-based within the year

    @classmethod
    def parse(cls, code: str) -> Period:
        m = _PATTERN.match(str(code).strip())
        if not m:
            raise PeriodError(f"{code!r} is not a reporting period (expected e.g. 2026-Q3)")
        year = int(m["year"])
        if not m["kind"]:
            return cls(year, "A", 1)
        freq, number = m["kind"], int(m["num"])
        if not 1 <= number <= _PER_YEAR[freq]:
            raise PeriodError(f"{code!r}: {freq}{number} does not exist")
        if freq == "M" and len(m["num"]) != 2:
            raise PeriodError(f"{code!r}: months are written with two digits (M09)")
        return cls(year, freq, number)

    @property
    def code(self) -> str:
        if self.frequency == "A":
            return str(self.year)
        if self.frequency == "M":
            return f"{self.year}-M{self.number:02d}"
        return f"{self.year}-{self.frequency}{self.number}"

    def __str__(self) -> str:
        return self.code

    @property
    def months(self) -> int:
        return 12 // _PER_YEAR[self.frequency]

    @property
    def start(self) -> date:
        return date(self.year, (self.number - 1) * self.months + 1, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> Period:
        if self.number < _PER_YEAR[self.frequency]:
            return Period(self.year, self.frequency, self.number + 1)
        return Period(self.year + 1, self.frequency, 1)

    def previous(self) -> Period:
        if self.number > 1:
            return Period(self.year, self.frequency, self.number - 1)
        return Period(self.year - 1, self.frequency, _PER_YEAR[self.frequency])

    def year_earlier(self) -> Period:
        return Period(self.year - 1, self.frequency, self.number)

    def deadline(self, deadline_days: int) -> date:
        return self.end + timedelta(days=deadline_days)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def period_containing(day: date, frequency: str = "Q") -> Period:
    """The period of the given frequency that contains ``day``."""
    per_year = _PER_YEAR[frequency]
    return Period(day.year, frequency, (day.month - 1) * per_year // 12 + 1)


def last_closed_periods(today: date, count: int, frequency: str = "Q") -> list[Period]:
    """The ``count`` most recent periods that ended before ``today``, oldest first."""
    p = period_containing(today, frequency).previous()
    out = [p]
    while len(out) < count:
        p = p.previous()
        out.append(p)
    return list(reversed(out))
