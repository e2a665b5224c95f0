"""What a report reads from the warehouse: current figures, seizures and standing findings.

Only the current views (``v_indicator_current``, ``v_seizure_current``) are
read, so a corrected return replaces what it corrects and nothing half-loaded
shows. Each value's disclosure is decided here, once, as it is read: the
sheets only ever see a value together with whether this edition may show it.
Every row keeps its submission id, so a build can record exactly which
submissions it used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, bindparam, text

from topcop.reports.handling import SUPPRESSED, Disclosure

# Observation statuses a reader is warned of: the value is there, but not final.
FLAGGED = {"P": "provisional", "E": "estimated"}


@dataclass(frozen=True)
class Figure:
    """One current indicator value of one reporting unit and period."""

    submission_id: str
    row_number: int
    reporting_unit: str
    period: str
    crime_area: str
    indicator: str
    breakdown: str | None
    value: float | None
    unit: str
    obs_status: str
    conf_status: str
    comment: str | None
    handling_code: str | None
    suppressed: bool = False

    @property
    def number(self) -> float | None:
        """The value this edition may compute with."""
        return None if self.suppressed else self.value

    @property
    def shown(self) -> float | str:
        """What a cell shows: the value, else why there is none (obs status or suppression)."""
        if self.suppressed:
            return SUPPRESSED
        return self.value if self.value is not None else self.obs_status

    @property
    def comment_shown(self) -> str | None:
        return None if self.suppressed else self.comment


@dataclass(frozen=True)
class SeizureTotal:
    """Seizures of one commodity (in one unit of measure) in one return."""

    submission_id: str
    reporting_unit: str
    period: str
    commodity: str
    unit: str
    quantity: float
    events: int
    suppressed: bool


@dataclass(frozen=True)
class RouteCount:
    """Seizures in one return whose goods went from ``origin`` to ``destination``."""

    submission_id: str
    reporting_unit: str
    origin: str
    destination: str
    commodity: str
    events: int
    suppressed: bool


@dataclass(frozen=True)
class StandingFinding:
    """A finding recorded when a current submission was validated."""

    submission_id: str
    reporting_unit: str
    period: str
    seq: int
    sheet: str
    row_number: int | None
    column_name: str | None
    value: str | None
    rule: str
    severity: str
    message: str
    handling_code: str | None


_FIGURES = text(
    "SELECT submission_id, row_number, reporting_unit, period, crime_area, indicator, breakdown,"
    " value, unit, obs_status, conf_status, comment, handling_code"
    " FROM v_indicator_current WHERE period IN :periods"
).bindparams(bindparam("periods", expanding=True))

_SEIZURE_TOTALS = text(
    "SELECT submission_id, reporting_unit, period, handling_code, commodity, unit,"
    " SUM(quantity) AS quantity, COUNT(*) AS events"
    " FROM v_seizure_current WHERE period IN :periods"
    " GROUP BY submission_id, reporting_unit, period, handling_code, commodity, unit"
).bindparams(bindparam("periods", expanding=True))

_ROUTES = text(
    "SELECT submission_id, reporting_unit, handling_code, origin_country, destination_country,"
    " commodity, COUNT(*) AS events"
    " FROM v_seizure_current WHERE period = :period"
    " AND origin_country IS NOT NULL AND destination_country IS NOT NULL"
    " GROUP BY submission_id, reporting_unit, handling_code, origin_country,"
    " destination_country, commodity"
)

_SEIZURE_SUBMISSIONS = text(
    "SELECT DISTINCT submission_id FROM v_seizure_current WHERE period IN :periods"
).bindparams(bindparam("periods", expanding=True))

_FINDINGS = text(
    "SELECT f.submission_id, s.reporting_unit, s.period, f.seq, f.sheet, f.row_number,"
    " f.column_name, f.value, f.rule, f.severity, f.message, s.handling_code"
    " FROM finding f JOIN submission s ON s.submission_id = f.submission_id"
    " WHERE f.submission_id IN :ids"
).bindparams(bindparam("ids", expanding=True))

_LATEST_PROCESSED = (
    text("SELECT MAX(processed_at) AS as_of FROM submission WHERE submission_id IN :ids")
    .bindparams(bindparam("ids", expanding=True))
    .columns(as_of=DateTime)
)


def current_figures(engine: Engine, periods: list[str], disclosure: Disclosure) -> list[Figure]:
    """Every current indicator value in ``periods``, suppressed where this edition must."""
    with engine.connect() as conn:
        rows = conn.execute(_FIGURES, {"periods": list(periods)}).all()
    figures, seen = [], set()
    for row in rows:
        breakdown = row.breakdown or None
        key = (row.reporting_unit, row.period, row.crime_area, row.indicator, breakdown)
        if key in seen:
            raise ValueError(
                f"two current figures for {key}: the warehouse must hold one row per key "
                "in a revision"
            )
        seen.add(key)
        figures.append(
            Figure(
                submission_id=row.submission_id,
                row_number=row.row_number,
                reporting_unit=row.reporting_unit,
                period=row.period,
                crime_area=row.crime_area,
                indicator=row.indicator,
                breakdown=breakdown,
                value=row.value,
                unit=row.unit,
                obs_status=row.obs_status,
                conf_status=row.conf_status,
                comment=row.comment,
                handling_code=row.handling_code,
                suppressed=not disclosure.value_publishable(row.conf_status, row.handling_code),
            )
        )
    return _suppress_derivable(figures)


def _suppress_derivable(figures: list[Figure]) -> list[Figure]:
    """Withhold a whole indicator when part of it is withheld.

    A total and its breakdowns add up: publishing the total and one breakdown
    would give away the other. Suppressing the whole group is the simple rule
    that never leaks.
    """
    withheld = {
        (f.reporting_unit, f.period, f.crime_area, f.indicator) for f in figures if f.suppressed
    }
    return [
        replace(f, suppressed=True)
        if (f.reporting_unit, f.period, f.crime_area, f.indicator) in withheld
        else f
        for f in figures
    ]


def seizure_totals(
    engine: Engine, periods: list[str], disclosure: Disclosure
) -> list[SeizureTotal]:
    """Quantity and number of seizures per return, commodity and unit of measure."""
    with engine.connect() as conn:
        rows = conn.execute(_SEIZURE_TOTALS, {"periods": list(periods)}).all()
    return [
        SeizureTotal(
            submission_id=r.submission_id,
            reporting_unit=r.reporting_unit,
            period=r.period,
            commodity=r.commodity,
            unit=r.unit,
            quantity=float(r.quantity),
            events=int(r.events),
            suppressed=not disclosure.return_publishable(r.handling_code),
        )
        for r in rows
    ]


def seizure_routes(engine: Engine, period: str, disclosure: Disclosure) -> list[RouteCount]:
    """Seizures with both origin and destination known, per return, route and commodity."""
    with engine.connect() as conn:
        rows = conn.execute(_ROUTES, {"period": period}).all()
    return [
        RouteCount(
            submission_id=r.submission_id,
            reporting_unit=r.reporting_unit,
            origin=r.origin_country.strip(),
            destination=r.destination_country.strip(),
            commodity=r.commodity,
            events=int(r.events),
            suppressed=not disclosure.return_publishable(r.handling_code),
        )
        for r in rows
        if r.origin_country.strip() and r.destination_country.strip()
    ]


def seizure_submissions(engine: Engine, periods: list[str]) -> set[str]:
    """The current submissions that carry seizures for ``periods``."""
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(_SEIZURE_SUBMISSIONS, {"periods": list(periods)})}


def standing_findings(engine: Engine, submission_ids: set[str]) -> list[StandingFinding]:
    """The findings of the given (current) submissions: what still stands in the figures."""
    if not submission_ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(_FINDINGS, {"ids": sorted(submission_ids)}).all()
    findings = [
        StandingFinding(
            submission_id=r.submission_id,
            reporting_unit=r.reporting_unit,
            period=r.period,
            seq=r.seq,
            sheet=r.sheet,
            row_number=r.row_number,
            column_name=r.column_name,
            value=r.value,
            rule=r.rule,
            severity=r.severity,
            message=r.message,
            handling_code=r.handling_code,
        )
        for r in rows
    ]
    return sorted(findings, key=lambda f: (f.period, f.reporting_unit, f.submission_id, f.seq))


def latest_processed(engine: Engine, submission_ids: set[str]) -> datetime | None:
    """When the most recently loaded of the given submissions was processed (naive UTC)."""
    if not submission_ids:
        return None
    with engine.connect() as conn:
        moment = conn.execute(_LATEST_PROCESSED, {"ids": sorted(submission_ids)}).scalar()
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
