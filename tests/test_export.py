"""SDMX exports of a demo warehouse, read back with independent readers.

The warehouse is filled the way focal points fill it: returns made from the
project's own templates (``samples``), taken through ``process_return``. The
exported files are read by sdmx1 (SDMX-ML 2.1 structures and structure-specific
data) and pandas (SDMX-CSV 2.0), never by pysdmx, which wrote them; what they hold
is compared with the warehouse's current view (``v_indicator_current``,
``v_seizure_current``) queried here in plain SQL, with the public edition's
suppression worked out here from the codelists' ``publishable`` columns.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sdmx
from sqlalchemy import Engine, text

from topcop import config
from topcop.exports.build import SdmxExport, export_period
from topcop.ingest import process_return
from topcop.landing.local import LocalLanding
from topcop.returns.samples import fill_template, sample_content
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

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


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
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


@pytest.fixture(scope="module")
def exports(demo: Demo, tmp_path_factory) -> dict[tuple[str, str], SdmxExport]:
    """Every period in both editions, once for the module's tests."""
    tmp_path = tmp_path_factory.mktemp("exports")
    return {
        (period, edition): export_period(
            period, edition, engine=demo.engine, destination=tmp_path, now=NOW
        )
        for period in PERIODS
        for edition in ("programme", "public")
    }


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
    folder = Path(export.location).parents[2] / "structures"
    return sdmx.read_sdmx(folder / f"TOPCOP_structures_{export.structure_version}_sdmx21.xml")


def file_of(export: SdmxExport, flow: str, suffix: str) -> Path:
    (path,) = [Path(f) for f in export.files if Path(f).name.startswith(f"TOPCOP_{flow}_")
               and f.endswith(suffix)]  # fmt: skip
    return path


def read_xml(export: SdmxExport, flow: str, dims: list[str], attrs: list[str]) -> dict:
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


# --- tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("edition", ["programme", "public"])
@pytest.mark.parametrize("period", PERIODS)
def test_indicators_read_back_equal_the_current_view(demo, exports, period, edition):
    export = exports[(period, edition)]
    expected = current_indicators(demo.engine, period, edition)
    assert expected, "the demo must give every period and edition some figures"
    assert read_xml(export, "INDICATORS", IND_DIMS, IND_ATTRS) == expected
    assert read_csv(export, "INDICATORS", IND_DIMS, IND_ATTRS) == expected
    assert export.indicator_observations == len(expected)


@pytest.mark.parametrize("edition", ["programme", "public"])
@pytest.mark.parametrize("period", PERIODS)
def test_seizures_read_back_equal_the_current_view(demo, exports, period, edition):
    export = exports[(period, edition)]
    expected = current_seizures(demo.engine, period, edition)
    assert expected
    assert read_xml(export, "SEIZURES", SEIZ_DIMS, SEIZ_ATTRS) == expected
    assert read_csv(export, "SEIZURES", SEIZ_DIMS, SEIZ_ATTRS) == expected


def test_files_hold_the_current_revision(demo, exports):
    """GE's correction (revision 2) is what the files hold, not its first return."""
    revisions: dict[int, dict] = {}
    with demo.engine.connect() as conn:
        for r in conn.execute(
            text(
                "SELECT s.revision, f.crime_area, f.breakdown, f.value FROM indicator_fact f"
                " JOIN submission s ON s.submission_id = f.submission_id"
                " WHERE s.reporting_unit = 'GE' AND s.period = '2026-Q2'"
                " AND f.indicator = 'INVESTIGATIONS_OPENED'"
            )
        ):
            revisions.setdefault(r.revision, {})[(r.crime_area, r.breakdown or "_T")] = r.value
    (changed,) = [k for k in revisions[2] if revisions[2][k] != revisions[1].get(k)]
    assert revisions[2][changed] == revisions[1][changed] + 7
    for edition in ("programme", "public"):
        shown = read_csv(exports[("2026-Q2", edition)], "INDICATORS", IND_DIMS, IND_ATTRS)
        assert (
            shown[("GE", *changed[:1], "INVESTIGATIONS_OPENED", changed[1])][0]
            == (revisions[2][changed])
        )


def test_public_edition_holds_no_confidential_observation(demo, exports):
    lists = config.codelists()
    withheld = 0
    for period in PERIODS:
        public, programme = exports[(period, "public")], exports[(period, "programme")]
        for flow, dims, attrs in (
            ("INDICATORS", IND_DIMS, IND_ATTRS),
            ("SEIZURES", SEIZ_DIMS, SEIZ_ATTRS),
        ):
            for read in (read_xml, read_csv):
                shown = read(public, flow, dims, attrs)
                assert {v[-1] for v in shown.values()} <= lists.conf_status_publishable
                assert "MD" not in {k[0] for k in shown}  # its handling code is PROGRAMME
            everything = read_csv(programme, flow, dims, attrs)
            assert set(shown) <= set(everything)
            withheld += len(set(everything) - set(shown))
        # What would give a confidential breakdown away is withheld too: its total and
        # the other breakdown, although both are free.
        programme_rows = read_csv(programme, "INDICATORS", IND_DIMS, IND_ATTRS)
        shown = read_csv(public, "INDICATORS", IND_DIMS, IND_ATTRS)
        for key, (*_, conf) in programme_rows.items():
            if conf == "C" and key[0] != "MD":
                group = [k for k in programme_rows if k[:3] == key[:3]]
                assert len(group) == 3 and not set(group) & set(shown), group
                assert any(programme_rows[k][-1] == "F" for k in group)
    assert withheld > 0


def test_programme_edition_carries_every_status(exports):
    shown = read_csv(exports[("2026-Q1", "programme")], "INDICATORS", IND_DIMS, IND_ATTRS)
    assert {v[3] for v in shown.values()} == {"F", "N", "C"}
    assert {v[2] for v in shown.values()} >= {"A", "L"}
    assert any(v[0] is None for v in shown.values())  # not collected: no value, status says why


def test_structures_come_from_the_codelists(exports):
    export = exports[("2026-Q1", "programme")]
    message = structures_21(export)
    lists = config.codelists()
    expected = {
        "CL_REPORTING_UNIT": {c: u.name for c, u in lists.reporting_units.items()},
        "CL_CRIME_AREA": lists.crime_areas,
        "CL_INDICATOR": {c: i.name for c, i in lists.indicators.items()},
        "CL_UNIT": lists.units,
        "CL_OBS_STATUS": lists.obs_status,
        "CL_CONF_STATUS": lists.conf_status,
        "CL_COMMODITY": {c: m.name for c, m in lists.commodities.items()},
    }
    for codelist_id, names in expected.items():
        codelist = message.codelist[codelist_id]
        assert codelist.version == export.structure_version
        assert {c.id: str(c.name) for c in codelist} == names, codelist_id
    indicators = message.structure["DSD_INDICATORS"]
    assert [d.id for d in indicators.dimensions] == [
        "FREQ", "REPORTING_UNIT", "CRIME_AREA", "INDICATOR", "BREAKDOWN", "TIME_PERIOD"
    ]  # fmt: skip
    assert {a.id for a in indicators.attributes} == {"UNIT_MEASURE", "OBS_STATUS", "CONF_STATUS"}
    assert message.dataflow["INDICATORS"].structure.id == "DSD_INDICATORS"
    assert message.dataflow["SEIZURES"].structure.id == "DSD_SEIZURES"
    assert {c.id for c in message.concept_scheme["CS_TOPCOP"]} >= {
        "REPORTING_UNIT", "CRIME_AREA", "INDICATOR", "OBS_STATUS", "CONF_STATUS", "UNIT_MEASURE"
    }  # fmt: skip


def test_sdmx_ml_3_structures_hold_the_same_artefacts(exports):
    """sdmx1 does not read SDMX-ML 3.0 structures: lxml checks the namespace and the ids."""
    from lxml import etree

    export = exports[("2026-Q1", "programme")]
    folder = Path(export.location).parents[2] / "structures"
    tree = etree.parse(str(folder / f"TOPCOP_structures_{export.structure_version}_sdmx30.xml"))
    assert "sdmxml/schemas/v3_0/message" in tree.getroot().tag
    ids = {
        (etree.QName(e).localname, e.get("id"), e.get("version"))
        for e in tree.iter()
        if e.get("agencyID") == "TOPCOP"
    }
    v = export.structure_version
    assert {("Codelist", "CL_INDICATOR", v), ("DataStructure", "DSD_INDICATORS", v),
            ("Dataflow", "SEIZURES", v), ("ConceptScheme", "CS_TOPCOP", v)} <= ids  # fmt: skip
    codes = {e.get("id") for e in tree.iter() if etree.QName(e).localname == "Code"}
    assert set(config.codelists().indicators) <= codes


def test_the_same_figures_are_not_exported_twice(demo, exports, tmp_path):
    first = exports[("2026-Q1", "public")]
    root = Path(first.location).parents[2]
    again = export_period("2026-Q1", "public", engine=demo.engine, destination=root)
    assert not again.written
    assert (again.export_id, again.location) == (first.export_id, first.location)
    with demo.engine.connect() as conn:
        count = conn.execute(
            text("SELECT COUNT(*) FROM sdmx_export WHERE location = :l"), {"l": first.location}
        ).scalar()
        used = set(
            conn.execute(
                text("SELECT submission_id FROM sdmx_export_submission WHERE export_id = :e"),
                {"e": first.export_id},
            ).scalars()
        )
        current = set(
            conn.execute(
                text(
                    "SELECT DISTINCT submission_id FROM v_indicator_current"
                    " WHERE period = '2026-Q1' AND handling_code = 'PUBLIC'"
                )
            ).scalars()
        )
    assert count == 1
    assert used == current and used
