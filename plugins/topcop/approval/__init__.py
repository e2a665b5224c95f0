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

from topcop.approval.decision import apply_decision, decision_receipt, pending_requests, request
from topcop.approval.hold import hold_return, runs_to_request
from topcop.approval.reminders import reminders
from topcop.approval.requests import (
    APPROVAL_DAG_ID,
    APPROVE,
    APPROVED,
    DECISION_TASK_ID,
    HELD,
    MAX_CHANGES_SHOWN,
    PENDING,
    PERIOD_CLOSED_RULE,
    REFUSE,
    REFUSED,
    STEWARD_REFUSED_RULE,
    ApprovalRequest,
    approval_run_id,
    log,
    migrated_engine,
    needs_approval,
)
from topcop.approval.summary import request_summary, table_changes

__all__ = [
    "APPROVAL_DAG_ID",
    "APPROVE",
    "APPROVED",
    "DECISION_TASK_ID",
    "HELD",
    "MAX_CHANGES_SHOWN",
    "PENDING",
    "PERIOD_CLOSED_RULE",
    "REFUSE",
    "REFUSED",
    "STEWARD_REFUSED_RULE",
    "ApprovalRequest",
    "apply_decision",
    "approval_run_id",
    "decision_receipt",
    "hold_return",
    "log",
    "migrated_engine",
    "needs_approval",
    "pending_requests",
    "reminders",
    "request",
    "request_summary",
    "runs_to_request",
    "table_changes",
]
