"""Watch the reporting deadlines every day: reminders to focal points, alerts to data stewards.

Daily at 07:00 UTC, for every dataset of the reporting calendar, reporting unit
and open period (ended, not yet closed): is a return expected, received,
accepted, on time, late or overdue. A focal point whose return is not accepted
yet finds a reminder in its `receipts/` folder some days before the deadline
(`reminders.days_before` in `codelists/calendar.yaml`) and another the day after
the deadline passes; each is written once, however often the run repeats.
Suspended units expect nothing and get nothing.

When a deadline has passed with returns missing, the stewards get one alert per
dataset and period: an email through the `topcop_smtp` connection to
`TOPCOP_STEWARD_EMAILS` when both are set, a log line otherwise, and a row in
the warehouse's `alert` table either way. See docs/calendar.md. Corrections held for a
steward's approval longer than `TOPCOP_APPROVAL_REMIND_AFTER_DAYS` (default 3) are
reminded the same way, once per interval, for as long as they wait.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from topcop.orchestration import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="topcop_deadlines",
    schedule="0 7 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["topcop", "calendar"],
    doc_md=__doc__,
)
def topcop_deadlines():
    @task
    def watch_deadlines() -> dict:
        """Classify every open period for the run's date and write the reminders due; a summary."""
        from datetime import UTC, datetime

        from topcop.calendar import watch_deadlines as watch
        from topcop.landing import landing
        from topcop.warehouse.engine import warehouse_engine
        from topcop.warehouse.migrate import migrate

        logical_date = get_current_context().get("logical_date") or datetime.now(UTC)
        engine = warehouse_engine()
        migrate(engine)
        return watch(engine, landing(), logical_date.date()).summary()

    @task
    def alert_stewards(summary: dict) -> int:
        """Send each steward alert of the watch once (email or log line, stored); how many went out."""
        from topcop.alerts import StewardAlert
        from topcop.alerts import alert_stewards as alert
        from topcop.warehouse.engine import warehouse_engine

        engine = warehouse_engine()
        sent = 0
        for item in summary["alerts"]:
            a = StewardAlert.from_dict(item)
            sent += alert(engine, a.subject, a.body, kind=a.kind, key=a.key) is not None
        return sent

    @task
    def remind_approvals() -> int:
        """Remind the stewards of corrections held longer than TOPCOP_APPROVAL_REMIND_AFTER_DAYS."""
        from datetime import UTC, datetime

        from topcop import config
        from topcop.alerts import StewardAlert
        from topcop.alerts import alert_stewards as alert
        from topcop.approval import migrated_engine, reminders

        engine = migrated_engine()
        sent = 0
        for item in reminders(engine, datetime.now(UTC), config.approval_remind_after()):
            a = StewardAlert.from_dict(item)
            sent += alert(engine, a.subject, a.body, kind=a.kind, key=a.key) is not None
        return sent

    alert_stewards(watch_deadlines())
    remind_approvals()  # steward approval (issue 15)


topcop_deadlines()
