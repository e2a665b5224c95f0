"""Claims on waiting files: ingest runs may overlap, and each file is taken by one of them.

Runs of the ingest DAG used to go one at a time, because a run takes whatever
waits in the inboxes; a file dropped while a run was busy then waited for that
whole run (its file tasks, Data Docs, the closing checks) before its own began.
Now every run claims the files it lists, and only what it claimed is its work: the
next run can start at once and takes only what nobody holds. The claim is one
insert on the file's identity as listed (unit, name, arrival, size) that two runs
cannot both win, decided by the database, so it holds across workers and machines.

Claims only keep runs from doing the same work twice; exactly-once loading does not
rest on them (the warehouse's unique content key does, see ``topcop.warehouse.load``).
A claim whose run has ended with the file still waiting (every try failed in an
outage, or the run was marked failed) is stale: the next run takes it over, so no
file is stranded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    and_,
    delete,
    select,
    update,
)

# Claims of files no longer waiting are deleted once this old: by then the run that
# moved the file is long over, and a claim younger than this may belong to a run that
# listed the file a moment ago (it is still waiting, so it is never deleted anyway).
FORGET_AFTER = timedelta(hours=1)

_metadata = MetaData()
intake_claim = Table(
    "intake_claim",
    _metadata,
    Column("reporting_unit", String(8), primary_key=True),
    Column("file_name", String(300), primary_key=True),
    Column("received_at", String(40), primary_key=True),
    Column("size_bytes", BigInteger, primary_key=True),
    Column("dag_run_id", String(250), nullable=False),
    Column("claimed_at", DateTime, nullable=False),
)


def _key(ref: dict[str, Any]) -> tuple[str, str, str, int]:
    return (ref["reporting_unit"], ref["name"], ref["received_at"], int(ref["size"]))


def _insert(engine: Engine):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(intake_claim)


def claim_files(
    engine: Engine,
    refs: Iterable[dict[str, Any]],
    run_id: str,
    run_active: Callable[[str], bool],
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The files of ``refs`` (all that wait now) that are this run's to process.

    A file is this run's when nobody held it, when this run held it already (a
    retried listing), or when its holder is no longer active (``run_active`` says so
    for a run id). The order of ``refs`` is kept.
    """
    refs = list(refs)
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    ours: list[dict[str, Any]] = []
    holders_checked: dict[str, bool] = {}
    with engine.begin() as conn:
        for ref in refs:
            unit, name, received, size = _key(ref)
            row = dict(
                reporting_unit=unit,
                file_name=name,
                received_at=received,
                size_bytes=size,
                dag_run_id=run_id,
                claimed_at=now,
            )
            inserted = _insert(engine).values(**row).on_conflict_do_nothing()
            # RETURNING, not rowcount: through psycopg 3 this Core insert reports rowcount
            # -1 (the same statement as text() reports 0 or 1); RETURNING is exact on both.
            if conn.execute(inserted.returning(intake_claim.c.dag_run_id)).first() is not None:
                ours.append(ref)
                continue
            where = and_(
                intake_claim.c.reporting_unit == unit,
                intake_claim.c.file_name == name,
                intake_claim.c.received_at == received,
                intake_claim.c.size_bytes == size,
            )
            holder = conn.execute(select(intake_claim.c.dag_run_id).where(where)).scalar()
            if holder == run_id:
                ours.append(ref)
                continue
            if holder not in holders_checked:
                holders_checked[holder] = run_active(holder)
            if holders_checked[holder]:
                continue
            # Taken over only if still held by that ended run: two runs taking over the
            # same stale claim at once cannot both succeed.
            taken = conn.execute(
                update(intake_claim)
                .where(where, intake_claim.c.dag_run_id == holder)
                .values(dag_run_id=run_id, claimed_at=now)
                .returning(intake_claim.c.dag_run_id)
            ).first()
            if taken is not None:
                ours.append(ref)
        _forget_gone(conn, {_key(r) for r in refs}, now)
    return ours


def _forget_gone(conn, waiting: set[tuple[str, str, str, int]], now: datetime) -> None:
    """Delete old claims on files that no longer wait (processed and moved long ago)."""
    old = conn.execute(
        select(
            intake_claim.c.reporting_unit,
            intake_claim.c.file_name,
            intake_claim.c.received_at,
            intake_claim.c.size_bytes,
        ).where(intake_claim.c.claimed_at < now - FORGET_AFTER)
    ).all()
    for unit, name, received, size in old:
        if (unit, name, received, int(size)) in waiting:
            continue
        conn.execute(
            delete(intake_claim).where(
                intake_claim.c.reporting_unit == unit,
                intake_claim.c.file_name == name,
                intake_claim.c.received_at == received,
                intake_claim.c.size_bytes == size,
            )
        )


def claims_of(engine: Engine, run_id: str) -> list[tuple[str, str]]:
    """(unit, file name) of every file ``run_id`` holds: for stewards and tests."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(intake_claim.c.reporting_unit, intake_claim.c.file_name).where(
                intake_claim.c.dag_run_id == run_id
            )
        ).all()
    return sorted((unit, name) for unit, name in rows)
