"""Corrections to closed periods: held (not loaded, not quarantined), then approved or refused once.

The domain path without Airflow: ``process_return`` holds the file, ``apply_decision``
applies a steward's answer shaped as the HITL task returns it. The Airflow runs that
carry the same path are in tests/test_approval_airflow.py.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from topcop import config
from topcop.approval import (
    APPROVE,
    REFUSE,
    apply_decision,
    needs_approval,
    pending_requests,
    reminders,
    runs_to_request,
)
from topcop.findings import ERROR, WARNING, Finding
from topcop.i18n import say
from topcop.ingest import process_return
from topcop.landing.local import LocalLanding
from topcop.returns.samples import SampleReturn, fill_template, sample_content
from topcop.validation.data_docs import pending_dir

PERIOD = "2025-Q2"  # closes 2026-07-30 (deadline + 365 days)
FIRST_LOAD = date(2025, 8, 10)
LATE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLanding:
    monkeypatch.setenv("TOPCOP_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("TOPCOP_LANDING_ROOT", raising=False)
    landing = LocalLanding(config.landing_root())
    landing.ensure_areas()
    return landing


def original() -> SampleReturn:
    return sample_content("GE", PERIOD, seed=3, seizure_rows=10)


def corrected(note: str = "Corrected after the audit.") -> SampleReturn:
    sample = original()
    row = next(r for r in sample.indicators if isinstance(r["value"], int | float))
    row["value"] += 40
    row["comment"] = note
    sample.seizures.pop()
    return sample


def drop(landing: LocalLanding, sample: SampleReturn, name: str, when: datetime) -> None:
    path = fill_template(sample, landing.area("GE", "inbox") / name)
    os.utime(path, (when.timestamp(), when.timestamp()))


def ingest(landing: LocalLanding, engine: Engine, today: date, now: datetime):
    return [
        process_return(item, landing=landing, engine=engine, today=today, now=now)
        for item in landing.list_inbox("GE")
    ]


def receipt(landing: LocalLanding, location: str) -> dict:
    unit, area, name = location.split("/", 2)
    return json.loads(landing.read(unit, area, name))


def accepted_revisions(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT revision FROM v_submission_accepted WHERE reporting_unit = 'GE'"
                    " AND period = :p ORDER BY revision"
                ),
                {"p": PERIOD},
            ).scalars()
        )


def held_correction(landing: LocalLanding, engine: Engine, note: str = "Corrected."):
    first_at = datetime(2025, 8, 1, tzinfo=UTC)
    drop(landing, original(), "GE_2025-Q2_return.xlsx", first_at)
    (first,) = ingest(landing, engine, FIRST_LOAD, first_at + timedelta(days=1))
    assert first.status == "accepted"
    drop(landing, corrected(note), "GE_2025-Q2_return_v2.xlsx", LATE)
    (held,) = ingest(landing, engine, LATE.date(), LATE)
    return held


def answer(option: str, reason: str, user: str = "steward.anna") -> dict:
    return {
        "chosen_options": [option],
        "params_input": {"reason": reason},
        "responded_by_user": {"id": user, "name": user},
        "responded_at": LATE + timedelta(hours=2),
    }


def test_a_late_correction_that_would_pass_is_held_with_a_waiting_receipt(landing, warehouse):
    held = held_correction(landing, warehouse)

    assert held.status == "held" and held.revision is None
    assert landing.list_area("GE", "inbox") == []
    assert len(landing.list_area("GE", "held")) == 1
    assert landing.list_area("GE", "quarantine") == []
    assert accepted_revisions(warehouse) == [1]
    waiting = receipt(landing, held.receipt)
    assert waiting["status"] == "held"
    # In the unit's language (Georgian for GE), with the English beside it for stewards.
    assert waiting["language"] == "ka"
    assert waiting["message_en"].startswith("Waiting for approval")
    assert waiting["message"] == say(waiting["message_en"], None, "ka") != waiting["message_en"]
    assert [f["rule"] for f in waiting["findings"] if f["severity"] == "error"] == ["period_closed"]
    (req,) = pending_requests(warehouse)
    assert (req.reporting_unit, req.period, req.current_revision) == ("GE", PERIOD, 1)
    # What the steward reads: one value changed by +40 first, one seizure removed.
    assert "1 removed" in req.summary and "1 values changed" in req.summary
    assert runs_to_request(warehouse) == [
        {"trigger_run_id": req.dag_run_id, "conf": {"request_id": req.request_id}}
    ]


def test_approved_correction_is_loaded_once_as_next_revision_with_its_audit(landing, warehouse):
    held_correction(landing, warehouse)
    (req,) = pending_requests(warehouse)

    done = apply_decision(
        req.request_id, answer(APPROVE, "Audit confirmed"), landing=landing, engine=warehouse
    )

    assert done["status"] == "approved" and done["decided_by"] == "steward.anna"
    assert accepted_revisions(warehouse) == [1, 2]
    assert landing.list_area("GE", "held") == []
    assert done["location"].startswith("GE/archive/")
    loaded = receipt(landing, done["receipt"])
    assert loaded["message_en"].startswith("Approved and loaded")
    assert loaded["language"] == "ka" and loaded["message"] != loaded["message_en"]
    assert loaded["revision"] == 2 and loaded["approval"]["reason"] == "Audit confirmed"
    with warehouse.connect() as conn:
        audit = conn.execute(
            text("SELECT status, decided_by, reason, approved_revision FROM v_approval")
        ).one()
    assert tuple(audit) == ("approved", "steward.anna", "Audit confirmed", 2)
    # How the decided file fared goes to the next Data Docs build.
    assert [p.name for p in pending_dir().glob("*_approved.json")] != []

    # A rerun of the decision (a cleared task, a retry) loads nothing again.
    again = apply_decision(
        req.request_id, answer(REFUSE, "changed my mind"), landing=landing, engine=warehouse
    )
    assert again["status"] == "approved" and again["receipt"] == ""
    assert accepted_revisions(warehouse) == [1, 2]
    assert pending_requests(warehouse) == [] and runs_to_request(warehouse) == []


def test_refused_correction_is_quarantined_with_the_reason(landing, warehouse):
    held_correction(landing, warehouse)
    (req,) = pending_requests(warehouse)

    done = apply_decision(
        req.request_id, answer(REFUSE, "Figures not signed off"), landing=landing, engine=warehouse
    )

    assert done["status"] == "refused"
    assert accepted_revisions(warehouse) == [1]
    assert done["location"].startswith("GE/quarantine/")
    assert landing.list_area("GE", "held") == []
    refused = receipt(landing, done["receipt"])
    assert refused["status"] == "refused"
    assert refused["message_en"] == "Refused: Figures not signed off. Nothing was loaded."
    assert refused["language"] == "ka"
    assert refused["message"] == say(
        "Refused: {reason}. Nothing was loaded.", {"reason": "Figures not signed off"}, "ka"
    )
    (why,) = [f for f in refused["findings"] if f["rule"] == "steward_refused"]
    assert "Figures not signed off" in why["message"] != why["message_en"]  # said in Georgian
    with warehouse.connect() as conn:
        status, rules = conn.execute(
            text(
                "SELECT s.status, (SELECT COUNT(*) FROM finding f WHERE f.submission_id ="
                " s.submission_id AND f.rule = 'steward_refused') FROM approval_request a"
                " JOIN submission s ON s.submission_id = a.submission_id"
            )
        ).one()
    assert (status, rules) == ("rejected", 1)


def test_the_same_correction_dropped_twice_waits_for_one_decision(landing, warehouse):
    held_correction(landing, warehouse)
    (name,) = landing.list_area("GE", "held")
    again_at = (LATE + timedelta(hours=1)).timestamp()
    copy = landing.area("GE", "inbox") / "GE_2025-Q2_return_again.xlsx"
    copy.write_bytes(landing.read("GE", "held", name))  # the very same bytes
    os.utime(copy, (again_at, again_at))

    (again,) = ingest(landing, warehouse, LATE.date(), LATE + timedelta(hours=1))

    assert again.status == "held"
    assert len(pending_requests(warehouse)) == 1


def test_only_a_closed_period_among_the_errors_means_a_steward_decides():
    closed = Finding("metadata", 3, "period", "2025-Q2", "period_closed", ERROR, "closed")
    other = Finding("indicators", 7, "value", -1, "value_non_negative", ERROR, "negative")
    warning = Finding("indicators", 8, "value", 9, "outlier", WARNING, "large")
    assert needs_approval([closed, warning])
    assert not needs_approval([closed, other])
    assert not needs_approval([warning])


def test_an_unanswered_request_is_reminded_once_per_interval_and_never_expires(landing, warehouse):
    held_correction(landing, warehouse)
    every = timedelta(days=3)

    assert reminders(warehouse, LATE + timedelta(days=1), every) == []
    (first,) = reminders(warehouse, LATE + timedelta(days=4), every)
    (later,) = reminders(warehouse, LATE + timedelta(days=7), every)

    assert first["key"] != later["key"] and "stays held" in later["body"]
    assert len(pending_requests(warehouse)) == 1  # still waiting, nothing dropped
