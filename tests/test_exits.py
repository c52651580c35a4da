"""Waiting for a child to end: woken when it ends, not at the next look of
a polling wait; a child still running at the limit is left running."""

import math
import os
import subprocess
import sys
import time

import pytest

from gdb_qemuinit import exits
from gdb_qemuinit.exits import wait_exit


def _child(seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])


def test_a_child_that_ends_is_reaped_when_it_ends():
    proc = _child(0.3)
    try:
        assert wait_exit(proc, 10)
        ended = time.monotonic()
        assert proc.returncode == 0
    finally:
        proc.kill()
        proc.wait()
    # Reaped already: a second wait has nothing left to wait for.
    assert wait_exit(proc, 0) and time.monotonic() - ended < 0.5


def _lags(wait, offsets) -> list[float]:
    """Seconds between each child's last act (its own clock) and `wait`
    returning, for children that end `offsets` seconds after 0.3 s."""
    lags = []
    for extra in offsets:
        code = (f"import os, time; time.sleep({0.3 + extra}); "
                "print(time.monotonic(), flush=True); os._exit(0)")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        wait(proc)
        seen = time.monotonic()
        lags.append(seen - float(proc.stdout.read()))
        proc.stdout.close()
    return sorted(lags)


def test_the_wait_ends_with_the_child_not_at_a_polling_step():
    """Popen.wait(timeout) sleeps up to 50 ms between looks: a child ending
    at any moment is seen 25 ms late on average.  wait_exit sees it end
    within a few ms (the median of children ending at spread moments)."""
    offsets = [i * 0.007 for i in range(7)]
    woken = _lags(lambda p: wait_exit(p, 10), offsets)[3]
    assert woken < 0.015
    # what it replaces, measured the same way, is later
    assert _lags(lambda p: p.wait(timeout=10), offsets)[3] > woken


def test_a_child_still_running_at_the_limit_is_left_running():
    proc = _child(30)
    try:
        start = time.monotonic()
        assert not wait_exit(proc, 0.2)
        assert 0.15 < time.monotonic() - start < 5
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("timeout", [math.inf, 1e12])
def test_a_limit_poll_cannot_take_is_no_limit(timeout):
    """`qemuinit hang PID --timeout inf` waits for gdb as long as it takes."""
    proc = _child(0.1)
    assert wait_exit(proc, timeout) and proc.returncode == 0


def test_without_pidfds_it_waits_as_popen_does(monkeypatch):
    def no_pidfds(pid):
        raise OSError("no pidfd here")
    monkeypatch.setattr(os, "pidfd_open", no_pidfds)
    quick, slow = _child(0.1), _child(30)
    try:
        assert wait_exit(quick, 10) and quick.returncode == 0
        assert not wait_exit(slow, 0.2) and slow.poll() is None
    finally:
        slow.kill()
        slow.wait()


def test_poll_milliseconds():
    assert exits._milliseconds(0.0001) == 1      # rounded up, not to 0: a real wait
    assert exits._milliseconds(0) == 0
    assert exits._milliseconds(2.5) == 2500
    assert exits._milliseconds(math.inf) == exits._milliseconds(math.nan) == -1
