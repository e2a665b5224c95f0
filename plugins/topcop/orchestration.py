"""What the DAG files share: the warehouse Asset, default task arguments, steward alerts.

Kept apart from the domain modules, which run without Airflow; DAG files import
only this and call domain functions inside tasks.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset

log = logging.getLogger(__name__)

# Updated whenever an ingest run loaded at least one return; report builds wait on it.
# The "x-" scheme marks a private URI: Airflow then skips looking for a provider's
# URI normaliser, which would load every provider's metadata (about 0.15 s) at parse.
WAREHOUSE = Asset(name="topcop_warehouse", uri="x-topcop://warehouse/returns")

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

POLL_EVERY = timedelta(minutes=15)


def ingest_schedule():
    """When the ingest DAG runs: ``TOPCOP_INGEST_TRIGGER`` = ``watch``, ``poll`` or ``sqs``.

    * ``watch``: files are processed as they arrive. ``InboxWatchTrigger`` runs in the
      triggerer and updates the landing Asset when new files wait; the 15-minute
      timetable stays as a safety net (``AssetOrTimeSchedule``). What
      ``make stack`` runs.
    * ``poll`` (default for the embedded demo): every 15 minutes.
    * ``sqs`` with ``TOPCOP_SQS_QUEUE_URL``: the landing buckets send
      ``s3:ObjectCreated:*`` notifications for ``inbox/`` to that queue, read by the
      common-messaging provider's trigger (open upstream bugs; not the tested path).

    Whatever fired, a run takes every waiting file, and runs go one at a time, so a
    file is never processed twice because two triggers fired.
    """
    mode = os.environ.get("TOPCOP_INGEST_TRIGGER", "poll")
    if mode == "poll":
        return POLL_EVERY
    from airflow.sdk import AssetOrTimeSchedule, AssetWatcher, DeltaTriggerTimetable

    if mode == "watch":
        from topcop.landing.watch import DEFAULT_POLL_SECONDS, InboxWatchTrigger

        every = float(os.environ.get("TOPCOP_WATCH_SECONDS", DEFAULT_POLL_SECONDS))
        watcher = AssetWatcher(name="topcop_inbox_watch", trigger=InboxWatchTrigger(every))
        landing = Asset(name="topcop_landing", uri="x-topcop://landing/inbox", watchers=[watcher])
        return AssetOrTimeSchedule(timetable=DeltaTriggerTimetable(POLL_EVERY), assets=landing)
    if mode != "sqs":
        raise ValueError(f"TOPCOP_INGEST_TRIGGER={mode!r}: expected watch, poll or sqs")
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

    trigger = MessageQueueTrigger(
        scheme="sqs",
        sqs_queue=os.environ["TOPCOP_SQS_QUEUE_URL"],
        aws_conn_id=os.environ.get("TOPCOP_S3_CONN_ID", "topcop_s3"),
    )
    return [
        Asset(
            name="topcop_landing_events",
            uri="x-topcop://landing/events",
            watchers=[AssetWatcher(name="topcop_landing_sqs", trigger=trigger)],
        )
    ]


def ingest_run_active(run_id: str) -> bool:
    """Whether an ingest run still runs (it may hold files it claimed): asked of Airflow.

    A run Airflow does not know (deleted) holds nothing.
    """
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        state = RuntimeTaskInstance.get_dagrun_state(dag_id="topcop_ingest", run_id=run_id)
    except Exception:
        log.warning("ingest run %r unknown to Airflow: its claims are taken over", run_id)
        return False
    return getattr(state, "value", state) in ("queued", "running")


def alert_stewards(context: dict[str, Any]) -> None:
    """Failure callback: a task gave up after its retries; tell the data stewards.

    Stores an alert row and e-mails the stewards when mail is configured
    (``topcop.alerts``); never raises, since the warehouse may be what failed.
    """
    from topcop.alerts import alert_task_failure

    alert_task_failure(context)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "topcop-data-stewards",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "on_failure_callback": alert_stewards,
}
