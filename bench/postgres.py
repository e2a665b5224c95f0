"""A throwaway PostgreSQL server for the load benchmarks, started like the tests start theirs.

``initdb`` into a directory under ``var/bench``, ``pg_ctl start`` on a free
127.0.0.1 port, ``trust`` authentication, durability off (the data is thrown
away), stopped with ``pg_ctl stop -m immediate``. PostgreSQL refuses to run as
root, so as root the cluster belongs to the ``postgres`` account (else
``nobody``). tests/pg_server.py does the same inside pytest fixtures; this is
the plain context manager the benchmark needs.

Each measured stage gets a database of its own, copied from a migrated
template so migrations are not part of any figure.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from topcop.stack.postgres import binary, run_as, server_account

SUPERUSER = "postgres"
HOST = "127.0.0.1"
TEMPLATE = "bench_template"


@dataclass(frozen=True)
class Server:
    port: int

    def dsn(self, database: str) -> str:
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn("postgres"), autocommit=True)

    def create_template(self) -> None:
        """A database with the warehouse schema, copied for every measured stage."""
        from topcop.warehouse.engine import warehouse_engine
        from topcop.warehouse.migrate import migrate

        with self._admin() as admin:
            admin.execute(f"CREATE DATABASE {TEMPLATE}")
        engine = warehouse_engine(self.url(TEMPLATE))
        migrate(engine)
        engine.dispose()

    @contextmanager
    def database(self) -> Iterator[str]:
        """A fresh migrated database for one stage; its URL, dropped afterwards."""
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with self._admin() as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        try:
            yield self.url(name)
        finally:
            with self._admin() as admin:
                admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@contextmanager
def server(base: Path) -> Iterator[Server]:
    """Start a cluster in ``base`` (emptied first); stop it however the block ends."""
    base = base.resolve()
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    account = server_account()
    data, sockets, log = base / "data", base / "sockets", base / "server.log"
    sockets.mkdir()
    if account is not None:
        for path in (base, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    initdb = ("-D", data, "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "-N", "--locale=C")
    run_as([binary("initdb"), *initdb], account, base)
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(
            f"\nlisten_addresses = '{HOST}'\nunix_socket_directories = '{sockets}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        )
    port = _free_port()
    run_as(
        [binary("pg_ctl"), "-D", data, "-l", log, "-o", f"-p {port}", "-w", "start"], account, base
    )
    try:
        yield Server(port)
    finally:
        run_as([binary("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], account, base)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]
