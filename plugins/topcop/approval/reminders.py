"""Reminding the stewards of requests nobody has answered."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from topcop.approval.decision import pending_requests
from topcop.approval.requests import APPROVAL_DAG_ID, DECISION_TASK_ID, _naive

if TYPE_CHECKING:
    pass


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
