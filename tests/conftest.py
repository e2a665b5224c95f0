"""Shared test set-up: isolated state directories and, once per session, Airflow's metadata DB."""

from __future__ import annotations

import os
import tempfile

# Before anything imports airflow or topcop: every test session gets its own state.
_SESSION_DIR = tempfile.mkdtemp(prefix="topcop-tests-")
os.environ.setdefault("TOPCOP_VAR", os.path.join(_SESSION_DIR, "var"))
os.environ.setdefault("AIRFLOW_HOME", os.path.join(_SESSION_DIR, "airflow"))
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault(
    "AIRFLOW__CORE__DAGS_FOLDER", os.path.join(os.path.dirname(__file__), "..", "dags")
)
# Our package is installed into the venv; Airflow's plugin loader must not import it file by file.
os.environ.setdefault(
    "AIRFLOW__CORE__PLUGINS_FOLDER", os.path.join(_SESSION_DIR, "airflow-plugins")
)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

# Real servers started by the tests: PostgreSQL (initdb/pg_ctl) and S3 (moto's HTTP server).
pytest_plugins = ["pg_server", "s3_server", "airflow_server"]  # airflow_server: steward tests
pytest_plugins += ["export_demo"]  # SDMX exports (issue 17): the demo warehouse, once a session


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's SQLite metadata DB, migrated once for the whole session."""
    home = Path(os.environ["AIRFLOW_HOME"])
    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return home
