"""``make bench``: every benchmark in one run, figures in ``var/bench/``.

Parts, in order: the stage benchmarks and their baselines (``bench.run``, on a
throwaway PostgreSQL server), a file task's fixed cost (``bench.startup``), the DAG parse cost (``bench.dag_parse``) and the
Airflow backfill (``bench.backfill``) and the production stack (``bench.stack``). Then ``results.json``, ``growth.png``,
the printed table with ratios and verdicts, and, after a complete run, the
figures in bench/README.md.

Environment: ``BENCH_SIZES=1000,10000`` runs a subset of sizes (a quick check;
the README is then left alone), ``BENCH_PARTS=stages,parse,backfill`` a subset
of parts, ``BENCH_REPEATS`` caps the repeats, ``BENCH_NAIVE_MAX_ROWS`` skips the
naive baseline above a size.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import report
from bench.run import DEFAULT_SIZES, run_stages, sizes

PROJECT = Path(__file__).resolve().parent.parent
OUT = PROJECT / "var" / "bench"
README = PROJECT / "bench" / "README.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
PARTS = ("stages", "startup", "parse", "backfill", "stack")


def main() -> int:
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    parts = [p.strip() for p in os.environ.get("BENCH_PARTS", ",".join(PARTS)).split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "parts": parts}

    if "stages" in parts:
        from bench import postgres

        with postgres.server(OUT / "postgres") as pg:
            pg.create_template()
            results.update(run_stages(OUT, pg, log=_log))
    else:
        results["stages"] = _previous().get("stages", {"xlsx": {}, "csv": {}})
    if "startup" in parts:
        _log("file task fixed cost (start to first rows read), cold and warm")
        results["startup"] = _startup()
    if "parse" in parts:
        from bench.dag_parse import run_dag_parse

        _log("DAG parse cost")
        results["dag_parse"] = run_dag_parse(OUT)
    if "backfill" in parts:
        from bench.backfill import run_backfill

        results["backfill"] = run_backfill(OUT, log=_log)
    if "stack" in parts:
        from bench.stack import run_stack

        _log("make stack: latency, task start-up, scale-out")
        results["stack"] = run_stack(OUT, log=_log)

    results["total_seconds"] = time.perf_counter() - started
    results["verdicts"] = report.verdicts(results)
    (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str), "utf-8")
    report.plot_growth(results, OUT / "growth.png")
    (OUT / "figures.md").write_text(report.markdown(results) + "\n", "utf-8")
    print(report.text_table(results))
    print(f"\nWritten: {OUT}/results.json, growth.png, figures.md, profile*.txt")
    complete = set(parts) == set(PARTS) and sizes() == list(DEFAULT_SIZES)
    if complete:
        _update_readme(report.markdown(results))
        print(f"Figures copied into {README.relative_to(PROJECT)}")
    print(f"Total: {results['total_seconds'] / 60:.1f} min")
    return 0


def machine() -> dict[str, Any]:
    """What the figures ran on, as the README states it."""
    cpu = "unknown CPU"
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    if m := re.search(r"^Model name:\s*(.+)$", lscpu, re.MULTILINE):
        cpu = m.group(1).strip()
    with open("/proc/meminfo", encoding="utf-8") as f:
        kib = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    from topcop.stack.postgres import binary as _binary

    pg = subprocess.run([_binary("pg_ctl"), "--version"], capture_output=True, text=True)
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in (
            "pandas",
            "python-calamine",
            "fastexcel",
            "pyarrow",
            "openpyxl",
            "great-expectations",
            "sqlalchemy",
            "psycopg",
            "apache-airflow",
        )
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": kib / 2**20,
        "python": platform.python_version(),
        "postgresql": pg.stdout.strip().rsplit(" ", 1)[-1],
        "platform": platform.platform(),
        "packages": packages,
        "load_average_at_start": os.getloadavg(),
    }


def _update_readme(figures: str) -> None:
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{figures}\n{END}{tail}", encoding="utf-8")


def _startup() -> dict[str, Any]:
    """bench.startup in a process of its own: its warm worker imports GX, this process must not."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.startup", str(OUT)],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT,
        env={**os.environ, "GX_ANALYTICS_ENABLED": "false"},
    )
    sys.stderr.write(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _previous() -> dict[str, Any]:
    path = OUT / "results.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def _log(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    sys.exit(main())
