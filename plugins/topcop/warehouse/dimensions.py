"""The warehouse's dimension tables, kept in step with the codelists.

Stewards change codelists as files (``codelists/``); analysts join names, ICCS
sections, activity windows and deadlines in SQL. This module is the bridge: on
every ``migrate()`` (so before every load) it compares each dimension table with
what the codelists and the reporting calendar say and writes only the difference.
A crime area added to ``crime_areas.csv`` has its row after the next load; a code
removed from a list loses its row (the facts keep their codes). Reporting periods
are only ever added: the calendar runs from the first year any reporting unit was
active to next year, and further on demand (``ensure_calendar``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Engine,
    Integer,
    String,
    column,
    delete,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.sql.expression import TableClause, and_

from topcop import config
from topcop.periods import Period
from topcop.warehouse.schema import lock

Row = dict[str, Any]


@dataclass(frozen=True)
class Dimension:
    """A dimension table, the columns seeding writes, and its primary key."""

    table: TableClause
    key: tuple[str, ...]
    prune: bool  # delete rows the codelists no longer have

    @property
    def name(self) -> str:
        return self.table.name

    def key_of(self, row: Row) -> tuple[Any, ...]:
        return tuple(row[k] for k in self.key)


def _dimension(name: str, key: tuple[str, ...], prune: bool, types: dict[str, Any]) -> Dimension:
    return Dimension(table(name, *(column(c, t) for c, t in types.items())), key, prune)


# In the order rows must be written (referenced tables first); deletes go in reverse.
REPORTING_UNIT = _dimension(
    "reporting_unit",
    ("reporting_unit",),
    True,
    {
        "reporting_unit": String(),
        "name": String(),
        "active_from": Date(),
        "active_until": Date(),
        "note": String(),
    },
)
CRIME_AREA = _dimension(
    "crime_area",
    ("crime_area",),
    True,
    {"crime_area": String(), "name": String(), "iccs_section": String()},
)
INDICATOR = _dimension(
    "indicator",
    ("indicator",),
    True,
    {
        "indicator": String(),
        "name": String(),
        "unit": String(),
        "whole_number": Boolean(),
        "breakdowns": String(),
        "crime_areas": String(),
        "justice_chain_step": Integer(),
    },
)
COMMODITY = _dimension(
    "commodity", ("commodity",), True, {"commodity": String(), "name": String(), "units": String()}
)
DATASET = _dimension(
    "dataset",
    ("dataset",),
    True,
    {
        "dataset": String(),
        "frequency": String(),
        "deadline_days": Integer(),
        "close_after_days": Integer(),
    },
)
REPORTING_PERIOD = _dimension(
    "reporting_period",
    ("period",),
    False,
    {
        "period": String(),
        "frequency": String(),
        "year": Integer(),
        "number": Integer(),
        "start_date": Date(),
        "end_date": Date(),
    },
)
REPORTING_CALENDAR = _dimension(
    "reporting_calendar",
    ("dataset", "period"),
    False,  # stale rows (a dataset dropped, its frequency changed) are found by _stale_calendar
    {"dataset": String(), "period": String(), "deadline": Date(), "closes_on": Date()},
)
DIMENSIONS = (
    REPORTING_UNIT,
    CRIME_AREA,
    INDICATOR,
    COMMODITY,
    DATASET,
    REPORTING_PERIOD,
    REPORTING_CALENDAR,
)


@dataclass
class _Changes:
    inserts: list[Row]
    updates: list[Row]
    deletes: list[tuple[Any, ...]]

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates or self.deletes)

    @property
    def count(self) -> int:
        return len(self.inserts) + len(self.updates) + len(self.deletes)


def seed_dimensions(engine: Engine, *, today: date | None = None) -> dict[str, int]:
    """Bring every dimension table in step with the codelists; rows written per table.

    Reads first and writes only when something differs, so the usual call (nothing
    changed) takes no lock and writes nothing.
    """
    today = today or datetime.now(UTC).date()
    wanted = wanted_rows(today)
    with engine.connect() as conn:
        if not _changes(conn, wanted):
            return {}
    with engine.begin() as conn:
        lock(conn)
        return _apply(conn, _changes(conn, wanted))  # decided again under the lock


def ensure_calendar(engine: Engine, dataset: str, periods: Iterable[str]) -> int:
    """Add ``dataset``'s calendar rows for ``periods`` that it lacks; rows written.

    Raises ValueError for a dataset not in the calendar or a period of another frequency.
    """
    spec = config.codelists().datasets.get(dataset)
    if spec is None:
        raise ValueError(f"{dataset!r} is not a dataset of the reporting calendar")
    parsed = [Period.parse(code) for code in periods]
    for p in parsed:
        if p.frequency != spec.frequency:
            raise ValueError(
                f"{p.code} is not a period of {dataset}, which is reported with frequency "
                f"{spec.frequency} (codelists/calendar.yaml)"
            )
    wanted = {
        REPORTING_PERIOD.name: [_period_row(p) for p in parsed],
        REPORTING_CALENDAR.name: [_calendar_row(dataset, p) for p in parsed],
    }
    with engine.connect() as conn:
        if not _changes(conn, wanted, only_add=True):
            return 0
    with engine.begin() as conn:
        lock(conn)
        return sum(_apply(conn, _changes(conn, wanted, only_add=True)).values())


def wanted_rows(today: date) -> dict[str, list[Row]]:
    """Every dimension's rows as the codelists and the calendar say they should be."""
    lists = config.codelists()
    units = lists.reporting_units.values()
    first_year = min((u.active_from.year for u in units), default=today.year)
    periods = {
        p.code: p
        for ds in lists.datasets.values()
        for year in range(first_year, today.year + 2)
        for p in _periods_of_year(year, ds.frequency)
    }
    return {
        REPORTING_UNIT.name: [
            {
                "reporting_unit": u.code,
                "name": u.name,
                "active_from": u.active_from,
                "active_until": u.active_until,
                "note": u.note or None,
            }
            for u in units
        ],
        CRIME_AREA.name: [
            {"crime_area": code, "name": name, "iccs_section": lists.iccs_sections[code]}
            for code, name in lists.crime_areas.items()
        ],
        INDICATOR.name: [
            {
                "indicator": i.code,
                "name": i.name,
                "unit": i.unit,
                "whole_number": i.whole_number,
                "breakdowns": "|".join(i.breakdowns) or None,
                "crime_areas": "|".join(i.crime_areas) or None,
                "justice_chain_step": i.justice_chain_step,
            }
            for i in lists.indicators.values()
        ],
        COMMODITY.name: [
            {"commodity": c.code, "name": c.name, "units": "|".join(c.units)}
            for c in lists.commodities.values()
        ],
        DATASET.name: [
            {
                "dataset": d.code,
                "frequency": d.frequency,
                "deadline_days": d.deadline_days,
                "close_after_days": d.close_after_days,
            }
            for d in lists.datasets.values()
        ],
        REPORTING_PERIOD.name: [_period_row(p) for p in periods.values()],
        REPORTING_CALENDAR.name: [
            _calendar_row(ds.code, p)
            for ds in lists.datasets.values()
            for p in periods.values()
            if p.frequency == ds.frequency
        ],
    }


def _periods_of_year(year: int, frequency: str) -> list[Period]:
    first = Period(year, frequency, 1)
    found = [first]
    while (p := found[-1].next()).year == year:
        found.append(p)
    return found


def _period_row(p: Period) -> Row:
    return {
        "period": p.code,
        "frequency": p.frequency,
        "year": p.year,
        "number": p.number,
        "start_date": p.start,
        "end_date": p.end,
    }


def _calendar_row(dataset: str, p: Period) -> Row:
    spec = config.codelists().datasets[dataset]
    deadline = p.deadline(spec.deadline_days)
    return {
        "dataset": dataset,
        "period": p.code,
        "deadline": deadline,
        "closes_on": deadline + timedelta(days=spec.close_after_days),
    }


def _changes(
    conn: Connection, wanted: dict[str, list[Row]], *, only_add: bool = False
) -> dict[str, _Changes]:
    """Per table, what differs between its rows and ``wanted``; only tables that differ."""
    found = {}
    for dim in DIMENSIONS:
        if dim.name not in wanted:
            continue
        existing = {dim.key_of(r): r for r in _rows(conn, dim)}
        rows = {dim.key_of(r): r for r in wanted[dim.name]}
        changes = _Changes(
            inserts=[r for k, r in rows.items() if k not in existing],
            updates=[]
            if only_add
            else [r for k, r in rows.items() if k in existing and existing[k] != r],
            deletes=[k for k in existing if k not in rows] if dim.prune and not only_add else [],
        )
        if dim is REPORTING_CALENDAR and not only_add:
            changes.deletes = _stale_calendar(existing, wanted)
        if changes:
            found[dim.name] = changes
    return found


def _stale_calendar(
    existing: dict[tuple[Any, ...], Row], wanted: dict[str, list[Row]]
) -> list[tuple[Any, ...]]:
    """Calendar rows of a dataset no longer in the calendar or no longer of its frequency."""
    frequency = {d["dataset"]: d["frequency"] for d in wanted[DATASET.name]}
    return [
        (dataset, period)
        for dataset, period in existing
        if frequency.get(dataset) != Period.parse(period).frequency
    ]


def _rows(conn: Connection, dim: Dimension) -> list[Row]:
    return [
        {k: _plain(v) for k, v in r.items()} for r in conn.execute(select(dim.table)).mappings()
    ]


def _plain(value: Any) -> Any:
    # PostgreSQL pads CHAR(n); the codelists do not.
    return value.rstrip() if isinstance(value, str) else value


def _apply(conn: Connection, changes: dict[str, _Changes]) -> dict[str, int]:
    for dim in reversed(DIMENSIONS):
        if dim.name in changes and changes[dim.name].deletes:
            key = [dim.table.c[k] for k in dim.key]
            for values in changes[dim.name].deletes:
                conn.execute(
                    delete(dim.table).where(
                        and_(*(c == v for c, v in zip(key, values, strict=True)))
                    )
                )
    for dim in DIMENSIONS:
        if dim.name not in changes:
            continue
        if changes[dim.name].inserts:
            conn.execute(insert(dim.table), changes[dim.name].inserts)
        for row in changes[dim.name].updates:
            where = and_(*(dim.table.c[k] == row[k] for k in dim.key))
            conn.execute(update(dim.table).where(where).values(row))
    return {name: c.count for name, c in changes.items()}
