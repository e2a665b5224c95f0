"""``make stack``: the production shape on this machine, every component its own process.

PostgreSQL holds Airflow's metadata DB (role ``airflow``) and the warehouse
(database ``warehouse`` owned by ``topcop_owner``, which runs the migrations; the
pipeline connects as ``topcop_loader``, analysts as ``topcop_analyst``). Redis is
the Celery broker; moto's server is the S3 endpoint with one bucket per reporting
unit and the policies of ``docker/s3-policies``. Airflow runs on CeleryExecutor:
api-server, scheduler, dag-processor, triggerer and two Celery workers, configured
only through ``AIRFLOW__…`` variables and ``AIRFLOW_CONN_…`` connections.

Everything lives in ``var/stack/`` (``TOPCOP_STACK_DIR``): data, logs, and the
generated passwords (``secrets.json``, readable by its owner only, never in the
repository). A stop (Ctrl-C, SIGTERM or ``make stack-down``) stops the components
in reverse order and keeps the data for the next start.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from topcop import config
from topcop.stack import postgres, services
from topcop.stack.processes import Child, become_subreaper, path_with_venv, reap_sessions

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"api": 8080, "postgres": 54329, "redis": 63799, "s3": 59000}
SECRET_NAMES = (
    "airflow_db",
    "topcop_owner",
    "topcop_loader",
    "topcop_analyst",
    "redis",
    "s3_key",
    "s3_secret",
    "jwt",
    "api_secret",
)
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def stack_dir() -> Path:
    return Path(os.environ.get("TOPCOP_STACK_DIR") or config.var_dir() / "stack")


def _port(name: str) -> int:
    return int(os.environ.get(f"TOPCOP_STACK_{name.upper()}_PORT", DEFAULT_PORTS[name]))


def load_secrets(path: Path) -> dict[str, str]:
    """The stack's passwords and keys, made once and kept (owner-only) for later starts."""
    if path.exists():
        found = json.loads(path.read_text())
        if all(k in found for k in (*SECRET_NAMES, "fernet")):
            return found
    from cryptography.fernet import Fernet

    made = {name: secrets.token_urlsafe(24) for name in SECRET_NAMES}
    made["fernet"] = Fernet.generate_key().decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(made, f, indent=1)
    return made


@dataclass
class Stack:
    """Where the stack lives and how each of its processes is started."""

    root: Path = field(default_factory=stack_dir)
    ports: dict[str, int] = field(default_factory=lambda: {n: _port(n) for n in DEFAULT_PORTS})
    workers: int = 2
    worker_concurrency: int = int(os.environ.get("TOPCOP_STACK_WORKER_CONCURRENCY", "2"))
    extra_env: dict[str, str] = field(default_factory=dict)
    children: dict[str, Child] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.secrets = load_secrets(self.root / "secrets.json")
        self.cluster = postgres.Cluster(self.root / "postgres", self.ports["postgres"])

    # --- addresses -------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    def metadata_url(self) -> str:
        return self.cluster.url("airflow", self.secrets["airflow_db"], "airflow")

    def warehouse_url(self, role: str = "topcop_loader") -> str:
        return self.cluster.url(role, self.secrets[role], "warehouse")

    def s3_client(self):
        return services.s3_client(
            self.s3_endpoint, self.secrets["s3_key"], self.secrets["s3_secret"]
        )

    def buckets(self) -> list[str]:
        from topcop.landing.s3 import bucket_pattern

        units = config.codelists().reporting_units
        return sorted(bucket_pattern().format(unit=u).lower() for u in units)

    # --- environment ---------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment every Airflow component (and ``topcop`` command) runs with."""
        s3 = {
            "conn_type": "aws",
            "login": self.secrets["s3_key"],
            "password": self.secrets["s3_secret"],
            "extra": {"region_name": services.S3_REGION, "endpoint_url": self.s3_endpoint},
        }
        db = self.metadata_url()
        settings = {
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(config.PROJECT_DIR / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.airflow_home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            # The stack serves files as they arrive: its DAGs start unpaused.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__FERNET_KEY": self.secrets["fernet"],
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
            # psycopg 3 for the async engine too (Airflow would otherwise want asyncpg).
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": db.replace(
                "postgresql+psycopg://", "postgresql+psycopg_async://", 1
            ),
            "AIRFLOW__CELERY__BROKER_URL": (
                f"redis://:{self.secrets['redis']}@127.0.0.1:{self.ports['redis']}/0"
            ),
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{db}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "topcop.stack.worker.CELERY_CONFIG",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.ports["api"]),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": self.secrets["api_secret"],
            "AIRFLOW__API_AUTH__JWT_SECRET": self.secrets["jwt"],
            # A worker that dies mid-task: its task is retried after a minute, not five.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "AIRFLOW_CONN_TOPCOP_S3": json.dumps(s3),
            "AIRFLOW_CONN_TOPCOP_WAREHOUSE": self.warehouse_url().replace(
                "postgresql+psycopg://", "postgresql://", 1
            ),
            "GX_ANALYTICS_ENABLED": "false",
            "TOPCOP_VAR": str(self.root / "topcop"),
            "TOPCOP_LANDING": "s3",
            "TOPCOP_INGEST_TRIGGER": "watch",
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "TOPCOP_"))}
        return path_with_venv({**env, **settings, **self.extra_env})

    # --- processes -------------------------------------------------------------

    def _child(self, name: str, argv: list[str], **kwargs) -> Child:
        return Child(name, argv, self.env(), log_path=self.root / "logs" / f"{name}.log", **kwargs)

    def _airflow(self, *args: str) -> list[str]:
        return [str(Path(sys.executable).with_name("airflow")), *args]

    def component(self, name: str) -> Child:
        """A fresh (not yet started) child for one Airflow component or worker."""
        if name.startswith("worker-"):
            n = int(name.split("-", 1)[1])
            env_port = {
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports["api"] + 100 + n)
            }
            child = self._child(
                name,
                self._airflow("celery", "worker", "--celery-hostname", f"{name}@%h"),
                grace_seconds=30,
            )
            child.env.update(env_port)
            return child
        child = self._child(name, self._airflow(name))
        if name == "triggerer":
            child.env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(self.ports["api"] + 99)
        return child

    def start(self, name: str, child: Child) -> Child:
        child.start()
        self.children[name] = child
        return child

    def up(self) -> None:
        """Start every service and component; returns once the API server answers."""
        become_subreaper()
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        self._write_state()
        self._start_postgres()
        self._start_redis()
        self._start_s3()
        self._prepare_airflow()
        for name in AIRFLOW_COMPONENTS:
            self.start(name, self.component(name))
        for n in range(1, self.workers + 1):
            self.start(f"worker-{n}", self.component(f"worker-{n}"))
        self._wait_api()
        self._wait_watching()

    def down(self) -> None:
        """Stop the Airflow components, save S3's objects, stop the services; keep the data."""
        sessions = {c.pid for c in self.children.values() if c.pid}  # each child leads its own
        airflow_names = [n for n in self.children if n not in ("postgres", "redis", "s3")]
        for name in reversed(airflow_names):
            self.children.pop(name).stop()
        if "s3" in self.children:
            try:
                saved = services.save_objects(self.s3_client(), self.root / "s3")
                log.info("saved %d S3 object(s) to %s", saved, self.root / "s3")
            except Exception:
                log.exception("could not save the S3 objects; the previous copy is kept")
        for name in ("s3", "redis", "postgres"):
            if name in self.children:
                self.children.pop(name).stop()
        reap_sessions(sessions)
        (self.root / "stack.json").unlink(missing_ok=True)

    def restart(self, name: str) -> Child:
        child = self.children.pop(name)
        child.stop()
        reap_sessions({child.pid})
        return self.start(name, self.component(name))

    # --- steps ---------------------------------------------------------------

    def _write_state(self) -> None:
        state = {"pid": os.getpid(), "ports": self.ports, "api": self.api_url}
        (self.root / "stack.json").write_text(json.dumps(state, indent=1))

    def _start_postgres(self) -> None:
        account = postgres.server_account()
        fresh = not self.cluster.initialized()
        if fresh:
            postgres.init_cluster(self.cluster.base, account, durable=True)
        child = self._child("postgres", self.cluster.server_argv(), stop_signal=signal.SIGINT)
        child.popen_options = postgres.as_account(account)
        self.start("postgres", child)
        self.cluster.wait_ready()
        self.cluster.ensure_role("airflow", self.secrets["airflow_db"])
        self.cluster.ensure_database("airflow", "airflow")
        self.cluster.ensure_role("topcop_owner", self.secrets["topcop_owner"])
        self.cluster.ensure_database("warehouse", "topcop_owner")
        # The migration grants these roles their rights; created here, by the superuser,
        # the schema's owner needs no CREATEROLE.
        for role in ("topcop_loader", "topcop_analyst"):
            self.cluster.ensure_role(role, self.secrets[role])

    def _start_redis(self) -> None:
        argv = services.redis_argv(self.ports["redis"], self.secrets["redis"], self.root / "redis")
        self.start("redis", self._child("redis", argv))
        services.wait_redis(self.ports["redis"], self.secrets["redis"])

    def _start_s3(self) -> None:
        self.start("s3", self._child("s3", services.s3_argv(self.ports["s3"])))
        client = self.s3_client()
        services.wait_s3(client)
        services.restore_objects(client, self.root / "s3")
        services.ensure_buckets(client, self.buckets())

    def _prepare_airflow(self) -> None:
        """Airflow's metadata schema, then the warehouse's, as the owner of each."""
        self._run(self._airflow("db", "migrate"), "airflow-db-migrate")
        owner_env = {"TOPCOP_WAREHOUSE_URL": self.warehouse_url("topcop_owner")}
        topcop = str(Path(sys.executable).with_name("topcop"))
        self._run([topcop, "migrate"], "warehouse-migrate", owner_env)

    def _run(self, argv: list[str], name: str, extra: dict[str, str] | None = None) -> None:
        logfile = self.root / "logs" / f"{name}.log"
        with open(logfile, "ab") as out:
            result = subprocess.run(
                argv, env={**self.env(), **(extra or {})}, stdout=out, stderr=subprocess.STDOUT
            )
        if result.returncode != 0:
            tail = logfile.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} failed (exit {result.returncode}):\n{tail}")

    def _wait_for(self, what: str, ready, timeout: float) -> None:
        """Until ``ready()``; fails at once when a component exits, else after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            dead = [n for n, c in self.children.items() if not c.running()]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited; see {self.root / 'logs'}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not within {timeout:.0f} s; see {self.root / 'logs'}")
            time.sleep(1)

    def _wait_api(self, timeout: float = 180.0) -> None:
        import urllib.error
        import urllib.request

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=5):
                    return True
            except (urllib.error.URLError, OSError):
                return False

        self._wait_for("the API server's answer", answers, timeout)

    def _wait_watching(self, timeout: float = 240.0) -> None:
        """Until a triggerer runs the inbox watcher: only then is a dropped file noticed.

        Before it, the ingest DAG's timetable may take the files first (its run at
        creation), and a file dropped in that window waits for the next run instead of
        seconds; ``make stack`` says it is up only once intake is live.
        """
        from sqlalchemy import create_engine, text

        engine = create_engine(self.metadata_url())
        query = text(
            "SELECT count(*) FROM trigger t JOIN asset_watcher w ON w.trigger_id = t.id"
            " WHERE t.triggerer_id IS NOT NULL"
        )

        def watching() -> bool:
            try:
                with engine.connect() as conn:
                    return bool(conn.execute(query).scalar())
            except Exception:  # the tables appear with the first DAG parse
                log.debug("metadata not ready", exc_info=True)
                return False

        try:
            self._wait_for("a triggerer running the inbox watcher", watching, timeout)
        finally:
            engine.dispose()

    def login(self) -> tuple[str, str]:
        """The UI's user and password (simple auth manager, generated on first start)."""
        path = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        for _ in range(60):
            if path.exists():
                return "admin", json.loads(path.read_text())["admin"]
            time.sleep(0.5)
        return "admin", f"(see {path})"
