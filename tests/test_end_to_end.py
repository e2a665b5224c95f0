"""End to end through Airflow for real: demo returns in, ingest DAG, report DAG, warehouse and receipts out."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from topcop import config
from topcop.demo import demo_plan, drop_files, make_files
from topcop.ingest import pending_batches, pending_returns
from topcop.landing import landing as configured_landing
from topcop.periods import last_closed_periods

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("airflow_db")]

TODAY = datetime.now(UTC).date()


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("TOPCOP_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("TOPCOP_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("TOPCOP_LANDING", raising=False)
    return tmp_path / "var"


@pytest.fixture(params=["local", "s3"])
def backend(request, state):
    """How focal points deliver: local folders (files keep their arrival times) or S3 buckets."""
    if request.param == "local":
        return "local", lambda plan, round_: drop_files(plan, round_, seizure_rows=15)
    env = request.getfixturevalue("s3_landing_env")
    client, prefix = env["client"], env["prefix"]
    # Fewer tasks than files: the grouped path (as in a backfill) runs through Airflow too.
    request.getfixturevalue("monkeypatch").setenv("TOPCOP_INGEST_MAX_TASKS", "3")

    def deliver(plan, round_):
        with tempfile.TemporaryDirectory() as tmp:
            for f, path in make_files(plan, round_, Path(tmp), seizure_rows=15):
                client.upload_file(str(path), f"{prefix}-{f.unit}".lower(), f"inbox/{path.name}")

    return "s3", deliver


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.PROJECT_DIR / "dags"))
    assert bag.import_errors == {}
    return bag.dags


def _warehouse():
    from topcop.warehouse.engine import warehouse_engine

    return warehouse_engine()


def _statuses(conn):
    rows = conn.execute(
        text("SELECT reporting_unit, period, file_name, status, revision FROM submission")
    )
    return {(r.reporting_unit, r.file_name): (r.period, r.status, r.revision) for r in rows}


def _run(dag):
    run = dag.test()
    assert run.state == "success", f"{dag.dag_id} ended {run.state}"
    return run


def test_demo_returns_through_ingest_and_report(state, dags, backend):
    kind, deliver = backend
    periods = [p.code for p in last_closed_periods(TODAY, 4)]
    latest, earlier = periods[-1], periods[-2]
    plan = demo_plan(TODAY)
    landing = configured_landing()

    deliver(plan, 1)
    waiting, groups = len(pending_returns()), len(pending_batches())
    run = _run(dags["topcop_ingest"])
    tasks = [ti for ti in run.get_task_instances() if ti.task_id == "process_returns"]
    assert len(tasks) == groups <= config.ingest_max_tasks()
    assert (groups == waiting) == (waiting <= config.ingest_max_tasks())
    with _warehouse().connect() as conn:
        first = _statuses(conn)
    assert first[("GE", f"GE_{latest}_draft.xlsx")][1] == "rejected"
    assert first[("BY", f"BY_{latest}_return.xlsx")][1] == "rejected"
    assert first[("MD", f"MD_{latest}_return.xlsx")][1:] == ("accepted", 1)
    assert first[("AM", f"AM_{latest}_indicators.csv")][1] == "accepted"
    assert first[("AM", f"AM_{latest}_seizures.csv")][1] == "accepted"
    assert first[("AZ", f"AZ_{latest}_return.xlsx")][1:] == ("accepted_with_warnings", 1)
    assert all(s[1] in ("accepted", "accepted_with_warnings", "rejected") for s in first.values())

    deliver(plan, 2)
    _run(dags["topcop_ingest"])
    with _warehouse().connect() as conn:
        second = _statuses(conn)
        current_md = conn.execute(
            text(
                "SELECT DISTINCT revision FROM v_indicator_current "
                "WHERE reporting_unit = 'MD' AND period = :p"
            ),
            {"p": latest},
        ).all()
        history_md = conn.execute(
            text(
                "SELECT COUNT(DISTINCT f.submission_id) FROM indicator_fact f "
                "JOIN submission s ON s.submission_id = f.submission_id "
                "WHERE s.reporting_unit = 'MD' AND s.period = :p"
            ),
            {"p": latest},
        ).scalar()
        indicator_units = {
            r[0]
            for r in conn.execute(
                text("SELECT DISTINCT reporting_unit FROM v_indicator_current WHERE period = :p"),
                {"p": latest},
            )
        }
    assert second[("MD", f"MD_{latest}_corrected.xlsx")][1:] == ("accepted", 2)
    assert current_md == [(2,)] and history_md == 2
    assert second[("GE", f"GE_{latest}_return.xlsx")][1:] == ("accepted", 1)
    assert indicator_units == {"AM", "AZ", "GE", "MD"}  # UA missing, BY suspended

    # Every file left the inbox, and every file has exactly one receipt.
    files = {(f.unit, f.name) for f in plan if f.fmt == "xlsx"}
    receipts = {}
    for unit in ("AM", "AZ", "BY", "GE", "MD", "UA"):
        assert landing.list_inbox(unit) == []
        for name in landing.list_area(unit, "receipts"):
            if name.endswith(".json"):
                receipt = json.loads(landing.read(unit, "receipts", name))
                assert (unit, receipt["file_name"]) not in receipts
                receipts[(unit, receipt["file_name"])] = receipt
    assert files <= set(receipts)
    draft = receipts[("GE", f"GE_{latest}_draft.xlsx")]
    assert draft["status"] == "rejected" and draft["counts"]["errors"] >= 3
    unit, area, name = draft["location"].split("/", 2)
    assert (unit, area) == ("GE", "quarantine") and landing.exists(unit, area, name)
    accepted = receipts[("MD", f"MD_{latest}_return.xlsx")]
    assert landing.exists(*accepted["location"].split("/", 2))
    assert accepted["location"].startswith("MD/archive/")
    assert {f["sheet"] for f in draft["findings"]} >= {"indicators", "seizures"}
    suspended = receipts[("BY", f"BY_{latest}_return.xlsx")]
    assert any("suspend" in f["message_en"].lower() for f in suspended["findings"])
    assert receipts[("MD", f"MD_{latest}_corrected.xlsx")]["revision"] == 2

    # Running the same deliveries again loads nothing new.
    deliver(plan, 1)
    waiting, groups = len(pending_returns()), len(pending_batches())
    run = _run(dags["topcop_ingest"])
    tasks = [ti for ti in run.get_task_instances() if ti.task_id == "process_returns"]
    assert len(tasks) == groups <= config.ingest_max_tasks()
    assert (groups == waiting) == (waiting <= config.ingest_max_tasks())
    with _warehouse().connect() as conn:
        facts_before = conn.execute(text("SELECT COUNT(*) FROM indicator_fact")).scalar()
        again = conn.execute(text("SELECT status, COUNT(*) FROM submission GROUP BY status")).all()
    assert dict(again)["duplicate"] >= len([f for f in plan if f.round == 1]) - 2

    # The report DAG builds the workbook from the warehouse.
    _run(dags["topcop_report"])
    reports = sorted((state / "reports").glob("eap_assessment_*.xlsx"))
    assert reports, "no report built"
    wb = load_workbook(reports[-1])
    if kind == "s3":  # arrival times are the upload times: timeliness is only tested locally
        return
    assert {"overview", "completeness"} <= set(wb.sheetnames)
    completeness = wb["completeness"]
    rows = [list(r) for r in completeness.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r[0] == "Reporting unit")  # indicators grid
    header = rows[start]
    cells = {
        (r[0], header[c]): r[c]
        for r in rows[start + 1 : start + 7]
        for c in range(2, len(header))
        if header[c]
    }
    assert cells[("UA", latest)] == "missing"
    assert str(cells[("AZ", earlier)]).startswith("late")
    assert cells[("MD", latest)] == "on time"
    with _warehouse().connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM indicator_fact")).scalar() == facts_before
