"""Apply the warehouse schema: the ordered SQL files in ``sql/migrations``.

The DDL is kept as plain SQL so analysts read the schema where it is defined.
``NNNN_name.sql`` runs on every database; ``NNNN_name.<dialect>.sql`` (e.g.
``.postgresql.sql``) only on that one. Each file runs once, in its own
transaction, and is recorded in ``schema_migrations``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from topcop import config

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+?)(?:\.(?P<dialect>[a-z]+))?\.sql$")


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    dialect: str | None
    path: Path


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


def migrate(engine: Engine) -> list[str]:
    """Bring the warehouse schema up to date; returns the versions applied now."""
    dialect = engine.dialect.name
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version VARCHAR(64) PRIMARY KEY,"
                " applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)"
            )
        )
    applied_now = []
    for migration in migrations(dialect):
        key = f"{migration.version}_{migration.name}" + (
            f".{migration.dialect}" if migration.dialect else ""
        )
        with engine.begin() as conn:
            if dialect == "postgresql":
                # Two loaders starting at once must not both apply the same file.
                conn.execute(text("SELECT pg_advisory_xact_lock(7419)"))
            done = conn.execute(
                text("SELECT 1 FROM schema_migrations WHERE version = :v"), {"v": key}
            ).first()
            if done:
                continue
            _run_script(conn, migration.path.read_text(encoding="utf-8"), dialect)
            conn.execute(text("INSERT INTO schema_migrations (version) VALUES (:v)"), {"v": key})
        applied_now.append(key)
    return applied_now


def _run_script(conn, script: str, dialect: str) -> None:
    """Run a whole SQL file inside the caller's transaction."""
    if dialect == "postgresql":
        # psycopg runs a multi-statement string (with dollar-quoted bodies) as is.
        conn.exec_driver_sql(script)
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
