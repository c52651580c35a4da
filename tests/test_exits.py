"""Waiting for a child to end: woken when it ends, not at the next look of
a polling wait; a child still running at the limit is left running."""

import subprocess
import sys
import time

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
        proc = subprocess.Popen([sys.executable, "-c", f"import os, time; time.sleep({0.3 + extra}); "
                                 "print(time.monotonic(), flush=True); os._exit(0)"],
                                stdout=subprocess.PIPE, text=True)
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
