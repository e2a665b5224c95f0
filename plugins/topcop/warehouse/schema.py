"""The schema's SQL files: which apply to a database, which it has not run, running them.

The DDL is kept as plain SQL so analysts read the schema where it is defined.
``sql/migrations/NNNN_name.sql`` runs on every database; ``NNNN_name.<dialect>.sql``
(e.g. ``.postgresql.sql``) only on that one. Each file runs once, in its own
transaction, and is recorded in ``schema_migrations``. ``lock`` serialises this
work with other migrating processes; the data dictionary's comments and the
dimensions' seeding take it too.

The bottom of the warehouse's setup: ``topcop.warehouse.migrate`` calls this, then
``dictionary`` and ``dimensions``, which use this module and never the other way.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from topcop import config

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+?)(?:\.(?P<dialect>[a-z]+))?\.sql$")
MIGRATIONS_TABLE = "schema_migrations"
# pg_advisory_xact_lock key: one migrating process per database at a time.
MIGRATION_LOCK = 7419
# Settings a PostgreSQL migration may read with current_setting(): role passwords
# come from the runner's environment, never from a file (0009_roles.postgresql.sql).
ROLE_PASSWORD_SETTINGS = {
    "topcop.loader_password": "TOPCOP_LOADER_PASSWORD",
    "topcop.analyst_password": "TOPCOP_ANALYST_PASSWORD",
}


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    dialect: str | None
    path: Path

    @property
    def key(self) -> str:
        """How ``schema_migrations`` records it: the file name without ``.sql``."""
        return f"{self.version}_{self.name}" + (f".{self.dialect}" if self.dialect else "")


def migrations(dialect: str, directory: Path | None = None) -> list[Migration]:
    """The migrations that apply to ``dialect``, in order."""
    directory = directory or config.sql_dir() / "migrations"
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise ValueError(f"{path.name}: migration files are named NNNN_name[.dialect].sql")
        if m["dialect"] in (None, dialect):
            found.append(Migration(m["version"], m["name"], m["dialect"], path))
    return found


def apply_migrations(engine: Engine) -> list[str]:
    """Run the migration files not yet recorded; returns their keys, in order."""
    dialect = engine.dialect.name
    pending = pending_migrations(engine)
    if not pending:
        return []
    with engine.begin() as conn:
        lock(conn)
        conn.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
                " version VARCHAR(64) PRIMARY KEY,"
                " applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)"
            )
        )
    applied_now = []
    for migration in pending:
        with engine.begin() as conn:
            # Two loaders starting at once must not both apply the same file.
            lock(conn)
            if is_recorded(conn, migration.key):
                continue
            if dialect == "postgresql":
                _pass_settings(conn)
            run_script(conn, migration.path.read_text(encoding="utf-8"))
            record(conn, migration.key)
        applied_now.append(migration.key)
    return applied_now


def pending_migrations(engine: Engine) -> list[Migration]:
    """Migration files this database has not run yet; a read, no lock, no DDL."""
    every = migrations(engine.dialect.name)
    with engine.connect() as conn:
        if not inspect(conn).has_table(MIGRATIONS_TABLE):
            return every
        done = set(conn.execute(text(f"SELECT version FROM {MIGRATIONS_TABLE}")).scalars())
    return [m for m in every if m.key not in done]


def is_recorded(conn: Connection, key: str) -> bool:
    found = conn.execute(text(f"SELECT 1 FROM {MIGRATIONS_TABLE} WHERE version = :v"), {"v": key})
    return found.first() is not None


def record(conn: Connection, key: str) -> None:
    conn.execute(text(f"INSERT INTO {MIGRATIONS_TABLE} (version) VALUES (:v)"), {"v": key})


def lock(conn: Connection) -> None:
    """Serialise schema work and dimension writes with other migrating processes.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the database's write lock,
    taken up front (pysqlite would otherwise read first and lock only at the first write).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _pass_settings(conn: Connection) -> None:
    """Role passwords from the environment, visible to this transaction only."""
    for setting, variable in ROLE_PASSWORD_SETTINGS.items():
        value = os.environ.get(variable)
        if value:
            conn.execute(
                text("SELECT set_config(:name, :value, true)"), {"name": setting, "value": value}
            )


def run_script(conn: Connection, script: str) -> None:
    """Run a whole SQL file inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        # Straight to psycopg without parameters: it runs a multi-statement string (with
        # dollar-quoted bodies) as is, and a % in it is not taken for a placeholder.
        with conn.connection.dbapi_connection.cursor() as cursor:
            cursor.execute(script)
        return
    for statement in _split_statements(script):
        conn.exec_driver_sql(statement)


def _split_statements(script: str) -> list[str]:
    """Split on semicolons that end a line; our portable files keep to that form."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";"))
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return [s for s in statements if s]
