"""A daemon of the edge (Kamailio, rtpengine) started in the background and known by its pid file: one way
to start it, to ask whether it runs and to stop it, whatever the daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def running_pid(pidfile: Path) -> int | None:
    """The pid in the file if that process is alive (one of another user's counts as alive)."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def start(argv: list[str], pidfile: Path, log: Path, name: str, error: type[Exception]) -> int:
    """Run the daemon's command (it forks and writes its pid file), its output appended to `log`; the pid
    once the file names a live process (within 5 s), else `error` saying where to look."""
    with log.open("ab") as out:
        proc = subprocess.run(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, timeout=30)
    if proc.returncode != 0:
        raise error(f"{name} did not start (exit {proc.returncode}); see {log}")
    for _ in range(50):
        pid = running_pid(pidfile)
        if pid:
            return pid
        time.sleep(0.1)
    raise error(f"{name} started but wrote no pid file; see {log}")


def stop(pidfile: Path, timeout_s: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL if it is still there after `timeout_s`; False when it was not running."""
    pid = running_pid(pidfile)
    if not pid:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if running_pid(pidfile) is None:
            pidfile.unlink(missing_ok=True)
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return True
