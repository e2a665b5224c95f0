"""PostgreSQL roles the migrations create: topcop_loader writes returns, topcop_analyst only reads.

Roles exist on PostgreSQL only, so these tests use the real server alone. The test
server trusts local connections, so a role logs in without its password here; the
password test reads what the server stored.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from topcop import config
from topcop.returns.reader import read_return
from topcop.returns.samples import sample_content, write_csv
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.load import ReceivedFile, record_submission
from topcop.warehouse.migrate import migrate

LOADER, ANALYST = "topcop_loader", "topcop_analyst"


@pytest.fixture
def owner(postgresql_url: str) -> Iterator[Engine]:
    """The warehouse as its owner (the account that runs the migrations) sees it."""
    engine = warehouse_engine(postgresql_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _as(owner: Engine, role: str) -> Engine:
    return warehouse_engine(owner.url.set(username=role).render_as_string(hide_password=False))


@pytest.fixture
def analyst(owner: Engine) -> Iterator[Engine]:
    engine = _as(owner, ANALYST)
    yield engine
    engine.dispose()


@pytest.fixture
def loader(owner: Engine) -> Iterator[Engine]:
    engine = _as(owner, LOADER)
    yield engine
    engine.dispose()


def _load_csvs(engine: Engine, folder: Path, unit: str = "GE") -> int:
    """Record a sample return's two CSV files through ``engine``; indicator rows loaded."""
    sample = sample_content(unit, "2026-Q1", seed=1, seizure_rows=3)
    for path in write_csv(sample, folder):
        content = path.read_bytes()
        received = ReceivedFile(
            file_name=path.name,
            stored_name=path.name,
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            received_at=datetime(2026, 4, 20, 9, 0, tzinfo=UTC),
        )
        record_submission(
            engine, read_return(path), reporting_unit=unit, received=received, findings=[]
        )
    return len(sample.indicators)


def _refused(engine: Engine, sql: str) -> None:
    with pytest.raises(ProgrammingError) as refused, engine.begin() as conn:
        conn.execute(text(sql))
    assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege), sql


def _scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_analyst_reads_views_facts_and_dimensions(
    owner: Engine, analyst: Engine, tmp_path: Path
) -> None:
    indicator_rows = _load_csvs(owner, tmp_path)
    assert _scalar(analyst, "SELECT COUNT(*) FROM v_indicator_current") == indicator_rows
    assert _scalar(analyst, "SELECT COUNT(*) FROM indicator_fact") == indicator_rows
    assert _scalar(analyst, "SELECT COUNT(*) FROM indicator_as_of(now())") == indicator_rows
    assert _scalar(analyst, "SELECT COUNT(*) FROM submission") == 2
    assert _scalar(analyst, "SELECT COUNT(*) FROM reporting_unit") == 6
    assert _scalar(analyst, "SELECT COUNT(*) FROM v_reporting_rate WHERE period = '2026-Q1'") == 2


def test_analyst_cannot_insert_update_or_delete(
    owner: Engine, analyst: Engine, tmp_path: Path
) -> None:
    _load_csvs(owner, tmp_path)
    before = _scalar(owner, "SELECT COUNT(*) FROM indicator_fact")

    _refused(
        analyst,
        "INSERT INTO submission (submission_id, reporting_unit, dataset, file_name, stored_name,"
        " received_at, processed_at, status) VALUES ('x', 'GE', 'return', 'f', 's', now(), now(),"
        " 'rejected')",
    )
    _refused(analyst, "UPDATE indicator_fact SET value = 0")
    _refused(analyst, "DELETE FROM indicator_fact")
    _refused(analyst, "DELETE FROM submission")
    _refused(analyst, "UPDATE reporting_unit SET active_until = NULL")
    _refused(analyst, "CREATE TABLE scratch (x INTEGER)")
    # Not for analysts: the calendar's mailing records and the migration bookkeeping.
    _refused(analyst, "SELECT * FROM alert")
    _refused(analyst, "SELECT * FROM schema_migrations")

    assert _scalar(owner, "SELECT COUNT(*) FROM indicator_fact") == before


def test_loader_loads_returns_but_never_rewrites_history(
    owner: Engine, loader: Engine, tmp_path: Path
) -> None:
    assert migrate(loader) == []  # what ingest does before every load: nothing pending, no DDL
    indicator_rows = _load_csvs(loader, tmp_path)
    assert _scalar(owner, "SELECT COUNT(*) FROM v_indicator_current") == indicator_rows

    _refused(loader, "UPDATE indicator_fact SET value = 0")
    _refused(loader, "DELETE FROM seizure_fact")
    _refused(loader, "UPDATE submission SET status = 'rejected'")
    _refused(loader, "DELETE FROM finding")
    _refused(loader, "INSERT INTO schema_migrations (version) VALUES ('9999_mine')")
    _refused(loader, "DROP VIEW v_reporting_rate")


def test_loader_keeps_the_dimensions_in_step(
    owner: Engine, loader: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lists = tmp_path / "codelists"
    shutil.copytree(config.codelists_dir(), lists)
    with open(lists / "crime_areas.csv", "a", encoding="utf-8") as f:
        f.write("ARTTHEFT,Trafficking in cultural goods,07\n")
    monkeypatch.setenv("TOPCOP_CODELISTS", str(lists))
    config.codelists.cache_clear()
    try:
        migrate(loader)
    finally:
        monkeypatch.undo()
        config.codelists.cache_clear()
    assert _scalar(owner, "SELECT COUNT(*) FROM crime_area WHERE crime_area = 'ARTTHEFT'") == 1


def test_roles_serve_every_database_and_take_passwords_from_the_environment(
    owner: Engine, postgresql_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The roles already exist (the owner fixture migrated one database): another database
    # of the same server migrates cleanly, and the password comes from the environment.
    secret = f"analyst-{uuid.uuid4().hex}"
    monkeypatch.setenv("TOPCOP_ANALYST_PASSWORD", secret)
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgresql_server.dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    second = warehouse_engine(postgresql_server.url(name))
    try:
        assert "0009_roles.postgresql" in migrate(second)
        stored = _scalar(second, f"SELECT rolpassword FROM pg_authid WHERE rolname = '{ANALYST}'")
        assert stored is not None and stored.startswith("SCRAM-SHA-256$")
        assert secret not in (stored or "")
        with second.connect() as conn:
            privileges = conn.execute(
                text(
                    "SELECT has_table_privilege(:r, 'v_indicator_current', 'SELECT'),"
                    " has_table_privilege(:r, 'indicator_fact', 'INSERT')"
                ),
                {"r": ANALYST},
            ).one()
        assert tuple(privileges) == (True, False)
    finally:
        second.dispose()
        with psycopg.connect(postgresql_server.dsn("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
