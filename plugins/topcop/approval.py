"""Corrections to closed periods: held for a data steward, then loaded or refused.

DHIS2's data approval is the model. A file whose only error is that its period
is closed for ordinary submissions (``period_closed``) is neither loaded nor
quarantined: the ingest run *holds* it. The file moves to its unit's ``held/``
landing area (out of the inbox, so no later ingest run picks it up again, and
out of the focal point's reach, so it cannot be lost) and an ``approval_request``
row records it, keyed by content hash: one pending request per unit and content,
however often the file arrives or the run repeats. The focal point gets a
"waiting for approval" receipt.

The ``topcop_approval`` DAG, one run per request (run id from the content hash),
shows the steward what would change and asks through Airflow's human-in-the-loop
task. The answer is applied here: approved, the file is checked again and loaded
as the next revision; refused, it is recorded as rejected with the steward's
reason and quarantined. Either way the decision (who, when, why) is written in the
same transaction as the submission it produced, and the focal point gets a second
receipt. A request already decided is never decided again, so a rerun loads
nothing twice; a request nobody answers waits (no timeout, no default answer)
and the stewards are reminded of it (``reminders``).
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import escape
from sqlalchemy import Connection, DateTime, Engine, TextClause, text

from topcop.findings import ERROR, Finding
from topcop.outcome import IngestResult, text_or_none
from topcop.receipts import Receipt, write_receipt

if TYPE_CHECKING:
    from topcop.landing import InboxFile, Landing
    from topcop.returns.model import ReturnFile
    from topcop.validation.check import CheckedReturn
    from topcop.warehouse.load import ReceivedFile, SubmissionOutcome

log = logging.getLogger(__name__)

APPROVAL_DAG_ID = "topcop_approval"
DECISION_TASK_ID = "steward_decision"
APPROVE, REFUSE = "Approve", "Refuse"
PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
HELD = "held"  # the ingest result and receipt status of a held file
PERIOD_CLOSED_RULE = "period_closed"
STEWARD_REFUSED_RULE = "steward_refused"
MAX_CHANGES_SHOWN = 15


def needs_approval(findings: list[Finding]) -> bool:
    """The file would pass but for its period being closed: hold it for a steward."""
    errors = [f for f in findings if f.severity == ERROR]
    return bool(errors) and all(f.rule == PERIOD_CLOSED_RULE for f in errors)


def approval_run_id(reporting_unit: str, sha256: str) -> str:
    """The one ``topcop_approval`` run id for a content: triggering it twice finds it there."""
    return f"approval__{reporting_unit}__{sha256[:20]}"


@dataclass(frozen=True)
class ApprovalRequest:
    """One row of ``approval_request``."""

    request_id: str
    reporting_unit: str
    period: str
    dataset: str
    file_name: str
    stored_name: str
    sha256: str
    received_at: datetime
    held_at: datetime
    current_revision: int | None
    summary: str
    dag_run_id: str
    status: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    submission_id: str | None

    @property
    def subject(self) -> str:
        return (
            f"Correction to a closed period: {self.reporting_unit} {self.period} ({self.file_name})"
        )[:250]


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


# --- what the steward is shown --------------------------------------------------------


def request_summary(
    conn: Connection,
    ret: ReturnFile,
    unit: str,
    period: str,
    dataset: str,
    file_name: str,
    findings: list[Finding],
) -> str:
    """Markdown for the approval form: the file, what changes against the current revision, findings.

    Every value from the return is HTML-escaped: the Airflow UI renders this text.
    """
    current = _current_revision(conn, unit, period)
    lines = [
        f"**Reporting unit:** {escape(unit)}  ",
        f"**Period:** {escape(period)}  ",
        f"**File:** {escape(file_name)} ({escape(dataset)})  ",
        f"**Current revision:** {current if current is not None else 'none yet'}",
        "",
        "### What changes against the current revision",
    ]
    for table_name, changes in table_changes(conn, ret, unit, period).items():
        added = sum(c["before"] is None for c in changes)
        removed = sum(c["after"] is None for c in changes)
        changed = len(changes) - added - removed
        lines.append(
            f"- **{table_name}**: {added} rows added, {removed} removed, {changed} values changed"
        )
        for c in changes[:MAX_CHANGES_SHOWN]:
            lines.append(
                f"    - {escape(c['key'])}: {_number(c['before'])} → {_number(c['after'])}"
            )
        if len(changes) > MAX_CHANGES_SHOWN:
            lines.append(f"    - … and {len(changes) - MAX_CHANGES_SHOWN} more")
    lines += ["", "### Validation findings"]
    lines += [
        f"- {escape(f.severity)} · {escape(f.where())} · {escape(f.rule)}: {escape(f.message)}"
        for f in findings
    ] or ["- none"]
    return "\n".join(lines)


def table_changes(
    conn: Connection, ret: ReturnFile, unit: str, period: str
) -> dict[str, list[dict[str, Any]]]:
    """Rows added, removed and values changed per table, the largest change first.

    Indicators are keyed by crime area, indicator and breakdown; seizures by
    their reference. ``before`` is None for an added row, ``after`` for a removed one.
    """
    keyed = {
        "indicators": (
            "SELECT crime_area, indicator, breakdown, value FROM v_indicator_current"
            " WHERE reporting_unit = :unit AND period = :period",
            lambda r: " / ".join(str(v) for v in r[:3] if isinstance(v, str) and v),
        ),
        "seizures": (
            "SELECT seizure_ref, quantity FROM v_seizure_current"
            " WHERE reporting_unit = :unit AND period = :period",
            lambda r: str(r[0]),  # seizure_ref is required
        ),
    }
    result = {}
    for table_name, (sql, key) in keyed.items():
        frame = ret.table(table_name)
        if frame is None:
            continue
        before = {
            key(r): _float(r[-1]) for r in conn.execute(text(sql), {"unit": unit, "period": period})
        }
        columns = (
            ["crime_area", "indicator", "breakdown", "value"]
            if table_name == "indicators"
            else ["seizure_ref", "quantity"]
        )
        after = {
            key(r): _float(r[-1])
            for r in frame[columns].astype(object).itertuples(index=False, name=None)
        }
        changes = [
            {"key": k, "before": before.get(k), "after": after.get(k)}
            for k in sorted(before.keys() | after.keys())
            if k not in before or k not in after or before[k] != after[k]
        ]
        changes.sort(key=lambda c: -abs((c["after"] or 0.0) - (c["before"] or 0.0)))
        result[table_name] = changes
    return result


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
    if req.status == PENDING:
        _decide(req, answer, landing=landing, engine=engine, now=now)
        req = request(engine, request_id)
    else:
        log.info("request %s was already %s by %s", request_id, req.status, req.decided_by)
    location = f"{req.reporting_unit}/{_area(req)}/{req.stored_name}"
    receipt = ""
    if landing.exists(req.reporting_unit, "held", req.stored_name):
        receipt, _ = write_receipt(landing, decision_receipt(engine, req, now))
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
) -> None:
    """Check the held file again and record it, loaded or refused, with the decision."""
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


def decision_receipt(engine: Engine, req: ApprovalRequest, now: datetime) -> Receipt:
    """The second receipt, from what the warehouse recorded: approved and loaded, or refused."""
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
    )


# --- reminders --------------------------------------------------------------------------


def reminders(engine: Engine, now: datetime, remind_after: timedelta) -> list[dict[str, Any]]:
    """One steward alert per pending request and elapsed ``remind_after`` interval.

    The alert key carries the interval's number, so a daily run sends each
    reminder once; a request never times out, it is only reminded again.
    """
    from topcop.alerts import StewardAlert

    alerts = []
    for req in pending_requests(engine):
        waited = _naive(now) - req.held_at
        intervals = int(waited / remind_after)
        if intervals < 1:
            continue
        alerts.append(
            StewardAlert(
                kind="approval_pending",
                subject=f"topcop: waiting for a steward's decision - {req.subject}",
                body=(
                    f"{req.reporting_unit}'s correction for {req.period} ({req.file_name}) has "
                    f"waited {waited.days} days for a decision. It stays held (never loaded or "
                    f"dropped) until a steward answers the task {DECISION_TASK_ID} in the "
                    f"Airflow run {APPROVAL_DAG_ID} / {req.dag_run_id}."
                ),
                key=f"approval_pending:{req.request_id}:{intervals}",
            ).as_dict()
        )
    return alerts


# --- small pieces --------------------------------------------------------------------------

_FIELDS = (
    "request_id",
    "reporting_unit",
    "period",
    "dataset",
    "file_name",
    "stored_name",
    "sha256",
    "received_at",
    "held_at",
    "current_revision",
    "summary",
    "dag_run_id",
    "status",
    "decided_by",
    "decided_at",
    "reason",
    "submission_id",
)


def _select(where: str) -> TextClause:
    """A query on ``approval_request``, its timestamps typed (SQLite hands back text)."""
    return text(f"SELECT {', '.join(_FIELDS)} FROM approval_request {where}").columns(
        received_at=DateTime(), held_at=DateTime(), decided_at=DateTime()
    )


def migrated_engine() -> Engine:
    """The configured warehouse, migrated: what the approval and deadline tasks work on."""
    from topcop.warehouse.engine import warehouse_engine
    from topcop.warehouse.migrate import migrate

    engine = warehouse_engine()
    migrate(engine)
    return engine


def _pending_for(conn: Connection, unit: str, sha256: str) -> str | None:
    return conn.execute(
        text(
            "SELECT request_id FROM approval_request WHERE reporting_unit = :unit"
            " AND sha256 = :sha256 AND status = 'pending'"
        ),
        {"unit": unit, "sha256": sha256},
    ).scalar()


def _current_revision(conn: Connection, unit: str, period: str) -> int | None:
    return conn.execute(
        text(
            "SELECT MAX(revision) FROM v_submission_accepted"
            " WHERE reporting_unit = :unit AND period = :period"
        ),
        {"unit": unit, "period": period},
    ).scalar()


def _area(req: ApprovalRequest) -> str:
    return (
        "archive" if req.status == APPROVED else "quarantine" if req.status == REFUSED else "held"
    )


def _refusal(reason: str | None) -> Finding:
    return Finding(
        "file",
        None,
        None,
        None,
        STEWARD_REFUSED_RULE,
        ERROR,
        f"A data steward refused this correction to a closed period: {reason or 'no reason given'}.",
    )


def _user(user: Any) -> str | None:
    if isinstance(user, dict):
        return str(user.get("name") or user.get("id") or "") or None
    return str(user) if user else None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _naive(moment: datetime) -> datetime:
    """The schema's TIMESTAMP columns hold UTC without a zone."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
