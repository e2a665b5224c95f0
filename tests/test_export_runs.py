"""SDMX exports as the warehouse changes, from the command, the DAG and to S3.

Each test works on its own copy of the demo warehouse (``export_demo``).
"""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from export_demo import (
    IND_ATTRS,
    IND_DIMS,
    NOW,
    PERIODS,
    _confidential_and_corrected,
    current_indicators,
    deliver,
    read_csv,
    read_xml,
    structures_21,
    warehouse_copy,
)
from sqlalchemy import text

from topcop import config
from topcop.exports.build import closed_periods, export_period
from topcop.warehouse.engine import warehouse_engine


def test_a_new_indicator_code_appears_in_the_next_structure_version(demo, tmp_path):
    engine, _url = warehouse_copy(demo, tmp_path)
    out = tmp_path / "out"
    before = export_period("2026-Q2", "public", engine=engine, destination=out)

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
    import uuid

    from s3_server import s3_client, use_s3_connection

    use_s3_connection(monkeypatch, s3_endpoint)
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


def test_export_is_the_same_on_postgresql(postgresql_url, tmp_path):
    """The report tests' hand-built warehouse, once on SQLite and once on PostgreSQL."""
    from test_reports import filled_warehouse

    written = {}
    for name, url in (("sqlite", f"sqlite:///{tmp_path / 'w.db'}"), ("postgresql", postgresql_url)):
        engine = filled_warehouse(url)
        try:
            exports = [
                export_period(p, e, engine=engine, destination=tmp_path / name, now=NOW)
                for p in ("2021-Q2", "2021-Q3")
                for e in ("programme", "public")
            ]
        finally:
            engine.dispose()
        written[name] = {
            Path(f).relative_to(tmp_path / name).as_posix(): Path(f).read_bytes()
            for export in exports
            for f in export.files
        }
    assert written["sqlite"] == written["postgresql"]
    assert len(written["sqlite"]) == 16


def test_closed_periods_are_those_ended_with_an_accepted_return(demo):
    assert closed_periods(demo.engine, date(2026, 6, 30)) == ["2026-Q1"]  # Q2 ends that day
    assert closed_periods(demo.engine, date(2026, 7, 1)) == PERIODS
    assert closed_periods(demo.engine, date(2026, 3, 31)) == []
