"""Shared test set-up: isolated state directories and, once per session, Airflow's metadata DB."""

from __future__ import annotations

import os
import tempfile

# Before anything imports airflow or topcop: every test session gets its own state.
_SESSION_DIR = tempfile.mkdtemp(prefix="topcop-tests-")
os.environ.setdefault("TOPCOP_VAR", os.path.join(_SESSION_DIR, "var"))
os.environ.setdefault("AIRFLOW_HOME", os.path.join(_SESSION_DIR, "airflow"))
os.environ["GX_ANALYTICS_ENABLED"] = "false"
