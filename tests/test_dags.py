"""DAG integrity: every DAG file parses cleanly, cheaply, and says who owns it and how it retries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

DAGS_DIR = Path(__file__).resolve().parent.parent / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py"))


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {
        "topcop_ingest",
        "topcop_report",
        "topcop_templates",
        "topcop_deadlines",
        "topcop_approval",
        "topcop_export",  # SDMX exports (issue 17)
    }


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_id_is_file_name(dagbag, path):
    assert path.stem in dagbag.dag_ids


def test_every_dag_has_tags_owner_retries_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 80, dag_id
        for t in dag.tasks:
            assert t.owner not in (None, "", "airflow"), f"{dag_id}.{t.task_id}"
            assert t.retries >= 2, f"{dag_id}.{t.task_id}"
            docs = t.doc_md or getattr(t, "partial_kwargs", {}).get("doc_md")
            assert docs, f"{dag_id}.{t.task_id} has no docstring for the UI"


def test_report_runs_on_the_asset_the_ingest_updates(dagbag):
    ingest = dagbag.dags["topcop_ingest"]
    report = dagbag.dags["topcop_report"]
    outlets = {a.name for t in ingest.tasks for a in t.outlets}
    assert outlets == {"topcop_warehouse"}
    assert "topcop_warehouse" in str(report.timetable.asset_condition)
    export = dagbag.dags["topcop_export"]  # SDMX exports (issue 17), beside the report
    assert "topcop_warehouse" in str(export.timetable.asset_condition)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parsing_imports_no_heavy_library(path):
    """The scheduler parses DAG files every few seconds: pandas, GX and openpyxl load in tasks."""
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]);"
        "print(','.join(m for m in ('pandas', 'great_expectations', 'openpyxl',"
        " 'python_calamine', 'topcop.warehouse.load') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parsing_asks_for_no_connection_or_variable(path, monkeypatch):
    """Like Airflow's own example-DAG test: parse time must not reach for secrets."""
    from airflow.sdk import BaseHook, Variable

    def refuse(*args, **kwargs):
        raise AssertionError("DAG parsing asked for a connection or variable")

    monkeypatch.setattr(BaseHook, "get_connection", refuse)
    monkeypatch.setattr(Variable, "get", refuse)
    bag = DagBag(dag_folder=str(path))
    assert bag.import_errors == {}


def test_ingest_can_run_on_s3_events_instead_of_polling(monkeypatch):
    """The event-driven path is configuration only: same DAG, an asset watched on SQS."""
    monkeypatch.setenv("TOPCOP_INGEST_TRIGGER", "sqs")
    monkeypatch.setenv(
        "TOPCOP_SQS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/111122223333/topcop-landing"
    )
    bag = DagBag(dag_folder=str(DAGS_DIR / "topcop_ingest.py"))
    assert bag.import_errors == {}
    dag = bag.dags["topcop_ingest"]
    (asset,) = dag.timetable.asset_condition.objects
    assert asset.name == "topcop_landing_events"
    assert [w.name for w in asset.watchers] == ["topcop_landing_sqs"]


def test_ingest_runs_as_files_arrive_with_the_schedule_as_safety_net(monkeypatch):
    """``watch``: the inbox watcher's Asset or every 15 minutes, whichever comes first."""
    monkeypatch.setenv("TOPCOP_INGEST_TRIGGER", "watch")
    bag = DagBag(dag_folder=str(DAGS_DIR / "topcop_ingest.py"))
    assert bag.import_errors == {}
    dag = bag.dags["topcop_ingest"]
    asset = dag.timetable.asset_condition
    assert asset.name == "topcop_landing"
    (watcher,) = asset.watchers
    assert watcher.trigger.serialize()[0] == "topcop.landing.watch.InboxWatchTrigger"
    assert dag.timetable.timetable.delta.total_seconds() == 15 * 60
    # Runs overlap (claims keep them from taking the same file), up to the configured number.
    assert dag.max_active_runs == 3
    assert dag.task_dict["build_data_docs"].max_active_tis_per_dag == 1
