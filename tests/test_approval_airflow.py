"""Steward approval through real Airflow runs: held by the ingest run, answered over REST both ways.

One ingest run (scheduler, LocalExecutor, API server: tests/airflow_server.py) holds
two corrections to a closed period, Georgia's and Moldova's, and starts one
``topcop_approval`` run for each. Every Airflow component is restarted while both
wait; then the steward approves one and refuses the other through
``PATCH .../taskInstances/steward_decision/-1/hitlDetails``, and the warehouse,
the receipts and the audit say so. Clearing the approval run afterwards loads nothing twice.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from topcop import config
from topcop.ingest import process_return
from topcop.landing.local import LocalLanding
from topcop.returns.samples import fill_template, sample_content
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

pytestmark = pytest.mark.slow

PERIOD = "2025-Q2"  # closed for ordinary submissions since 2026-07-30
HITL = "/api/v2/dags/topcop_approval/dagRuns/{run}/taskInstances/steward_decision/-1/hitlDetails"


def _corrected(unit: str):
    sample = sample_content(unit, PERIOD, seed=11, seizure_rows=8)
    row = next(r for r in sample.indicators if isinstance(r["value"], int | float))
    row["value"] += 25
    row["comment"] = "<script>alert(1)</script> corrected after audit"
    return sample


@pytest.fixture
def stack_landing(airflow_server, monkeypatch):
    monkeypatch.setenv("TOPCOP_VAR", str(airflow_server.var))
    monkeypatch.delenv("TOPCOP_WAREHOUSE_URL", raising=False)
    landing = LocalLanding(config.landing_root())
    landing.ensure_areas()
    engine = warehouse_engine()
    migrate(engine)
    return landing, engine


def _first_revisions(landing, engine, units):
    """Revision 1 of each unit's period, loaded while the period was still open."""
    for unit in units:
        path = fill_template(
            sample_content(unit, PERIOD, seed=11, seizure_rows=8),
            landing.area(unit, "inbox") / f"{unit}_{PERIOD}_return.xlsx",
        )
        when = datetime(2025, 8, 1, tzinfo=UTC).timestamp()
        os.utime(path, (when, when))
        (item,) = landing.list_inbox(unit)
        result = process_return(item, landing=landing, engine=engine, today=date(2025, 8, 2))
        assert result.status == "accepted"


def _approval_runs(server) -> dict[str, str]:
    response = server.api("GET", "/api/v2/dags/topcop_approval/dagRuns")
    if response.status_code != 200:
        return {}
    return {r["dag_run_id"]: r["state"] for r in response.json()["dag_runs"]}


def _waiting(server, run_id: str) -> dict | None:
    response = server.api("GET", HITL.format(run=run_id))
    return response.json() if response.status_code == 200 else None


def test_late_corrections_are_approved_and_refused_over_rest_across_a_restart(
    airflow_server, stack_landing
):
    server, (landing, engine) = airflow_server, stack_landing
    _first_revisions(landing, engine, ["GE", "MD"])
    for unit in ("GE", "MD"):
        fill_template(_corrected(unit), landing.area(unit, "inbox") / f"{unit}_{PERIOD}_v2.xlsx")

    assert server.api("PATCH", "/api/v2/dags/topcop_ingest", json={"is_paused": False}).is_success
    runs = server.wait_for(
        "two approval runs", lambda: len(_approval_runs(server)) == 2 and _approval_runs(server)
    )
    run_of = {run_id.split("__")[1]: run_id for run_id in runs}
    assert set(run_of) == {"GE", "MD"}
    for run_id in runs:
        details = server.wait_for(f"{run_id} asking", lambda r=run_id: _waiting(server, r))
        assert details["response_received"] is False
        assert details["task_instance"]["state"] == "awaiting_input"
        assert "What changes against the current revision" in details["body"]
        assert "&lt;script&gt;" in details["body"] or "<script>" not in details["body"]
    for unit in ("GE", "MD"):
        assert len(landing.list_area(unit, "held")) == 1 and landing.list_area(unit, "inbox") == []

    # Every component goes down and comes back: the requests still wait, nothing expired.
    server.stop()
    server.start("scheduler", "api-server")
    assert _waiting(server, run_of["GE"])["response_received"] is False

    for unit, option, reason in (
        ("GE", "Approve", "Audit confirmed the new figures"),
        ("MD", "Refuse", "Not signed off by the ministry"),
    ):
        answered = server.api(
            "PATCH",
            HITL.format(run=run_of[unit]),
            json={"chosen_options": [option], "params_input": {"reason": reason}},
        )
        assert answered.status_code == 200, answered.text
    server.wait_for(
        "both approval runs done",
        lambda: set(_approval_runs(server).values()) == {"success"},
        timeout=300,
    )

    with engine.connect() as conn:
        audit = {
            r.reporting_unit: r
            for r in conn.execute(
                text(
                    "SELECT reporting_unit, status, decided_by, reason, approved_revision FROM v_approval"
                )
            )
        }
        revisions = dict(
            conn.execute(
                text(
                    "SELECT reporting_unit, MAX(revision) FROM v_submission_accepted"
                    " WHERE period = :p GROUP BY reporting_unit"
                ),
                {"p": PERIOD},
            ).all()
        )
    assert tuple(audit["GE"])[1:] == ("approved", "steward", "Audit confirmed the new figures", 2)
    assert tuple(audit["MD"])[1:] == ("refused", "steward", "Not signed off by the ministry", None)
    assert revisions == {"GE": 2, "MD": 1}
    assert len(landing.list_area("GE", "archive")) == 2  # revision 1 and the approved correction
    assert len(landing.list_area("MD", "quarantine")) == 1
    messages = {
        unit: [
            json.loads(landing.read(unit, "receipts", n))[
                "message_en"
            ]  # beside the unit's language
            for n in landing.list_area(unit, "receipts")
            if n.endswith(".json")
        ]
        for unit in ("GE", "MD")
    }
    assert any(m.startswith("Waiting for approval") for m in messages["GE"])
    assert any(m.startswith("Approved and loaded") for m in messages["GE"])
    assert "Refused: Not signed off by the ministry. Nothing was loaded." in messages["MD"]

    # A rerun of the approved run: the request is decided, so nothing is asked or loaded again.
    cleared = server.api(
        "POST",
        "/api/v2/dags/topcop_approval/clearTaskInstances",
        json={
            "dag_run_id": run_of["GE"],
            "dry_run": False,
            "only_failed": False,
            "reset_dag_runs": True,
        },
    )
    assert cleared.is_success, cleared.text
    describe = f"/api/v2/dags/topcop_approval/dagRuns/{run_of['GE']}/taskInstances/describe_request"
    server.wait_for(
        "cleared run skipped its question",
        lambda: (
            server.api("GET", describe).json().get("state") == "skipped"
            and _approval_runs(server)[run_of["GE"]] == "success"
        ),
        timeout=300,
    )
    with engine.connect() as conn:
        assert (
            conn.execute(
                text(
                    "SELECT COUNT(*) FROM v_submission_accepted WHERE reporting_unit = 'GE' AND period = :p"
                ),
                {"p": PERIOD},
            ).scalar()
            == 2
        )
