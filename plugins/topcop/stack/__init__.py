"""The production shape as local processes: PostgreSQL, Redis, an S3 endpoint and Airflow on Celery.

``make stack`` (``topcop stack up``) starts them under one launcher that stops them
all again, in order and without orphans (``topcop.stack.processes``); the state
lives in ``var/stack/`` and survives a stop.
"""
