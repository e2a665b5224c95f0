"""Ingest: receipts (JSON and workbook) for every file, never overwritten; every check's result
in the warehouse, in the file's transaction; history warnings; Data Docs built once per run.

Files are made by filling the generated template (``samples.fill_template``) and
dropped into a local landing under a temporary ``TOPCOP_VAR``; the warehouse is the
``warehouse`` fixture, so every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from topcop import config
from topcop.i18n import say
from topcop.ingest import IngestResult, process_return
from topcop.landing.local import LocalLanding
from topcop.returns.samples import SampleReturn, fill_template, sample_content
from topcop.validation.data_docs import build_data_docs, pending_dir, site_dir

TODAY = date(2026, 5, 15)
DROPPED = datetime(2026, 4, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLanding:
    monkeypatch.setenv("TOPCOP_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("TOPCOP_LANDING_ROOT", raising=False)
    landing = LocalLanding(config.landing_root())
    landing.ensure_areas()
    return landing


def drop(landing: LocalLanding, sample: SampleReturn, name: str, when: datetime = DROPPED) -> Path:
    path = fill_template(sample, landing.area(sample.country, "inbox") / name)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def process(landing: LocalLanding, engine: Engine, unit: str = "GE") -> list[IngestResult]:
    return [
        process_return(item, landing=landing, engine=engine, today=TODAY)
        for item in landing.list_inbox(unit)
    ]


def receipt_json(landing: LocalLanding, result: IngestResult) -> dict:
    unit, area, name = result.receipt.split("/", 2)
    return json.loads(landing.read(unit, area, name))


def rows(engine: Engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def good(period: str = "2026-Q1", seed: int = 7) -> SampleReturn:
    return sample_content("GE", period, seed=seed, seizure_rows=12)


def test_accepted_return_gets_both_receipts_and_its_results_are_stored(landing, warehouse):
    drop(landing, good(), "GE_2026-Q1_return.xlsx")

    (result,) = process(landing, warehouse)

    assert result.status == "accepted"
    base = result.receipt.split("/", 2)[2].removesuffix(".json")
    assert landing.list_area("GE", "receipts") == [f"{base}.json", f"{base}.xlsx"]
    receipt = receipt_json(landing, result)
    assert receipt["findings"] == [] and receipt["history_checked"] is True
    summary = load_workbook(landing.area("GE", "receipts") / f"{base}.xlsx")["summary"]
    # In Georgia's language: the status label and word, from the Georgian catalog.
    assert receipt["language"] == "ka"
    status = [say("Status", None, "ka"), say("Accepted", None, "ka")]
    assert status in [[c.value for c in r] for r in summary.iter_rows()]

    stored = rows(
        warehouse,
        "SELECT suite, expectation_type, success, unexpected_count, severity"
        " FROM expectation_result WHERE submission_id = :s ORDER BY seq",
        s=receipt["submission_id"],
    )
    assert {r.suite for r in stored} == {"metadata", "indicators", "seizures", "rules", "history"}
    assert all(r.success and r.unexpected_count == 0 for r in stored)
    assert ("history", "history_outlier") in {(r.suite, r.expectation_type) for r in stored}
    quality = rows(
        warehouse,
        "SELECT DISTINCT reporting_unit, period, status FROM v_data_quality"
        " WHERE submission_id = :s",
        s=receipt["submission_id"],
    )
    assert [tuple(r) for r in quality] == [("GE", "2026-Q1", "accepted")]
    assert len(list(pending_dir().glob("*.json"))) == 1  # waiting for the Data Docs build


def test_rejected_return_is_quarantined_and_its_failed_checks_are_counted(landing, warehouse):
    sample = good()
    sample.indicators[0]["crime_area"] = "TERROR"
    sample.seizures[3]["origin_country"] = "UK"
    sample.seizures[4]["origin_country"] = "EU"
    drop(landing, sample, "GE_2026-Q1_return.xlsx")

    (result,) = process(landing, warehouse)

    assert result.status == "rejected"
    assert result.location.startswith("GE/quarantine/")
    receipt = receipt_json(landing, result)
    assert receipt["location"] == result.location
    assert receipt["where_en"] == f"Kept in quarantine, not loaded: {result.location}"
    assert receipt["where"].endswith(result.location) and receipt["where"] != receipt["where_en"]
    failed = rows(
        warehouse,
        "SELECT suite, column_name, unexpected_count FROM expectation_result"
        " WHERE submission_id = :s AND success = :no ORDER BY seq",
        s=receipt["submission_id"],
        no=False,
    )
    # The crime area is also not one the indicator applies to: that check failed too,
    # though the receipt says the mistake once.
    assert [tuple(r) for r in failed] == [
        ("indicators", "crime_area", 1),
        ("indicators", "indicator,crime_area", 1),
        ("seizures", "origin_country", 2),
    ]
    assert [f["column"] for f in receipt["findings"]] == [
        "crime_area",
        "origin_country",
        "origin_country",
    ]
    assert rows(warehouse, "SELECT COUNT(*) FROM indicator_fact")[0][0] == 0


def test_the_same_arrival_processed_again_gets_receipts_of_its_own(landing, warehouse):
    path = drop(landing, good(), "GE_2026-Q1_return.xlsx")
    content = path.read_bytes()
    (first,) = process(landing, warehouse)
    first_receipt = landing.read("GE", "receipts", first.receipt.split("/", 2)[2])

    # The very file dropped again at the same time (or a rerun after a crash).
    path.write_bytes(content)
    os.utime(path, (DROPPED.timestamp(), DROPPED.timestamp()))
    (second,) = process(landing, warehouse)

    assert second.status == "duplicate"
    base = first.receipt.split("/", 2)[2].removesuffix(".json")
    assert landing.list_area("GE", "receipts") == sorted(
        [f"{base}.json", f"{base}.xlsx", f"{base}.2.json", f"{base}.2.xlsx"]
    )
    assert second.receipt == f"GE/receipts/{base}.2.json"
    assert landing.read("GE", "receipts", f"{base}.json") == first_receipt
    assert (
        receipt_json(landing, second)["duplicate_of"]
        == receipt_json(landing, first)["submission_id"]
    )
    assert len(list(pending_dir().glob("*.json"))) == 2  # each processing has its results


def test_a_large_change_on_the_last_period_is_a_warning_that_quotes_the_comment(landing, warehouse):
    # The same figures for 2025-Q4 and 2026-Q1 but one, which is five times larger.
    earlier = sample_content("GE", "2026-Q1", seed=5, seizure_rows=0)
    earlier.period = earlier.metadata["period"] = "2025-Q4"
    drop(landing, earlier, "GE_2025-Q4_return.xlsx", when=datetime(2026, 1, 20, tzinfo=UTC))
    later = sample_content("GE", "2026-Q1", seed=5, seizure_rows=0)
    number, row = next(
        (n, r)
        for n, r in enumerate(later.indicators, start=2)
        if r["indicator"] == "INVESTIGATIONS_OPENED" and r["obs_status"] == "A"
    )
    row.update(value=row["value"] * 5 + 100, comment="Botnet takedown.")
    drop(landing, later, "GE_2026-Q1_return.xlsx")

    first, second = process(landing, warehouse)

    assert (first.status, second.status) == ("accepted", "accepted_with_warnings")
    (finding,) = receipt_json(landing, second)["findings"]
    assert (finding["sheet"], finding["row"], finding["column"]) == ("indicators", number, "value")
    assert (finding["rule"], finding["severity"]) == ("history_change", "warning")
    assert "2025-Q4" in finding["message"] and "in 2025-Q4" in finding["message_en"]
    assert finding["message_en"].endswith('The comment says: "Botnet takedown."')
    assert "Botnet takedown." in finding["message"] != finding["message_en"]  # Georgian


def test_a_file_refused_unread_has_a_receipt_and_no_results(landing, warehouse):
    name = "GE_" + "x" * 200 + ".xlsx"
    drop(landing, good(), name)

    (result,) = process(landing, warehouse)

    assert result.status == "rejected"
    receipt = receipt_json(landing, result)
    assert [f["rule"] for f in receipt["findings"]] == ["file_name_too_long"]
    assert receipt["history_checked"] is False
    assert rows(warehouse, "SELECT COUNT(*) FROM expectation_result")[0][0] == 0
    assert list(pending_dir().glob("*.json")) == []


def test_data_docs_render_every_processed_file_once(landing, warehouse):
    drop(landing, good(), "GE_2026-Q1_return.xlsx")
    bad = good(seed=8)
    bad.metadata["handling_code"] = "SECRET"
    drop(landing, bad, "GE_2026-Q1_again.xlsx", when=datetime(2026, 4, 21, tzinfo=UTC))
    process(landing, warehouse)

    index = build_data_docs()

    assert index == site_dir() / "index.html" and index.exists()
    assert list(pending_dir().glob("*.json")) == []
    pages = sorted(p.relative_to(site_dir()).parts[:2] for p in site_dir().rglob("*.html"))
    assert pages.count(("validations", "metadata")) == 2
    assert pages.count(("validations", "seizures")) == 2
    assert ("expectations", "indicators.html") in pages
    assert "SECRET" in "".join(p.read_text() for p in (site_dir() / "validations").rglob("*.html"))

    # The next run renders what is new and keeps what was built.
    drop(landing, good(seed=9), "GE_2026-Q1_third.xlsx", when=datetime(2026, 4, 22, tzinfo=UTC))
    process(landing, warehouse)
    build_data_docs()
    assert len(list((site_dir() / "validations" / "metadata").rglob("*.html"))) == 3


def _files(landing: LocalLanding, units: dict[str, int]) -> None:
    for unit, count in units.items():
        for n in range(count):
            (landing.area(unit, "inbox") / f"{unit}_2026-Q1_part{n:02}.csv").write_text("x")


@pytest.mark.parametrize(
    ("units", "max_batches", "sizes"),
    [
        ({"GE": 3, "AM": 2}, 16, [1, 1, 1, 1, 1]),  # fewer files than tasks: one each
        ({"GE": 3, "AM": 2}, 5, [1, 1, 1, 1, 1]),
        ({"GE": 10, "AM": 7, "MD": 3}, 4, [5, 5, 5, 5]),
        ({"GE": 10, "AM": 7, "MD": 4}, 4, [6, 6, 6, 3]),
        ({}, 4, []),
    ],
)
def test_waiting_files_are_grouped_into_at_most_the_task_limit(landing, units, max_batches, sizes):
    from topcop.ingest import pending_batches, pending_returns

    _files(landing, units)
    batches = pending_batches(landing, max_batches=max_batches)
    assert [len(b) for b in batches] == sizes
    flat = [(r["reporting_unit"], r["name"]) for b in batches for r in b]
    assert flat == sorted(flat)  # each unit's files together, in name order
    assert sorted(flat) == sorted(
        (r["reporting_unit"], r["name"]) for r in pending_returns(landing)
    )


def test_the_task_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TOPCOP_INGEST_MAX_TASKS", "3")
    assert config.ingest_max_tasks() == 3
    monkeypatch.setenv("TOPCOP_INGEST_MAX_TASKS", "0")
    with pytest.raises(ValueError, match="at least 1"):
        config.ingest_max_tasks()


def test_a_batch_stops_at_the_first_failure_and_its_retry_finds_the_rest(
    landing, warehouse, monkeypatch
):
    from topcop import ingest

    for period, seed in (("2025-Q3", 1), ("2025-Q4", 2), ("2026-Q1", 3)):
        drop(landing, good(period, seed), f"GE_{period}_return.xlsx")
    refs = ingest.pending_batches(landing, max_batches=1)[0]
    real = ingest.process_return
    calls = []

    def second_fails(ref, **kwargs):
        calls.append(ref["name"])
        if len(calls) == 2:
            raise ConnectionError("warehouse unreachable")
        return real(ref, **kwargs)

    monkeypatch.setattr(ingest, "process_return", second_fails)
    with pytest.raises(ConnectionError):
        ingest.process_batch(refs, landing=landing, engine=warehouse, today=TODAY)
    assert len(calls) == 2  # the third file was not attempted
    assert [i.name for i in landing.list_inbox("GE")] == [r["name"] for r in refs[1:]]

    monkeypatch.setattr(ingest, "process_return", real)
    retried = ingest.process_batch(refs, landing=landing, engine=warehouse, today=TODAY)
    assert [r.status for r in retried] == ["gone", "accepted", "accepted"]
    assert landing.list_inbox("GE") == []
