"""Faults with real processes and real servers: what a crash or an outage leaves behind, and what the rerun does.

Nothing here is a mock. An ingest in its own process (``tests/ingest_worker.py``)
is killed with SIGKILL while its facts are being written; the warehouse is a
closed port while the ingest DAG runs through Airflow's retries and failure
callback; the S3 endpoint (a moto server of this test's own) stops in the middle
of a run and comes back. After each: nothing half-loaded, no file lost from the
inbox, and the rerun loads every return exactly once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import socket
import socketserver
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from ingest_worker import Worker, start_worker
from moto.server import ThreadedMotoServer
from s3_server import s3_client
from sqlalchemy import Engine, text

from topcop import config
from topcop.ingest import pending_returns, process_return
from topcop.landing.local import LocalLanding
from topcop.returns.samples import fill_template, sample_content, write_csv
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

pytestmark = pytest.mark.slow

TODAY = date(2026, 5, 15)
PERIOD = "2026-Q1"
BIG_UNIT = "UA"
BIG_ROWS = 100_000
# Uncommitted pages SQLite has spilled to its WAL before the worker counts as mid-load:
# far more than the submission row and findings, far less than 100k seizure rows.
SPILLED_BYTES = 2 << 20


# --- shared set-up ---------------------------------------------------------------------------


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state directory of the test's own, with local landing folders for every unit."""
    var = tmp_path / "var"
    monkeypatch.setenv("TOPCOP_VAR", str(var))
    monkeypatch.delenv("TOPCOP_LANDING_ROOT", raising=False)
    monkeypatch.delenv("TOPCOP_LANDING", raising=False)
    LocalLanding(config.landing_root()).ensure_areas()
    return var


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, var: Path) -> str:
    """A migrated warehouse's URL, on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{var / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("postgresql_url")
    engine = warehouse_engine(url)
    migrate(engine)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:  # an empty WAL: what grows from here is the worker's
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return url


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def accepted_per_content(engine: Engine) -> dict[str, int]:
    """How many accepted submissions each file content has: exactly one is right."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT sha256, COUNT(*) FROM submission"
                " WHERE status IN ('accepted', 'accepted_with_warnings') GROUP BY sha256"
            )
        )
        return dict(rows.all())


def rerun(landing: Any, engine: Engine) -> list[str]:
    """What the next ingest run does: every waiting file, one at a time; their statuses."""
    return [
        process_return(ref, landing=landing, engine=engine, today=TODAY).status
        for ref in pending_returns(landing)
    ]


# --- kill -9 in the middle of a large load ---------------------------------------------------


@pytest.fixture(scope="module")
def big_return(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seizures CSV of 100k rows (UA's size): its facts take a while to write."""
    sample = sample_content(BIG_UNIT, PERIOD, seed=11, seizure_rows=BIG_ROWS)
    _, seizures = write_csv(sample, tmp_path_factory.mktemp("big"))
    return seizures


def _write_locked(database: Path) -> bool:
    """Whether another connection holds the SQLite database's write lock right now."""
    probe = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # "database is locked"
        return True
    else:
        probe.execute("ROLLBACK")
        return False
    finally:
        probe.close()


def _sqlite_mid_load(url: str) -> bool:
    """The ingest transaction holds the lock and has spilled megabytes of facts, uncommitted."""
    database = Path(url.split("///", 1)[1])
    wal = database.with_name(database.name + "-wal")
    return wal.exists() and wal.stat().st_size > SPILLED_BYTES and _write_locked(database)


def _postgresql_copy_progress(engine: Engine) -> int:
    """Seizure rows a COPY in progress has sent so far (0 when none is running)."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT COALESCE(MAX(tuples_processed), 0) FROM pg_stat_progress_copy"
                " WHERE datname = current_database() AND relid = 'seizure_fact'::regclass"
            )
        ).scalar_one()


def wait_until_mid_load(worker: Worker, url: str) -> None:
    """Poll the database, not the worker, until the worker's facts are half written."""
    engine = warehouse_engine(url) if url.startswith("postgresql") else None
    try:
        while worker.process.poll() is None:
            if engine is not None and _postgresql_copy_progress(engine) > 0:
                return
            if engine is None and _sqlite_mid_load(url):
                return
            time.sleep(0.002)
    finally:
        if engine is not None:
            engine.dispose()
    raise AssertionError(f"the worker ended before its load was seen: {worker.stderr()[-3000:]}")


def test_kill_9_mid_load_leaves_nothing_and_the_rerun_loads_it_once(
    var: Path, warehouse_url: str, big_return: Path, tmp_path: Path
) -> None:
    landing = LocalLanding(config.landing_root())
    inbox = landing.area(BIG_UNIT, "inbox")
    (inbox / big_return.name).write_bytes(big_return.read_bytes())
    worker = start_worker(TODAY, var=var, warehouse_url=warehouse_url, logs=tmp_path / "worker")

    try:
        wait_until_mid_load(worker, warehouse_url)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.process.kill()  # whatever happened above, no worker outlives the test
        worker.process.wait()

    assert worker.process.returncode == -signal.SIGKILL
    assert worker.lines() == []  # it never got to say what became of the file
    engine = warehouse_engine(warehouse_url)
    try:
        for table in ("submission", "finding", "expectation_result", "seizure_fact"):
            assert count(engine, f"SELECT COUNT(*) FROM {table}") == 0, table
        assert [f.name for f in landing.list_inbox(BIG_UNIT)] == [big_return.name]
        assert landing.list_area(BIG_UNIT, "receipts") == []

        assert rerun(landing, engine) == ["accepted"]

        assert list(accepted_per_content(engine).values()) == [1]
        assert count(engine, "SELECT COUNT(*) FROM seizure_fact") == BIG_ROWS
        assert landing.list_inbox(BIG_UNIT) == []
    finally:
        engine.dispose()


# --- the warehouse unreachable ---------------------------------------------------------------


NEEDS_DAG_CHANGE = (
    "needs DAG change: process_return failing leaves only all_done tasks as leaves, "
    "so the run ends 'success'"
)
NEEDS_ALERTS_CHANGE = (
    "needs alerts change: alert_task_failure opens the warehouse before it logs or emails"
)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class FailedRun:
    """What one ingest DAG run against an unreachable warehouse left behind."""

    state: str
    tries: dict[str, tuple[str, int]]  # task id -> (state, try number)
    retries: int
    alerts: list[str]  # log lines telling of the task's failure
    mails: list[str]
    inbox: list[str]
    processed: list[str]  # anything in archive/, quarantine/ or receipts/


@pytest.fixture(scope="module")
def unreachable_warehouse_run(airflow_db, tmp_path_factory: pytest.TempPathFactory) -> FailedRun:
    """The ingest DAG through ``dag.test()`` with one file waiting and the warehouse down.

    ``dag.test()`` runs Airflow's retries in-process (an ``up_for_retry`` task is
    scheduled again once its retry delay has passed), so the DAG's own retries are
    kept and only their delay is cut, on the in-memory DAG object. Mail is set up
    (a local SMTP server and a steward address) to see whether the stewards hear of it.
    """
    from airflow.dag_processing.dagbag import DagBag
    from test_calendar import _Smtp

    bag = DagBag(dag_folder=str(config.PROJECT_DIR / "dags"))
    dag = bag.dags["topcop_ingest"]
    for task in dag.tasks:
        task.retry_delay = timedelta(0)
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    smtp.daemon_threads = True
    smtp.messages, smtp.recipients = [], []
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    var = tmp_path_factory.mktemp("unreachable") / "var"
    mail = {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp.server_address[1]}
    mail["extra"] = {"from_email": "topcop@example.org", "disable_tls": True, "disable_ssl": True}
    try:
        with pytest.MonkeyPatch.context() as env, _captured_records() as records:
            env.setenv("TOPCOP_VAR", str(var))
            env.delenv("TOPCOP_LANDING_ROOT", raising=False)
            env.delenv("TOPCOP_LANDING", raising=False)
            env.setenv(
                "TOPCOP_WAREHOUSE_URL", f"postgresql+psycopg://topcop@127.0.0.1:{closed_port()}/x"
            )
            env.setenv("AIRFLOW_CONN_TOPCOP_SMTP", json.dumps(mail))
            env.setenv("TOPCOP_STEWARD_EMAILS", "stewards@example.org")
            landing = LocalLanding(config.landing_root())
            landing.ensure_areas()
            sample = sample_content("MD", PERIOD, seed=5, seizure_rows=10)
            fill_template(sample, landing.area("MD", "inbox") / f"MD_{PERIOD}_return.xlsx")

            run = dag.test()

            processed = [
                f"{unit}/{area}/{name}"
                for unit in landing.reporting_units()
                for area in ("archive", "quarantine", "receipts")
                for name in landing.list_area(unit, area)
            ]
            inbox = [f.name for f in landing.list_inbox("MD")]
    finally:
        smtp.shutdown()
        smtp.server_close()
    return FailedRun(
        state=str(run.state),
        tries={ti.task_id: (str(ti.state), ti.try_number) for ti in run.get_task_instances()},
        retries=dag.get_task("list_returns").retries,
        alerts=[r.getMessage() for r in records if "failed after its retries" in r.getMessage()],
        mails=list(smtp.messages),
        inbox=inbox,
        processed=processed,
    )


@contextmanager
def _captured_records() -> Iterator[list[logging.LogRecord]]:
    """Log records of the ``topcop`` loggers, as they reach Airflow's logging."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler, logger = Keep(level=logging.INFO), logging.getLogger("topcop")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def test_unreachable_warehouse_is_retried_then_alerted_and_the_file_stays(
    unreachable_warehouse_run: FailedRun,
) -> None:
    run = unreachable_warehouse_run
    # The listing claims the waiting files in the warehouse (overlapping runs must not
    # take the same file), so the outage stops the run there, before any file is opened.
    assert run.tries["list_returns"] == ("failed", run.retries + 1)  # every retry was used
    assert "process_returns" not in run.tries or run.tries["process_returns"][0] != "success"
    # The failure callback ran once, after the last try, and said what failed.
    (alert,) = run.alerts
    assert "topcop_ingest.list_returns failed after its retries" in alert
    # Nothing was processed: the file waits in the inbox for the next run.
    assert run.inbox == [f"MD_{PERIOD}_return.xlsx"]
    assert run.processed == []


def test_a_run_whose_file_could_not_be_processed_is_failed(
    unreachable_warehouse_run: FailedRun,
) -> None:
    assert unreachable_warehouse_run.state == "failed"


def test_stewards_are_emailed_although_the_warehouse_is_down(
    unreachable_warehouse_run: FailedRun,
) -> None:
    (mail,) = unreachable_warehouse_run.mails
    assert "topcop_ingest.list_returns failed after its retries" in mail


# --- the S3 endpoint going away mid-run --------------------------------------------------------


class Endpoint:
    """An S3 endpoint of the test's own (a moto server) that can go down and come back.

    moto keeps its buckets in the process, not in the server, so a server started
    again on the same port serves the same objects: an outage, not a data loss.
    """

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.host, self.port = self.server.get_host_and_port()
        self.up = True

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.up:
            self.server.stop()
            self.up = False

    def restart(self) -> None:
        self.server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self.server.start()
        self.up = True


@pytest.fixture
def endpoint(var: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Endpoint]:
    """The S3 landing on an endpoint of this test's own; stopping it leaves other tests alone."""
    endpoint = Endpoint()
    prefix = f"t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TOPCOP_LANDING", "s3")
    monkeypatch.setenv("TOPCOP_S3_BUCKET_PATTERN", prefix + "-{unit}")
    # Retries as a deployment would tune them: botocore's standard mode, one retry.
    extra = {
        "region_name": "us-east-1",
        "endpoint_url": endpoint.url,
        "config_kwargs": {"retries": {"mode": "standard", "max_attempts": 2}},
    }
    connection = {"conn_type": "aws", "login": "testing", "password": "testing-secret"}
    monkeypatch.setenv("AIRFLOW_CONN_TOPCOP_S3", json.dumps({**connection, "extra": extra}))
    client = s3_client(endpoint.url)
    for unit in config.codelists().reporting_units:
        client.create_bucket(Bucket=f"{prefix}-{unit}".lower())
    yield endpoint
    endpoint.stop()


# Where the outage strikes the second file: while fetching it (nothing of it written
# yet), while writing its receipt (loaded, no receipt), while moving it (loaded and
# acknowledged, still in the inbox). What the rerun then makes of that file, and the
# receipts its focal point ends up with: the rerun of a loaded file acknowledges a
# duplicate, naming the submission that holds its figures.
OUTAGES = {
    "GetObject": ("accepted", ["accepted"]),
    "PutObject": ("duplicate", ["duplicate"]),
    "CopyObject": ("duplicate", ["accepted", "duplicate"]),
}


@pytest.mark.parametrize("operation", OUTAGES)
def test_s3_endpoint_stopping_mid_run_loses_and_duplicates_nothing(
    endpoint: Endpoint, operation: str, tmp_path: Path
) -> None:
    from botocore.exceptions import EndpointConnectionError

    from topcop.landing.s3 import S3Landing

    engine = warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    migrate(engine)
    landing = S3Landing()
    files = {}
    for unit in ("AM", "GE", "MD"):
        path = fill_template(
            sample_content(unit, PERIOD, seed=2, seizure_rows=10),
            tmp_path / f"{unit}_{PERIOD}_return.xlsx",
        )
        landing.hook.load_file(
            str(path), key=f"inbox/{path.name}", bucket_name=landing.bucket(unit)
        )
        files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    victim = f"GE_{PERIOD}_return.xlsx"

    def outage(params, **_) -> None:
        if victim in params.get("Key", "") or victim in str(params.get("CopySource", "")):
            endpoint.stop()

    landing.hook.get_conn().meta.events.register(f"before-parameter-build.s3.{operation}", outage)
    first_run = []
    with pytest.raises(EndpointConnectionError):
        for ref in pending_returns(landing):
            first_run.append(process_return(ref, landing=landing, engine=engine, today=TODAY))
    assert not endpoint.up and [r.file_name for r in first_run] == [f"AM_{PERIOD}_return.xlsx"]

    endpoint.restart()  # the endpoint is back: the task's retry, or the next run
    after = S3Landing()
    rerun_status, victim_receipts = OUTAGES[operation]
    assert rerun(after, engine) == [rerun_status, "accepted"]  # GE, then MD

    assert accepted_per_content(engine) == {sha: 1 for sha in files.values()}
    assert pending_returns(after) == []
    for name in files:
        unit = name[:2]
        assert [n.split("_", 2)[2] for n in after.list_area(unit, "archive")] == [name]
        receipts = [
            json.loads(after.read(unit, "receipts", n))["status"]
            for n in after.list_area(unit, "receipts")
            if n.endswith(".json")
        ]
        assert sorted(receipts) == (victim_receipts if name == victim else ["accepted"])
    engine.dispose()
