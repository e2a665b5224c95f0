"""Applying the steward's answer: the next revision loaded, or the file refused."""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text

from topcop.approval.requests import (
    APPROVE,
    APPROVED,
    PENDING,
    PERIOD_CLOSED_RULE,
    REFUSE,
    REFUSED,
    ApprovalRequest,
    _area,
    _moment,
    _naive,
    _refusal,
    _select,
    _user,
    migrated_engine,
)
from topcop.findings import ERROR, Finding
from topcop.i18n import language
from topcop.outcome import text_or_none
from topcop.receipts import Receipt, write_receipt

if TYPE_CHECKING:
    from topcop.landing import Landing
    from topcop.warehouse.load import SubmissionOutcome


log = logging.getLogger(__name__)


# --- the steward's decision (called by the topcop_approval run) -----------------------


def request(engine: Engine, request_id: str) -> ApprovalRequest:
    with engine.connect() as conn:
        row = conn.execute(_select("WHERE request_id = :id"), {"id": request_id}).mappings().first()
    if row is None:
        raise LookupError(f"no approval request {request_id!r}")
    return ApprovalRequest(**row)


def pending_requests(engine: Engine) -> list[ApprovalRequest]:
    with engine.connect() as conn:
        rows = conn.execute(_select("WHERE status = 'pending' ORDER BY held_at")).mappings()
        return [ApprovalRequest(**row) for row in rows]


def apply_decision(
    request_id: str,
    answer: dict[str, Any],
    *,
    landing: Landing | None = None,
    engine: Engine | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply the steward's answer (the HITL task's result) to a held file, once.

    ``answer``: ``chosen_options`` (``Approve`` or ``Refuse``), ``params_input``
    (``reason``), ``responded_by_user`` and ``responded_at``. A request already
    decided keeps its decision; the receipt and the move out of ``held/`` are
    finished when a crash left them undone.
    """
    from topcop.landing import landing as configured_landing

    landing = landing or configured_landing()
    engine = engine or migrated_engine()
    now = now or datetime.now(UTC)
    req = request(engine, request_id)
    said: tuple[list[Finding], str] | None = None  # the findings as checked, and the language
    if req.status == PENDING:
        said = _decide(req, answer, landing=landing, engine=engine, now=now)
        req = request(engine, request_id)
    else:
        log.info("request %s was already %s by %s", request_id, req.status, req.decided_by)
    location = f"{req.reporting_unit}/{_area(req)}/{req.stored_name}"
    receipt = ""
    if landing.exists(req.reporting_unit, "held", req.stored_name):
        findings, lang = said if said is not None else (None, None)
        decided = decision_receipt(engine, req, now, findings=findings, lang=lang)
        receipt, _ = write_receipt(landing, decided)
        location = landing.release(req.reporting_unit, req.stored_name, _area(req))
    return {
        "request_id": req.request_id,
        "status": req.status,
        "decided_by": req.decided_by,
        "reason": req.reason,
        "submission_id": req.submission_id,
        "location": location,
        "receipt": receipt,
    }


def _decide(
    req: ApprovalRequest, answer: dict[str, Any], *, landing: Landing, engine: Engine, now: datetime
) -> tuple[list[Finding], str]:
    """Check the held file again and record it, loaded or refused, with the decision.

    Returns the findings recorded and the receipt's language (the return's, else the unit's).
    """
    from topcop.validation.check import check_return
    from topcop.validation.data_docs import save_validation_results
    from topcop.warehouse.load import ReceivedFile, record_submission

    chosen = list(answer.get("chosen_options") or [])
    if chosen not in ([APPROVE], [REFUSE]):
        raise ValueError(
            f"request {req.request_id}: answer {chosen!r} is neither approve nor refuse"
        )
    reason = str((answer.get("params_input") or {}).get("reason") or "").strip() or None
    decided_by = _user(answer.get("responded_by_user"))
    decided_at = _moment(answer.get("responded_at")) or now
    with tempfile.TemporaryDirectory(prefix="topcop-held-") as tmp:
        local = Path(tmp) / req.stored_name
        local.write_bytes(landing.read(req.reporting_unit, "held", req.stored_name))
        checked = check_return(
            local, reporting_unit=req.reporting_unit, today=now.date(), engine=engine
        )
        size = local.stat().st_size
    findings = checked.findings
    status = APPROVED if chosen == [APPROVE] else REFUSED
    if status == APPROVED:
        # The steward's approval lifts the closed period, and only that.
        findings = [f for f in findings if f.rule != PERIOD_CLOSED_RULE]
        if any(f.severity == ERROR for f in findings):
            raise ValueError(f"request {req.request_id}: the held file now has other errors")
    else:
        findings = [*findings, _refusal(reason)]

    def record_decision(conn: Connection, outcome: SubmissionOutcome) -> None:
        updated = conn.execute(
            text(
                "UPDATE approval_request SET status = :status, decided_by = :by,"
                " decided_at = :at, reason = :reason, submission_id = :submission"
                " WHERE request_id = :id AND status = 'pending'"
            ),
            {
                "status": status,
                "by": decided_by,
                "at": _naive(decided_at),
                "reason": reason,
                "submission": outcome.submission_id,
                "id": req.request_id,
            },
        ).rowcount
        if updated != 1:
            raise RuntimeError(f"request {req.request_id} was decided by someone else meanwhile")

    outcome = record_submission(
        engine,
        checked.ret,
        reporting_unit=req.reporting_unit,
        received=ReceivedFile(
            file_name=req.file_name,
            stored_name=req.stored_name,
            sha256=req.sha256,
            size_bytes=size,
            received_at=req.received_at,
        ),
        findings=findings,
        processed_at=now,
        results=checked.results,
        within=record_decision,
    )
    # The next ingest run's Data Docs build shows how the decided file fared.
    save_validation_results(
        checked.gx_results,
        run_name=f"{req.reporting_unit}_{req.stored_name}_{status}",
        run_time=now,
        batch=f"{req.reporting_unit}_{req.period}",
        meta={
            "submission_id": outcome.submission_id,
            "reporting_unit": req.reporting_unit,
            "file_name": req.file_name,
            "status": outcome.status,
            "revision": outcome.revision,
            "steward_decision": status,
        },
    )
    lang = language(text_or_none(checked.ret.metadata.get("language")), req.reporting_unit)
    return findings, lang


def decision_receipt(
    engine: Engine,
    req: ApprovalRequest,
    now: datetime,
    *,
    findings: list[Finding] | None = None,
    lang: str | None = None,
) -> Receipt:
    """The second receipt, from what the warehouse recorded: approved and loaded, or refused.

    In ``lang`` (default: the unit's language). ``findings``: those just recorded, as
    the check made them, so each says itself in that language; without them (a
    receipt finished after a crash) the warehouse's English messages are shown.
    """
    with engine.connect() as conn:
        sub = (
            conn.execute(
                text("SELECT * FROM submission WHERE submission_id = :id"),
                {"id": req.submission_id},
            )
            .mappings()
            .one()
        )
        rows = conn.execute(
            text(
                "SELECT sheet, row_number, column_name, value, rule, severity, message"
                " FROM finding WHERE submission_id = :id ORDER BY seq"
            ),
            {"id": req.submission_id},
        ).all()
    if findings is None or len(findings) != len(rows):
        findings = [Finding(*row) for row in rows]
    loaded = req.status == APPROVED and sub["status"] in ("accepted", "accepted_with_warnings")
    return Receipt(
        reporting_unit=req.reporting_unit,
        file_name=req.file_name,
        stored_name=req.stored_name,
        sha256=req.sha256,
        size_bytes=int(sub["size_bytes"] or 0),
        received_at=req.received_at.replace(tzinfo=UTC),
        processed_at=now,
        status=sub["status"] if loaded else REFUSED,
        location=f"{req.reporting_unit}/{_area(req)}/{req.stored_name}",
        declared_period=req.period,
        submission_id=req.submission_id,
        revision=sub["revision"],
        supersedes=sub["supersedes"],
        indicator_rows=int(sub["indicator_rows"]),
        seizure_rows=int(sub["seizure_rows"]),
        findings=findings,
        approval={
            "decision": req.status,
            "decided_by": req.decided_by,
            "decided_at": req.decided_at.isoformat() if req.decided_at else None,
            "reason": req.reason,
            "request_id": req.request_id,
        },
        language=language(lang, req.reporting_unit),
    )
