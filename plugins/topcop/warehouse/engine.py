"""One way to open the warehouse, whatever database is behind it.

SQLite is the embedded default; any SQLAlchemy URL works (PostgreSQL in
production). SQLite needs two settings to behave like a real warehouse:
foreign keys enforced and a busy timeout so two ingest runs wait for each
other instead of failing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from topcop import config


def warehouse_engine(url: str | None = None) -> Engine:
    """An engine on ``url`` (default: ``config.warehouse_url()``), SQLite tuned for safety."""
    url = url or config.warehouse_url()
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()
