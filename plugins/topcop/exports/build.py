"""Export a period in one edition, or every closed period in both: the entry point.

What the export DAG and ``topcop export`` call. Each export makes sure the current
structure version exists (issuing a new one when the codelists changed, and
writing its structure files), reads the edition's observations, and writes both
dataflows' files under ``<edition>/<period>/<UTC time>_<digest>/``. An export whose
observations and structure version equal the latest export of that period and
edition to the same place writes nothing and returns that one: the DAG runs after every load, and
only the periods a load changed get new files. Each export is recorded in
``sdmx_export`` with the submissions it reflects, in one transaction after its
files are in place.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, text

from topcop import config
from topcop.exports import location as files
from topcop.exports.artefacts import StructureSet, structure_set
from topcop.exports.design import current_design
from topcop.exports.messages import (
    data_digest,
    data_file_names,
    structure_file_names,
    write_data,
    write_structures,
)
from topcop.exports.observations import observations
from topcop.exports.versions import StructureVersion, naive_utc, structure_version
from topcop.periods import Period
from topcop.reports.handling import Audience, parse_audience

EDITIONS = (Audience.PROGRAMME, Audience.PUBLIC)


@dataclass(frozen=True)
class SdmxExport:
    """One recorded export: where its files are and what went into them."""

    export_id: str
    period: str
    edition: str
    structure_version: str
    exported_at: datetime  # naive UTC
    location: str  # folder or s3://bucket/prefix of the data files
    files: tuple[str, ...]
    indicator_observations: int
    seizure_observations: int
    written: bool  # False: the latest export already held the same, nothing was written


def closed_periods(engine: Engine, today: date) -> list[str]:
    """Periods that ended before ``today`` and hold an accepted return, oldest first."""
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT DISTINCT period FROM v_submission_accepted WHERE period IS NOT NULL")
        ).scalars()
        periods = [Period.parse(p) for p in found]
    return [p.code for p in sorted(periods, key=lambda p: (p.end, p.frequency)) if p.end < today]


def export_closed_periods(
    *,
    engine: Engine | None = None,
    destination: str | Path | None = None,
    today: date | None = None,
    editions: tuple[str | Audience, ...] = EDITIONS,
) -> list[SdmxExport]:
    """Every closed period in every edition (by default both)."""
    engine = engine or _engine()
    today = today or datetime.now(UTC).date()
    return [
        export_period(period, edition, engine=engine, destination=destination)
        for period in closed_periods(engine, today)
        for edition in editions
    ]


def export_period(
    period: str,
    edition: str | Audience = Audience.PROGRAMME,
    *,
    engine: Engine | None = None,
    destination: str | Path | None = None,
    now: datetime | None = None,
) -> SdmxExport:
    """Export ``period`` in ``edition`` (``programme`` or ``public``) to ``destination``.

    ``destination``: a folder or ``s3://bucket/prefix`` (default
    ``config.exports_location()``).
    """
    period = Period.parse(period).code
    edition = parse_audience(edition)
    engine = engine or _engine()
    root = str(destination or config.exports_location())
    now = naive_utc(now)

    design = current_design()
    version = structure_version(engine, design, now)
    structures = structure_set(design, version.version)
    _ensure_structure_files(structures, version, root)

    found = observations(engine, period, edition)
    digest = data_digest(found, version.version)
    latest = _latest_export(engine, period, edition)
    here = files.join(root, edition.value, period)
    if latest is not None and latest[1] == digest and latest[0].location.startswith(here + "/"):
        return replace(latest[0], written=False)

    folder = f"{now.strftime('%Y%m%dT%H%M%SZ')}_{digest[:8]}"
    where = files.join(here, folder)
    with tempfile.TemporaryDirectory(prefix="topcop-sdmx-") as tmp:
        placed = files.publish(write_data(found, structures, Path(tmp), now), where)
    export = SdmxExport(
        export_id=uuid.uuid4().hex,
        period=period,
        edition=edition.value,
        structure_version=version.version,
        exported_at=now,
        location=where,
        files=tuple(placed),
        indicator_observations=len(found.indicators),
        seizure_observations=len(found.seizures),
        written=True,
    )
    _record(engine, export, digest, found.submissions)
    return export


def _ensure_structure_files(structures: StructureSet, version: StructureVersion, root: str) -> None:
    """Write the version's structure files unless a run before this one already did."""
    where = files.join(root, files.STRUCTURES)
    if all(files.exists(where, name) for name in structure_file_names(version.version)):
        return
    with tempfile.TemporaryDirectory(prefix="topcop-sdmx-") as tmp:
        written = write_structures(structures, Path(tmp), version.created_at)
        files.publish([p for p in written if not files.exists(where, p.name)], where)


_LATEST_EXPORT = text(
    "SELECT export_id, structure_version, exported_at, data_sha256, location,"
    " indicator_observations, seizure_observations"
    " FROM sdmx_export WHERE period = :period AND edition = :edition"
    " ORDER BY exported_at DESC, export_id DESC"
).columns(exported_at=DateTime)


def _latest_export(engine: Engine, period: str, edition: Audience) -> tuple[SdmxExport, str] | None:
    with engine.connect() as conn:
        row = conn.execute(_LATEST_EXPORT, {"period": period, "edition": edition.value}).first()
    if row is None:
        return None
    export = SdmxExport(
        export_id=row.export_id,
        period=period,
        edition=edition.value,
        structure_version=row.structure_version,
        exported_at=row.exported_at,
        location=row.location,
        files=tuple(files.join(row.location, n) for n in data_file_names(period, edition.value)),
        indicator_observations=row.indicator_observations,
        seizure_observations=row.seizure_observations,
        written=True,
    )
    return export, row.data_sha256


def _record(engine: Engine, export: SdmxExport, digest: str, submissions: frozenset[str]) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sdmx_export (export_id, period, edition, structure_version,"
                " exported_at, data_sha256, location, indicator_observations,"
                " seizure_observations)"
                " VALUES (:export_id, :period, :edition, :structure_version, :exported_at,"
                " :data_sha256, :location, :indicator_observations, :seizure_observations)"
            ),
            {
                "export_id": export.export_id,
                "period": export.period,
                "edition": export.edition,
                "structure_version": export.structure_version,
                "exported_at": export.exported_at,
                "data_sha256": digest,
                "location": export.location,
                "indicator_observations": export.indicator_observations,
                "seizure_observations": export.seizure_observations,
            },
        )
        if submissions:
            conn.execute(
                text(
                    "INSERT INTO sdmx_export_submission (export_id, submission_id)"
                    " VALUES (:export_id, :submission_id)"
                ),
                [{"export_id": export.export_id, "submission_id": s} for s in sorted(submissions)],
            )


def _engine() -> Engine:
    from topcop.warehouse.engine import warehouse_engine
    from topcop.warehouse.migrate import migrate

    engine = warehouse_engine()
    migrate(engine)
    return engine
