"""The warehouse's schema as code: migrations, dimensions from the codelists, the data
dictionary and its PostgreSQL comments, and where the warehouse is found.

Tests taking the ``warehouse`` fixture run on SQLite and on a real PostgreSQL server
with the same assertions; comments exist only on PostgreSQL.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from topcop import config
from topcop.warehouse import dictionary
from topcop.warehouse.dimensions import seed_dimensions
from topcop.warehouse.engine import warehouse_engine, warehouse_url
from topcop.warehouse.migrate import main as migrate_main
from topcop.warehouse.migrate import migrate
from topcop.warehouse.schema import migrations, pending_migrations


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def _day(value: Any) -> str:
    """A DATE as ISO text: SQLite hands back text, PostgreSQL a date."""
    return str(value)[:10]


@pytest.fixture
def steward_codelists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the codelists that a test edits as a steward would; the cache follows."""
    folder = tmp_path / "codelists"
    shutil.copytree(config.codelists_dir(), folder)
    monkeypatch.setenv("TOPCOP_CODELISTS", str(folder))
    config.codelists.cache_clear()
    yield folder
    config.codelists.cache_clear()


def _append(path: Path, row: dict[str, str]) -> None:
    with open(path, encoding="utf-8", newline="") as f:
        columns = next(csv.reader(f))
    with open(path, "a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow([row.get(c, "") for c in columns])


def _drop(path: Path, code: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(ln for ln in lines if not ln.startswith(f"{code},")), encoding="utf-8")


# --- migrations --------------------------------------------------------------------------


def test_dialect_files_run_only_on_their_database(warehouse: Engine) -> None:
    recorded = {r.version for r in _rows(warehouse, "SELECT version FROM schema_migrations")}
    other = "sqlite" if warehouse.dialect.name == "postgresql" else "postgresql"
    assert {m.key for m in migrations(warehouse.dialect.name)} <= recorded
    assert not any(key.endswith(f".{other}") for key in recorded)
    assert pending_migrations(warehouse) == []


def test_migrate_command_applies_everything_once(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert migrate_main([url]) == 0
    first = capsys.readouterr().out
    assert migrate_main([url]) == 0
    assert "0001_core" in first and "0007_reporting_rates" in first
    assert capsys.readouterr().out.startswith("0 migration(s) applied")


# --- dimensions ----------------------------------------------------------------------------


def test_dimensions_hold_the_codelists(warehouse: Engine) -> None:
    lists = config.codelists()
    units = {
        r.reporting_unit: (_day(r.active_from), r.active_until and _day(r.active_until))
        for r in _rows(warehouse, "SELECT * FROM reporting_unit")
    }
    assert units == {
        "AM": ("2010-01-01", None),
        "AZ": ("2010-01-01", None),
        "BY": ("2010-01-01", "2021-06-28"),
        "GE": ("2010-01-01", None),
        "MD": ("2010-01-01", None),
        "UA": ("2010-01-01", None),
    }
    areas = {r.crime_area: r.iccs_section for r in _rows(warehouse, "SELECT * FROM crime_area")}
    assert areas == lists.iccs_sections and areas["DRUGS_CCH"] == "06"
    arrested = _rows(warehouse, "SELECT * FROM indicator WHERE indicator = 'PERSONS_ARRESTED'")[0]
    assert (arrested.unit, bool(arrested.whole_number), arrested.breakdowns) == (
        "COUNT",
        True,
        "NATIONAL|FOREIGN",
    )
    assert arrested.justice_chain_step == 1 and arrested.crime_areas is None
    victims = _rows(
        warehouse, "SELECT crime_areas FROM indicator WHERE indicator = 'VICTIMS_IDENTIFIED'"
    )
    assert victims[0].crime_areas == "THB|CSE"
    commodities = {r.commodity: r.units for r in _rows(warehouse, "SELECT * FROM commodity")}
    assert len(commodities) == len(lists.commodities) and commodities["PRECURSORS"] == "KG|L"
    datasets = {
        r.dataset: (r.frequency, r.deadline_days, r.close_after_days)
        for r in _rows(warehouse, "SELECT * FROM dataset")
    }
    assert datasets == {"indicators": ("Q", 30, 365), "seizures": ("Q", 30, 365)}


def test_calendar_gives_every_period_its_dates(warehouse: Engine) -> None:
    q1 = _rows(
        warehouse,
        "SELECT p.start_date, p.end_date, c.deadline, c.closes_on, p.year, p.number"
        " FROM reporting_calendar c JOIN reporting_period p ON p.period = c.period"
        " WHERE c.dataset = 'indicators' AND c.period = '2026-Q1'",
    )[0]
    # Quarter end + 30 days, + 365 days: written out by hand.
    assert [_day(v) for v in q1[:4]] == ["2026-01-01", "2026-03-31", "2026-04-30", "2027-04-30"]
    assert (q1.year, q1.number) == (2026, 1)
    periods = [r.period for r in _rows(warehouse, "SELECT period FROM reporting_period")]
    # From the first year a unit was active to next year, quarterly (the calendar's frequency).
    next_year = date.today().year + 1
    assert min(periods) == "2010-Q1" and f"{next_year}-Q4" in periods
    assert len(periods) == 4 * (next_year - 2010 + 1)
    per_dataset = _rows(
        warehouse, "SELECT dataset, COUNT(*) AS n FROM reporting_calendar GROUP BY dataset"
    )
    assert {r.dataset: r.n for r in per_dataset} == {
        "indicators": len(periods),
        "seizures": len(periods),
    }


def test_seeding_again_writes_nothing(warehouse: Engine) -> None:
    assert seed_dimensions(warehouse) == {}


def test_a_steward_edits_the_codelists_and_the_next_migrate_follows(
    warehouse: Engine, steward_codelists: Path
) -> None:
    _append(
        steward_codelists / "crime_areas.csv",
        {"code": "ARTTHEFT", "name": "Trafficking in cultural goods", "iccs_section": "07"},
    )
    _drop(steward_codelists / "commodities.csv", "CASH")
    _append(
        steward_codelists / "reporting_units.csv",
        {"code": "EE", "name": "Estonia", "active_from": "2025-04-01"},
    )
    config.codelists.cache_clear()

    assert migrate(warehouse) == []  # no schema change: only the dimensions move

    area = _rows(
        warehouse, "SELECT name, iccs_section FROM crime_area WHERE crime_area = 'ARTTHEFT'"
    )
    assert [tuple(r) for r in area] == [("Trafficking in cultural goods", "07")]
    assert _rows(warehouse, "SELECT 1 FROM commodity WHERE commodity = 'CASH'") == []
    estonia = _rows(warehouse, "SELECT active_from FROM reporting_unit WHERE reporting_unit = 'EE'")
    assert _day(estonia[0].active_from) == "2025-04-01"
    assert seed_dimensions(warehouse) == {}


# --- data dictionary --------------------------------------------------------------------------


def test_committed_data_dictionary_is_current() -> None:
    committed = dictionary.docs_path().read_text(encoding="utf-8")
    assert committed == dictionary.render_dictionary(), (
        "docs/data_dictionary.md is stale: run python -m topcop.warehouse.dictionary"
    )


def test_dictionary_refuses_an_undescribed_column_and_a_stale_one() -> None:
    described = dictionary.load_dictionary()
    del described["tables"]["submission"]["columns"]["sha256"]
    described["views"]["v_reporting_rate"]["columns"]["no_such_column"] = "Gone."
    del described["tables"]["alert"]

    with pytest.raises(ValueError) as refused:
        dictionary.render_dictionary(described)

    message = str(refused.value)
    assert "submission.sha256 has no description" in message
    assert "v_reporting_rate.no_such_column is described but does not exist" in message
    assert "table alert is not in the dictionary" in message


def test_view_columns_take_their_table_descriptions() -> None:
    described = dictionary.load_dictionary()
    current = {e.name: e for e in dictionary.entries(described)}["v_indicator_current"]
    columns = {c.name: c.description for c in current.columns}
    assert columns["obs_status"].startswith("SDMX observation status")  # from indicator_fact
    assert columns["revision"].startswith("The revision the figures come from")  # its own


_UNCOMMENTED = """
SELECT c.relname || COALESCE('.' || a.attname, '') AS name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')
  AND (obj_description(c.oid, 'pg_class') IS NULL OR col_description(c.oid, a.attnum) IS NULL)
UNION
SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND obj_description(p.oid, 'pg_proc') IS NULL
"""


def test_every_table_view_column_and_function_has_a_comment_on_postgresql(
    postgresql_url: str,
) -> None:
    engine = warehouse_engine(postgresql_url)
    try:
        migrate(engine)
        assert _rows(engine, _UNCOMMENTED) == []
        on_submission = _rows(engine, "SELECT obj_description('submission'::regclass, 'pg_class')")
        on_function = _rows(
            engine,
            "SELECT obj_description('indicator_as_of(timestamptz)'::regprocedure, 'pg_proc')",
        )
        described = dictionary.load_dictionary()
        assert on_submission[0][0] == " ".join(
            described["tables"]["submission"]["description"].split()
        )
        assert on_function[0][0].startswith("What the warehouse knew at a past moment")
        for signature in described["functions"]:  # PostgreSQL only: the page cannot check them
            assert _rows(engine, "SELECT to_regprocedure(:f)", f=signature)[0][0] is not None
        # the dictionary is written once per version of the file
        assert not dictionary.apply_comments(engine)
    finally:
        engine.dispose()


def test_same_tables_views_and_columns_on_both_databases(postgresql_url: str) -> None:
    engine = warehouse_engine(postgresql_url)
    try:
        migrate(engine)
        catalog: dict[str, list[str]] = {}
        for row in _rows(
            engine,
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
        ):
            catalog.setdefault(row.table_name, []).append(row.column_name)
    finally:
        engine.dispose()
    sqlite = {
        name: [c for c, _type in columns]
        for name, (_kind, columns) in dictionary.schema_structure().items()
    }
    assert catalog == sqlite


# --- where the warehouse is -------------------------------------------------------------------


def test_warehouse_url_from_the_environment_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPCOP_WAREHOUSE_URL", "postgresql+psycopg://a@b/c")
    monkeypatch.setenv("AIRFLOW_CONN_TOPCOP_WAREHOUSE", "postgres://x@y/z")
    assert warehouse_url() == "postgresql+psycopg://a@b/c"


@pytest.mark.parametrize(
    "airflow_conn",
    [
        "postgres://loader:s%40cret@db.example:5433/warehouse?sslmode=require",
        '{"conn_type": "postgres", "host": "db.example", "port": 5433, "login": "loader",'
        ' "password": "s@cret", "schema": "warehouse", "extra": {"sslmode": "require"}}',
    ],
    ids=["uri", "json"],
)
def test_warehouse_url_from_the_airflow_connection(
    monkeypatch: pytest.MonkeyPatch, airflow_conn: str
) -> None:
    monkeypatch.delenv("TOPCOP_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_TOPCOP_WAREHOUSE", airflow_conn)
    url = warehouse_url()
    assert url == "postgresql+psycopg://loader:s%40cret@db.example:5433/warehouse?sslmode=require"
    engine = warehouse_engine(url)  # no connection is made until it is used
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    assert engine.url.password == "s@cret"


def test_warehouse_url_defaults_to_sqlite_in_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOPCOP_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_TOPCOP_WAREHOUSE", raising=False)
    assert warehouse_url() == f"sqlite:///{config.var_dir() / 'warehouse.db'}"


def test_plain_postgresql_urls_use_psycopg() -> None:
    assert warehouse_engine("postgresql://u@h/db").dialect.driver == "psycopg"
