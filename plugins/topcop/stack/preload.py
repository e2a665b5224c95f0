"""What a Celery worker imports once, before it forks the processes that run tasks.

Airflow's Celery worker runs each task in a process forked from a pool process,
itself forked from the worker: a module the worker imported at start is already
in every task's memory. A file task's start-up was about 3 s, nearly all of it
``import great_expectations`` (with scipy and altair behind it) and pandas; paid
once per worker here, it is gone from every task. Imported through Celery's
``imports`` setting (``topcop.stack.worker.CELERY_CONFIG``).
"""

import great_expectations  # noqa: F401
import openpyxl  # noqa: F401
import pandas  # noqa: F401
import python_calamine  # noqa: F401
from airflow.providers.amazon.aws.hooks.s3 import S3Hook  # noqa: F401

import topcop.ingest
import topcop.validation.check
import topcop.validation.data_docs
import topcop.warehouse.load  # noqa: F401
