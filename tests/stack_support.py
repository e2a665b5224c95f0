"""Small waits shared by the tests that start real servers as processes."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(
    url: str,
    *,
    timeout: float,
    alive: subprocess.Popen | None = None,
    log: Path | None = None,
) -> None:
    """Wait until ``url`` answers 200; fail early, with the log's tail, when ``alive`` exits."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise AssertionError(
                f"exited with {alive.returncode} before {url} answered" + _tail(log)
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        time.sleep(1)
    raise AssertionError(f"{url} did not answer 200 in {timeout:.0f} s ({last})" + _tail(log))


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return "\n--- log tail ---\n" + log.read_text(errors="replace")[-4000:]
