"""Build the regional assessment workbook whenever new returns land in the warehouse.

Scheduled on the warehouse Asset that the ingest DAG updates; can also be run
by hand for any period (``period`` parameter). Writes
``eap_assessment_<period>.xlsx`` to the reports location.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from topcop.orchestration import DEFAULT_ARGS, START_DATE, WAREHOUSE


@dag(
    dag_id="topcop_report",
    schedule=[WAREHOUSE],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["topcop", "report"],
    doc_md=__doc__,
    params={
        "period": Param(
            None,
            type=["null", "string"],
            description="Reporting period such as 2026-Q3; empty: the latest period with data.",
        ),
        "audience": Param(
            "programme",
            enum=["programme", "public"],
            description="programme: every figure; public: values not for publication suppressed.",
        ),
    },
)
def topcop_report():
    @task
    def build_report(params: dict | None = None) -> str:
        """Build the workbook and return its location."""
        from topcop.reports.build import build_report as build

        params = params or {}
        build_ = build(period=params.get("period"), audience=params.get("audience") or "programme")
        return build_.location

    build_report()


topcop_report()
