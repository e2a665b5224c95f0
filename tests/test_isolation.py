"""Each reporting unit's figures come from its own bucket only: a file in the wrong bucket loads as nobody.

The reporting unit of a file is the bucket (or inbox folder) it arrived in; what
the file declares must agree. A return declaring unit X found in unit Y's inbox,
as a workbook or as a CSV file named for X, is rejected with the
``country_matches_bucket`` finding and quarantined in Y's area: nothing is loaded
under X, whose focal point did not send it, nor under Y, whose figures it is not.
The same return in X's own inbox loads as X, except for Belarus, whose
participation is suspended: its returns are rejected wherever they arrive.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from topcop import config
from topcop.ingest import IngestResult, pending_returns, process_return
from topcop.landing.local import LocalLanding
from topcop.returns.samples import fill_template, sample_content, write_csv
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

TODAY = date(2026, 5, 15)
PERIOD = "2026-Q1"
UNITS = sorted(config.codelists().reporting_units)
SUSPENDED = "BY"


def neighbour(unit: str) -> str:
    """Another unit whose bucket a file could be dropped into by mistake."""
    return UNITS[(UNITS.index(unit) + 1) % len(UNITS)]


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLanding:
    monkeypatch.setenv("TOPCOP_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("TOPCOP_LANDING_ROOT", raising=False)
    landing = LocalLanding(config.landing_root())
    landing.ensure_areas()
    return landing


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def drop_return(landing: LocalLanding, declared: str, inbox: str, fmt: str) -> str:
    """Unit ``declared``'s return (a workbook, or its indicators CSV) in ``inbox``'s inbox."""
    sample = sample_content(declared, PERIOD, seed=4, seizure_rows=10)
    target = landing.area(inbox, "inbox")
    if fmt == "xlsx":
        return fill_template(sample, target / f"{declared}_{PERIOD}_return.xlsx").name
    with tempfile.TemporaryDirectory() as tmp:
        indicators, _ = write_csv(sample, Path(tmp))
        (target / indicators.name).write_bytes(indicators.read_bytes())
    return indicators.name


def ingest(landing: LocalLanding, engine: Engine) -> list[IngestResult]:
    return [
        process_return(ref, landing=landing, engine=engine, today=TODAY)
        for ref in pending_returns(landing)
    ]


def loaded(engine: Engine) -> dict[str, int]:
    """Fact rows per reporting unit, over both fact tables."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.reporting_unit, COUNT(*) FROM submission s JOIN ("
                " SELECT submission_id FROM indicator_fact"
                " UNION ALL SELECT submission_id FROM seizure_fact) f"
                " ON f.submission_id = s.submission_id GROUP BY s.reporting_unit"
            )
        )
        return dict(rows.all())


def submissions(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT reporting_unit, status FROM submission"))
        return sorted(tuple(r) for r in rows)


def rules_of(landing: LocalLanding, result: IngestResult) -> set[str]:
    unit, area, name = result.receipt.split("/", 2)
    receipt = json.loads(landing.read(unit, area, name))
    return {f["rule"] for f in receipt["findings"]}


@pytest.mark.parametrize("unit", UNITS)
def test_a_return_in_another_units_bucket_is_loaded_as_neither(
    landing: LocalLanding, engine: Engine, unit: str
) -> None:
    other = neighbour(unit)
    names = {drop_return(landing, unit, other, fmt) for fmt in ("xlsx", "csv")}

    results = ingest(landing, engine)

    assert {r.file_name for r in results} == names
    for result in results:
        assert (result.reporting_unit, result.status) == (other, "rejected")
        assert "country_matches_bucket" in rules_of(landing, result)
        assert result.location.startswith(f"{other}/quarantine/")
    assert submissions(engine) == [(other, "rejected"), (other, "rejected")]
    assert loaded(engine) == {}
    # The unit the file names never hears of it: no receipt in its area, nothing moved there.
    assert all(landing.list_area(unit, area) == [] for area in ("archive", "receipts"))


@pytest.mark.parametrize("unit", UNITS)
def test_a_return_in_its_own_units_bucket_is_loaded_as_that_unit(
    landing: LocalLanding, engine: Engine, unit: str
) -> None:
    drop_return(landing, unit, unit, "xlsx")

    (result,) = ingest(landing, engine)

    assert result.reporting_unit == unit
    if unit == SUSPENDED:  # suspended: rejected in its own bucket as anywhere else
        assert result.status == "rejected"
        assert "reporting_unit_active" in rules_of(landing, result)
        assert loaded(engine) == {}
        return
    assert result.loaded, result
    assert set(loaded(engine)) == {unit}
    assert submissions(engine) == [(unit, result.status)]


@pytest.mark.parametrize("declared", [None, "RU"], ids=["blank", "not-a-unit"])
def test_a_return_declaring_no_reporting_unit_is_loaded_as_nobody(
    landing: LocalLanding, engine: Engine, declared: str | None
) -> None:
    sample = sample_content("GE", PERIOD, seed=4, seizure_rows=10)
    sample.metadata["country"] = declared
    fill_template(sample, landing.area("GE", "inbox") / f"GE_{PERIOD}_return.xlsx")

    (result,) = ingest(landing, engine)

    assert result.status == "rejected"
    assert loaded(engine) == {}
