"""DAG parse cost: what the dag-processor pays for each DAG file, every time it parses it.

Airflow's dag-processor parses each file in a fresh child forked from a
long-lived parent that has Airflow loaded and has pre-imported the ``airflow.*``
modules the file names (``parsing_pre_import_modules``). Each file is measured
the same way: a new Python process imports those, parses a trivial DAG so the
parsing machinery is loaded, then a DagBag of the file records its own
per-file time (``dagbag_stats``). What is left is the file's own cost, our
``topcop.orchestration`` import included, since every child pays it again.
Three runs per file, the median kept. A DagBag of the whole folder in one
process shows the cost once shared imports are paid.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

RUNS = 3
TARGET_SECONDS = 0.2

_PARSE = """
import importlib, json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.file import iter_airflow_imports
# As the dag-processor's parent does before it forks a child for the file.
for module in iter_airflow_imports(sys.argv[1]):
    importlib.import_module(module)
DagBag(dag_folder=sys.argv[2])  # a trivial DAG: parsing machinery loaded, as in a long-lived parent
if sys.argv[3:] == ["assets"]:
    from airflow.sdk import Asset
    Asset(name="bench_warm", uri="bench://warm")  # providers' asset-URI handlers discovered
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": {k: str(v)[:500] for k, v in bag.import_errors.items()},
    "stats": [
        {"file": s.file, "seconds": s.duration.total_seconds(), "dags": s.dag_num,
         "tasks": s.task_num}
        for s in bag.dagbag_stats
    ],
}))
"""
_TRIVIAL_DAG = """
from airflow.sdk import DAG

DAG("bench_trivial", schedule=None)
"""


def run_dag_parse(out: Path) -> dict[str, Any]:
    from topcop import config

    dags = config.PROJECT_DIR / "dags"
    env = _env(out)
    trivial = out / "airflow-parse" / "trivial_dag.py"
    trivial.parent.mkdir(parents=True, exist_ok=True)
    trivial.write_text(_TRIVIAL_DAG, encoding="utf-8")
    files: dict[str, Any] = {}
    for path in sorted(dags.glob("*.py")):
        runs = [_parse(path, trivial, env) for _ in range(RUNS)]
        warm = [_parse(path, trivial, env, "assets") for _ in range(RUNS)]
        (stat,) = (s for s in runs[0]["stats"])
        seconds = statistics.median(r["stats"][0]["seconds"] for r in runs)
        files[path.name] = {
            "seconds": seconds,
            "runs": [r["stats"][0]["seconds"] for r in runs],
            # The first Asset with a URI in a process discovers every provider's
            # asset-URI handlers (the amazon provider's imports boto3): how much of
            # the figure that is.
            "seconds_asset_handlers_loaded": statistics.median(
                r["stats"][0]["seconds"] for r in warm
            ),
            "dags": stat["dags"],
            "tasks": stat["tasks"],
            "errors": runs[0]["errors"],
            "meets_target": seconds < TARGET_SECONDS and not runs[0]["errors"],
        }
    folder = _parse(dags, trivial, env)
    return {
        "target_seconds": TARGET_SECONDS,
        "files": files,
        "one_process": {Path(s["file"]).name: s["seconds"] for s in folder["stats"]},
    }


def _parse(path: Path, trivial: Path, env: dict[str, str], *options: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _PARSE, str(path), str(trivial), *options],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"parsing {path} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _env(out: Path) -> dict[str, str]:
    from topcop import config

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    home = (out / "airflow-parse").resolve()
    env.update(config.airflow_defaults())
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "GX_ANALYTICS_ENABLED": "false",
        }
    )
    return env
