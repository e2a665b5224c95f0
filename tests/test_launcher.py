"""``make airflow`` from a shell without the venv: the UI answers, and a SIGTERM leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from stack_support import free_port, wait_for_http

from topcop.stack.processes import Child, path_with_venv


def test_path_with_venv_puts_this_interpreter_first():
    env = path_with_venv({"PATH": "/usr/bin:/bin"})
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert env["PATH"].endswith("/usr/bin:/bin")


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_supervise_stops_grandchildren_that_ignore_their_parent(tmp_path):
    """A child that leaves a grandchild behind on SIGTERM: the launcher still ends it."""
    marker = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time, signal\n"
        "g = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'],"
        " start_new_session=True)\n"
        f"open({str(marker)!r}, 'w').write(str(g.pid))\n"
        "time.sleep(600)\n"
    )
    child = Child("leaky", [sys.executable, "-c", script], dict(os.environ), grace_seconds=2)
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from topcop.stack.processes import supervise, Child;"
            f"sys.exit(supervise([Child('leaky', {child.argv!r}, dict(__import__('os').environ),"
            " grace_seconds=2)]))",
        ]
    )
    deadline = time.monotonic() + 30
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline, "the grandchild never started"
        time.sleep(0.1)
    grandchild = psutil.Process(int(marker.read_text()))
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(30) == 0
    assert _alive([grandchild]) == []


def test_supervise_returns_when_a_child_exits_on_its_own():
    # In a launcher process of its own, as in use: supervise() ends every descendant of its
    # process, which here would include the test session's own servers.
    code = (
        "import sys, os; from topcop.stack.processes import Child, supervise;"
        "sys.exit(supervise([Child('short', [sys.executable, '-c', 'raise SystemExit(3)'],"
        " dict(os.environ))], poll_seconds=0.1))"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 3


@pytest.mark.slow
def test_make_airflow_serves_the_api_and_stops_every_component(tmp_path):
    """The command ``make airflow`` runs, from a PATH without the venv, as a new user has it."""
    port = free_port()
    env = {
        **os.environ,
        "PATH": "/usr/bin:/bin",
        "TOPCOP_VAR": str(tmp_path / "var"),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    topcop = str(Path(sys.executable).with_name("topcop"))
    log = open(tmp_path / "standalone.log", "wb")  # noqa: SIM115
    launcher = subprocess.Popen(
        [topcop, "airflow", "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_http(
            f"http://127.0.0.1:{port}/api/v2/monitor/health",
            timeout=240,
            alive=launcher,
            log=tmp_path / "standalone.log",
        )
        # Let the scheduler start its executor's workers, the processes that used to leak.
        time.sleep(5)
        members = _descendants(launcher.pid)
        names = " ".join(" ".join(p.cmdline()) for p in _alive(members))
        for component in ("scheduler", "api_server", "triggerer", "dag-processor"):
            assert component in names.replace("api-server", "api_server"), names[:2000]
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(120) == 0
        left = _alive(members)
        assert left == [], [" ".join(p.cmdline()) for p in left]
        # Nor anything started after the look above: nobody listens on the port any more.
        listening = [c for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port]
        assert [c for c in listening if c.status == psutil.CONN_LISTEN] == []
    finally:
        if launcher.poll() is None:
            launcher.terminate()  # the launcher's own stop; SIGKILL would orphan its children
            try:
                launcher.wait(60)
            except subprocess.TimeoutExpired:
                launcher.kill()
        log.close()


def test_reap_sessions_ends_what_a_child_started_and_spares_the_callers_own(tmp_path):
    """The stack stops inside a test process that has servers of its own: those must live."""
    from topcop.stack.processes import become_subreaper, reap_sessions

    assert become_subreaper()  # as Stack.up makes its caller: orphans come to us
    own = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    marker = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys\n"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(marker)!r}, 'w').write(str(g.pid))\n"
    )
    child = Child("starter", [sys.executable, "-c", script], dict(os.environ))
    child.start()
    child.process.wait(30)  # it exits; its grandchild is orphaned (adopted, or by init)
    deadline = time.monotonic() + 30
    while not (marker.exists() and marker.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    grandchild = psutil.Process(int(marker.read_text()))
    try:
        assert grandchild.ppid() == os.getpid()  # adopted when its parent exited
        reap_sessions({child.pid})
        assert _alive([grandchild]) == []
        assert own.poll() is None  # the caller's own child was spared
    finally:
        own.kill()
        own.wait()
        if _alive([grandchild]):
            grandchild.kill()
