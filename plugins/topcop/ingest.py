"""Ingest one return end to end: fetch → check → load → receipt → archive or quarantine.

This is the unit of work an Airflow mapped task runs, as a plain function so a
test or the command line can run it too. The check (read, validate, compare
with the unit's history) is ``topcop.validation.check.check_return``, the very
function the focal points' offline validator runs. The order is what makes it
safe to retry: the warehouse transaction commits first, the receipt is written
next, and only then does the file leave the inbox. A crash anywhere leaves the
file in the inbox, and the rerun finds its content already loaded (a duplicate)
or loads it exactly once.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from topcop import config
from topcop.approval import hold_return, needs_approval
from topcop.i18n import language
from topcop.landing import InboxFile, Landing, stored_name
from topcop.landing import landing as configured_landing
from topcop.landing.base import safe_name
from topcop.outcome import GONE, LOADED, IngestResult, text_or_none
from topcop.receipts import Receipt, write_receipt
from topcop.validation.admission import refused_unread

log = logging.getLogger(__name__)


def pending_returns(landing: Landing | None = None) -> list[dict[str, Any]]:
    """Every file waiting in every unit's inbox, as references for mapped tasks."""
    landing = landing or configured_landing()
    return [
        item.as_ref() for unit in landing.reporting_units() for item in landing.list_inbox(unit)
    ]


def pending_batches(
    landing: Landing | None = None,
    max_batches: int | None = None,
    claim: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> list[list[dict[str, Any]]]:
    """The waiting files in at most ``max_batches`` groups: one file each when they fit.

    Groups are consecutive runs of the files sorted by unit and name, so one
    unit's returns for successive periods are mostly processed in period order.
    With ``claim``, only the files it returns (those this run claimed) are grouped.
    """
    refs = sorted(pending_returns(landing), key=lambda r: (r["reporting_unit"], r["name"]))
    if claim is not None:
        refs = claim(refs)
    groups = max_batches or config.ingest_max_tasks()
    size = -(-len(refs) // groups) if refs else 1  # ceiling division
    return [refs[i : i + size] for i in range(0, len(refs), size)]


def claimed_batches(
    run_id: str,
    run_active: Callable[[str], bool],
    landing: Landing | None = None,
    engine: Engine | None = None,
) -> list[list[dict[str, Any]]]:
    """``pending_batches`` of the files this ingest run claims (``topcop.warehouse.claims``).

    What lets runs overlap: a file another active run holds is left to it.
    """
    from topcop.warehouse.claims import claim_files
    from topcop.warehouse.engine import warehouse_engine
    from topcop.warehouse.migrate import migrate

    if engine is None:
        engine = warehouse_engine()
        migrate(engine)
    return pending_batches(
        landing, claim=lambda refs: claim_files(engine, refs, run_id, run_active)
    )


def process_batch(refs: list[dict[str, Any]], **kwargs: Any) -> list[IngestResult]:
    """``process_return`` on each file in turn; the first failure stops the batch.

    A failure is the warehouse or the landing store being unreachable (a bad file
    is a result, not an error), so the rest would fail alike: the task fails and
    Airflow retries it. On the retry, files this batch already processed are gone
    from the inbox and come back as ``gone``; the others are processed then.
    """
    return [process_return(ref, **kwargs) for ref in refs]


def new_data(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What an ingest run's results (``IngestResult.as_dict()``) added; None when nothing.

    A file ``gone`` from the inbox was taken by another run or by the same task's
    earlier try, which may have loaded it: it counts, since a report rebuilt for
    nothing costs less than one not rebuilt.
    """
    loaded = [r for r in results if r["status"] in LOADED]
    gone = sum(r["status"] == GONE for r in results)
    if not loaded and not gone:
        return None
    return {"loaded": len(loaded), "gone": gone, "periods": sorted({r["period"] for r in loaded})}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def process_return(
    ref: dict[str, Any] | InboxFile,
    *,
    landing: Landing | None = None,
    engine: Engine | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Take one inbox file all the way to the warehouse and back to the focal point."""
    from topcop.validation.check import check_return
    from topcop.validation.data_docs import save_validation_results
    from topcop.warehouse.engine import warehouse_engine
    from topcop.warehouse.load import ReceivedFile, record_submission
    from topcop.warehouse.migrate import migrate

    item = ref if isinstance(ref, InboxFile) else InboxFile.from_ref(ref)
    landing = landing or configured_landing()
    if engine is None:
        engine = warehouse_engine()
        migrate(engine)
    now = now or datetime.now(UTC)
    today = today or now.date()
    unit = item.reporting_unit

    with tempfile.TemporaryDirectory(prefix="topcop-") as tmp:
        local = Path(tmp) / safe_name(item.name)
        checked = refused_unread(item, local)
        sha256, size = None, item.size
        if checked is None:  # admitted: fetched and checked
            try:
                landing.fetch(item, local)
            except FileNotFoundError:
                # Listed, then taken by another run (max_active_runs is no lock): that
                # run loads it and writes its receipt; this one has nothing to add.
                log.info("%s/%s: gone from the inbox, taken by another run", unit, item.name)
                return _gone(item)
            sha256, size = sha256_of(local), local.stat().st_size
            checked = check_return(local, reporting_unit=unit, today=today, engine=engine)
        ret, findings = checked.ret, checked.findings
        received = ReceivedFile(
            file_name=item.name,
            stored_name=stored_name(item, sha256),
            sha256=sha256,
            size_bytes=size,
            received_at=item.received_at,
        )
        # A correction to a closed period that would pass waits for a steward (topcop.approval).
        if sha256 is not None and needs_approval(findings):
            return hold_return(item, checked, received, landing=landing, engine=engine, now=now)
        outcome = record_submission(
            engine,
            ret,
            reporting_unit=unit,
            received=received,
            findings=findings,
            processed_at=now,
            results=checked.results,
        )

    area = "quarantine" if outcome.status == "rejected" else "archive"
    receipt = Receipt(
        reporting_unit=unit,
        file_name=item.name,
        stored_name=received.stored_name,
        sha256=sha256,
        size_bytes=size,
        received_at=item.received_at,
        processed_at=now,
        status=outcome.status,
        location=f"{unit}/{area}/{received.stored_name}",
        declared_country=text_or_none(ret.metadata.get("country")),
        declared_period=text_or_none(ret.metadata.get("period")),
        submission_id=outcome.submission_id,
        revision=outcome.revision,
        supersedes=outcome.supersedes,
        duplicate_of=outcome.duplicate_of,
        indicator_rows=outcome.indicator_rows,
        seizure_rows=outcome.seizure_rows,
        findings=findings,
        history_checked=checked.history_checked,
        language=language(text_or_none(ret.metadata.get("language")), unit),
    )
    receipt_location, receipt_name = write_receipt(landing, receipt)
    save_validation_results(
        checked.gx_results,
        run_name=f"{unit}_{receipt_name}",
        run_time=now,
        batch=f"{unit}_{text_or_none(ret.metadata.get('period')) or 'no-period'}",
        meta={
            "submission_id": outcome.submission_id,
            "reporting_unit": unit,
            "file_name": item.name,
            "status": outcome.status,
            "revision": outcome.revision,
        },
    )
    location = landing.move(item, area, received.stored_name)
    log.info(
        "%s/%s: %s (revision %s, %d errors, %d warnings) -> %s",
        unit,
        item.name,
        outcome.status,
        outcome.revision,
        outcome.error_count,
        outcome.warning_count,
        location,
    )
    return IngestResult(
        reporting_unit=unit,
        file_name=item.name,
        status=outcome.status,
        revision=outcome.revision,
        period=receipt.declared_period,
        indicator_rows=outcome.indicator_rows,
        seizure_rows=outcome.seizure_rows,
        errors=outcome.error_count,
        warnings=outcome.warning_count,
        location=location,
        receipt=receipt_location,
    )


def _gone(item: InboxFile) -> IngestResult:
    return IngestResult(
        reporting_unit=item.reporting_unit,
        file_name=item.name,
        status=GONE,
        revision=None,
        period=None,
        indicator_rows=0,
        seizure_rows=0,
        errors=0,
        warnings=0,
        location="",
        receipt="",
    )
