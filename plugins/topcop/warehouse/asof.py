"""Time travel: the figures as the warehouse knew them at a past moment.

"What did we know on date D?" For each reporting unit and period, the latest
accepted revision that had been processed (``submission.processed_at``, UTC) at
or before D, and its rows. ``processed_at`` rather than ``received_at``: a file
that arrived before D but was loaded after it was not yet known on D.

The queries below are plain parameterised SQL that run unchanged on SQLite and
PostgreSQL, and return the columns of ``v_indicator_current`` /
``v_seizure_current``. PostgreSQL also has them as table functions
(``indicator_as_of(timestamptz)``, ``seizure_as_of(timestamptz)``,
sql/migrations/0008_as_of.postgresql.sql) for analysts' SQL clients.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import DateTime, Engine, bindparam, text


def _as_of_query(fact_table: str, dataset: str) -> str:
    # The revision's own processed_at needs no test: it is the latest of a set it belongs to.
    return f"""
SELECT s.reporting_unit, s.period, s.revision, s.handling_code, f.*
FROM {fact_table} f
JOIN v_submission_accepted s ON s.submission_id = f.submission_id
WHERE s.revision = (
    SELECT MAX(s2.revision) FROM v_submission_accepted s2
    WHERE s2.reporting_unit = s.reporting_unit AND s2.period = s.period
      AND s2.dataset IN ('return', '{dataset}')
      AND s2.processed_at <= :as_of
)
ORDER BY s.reporting_unit, s.period, f.row_number
""".strip()


# Documented in docs/warehouse.md; bind :as_of to a UTC timestamp without zone.
INDICATORS_AS_OF_SQL = _as_of_query("indicator_fact", "indicators")
SEIZURES_AS_OF_SQL = _as_of_query("seizure_fact", "seizures")


def indicators_as_of(engine: Engine, as_of: datetime | date) -> list[dict[str, Any]]:
    """The indicator rows current at ``as_of``: the columns of ``v_indicator_current``."""
    return _run(engine, INDICATORS_AS_OF_SQL, as_of)


def seizures_as_of(engine: Engine, as_of: datetime | date) -> list[dict[str, Any]]:
    """The seizure rows current at ``as_of``: the columns of ``v_seizure_current``."""
    return _run(engine, SEIZURES_AS_OF_SQL, as_of)


def as_of_moment(as_of: datetime | date) -> datetime:
    """The moment, as the warehouse stores moments: UTC without a zone.

    A date means the whole day: everything processed up to its last microsecond (UTC).
    A datetime without a zone is taken to be UTC already.
    """
    if not isinstance(as_of, datetime):
        return datetime.combine(as_of, time.max)
    if as_of.tzinfo is None:
        return as_of
    return as_of.astimezone(UTC).replace(tzinfo=None)


def _run(engine: Engine, sql: str, as_of: datetime | date) -> list[dict[str, Any]]:
    query = text(sql).bindparams(bindparam("as_of", type_=DateTime()))
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query, {"as_of": as_of_moment(as_of)}).mappings()]
