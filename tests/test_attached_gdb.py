"""A gdb attached to someone else's QEMU: what qemuinit reads of the
process, and the one thing it may do to it (continue a stop its gdb left)."""

import os
import signal
import subprocess
import sys
import threading
import time

from gdb_qemuinit.attached_gdb import (gone, resume_if_left_stopped, run_attached_gdb,
                                       run_watching_gdb, stopped, tracer_of)


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


def test_a_process_is_gone_once_it_is_a_zombie_and_after():
    """What hang says of a QEMU after its gdb ended: a zombie has ended."""
    p = subprocess.Popen(["sleep", "60"])
    try:
        assert not gone(p.pid)
        os.kill(p.pid, signal.SIGKILL)
        os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)     # a zombie, not reaped
        assert gone(p.pid)
    finally:
        p.wait()
    assert gone(p.pid)


def _reader_of_the_end_pipe(tmp_path):
    """A child in gdb's place: it reads its end request and writes what it
    read (and whether it was still its parent's child) to a file."""
    said = tmp_path / "said"
    code = ("import os,sys; fd=int(os.environ['QEMUINIT_END_FD']); "
            "sys.stderr.write('qinit watch: watching QEMU (PID 1), 0 breakpoints planted\\n');"
            "sys.stderr.flush(); data=os.read(fd, 200); "
            f"open({str(said)!r}, 'wb').write(data or b'EOF')")
    return [sys.executable, "-c", code], said


def test_ctrl_c_is_passed_to_a_watching_gdb_as_an_end_request_not_a_signal(tmp_path, capsys):
    cmd, said = _reader_of_the_end_pipe(tmp_path)
    # what it was (a suite started in the background ignores Ctrl-C)
    before = signal.getsignal(signal.SIGINT)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    ended = run_watching_gdb(cmd, 30, str(tmp_path / "err"))
    assert said.read_bytes() == b"SIGINT\n"
    assert ended.returncode == 0 and not ended.limit_hit
    assert "qinit watch: watching QEMU" in capsys.readouterr().err
    # our own handler is back
    assert signal.getsignal(signal.SIGINT) is before


def test_a_watching_gdb_past_its_time_and_grace_is_ended_detaching_first(tmp_path):
    """A gdb that does not end by itself: SIGTERM (gdb detaches, then exits)."""
    ended = run_watching_gdb([sys.executable, "-c", "import time; time.sleep(60)"], 0.5,
                             str(tmp_path / "err"), grace=0.5)
    assert ended.limit_hit and ended.how_ended == "ended" and ended.returncode == -15


def _forking_and_holding_on(tmp_path, ignore_sigterm=False):
    """A process in gdb's place that forks a child which stops itself (as
    gdb does right after it attaches, to test ptrace), writes the child's
    PID to a file, then does not end by itself."""
    forked = tmp_path / "forked"
    code = ("import os,signal,time\n"
            + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_sigterm else "")
            + "pid = os.fork()\n"
            "if pid == 0:\n    os.kill(os.getpid(), signal.SIGSTOP); os._exit(0)\n"
            f"open({str(forked)!r}, 'w').write(str(pid)); time.sleep(60)")
    return [sys.executable, "-c", code], forked


def _its_fork_is_gone(forked) -> bool:
    pid = int(forked.read_text())
    try:
        wait_until(lambda: gone(pid))
    except AssertionError:
        os.kill(pid, signal.SIGKILL)        # ours: the test's own stand-in
        return False
    return True


def test_a_gdb_past_its_time_is_killed_with_what_it_forked(tmp_path):
    """hang's limit: gdb's stopped fork would otherwise stay for ever."""
    qemu = subprocess.Popen(["sleep", "60"])        # the attached process's place
    try:
        cmd, forked = _forking_and_holding_on(tmp_path)
        ended = run_attached_gdb(cmd, 2, qemu.pid, qemu_was_stopped=False)
        assert ended.limit_hit and ended.how_ended == "killed" and ended.returncode == -9
        assert _its_fork_is_gone(forked)
        assert qemu.poll() is None and not stopped(qemu.pid)
    finally:
        qemu.kill()
        qemu.wait()


def test_a_watching_gdb_that_will_not_end_is_killed_with_what_it_forked(tmp_path):
    cmd, forked = _forking_and_holding_on(tmp_path, ignore_sigterm=True)
    ended = run_watching_gdb(cmd, 1, str(tmp_path / "err"), grace=0.5)
    assert ended.limit_hit and ended.how_ended == "killed" and ended.returncode == -9
    assert _its_fork_is_gone(forked)
