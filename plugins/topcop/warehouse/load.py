"""Record one received file in the warehouse: its submission row, its findings and, if accepted, its facts.

Every file the pipeline sees leaves one ``submission`` row, so the warehouse is
the audit trail as well as the store of figures; with it go the file's findings
and how each expectation and rule fared on it (``expectation_result``, the
stewards' data-quality record). All of it happens in one transaction per
file: a crash leaves nothing of the file behind and the rerun
starts clean. Races between loaders (the same file picked up twice, two
corrections for one period) are decided by the database's unique constraints
(one accepted copy of each content, one revision number per unit and period),
not by the loaders: the loser rolls back and tries once more, and then sees a
duplicate or takes the next revision.

Facts go in bulk: ``COPY ... FROM STDIN`` on PostgreSQL, ``executemany`` in
batches elsewhere; a seizure return can have hundreds of thousands of rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Date, DateTime, Engine, bindparam, column, insert, table, text
from sqlalchemy.exc import IntegrityError

from topcop.findings import ERROR, WARNING, ExpectationResult, Finding
from topcop.periods import Period, PeriodError
from topcop.returns.model import (
    INDICATOR_COLUMNS,
    INDICATORS_SHEET,
    ROW,
    SEIZURE_COLUMNS,
    SEIZURES_SHEET,
    ReturnFile,
)

ACCEPTED = "accepted"
ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
REJECTED = "rejected"
DUPLICATE = "duplicate"
LOADED = (ACCEPTED, ACCEPTED_WITH_WARNINGS)

# Submission datasets: an xlsx return carries both tables, a CSV file one.
RETURN_DATASET = "return"
CARRIED = {
    RETURN_DATASET: (INDICATORS_SHEET, SEIZURES_SHEET),
    INDICATORS_SHEET: (INDICATORS_SHEET,),
    SEIZURES_SHEET: (SEIZURES_SHEET,),
}
FACT_TABLES = {
    INDICATORS_SHEET: ("indicator_fact", INDICATOR_COLUMNS),
    SEIZURES_SHEET: ("seizure_fact", SEIZURE_COLUMNS),
}

FACT_BATCH_ROWS = 20_000  # rows converted and written at a time: bounds memory on big returns
_ATTEMPTS = 2  # a loader that loses a race retries once

# Widths of the columns that hold what a file declared (sql/migrations/0001_core.sql).
# A rejected file is recorded with whatever it said, so its text is cut to fit.
_WIDTHS = {
    "file_name": 300,
    "file_format": 8,
    "template_version": 16,
    "handling_code": 16,
    "sheet": 32,
    "column_name": 64,
    "rule": 120,
    "suite": 32,
    "expectation_type": 120,
    "result_column": 200,
}
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}  # positional, by DBAPI style
_TYPED = {"received_at": DateTime(), "processed_at": DateTime(), "submission_date": Date()}


@dataclass(frozen=True)
class ReceivedFile:
    """The file as it arrived: its names, content hash, size and arrival time."""

    file_name: str  # as the focal point named it
    stored_name: str  # as archived or quarantined
    sha256: str
    size_bytes: int
    received_at: datetime


@dataclass(frozen=True)
class SubmissionOutcome:
    """What the warehouse made of one file; the receipt is written from it."""

    submission_id: str
    status: str  # accepted | accepted_with_warnings | rejected | duplicate
    revision: int | None
    supersedes: str | None
    duplicate_of: str | None
    indicator_rows: int
    seizure_rows: int
    error_count: int
    warning_count: int

    @property
    def loaded(self) -> bool:
        return self.status in LOADED


class _LostRace(Exception):
    """Another loader committed the same content or the same revision number first."""


def record_submission(
    engine: Engine,
    ret: ReturnFile,
    *,
    reporting_unit: str,
    received: ReceivedFile,
    findings: list[Finding],
    processed_at: datetime | None = None,
    results: Sequence[ExpectationResult] = (),
    within: Callable[[Connection, SubmissionOutcome], None] | None = None,
) -> SubmissionOutcome:
    """Record ``received`` (read into ``ret``, judged by ``findings``) in one transaction.

    An error among the findings rejects the file (findings kept, no facts, no
    revision); content already accepted for the unit and dataset is a duplicate
    (acknowledged, nothing loaded); anything else becomes the next revision for
    the unit and period, its facts loaded. ``results`` (how each expectation and
    rule fared) are kept whatever the outcome. ``within`` runs last in the same
    transaction (a steward's decision is recorded with the submission it produced).
    """
    processed_at = processed_at or datetime.now(UTC)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with engine.begin() as conn:
                outcome = _record(
                    conn, ret, reporting_unit, received, findings, results, processed_at
                )
                if within is not None:
                    within(conn, outcome)
                return outcome
        except _LostRace as lost:
            if attempt == _ATTEMPTS:
                raise lost.__cause__ from None  # the IntegrityError, after the retry lost too
    raise AssertionError("unreachable")


def facts_loaded(engine: Engine, submission_id: str) -> dict[str, int]:
    """Rows held for one submission, per table: ``finding``, ``indicator_fact``, ``seizure_fact``."""
    with engine.connect() as conn:
        return {
            name: conn.execute(
                text(f"SELECT COUNT(*) FROM {name} WHERE submission_id = :s"), {"s": submission_id}
            ).scalar_one()
            for name in ("finding", "indicator_fact", "seizure_fact")
        }


# --- test seams: no-ops that tests replace to stage races and crashes -------------


def _before_submission_insert(status: str) -> None:
    """Called once the file's fate is decided, just before its submission row is written."""


def _after_fact_batch(table_name: str, written: int, total: int) -> None:
    """Called after each batch of fact rows is written, inside the transaction."""


# --- one attempt ------------------------------------------------------------------


def _record(
    conn: Connection,
    ret: ReturnFile,
    reporting_unit: str,
    received: ReceivedFile,
    findings: list[Finding],
    results: Sequence[ExpectationResult],
    processed_at: datetime,
) -> SubmissionOutcome:
    if conn.dialect.name == "sqlite":
        # pysqlite runs SELECTs outside any transaction and opens one only at the
        # first INSERT; take the write lock first instead, so the file's fate is
        # decided on the state it is written against. Loaders on SQLite queue here
        # (the engine's busy timeout) and never race.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    period = _period_code(ret.metadata.get("period"))
    dataset = _dataset(ret, received.file_name)
    outcome = _decide(conn, ret, reporting_unit, received, findings, period, dataset)
    row = _submission_row(outcome, ret, reporting_unit, received, period, dataset, processed_at)
    _before_submission_insert(outcome.status)
    try:
        _insert(conn, "submission", [row])
    except IntegrityError as error:
        raise _LostRace from error
    if findings:
        _insert(conn, "finding", _finding_rows(outcome.submission_id, findings))
    if results:
        _insert(conn, "expectation_result", _result_rows(outcome.submission_id, results))
    if outcome.loaded:
        for carried in CARRIED[dataset]:
            frame = ret.table(carried)
            if frame is not None:
                _load_facts(conn, outcome.submission_id, carried, frame)
    return outcome


def _decide(
    conn: Connection,
    ret: ReturnFile,
    unit: str,
    received: ReceivedFile,
    findings: list[Finding],
    period: str | None,
    dataset: str,
) -> SubmissionOutcome:
    """The file's fate: rejected, a duplicate, or the next revision for its unit and period."""
    errors = sum(f.severity == ERROR for f in findings)
    warning_count = sum(f.severity == WARNING for f in findings)
    revision = supersedes = duplicate_of = None
    if errors:
        status = REJECTED
    elif duplicate_of := _accepted_copy(conn, unit, dataset, received.sha256):
        status = DUPLICATE
    else:
        if period is None:
            raise ValueError(
                f"{received.file_name}: a file without a valid period was not rejected"
            )
        if dataset != RETURN_DATASET and ret.table(dataset) is None:
            raise ValueError(f"{received.file_name}: an accepted {dataset} file carries no table")
        status = ACCEPTED_WITH_WARNINGS if warning_count else ACCEPTED
        revision, supersedes = _next_revision(conn, unit, period, dataset)

    def loaded_rows(table_dataset: str) -> int:
        frame = ret.table(table_dataset)
        carried = status in LOADED and table_dataset in CARRIED[dataset]
        return len(frame) if carried and frame is not None else 0

    return SubmissionOutcome(
        submission_id=uuid.uuid4().hex,
        status=status,
        revision=revision,
        supersedes=supersedes,
        duplicate_of=duplicate_of,
        indicator_rows=loaded_rows(INDICATORS_SHEET),
        seizure_rows=loaded_rows(SEIZURES_SHEET),
        error_count=errors,
        warning_count=warning_count,
    )


def _submission_row(
    outcome: SubmissionOutcome,
    ret: ReturnFile,
    unit: str,
    received: ReceivedFile,
    period: str | None,
    dataset: str,
    processed_at: datetime,
) -> dict[str, Any]:
    declared = ret.metadata
    return {
        "submission_id": outcome.submission_id,
        "reporting_unit": unit,
        "period": period,
        "dataset": dataset,
        "file_name": _fit(received.file_name, "file_name"),
        "stored_name": received.stored_name,
        "sha256": received.sha256,
        "file_format": _fit(ret.file_format, "file_format"),
        "size_bytes": received.size_bytes,
        "received_at": _utc_naive(received.received_at),
        "processed_at": _utc_naive(processed_at),
        "status": outcome.status,
        "revision": outcome.revision,
        "supersedes": outcome.supersedes,
        "template_version": _fit(_text(declared.get("template_version")), "template_version"),
        "submission_date": _date(declared.get("submission_date")),
        "focal_point_ref": _fit(_text(declared.get("focal_point_ref")), "focal_point_ref"),
        "handling_code": _fit(_text(declared.get("handling_code")), "handling_code"),
        "remarks": _text(declared.get("remarks")),
        "indicator_rows": outcome.indicator_rows,
        "seizure_rows": outcome.seizure_rows,
        "error_count": outcome.error_count,
        "warning_count": outcome.warning_count,
    }


def _accepted_copy(conn: Connection, unit: str, dataset: str, sha256: str) -> str | None:
    return conn.execute(
        text(
            "SELECT submission_id FROM submission WHERE reporting_unit = :unit"
            " AND dataset = :dataset AND sha256 = :sha256"
            " AND status IN ('accepted', 'accepted_with_warnings')"
        ),
        {"unit": unit, "dataset": dataset, "sha256": sha256},
    ).scalar()


def _next_revision(
    conn: Connection, unit: str, period: str, dataset: str
) -> tuple[int, str | None]:
    """The next revision number for the unit and period, and the submission this one replaces.

    Revisions count every accepted file for the unit and period; the replaced one
    is the latest that carries any of the same datasets (a seizures CSV does not
    replace an indicators CSV, a full return replaces either).
    """
    latest = conn.execute(
        text(
            "SELECT MAX(revision) FROM submission WHERE reporting_unit = :unit"
            " AND period = :period AND status IN ('accepted', 'accepted_with_warnings')"
        ),
        {"unit": unit, "period": period},
    ).scalar()
    overlapping = [d for d, carried in CARRIED.items() if set(carried) & set(CARRIED[dataset])]
    replaced = conn.execute(
        text(
            "SELECT submission_id FROM submission WHERE reporting_unit = :unit"
            " AND period = :period AND status IN ('accepted', 'accepted_with_warnings')"
            " AND dataset IN :datasets ORDER BY revision DESC LIMIT 1"
        ).bindparams(bindparam("datasets", expanding=True)),
        {"unit": unit, "period": period, "datasets": overlapping},
    ).scalar()
    return (latest or 0) + 1, replaced


def _insert(conn: Connection, table_name: str, rows: list[dict[str, Any]]) -> None:
    target = table(table_name, *(column(name, _TYPED.get(name)) for name in rows[0]))
    conn.execute(insert(target), rows)


def _finding_rows(submission_id: str, findings: list[Finding]) -> list[dict[str, Any]]:
    return [
        {
            "submission_id": submission_id,
            "seq": seq,
            "sheet": _fit(f.sheet, "sheet"),
            "row_number": int(f.row) if f.row is not None else None,
            "column_name": _fit(f.column, "column_name"),
            "value": None if _missing(f.value) else str(f.value),  # as found, spaces and all
            "rule": _fit(f.rule, "rule"),
            "severity": f.severity,
            "message": f.message,
        }
        for seq, f in enumerate(findings, start=1)
    ]


def _result_rows(submission_id: str, results: Sequence[ExpectationResult]) -> list[dict[str, Any]]:
    return [
        {
            "submission_id": submission_id,
            "seq": seq,
            "suite": _fit(r.suite, "suite"),
            "expectation_type": _fit(r.expectation_type, "expectation_type"),
            "column_name": _fit(r.column, "result_column"),
            "success": bool(r.success),
            "unexpected_count": r.unexpected_count,
            "severity": r.severity,
        }
        for seq, r in enumerate(results, start=1)
    ]


# --- facts --------------------------------------------------------------------------


def _load_facts(conn: Connection, submission_id: str, dataset: str, frame: pd.DataFrame) -> None:
    table_name, columns = FACT_TABLES[dataset]
    names = ["submission_id", "row_number", *columns]
    postgresql = conn.dialect.name == "postgresql"
    batches = _fact_batches(submission_id, frame, columns, iso_dates=not postgresql)
    total, written = len(frame), 0
    if postgresql:
        # COPY through the driver connection SQLAlchemy holds: same transaction.
        driver = conn.connection.driver_connection
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table_name} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for batch in batches:
                for values in batch:
                    copy.write_row(values)
                written += len(batch)
                _after_fact_batch(table_name, written, total)
        return
    # The driver's executemany with plain tuples: SQLAlchemy's per-row parameter
    # processing would double the time of a big return.
    mark = _PLACEHOLDERS[conn.dialect.paramstyle]
    statement = (
        f"INSERT INTO {table_name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
    )
    for batch in batches:
        conn.exec_driver_sql(statement, batch)
        written += len(batch)
        _after_fact_batch(table_name, written, total)


def _fact_batches(
    submission_id: str, frame: pd.DataFrame, columns: dict[str, str], *, iso_dates: bool
) -> Iterator[list[tuple[Any, ...]]]:
    """Fact rows as tuples of plain Python values, NA/NaN/NaT as None, a batch at a time.

    Each column goes through Arrow, which makes the Python values in C: a date column
    is cut to its day there, and written as ISO text for SQLite (no date type), as
    SQLAlchemy's Date does.
    """
    for start in range(0, len(frame), FACT_BATCH_ROWS):
        part = frame.iloc[start : start + FACT_BATCH_ROWS]
        values = [[submission_id] * len(part), _plain(part[ROW])]
        for name, dtype in columns.items():
            array = pa.array(part[name], from_pandas=True)
            if dtype.startswith("datetime"):
                array = pc.floor_temporal(array, unit="day").cast(pa.date32())
                if iso_dates:
                    array = array.cast(pa.string())
            values.append(array.to_pylist())
        yield list(zip(*values, strict=True))


def _plain(series: pd.Series) -> list[Any]:
    return series.to_numpy(dtype=object, na_value=None).tolist()


# --- values a file declared -----------------------------------------------------------


def _dataset(ret: ReturnFile, file_name: str) -> str:
    """``return`` for a workbook; for a CSV file, the table it carries (else its name says)."""
    if ret.file_format != "csv":
        return RETURN_DATASET
    carried = ret.datasets
    if len(carried) == 1:
        return carried[0]
    # Unreadable CSV: <CC>_<period>_<dataset>.csv names the dataset it meant to carry.
    named = Path(file_name).stem.rsplit("_", 1)[-1].lower()
    return named if named in (INDICATORS_SHEET, SEIZURES_SHEET) else RETURN_DATASET


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like values are not missing scalars
        return False


def _text(value: Any) -> str | None:
    if _missing(value):
        return None
    return str(value).strip() or None


def _fit(value: Any, column_name: str) -> str | None:
    if value is None:
        return None
    value, width = str(value), _WIDTHS.get(column_name)
    return value if width is None or len(value) <= width else value[: width - 1] + "…"


def _period_code(value: Any) -> str | None:
    """The period in its canonical code, or None when the file did not name a valid one."""
    text_value = _text(value)
    if text_value is None:
        return None
    try:
        return Period.parse(text_value).code
    except PeriodError:
        return None


def _date(value: Any) -> date | None:
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None  # the validation's finding says what was wrong with it


def _utc_naive(moment: datetime) -> datetime:
    """The schema's TIMESTAMP columns hold UTC without a zone."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
