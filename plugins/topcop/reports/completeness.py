"""Which reporting units sent their return for which period, and on time or not.

The rules live in the warehouse, in the ``v_expected_return`` view
(sql/migrations/0007_reporting_rates.sql), which analysts query as well; this module
reads it for the ``topcop status`` command, the calendar's reminders and the
assessment workbook. A return counts from its first accepted submission carrying
the dataset; later revisions correct figures but do not make a late return on
time, nor an on-time one late. Deadlines come from the reporting calendar and
activity windows from the reporting-unit list (both seeded into the warehouse's
dimensions), so a suspended unit is never counted as missing.

The view judges "missing" against the database's clock. Callers ask for a given
day (a report as of its date, a backfilled run), so for a return with nothing
accepted the one clock-dependent choice, missing or still due, is taken again
here for ``today``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import Date, DateTime, Engine, bindparam, text

from topcop import config
from topcop.warehouse.dimensions import ensure_calendar


class Timeliness(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"  # nothing accepted and the deadline has passed
    DUE = "due"  # nothing accepted yet, deadline still ahead
    NOT_EXPECTED = "not_expected"  # the unit was not active at the period's start


@dataclass(frozen=True)
class CompletenessCell:
    """One reporting unit in one period."""

    reporting_unit: str
    period: str
    status: Timeliness
    expected: bool
    deadline: date
    submission_id: str | None  # first accepted submission carrying the dataset
    received_at: datetime | None  # UTC
    days_late: int | None  # received date minus deadline; negative = early

    @property
    def label(self) -> str:
        return timeliness_label(self.status, self.days_late)


def timeliness_label(status: Timeliness, days_late: int | None) -> str:
    """How a person reads a cell: on time, late (n days), missing, due, n.a."""
    if status is Timeliness.LATE:
        if days_late is None:
            return "late (n days)"
        return f"late ({days_late} day{'' if days_late == 1 else 's'})"
    if status is Timeliness.NOT_EXPECTED:
        return "n.a."
    return status.value.replace("_", " ")


_EXPECTED_RETURNS = (
    text(
        "SELECT reporting_unit, period, expected, deadline, submission_id, received_at,"
        " days_late, status"
        " FROM v_expected_return WHERE dataset = :dataset AND period IN :periods"
    )
    .bindparams(bindparam("periods", expanding=True))
    .columns(deadline=Date, received_at=DateTime)
)
_OUTSTANDING = (Timeliness.MISSING, Timeliness.DUE)


def completeness(
    engine: Engine, periods: list[str], *, dataset: str = "indicators", today: date
) -> list[CompletenessCell]:
    """Every reporting unit × period, units in codelist order, periods in the order given.

    Raises ValueError for a dataset not in the reporting calendar or a period of
    another frequency than the dataset's.
    """
    if dataset not in config.codelists().datasets:
        raise ValueError(f"{dataset!r} is not a dataset of the reporting calendar")
    if not periods:
        return []
    ensure_calendar(engine, dataset, periods)  # periods beyond the seeded range get their rows
    with engine.connect() as conn:
        rows = conn.execute(_EXPECTED_RETURNS, {"dataset": dataset, "periods": list(periods)})
        cells = {(row.reporting_unit, row.period): _cell(row, today) for row in rows}
    units = list(config.codelists().reporting_units)
    order = {code: i for i, code in enumerate(units)}
    unit_codes = sorted({unit for unit, _p in cells}, key=lambda u: (order.get(u, len(order)), u))
    return [cells[(u, p)] for u in unit_codes for p in periods if (u, p) in cells]


def _cell(row, today: date) -> CompletenessCell:
    status = Timeliness(row.status)
    if status in _OUTSTANDING:
        status = Timeliness.MISSING if today > row.deadline else Timeliness.DUE
    return CompletenessCell(
        reporting_unit=row.reporting_unit,
        period=row.period,
        status=status,
        expected=bool(row.expected),
        deadline=row.deadline,
        submission_id=row.submission_id,
        received_at=_utc(row.received_at) if row.received_at is not None else None,
        days_late=row.days_late,
    )


def _utc(moment: datetime) -> datetime:
    """Naive UTC: the warehouse stores UTC timestamps, some drivers hand them back with a zone."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment
