"""``topcop stack up|down``: what ``make stack`` and ``make stack-down`` run."""

from __future__ import annotations

import json
import logging
import os
import signal
import time

from topcop.stack.local import Stack, stack_dir
from topcop.stack.processes import StopRequested, reap_orphans, stop_on_signals

log = logging.getLogger(__name__)
MAX_RESTARTS = 5


def up() -> int:
    """Start the stack, print where it is, keep components running until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s stack %(message)s")
    stack = Stack()
    restarts: dict[str, int] = {}
    try:
        with stop_on_signals():
            stack.up()
            user, password = stack.login()
            print(
                f"\ntopcop stack is up: {stack.api_url}  (login: {user} / {password})\n"
                f"  S3 endpoint {stack.s3_endpoint}, buckets {', '.join(stack.buckets())}\n"
                f"  state and logs in {stack.root}; stop with Ctrl-C or `make stack-down`\n",
                flush=True,
            )
            while True:
                time.sleep(2)
                for name, child in list(stack.children.items()):
                    if child.running():
                        continue
                    restarts[name] = restarts.get(name, 0) + 1
                    if restarts[name] > MAX_RESTARTS:
                        log.error("%s keeps exiting; stopping the stack", name)
                        return 1
                    log.warning("%s exited (%s): restarting", name, child.process.returncode)
                    stack.restart(name)
    except StopRequested:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.down()
        reap_orphans()  # this process is the stack's launcher: nothing of its own is left
        print("topcop stack stopped; data kept in", stack.root, flush=True)


def down(timeout: float = 180.0) -> int:
    """Ask a running ``topcop stack up`` to stop, and wait until it has."""
    state_file = stack_dir() / "stack.json"
    if not state_file.exists():
        print("no stack is running")
        return 0
    pid = json.loads(state_file.read_text())["pid"]
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        state_file.unlink(missing_ok=True)
        print("no stack is running (stale state removed)")
        return 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print("topcop stack stopped")
            return 0
        time.sleep(0.5)
    print(f"the stack (pid {pid}) did not stop in {timeout:.0f} s")
    return 1
