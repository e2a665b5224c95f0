"""One way to open the warehouse, whatever database is behind it, and one way to find it.

Where the warehouse is, first found wins:

1. ``TOPCOP_WAREHOUSE_URL``, any SQLAlchemy URL;
2. the Airflow connection ``topcop_warehouse`` (``AIRFLOW_CONN_TOPCOP_WAREHOUSE``, a
   secrets backend or Airflow's metadata DB), looked up only when that variable is set
   or the code runs inside an Airflow process, never while a DAG file is parsed;
3. an embedded SQLite file, ``var/warehouse.db``.

SQLite needs two settings to behave like a real warehouse: foreign keys enforced
and a busy timeout so two ingest runs wait for each other instead of failing.
PostgreSQL URLs always go through psycopg 3, the driver the project installs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from topcop import config

URL_ENV = "TOPCOP_WAREHOUSE_URL"
AIRFLOW_CONN_ID = "topcop_warehouse"
_POSTGRES_DRIVER = "postgresql+psycopg"
_POSTGRES_NAMES = {"postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"}


def warehouse_url() -> str:
    """The warehouse's SQLAlchemy URL: the environment, then Airflow, then embedded SQLite."""
    url = os.environ.get(URL_ENV)
    if url:
        _mask_password(url)
        return url
    airflow_url = _airflow_connection_url()
    if airflow_url:
        return airflow_url
    return f"sqlite:///{config.var_dir() / 'warehouse.db'}"


def _mask_password(url: str) -> None:
    """Inside Airflow, hide the URL's password from task logs, as Airflow does for connections.

    An ``AIRFLOW_CONN_*`` password is masked when a task fetches the connection; a
    password in ``TOPCOP_WAREHOUSE_URL`` is not known to Airflow until it is told.
    """
    if "airflow.sdk" not in sys.modules:
        return
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return  # opening the engine reports the malformed URL, without the URL in the message
    if password:
        from airflow.sdk.log import mask_secret

        mask_secret(password)
        mask_secret(quote_plus(password))  # as it is written inside the URL


def warehouse_engine(url: str | None = None) -> Engine:
    """An engine on ``url`` (default: ``warehouse_url()``), SQLite tuned for safety."""
    url = url or warehouse_url()
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_NAMES:
        parsed = parsed.set(drivername=_POSTGRES_DRIVER)
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _airflow_connection_url() -> str | None:
    """The ``topcop_warehouse`` connection as a SQLAlchemy URL, or None when Airflow has none.

    Importing Airflow costs seconds, so the lookup happens only where it can succeed
    cheaply: the connection is in the environment, or Airflow is already loaded (a task).
    """
    in_environment = f"AIRFLOW_CONN_{AIRFLOW_CONN_ID.upper()}" in os.environ
    if not in_environment and "airflow.sdk" not in sys.modules:
        return None
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        return None
    try:
        conn = BaseHook.get_connection(AIRFLOW_CONN_ID)
    except AirflowNotFoundException:
        return None
    return connection_url(
        conn.conn_type,
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        schema=conn.schema,
        extra=conn.extra_dejson,
    )


def connection_url(
    conn_type: str | None,
    *,
    host: str | None = None,
    port: int | None = None,
    login: str | None = None,
    password: str | None = None,
    schema: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """An Airflow connection's fields as a SQLAlchemy URL.

    ``postgres`` connections (Airflow's name) use psycopg 3 and keep their extras
    (``sslmode`` …) as libpq parameters; a ``sqlite`` connection names the file in host.
    """
    kind = (conn_type or "").lower()
    if kind == "sqlite":
        if not host:
            raise ValueError(
                f"Airflow connection {AIRFLOW_CONN_ID}: a sqlite connection needs host"
            )
        return f"sqlite:///{host}"
    if not kind:
        raise ValueError(f"Airflow connection {AIRFLOW_CONN_ID} has no connection type")
    drivername = _POSTGRES_DRIVER if kind in _POSTGRES_NAMES else kind
    query = {str(k): str(v) for k, v in (extra or {}).items() if isinstance(v, str | int | float)}
    url = URL.create(
        drivername,
        username=login or None,
        password=password or None,
        host=host or None,
        port=port or None,
        database=schema or None,
        query=query,
    )
    return url.render_as_string(hide_password=False)
