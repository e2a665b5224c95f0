"""Which report to build, where it goes, and what it was built from.

The entry point the report DAG and the command line call. A report goes to
the reports location, a local folder (default ``var/reports``) or an S3
prefix (``s3://bucket/prefix``, through the Airflow S3 connection the landing
uses), and never replaces an earlier build. Each build is recorded in the
warehouse (``report_build``) with the submissions it used
(``report_build_submission``), so anyone can tell which revision of which
return a report reflects, and which reports a later correction outdates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import Engine, text

from topcop import config
from topcop.periods import Period

S3_SCHEME = "s3://"


@dataclass(frozen=True)
class ReportBuild:
    """One recorded build: where the workbook is and what went into it."""

    build_id: str
    period: str
    audience: str
    built_at: datetime  # naive UTC
    location: str  # local path or s3://bucket/key
    submissions: frozenset[str]


def latest_period(engine: Engine) -> str | None:
    """The most recent period for which any return was accepted."""
    with engine.connect() as conn:
        periods = [
            r[0]
            for r in conn.execute(
                text("SELECT DISTINCT period FROM v_submission_accepted WHERE period IS NOT NULL")
            )
        ]
    return max(periods, key=Period.parse) if periods else None


def build_report(
    period: str | None = None,
    *,
    audience: str = "programme",
    engine: Engine | None = None,
    destination: str | Path | None = None,
    today: date | None = None,
    periods_back: int = 8,
) -> ReportBuild:
    """Build the assessment workbook for ``period`` (default: the latest with data) and record it.

    ``audience`` is ``programme`` or ``public``; ``destination`` a folder or
    ``s3://bucket/prefix`` (default: ``config.reports_dir()``).
    """
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
    destination = str(destination or config.reports_location())
    options = {"today": today, "periods_back": periods_back, "audience": audience}

    if destination.startswith(S3_SCHEME):
        with TemporaryDirectory(prefix="topcop-report-") as tmp:
            assessment = build_assessment(engine, period, Path(tmp), **options)
            location = upload_report(assessment.path, destination)
    else:
        assessment = build_assessment(engine, period, Path(destination), **options)
        location = str(assessment.path.resolve())

    build = ReportBuild(
        build_id=uuid.uuid4().hex,
        period=assessment.period,
        audience=assessment.audience.value,
        built_at=assessment.built_at,
        location=location,
        submissions=assessment.submissions,
    )
    record_build(
        engine, build, first_period=assessment.periods[0], data_as_of=assessment.data_as_of
    )
    return build


def record_build(
    engine: Engine, build: ReportBuild, *, first_period: str, data_as_of: datetime | None
) -> None:
    """Store the build and the submissions it used, in one transaction."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO report_build (build_id, period, first_period, audience, built_at,"
                " data_as_of, location, submission_count)"
                " VALUES (:build_id, :period, :first_period, :audience, :built_at, :data_as_of,"
                " :location, :submission_count)"
            ),
            {
                "build_id": build.build_id,
                "period": build.period,
                "first_period": first_period,
                "audience": build.audience,
                "built_at": build.built_at,
                "data_as_of": data_as_of,
                "location": build.location,
                "submission_count": len(build.submissions),
            },
        )
        if build.submissions:
            conn.execute(
                text(
                    "INSERT INTO report_build_submission (build_id, submission_id)"
                    " VALUES (:build_id, :submission_id)"
                ),
                [
                    {"build_id": build.build_id, "submission_id": sid}
                    for sid in sorted(build.submissions)
                ],
            )


def upload_report(path: Path, destination: str) -> str:
    """Copy a finished workbook under ``destination`` (``s3://bucket/prefix``); returns its URI.

    An existing key is never replaced: the upload fails instead.
    """
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from topcop.landing.s3 import conn_id

    bucket, _, prefix = destination[len(S3_SCHEME) :].partition("/")
    if not bucket:
        raise ValueError(f"{destination!r} names no bucket (expected s3://bucket/prefix)")
    key = "/".join(part for part in (prefix.strip("/"), path.name) if part)
    # replace=False: the hook refuses a key that exists instead of overwriting it.
    S3Hook(aws_conn_id=conn_id()).load_file(str(path), key=key, bucket_name=bucket, replace=False)
    return f"{S3_SCHEME}{bucket}/{key}"
