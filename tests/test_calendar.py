"""The reporting calendar: due dates, classification on a frozen clock, reminders, alerts, templates.

Every domain function takes the day it acts for, so the clock is frozen by
passing ``today``. Returns reach the warehouse through the real loader with
content from the project's sample generator. Dates below are worked out by hand
from calendar.yaml (quarterly, deadline 30 days after the quarter, periods close
365 days after the deadline, first reminder 7 days before).
"""

from __future__ import annotations

import email
import hashlib
import json
import shutil
import socketserver
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from topcop import config
from topcop.alerts import alert_stewards
from topcop.calendar import (
    closes_on,
    deadline_states,
    expected_units,
    open_periods,
    publish_templates,
    reminder_days_before,
    watch_deadlines,
)
from topcop.findings import Finding
from topcop.landing import landing as configured_landing
from topcop.landing.local import LocalLanding
from topcop.periods import Period
from topcop.reports.completeness import Timeliness
from topcop.returns.model import INDICATOR_COLUMNS, ROW, SEIZURE_COLUMNS, ReturnFile
from topcop.returns.samples import sample_content
from topcop.status import status_matrix, status_periods
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.load import ReceivedFile, record_submission
from topcop.warehouse.migrate import migrate

Q1 = "2026-Q1"  # 2026-01-01 to 2026-03-31
DEADLINE = date(2026, 4, 30)  # 2026-03-31 + 30 days
REMIND_ON = date(2026, 4, 23)  # DEADLINE - 7 days
PASSED_ON = date(2026, 5, 1)  # the first day the deadline is behind us
ACTIVE = ["AM", "AZ", "GE", "MD", "UA"]  # BY suspended since 2021-06-28
DATASETS = ["indicators", "seizures"]


# --- building the warehouse ------------------------------------------------------


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns)).astype(columns)
    frame[ROW] = range(2, len(frame) + 2)
    return frame


def _submit(engine: Engine, unit: str, period: str, received_at: datetime, *, rejected=False):
    """Record a return workbook for ``unit`` and ``period`` as if it arrived at ``received_at``."""
    sample = sample_content(unit, period, seed=1, seizure_rows=3)
    ret = ReturnFile(
        path=Path(f"{unit}_{period}.xlsx"),
        file_format="xlsx",
        metadata=dict(sample.metadata),
        indicators=_frame(sample.indicators, INDICATOR_COLUMNS),
        seizures=_frame(sample.seizures, SEIZURE_COLUMNS),
    )
    findings = (
        [Finding("indicators", 2, "value", -1, "value_not_negative", "error", "negative")]
        if rejected
        else []
    )
    sha = hashlib.sha256(f"{unit}|{period}|{received_at}".encode()).hexdigest()
    received = ReceivedFile(
        file_name=ret.path.name,
        stored_name=f"{sha[:12]}_{ret.path.name}",
        sha256=sha,
        size_bytes=1000,
        received_at=received_at,
    )
    record_submission(engine, ret, reporting_unit=unit, received=received, findings=findings)


@pytest.fixture
def q1_warehouse(warehouse: Engine) -> Engine:
    """2026-Q1: AM on time, GE three days late, MD sent a file that was rejected, AZ and UA nothing."""
    _submit(warehouse, "AM", Q1, datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    _submit(warehouse, "GE", Q1, datetime(2026, 5, 3, 15, 0, tzinfo=UTC))
    _submit(warehouse, "MD", Q1, datetime(2026, 4, 25, 11, 0, tzinfo=UTC), rejected=True)
    return warehouse


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def _receipts(landing, unit: str) -> list[str]:
    return landing.list_area(unit, "receipts")


# --- due dates and open periods --------------------------------------------------


def test_due_and_closing_dates_follow_the_calendar():
    indicators = config.codelists().datasets["indicators"]
    assert Period.parse(Q1).deadline(indicators.deadline_days) == DEADLINE
    assert Period.parse("2025-Q4").deadline(indicators.deadline_days) == date(2026, 1, 30)
    assert closes_on(Period.parse(Q1), indicators) == date(2027, 4, 30)
    assert reminder_days_before() == 7


def test_open_periods_have_ended_and_not_closed():
    indicators = config.codelists().datasets["indicators"]
    # 2025-Q1 closes on 2026-04-30 (deadline 2025-04-30 + 365 days): open that day, not after.
    on_close = [p.code for p in open_periods(indicators, date(2026, 4, 30))]
    assert on_close == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", Q1]
    after = [p.code for p in open_periods(indicators, date(2026, 5, 1))]
    assert after == ["2025-Q2", "2025-Q3", "2025-Q4", Q1]  # the running 2026-Q2 is not due


def test_suspended_unit_is_expected_only_for_periods_it_was_active_in():
    assert [u.code for u in expected_units(Period.parse("2021-Q2"))] == [
        "AM",
        "AZ",
        "BY",
        *ACTIVE[2:],
    ]
    assert [u.code for u in expected_units(Period.parse("2021-Q3"))] == ACTIVE
    assert [u.code for u in expected_units(Period.parse(Q1))] == ACTIVE


def test_days_before_is_read_from_calendar_yaml(tmp_path, monkeypatch):
    lists = tmp_path / "codelists"
    shutil.copytree(config.codelists_dir(), lists)
    calendar = yaml.safe_load((lists / "calendar.yaml").read_text())
    calendar["reminders"]["days_before"] = 3
    (lists / "calendar.yaml").write_text(yaml.safe_dump(calendar))
    monkeypatch.setenv("TOPCOP_CODELISTS", str(lists))
    assert reminder_days_before() == 3


# --- classification on a frozen clock ---------------------------------------------


def test_states_on_a_frozen_clock(q1_warehouse):
    states = {
        (s.reporting_unit, s.dataset): s
        for s in deadline_states(q1_warehouse, date(2026, 5, 5))
        if s.period == Q1
    }
    assert len(states) == 6 * len(DATASETS)
    for dataset in DATASETS:
        am, ge, md = (states[(u, dataset)] for u in ("AM", "GE", "MD"))
        assert (am.status, am.on_time, am.accepted, am.received) == (
            Timeliness.ON_TIME,
            True,
            True,
            True,
        )
        assert (ge.status, ge.late, ge.label) == (Timeliness.LATE, True, "late (3 days)")
        # A rejected file is received, not accepted: the return is overdue all the same.
        assert (md.status, md.received, md.accepted, md.overdue) == (
            Timeliness.MISSING,
            True,
            False,
            True,
        )
        for unit in ("AZ", "UA"):
            s = states[(unit, dataset)]
            assert (s.overdue, s.received, s.expected) == (True, False, True)
        by = states[("BY", dataset)]
        assert (by.status, by.expected, by.overdue) == (Timeliness.NOT_EXPECTED, False, False)
        assert am.deadline == DEADLINE and am.closes == date(2027, 4, 30)


def test_before_the_deadline_nothing_is_overdue(q1_warehouse):
    states = [s for s in deadline_states(q1_warehouse, DEADLINE) if s.period == Q1]
    by_unit = {s.reporting_unit: s.status for s in states if s.dataset == "indicators"}
    # GE's return arrives on 2026-05-03, after the frozen day: the warehouse already holds it.
    assert by_unit == {
        "AM": Timeliness.ON_TIME,
        "AZ": Timeliness.DUE,
        "BY": Timeliness.NOT_EXPECTED,
        "GE": Timeliness.LATE,
        "MD": Timeliness.DUE,
        "UA": Timeliness.DUE,
    }


# --- reminders --------------------------------------------------------------------


@pytest.fixture
def am_on_time(warehouse: Engine) -> Engine:
    """Only AM's 2026-Q1 return is accepted; MD's was rejected."""
    _submit(warehouse, "AM", Q1, datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    _submit(warehouse, "MD", Q1, datetime(2026, 4, 21, 11, 0, tzinfo=UTC), rejected=True)
    return warehouse


def _reminder_files(units: list[str], kind: str) -> dict[str, set[str]]:
    return {
        u: {f"{u}_{Q1}_{d}_{kind}.{ext}" for d in DATASETS for ext in ("json", "txt")}
        for u in units
    }


def test_reminders_are_written_exactly_once(am_on_time, tmp_path):
    landing = LocalLanding(tmp_path / "landing")
    waiting = ["AZ", "GE", "MD", "UA"]

    first = watch_deadlines(am_on_time, landing, REMIND_ON)
    # Older open periods' deadlines passed long ago: no flood of reminders about them.
    assert {(r.reporting_unit, r.period, r.kind) for r in first.reminders} == {
        (u, Q1, "due_soon") for u in waiting
    }
    expected = _reminder_files(waiting, "due_soon")
    assert {u: set(_receipts(landing, u)) for u in waiting} == expected
    assert _receipts(landing, "AM") == [] and _receipts(landing, "BY") == []

    again = watch_deadlines(am_on_time, landing, REMIND_ON)
    next_day = watch_deadlines(am_on_time, landing, date(2026, 4, 24))
    assert again.reminders == [] and next_day.reminders == []
    assert {u: set(_receipts(landing, u)) for u in waiting} == expected
    assert _count(am_on_time, "SELECT COUNT(*) FROM reminder") == len(waiting) * len(DATASETS)

    notice = json.loads(landing.read("GE", "receipts", f"GE_{Q1}_indicators_due_soon.json"))
    assert notice["deadline"] == "2026-04-30" and notice["written_on"] == "2026-04-23"
    assert "30 April 2026, in 7 days" in notice["message"]
    assert "did arrive but was not accepted" not in notice["message"]
    # Georgia's language first, the English below it.
    georgian, english = notice["message"].split("\n\n")
    assert notice["language"] == "ka" and "30 April 2026" in english
    assert sum("\u10a0" <= ch <= "\u10ff" for ch in georgian) > 50 and "2026-Q1" in georgian
    md = landing.read("MD", "receipts", f"MD_{Q1}_seizures_due_soon.txt").decode()
    assert "did arrive but was not accepted" in md


def test_overdue_reminder_on_the_day_the_deadline_passes(am_on_time, tmp_path):
    landing = LocalLanding(tmp_path / "landing")
    waiting = ["AZ", "GE", "MD", "UA"]
    # The first run ever, on the deadline day: the early reminder is caught up, not skipped.
    on_deadline = watch_deadlines(am_on_time, landing, DEADLINE).reminders
    assert {(r.reporting_unit, r.kind) for r in on_deadline} == {(u, "due_soon") for u in waiting}
    assert "30 April 2026, today" in on_deadline[0].message

    passed = watch_deadlines(am_on_time, landing, PASSED_ON)
    assert {(r.reporting_unit, r.dataset, r.kind) for r in passed.reminders} == {
        (u, d, "overdue") for u in waiting for d in DATASETS
    }
    assert watch_deadlines(am_on_time, landing, date(2026, 5, 2)).reminders == []
    overdue = _reminder_files(waiting, "overdue")
    for u in waiting:
        assert overdue[u] <= set(_receipts(landing, u))
    text_ = landing.read("UA", "receipts", f"UA_{Q1}_indicators_overdue.txt").decode()
    assert "was due by 30 April 2026" in text_ and "until 30 April 2027" in text_
    assert _receipts(landing, "BY") == []


class _FailingOnce(LocalLanding):
    """A landing store that fails the first write, as a run crashing mid-way would."""

    failed = False

    def put(self, reporting_unit, area, name, data):
        if not self.failed:
            self.failed = True
            raise OSError("disk full")
        return super().put(reporting_unit, area, name, data)


def test_a_crash_after_the_claim_is_repaired_by_the_next_run(am_on_time, tmp_path):
    landing = _FailingOnce(tmp_path / "landing")
    with pytest.raises(OSError, match="disk full"):
        watch_deadlines(am_on_time, landing, REMIND_ON)
    assert _count(am_on_time, "SELECT COUNT(*) FROM reminder WHERE written_at IS NULL") == 8

    rerun = watch_deadlines(am_on_time, landing, date(2026, 4, 24))
    assert len(rerun.reminders) == 8
    assert _count(am_on_time, "SELECT COUNT(*) FROM reminder WHERE written_at IS NULL") == 0
    assert {u: set(_receipts(landing, u)) for u in ["AZ", "GE", "MD", "UA"]} == _reminder_files(
        ["AZ", "GE", "MD", "UA"], "due_soon"
    )
    # Written from the stored text: the day the reminder was decided, not the rerun's.
    notice = json.loads(landing.read("AZ", "receipts", f"AZ_{Q1}_indicators_due_soon.json"))
    assert notice["written_on"] == "2026-04-23"


# --- steward alerts --------------------------------------------------------------


def test_deadline_alert_lists_the_missing_units_and_is_sent_once(q1_warehouse, tmp_path):
    landing = LocalLanding(tmp_path / "landing")
    assert watch_deadlines(q1_warehouse, landing, DEADLINE).alerts == []
    alerts = watch_deadlines(q1_warehouse, landing, PASSED_ON).alerts
    assert [a.key for a in alerts] == [f"deadline_passed:{d}:{Q1}" for d in DATASETS]
    body = alerts[0].body
    assert "Nothing accepted from 3 of the 5 expected reporting units" in body
    for line in ("  AZ Azerbaijan", "  MD Republic of Moldova (a file arrived but was rejected)"):
        assert line in body.splitlines()
    assert "BY" not in body
    assert "Accepted: AM on time, GE late (3 days)." in body

    a = alerts[0]
    assert alert_stewards(q1_warehouse, a.subject, a.body, kind=a.kind, key=a.key)
    assert alert_stewards(q1_warehouse, a.subject, a.body, kind=a.kind, key=a.key) is None
    with q1_warehouse.connect() as conn:
        rows = conn.execute(text("SELECT kind, channel, recipients FROM alert")).all()
    assert [tuple(r) for r in rows] == [("deadline_passed", "log", None)]


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every command accepted, each message kept."""

    def handle(self):
        self._say("220 test ESMTP")
        message: list[bytes] | None = None
        while line := self.rfile.readline():
            if message is not None:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(b"".join(message).decode())
                    message = None
                    self._say("250 queued")
                else:
                    message.append(line)
                continue
            verb = line[:4].upper()
            if verb == b"RCPT":
                self.server.recipients.append(line.decode().split("<")[1].split(">")[0])
            if verb == b"DATA":
                message = []
                self._say("354 go ahead")
            elif verb == b"QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")

    def _say(self, reply: str) -> None:
        self.wfile.write(reply.encode() + b"\r\n")


@pytest.fixture
def smtp_server(monkeypatch):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.daemon_threads = True
    server.messages, server.recipients = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    extra = {"from_email": "topcop@example.org", "disable_tls": True, "disable_ssl": True}
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": server.server_address[1]}
    monkeypatch.setenv("AIRFLOW_CONN_TOPCOP_SMTP", json.dumps({**conn, "extra": extra}))
    yield server
    server.shutdown()
    server.server_close()


def test_alert_is_emailed_when_smtp_and_stewards_are_configured(smtp_server, monkeypatch, tmp_path):
    engine = warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    migrate(engine)
    monkeypatch.setenv("TOPCOP_STEWARD_EMAILS", "a@example.org; b@example.org")
    assert alert_stewards(engine, "Deadline passed", "AZ missing", kind="deadline_passed")
    assert len(smtp_server.messages) == 1
    mail = email.message_from_string(smtp_server.messages[0])
    assert (mail["Subject"], mail["From"]) == ("Deadline passed", "topcop@example.org")
    parts = [p.get_payload(decode=True) for p in mail.walk() if not p.is_multipart()]
    assert parts == [b"<pre>AZ missing</pre>"]
    assert smtp_server.recipients == ["a@example.org", "b@example.org"]
    with engine.connect() as conn:
        row = conn.execute(text("SELECT channel, recipients FROM alert")).one()
    assert tuple(row) == ("email", "a@example.org, b@example.org")


def test_alert_without_stewards_is_only_logged_and_stored(smtp_server, tmp_path, monkeypatch):
    monkeypatch.delenv("TOPCOP_STEWARD_EMAILS", raising=False)
    engine = warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    migrate(engine)
    assert alert_stewards(engine, "Task failed", "details", kind="task_failed")
    assert smtp_server.messages == []
    assert _count(engine, "SELECT COUNT(*) FROM alert WHERE channel = 'log'") == 1


# --- templates ----------------------------------------------------------------------


def test_templates_published_for_every_active_unit_once(tmp_path):
    landing = LocalLanding(tmp_path / "landing")
    written = publish_templates(None, landing, date(2026, 4, 1))
    assert sorted(written) == [f"{u}/templates/{u}_2026-Q2_template.xlsx" for u in ACTIVE]
    assert landing.list_area("BY", "templates") == []
    assert publish_templates(None, landing, date(2026, 5, 1)) == []  # same quarter: kept

    path = tmp_path / "landing" / "GE" / "templates" / "GE_2026-Q2_template.xlsx"
    metadata = {r[0]: r[1] for r in load_workbook(path)["metadata"].iter_rows(values_only=True)}
    assert (metadata["country"], metadata["period"]) == ("GE", "2026-Q2")

    # A period when Belarus was still active: its template goes out too.
    assert "BY/templates/BY_2021-Q2_template.xlsx" in publish_templates(
        "2021-Q2", landing, date(2026, 4, 1)
    )


# --- the status view -----------------------------------------------------------------


def test_status_matrix_shows_units_by_periods(q1_warehouse):
    periods = status_periods(None, date(2026, 5, 5))
    assert periods == ["2025-Q2", "2025-Q3", "2025-Q4", Q1]
    assert status_periods(Q1, date(2030, 1, 1)) == periods
    out = status_matrix(q1_warehouse, periods, date(2026, 5, 5))
    block = out.split("\n\nseizures\n")[0].split("indicators\n", 1)[1].splitlines()
    rows = {line.split()[0]: line for line in block[2:-2]}
    assert list(rows) == ["AM", "AZ", "BY", "GE", "MD", "UA"]
    assert rows["AM"].rstrip().endswith("missing  on time")
    assert rows["GE"].rstrip().endswith("late (3 days)")
    assert rows["MD"].rstrip().endswith("missing, file rejected")
    assert rows["BY"].split()[-4:] == ["n.a."] * 4
    assert block[-1].split()[-4:] == ["0/5", "0/5", "0/5", "2/5"]
    assert "seizures" in out


# --- through S3 ---------------------------------------------------------------------


def test_templates_and_reminders_through_s3(s3_landing_env, am_on_time):
    landing = configured_landing()
    client, prefix = s3_landing_env["client"], s3_landing_env["prefix"]

    def keys(unit: str, area: str) -> list[str]:
        listing = client.list_objects_v2(Bucket=f"{prefix}-{unit}".lower(), Prefix=f"{area}/")
        return sorted(o["Key"] for o in listing.get("Contents", []))

    assert len(publish_templates(None, landing, date(2026, 4, 1))) == len(ACTIVE)
    assert keys("UA", "templates") == ["templates/UA_2026-Q2_template.xlsx"]
    assert keys("BY", "templates") == []
    assert publish_templates(None, landing, date(2026, 4, 2)) == []

    assert len(watch_deadlines(am_on_time, landing, REMIND_ON).reminders) == 8
    assert watch_deadlines(am_on_time, landing, REMIND_ON).reminders == []
    assert keys("AZ", "receipts") == sorted(
        f"receipts/{n}" for n in _reminder_files(["AZ"], "due_soon")["AZ"]
    )
    assert keys("AM", "receipts") == [] and keys("BY", "receipts") == []


# --- the DAGs ------------------------------------------------------------------------


@pytest.fixture
def dags(airflow_db, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("TOPCOP_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("TOPCOP_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("TOPCOP_LANDING", raising=False)
    monkeypatch.delenv("TOPCOP_LANDING_ROOT", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_TOPCOP_SMTP", raising=False)
    bag = DagBag(dag_folder=str(config.PROJECT_DIR / "dags"))
    assert bag.import_errors == {}
    return bag.dags


def test_templates_dag_publishes_the_running_period(dags):
    run = dags["topcop_templates"].test(logical_date=datetime(2026, 7, 1, 6, tzinfo=UTC))
    assert run.state == "success"
    landing = LocalLanding(config.landing_root())
    for unit in ACTIVE:
        assert landing.list_area(unit, "templates") == [f"{unit}_2026-Q3_template.xlsx"]
    assert landing.list_area("BY", "templates") == []


def test_deadlines_dag_writes_reminders_and_alerts(dags):
    run = dags["topcop_deadlines"].test(logical_date=datetime(2026, 5, 1, 7, tzinfo=UTC))
    assert run.state == "success"
    landing = LocalLanding(config.landing_root())
    for unit in ACTIVE:
        assert f"{unit}_{Q1}_indicators_overdue.json" in landing.list_area(unit, "receipts")
    assert landing.list_area("BY", "receipts") == []
    engine = warehouse_engine()
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT alert_key FROM alert ORDER BY alert_key")).scalars().all()
    assert keys == [f"deadline_passed:{d}:{Q1}" for d in DATASETS]
