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

import csv
import math
import os
import shutil
import sqlite3
from contextlib import closing
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


# --- changes, the command, the DAG and S3 ---------------------------------------------


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


def test_a_new_indicator_code_appears_in_the_next_structure_version(demo, exports, tmp_path):
    engine, _url = warehouse_copy(demo, tmp_path)
    out = tmp_path / "out"
    before = export_period("2026-Q2", "public", engine=engine, destination=out)
    assert before.structure_version == exports[("2026-Q2", "public")].structure_version

    mp = pytest.MonkeyPatch()
    folder = tmp_path / "codelists"
    shutil.copytree(config.codelists_dir(), folder)
    with open(folder / "indicators.csv", "a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow(
            ["CYBER_INCIDENTS", "Cyber incidents reported", "COUNT", "true", "", "CYBER", ""]
        )
    mp.setenv("TOPCOP_CODELISTS", str(folder))
    config.codelists.cache_clear()
    try:
        after = export_period("2026-Q2", "public", engine=engine, destination=out)
        other = export_period("2026-Q1", "programme", engine=engine, destination=out)
    finally:
        mp.undo()
        config.codelists.cache_clear()

    major, minor = before.structure_version.split(".")
    assert after.structure_version == f"{major}.{int(minor) + 1}"
    assert other.structure_version == after.structure_version  # one change, one version
    assert after.written and after.location != before.location
    new = structures_21(after).codelist["CL_INDICATOR"]
    old = structures_21(before).codelist["CL_INDICATOR"]
    assert "CYBER_INCIDENTS" in {c.id for c in new}
    assert "CYBER_INCIDENTS" not in {c.id for c in old}
    # The data refer to the new version and read with its structures; the figures are the same.
    assert read_csv(after, "INDICATORS", IND_DIMS, IND_ATTRS) == read_xml(
        after, "INDICATORS", IND_DIMS, IND_ATTRS
    )
    assert read_csv(after, "INDICATORS", IND_DIMS, IND_ATTRS) == current_indicators(
        engine, "2026-Q2", "public"
    )
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version FROM sdmx_structure ORDER BY seq")).scalars()
        assert list(versions) == [before.structure_version, after.structure_version]


def test_a_correction_gets_new_files_and_the_earlier_ones_stay(demo, tmp_path):
    engine, _url = warehouse_copy(demo, tmp_path)
    out = tmp_path / "out"
    first = export_period("2026-Q2", "programme", engine=engine, destination=out, now=NOW)
    deliver(demo.landing, engine, "AM", "2026-Q2", "PUBLIC", _confidential_and_corrected, 4)
    later = NOW.replace(hour=7)
    second = export_period("2026-Q2", "programme", engine=engine, destination=out, now=later)

    assert second.written and second.location != first.location
    assert all(Path(f).exists() for f in first.files)
    before = read_csv(first, "INDICATORS", IND_DIMS, IND_ATTRS)
    after = read_csv(second, "INDICATORS", IND_DIMS, IND_ATTRS)
    assert after == current_indicators(engine, "2026-Q2", "programme")
    changed = {k for k in after if after[k] != before.get(k)}
    assert {k[0] for k in changed} == {"AM"} and len(changed) == 1


def test_export_command(demo, tmp_path, monkeypatch, capsys):
    from topcop.cli import main

    _engine, url = warehouse_copy(demo, tmp_path)
    monkeypatch.setenv("TOPCOP_WAREHOUSE_URL", url)
    monkeypatch.setenv("TOPCOP_EXPORTS", str(tmp_path / "exports"))
    assert main(["export", "--period", "2026-Q2", "--edition", "public"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("2026-Q2 public (structures 1.0): written ")
    folder = Path(line.split("written ", 1)[1])
    assert folder.parent == (tmp_path / "exports" / "public" / "2026-Q2").resolve()
    assert sorted(p.name for p in folder.iterdir()) == [
        "TOPCOP_INDICATORS_2026-Q2_public.csv", "TOPCOP_INDICATORS_2026-Q2_public.xml",
        "TOPCOP_SEIZURES_2026-Q2_public.csv", "TOPCOP_SEIZURES_2026-Q2_public.xml",
    ]  # fmt: skip
    assert main(["export", "--period", "2026-Q2", "--edition", "public"]) == 0
    assert "unchanged since" in capsys.readouterr().out
    assert main(["export", "--period", "2026-Q5"]) == 2
    assert "2026-Q5" in capsys.readouterr().err


@pytest.mark.usefixtures("airflow_db")
def test_export_dag_exports_every_closed_period_in_both_editions(demo, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    _engine, url = warehouse_copy(demo, tmp_path)
    monkeypatch.setenv("TOPCOP_WAREHOUSE_URL", url)
    monkeypatch.setenv("TOPCOP_EXPORTS", str(tmp_path / "exports"))
    bag = DagBag(dag_folder=str(config.PROJECT_DIR / "dags" / "topcop_export.py"))
    assert bag.import_errors == {}
    run = bag.dags["topcop_export"].test()
    assert run.state == "success"

    engine = warehouse_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT period, edition, location FROM sdmx_export WHERE location LIKE :root"),
            {"root": f"{(tmp_path / 'exports').resolve()}%"},
        ).all()
    assert sorted((r.period, r.edition) for r in rows) == [
        (p, e) for p in PERIODS for e in ("programme", "public")
    ]
    for r in rows:
        assert len(list(Path(r.location).iterdir())) == 4
    assert len(list((tmp_path / "exports" / "structures").iterdir())) == 2


def test_export_to_s3(demo, tmp_path, s3_endpoint, monkeypatch):
    import io
    import json
    import uuid

    from s3_server import s3_client

    monkeypatch.setenv(
        "AIRFLOW_CONN_TOPCOP_S3",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing-secret",
                "extra": {"region_name": "us-east-1", "endpoint_url": s3_endpoint},
            }
        ),
    )
    monkeypatch.delenv("TOPCOP_S3_CONN_ID", raising=False)
    client = s3_client(s3_endpoint)
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    engine, _url = warehouse_copy(demo, tmp_path)

    export = export_period("2026-Q2", "public", engine=engine, destination=f"s3://{bucket}/sdmx")
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    folder = export.location.removeprefix(f"s3://{bucket}/")
    assert folder.startswith("sdmx/public/2026-Q2/")
    assert keys == {
        f"sdmx/structures/TOPCOP_structures_{export.structure_version}_{kind}.xml"
        for kind in ("sdmx30", "sdmx21")
    } | {f"{folder}/TOPCOP_{flow}_2026-Q2_public{suffix}"
         for flow in ("INDICATORS", "SEIZURES") for suffix in (".csv", ".xml")}  # fmt: skip
    body = client.get_object(Bucket=bucket, Key=f"{folder}/TOPCOP_INDICATORS_2026-Q2_public.csv")
    frame = pd.read_csv(io.BytesIO(body["Body"].read()), dtype=str, keep_default_na=False)
    expected = current_indicators(engine, "2026-Q2", "public")
    assert len(frame) == len(expected)
    assert {tuple(r) for r in frame[IND_DIMS].itertuples(index=False)} == set(expected)

    again = export_period("2026-Q2", "public", engine=engine, destination=f"s3://{bucket}/sdmx")
    assert not again.written
    assert {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]} == keys
