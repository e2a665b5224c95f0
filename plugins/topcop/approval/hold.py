"""Holding a correction to a closed period: request row, waiting receipt, file to held/."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from topcop.approval.decision import request
from topcop.approval.requests import (
    HELD,
    _current_revision,
    _naive,
    _pending_for,
    approval_run_id,
    migrated_engine,
)
from topcop.approval.summary import request_summary
from topcop.findings import ERROR
from topcop.i18n import language
from topcop.outcome import IngestResult, text_or_none
from topcop.receipts import Receipt, write_receipt

if TYPE_CHECKING:
    from topcop.landing import InboxFile, Landing
    from topcop.validation.check import CheckedReturn
    from topcop.warehouse.load import ReceivedFile


log = logging.getLogger(__name__)


# --- holding (called by the ingest run) -----------------------------------------------


def hold_return(
    item: InboxFile,
    checked: CheckedReturn,
    received: ReceivedFile,
    *,
    landing: Landing,
    engine: Engine,
    now: datetime,
) -> IngestResult:
    """Hold a correction to a closed period: request row, "waiting" receipt, file to ``held/``.

    Same order as a load: the row commits first, the receipt next, the move last,
    so a crash leaves the file in the inbox and the rerun finds its pending request.
    """
    from topcop.warehouse.load import _dataset, _period_code

    ret, findings, unit = checked.ret, checked.findings, item.reporting_unit
    period = _period_code(ret.metadata.get("period"))
    if period is None:
        raise ValueError(f"{item.name}: a held file must name a valid period")
    dataset = _dataset(ret, item.name)
    with engine.begin() as conn:
        request_id = _pending_for(conn, unit, received.sha256)
        if request_id is None:
            request_id = uuid.uuid4().hex
            current = _current_revision(conn, unit, period)
            summary = request_summary(conn, ret, unit, period, dataset, item.name, findings)
            conn.execute(
                text(
                    "INSERT INTO approval_request (request_id, reporting_unit, period, dataset,"
                    " file_name, stored_name, sha256, size_bytes, received_at, held_at,"
                    " current_revision, summary, dag_run_id, status) VALUES (:id, :unit,"
                    " :period, :dataset, :file_name, :stored_name, :sha256, :size, :received,"
                    " :held, :current, :summary, :run_id, 'pending')"
                ),
                {
                    "id": request_id,
                    "unit": unit,
                    "period": period,
                    "dataset": dataset,
                    "file_name": item.name[:300],
                    "stored_name": received.stored_name,
                    "sha256": received.sha256,
                    "size": received.size_bytes,
                    "received": _naive(received.received_at),
                    "held": _naive(now),
                    "current": current,
                    "summary": summary,
                    "run_id": approval_run_id(unit, received.sha256),
                },
            )
    stored = request(engine, request_id).stored_name
    receipt = Receipt(
        reporting_unit=unit,
        file_name=item.name,
        stored_name=stored,
        sha256=received.sha256,
        size_bytes=received.size_bytes,
        received_at=item.received_at,
        processed_at=now,
        status=HELD,
        location=f"{unit}/held/{stored}",
        declared_country=text_or_none(ret.metadata.get("country")),
        declared_period=period,
        findings=findings,
        history_checked=checked.history_checked,
        language=language(text_or_none(ret.metadata.get("language")), unit),
    )
    receipt_location, _ = write_receipt(landing, receipt)
    location = landing.move(item, "held", stored)
    log.info("%s/%s: held for a steward's approval (request %s)", unit, item.name, request_id)
    warnings = sum(f.severity != ERROR for f in findings)
    return IngestResult(
        reporting_unit=unit,
        file_name=item.name,
        status=HELD,
        revision=None,
        period=period,
        indicator_rows=0,
        seizure_rows=0,
        errors=len(findings) - warnings,
        warnings=warnings,
        location=location,
        receipt=receipt_location,
    )


def runs_to_request(engine: Engine | None = None) -> list[dict[str, Any]]:
    """``TriggerDagRunOperator`` arguments for every pending request: run id and conf.

    Every pending request, not only this run's: a run that held a file and failed
    before asking gets its request asked by the next one (the run id is fixed, so
    a request already asked is skipped).
    """
    engine = engine or migrated_engine()
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT request_id, dag_run_id FROM approval_request WHERE status = 'pending'"
                " ORDER BY held_at"
            )
        ).all()
    return [{"trigger_run_id": r.dag_run_id, "conf": {"request_id": r.request_id}} for r in rows]
