"""A gdb attached to someone else's QEMU: what qemuinit reads of the
process, and the one thing it may do to it (continue a stop its gdb left)."""

import os
import signal
import subprocess
import time

from gdb_qemuinit.attached_gdb import resume_if_left_stopped, stopped, tracer_of


def wait_until(predicate):
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_stop_left_behind_is_continued_and_one_found_before_is_not():
    p = subprocess.Popen(["sleep", "60"])
    try:
        assert not stopped(p.pid) and tracer_of(p.pid) == 0
        os.kill(p.pid, signal.SIGSTOP)
        wait_until(lambda: stopped(p.pid))
        assert not resume_if_left_stopped(p.pid, was_stopped=True)   # it was so before
        assert stopped(p.pid)
        assert resume_if_left_stopped(p.pid, was_stopped=False)
        wait_until(lambda: not stopped(p.pid))
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()
    assert tracer_of(p.pid) is None and not stopped(p.pid)
