"""Publish the blank return templates for the reporting period that has just begun.

On the first of every month at 06:00 UTC, and whenever run by hand, the Excel
template of the running period is built for every reporting unit active at the
period's start and put into that unit's `templates/` as
`<CC>_<PERIOD>_template.xlsx`. A template already there is kept, so the runs
inside a quarter publish nothing new for quarterly returns, and a run that was
missed is made good by the next one. Suspended units get no template.

Parameter `period` (e.g. 2026-Q3) publishes another period's templates instead.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from topcop.orchestration import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="topcop_templates",
    # Monthly rather than quarterly: monthly datasets get theirs too, and a failed run
    # at a quarter's start is repeated a month later at no cost (existing files are kept).
    schedule="0 6 1 * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["topcop", "calendar"],
    doc_md=__doc__,
    params={
        "period": Param(
            None,
            type=["null", "string"],
            description="Reporting period such as 2026-Q3; empty: the period running on the run's date.",
        )
    },
)
def topcop_templates():
    @task
    def publish_templates(params: dict | None = None) -> list[str]:
        """Build and publish the templates not yet in the units' templates/ folders; their locations."""
        from datetime import UTC, datetime

        from topcop.calendar import publish_templates as publish
        from topcop.landing import landing

        logical_date = get_current_context().get("logical_date") or datetime.now(UTC)
        return publish((params or {}).get("period"), landing(), logical_date.date())

    publish_templates()


topcop_templates()
