"""Loading returns into the warehouse: revisions, duplicates, rejections, crashes and races.

Every test runs on SQLite and on a real PostgreSQL server (``warehouse`` fixture in
``pg_server.py``) with the same assertions.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from topcop.findings import ERROR, WARNING, Finding
from topcop.returns.model import INDICATOR_COLUMNS, ROW, SEIZURE_COLUMNS, ReturnFile
from topcop.returns.samples import SampleReturn, sample_content
from topcop.warehouse import load
from topcop.warehouse.load import ReceivedFile, facts_loaded, record_submission
from topcop.warehouse.migrate import migrate

UNIT, PERIOD = "GE", "2026-Q1"
RECEIVED_AT = datetime(2026, 4, 20, 9, 30, tzinfo=UTC)


# --- building returns from the project's sample generator --------------------------


def _frame(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns)).astype(columns)
    frame[ROW] = range(2, len(frame) + 2)  # first data row under the header
    return frame


def _return_file(sample: SampleReturn, dataset: str = "return") -> ReturnFile:
    """The ReturnFile a reader yields for ``sample`` as a workbook or as one CSV file."""
    if dataset == "return":
        return ReturnFile(
            path=Path(f"{sample.country}_{sample.period}.xlsx"),
            file_format="xlsx",
            metadata=dict(sample.metadata),
            indicators=_frame(sample.indicators, INDICATOR_COLUMNS),
            seizures=_frame(sample.seizures, SEIZURE_COLUMNS),
        )
    rows, columns = (
        (sample.indicators, INDICATOR_COLUMNS)
        if dataset == "indicators"
        else (sample.seizures, SEIZURE_COLUMNS)
    )
    return ReturnFile(
        path=Path(f"{sample.country}_{sample.period}_{dataset}.csv"),
        file_format="csv",
        metadata={"country": sample.country, "period": sample.period},
        **{dataset: _frame(rows, columns)},
    )


def _received(ret: ReturnFile) -> ReceivedFile:
    """What the landing area reports for the file; the hash follows the content."""
    content = repr(ret.metadata).encode()
    for frame in (ret.indicators, ret.seizures):
        if frame is not None:
            content += frame.to_csv().encode()
    sha256 = hashlib.sha256(content).hexdigest()
    return ReceivedFile(
        file_name=ret.path.name,
        stored_name=f"{sha256[:12]}_{ret.path.name}",
        sha256=sha256,
        size_bytes=len(content),
        received_at=RECEIVED_AT,
    )


def _sample(seed: int = 1, seizure_rows: int = 40) -> SampleReturn:
    return sample_content(UNIT, PERIOD, seed=seed, seizure_rows=seizure_rows)


def _record(engine: Engine, ret: ReturnFile, findings: list[Finding] | None = None):
    return record_submission(
        engine, ret, reporting_unit=UNIT, received=_received(ret), findings=findings or []
    )


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def _warning(row: int = 5) -> Finding:
    return Finding("indicators", row, "value", 120, "justice_chain", WARNING, "charged > arrested")


# --- schema ---------------------------------------------------------------------------


def test_migrate_is_idempotent(warehouse: Engine) -> None:
    applied = _scalar(warehouse, "SELECT COUNT(*) FROM schema_migrations")
    assert migrate(warehouse) == []
    assert _scalar(warehouse, "SELECT COUNT(*) FROM schema_migrations") == applied
    assert _scalar(warehouse, "SELECT COUNT(*) FROM v_indicator_current") == 0


# --- revisions, duplicates, rejections ---------------------------------------------------


def test_first_accepted_file_is_revision_1(warehouse: Engine) -> None:
    sample = _sample()
    ret = _return_file(sample)
    outcome = _record(warehouse, ret)

    assert (outcome.status, outcome.revision, outcome.supersedes) == ("accepted", 1, None)
    assert outcome.indicator_rows == len(sample.indicators)
    assert outcome.seizure_rows == len(sample.seizures)
    assert facts_loaded(warehouse, outcome.submission_id) == {
        "finding": 0,
        "indicator_fact": len(sample.indicators),
        "seizure_fact": len(sample.seizures),
    }
    stored = _rows(
        warehouse,
        "SELECT period, dataset, template_version, submission_date, handling_code, received_at"
        " FROM submission WHERE submission_id = :s",
        s=outcome.submission_id,
    )[0]
    assert (stored.period, stored.dataset, stored.handling_code) == (PERIOD, "return", "PROGRAMME")
    assert stored.template_version == sample.metadata["template_version"]
    assert str(stored.submission_date)[:10] == sample.metadata["submission_date"].isoformat()
    assert str(stored.received_at)[:19] == "2026-04-20 09:30:00"


def test_missing_values_are_stored_as_null(warehouse: Engine) -> None:
    sample = _sample()
    outcome = _record(warehouse, _return_file(sample))

    not_collected = sum(r["value"] is None for r in sample.indicators)
    no_origin = sum(r["origin_country"] is None for r in sample.seizures)
    assert not_collected and no_origin  # the sample exercises both
    s = outcome.submission_id
    assert (
        _scalar(
            warehouse,
            "SELECT COUNT(*) FROM indicator_fact WHERE submission_id = :s AND value IS NULL",
            s=s,
        )
        == not_collected
    )
    assert (
        _scalar(
            warehouse,
            "SELECT COUNT(*) FROM seizure_fact WHERE submission_id = :s AND origin_country IS NULL",
            s=s,
        )
        == no_origin
    )
    first = _rows(
        warehouse, "SELECT seizure_ref, seizure_date FROM seizure_fact WHERE row_number = 2"
    )[0]
    assert first.seizure_ref == sample.seizures[0]["seizure_ref"]
    assert str(first.seizure_date) == sample.seizures[0]["seizure_date"].isoformat()


def test_identical_file_is_a_duplicate_and_loads_nothing(warehouse: Engine) -> None:
    ret = _return_file(_sample())
    first = _record(warehouse, ret)
    facts = _scalar(warehouse, "SELECT COUNT(*) FROM indicator_fact")

    again = _record(warehouse, ret)

    assert again.status == "duplicate"
    assert again.duplicate_of == first.submission_id
    assert (again.revision, again.indicator_rows, again.seizure_rows) == (None, 0, 0)
    assert _scalar(warehouse, "SELECT COUNT(*) FROM indicator_fact") == facts
    assert _scalar(warehouse, "SELECT COUNT(*) FROM submission") == 2


def test_corrected_file_is_revision_2_and_current(warehouse: Engine) -> None:
    original = _sample()
    first = _record(warehouse, _return_file(original))
    corrected = _sample()
    for row in corrected.indicators:
        if row["value"] is not None:
            row["value"] += 1000

    second = _record(warehouse, _return_file(corrected), [_warning()])

    assert (second.status, second.revision) == ("accepted_with_warnings", 2)
    assert second.supersedes == first.submission_id
    assert facts_loaded(warehouse, second.submission_id)["finding"] == 1
    current = _rows(
        warehouse,
        "SELECT revision, crime_area, indicator, breakdown, value FROM v_indicator_current"
        " WHERE reporting_unit = :u AND period = :p",
        u=UNIT,
        p=PERIOD,
    )
    assert {r.revision for r in current} == {2}
    assert sorted(
        (r.crime_area, r.indicator, r.breakdown or "", r.value) for r in current
    ) == sorted(
        (r["crime_area"], r["indicator"], r["breakdown"] or "", r["value"])
        for r in corrected.indicators
    )
    # revision 1 stays in history
    assert facts_loaded(warehouse, first.submission_id)["indicator_fact"] == len(
        original.indicators
    )
    assert {r.revision for r in _rows(warehouse, "SELECT revision FROM v_seizure_current")} == {2}


def test_rejected_file_keeps_findings_and_takes_no_revision(warehouse: Engine) -> None:
    ret = _return_file(_sample())
    error = Finding(
        "seizures", 7, "quantity", -3, "expect_column_values_to_be_between", ERROR, "negative"
    )

    rejected = _record(warehouse, ret, [error, _warning()])

    assert (rejected.status, rejected.revision) == ("rejected", None)
    assert (rejected.error_count, rejected.warning_count) == (1, 1)
    assert facts_loaded(warehouse, rejected.submission_id) == {
        "finding": 2,
        "indicator_fact": 0,
        "seizure_fact": 0,
    }
    stored = _rows(
        warehouse,
        "SELECT sheet, row_number, column_name, value, severity FROM finding ORDER BY seq",
    )
    assert tuple(stored[0]) == ("seizures", 7, "quantity", "-3", "error")
    # a rejection is not accepted content: the same file, once it passes, is loaded
    assert _record(warehouse, ret).revision == 1


def test_rejected_file_with_oversized_declarations_is_still_recorded(warehouse: Engine) -> None:
    ret = _return_file(_sample())
    ret.metadata.update(
        period="not-a-period-at-all", template_version="v" * 40, handling_code="X" * 99
    )
    received = replace(_received(ret), file_name="n" * 350 + ".xlsx")
    odd_column = Finding("file", None, "c" * 200, "x" * 5000, "r" * 300, ERROR, "unknown column")

    outcome = record_submission(
        warehouse, ret, reporting_unit=UNIT, received=received, findings=[odd_column]
    )

    stored = _rows(
        warehouse,
        "SELECT period, file_name, template_version FROM submission WHERE submission_id = :s",
        s=outcome.submission_id,
    )[0]
    assert stored.period is None
    assert len(stored.file_name) == 300 and len(stored.template_version) == 16
    column = _scalar(
        warehouse,
        "SELECT column_name FROM finding WHERE submission_id = :s",
        s=outcome.submission_id,
    )
    assert len(column) == 64


def test_csv_indicators_then_seizures_fill_both_views(warehouse: Engine) -> None:
    sample = _sample()
    indicators = _record(warehouse, _return_file(sample, "indicators"))
    seizures = _record(warehouse, _return_file(sample, "seizures"))

    assert (indicators.revision, seizures.revision) == (1, 2)
    assert seizures.supersedes is None  # a seizures file replaces no indicators
    assert (indicators.seizure_rows, seizures.indicator_rows) == (0, 0)
    assert _scalar(warehouse, "SELECT COUNT(*) FROM v_indicator_current") == len(sample.indicators)
    assert _scalar(warehouse, "SELECT COUNT(*) FROM v_seizure_current") == len(sample.seizures)
    datasets = _rows(warehouse, "SELECT dataset FROM submission ORDER BY revision")
    assert [d.dataset for d in datasets] == ["indicators", "seizures"]


# --- crashes and bulk ----------------------------------------------------------------------


class InjectedCrash(Exception):
    pass


def test_crash_halfway_through_the_facts_leaves_nothing(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(warehouse, _return_file(_sample(seed=1)))
    before = {
        t: _scalar(warehouse, f"SELECT COUNT(*) FROM {t}")
        for t in ("submission", "finding", "indicator_fact", "seizure_fact")
    }
    crashing = _return_file(_sample(seed=2, seizure_rows=1000))
    crashed_at: list[int] = []

    def crash_at_half(table_name: str, written: int, total: int) -> None:
        if table_name == "seizure_fact" and written >= total // 2:
            crashed_at.append(written)
            raise InjectedCrash

    monkeypatch.setattr(load, "FACT_BATCH_ROWS", 100)
    monkeypatch.setattr(load, "_after_fact_batch", crash_at_half)
    with pytest.raises(InjectedCrash):
        _record(warehouse, crashing, [_warning()])

    assert crashed_at == [500]
    sha = _received(crashing).sha256
    assert _scalar(warehouse, "SELECT COUNT(*) FROM submission WHERE sha256 = :h", h=sha) == 0
    after = {t: _scalar(warehouse, f"SELECT COUNT(*) FROM {t}") for t in before}
    assert after == before
    # the rerun loads it cleanly, as the next revision
    monkeypatch.undo()
    rerun = _record(warehouse, crashing)
    assert (rerun.status, rerun.revision, rerun.seizure_rows) == ("accepted", 2, 1000)


def test_bulk_load_of_100k_seizures(warehouse: Engine) -> None:
    sample = _sample(seizure_rows=100_000)
    ret = _return_file(sample, "seizures")

    received = _received(ret)

    started = time.perf_counter()
    outcome = record_submission(warehouse, ret, reporting_unit=UNIT, received=received, findings=[])
    seconds = time.perf_counter() - started

    print(f"\n{warehouse.dialect.name}: 100k seizure rows loaded in {seconds:.2f} s")
    assert outcome.seizure_rows == 100_000
    assert _scalar(warehouse, "SELECT COUNT(*) FROM seizure_fact") == 100_000
    assert _scalar(warehouse, "SELECT SUM(quantity) FROM seizure_fact") == pytest.approx(
        sum(r["quantity"] for r in sample.seizures)
    )
    assert _scalar(warehouse, "SELECT MAX(row_number) FROM seizure_fact") == 100_001


# --- races ------------------------------------------------------------------------------------


def _race(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch, files: list[ReturnFile]
) -> tuple[list, int]:
    """Load two files at once, each thread on its own connection, both having read the warehouse
    before either writes; returns the outcomes and how many times a loader decided a file's fate."""
    rendezvous = threading.Barrier(2)
    decided: list[str] = []
    # SQLite's write lock keeps the second loader from reading until the first commits,
    # so the rendezvous cannot happen there: do not wait long for it.
    patience = 10 if warehouse.dialect.name == "postgresql" else 0.3

    def meet_before_writing(status: str) -> None:
        decided.append(status)
        if len(decided) <= 2:
            with contextlib.suppress(threading.BrokenBarrierError):
                rendezvous.wait(timeout=patience)

    monkeypatch.setattr(load, "_before_submission_insert", meet_before_writing)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_record, warehouse, ret) for ret in files]
        outcomes = [f.result() for f in futures]
    return outcomes, len(decided)


def _expected_decisions(warehouse: Engine) -> int:
    # PostgreSQL: both loaders decide, the unique index refuses the loser, which decides again.
    # SQLite: loaders run one after the other, each decides once.
    return 3 if warehouse.dialect.name == "postgresql" else 2


def test_concurrent_loads_of_the_same_file(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ret = _return_file(_sample())

    outcomes, decisions = _race(warehouse, monkeypatch, [ret, ret])

    assert sorted(o.status for o in outcomes) == ["accepted", "duplicate"]
    accepted = next(o for o in outcomes if o.status == "accepted")
    duplicate = next(o for o in outcomes if o.status == "duplicate")
    assert duplicate.duplicate_of == accepted.submission_id
    assert _scalar(warehouse, "SELECT COUNT(*) FROM indicator_fact") == accepted.indicator_rows
    assert decisions == _expected_decisions(warehouse)


def test_concurrent_corrections_take_consecutive_revisions(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [_return_file(_sample(seed=1)), _return_file(_sample(seed=2))]

    outcomes, decisions = _race(warehouse, monkeypatch, files)

    first, second = sorted(outcomes, key=lambda o: o.revision)
    assert (first.revision, second.revision) == (1, 2)
    assert (first.supersedes, second.supersedes) == (None, first.submission_id)
    assert decisions == _expected_decisions(warehouse)
    assert {r.revision for r in _rows(warehouse, "SELECT revision FROM v_indicator_current")} == {2}


def test_processed_at_is_stored_in_utc(warehouse: Engine) -> None:
    """processed_at defaults to now, stored without a zone, in UTC."""
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    outcome = _record(warehouse, _return_file(_sample()))
    stored = _scalar(
        warehouse,
        "SELECT processed_at FROM submission WHERE submission_id = :s",
        s=outcome.submission_id,
    )
    stored = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    assert before <= stored.replace(microsecond=0) <= datetime.now(UTC).replace(tzinfo=None)
