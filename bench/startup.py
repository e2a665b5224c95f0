"""A file task's fixed cost: from the task's start to its first rows read, cold and warm.

The stage figures leave fixed costs out, for ours and for the naive baseline alike:
each stage process imports what it needs and runs once on a small return before it
is timed. This part measures those costs on their own, the same way for both, on a
one-row return (so reading it costs next to nothing and what is left is fixed):

- **cold**: a new interpreter, as a task that starts its own process: from just
  before the process is spawned to the moment the first rows are read, imports and
  first-call costs included. Ours imports what a file task imports
  (``topcop.ingest``) and calls ``read_return``; naive imports pandas and calls
  ``pandas.read_excel``.
- **warm**: a worker that has already imported what it needs (a Celery worker that
  preloads our modules, GX and pandas forks each task from itself): from the fork to
  the first rows read in the child. The parent has read one other return before, as
  a worker that has run a task has.

Each figure is the median of five; timestamps are ``time.time()`` on both sides.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.inputs import make_inputs

REPEATS = 5
_COLD = {
    "ours": (
        "import time, sys\n"
        "from topcop.ingest import process_return\n"
        "from topcop.returns.reader import read_return\n"
        "ret = read_return(sys.argv[1])\n"
        "assert len(ret.seizures) == 1\n"
        "print(time.time())\n"
    ),
    "naive": (
        "import time, sys\n"
        "import pandas as pd\n"
        "sheets = pd.read_excel(sys.argv[1], sheet_name=['metadata', 'indicators', 'seizures'])\n"
        "assert len(sheets['seizures']) == 1\n"
        "print(time.time())\n"
    ),
}


def run_startup(out: Path, log=print) -> dict[str, Any]:
    tiny = make_inputs(out / "inputs", 1).xlsx
    other = make_inputs(out / "inputs", 1, unit="MD").xlsx
    results: dict[str, Any] = {}
    for who in ("ours", "naive"):
        cold = [_cold(who, tiny) for _ in range(REPEATS)]
        warm = _warm(who, tiny, other)
        results[f"cold-{who}"] = {"seconds": statistics.median(cold), "runs": cold}
        results[f"warm-{who}"] = {"seconds": statistics.median(warm), "runs": warm}
        log(
            f"  fixed cost {who:<5}  cold {results[f'cold-{who}']['seconds']:.3f} s"
            f"  warm {results[f'warm-{who}']['seconds']:.3f} s"
        )
    results["warm"] = results["warm-ours"]
    return results


def _cold(who: str, path: Path) -> float:
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", _COLD[who], str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(done.stdout.strip().splitlines()[-1]) - started


def _warm(who: str, path: Path, other: Path) -> list[float]:
    """Fork from a parent that has imported and read once; the child times to its first rows."""
    read = _warm_parent(who, other)
    seconds = []
    for _ in range(REPEATS):
        reader, writer = os.pipe()
        started = time.time()
        pid = os.fork()
        if pid == 0:  # the task
            try:
                read(path)
                os.write(writer, repr(time.time()).encode())
            finally:
                os._exit(0)
        os.close(writer)
        stamp = os.read(reader, 64)
        os.close(reader)
        os.waitpid(pid, 0)
        seconds.append(float(stamp) - started)
    return seconds


def _warm_parent(who: str, other: Path):
    """What a warm worker holds: the modules a file task needs, used once."""
    if who == "ours":
        import great_expectations  # noqa: F401  (the worker preloads GX for validation)

        from topcop.ingest import process_return  # noqa: F401
        from topcop.returns.reader import read_return

        def read(path: Path) -> None:
            assert len(read_return(path).seizures) == 1

    else:
        import pandas as pd

        def read(path: Path) -> None:
            sheets = pd.read_excel(path, sheet_name=["metadata", "indicators", "seizures"])
            assert len(sheets["seizures"]) == 1

    read(other)
    return read


def main() -> int:
    """``python -m bench.startup OUT``: the figures as one JSON line (GX stays out of the caller)."""
    import json

    print(json.dumps(run_startup(Path(sys.argv[1]), log=lambda m: print(m, file=sys.stderr))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
