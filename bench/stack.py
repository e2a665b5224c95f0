"""``make stack`` measured: drop→receipt latency, and what a file task costs before our code runs.

Starts the stack (``topcop.stack.local.Stack``) in a throwaway folder on free
ports, drops small returns into the units' S3 inboxes at random moments, and
reads each receipt's arrival from S3 (its LastModified) against the moment the
drop returned. From Airflow's metadata: for every ``process_returns`` task,
queued → started (executor pick-up and process start) and its whole duration.
Run once with the workers preloading our modules (``topcop.stack.preload``) and
once without, so the fixed cost of a task is seen side by side.

``python -m bench.stack`` (or ``BENCH_PARTS=stack python -m bench``; ``latency``,
``startup`` (five files 30 s apart: no wait for a slot) or ``scale-out`` for one part);
``BENCH_STACK_FILES`` (default 20) files per run; ``BENCH_STACK_BACKFILL`` (default
100) returns for the scale-out run (one worker with one task slot, then two).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg

from topcop.periods import last_closed_periods
from topcop.returns.samples import fill_template, sample_content
from topcop.stack.local import Stack

UNITS = ("AM", "AZ", "GE", "MD", "UA")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _query(stack: Stack, sql: str) -> list[tuple]:
    """Rows from Airflow's metadata DB (psycopg's URL form of the stack's)."""
    url = stack.metadata_url().replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(files: int, preload: bool, log=print, gap: float | None = None) -> dict[str, Any]:
    """Drop ``files`` returns at random moments 0-6 s apart (or every ``gap`` seconds).

    With a gap longer than a run, every file meets an idle stack: its task's start-up
    is then the executor's and the task process's own, with no wait for a free slot.
    """
    root = Path(tempfile.mkdtemp(prefix="topcop-bench-stack-"))
    root.chmod(0o711)
    extra = {"TOPCOP_WATCH_SECONDS": "2"}
    stack = Stack(root=root, ports={n: _free_port() for n in ("api", "postgres", "redis", "s3")})
    if not preload:
        # Airflow's own Celery configuration: no modules imported before the fork.
        extra["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] = (
            "airflow.providers.celery.executors.default_celery.DEFAULT_CELERY_CONFIG"
        )
    stack.extra_env = extra
    rng = random.Random(20261207)
    periods = [str(p) for p in last_closed_periods(date.today(), 4)]
    try:
        started = time.perf_counter()
        stack.up()
        log(f"stack up in {time.perf_counter() - started:.0f} s (preload={preload})")
        _wait_quiet(stack)
        client = stack.s3_client()
        drops: dict[tuple[str, str], datetime] = {}
        for i in range(files):
            unit, period = UNITS[i % len(UNITS)], periods[(i // len(UNITS)) % len(periods)]
            name = f"{unit}_{period}_bench_{i}.xlsx"
            path = fill_template(
                sample_content(unit, period, seed=1000 + i, seizure_rows=50), root / name
            )
            time.sleep(gap if gap is not None else rng.uniform(0, 6))  # as focal points send
            client.upload_file(str(path), f"topcop-{unit.lower()}", f"inbox/{name}")
            drops[(unit, name)] = datetime.now(UTC)
        latencies = _wait_receipts(client, drops, timeout=300 + 10 * files)
        tasks = _task_timings(stack)
        startups = _startups(stack)
        per_task = _per_task(stack)
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
    return {
        "preload": preload,
        "files": files,
        "latency_p50_s": _percentile(latencies, 0.5),
        "latency_p95_s": _percentile(latencies, 0.95),
        "latency_max_s": max(latencies),
        "task_queued_to_start_median_s": statistics.median(t[0] for t in tasks),
        "task_duration_median_s": statistics.median(t[1] for t in tasks),
        "tasks": len(tasks),
        # queued → the task function's first line (its "file task started" log line)
        "startup_median_s": statistics.median(s["queued_to_code"] for s in startups),
        "startup_p95_s": _percentile([s["queued_to_code"] for s in startups], 0.95),
        "started_to_code_median_s": statistics.median(s["started_to_code"] for s in startups),
        "per_task": per_task,
    }


def _wait_quiet(stack: Stack, timeout: float = 300) -> None:
    """Until the runs every DAG makes at creation (deadlines, templates, ingest) have ended.

    Measured from then on, the figures are the returns' own, not the stack's start.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ((runs, busy),) = _query(
            stack,
            "SELECT count(*), count(*) FILTER (WHERE state IN ('queued', 'running')) FROM dag_run",
        )
        if runs and not busy:
            return
        time.sleep(1)
    raise RuntimeError(f"the stack's first runs did not end in {timeout:.0f} s")


def _wait_receipts(client, drops: dict, timeout: float) -> list[float]:
    deadline = time.monotonic() + timeout
    latencies: dict[tuple[str, str], float] = {}
    while len(latencies) < len(drops) and time.monotonic() < deadline:
        for unit in {u for u, _ in drops}:
            listing = client.list_objects_v2(Bucket=f"topcop-{unit.lower()}", Prefix="receipts/")
            for obj in listing.get("Contents", []):
                for (u, name), dropped in drops.items():
                    if u == unit and obj["Key"].endswith(f"_{name}.json"):
                        latencies.setdefault(
                            (u, name), (obj["LastModified"] - dropped).total_seconds()
                        )
        time.sleep(0.5)
    missing = set(drops) - set(latencies)
    if missing:
        raise RuntimeError(f"no receipt for {sorted(missing)}")
    return list(latencies.values())


def _task_timings(stack: Stack) -> list[tuple[float, float]]:
    rows = _query(
        stack,
        "SELECT extract(epoch FROM start_date - queued_dttm), extract(epoch FROM end_date - start_date)"
        " FROM task_instance WHERE dag_id = 'topcop_ingest' AND task_id = 'process_returns'"
        " AND state = 'success'",
    )
    return [(float(a), float(b)) for a, b in rows]


def _startups(stack: Stack) -> list[dict[str, float]]:
    """Each file task's start-up: queued (metadata) → the first line of our code (its log).

    The task function's first statement logs "file task started"; its timestamp in
    the task's log file, against the TI's ``queued_dttm`` and ``start_date``, splits
    the start-up into the executor's part (queued → started: broker, pick-up, fork)
    and the task process's (started → our code: DAG parse, imports not preloaded).
    """
    rows = _query(
        stack,
        "SELECT id::text, queued_dttm, start_date FROM task_instance"
        " WHERE dag_id = 'topcop_ingest' AND task_id = 'process_returns' AND state = 'success'",
    )
    times = {ti: (queued, started) for ti, queued, started in rows}
    found = []
    for path in (stack.airflow_home / "logs" / "dag_id=topcop_ingest").rglob("*.log"):
        if "task_id=process_returns" not in str(path):
            continue
        for line in path.read_text(errors="replace").splitlines():
            if "file task started" not in line:
                continue
            record = json.loads(line)
            if record.get("ti_id") in times:
                queued, started = times[record["ti_id"]]
                at = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
                found.append(
                    {
                        "queued_to_code": (at - queued).total_seconds(),
                        "started_to_code": (at - started).total_seconds(),
                    }
                )
            break
    if not found:
        raise RuntimeError("no 'file task started' line in the process_returns task logs")
    return found


def _per_task(stack: Stack) -> dict[str, dict[str, float]]:
    """Median queued → start and duration of every ingest task: the run's critical path."""
    rows = _query(
        stack,
        "SELECT task_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY"
        " extract(epoch FROM start_date - queued_dttm)),"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM end_date - start_date)),"
        " count(*) FROM task_instance WHERE dag_id IN ('topcop_ingest', 'topcop_report')"
        " AND start_date IS NOT NULL AND end_date IS NOT NULL GROUP BY task_id",
    )
    return {
        task: {"queued_to_start_s": round(q or 0, 2), "duration_s": round(d or 0, 2), "n": n}
        for task, q, d, n in rows
    }


def scale_out(returns: int, workers: int, log=print) -> dict[str, Any]:
    """A backfill: ``returns`` files dropped at once, worked off by ``workers`` workers of one slot."""
    root = Path(tempfile.mkdtemp(prefix="topcop-bench-scale-"))
    root.chmod(0o711)
    stack = Stack(
        root=root,
        ports={n: _free_port() for n in ("api", "postgres", "redis", "s3")},
        workers=workers,
        worker_concurrency=1,
        extra_env={"TOPCOP_WATCH_SECONDS": "2"},
    )
    # Distinct returns (a second one for a unit and closed period is a correction held
    # for a steward, which a backfill is not): 20 periods x 5 units = 100.
    periods = [str(p) for p in last_closed_periods(date.today(), max(1, -(-returns // len(UNITS))))]
    files = []
    for i in range(returns):
        unit, period = UNITS[i % len(UNITS)], periods[(i // len(UNITS)) % len(periods)]
        name = f"{unit}_{period}_backfill_{i}.xlsx"
        sample = sample_content(unit, period, seed=5000 + i, seizure_rows=50)
        files.append((unit, name, fill_template(sample, root / name)))
    try:
        stack.up()
        _wait_quiet(stack)
        client = stack.s3_client()
        started = time.perf_counter()
        drops = {}
        for unit, name, path in files:
            client.upload_file(str(path), f"topcop-{unit.lower()}", f"inbox/{name}")
            drops[(unit, name)] = datetime.now(UTC)
        _wait_receipts(client, drops, timeout=1800)
        seconds = time.perf_counter() - started
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
    log(f"{returns} returns on {workers} worker(s): {seconds:.0f} s")
    return {
        "returns": returns,
        "workers": workers,
        "seconds": seconds,
        "per_minute": returns / seconds * 60,
    }


def run_stack(out: Path, log=print) -> dict[str, Any]:
    files = int(os.environ.get("BENCH_STACK_FILES", "20"))
    result = {
        "preloaded": measure(files, preload=True, log=log),
        "not_preloaded": measure(files, preload=False, log=log),
    }
    backfill = int(os.environ.get("BENCH_STACK_BACKFILL", "100"))
    one, two = scale_out(backfill, 1, log), scale_out(backfill, 2, log)
    result["scale_out"] = {
        "one_worker": one,
        "two_workers": two,
        "ratio": two["per_minute"] / one["per_minute"],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "stack.json").write_text(json.dumps(result, indent=1), "utf-8")
    return result


if __name__ == "__main__":
    import sys

    out = Path(__file__).resolve().parent.parent / "var" / "bench"
    if sys.argv[1:] == ["scale-out"]:  # the backfill comparison alone
        n = int(os.environ.get("BENCH_STACK_BACKFILL", "100"))
        one, two = scale_out(n, 1), scale_out(n, 2)
        figures = {
            "one_worker": one,
            "two_workers": two,
            "ratio": two["per_minute"] / one["per_minute"],
        }
    elif sys.argv[1:] == ["startup"]:  # one file at a time on an idle stack, both configurations
        figures = {
            "preloaded": measure(5, preload=True, gap=30),
            "not_preloaded": measure(5, preload=False, gap=30),
        }
    elif sys.argv[1:] == ["latency"]:  # drop→receipt and start-up alone, both configurations
        files = int(os.environ.get("BENCH_STACK_FILES", "20"))
        figures = {
            "preloaded": measure(files, preload=True),
            "not_preloaded": measure(files, preload=False),
        }
    else:
        figures = run_stack(out)
    print(json.dumps(figures, indent=1))
