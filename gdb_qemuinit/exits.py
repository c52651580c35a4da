"""Waiting for a child process to end, woken the moment it does.

`Popen.wait(timeout=...)` polls, sleeping up to 50 ms between looks: a
child that ends in 12 ms is seen ending at 16 or 32 ms.  A process's pidfd
becomes readable when it ends, so a poll() on it returns then.
"""

from __future__ import annotations

import math
import os
import select
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess


def wait_exit(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait until `proc` has ended (and reap it), at most `timeout`
    seconds; False if it is still running then."""
    if proc.poll() is not None:
        return True
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (OSError, AttributeError):   # a kernel or Python without pidfds
        import subprocess
        try:
            proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        waiting = select.poll()
        waiting.register(pidfd, select.POLLIN)
        if not waiting.poll(_milliseconds(timeout)):
            return proc.poll() is not None
        proc.wait()
        return True
    finally:
        os.close(pidfd)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL to the process group `proc` leads (started with
    start_new_session): it and what it forked.  Only while `proc` is
    unreaped: its PID, and so the group's ID, cannot be anyone else's then."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def _milliseconds(timeout: float) -> int:
    """poll()'s timeout: rounded up; -1 (no limit) for one poll() cannot
    take (over ~24 days, or infinite)."""
    if not timeout < _LONGEST:      # NaN too
        return -1
    return max(0, math.ceil(timeout * 1000))


_LONGEST = (2 ** 31 - 1) / 1000
