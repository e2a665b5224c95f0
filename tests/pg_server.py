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

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

SUPERUSER = "postgres"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class PostgresServer:
    base: Path  # holds data/, sockets/ and server.log
    port: int

    def dsn(self, database: str) -> str:
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"


def _binary(name: str) -> str:
    """``initdb``/``pg_ctl`` from PATH, else from the newest Debian-style install."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(f"{name} not found: the PostgreSQL server binaries must be installed")
    return found


def _server_account() -> pwd.struct_passwd | None:
    """The account to run the server as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' account exists")


def _run(cmd: list[str | Path], account: pwd.struct_passwd | None, home: Path) -> None:
    options = {}
    if account is not None:
        options = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    env = {**os.environ, "HOME": str(home), "LC_ALL": "C"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, **options)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{result.stdout}\n{result.stderr}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _start(base: Path, account: pwd.struct_passwd | None) -> int:
    """Start the server on a free port; another process may grab the port first, so try thrice."""
    data, log = base / "data", base / "server.log"
    last_error: RuntimeError | None = None
    for _ in range(3):
        port = _free_port()
        try:
            _run(
                [_binary("pg_ctl"), *("-D", data, "-l", log, "-o", f"-p {port}", "-w", "start")],
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
    account = _server_account()
    base = Path(tempfile.mkdtemp(prefix="topcop-pg-"))
    data = base / "data"
    # The server's Unix socket goes here, not into /var/run/postgresql, which the
    # account may not be able to write to; clients connect over TCP.
    sockets = base / "sockets"
    try:
        sockets.mkdir()
        if account is not None:
            for path in (base, sockets):
                os.chown(path, account.pw_uid, account.pw_gid)
        initdb = ("-D", data, "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C", "-N")
        _run([_binary("initdb"), *initdb], account, base)
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            # Throwaway data: durability off for speed; reachable from this machine only.
            conf.write(
                f"\nlisten_addresses = '{HOST}'\n"
                f"unix_socket_directories = '{sockets}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        port = _start(base, account)
        try:
            yield PostgresServer(base=base, port=port)
        finally:
            _run([_binary("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], account, base)
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
