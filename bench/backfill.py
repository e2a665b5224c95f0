"""Airflow's overhead: a multi-year backfill through the ingest DAG, beside the same work without Airflow.

Five active reporting units × 20 quarters (100 small returns) are dropped into
a local landing under ``var/bench/backfill``; a real Airflow (scheduler,
dag-processor and api-server, LocalExecutor, parallelism 2, SQLite metadata
DB) runs the ingest DAG once, triggered from the command line. The same 100
files then go through ``process_return`` in one plain process. The ratio of
Airflow's wall time to that summed domain time is the overhead.

A backfill reaches periods that closed years ago, which the return contract
sends to a steward for approval. The backfill runs as that approval: a copy of
the codelists whose calendar keeps periods open for ten years (data, not code).
Airflow is always shut down at the end, whatever happened.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import yaml

UNITS = ("AM", "AZ", "GE", "MD", "UA")
QUARTERS = int(os.environ.get("BENCH_BACKFILL_QUARTERS", 20))  # fewer for a quick check
SEIZURE_ROWS = 100
DAG_ID = "topcop_ingest"
RUN_ID = "bench_backfill"
PARALLELISM = 2
RUN_TIMEOUT = 1800  # seconds: a stuck run fails the benchmark instead of hanging it
OPEN_DAYS = 3650  # the steward's approval: periods stay open for ten years


def run_backfill(out: Path, log=print) -> dict[str, Any]:
    """Drop the returns, run them through Airflow and through plain Python; the figures."""
    out = out.resolve()
    root = out / "backfill"
    shutil.rmtree(root, ignore_errors=True)
    files = _returns(out / "inputs" / "backfill")
    codelists = _approved_codelists(root / "codelists")
    log(f"backfill: {len(files)} returns ({len(UNITS)} units × {QUARTERS} quarters)")

    domain = _domain_run(root / "domain", files, codelists)
    log(
        f"  in-process: {domain['sum_seconds']:.1f} s summed over {domain['returns']} returns "
        f"(first call {domain['first_seconds']:.1f} s, median {domain['median_seconds']:.2f} s)"
    )
    airflow = _airflow_run(root / "airflow-run", files, codelists, log)
    ratio = airflow["wall_seconds"] / domain["sum_seconds"]
    log(
        f"  Airflow: {airflow['wall_seconds']:.1f} s wall, "
        f"{airflow['returns_per_minute']:.1f} returns/min, ratio to domain time {ratio:.2f}"
    )
    return {
        "units": list(UNITS),
        "quarters": QUARTERS,
        "seizure_rows": SEIZURE_ROWS,
        "parallelism": PARALLELISM,
        "domain": domain,
        "airflow": airflow,
        "overhead_ratio": ratio,
    }


# --- the returns -------------------------------------------------------------------------


def _returns(directory: Path) -> list[tuple[str, Path, datetime]]:
    """(unit, file, arrival time) for every unit and quarter, made once and kept."""
    from topcop.periods import last_closed_periods
    from topcop.returns.samples import fill_template, sample_content

    # The quarters before the last closed one at the time the files were made are
    # fixed by their names, so a rerun on a later day makes a new set.
    today = datetime.now(UTC).date()
    made = []
    for period in last_closed_periods(today, QUARTERS):
        arrival = datetime.combine(period.end + timedelta(days=12), clock_time(9), UTC)
        for unit in UNITS:
            path = directory / unit / f"{unit}_{period.code}_return.xlsx"
            if not path.exists():
                sample = sample_content(unit, period.code, seed=11, seizure_rows=SEIZURE_ROWS)
                fill_template(sample, path)
            made.append((unit, path, arrival))
    return made


def _approved_codelists(directory: Path) -> Path:
    from topcop import config

    shutil.copytree(config.codelists_dir(), directory)
    calendar_path = directory / "calendar.yaml"
    calendar = yaml.safe_load(calendar_path.read_text(encoding="utf-8"))
    for spec in calendar["datasets"].values():
        spec["close_after_days"] = OPEN_DAYS
    calendar_path.write_text(yaml.safe_dump(calendar, sort_keys=False), encoding="utf-8")
    return directory


def _drop(landing_root: Path, files: list[tuple[str, Path, datetime]]) -> None:
    for unit, path, arrival in files:
        inbox = landing_root / unit / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        target = inbox / path.name
        shutil.copyfile(path, target)
        os.utime(target, (arrival.timestamp(), arrival.timestamp()))


# --- the same work without Airflow ----------------------------------------------------------

_DOMAIN_SCRIPT = """
import json, sys, time
from topcop.ingest import pending_returns, process_return
durations, statuses = [], []
for ref in pending_returns():
    t = time.perf_counter()
    result = process_return(ref)
    durations.append(time.perf_counter() - t)
    statuses.append(result.status)
print(json.dumps({"durations": durations, "statuses": statuses}))
"""


def _domain_run(root: Path, files, codelists: Path) -> dict[str, Any]:
    """``process_return`` over the same files in one process, as the DAG's tasks call it."""
    env = _topcop_env(root, codelists)
    _drop(root / "var" / "landing", files)
    result = subprocess.run(
        [sys.executable, "-c", _DOMAIN_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"in-process backfill failed:\n{result.stderr[-4000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    durations = data["durations"]
    return {
        "returns": len(durations),
        "sum_seconds": sum(durations),
        "first_seconds": durations[0],
        "median_seconds": statistics.median(durations),
        "statuses": _count(data["statuses"]),
    }


# --- the same work through Airflow -------------------------------------------------------------


def _airflow_run(root: Path, files, codelists: Path, log) -> dict[str, Any]:
    env = _airflow_env(root, codelists)
    _drop(root / "var" / "landing", files)
    _airflow(env, "db", "migrate")
    _airflow(env, "dags", "reserialize")
    with _components(env, root, log):
        _airflow(env, "dags", "unpause", DAG_ID)
        started = time.perf_counter()
        _airflow(env, "dags", "trigger", DAG_ID, "--run-id", RUN_ID)
        state = _wait_for_run(Path(env["AIRFLOW_HOME"]) / "airflow.db")
        wall = time.perf_counter() - started
        tasks = json.loads(
            _airflow(env, "tasks", "states-for-dag-run", DAG_ID, RUN_ID, "--output", "json")
        )
    processed = [t for t in tasks if t["task_id"] == "process_returns"]
    if state != "success" or any(t["state"] != "success" for t in processed):
        raise RuntimeError(f"a task of the backfill run failed; see the logs in {root}/logs")
    durations = [_duration(t) for t in processed]
    warehouse = _warehouse_statuses(Path(env["TOPCOP_VAR"]) / "warehouse.db")
    returns = sum(warehouse.values())  # a task may take several files (TOPCOP_INGEST_MAX_TASKS)
    if returns != len(files):
        raise RuntimeError(f"the backfill recorded {returns} submissions for {len(files)} files")
    return {
        "state": state,
        "wall_seconds": wall,
        "run_seconds": _run_seconds(Path(env["AIRFLOW_HOME"]) / "airflow.db"),
        "returns": returns,
        "tasks": len(processed),
        "returns_per_minute": 60 * returns / wall,
        "task_seconds_sum": sum(durations),
        "task_seconds_median": statistics.median(durations) if durations else None,
        "task_states": _count(t["state"] for t in tasks),
        "warehouse": warehouse,
        "dag_processor": _dag_processor_durations(root / "component-logs" / "dag-processor.log"),
    }


def _airflow_env(root: Path, codelists: Path) -> dict[str, str]:
    from topcop import config

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = _topcop_env(root, codelists)
    home = root / "airflow"
    env.update(
        {
            **{k: v for k, v in config.airflow_defaults().items() if k != "TOPCOP_VAR"},
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # Only the triggered run: no scheduled run may take the files first.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": base,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(root / "logs"),
        }
    )
    return env


def _topcop_env(root: Path, codelists: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "TOPCOP_"))  # nothing of the caller's own set-up
    }
    env.update(
        {
            "TOPCOP_VAR": str(root / "var"),
            "TOPCOP_CODELISTS": str(codelists),
            "TOPCOP_LANDING": "local",
            "GX_ANALYTICS_ENABLED": "false",
        }
    )
    return env


@contextmanager
def _components(env: dict[str, str], root: Path, log):
    """Scheduler, dag-processor and api-server in the background; all stopped on the way out."""
    logs = root / "component-logs"
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for component in ("api-server", "scheduler", "dag-processor"):
            output = stack.enter_context(open(logs / f"{component}.log", "w"))
            process = subprocess.Popen(
                [_airflow_binary(), component],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with its children
            )
            stack.callback(_stop, process)
            log(f"  started airflow {component} (pid {process.pid})")
        _wait_for_api(env["AIRFLOW__API__BASE_URL"])
        yield


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the component's process group, SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def _wait_for_api(base: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the Airflow api-server did not answer at {base} in {timeout} s")


def _wait_for_run(metadata_db: Path) -> str:
    """Poll the metadata DB (read-only) until the run ends; its final state."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        with sqlite3.connect(f"file:{metadata_db}?mode=ro", uri=True, timeout=30) as conn:
            row = conn.execute(
                "SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (DAG_ID, RUN_ID)
            ).fetchone()
            failing = conn.execute(
                "SELECT COUNT(*) FROM task_instance WHERE dag_id = ? AND run_id = ?"
                " AND state IN ('up_for_retry', 'failed')",
                (DAG_ID, RUN_ID),
            ).fetchone()[0]
        if failing:
            # A retry waits minutes and its figures mean nothing: stop here and say why.
            return "failed"
        if row and row[0] in ("success", "failed"):
            return row[0]
        time.sleep(1)
    raise RuntimeError(f"the backfill run did not end within {RUN_TIMEOUT} s")


def _run_seconds(metadata_db: Path) -> float | None:
    """The run's own start to end as Airflow recorded it (the trigger command not included)."""
    with sqlite3.connect(f"file:{metadata_db}?mode=ro", uri=True) as conn:
        start, end = conn.execute(
            "SELECT start_date, end_date FROM dag_run WHERE dag_id = ? AND run_id = ?",
            (DAG_ID, RUN_ID),
        ).fetchone()
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


_STATS_ROW = re.compile(r"^\S+\s+(\w+\.py)\s.*?\s(\d+\.\d+s)\s+\d{4}-", re.MULTILINE)


def _dag_processor_durations(log: Path) -> dict[str, str]:
    """Per DAG file, the last parse duration the dag-processor printed in its stats table."""
    if not log.exists():
        return {}
    text = log.read_text(encoding="utf-8", errors="replace")
    # Later tables overwrite earlier ones: the last reported duration stays.
    return {m.group(1): m.group(2) for m in _STATS_ROW.finditer(text)}


def _warehouse_statuses(path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT status, COUNT(*) FROM submission GROUP BY status"))


def _airflow(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [_airflow_binary(), *args], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def _airflow_binary() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _duration(task: dict[str, str]) -> float:
    start, end = task.get("start_date"), task.get("end_date")
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
