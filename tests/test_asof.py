"""What the warehouse knew at a past moment: revisions stay, the as-of query picks by processed_at.

The same assertions on SQLite and on a real PostgreSQL server (``warehouse``
fixture); PostgreSQL's table functions are checked against the portable query.
Returns come from the project's sample generator, read by the reader, recorded by
the loader with a chosen processing time.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from topcop.returns.reader import read_return
from topcop.returns.samples import sample_content, write_csv
from topcop.warehouse.asof import as_of_moment, indicators_as_of, seizures_as_of
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.load import ReceivedFile, record_submission
from topcop.warehouse.migrate import migrate

PERIOD = "2026-Q1"
FIRST = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)  # GE revision 1 processed
CORRECTED = datetime(2026, 5, 10, 14, 0, tzinfo=UTC)  # GE revision 2 processed
AM_LOADED = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)  # AM revision 1 processed


def _load(engine: Engine, folder: Path, unit: str, seed: int, processed_at: datetime) -> dict:
    """Record the unit's indicators and seizures CSVs; returns the sample that went in."""
    sample = sample_content(unit, PERIOD, seed=seed, seizure_rows=4)
    for path in write_csv(sample, folder / f"{unit}_{seed}"):
        content = path.read_bytes()
        received = ReceivedFile(
            file_name=path.name,
            stored_name=path.name,
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            received_at=processed_at - timedelta(minutes=10),
        )
        record_submission(
            engine,
            read_return(path),
            reporting_unit=unit,
            received=received,
            findings=[],
            processed_at=processed_at,
        )
    return {"indicators": sample.indicators, "seizures": sample.seizures}


def _figures(rows: list[dict[str, Any]], unit: str) -> list[tuple]:
    return sorted(
        (r["crime_area"], r["indicator"], r["breakdown"] or "", r["value"])
        for r in rows
        if r["reporting_unit"] == unit
    )


def _sent(sample: dict, unit: str) -> list[tuple]:
    return _figures([{**r, "reporting_unit": unit} for r in sample["indicators"]], unit)


@pytest.fixture
def history(warehouse: Engine, tmp_path: Path) -> dict[str, dict]:
    samples = {
        "GE1": _load(warehouse, tmp_path, "GE", 1, FIRST),
        "AM1": _load(warehouse, tmp_path, "AM", 1, AM_LOADED),
        "GE2": _load(warehouse, tmp_path, "GE", 2, CORRECTED),
    }
    assert _sent(samples["GE1"], "GE") != _sent(samples["GE2"], "GE")  # a real correction
    return samples


def test_before_the_first_load_nothing_was_known(warehouse: Engine, history: dict) -> None:
    assert indicators_as_of(warehouse, FIRST - timedelta(seconds=1)) == []
    assert seizures_as_of(warehouse, FIRST - timedelta(seconds=1)) == []


def test_between_revisions_the_first_is_what_we_knew(warehouse: Engine, history: dict) -> None:
    known = indicators_as_of(warehouse, CORRECTED - timedelta(seconds=1))
    # GE's revisions 1 and 2 are its indicators and seizures CSVs; 3 and 4 the corrected ones.
    assert {(r["reporting_unit"], r["revision"]) for r in known} == {("GE", 1), ("AM", 1)}
    assert _figures(known, "GE") == _sent(history["GE1"], "GE")
    assert _figures(known, "AM") == _sent(history["AM1"], "AM")
    seizures = seizures_as_of(warehouse, CORRECTED - timedelta(seconds=1))
    assert {(r["reporting_unit"], r["revision"]) for r in seizures} == {("GE", 2), ("AM", 2)}
    refs = sorted(r["seizure_ref"] for r in seizures if r["reporting_unit"] == "GE")
    assert refs == sorted(s["seizure_ref"] for s in history["GE1"]["seizures"])


def test_the_moment_a_revision_is_processed_it_is_known(warehouse: Engine, history: dict) -> None:
    known = indicators_as_of(warehouse, CORRECTED)
    assert _figures(known, "GE") == _sent(history["GE2"], "GE")
    assert {r["revision"] for r in known if r["reporting_unit"] == "GE"} == {3}


def test_as_of_now_equals_the_current_view(warehouse: Engine, history: dict) -> None:
    now = indicators_as_of(warehouse, datetime.now(UTC))
    with warehouse.connect() as conn:
        current = [
            dict(r) for r in conn.execute(text("SELECT * FROM v_indicator_current")).mappings()
        ]
    key = lambda r: (r["reporting_unit"], r["row_number"])  # noqa: E731
    assert sorted(now, key=key) == sorted(current, key=key)
    assert list(now[0]) == list(current[0])  # the same columns, in the same order


def test_revision_1_stays_in_history(warehouse: Engine, history: dict) -> None:
    with warehouse.connect() as conn:
        revisions = conn.execute(
            text(
                "SELECT revision, COUNT(*) FROM v_indicator_history"
                " WHERE reporting_unit = 'GE' GROUP BY revision ORDER BY revision"
            )
        ).all()
    assert [tuple(r) for r in revisions] == [
        (1, len(history["GE1"]["indicators"])),
        (3, len(history["GE2"]["indicators"])),
    ]


def test_a_date_means_the_whole_day_and_zones_are_converted(
    warehouse: Engine, history: dict
) -> None:
    on_the_day = indicators_as_of(warehouse, date(2026, 5, 10))  # corrected at 14:00 UTC that day
    assert _figures(on_the_day, "GE") == _sent(history["GE2"], "GE")
    kyiv = timezone(timedelta(hours=3))
    just_before = CORRECTED.astimezone(kyiv) - timedelta(microseconds=1)
    assert _figures(indicators_as_of(warehouse, just_before), "GE") == _sent(history["GE1"], "GE")
    assert as_of_moment(datetime(2026, 5, 10, 17, 0, tzinfo=kyiv)) == datetime(2026, 5, 10, 14, 0)


def test_postgresql_table_functions_answer_as_the_query_does(
    postgresql_url: str, tmp_path: Path
) -> None:
    engine = warehouse_engine(postgresql_url)
    try:
        migrate(engine)
        _load(engine, tmp_path, "GE", 1, FIRST)
        _load(engine, tmp_path, "GE", 2, CORRECTED)
        for moment in (
            FIRST - timedelta(seconds=1),
            FIRST,
            CORRECTED - timedelta(seconds=1),
            CORRECTED,
        ):
            with engine.connect() as conn:
                indicators = conn.execute(
                    text(
                        "SELECT * FROM indicator_as_of(:m) ORDER BY reporting_unit, period, row_number"
                    ),
                    {"m": moment},
                ).mappings()
                seizures = conn.execute(
                    text(
                        "SELECT * FROM seizure_as_of(:m) ORDER BY reporting_unit, period, row_number"
                    ),
                    {"m": moment},
                ).mappings()
                assert [dict(r) for r in indicators] == indicators_as_of(engine, moment)
                assert [dict(r) for r in seizures] == seizures_as_of(engine, moment)
    finally:
        engine.dispose()
