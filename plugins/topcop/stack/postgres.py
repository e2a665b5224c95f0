"""A PostgreSQL cluster in a folder of ours, run with the machine's server binaries.

Used by the local production stack (``var/stack/postgres``, kept across stops) and
by the tests' throwaway server. PostgreSQL refuses to run as root: when we are
root, the cluster is created and run as the unprivileged ``postgres`` account (the
server packages create it), else as ``nobody``; nothing is added to the system's
accounts. The superuser connects over the Unix socket inside the folder without a
password; every other role logs in over TCP with a password (scram-sha-256).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

SUPERUSER = "postgres"
HOST = "127.0.0.1"


def binary(name: str) -> str:
    """``initdb``/``pg_ctl``/``postgres`` from PATH, else from the newest Debian-style install."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(f"{name} not found: the PostgreSQL server binaries must be installed")
    return found


def server_account() -> pwd.struct_passwd | None:
    """The account to run the server as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' account exists")


def as_account(account: pwd.struct_passwd | None) -> dict:
    """``subprocess`` options that run a command as ``account`` (none when we are not root)."""
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def run_as(cmd: list[str | Path], account: pwd.struct_passwd | None, home: Path) -> None:
    env = {**os.environ, "HOME": str(home), "LC_ALL": "C"}
    result = subprocess.run(
        cmd, capture_output=True, text=True, env=env, check=False, **as_account(account)
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{result.stdout}\n{result.stderr}")


def init_cluster(
    base: Path,
    account: pwd.struct_passwd | None,
    *,
    durable: bool,
    auth_host: str = "scram-sha-256",
) -> None:
    """``initdb`` into ``base/data`` with the socket in ``base/sockets``, loopback only.

    ``durable=False`` turns fsync off, for throwaway test data only.
    """
    data, sockets = base / "data", base / "sockets"
    base.mkdir(parents=True, exist_ok=True)
    sockets.mkdir(exist_ok=True)
    if account is not None:
        for path in (base, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    options = ("-D", data, "-U", SUPERUSER, "-E", "UTF8", "--locale=C")
    auth = ("--auth-local=trust", f"--auth-host={auth_host}")
    run_as([binary("initdb"), *options, *auth, *(() if durable else ("-N",))], account, base)
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        # The server's Unix socket goes into the folder, not /var/run/postgresql, which
        # the account may not be able to write to; other clients connect over TCP.
        conf.write(f"\nlisten_addresses = '{HOST}'\nunix_socket_directories = '{sockets}'\n")
        if not durable:
            conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")


@dataclass(frozen=True)
class Cluster:
    """A running (or runnable) cluster: where it lives and the port it listens on."""

    base: Path
    port: int

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def sockets(self) -> Path:
        return self.base / "sockets"

    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def server_argv(self) -> list[str]:
        """The server in the foreground, for a supervisor: SIGINT is its fast shutdown."""
        return [
            binary("postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.sockets),
        ]

    def admin_dsn(self, database: str = "postgres") -> str:
        return f"host={self.sockets} port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, role: str, password: str, database: str) -> str:
        """A SQLAlchemy URL for ``role`` over TCP."""
        from urllib.parse import quote

        return (
            f"postgresql+psycopg://{role}:{quote(password, safe='')}@{HOST}:{self.port}/{database}"
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_dsn(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def ensure_role(self, role: str, password: str) -> None:
        """A login role with this password, created when missing."""
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )

    def ensure_database(self, name: str, owner: str) -> None:
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(owner)
                )
            )
            # Only the owner and the roles a migration grants may connect.
            conn.execute(
                sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name))
            )
