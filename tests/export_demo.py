"""The export tests' demo warehouse, what it holds in plain SQL, and readers of SDMX files.

The warehouse is filled the way focal points fill it: returns made from the
project's own templates (``samples``), taken through ``process_return``, once per
test session (``demo``; registered in ``conftest.pytest_plugins``). The exported
files are read by sdmx1 (SDMX-ML 2.1 structures and structure-specific data) and
pandas (SDMX-CSV 2.0), never by pysdmx, which wrote them; the expected
observations come from the warehouse's current views (``v_indicator_current``,
``v_seizure_current``) queried here in plain SQL, with the public edition's
suppression worked out here from the codelists' ``publishable`` columns.
"""

from __future__ import annotations

import math
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, text

from topcop import config
from topcop.landing.local import LocalLanding
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

if TYPE_CHECKING:
    from topcop.exports.build import SdmxExport

# A plugin of every test session (conftest.pytest_plugins): pandas, sdmx1, pysdmx and the
# ingest are imported where they are used, so sessions without export tests do not pay.

PERIODS = ["2026-Q1", "2026-Q2"]
TODAY = date(2026, 8, 20)  # both periods ended, neither closed for ordinary submissions
DROPPED = datetime(2026, 7, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 8, 21, 6, 0, 0)


def _confidential_breakdown(sample) -> None:
    """One breakdown confidential: its total and the other breakdown would give it away."""
    row = next(
        r
        for r in sample.indicators
        if r["indicator"] == "PERSONS_ARRESTED" and r["breakdown"] == "FOREIGN"
        and r["conf_status"] == "F"
    )  # fmt: skip
    row["conf_status"] = "C"


def _correct(sample) -> None:
    row = next(
        r for r in sample.indicators if r["indicator"] == "INVESTIGATIONS_OPENED" and r["value"]
    )
    row["value"] += 7


def _confidential_and_corrected(sample) -> None:
    _confidential_breakdown(sample)
    _correct(sample)


# (unit, period, handling code, fault, seed): GE and AM may be published, MD may not.
RETURNS = [
    ("GE", "2026-Q1", "PUBLIC", _confidential_breakdown, 1),
    ("GE", "2026-Q2", "PUBLIC", None, 2),
    ("GE", "2026-Q2", "PUBLIC", _correct, 2),  # revision 2: the current one
    ("MD", "2026-Q2", "PROGRAMME", None, 3),
    ("AM", "2026-Q2", "PUBLIC", _confidential_breakdown, 4),
]


@dataclass(frozen=True)
class Demo:
    engine: Engine
    root: Path
    landing: LocalLanding


def deliver(demo_landing: LocalLanding, engine: Engine, unit, period, handling, fault, seed):
    from topcop.ingest import process_return
    from topcop.returns.samples import fill_template, sample_content

    sample = sample_content(unit, period, seed=seed, seizure_rows=12)
    sample.metadata["handling_code"] = handling
    if fault:
        fault(sample)
    name = f"{unit}_{period}_{fault.__name__ if fault else 'return'}.xlsx"
    path = fill_template(sample, demo_landing.area(unit, "inbox") / name)
    os.utime(path, (DROPPED.timestamp(), DROPPED.timestamp()))
    (item,) = [i for i in demo_landing.list_inbox(unit) if i.name == name]
    result = process_return(item, landing=demo_landing, engine=engine, today=TODAY)
    assert result.status in {"accepted", "accepted_with_warnings"}, result


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """Built once for the export tests; tests that change it work on a copy."""
    root = tmp_path_factory.mktemp("export-demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOPCOP_VAR", str(root / "var"))
        mp.delenv("TOPCOP_LANDING_ROOT", raising=False)
        landing = LocalLanding(config.landing_root())
        landing.ensure_areas()
        engine = warehouse_engine(f"sqlite:///{root / 'warehouse.db'}")
        migrate(engine)
        for spec in RETURNS:
            deliver(landing, engine, *spec)
    yield Demo(engine, root, landing)
    engine.dispose()


# --- what the warehouse says, in plain SQL -------------------------------------------


def current_indicators(engine: Engine, period: str, edition: str) -> dict[tuple, tuple]:
    """(unit, area, indicator, breakdown) -> (value, unit, obs, conf) as this edition shows."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT reporting_unit, handling_code, crime_area, indicator, breakdown, value,"
                " unit, obs_status, conf_status FROM v_indicator_current WHERE period = :p"
            ),
            {"p": period},
        ).all()
    lists = config.codelists()
    withheld_groups = {
        (r.reporting_unit, r.crime_area, r.indicator)
        for r in rows
        if r.conf_status not in lists.conf_status_publishable
        or r.handling_code not in lists.handling_publishable
    }
    return {
        (r.reporting_unit, r.crime_area, r.indicator, r.breakdown or "_T"): (
            r.value, r.unit, r.obs_status, r.conf_status
        )
        for r in rows
        if edition == "programme"
        or (r.reporting_unit, r.crime_area, r.indicator) not in withheld_groups
    }  # fmt: skip


def current_seizures(engine: Engine, period: str, edition: str) -> dict[tuple, tuple]:
    """(unit, commodity, unit of measure, statistic) -> (value, obs, conf)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT reporting_unit, handling_code, commodity, unit, SUM(quantity) AS q,"
                " COUNT(*) AS n FROM v_seizure_current WHERE period = :p"
                " GROUP BY reporting_unit, handling_code, commodity, unit"
            ),
            {"p": period},
        ).all()
    publishable = config.codelists().handling_publishable
    found = {}
    for r in rows:
        conf = "F" if r.handling_code in publishable else "N"
        if edition == "public" and conf != "F":
            continue
        found[(r.reporting_unit, r.commodity, r.unit, "QUANTITY")] = (float(r.q), "A", conf)
        found[(r.reporting_unit, r.commodity, r.unit, "SEIZURES")] = (float(r.n), "A", conf)
    return found


# --- what the files say, read by sdmx1 and pandas ------------------------------------


def structures_21(export: SdmxExport):
    import sdmx

    folder = Path(export.location).parents[2] / "structures"
    return sdmx.read_sdmx(folder / f"TOPCOP_structures_{export.structure_version}_sdmx21.xml")


def file_of(export: SdmxExport, flow: str, suffix: str) -> Path:
    (path,) = [Path(f) for f in export.files if Path(f).name.startswith(f"TOPCOP_{flow}_")
               and f.endswith(suffix)]  # fmt: skip
    return path


def read_xml(export: SdmxExport, flow: str, dims: list[str], attrs: list[str]) -> dict:
    import sdmx

    dsd = structures_21(export).structure[f"DSD_{flow}"]
    message = sdmx.read_sdmx(file_of(export, flow, ".xml"), structure=dsd)
    (dataset,) = message.data
    found = {}
    for obs in dataset.obs:
        key = {k: str(getattr(v.value, "id", v.value)) for k, v in obs.key.values.items()}
        assert key["TIME_PERIOD"] == export.period
        value = float(obs.value) if obs.value not in (None, "") else None
        if value is not None and math.isnan(value):
            value = None
        flags = tuple(str(obs.attached_attribute[a].value) for a in attrs)
        found[tuple(key[d] for d in dims)] = (value, *flags)
    return found


def read_csv(export: SdmxExport, flow: str, dims: list[str], attrs: list[str]) -> dict:
    import pandas as pd

    frame = pd.read_csv(file_of(export, flow, ".csv"), dtype=str, keep_default_na=False)
    assert set(frame["STRUCTURE"]) == {"dataflow"}
    assert set(frame["STRUCTURE_ID"]) == {f"TOPCOP:{flow}({export.structure_version})"}
    assert set(frame["TIME_PERIOD"]) <= {export.period}
    return {
        tuple(row[d] for d in dims): (
            float(row["OBS_VALUE"]) if row["OBS_VALUE"] else None,
            *(row[a] for a in attrs),
        )
        for _, row in frame.iterrows()
    }


IND_DIMS = ["REPORTING_UNIT", "CRIME_AREA", "INDICATOR", "BREAKDOWN"]
IND_ATTRS = ["UNIT_MEASURE", "OBS_STATUS", "CONF_STATUS"]
SEIZ_DIMS = ["REPORTING_UNIT", "COMMODITY", "UNIT_MEASURE", "STATISTIC"]
SEIZ_ATTRS = ["OBS_STATUS", "CONF_STATUS"]


def warehouse_copy(demo: Demo, tmp_path: Path) -> tuple[Engine, str]:
    """The demo warehouse as it stands, in a file of this test's own."""
    # SQLite's backup API: the warehouse runs in WAL mode, so the file alone may lag.
    with (
        closing(sqlite3.connect(demo.root / "warehouse.db")) as source,
        closing(sqlite3.connect(tmp_path / "warehouse.db")) as target,
    ):
        source.backup(target)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    return warehouse_engine(url), url
