"""Reporting rates in the warehouse: expected returns, on time / late / missing, in days.

Returns are the project's sample CSV files, read by the reader and recorded by the
loader; every test runs on SQLite and on a real PostgreSQL server (``warehouse``
fixture) with the same assertions. Expected values are written out by hand from
the dates below. The views judge "missing" by the database's clock, so the fixed
period is long past and the "due" case is the period running today.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from topcop import config
from topcop.findings import ERROR, Finding
from topcop.periods import period_containing
from topcop.reports.completeness import Timeliness, completeness
from topcop.returns.reader import read_return
from topcop.returns.samples import sample_content, write_csv
from topcop.warehouse.load import ReceivedFile, record_submission
from topcop.warehouse.migrate import migrate

PERIOD = "2025-Q1"  # deadline 2025-04-30 (quarter end + 30 days)
RUNNING = period_containing(datetime.now(UTC).date()).code  # deadline ahead: due


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def send(
    engine: Engine,
    folder: Path,
    unit: str,
    period: str,
    received_at: datetime,
    *,
    datasets: tuple[str, ...] = ("indicators", "seizures"),
    seed: int = 1,
    findings: list[Finding] | None = None,
) -> None:
    """A focal point's CSV files for ``unit`` and ``period``, as the loader records them."""
    sample = sample_content(unit, period, seed=seed, seizure_rows=5)
    target = folder / f"{unit}_{period}_{seed}_{received_at:%Y%m%d%H%M}"
    for path in write_csv(sample, target):
        dataset = path.stem.rsplit("_", 1)[-1]
        if dataset not in datasets:
            continue
        content = path.read_bytes()
        received = ReceivedFile(
            file_name=path.name,
            stored_name=f"{unit}/{path.name}",
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            received_at=received_at,
        )
        record_submission(
            engine,
            read_return(path),
            reporting_unit=unit,
            received=received,
            findings=findings or [],
        )


@pytest.fixture
def returns(warehouse: Engine, tmp_path: Path) -> Engine:
    """2025-Q1: AM early, UA on the evening of the deadline, GE late (then corrected), AZ only
    seizures, MD rejected, BY suspended since 2021. RUNNING: AM already sent."""
    send(warehouse, tmp_path, "AM", PERIOD, _utc(2025, 4, 20, 9, 0))
    send(warehouse, tmp_path, "UA", PERIOD, _utc(2025, 4, 30, 23, 30))
    send(warehouse, tmp_path, "GE", PERIOD, _utc(2025, 5, 3, 8, 0))
    send(warehouse, tmp_path, "GE", PERIOD, _utc(2025, 6, 1, 8, 0), seed=2)  # a correction
    send(warehouse, tmp_path, "AZ", PERIOD, _utc(2025, 4, 25, 12, 0), datasets=("seizures",))
    bad = Finding("indicators", 3, "value", -1, "non_negative", ERROR, "negative")
    send(warehouse, tmp_path, "MD", PERIOD, _utc(2025, 4, 21, 10, 0), findings=[bad])
    send(warehouse, tmp_path, "AM", RUNNING, datetime.now(UTC))
    return warehouse


def _expected_returns(engine: Engine, dataset: str, period: str) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT reporting_unit, status, days_late, expected, deadline"
                " FROM v_expected_return WHERE dataset = :d AND period = :p"
            ),
            {"d": dataset, "p": period},
        )
        return {r.reporting_unit: (r.status, r.days_late, bool(r.expected)) for r in rows}


def test_expected_returns_with_status_and_days(returns: Engine) -> None:
    assert _expected_returns(returns, "indicators", PERIOD) == {
        "AM": ("on_time", -10, True),
        "AZ": ("missing", None, True),  # only its seizures arrived
        "BY": ("not_expected", None, False),  # suspended on 2021-06-28
        "GE": ("late", 3, True),  # the first accepted revision decides, not the correction
        "MD": ("missing", None, True),  # its file was rejected
        "UA": ("on_time", 0, True),  # 23:30 UTC on the deadline day
    }
    assert _expected_returns(returns, "seizures", PERIOD)["AZ"] == ("on_time", -5, True)
    running = _expected_returns(returns, "indicators", RUNNING)
    assert running["AM"][0] in ("on_time", "late")  # sent today, whatever today is
    assert {u: s for u, (s, _d, _e) in running.items() if u != "AM"} == {
        "AZ": "due",
        "BY": "not_expected",
        "GE": "due",
        "MD": "due",
        "UA": "due",
    }


def test_reporting_rate_per_dataset_and_period(returns: Engine) -> None:
    with returns.connect() as conn:
        rates = {
            r.dataset: r
            for r in conn.execute(
                text("SELECT * FROM v_reporting_rate WHERE period = :p"), {"p": PERIOD}
            )
        }
        running = conn.execute(
            text("SELECT COUNT(*) FROM v_reporting_rate WHERE period = :p"), {"p": RUNNING}
        ).scalar()
    indicators, seizures = rates["indicators"], rates["seizures"]
    assert (
        indicators.expected_returns,
        indicators.actual_returns,
        indicators.on_time_returns,
        indicators.late_returns,
        indicators.missing_returns,
        indicators.due_returns,
    ) == (5, 3, 2, 1, 2, 0)
    assert (float(indicators.reporting_rate), float(indicators.on_time_rate)) == (60.0, 40.0)
    assert (seizures.actual_returns, seizures.on_time_returns, seizures.missing_returns) == (
        4,
        3,
        1,
    )
    assert float(seizures.reporting_rate) == 80.0
    assert running == 0  # a period still running is not rated yet


def test_completeness_reads_the_view(returns: Engine) -> None:
    today = datetime.now(UTC).date()
    for dataset in ("indicators", "seizures"):
        view = _expected_returns(returns, dataset, PERIOD)
        cells = completeness(returns, [PERIOD], dataset=dataset, today=today)
        assert [c.reporting_unit for c in cells] == ["AM", "AZ", "BY", "GE", "MD", "UA"]
        assert {c.reporting_unit: (c.status.value, c.days_late, c.expected) for c in cells} == view
    ge = completeness(returns, [PERIOD], today=today)[3]
    assert (ge.reporting_unit, ge.label, ge.deadline) == ("GE", "late (3 days)", date(2025, 4, 30))
    assert ge.received_at == datetime(2025, 5, 3, 8, 0)


def test_completeness_on_an_earlier_day_calls_absent_returns_due(returns: Engine) -> None:
    cells = completeness(returns, [PERIOD], today=date(2025, 4, 25))
    got = {c.reporting_unit: c.status for c in cells}
    assert got == {
        "AM": Timeliness.ON_TIME,
        "AZ": Timeliness.DUE,
        "BY": Timeliness.NOT_EXPECTED,
        "GE": Timeliness.LATE,  # already in the warehouse: arrival dates do not move
        "MD": Timeliness.DUE,
        "UA": Timeliness.ON_TIME,
    }


def test_completeness_adds_calendar_rows_for_periods_beyond_the_seeded_range(
    warehouse: Engine,
) -> None:
    cells = completeness(warehouse, ["2031-Q2"], today=date(2031, 8, 1))
    assert {c.status for c in cells if c.expected} == {Timeliness.MISSING}
    assert cells[0].deadline == date(2031, 7, 30)
    with pytest.raises(ValueError, match="frequency Q"):
        completeness(warehouse, ["2031-M04"], today=date(2031, 8, 1))


@pytest.fixture
def estonia_joins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A steward adds a reporting unit, active from 2025-04-01, to a copy of the codelists."""
    folder = tmp_path / "codelists"
    shutil.copytree(config.codelists_dir(), folder)
    with open(folder / "reporting_units.csv", "a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow(["EE", "Estonia", "2025-04-01", "", ""])
    monkeypatch.setenv("TOPCOP_CODELISTS", str(folder))
    config.codelists.cache_clear()
    yield
    config.codelists.cache_clear()


def test_a_unit_added_by_data_is_expected_from_its_first_period(
    returns: Engine, estonia_joins: Any
) -> None:
    migrate(returns)  # what the next load does first
    q1 = _expected_returns(returns, "indicators", PERIOD)
    q2 = _expected_returns(returns, "indicators", "2025-Q2")
    assert q1["EE"] == ("not_expected", None, False)
    assert q2["EE"] == ("missing", None, True)
    cells = completeness(returns, [PERIOD], today=date(2025, 6, 1))
    assert cells[-1].reporting_unit == "EE"  # codelist order: appended last
