"""Claims: overlapping ingest runs each take a file nobody else holds, on SQLite and PostgreSQL.

Runs of the ingest DAG overlap (``TOPCOP_INGEST_MAX_RUNS``); what keeps two of them
from processing the same file is the claim each run's listing makes in the
warehouse (``topcop.warehouse.claims``). Real databases, real threads racing.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from topcop.ingest import claimed_batches, process_batch
from topcop.landing.local import LocalLanding
from topcop.returns.samples import fill_template, sample_content
from topcop.warehouse.claims import FORGET_AFTER, claim_files, claims_of, intake_claim

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _refs(n: int, unit: str = "MD") -> list[dict]:
    return [
        {
            "reporting_unit": unit,
            "name": f"{unit}_file_{i}.xlsx",
            "size": 1000 + i,
            "received_at": (NOW + timedelta(seconds=i)).isoformat(),
        }
        for i in range(n)
    ]


def _active(*runs: str):
    return lambda run_id: run_id in runs


def test_a_second_run_takes_only_what_the_first_does_not_hold(warehouse: Engine) -> None:
    first = claim_files(warehouse, _refs(3), "run-1", _active("run-1"), NOW)
    assert [r["name"] for r in first] == ["MD_file_0.xlsx", "MD_file_1.xlsx", "MD_file_2.xlsx"]
    # Two more files arrived; run-1 still runs and holds the first three.
    second = claim_files(warehouse, _refs(5), "run-2", _active("run-1", "run-2"), NOW)
    assert [r["name"] for r in second] == ["MD_file_3.xlsx", "MD_file_4.xlsx"]
    assert len(claims_of(warehouse, "run-1")) == 3 and len(claims_of(warehouse, "run-2")) == 2


def test_a_retried_listing_gets_its_own_claims_back(warehouse: Engine) -> None:
    claim_files(warehouse, _refs(2), "run-1", _active("run-1"), NOW)
    again = claim_files(warehouse, _refs(2), "run-1", _active("run-1"), NOW)
    assert len(again) == 2


def test_a_claim_of_an_ended_run_is_taken_over(warehouse: Engine) -> None:
    claim_files(warehouse, _refs(2), "run-1", _active("run-1"), NOW)
    # run-1 failed with its files still waiting: the next run takes them.
    taken = claim_files(warehouse, _refs(2), "run-2", _active("run-2"), NOW)
    assert len(taken) == 2
    assert claims_of(warehouse, "run-1") == [] and len(claims_of(warehouse, "run-2")) == 2


def test_the_same_name_dropped_again_later_is_a_new_file(warehouse: Engine) -> None:
    claim_files(warehouse, _refs(1), "run-1", _active("run-1"), NOW)
    again = dict(_refs(1)[0], received_at=(NOW + timedelta(hours=1)).isoformat())
    assert claim_files(warehouse, [again], "run-2", _active("run-1", "run-2"), NOW) == [again]


def test_claims_of_files_long_gone_are_forgotten(warehouse: Engine) -> None:
    claim_files(warehouse, _refs(3), "run-1", _active(), NOW)
    later = NOW + FORGET_AFTER + timedelta(minutes=1)
    # Only file 2 still waits (files 0 and 1 were processed and moved).
    claim_files(warehouse, _refs(3)[2:], "run-2", _active(), later)
    with warehouse.connect() as conn:
        left = conn.execute(select(intake_claim.c.file_name, intake_claim.c.dag_run_id)).all()
    assert sorted(left) == [("MD_file_2.xlsx", "run-2")]


@pytest.mark.parametrize("runs", [4])
def test_runs_listing_at_once_share_the_files_without_overlap(warehouse: Engine, runs) -> None:
    refs = _refs(40)
    got: dict[str, list[str]] = {}
    start = threading.Barrier(runs)
    names = [f"run-{n}" for n in range(runs)]

    def listing(run_id: str) -> None:
        start.wait()
        taken = claim_files(warehouse, refs, run_id, _active(*names), NOW)
        got[run_id] = [r["name"] for r in taken]

    threads = [threading.Thread(target=listing, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    taken = [name for names_ in got.values() for name in names_]
    assert len(got) == runs
    assert sorted(taken) == sorted(r["name"] for r in refs)  # every file, each once
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(intake_claim)).scalar() == 40


def test_two_runs_over_real_inboxes_process_each_file_once(tmp_path, warehouse: Engine) -> None:
    landing = LocalLanding(tmp_path / "landing")
    landing.ensure_areas()
    for i, period in enumerate(["2025-Q4", "2026-Q1"]):
        fill_template(
            sample_content("MD", period, seed=i), landing.area("MD", "inbox") / f"MD_{period}.xlsx"
        )
    first = claimed_batches("run-1", _active("run-1"), landing=landing, engine=warehouse)
    second = claimed_batches("run-2", _active("run-1", "run-2"), landing=landing, engine=warehouse)
    assert sum(len(b) for b in first) == 2 and second == []
    results = [
        r for batch in first for r in process_batch(batch, landing=landing, engine=warehouse)
    ]
    assert [r.status.startswith("accepted") for r in results] == [True, True], results
    assert landing.list_inbox("MD") == []
