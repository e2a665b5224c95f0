"""Long-running child processes that all stop when their launcher stops, grandchildren too.

``airflow standalone`` and ``airflow scheduler`` start processes of their own
(components, LocalExecutor workers, task supervisors). When the launcher is
stopped with SIGTERM they are not told, and they outlive it as orphans. Two
things close that gap here:

* the launcher becomes a *child subreaper* (Linux ``prctl``): a descendant whose
  parent dies is re-parented to the launcher, not to init, so every descendant
  stays findable with ``psutil`` until it has exited;
* each child runs in a session of its own, so a terminal's Ctrl-C reaches only
  the launcher, which then stops the children in its own order, asks each to
  stop with its own signal, waits, and kills whatever is left.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

log = logging.getLogger(__name__)

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux only); False where the kernel does not offer it."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def path_with_venv(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with this interpreter's ``bin`` first on PATH.

    Airflow starts its components as ``airflow …`` looked up on PATH; a venv that
    is not activated is not on it, and every component would fail to start.
    """
    bin_dir = str(Path(sys.executable).parent)
    parts = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and p != bin_dir]
    return {**env, "PATH": os.pathsep.join([bin_dir, *parts])}


@dataclass
class Child:
    """One supervised process: how to start it and how to ask it to stop."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path | None = None  # None: the launcher's own stdout/stderr
    stop_signal: int = signal.SIGTERM
    grace_seconds: float = 20.0
    cwd: Path | None = None
    popen_options: dict = field(default_factory=dict)  # e.g. user/group to run as
    process: subprocess.Popen | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open while it runs
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log else None,
            start_new_session=True,
            **self.popen_options,
        )
        log.info("started %s (pid %d)", self.name, self.process.pid)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tree(self) -> list[psutil.Process]:
        """The child and every descendant still alive."""
        if not self.running():
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the child's whole process group."""
        if self.running():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signum)

    def stop(self) -> int | None:
        """Ask the child to stop, wait up to the grace time, then kill its whole tree."""
        if self.process is None:
            return None
        if self.running():
            members = self.tree()
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(self.grace_seconds)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s: killing it", self.name, self.grace_seconds)
            kill_all(members)
        code = self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return code


def kill_all(processes: Iterable[psutil.Process], grace_seconds: float = 5.0) -> None:
    """SIGTERM what is still alive of ``processes``, then SIGKILL what outlives the grace time."""
    alive = [p for p in processes if _alive(p)]
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, still = psutil.wait_procs(alive, timeout=grace_seconds)
    for p in still:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(still, timeout=grace_seconds)


def reap_orphans(grace_seconds: float = 5.0, rounds: int = 5) -> None:
    """Stop every remaining descendant of this process (adopted orphans included).

    Repeated until none is left: a dying server may start a replacement worker
    (uvicorn does) after the first look.
    """
    for _ in range(rounds):
        left = [p for p in psutil.Process().children(recursive=True) if _alive(p)]
        if not left:
            return
        kill_all(left, grace_seconds)


def reap_sessions(sessions: set[int], grace_seconds: float = 5.0) -> None:
    """Stop this process's descendants that belong to one of ``sessions``.

    A library caller (a test fixture) may have other children of its own: only what
    the given children started, adopted orphans included, is ended.
    """

    def ours(p: psutil.Process) -> bool:
        try:
            return os.getsid(p.pid) in sessions
        except (ProcessLookupError, PermissionError):
            return False

    for _ in range(5):
        left = [p for p in psutil.Process().children(recursive=True) if _alive(p) and ours(p)]
        if not left:
            return
        kill_all(left, grace_seconds)


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class StopRequested(Exception):
    """SIGINT or SIGTERM reached the launcher."""


@contextlib.contextmanager
def stop_on_signals():
    """Turn SIGINT/SIGTERM into ``StopRequested`` in the main thread while the block runs."""

    def handler(signum, frame):
        raise StopRequested(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def supervise(children: list[Child], poll_seconds: float = 1.0) -> int:
    """Start ``children``, wait for a stop signal or for one to exit, stop all in reverse order.

    Returns the exit code of the child that ended first on its own (0 after a stop signal).
    """
    become_subreaper()
    code = 0
    try:
        with stop_on_signals():
            for child in children:
                child.start()
            while True:
                ended = [c for c in children if not c.running()]
                if ended:
                    code = ended[0].process.returncode or 0
                    log.warning("%s exited with %s: stopping", ended[0].name, code)
                    break
                time.sleep(poll_seconds)
    except StopRequested:
        code = 0
    finally:
        # A second Ctrl-C must not interrupt the clean stop half way.
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in reversed(children):
            child.stop()
        reap_orphans()
    return code
