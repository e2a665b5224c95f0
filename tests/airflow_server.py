"""A real Airflow for the steward tests: API server (UI, REST, execution API, our plugin) and scheduler.

Started once per session as subprocesses on a metadata DB and a ``TOPCOP_VAR`` of their
own, so the scheduler never picks up the runs other tests make with ``dag.test()``. The
venv's ``bin`` goes first on ``PATH`` (Airflow starts its task processes by name).
Login is Airflow's simple auth manager with one user, ``steward``, whose password the
test writes into the passwords file the manager reads.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

USER = "steward"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AirflowServer:
    """The running components, their URL and a logged-in REST client."""

    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(12)
        self.var = root / "var"
        home = root / "airflow"
        home.mkdir(parents=True, exist_ok=True)
        passwords = home / "passwords.json"
        passwords.write_text(json.dumps({USER: self.password}))
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "TOPCOP_VAR": str(self.var),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }
        self.env.pop("TOPCOP_WAREHOUSE_URL", None)  # the default: SQLite under TOPCOP_VAR
        self.processes: dict[str, subprocess.Popen] = {}
        self._token: str | None = None

    def airflow(self, *args: str) -> None:
        subprocess.run([str(BIN / "airflow"), *args], env=self.env, check=True, capture_output=True)

    def start(self, *components: str) -> None:
        for name in components:
            args = ["api-server", "--port", str(self.port)] if name == "api-server" else [name]
            log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - kept for the process
            self.processes[name] = subprocess.Popen(
                [str(BIN / "airflow"), *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if "api-server" in components:
            self._wait_healthy()

    def stop(self) -> None:
        """SIGTERM each component's process group, SIGKILL what is left after 30 s."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        self._token = None

    def _wait_healthy(self, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            server = self.processes["api-server"]
            if server.poll() is not None:
                raise RuntimeError(f"api-server exited: see {self.root / 'api-server.log'}")
            try:
                if httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"api-server not healthy: see {self.root / 'api-server.log'}")

    def token(self) -> str:
        if self._token is None:
            response = httpx.post(
                f"{self.url}/auth/token",
                json={"username": USER, "password": self.password},
                timeout=30,
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def wait_for(self, what: str, check, timeout: float = 300, every: float = 1.0) -> Any:
        """Poll ``check()`` until it returns something truthy; that value."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if value := check():
                return value
            time.sleep(every)
        logs = {p.name: p.read_text(errors="replace")[-3000:] for p in self.root.glob("*.log")}
        raise TimeoutError(f"{what} after {timeout} s; logs: {logs}")


@pytest.fixture(scope="session")
def airflow_server() -> Iterator[AirflowServer]:
    """API server and scheduler on their own metadata DB, every DAG serialized up front."""
    server = AirflowServer(Path(tempfile.mkdtemp(prefix="topcop-airflow-")))
    server.airflow("db", "migrate")
    server.airflow("dags", "reserialize")
    server.start("scheduler", "api-server")
    try:
        yield server
    finally:
        server.stop()
