"""Which reporting units sent their return for which period, and on time or not.

The one place that classifies timeliness: the ``topcop status`` command and the
assessment workbook both read it from here. A return counts from its first
accepted submission carrying the dataset (a full ``return`` workbook or the
dataset's own CSV); later revisions correct figures but do not make a late
return on time, nor an on-time one late. Deadlines come from the reporting
calendar (``codelists/calendar.yaml``) and activity windows from the
reporting-unit list, so a suspended unit is never counted as missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Engine, bindparam, text

from topcop import config
from topcop.periods import Period


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


_ACCEPTED = (
    text(
        "SELECT submission_id, reporting_unit, period, revision, received_at"
        " FROM v_submission_accepted"
        " WHERE dataset IN ('return', :dataset) AND period IN :periods"
    )
    .bindparams(bindparam("periods", expanding=True))
    .columns(received_at=DateTime)
)


def completeness(
    engine: Engine, periods: list[str], *, dataset: str = "indicators", today: date
) -> list[CompletenessCell]:
    """Every reporting unit × period, units in codelist order, periods in the order given."""
    lists = config.codelists()
    if dataset not in lists.datasets:
        raise ValueError(f"{dataset!r} is not a dataset of the reporting calendar")
    deadline_days = lists.datasets[dataset].deadline_days
    first = _first_accepted(engine, periods, dataset)
    cells = []
    for unit in lists.reporting_units.values():
        for code in periods:
            period = Period.parse(code)
            expected = unit.is_active_on(period.start)
            deadline = period.deadline(deadline_days)
            submission_id, received_at = first.get((unit.code, period.code), (None, None))
            if received_at is not None:
                days_late = (received_at.date() - deadline).days
                status = Timeliness.LATE if days_late > 0 else Timeliness.ON_TIME
            else:
                days_late = None
                # A file accepted from an inactive unit still shows above; absence does not count.
                if not expected:
                    status = Timeliness.NOT_EXPECTED
                elif today > deadline:
                    status = Timeliness.MISSING
                else:
                    status = Timeliness.DUE
            cells.append(
                CompletenessCell(
                    reporting_unit=unit.code,
                    period=period.code,
                    status=status,
                    expected=expected,
                    deadline=deadline,
                    submission_id=submission_id,
                    received_at=received_at,
                    days_late=days_late,
                )
            )
    return cells


def _first_accepted(
    engine: Engine, periods: list[str], dataset: str
) -> dict[tuple[str, str], tuple[str, datetime]]:
    """(unit, period) → the earliest accepted submission carrying ``dataset``."""
    if not periods:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(_ACCEPTED, {"dataset": dataset, "periods": list(periods)}).all()
    first: dict[tuple[str, str], tuple[datetime, int, str]] = {}
    for row in rows:
        candidate = (_utc(row.received_at), row.revision, row.submission_id)
        key = (row.reporting_unit, row.period)
        if key not in first or candidate < first[key]:
            first[key] = candidate
    return {key: (sid, received) for key, (received, _rev, sid) in first.items()}


def _utc(moment: datetime) -> datetime:
    """Naive UTC: the warehouse stores UTC timestamps, some drivers hand them back with a zone."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment
