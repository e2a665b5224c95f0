"""Which structure version the current codelists make: the latest, or a new one.

SDMX readers cache structures by agency, id and version, so a structure that
changes under the same version would be read with the old codes (or refused).
The warehouse keeps the issued versions in ``sdmx_structure`` with the content
hash of each (``Design.digest``); when the codelists' structures differ from the
latest version's, the next version is issued: ``1.0``, ``1.1``, ... A design that
returns to an earlier content still gets a new version: versions only go up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, text
from sqlalchemy.exc import IntegrityError

from topcop.exports.design import Design

_LATEST = text(
    "SELECT version, seq, sha256, created_at FROM sdmx_structure ORDER BY seq DESC"
).columns(created_at=DateTime)


@dataclass(frozen=True)
class StructureVersion:
    version: str
    seq: int
    sha256: str
    created_at: datetime  # naive UTC
    issued_now: bool = False


def version_name(seq: int) -> str:
    """``1.0`` for the first version, ``1.1`` for the second, and so on."""
    return f"1.{seq - 1}"


def latest_version(engine: Engine) -> StructureVersion | None:
    with engine.connect() as conn:
        row = conn.execute(_LATEST).first()
    return StructureVersion(row.version, row.seq, row.sha256, row.created_at) if row else None


def structure_version(
    engine: Engine, design: Design, now: datetime | None = None
) -> StructureVersion:
    """The version for ``design``: the latest if it has the same content, else a new one."""
    digest = design.digest()
    for _attempt in range(3):
        latest = latest_version(engine)
        if latest is not None and latest.sha256 == digest:
            return latest
        seq = latest.seq + 1 if latest else 1
        issued = StructureVersion(version_name(seq), seq, digest, naive_utc(now), True)
        try:
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO sdmx_structure (version, seq, sha256, created_at)"
                        " VALUES (:version, :seq, :sha256, :created_at)"
                    ),
                    {
                        "version": issued.version,
                        "seq": issued.seq,
                        "sha256": issued.sha256,
                        "created_at": issued.created_at,
                    },
                )
        except IntegrityError:
            continue  # another export issued this seq a moment ago: look again
        return issued
    raise RuntimeError("could not issue an SDMX structure version: too many concurrent exports")


def naive_utc(now: datetime | None = None) -> datetime:
    """``now`` (default: this moment) as naive UTC to the second, as the warehouse stores times."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)
