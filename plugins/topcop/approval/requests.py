"""What a request is, and the small pieces every part of the approval uses."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, DateTime, Engine, TextClause, text

from topcop.findings import ERROR, Finding
from topcop.i18n import msg

if TYPE_CHECKING:
    pass


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
        msg(
            "A data steward refused this correction to a closed period: {reason}.",
            reason=reason or msg("no reason given"),
        ),
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
