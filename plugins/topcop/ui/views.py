"""What topcop's pages show, read from the warehouse and the landing store.

Plain functions returning plain data, so the pages stay templates and these can
be tested without a server. Nothing here writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, text

from topcop import config
from topcop.approval import APPROVAL_DAG_ID, DECISION_TASK_ID, pending_requests
from topcop.calendar import received_returns
from topcop.landing import Landing
from topcop.reports.completeness import Timeliness, completeness

WAITING = "waiting"  # a correction held for a steward's decision
REJECTED = "rejected"  # files arrived, none accepted
DOWNLOAD_AREAS = ("receipts", "archive", "quarantine", "held")


@dataclass(frozen=True)
class MatrixCell:
    reporting_unit: str
    period: str
    status: str  # on_time, late, missing, due, not_expected, rejected, waiting
    label: str


def matrix(engine: Engine, periods: list[str], today: date, dataset: str) -> list[list[MatrixCell]]:
    """Units × periods for one dataset: timeliness, rejected files, corrections waiting."""
    cells = completeness(engine, periods, dataset=dataset, today=today)
    rejected = received_returns(engine, periods, dataset)
    waiting = {(r.reporting_unit, r.period) for r in pending_requests(engine)}
    rows: dict[str, list[MatrixCell]] = {}
    for c in cells:
        status, label = c.status.value, c.label
        if (c.reporting_unit, c.period) in waiting:
            status, label = WAITING, f"{label}; correction waiting for approval"
        elif (
            c.submission_id is None
            and (c.reporting_unit, c.period) in rejected
            and c.status is not Timeliness.NOT_EXPECTED
        ):
            status, label = REJECTED, f"rejected ({label})"
        rows.setdefault(c.reporting_unit, []).append(
            MatrixCell(c.reporting_unit, c.period, status, label)
        )
    return list(rows.values())


def receipts(landing: Landing, unit: str, period: str | None = None) -> list[dict[str, Any]]:
    """The unit's JSON receipts, latest first, each with its workbook's name when there is one."""
    names = landing.list_area(unit, "receipts")
    found = []
    for name in names:
        if not name.endswith(".json"):
            continue
        data = json.loads(landing.read(unit, "receipts", name))
        if "status" not in data or "findings" not in data:
            continue  # a deadline reminder, not a receipt
        if period and (data.get("declared") or {}).get("period") != period:
            continue
        workbook = name.removesuffix(".json") + ".xlsx"
        data["receipt_name"] = name
        data["workbook_name"] = workbook if workbook in names else None
        location = str(data.get("location") or "")
        parts = location.split("/", 2)
        data["file_area"], data["file_stored"] = (
            (parts[1], parts[2]) if len(parts) == 3 else (None, None)
        )
        found.append(data)
    return sorted(found, key=lambda d: d.get("processed_at") or "", reverse=True)


def approvals(engine: Engine) -> list[dict[str, Any]]:
    """Pending requests with the Airflow page where the steward answers."""
    return [
        {
            "request": r,
            "hitl_url": (
                f"/dags/{APPROVAL_DAG_ID}/runs/{r.dag_run_id}/tasks/{DECISION_TASK_ID}"
                "/required_actions"
            ),
        }
        for r in pending_requests(engine)
    ]


def history(engine: Engine, unit: str, period: str) -> list[dict[str, Any]]:
    """Every file for one unit and period: revision, when, rows, status and who approved it."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.revision, s.status, s.file_name, s.received_at, s.processed_at,"
                " s.indicator_rows, s.seizure_rows, s.error_count, s.warning_count,"
                " a.status AS decision, a.decided_by, a.decided_at, a.reason"
                " FROM submission s LEFT JOIN approval_request a"
                " ON a.submission_id = s.submission_id"
                " WHERE s.reporting_unit = :unit AND s.period = :period"
                " ORDER BY s.processed_at"
            ),
            {"unit": unit, "period": period},
        ).mappings()
        return [dict(r) for r in rows]


def units() -> dict[str, str]:
    return {code: u.name for code, u in config.codelists().reporting_units.items()}
