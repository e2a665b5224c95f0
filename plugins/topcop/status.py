"""The steward's status view: who sent which return, on time or not, as a text table.

``topcop status [--period P]`` prints it; the assessment workbook's completeness
sheet shows the same classification, both read from ``reports.completeness``.
One block per dataset of the reporting calendar, reporting units down, periods
across, and under each period how many of the expected returns were accepted.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from topcop import config
from topcop.calendar import received_returns
from topcop.periods import Period, last_closed_periods
from topcop.reports.completeness import Timeliness, completeness

DEFAULT_PERIODS = 4
_GAP = "  "


def status_periods(period: str | None, today: date, count: int = DEFAULT_PERIODS) -> list[str]:
    """The ``count`` periods ending at ``period``; without one, the last ``count`` that have ended."""
    if period:
        p = Period.parse(period)
        return [q.code for q in last_closed_periods(p.next().start, count, p.frequency)]
    frequency = next(iter(config.codelists().datasets.values())).frequency
    return [q.code for q in last_closed_periods(today, count, frequency)]


def status_matrix(engine: Engine, periods: list[str], today: date) -> str:
    """Units × periods for every dataset, each cell as ``reports.completeness`` classifies it."""
    units = config.codelists().reporting_units
    blocks = [f"Returns as of {today.isoformat()}; deadlines from codelists/calendar.yaml."]
    for dataset in config.codelists().datasets:
        cells = completeness(engine, periods, dataset=dataset, today=today)
        rejected = received_returns(engine, periods, dataset)
        grid = {(c.reporting_unit, c.period): c for c in cells}
        rows = [["unit", "name", *periods]]
        for code, unit in units.items():
            row = [code, unit.name]
            for p in periods:
                cell = grid[(code, p)]
                label = cell.label
                if cell.submission_id is None and (code, p) in rejected:
                    label += ", file rejected"
                row.append(label)
            rows.append(row)
        accepted = []
        for p in periods:
            column = [grid[(code, p)] for code in units]
            expected = [c for c in column if c.expected]
            sent = [c for c in expected if c.status in (Timeliness.ON_TIME, Timeliness.LATE)]
            accepted.append(f"{len(sent)}/{len(expected)}")
        rows.append(["", "accepted / expected", *accepted])
        blocks.append(f"{dataset}\n{_table(rows)}")
    blocks.append(
        textwrap.fill(
            "on time: accepted by the deadline; late (n days): accepted after it; missing: "
            "nothing accepted and the deadline passed; due: deadline still ahead; n.a.: the "
            "unit was not active at the period's start; file rejected: a file arrived but "
            "nothing was accepted.",
            width=90,
        )
    )
    return "\n\n".join(blocks) + "\n"


def status_report(
    period: str | None = None, *, today: date | None = None, engine: Engine | None = None
) -> str:
    """What ``topcop status [--period P]`` prints, from the configured warehouse."""
    from topcop.warehouse.engine import warehouse_engine
    from topcop.warehouse.migrate import migrate

    today = today or datetime.now(UTC).date()
    if engine is None:
        engine = warehouse_engine()
        migrate(engine)
    return status_matrix(engine, status_periods(period, today), today)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        _GAP.join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    rule = _GAP.join("-" * w for w in widths)
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])
