"""A throwaway PostgreSQL server for tests, so the warehouse is proven on the database production runs.

One server per test session: ``initdb`` into a temporary directory, ``pg_ctl start``
on a free port bound to 127.0.0.1 only (plus a Unix socket inside that directory),
``trust`` authentication, stopped with ``pg_ctl stop -m immediate`` at the end.
Each test gets a fresh database of its own.

PostgreSQL refuses to run as root. When the tests run as root (CI containers),
the cluster is created and run as the unprivileged ``postgres`` account when the
machine has one (the server packages create it), else as ``nobody``; nothing is
added to the system's accounts.

Fixtures: ``postgresql_server`` (session), ``postgresql_url`` (a SQLAlchemy URL to a
fresh database) and ``warehouse`` (a migrated engine, parametrised over SQLite and
PostgreSQL).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from topcop.stack.postgres import HOST, SUPERUSER, binary, init_cluster, run_as, server_account
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate


@dataclass(frozen=True)
class PostgresServer:
    base: Path  # holds data/, sockets/ and server.log
    port: int

    def dsn(self, database: str) -> str:
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _start(base: Path, account) -> int:
    """Start the server on a free port; another process may grab the port first, so try thrice."""
    data, log = base / "data", base / "server.log"
    last_error: RuntimeError | None = None
    for _ in range(3):
        port = _free_port()
        try:
            run_as(
                [binary("pg_ctl"), *("-D", data, "-l", log, "-o", f"-p {port}", "-w", "start")],
                account,
                base,
            )
            return port
        except RuntimeError as error:
            log_text = log.read_text(errors="replace") if log.exists() else ""
            last_error = RuntimeError(f"{error}\nserver log:\n{log_text[-3000:]}")
    assert last_error is not None
    raise last_error


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresServer]:
    account = server_account()
    base = Path(tempfile.mkdtemp(prefix="topcop-pg-"))
    try:
        # Throwaway data: durability off for speed; trust over TCP, reachable from this machine only.
        init_cluster(base, account, durable=False, auth_host="trust")
        port = _start(base, account)
        try:
            yield PostgresServer(base=base, port=port)
        finally:
            run_as(
                [binary("pg_ctl"), "-D", base / "data", "-m", "immediate", "-w", "stop"],
                account,
                base,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgresql_url(postgresql_server: PostgresServer) -> Iterator[str]:
    """A SQLAlchemy URL (``postgresql+psycopg://``) to a database created for this test alone."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgresql_server.dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgresql_server.url(name)
    with psycopg.connect(postgresql_server.dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated warehouse engine, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("postgresql_url")
    engine = warehouse_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()
