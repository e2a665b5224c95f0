"""The production shape for real: ``make stack``'s processes, returns dropped into S3, workers killed.

One stack for the module (PostgreSQL, Redis, moto's S3 server, Airflow on
CeleryExecutor with two workers), driven through ``topcop.stack.local.Stack``,
the very object ``make stack`` runs. Files reach the pipeline only as a focal
point sends them (a PUT into the unit's bucket) and the pipeline notices them by
itself (the inbox watcher in the triggerer).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from datetime import date
from pathlib import Path

import psutil
import psycopg
import pytest
from sqlalchemy import create_engine, text
from stack_support import free_port

from topcop.periods import last_closed_periods
from topcop.returns.samples import fill_template, sample_content
from topcop.stack.local import Stack

pytestmark = pytest.mark.slow

UNITS = ("AM", "AZ", "GE", "MD", "UA")
PERIODS = [str(p) for p in last_closed_periods(date.today(), 3)]


@pytest.fixture(scope="module")
def stack():
    # Not under pytest's tmp_path, whose parents only root may enter: PostgreSQL runs
    # as its own account and must reach its folder.
    root = Path(tempfile.mkdtemp(prefix="topcop-stack-"))
    root.chmod(0o711)
    ports = {name: free_port() for name in ("api", "postgres", "redis", "s3")}
    stack = Stack(
        root=root,
        ports=ports,
        extra_env={
            # A killed worker's task is noticed in ~20 s instead of a minute.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "TOPCOP_WATCH_SECONDS": "2",
        },
    )
    try:
        stack.up()
        # The ingest DAG runs once at creation (its timetable); files dropped while that
        # run lists the inboxes would be taken by it, and the watcher would have nothing
        # to do. Past it, the next timetable run is 15 minutes away: only the watcher can
        # notice what the tests drop.
        _wait("the ingest run at creation to end", lambda: _ingest_quiet(stack), 180, stack)
        yield stack
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)


def _sample(unit: str, period: str, seizures: int = 50, seed: int = 7):
    return sample_content(unit, period, seed=seed, seizure_rows=seizures)


def _drop(stack: Stack, unit: str, sample, name: str, tmp: Path) -> None:
    path = fill_template(sample, tmp / f"{unit}_{name}")
    stack.s3_client().upload_file(str(path), f"topcop-{unit.lower()}", f"inbox/{name}")


def _keys(stack: Stack, unit: str, area: str) -> list[str]:
    listing = stack.s3_client().list_objects_v2(Bucket=f"topcop-{unit.lower()}", Prefix=f"{area}/")
    return [o["Key"] for o in listing.get("Contents", [])]


def _receipts(stack: Stack, unit: str) -> list[dict]:
    client = stack.s3_client()
    bucket = f"topcop-{unit.lower()}"
    return [
        json.loads(client.get_object(Bucket=bucket, Key=k)["Body"].read())
        for k in _keys(stack, unit, "receipts")
        if k.endswith(".json")
    ]


def _wait(what: str, check, timeout: float, stack: Stack):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        # A worker may be dead on purpose (the kill test); every other component must run.
        dead = [n for n, c in stack.children.items() if not c.running() and "worker" not in n]
        assert not dead, f"{dead} exited while waiting for {what}"
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _metadata(stack: Stack, query: str, *params) -> list[tuple]:
    url = stack.metadata_url().replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _ingest_quiet(stack: Stack) -> bool:
    states = [
        state
        for (state,) in _metadata(stack, "SELECT state FROM dag_run WHERE dag_id = 'topcop_ingest'")
    ]
    return bool(states) and not {"queued", "running"} & set(states)


def _warehouse(stack: Stack):
    return create_engine(stack.warehouse_url("topcop_analyst"))


def _receipt_for(stack: Stack, unit: str, name: str) -> list[dict]:
    return [r for r in _receipts(stack, unit) if r.get("file_name") == name]


def test_returns_dropped_at_once_are_answered_loaded_and_reported(stack, tmp_path):
    period = PERIODS[0]
    samples = {unit: _sample(unit, period) for unit in UNITS}
    for unit, sample in samples.items():
        _drop(stack, unit, sample, f"{unit}_{period}_return.xlsx", tmp_path)
    _drop(stack, "MD", samples["MD"], f"MD_{period}_return_again.xlsx", tmp_path)  # duplicate
    _drop(stack, "GE", samples["AM"], "GE_wrong_country.xlsx", tmp_path)  # another unit's return

    expected = {unit: 1 for unit in UNITS} | {"MD": 2, "GE": 2}
    _wait(
        "a receipt for every file",
        lambda: all(len(_receipts(stack, u)) == n for u, n in expected.items()),
        240,
        stack,
    )
    statuses = {(u, r["file_name"]): r["status"] for u in UNITS for r in _receipts(stack, u)}
    for unit in set(UNITS) - {"MD"}:
        assert statuses[(unit, f"{unit}_{period}_return.xlsx")].startswith("accepted"), unit
    md = sorted(
        statuses[("MD", n)] for n in (f"MD_{period}_return.xlsx", f"MD_{period}_return_again.xlsx")
    )
    assert md[-1] == "duplicate" and md[0].startswith("accepted")
    assert statuses[("GE", "GE_wrong_country.xlsx")] == "rejected"
    assert all(_keys(stack, u, "inbox") == [] for u in UNITS)
    assert _keys(stack, "GE", "quarantine")

    with _warehouse(stack).connect() as conn:
        for unit, sample in samples.items():
            rows = conn.execute(
                text(
                    "SELECT s.revision, s.indicator_rows, s.seizure_rows,"
                    " (SELECT count(*) FROM indicator_fact f WHERE f.submission_id = s.submission_id),"
                    " (SELECT count(*) FROM seizure_fact f WHERE f.submission_id = s.submission_id)"
                    " FROM submission s WHERE s.reporting_unit = :u AND s.period = :p"
                    " AND s.revision IS NOT NULL"
                ),
                {"u": unit, "p": period},
            ).all()
            n_ind, n_sz = len(sample.indicators), len(sample.seizures)
            assert [tuple(r) for r in rows] == [(1, n_ind, n_sz, n_ind, n_sz)], unit

    runs = _wait(
        "topcop_report run by the scheduler on the warehouse Asset",
        lambda: _metadata(
            stack,
            "SELECT run_type, state FROM dag_run WHERE dag_id = 'topcop_report' AND state = 'success'",
        ),
        180,
        stack,
    )
    assert {run_type for run_type, _ in runs} == {"asset_triggered"}
    ingest_types = {
        r
        for (r,) in _metadata(stack, "SELECT run_type FROM dag_run WHERE dag_id = 'topcop_ingest'")
    }
    assert "asset_triggered" in ingest_types  # the watcher, not the 15-minute timetable


def _running_file_task() -> str:
    return (
        "SELECT pid, try_number FROM task_instance WHERE dag_id = 'topcop_ingest'"
        " AND task_id = 'process_returns' AND state = 'running' AND pid IS NOT NULL"
    )


def test_a_worker_killed_inside_a_file_task_loads_the_file_exactly_once(stack, tmp_path):
    period = PERIODS[1]
    sample = _sample("MD", period, seizures=40_000, seed=11)
    name = f"MD_{period}_big_return.xlsx"
    _drop(stack, "MD", sample, name, tmp_path)

    def running_on_a_worker():
        for pid, try_number in _metadata(stack, _running_file_task()):
            for worker in ("worker-1", "worker-2"):
                if pid in {p.pid for p in stack.children[worker].tree()}:
                    return worker, try_number
        return None

    victim, first_try = _wait("the file task running on a worker", running_on_a_worker, 120, stack)
    survivor = "worker-2" if victim == "worker-1" else "worker-1"
    for process in stack.children[victim].tree():
        process.send_signal(signal.SIGKILL)
    stack.children[victim].process.wait(30)

    receipts = _wait("the file's receipt", lambda: _receipt_for(stack, "MD", name), 300, stack)
    time.sleep(3)  # a second receipt, if the file were processed twice, would land now
    receipts = _receipt_for(stack, "MD", name)
    assert len(receipts) == 1 and receipts[0]["status"].startswith("accepted"), receipts
    assert receipts[0]["revision"] == 1
    tries = _metadata(
        stack,
        "SELECT max(try_number) FROM task_instance WHERE dag_id = 'topcop_ingest'"
        " AND task_id = 'process_returns' AND state = 'success'",
    )
    assert tries[0][0] > first_try  # retried, necessarily on the surviving worker
    assert stack.children[survivor].running()
    with _warehouse(stack).connect() as conn:
        loaded = conn.execute(
            text(
                "SELECT count(*), sum(s.seizure_rows) FROM submission s"
                " WHERE s.reporting_unit = 'MD' AND s.period = :p AND s.revision IS NOT NULL"
            ),
            {"p": period},
        ).one()
        facts = conn.execute(
            text(
                "SELECT count(*) FROM seizure_fact f JOIN submission s USING (submission_id)"
                " WHERE s.reporting_unit = 'MD' AND s.period = :p"
            ),
            {"p": period},
        ).scalar()
    assert tuple(loaded) == (1, len(sample.seizures))
    assert facts == len(sample.seizures)


def test_a_scheduler_restarted_mid_run_lets_the_run_finish(stack, tmp_path):
    period = PERIODS[2]
    name = f"AZ_{period}_return.xlsx"
    _drop(stack, "AZ", _sample("AZ", period, seizures=5_000, seed=3), name, tmp_path)
    _wait(
        "an ingest run in progress",
        lambda: _metadata(
            stack,
            "SELECT 1 FROM task_instance WHERE dag_id = 'topcop_ingest' AND task_id = 'process_returns'"
            " AND state IN ('queued', 'running')",
        ),
        120,
        stack,
    )
    old = stack.children["scheduler"].pid
    stack.restart("scheduler")
    assert stack.children["scheduler"].pid != old
    assert not psutil.pid_exists(old) or psutil.Process(old).status() == psutil.STATUS_ZOMBIE
    receipts = _wait(
        "the receipt after the restart", lambda: _receipt_for(stack, "AZ", name), 240, stack
    )
    assert receipts[0]["status"].startswith("accepted")
    _wait(
        "every ingest run finished",
        lambda: (
            not _metadata(
                stack,
                "SELECT 1 FROM dag_run WHERE dag_id = 'topcop_ingest' AND state IN ('queued', 'running')",
            )
        ),
        120,
        stack,
    )
    failed = _metadata(
        stack, "SELECT run_id FROM dag_run WHERE dag_id = 'topcop_ingest' AND state = 'failed'"
    )
    assert failed == []
    assert os.path.isdir(stack.root / "logs")
