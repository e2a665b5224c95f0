"""Pull returns from every focal point's landing bucket, validate, load, and answer with a receipt.

Each file in a reporting unit's ``inbox/`` is one mapped task (past
``TOPCOP_INGEST_MAX_TASKS`` files, as in a backfill, files are grouped so that
no more tasks than that run): read → validate
(Great Expectations suites in ``expectations/``) → load into the warehouse in
one transaction → receipt in the unit's ``receipts/`` → file moved to
``archive/`` or ``quarantine/`` (a correction to a closed period that would pass
goes to ``held/`` instead, and a ``topcop_approval`` run asks a steward). When
anything new was loaded, the warehouse Asset is updated and the assessment
report rebuilds. Runs may overlap (``TOPCOP_INGEST_MAX_RUNS``): each run claims
the files it lists (``topcop.warehouse.claims``), so a file dropped while a run
is busy gets a run of its own at once and no file is processed by two runs.
"""

from __future__ import annotations

import logging

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, get_current_context, task

from topcop.config import ingest_max_runs
from topcop.orchestration import (
    DEFAULT_ARGS,
    START_DATE,
    WAREHOUSE,
    ingest_run_active,
    ingest_schedule,
)

log = logging.getLogger("topcop.ingest")


@dag(
    dag_id="topcop_ingest",
    schedule=ingest_schedule(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=ingest_max_runs(),  # runs overlap: each claims its files
    default_args=DEFAULT_ARGS,
    tags=["topcop", "ingest"],
    doc_md=__doc__,
)
def topcop_ingest():
    @task
    def list_returns() -> list[list[dict]]:
        """The files waiting in the inboxes that this run claims (references), a group per task."""
        from topcop.ingest import claimed_batches

        return claimed_batches(get_current_context()["run_id"], ingest_run_active)

    # Airflow 3.3 drops the docstring of a mapped task, so its UI doc is given here.
    @task(
        map_index_template="{{ return_files }}",
        doc_md="Returns end to end, one file after the other (usually one per task); a bad file "
        "ends in quarantine with a receipt, not as a task failure. A failure here means the "
        "warehouse or the landing store is unreachable.",
    )
    def process_returns(refs: list[dict]) -> list[dict]:
        # The first line of our code: bench.stack measures a task's start-up up to here.
        log.info("file task started with %d file(s)", len(refs))
        from topcop.ingest import process_batch

        first = f"{refs[0]['reporting_unit']}/{refs[0]['name']}"
        more = f" and {len(refs) - 1} more" if len(refs) > 1 else ""
        get_current_context()["return_files"] = first + more
        return [result.as_dict() for result in process_batch(refs)]

    @task(outlets=[WAREHOUSE], trigger_rule="all_done")
    def announce_new_data(batches: list[list[dict]]) -> dict:
        """Update the warehouse Asset when at least one return was, or may have been, loaded."""
        from airflow.sdk.exceptions import AirflowSkipException

        from topcop.ingest import new_data

        summary = new_data([r for batch in batches if batch for r in batch if r])
        if summary is None:
            raise AirflowSkipException("no new return was loaded")
        return summary

    # One at a time across overlapping runs: they render the same site.
    @task(trigger_rule="all_done", max_active_tis_per_dag=1)
    def build_data_docs() -> str:
        """Render GX Data Docs (var/data_docs/index.html) for every file validated in this run."""
        from topcop.validation.data_docs import build_data_docs as build

        return str(build())

    @task
    def every_file_processed() -> None:
        """Runs only when every file was processed: a file left waiting fails the whole run.

        The other closing tasks run whatever happened (all_done), and a run is judged
        by its last tasks, so without this one a run whose files could not be taken
        (warehouse or landing store unreachable) would end green.
        """

    # --- steward approval (issue 15): one topcop_approval run per held correction ---
    # After every file task succeeded: in an outage the file task's alert is the one that
    # tells; a request not asked in a failed run is asked by the next run (nothing is lost).
    @task
    def approval_requests() -> list[dict]:
        """Every pending approval request (held file) as a run to trigger; asked ones are skipped."""
        from topcop.approval import runs_to_request

        return runs_to_request()

    # --- end steward approval ---

    processed = process_returns.expand(refs=list_returns())
    requests = approval_requests()  # steward approval (issue 15)
    processed >> requests
    TriggerDagRunOperator.partial(
        task_id="ask_stewards",
        trigger_dag_id="topcop_approval",
        skip_when_already_exists=True,
        doc_md="Starts one topcop_approval run per held correction (skipped when already asked).",
    ).expand_kwargs(requests)
    announce_new_data(processed)
    processed >> build_data_docs()
    processed >> every_file_processed()


topcop_ingest()
