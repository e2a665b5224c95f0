"""What the DAG files share: the warehouse Asset, default task arguments, steward alerts.

Kept apart from the domain modules, which run without Airflow; DAG files import
only this and call domain functions inside tasks.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset

log = logging.getLogger(__name__)

# Updated whenever an ingest run loaded at least one return; report builds wait on it.
WAREHOUSE = Asset(name="topcop_warehouse", uri="topcop://warehouse/returns")

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")


def alert_stewards(context: dict[str, Any]) -> None:
    """Failure callback: a task gave up after its retries; tell the data stewards."""
    ti = context.get("task_instance") or context.get("ti")
    log.error(
        "TOPCOP ALERT: %s.%s failed after retries (run %s): %s",
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        getattr(ti, "run_id", "?"),
        context.get("exception"),
    )


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "topcop-data-stewards",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "on_failure_callback": alert_stewards,
}
