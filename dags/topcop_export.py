"""Export the warehouse's current figures in SDMX whenever new returns land in it.

Scheduled on the warehouse Asset that the ingest DAG updates, beside the report.
For every closed period (ended, with an accepted return) and both editions
(programme: every figure; public: the public report's suppression), writes the
indicators and seizures dataflows as SDMX-CSV 2.0 and SDMX-ML 2.1 under the
exports location (``var/exports`` or the exports bucket), and the structures
(SDMX-ML 3.0 and 2.1) of the current structure version. A period whose figures
did not change since its last export gets no new files. Can be run by hand for
one period or edition (parameters).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from topcop.orchestration import DEFAULT_ARGS, START_DATE, WAREHOUSE


@dag(
    dag_id="topcop_export",
    schedule=[WAREHOUSE],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["topcop", "export", "sdmx"],
    doc_md=__doc__,
    params={
        "period": Param(
            None,
            type=["null", "string"],
            description="Reporting period such as 2026-Q3; empty: every closed period.",
        ),
        "edition": Param(
            None,
            type=["null", "string"],
            enum=[None, "programme", "public"],
            description="programme or public; empty: both.",
        ),
    },
)
def topcop_export():
    @task
    def periods_to_export(params: dict | None = None) -> list[str]:
        """The closed periods to export (or the one asked for)."""
        from datetime import UTC, datetime

        from topcop.exports.build import closed_periods
        from topcop.warehouse.engine import warehouse_engine
        from topcop.warehouse.migrate import migrate

        params = params or {}
        if params.get("period"):
            return [params["period"]]
        engine = warehouse_engine()
        migrate(engine)
        return closed_periods(engine, datetime.now(UTC).date())

    # Airflow 3.3 drops the docstring of a mapped task, so its UI doc is given here.
    @task(
        doc_md="Exports one period in both editions (or the one asked for): SDMX-CSV 2.0 and "
        "SDMX-ML 2.1 files of both dataflows; nothing new when its figures did not change.",
    )
    def export_period(period: str, params: dict | None = None) -> list[str]:
        """Export one period in the editions asked for; returns where the files are."""
        from topcop.exports.build import EDITIONS
        from topcop.exports.build import export_period as export

        params = params or {}
        editions = [params["edition"]] if params.get("edition") else list(EDITIONS)
        return [export(period, edition).location for edition in editions]

    export_period.expand(period=periods_to_export())


topcop_export()
