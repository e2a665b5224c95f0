"""Passwords from connections never appear in logs, receipts, reports or the warehouse.

The S3 connection (``AIRFLOW_CONN_TOPCOP_S3``) and the warehouse URL each carry a
password made up for the test, distinctive enough that finding it anywhere is a
leak. The ingest DAG runs through ``dag.test()`` once as it should and once with
the warehouse unreachable (the failing run logs its exception on every try and
raises the stewards' alert), then every place a password could end up is read:
what the run printed, the task logs under ``AIRFLOW_HOME/logs``, Airflow's
metadata database, every object in the landing buckets (receipts inside their
workbooks too), everything under ``TOPCOP_VAR`` (Data Docs, validation results,
the assessment report) and every row of the warehouse.

Airflow masks a connection's password in task logs once a task has fetched the
connection; the last tests check that the warehouse password is masked whichever
way the warehouse is configured, so our own log lines are covered as well.
"""

from __future__ import annotations

import io
import json
import socket
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, make_url, text

from topcop import config
from topcop.landing import landing as configured_landing
from topcop.returns.samples import fill_template, sample_content
from topcop.warehouse.engine import warehouse_engine, warehouse_url

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("airflow_db")]

PERIOD = "2026-Q1"
NEEDS_ENGINE_CHANGE = (
    "needs engine change: a password in TOPCOP_WAREHOUSE_URL is not registered with "
    "Airflow's secrets masker"
)


def secret(kind: str) -> str:
    return f"{kind}-Pw-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.PROJECT_DIR / "dags"))
    assert bag.import_errors == {}
    for dag in bag.dags.values():  # keep the retries, not their waits
        for task in dag.tasks:
            task.retry_delay = timedelta(0)
    return bag.dags


@pytest.fixture
def s3_password(s3_landing_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The S3 landing, its connection's password replaced by a distinctive one."""
    password = secret("s3")
    monkeypatch.setenv("TOPCOP_VAR", str(tmp_path / "var"))
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": password,  # moto accepts any key pair
        "extra": {"region_name": "us-east-1", "endpoint_url": s3_landing_env["endpoint"]},
    }
    monkeypatch.setenv("AIRFLOW_CONN_TOPCOP_S3", json.dumps(connection))
    return password


def password_url(url: str, password: str) -> str:
    """``url`` with ``password`` in it (the test server trusts local connections and ignores it)."""
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def drop_returns() -> None:
    """An accepted return and a rejected one, so receipts carry findings too."""
    landing = configured_landing()
    for unit, seed, broken in (("MD", 1, False), ("GE", 2, True)):
        sample = sample_content(unit, PERIOD, seed=seed, seizure_rows=10)
        if broken:
            sample.indicators[0]["value"] = -4
        path = fill_template(sample, config.var_dir() / f"{unit}_{PERIOD}_return.xlsx")
        landing.hook.load_file(
            str(path), key=f"inbox/{path.name}", bucket_name=landing.bucket(unit)
        )
        path.unlink()


def readable(data: bytes) -> bytes:
    """A file's bytes, and the parts inside it when it is a workbook (a zip)."""
    if data[:2] != b"PK":
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return data + b"".join(archive.read(name) for name in archive.namelist())


def everything_written(airflow_home: Path) -> Iterator[tuple[str, bytes]]:
    """Every file the pipeline and Airflow wrote: (where, content)."""
    landing = configured_landing()
    for unit in landing.reporting_units():
        for area in ("inbox", "archive", "quarantine", "receipts"):
            for name in landing.list_area(unit, area):
                yield f"s3:{unit}/{area}/{name}", readable(landing.read(unit, area, name))
    for root in (config.var_dir(), airflow_home / "logs", airflow_home):
        for path in root.rglob("*") if root != airflow_home else root.glob("*.db"):
            if path.is_file():
                yield str(path), readable(path.read_bytes())


def warehouse_rows(url: str) -> Iterator[tuple[str, str]]:
    engine = warehouse_engine(url)
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f"SELECT * FROM {table}")):
                    yield table, repr(tuple(row))
    finally:
        engine.dispose()


def leaks(passwords: list[str], places: Iterator[tuple[str, bytes | str]]) -> list[str]:
    found = []
    for where, content in places:
        text_ = content if isinstance(content, str) else content.decode("utf-8", "replace")
        found += [f"{where}: {p[:6]}…" for p in passwords if p in text_]
    return found


def test_a_run_leaves_no_password_in_logs_receipts_reports_or_the_warehouse(
    dags, s3_password: str, postgresql_url: str, airflow_db: Path, monkeypatch, capfd, caplog
) -> None:
    warehouse_password = secret("warehouse")
    url = password_url(postgresql_url, warehouse_password)
    monkeypatch.setenv("TOPCOP_WAREHOUSE_URL", url)
    drop_returns()

    ingest = dags["topcop_ingest"].test()
    report = dags["topcop_report"].test()

    assert (ingest.state, report.state) == ("success", "success")
    printed = capfd.readouterr()
    output = printed.out + printed.err + caplog.text
    assert "accepted" in output and "rejected" in output  # the runs' own log lines were read
    passwords = [s3_password, warehouse_password]
    written = list(everything_written(airflow_db))
    assert any("receipts" in where for where, _ in written)
    assert any("eap_assessment" in where for where, _ in written)
    assert leaks(passwords, iter([("output", output)])) == []
    assert leaks(passwords, iter(written)) == []
    assert leaks(passwords, warehouse_rows(url)) == []


def test_a_failing_run_leaves_no_password_in_its_logs_or_alerts(
    dags, s3_password: str, airflow_db: Path, monkeypatch, capfd, caplog
) -> None:
    warehouse_password = secret("warehouse")
    with socket.socket() as s:  # a port nothing listens on: every try fails to connect
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(
        "TOPCOP_WAREHOUSE_URL",
        f"postgresql+psycopg://topcop:{warehouse_password}@127.0.0.1:{port}/warehouse",
    )
    drop_returns()

    dags["topcop_ingest"].test()

    printed = capfd.readouterr()
    output = printed.out + printed.err + caplog.text
    assert "Connection refused" in output and "TOPCOP ALERT" in output  # the failure was logged
    passwords = [s3_password, warehouse_password]
    assert leaks(passwords, iter([("output", output)])) == []
    assert leaks(passwords, everything_written(airflow_db)) == []


def _masked(value: str) -> bool:
    from airflow.sdk.log import redact

    return redact(f"connecting with {value}") == "connecting with ***"


def test_the_warehouse_connections_password_is_masked_once_resolved(monkeypatch) -> None:
    password = secret("conn")
    connection = {"conn_type": "postgres", "host": "db", "login": "topcop", "password": password}
    monkeypatch.delenv("TOPCOP_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_TOPCOP_WAREHOUSE", json.dumps(connection))

    assert password in warehouse_url()
    assert _masked(password)


def test_a_password_in_the_warehouse_url_is_masked_once_resolved(monkeypatch) -> None:
    import airflow.sdk  # noqa: F401 - as inside a task: Airflow is loaded

    password = secret("url")
    monkeypatch.setenv("TOPCOP_WAREHOUSE_URL", f"postgresql://topcop:{password}@db/warehouse")

    assert password in warehouse_url()
    assert _masked(password)
