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
    """When the ingest DAG runs: polling by default, or on S3 events through SQS.

    ``TOPCOP_INGEST_TRIGGER=sqs`` with ``TOPCOP_SQS_QUEUE_URL`` set: the landing
    buckets send ``s3:ObjectCreated:*`` notifications for ``inbox/`` to that
    queue, and an ``AssetWatcher`` in the triggerer starts a run per message
    batch. The triggerer needs the amazon provider's ``aiobotocore`` extra.
    The polling path stays the tested one: a run finds every waiting file,
    whatever triggered it, so a lost event only delays a file until the next run.
    """
    if os.environ.get("TOPCOP_INGEST_TRIGGER", "poll") != "sqs":
        return POLL_EVERY
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
    from airflow.sdk import AssetWatcher

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
