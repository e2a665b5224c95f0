"""Which report to build and where: the entry point the report DAG and the command line call."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from topcop import config


def latest_period(engine: Engine) -> str | None:
    """The most recent period for which any return was accepted."""
    with engine.connect() as conn:
        periods = [
            r[0] for r in conn.execute(text("SELECT DISTINCT period FROM v_submission_accepted"))
        ]
    if not periods:
        return None
    from topcop.periods import Period

    return max(periods, key=Period.parse)


def build_report(
    period: str | None = None,
    *,
    engine: Engine | None = None,
    out_dir: Path | None = None,
    today: date | None = None,
) -> Path:
    """Build the assessment workbook for ``period`` (default: the latest with data)."""
    from topcop.reports.assessment import build_assessment
    from topcop.warehouse.engine import warehouse_engine
    from topcop.warehouse.migrate import migrate

    if engine is None:
        engine = warehouse_engine()
        migrate(engine)
    period = period or latest_period(engine)
    if period is None:
        raise LookupError("the warehouse holds no accepted return yet: nothing to report on")
    today = today or datetime.now(UTC).date()
    return build_assessment(engine, period, out_dir or config.reports_dir(), today=today)
