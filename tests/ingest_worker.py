"""An ingest in a process of its own, for the tests that need a real one: killed with SIGKILL, or racing another.

Run as ``python tests/ingest_worker.py --today 2026-05-15 [--wait start|listed]``.
The landing and the warehouse come from the environment (``TOPCOP_VAR``,
``TOPCOP_LANDING``, ``TOPCOP_WAREHOUSE_URL``, ``AIRFLOW_CONN_TOPCOP_S3``), as in a
deployment. It does what one ingest run does: list every inbox, then take each
file through ``process_return`` on its own, as Airflow's mapped tasks would, so
one file's failure does not stop the others. It prints one JSON line per file,
its reference and either the result or the error, and exits 0 when it got
through the list.

``--wait start`` first imports everything a run needs (Great Expectations takes
seconds), prints ``ready`` and waits for a line on stdin: two workers started
that way list the same inboxes at the same moment. ``--wait listed`` lists
first, prints ``listed`` and then waits: another run can take the files meanwhile.

Tests start it with ``start_worker`` and read what it did with ``outcomes``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

READY, LISTED = "ready", "listed"


def run(today: date, *, wait: str | None = None) -> list[dict[str, Any]]:
    """Process every waiting file once; one outcome per file, errors as values."""
    from topcop.ingest import pending_returns, process_return

    if wait == "start":
        _hold(READY)
    refs = pending_returns()
    if wait == "listed":
        _hold(LISTED)
    outcomes = []
    for ref in refs:
        try:
            result = process_return(ref, today=today)
        except Exception as error:  # reported to the test, which judges it
            outcome = {"ref": ref, "error": type(error).__name__, "message": str(error)}
        else:
            outcome = {"ref": ref, "result": result.as_dict()}
        print(json.dumps(outcome), flush=True)
        outcomes.append(outcome)
    return outcomes


def _hold(signal: str) -> None:
    print(signal, flush=True)
    sys.stdin.readline()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--today", type=date.fromisoformat, required=True)
    parser.add_argument("--wait", choices=("start", "listed"))
    args = parser.parse_args(argv)
    # Everything a run imports, before it starts, so two workers start level.
    import great_expectations  # noqa: F401

    import topcop.ingest
    import topcop.validation.check
    import topcop.warehouse.load  # noqa: F401

    run(args.today, wait=args.wait)
    return 0


# --- for the tests that start it -------------------------------------------------------------


class Worker:
    """A running worker: its process and the files its output goes to."""

    def __init__(self, process: subprocess.Popen, out: Path, err: Path):
        self.process, self.out, self.err = process, out, err

    @property
    def pid(self) -> int:
        return self.process.pid

    def lines(self) -> list[str]:
        return self.out.read_text(encoding="utf-8").splitlines() if self.out.exists() else []

    def wait_for(self, signal: str) -> None:
        """Block until the worker printed ``signal`` (``ready``/``listed``); fail if it died."""
        while signal not in self.lines():
            if self.process.poll() is not None:
                raise AssertionError(f"worker ended before {signal!r}: {self.stderr()[-3000:]}")
            time.sleep(0.05)

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.close()

    def finish(self) -> list[dict[str, Any]]:
        """Wait for the end; the outcomes it printed. A worker that crashed fails the test."""
        code = self.process.wait()
        if code != 0:
            raise AssertionError(f"worker exited {code}: {self.stderr()[-3000:]}")
        return outcomes(self.lines())

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace") if self.err.exists() else ""


def start_worker(
    today: date, *, var: Path, warehouse_url: str, logs: Path, wait: str | None = None
) -> Worker:
    """``tests/ingest_worker.py`` in a process of its own, on the given landing and warehouse.

    Everything else (landing backend, S3 connection) is inherited from the environment.
    """
    env = {
        **os.environ,
        "TOPCOP_VAR": str(var),
        "TOPCOP_WAREHOUSE_URL": warehouse_url,
        "GX_ANALYTICS_ENABLED": "false",
    }
    env.pop("TOPCOP_LANDING_ROOT", None)
    logs.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex[:8]
    out, err = logs / f"{name}.out", logs / f"{name}.err"
    command = [sys.executable, str(Path(__file__)), "--today", today.isoformat()]
    # Output to files, not pipes: a chatty worker must never block on a full pipe
    # while the test is busy polling the database.
    with open(out, "w", encoding="utf-8") as stdout, open(err, "w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [*command, *(["--wait", wait] if wait else [])],
            env=env,
            stdin=subprocess.PIPE if wait else subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
    return Worker(process, out, err)


def outcomes(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith("{")]


if __name__ == "__main__":
    sys.exit(main())
