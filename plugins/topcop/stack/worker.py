"""Celery configuration for topcop's workers: Airflow's defaults plus the modules to preload.

Named by ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS``; only a worker acts on
``imports`` (the scheduler's executor reads the same dictionary and ignores it).
"""

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {
    **DEFAULT_CELERY_CONFIG,
    "imports": (*DEFAULT_CELERY_CONFIG.get("imports", ()), "topcop.stack.preload"),
}
