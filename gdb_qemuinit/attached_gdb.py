"""A gdb attached from the shell to a QEMU qemuinit did not start
(`qemuinit hang PID`): run to its end within a time limit, never harming
that QEMU."""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import subprocess

# subprocess (and threading with it) is imported where a gdb is run: gdb's
# own side imports this module for WATCHING only, and keeps light.

# The line a watch prints once its breakpoints are in: from then on what
# QEMU does is seen (the shell and the tests wait for it).
WATCHING = "qinit watch: watching"


class AttachedGdb(NamedTuple):
    """How a gdb attached to someone else's QEMU ended."""
    returncode: int
    stderr: str
    limit_hit: bool          # it ran out of time and was interrupted
    how_ended: str           # "finished", "ended" (SIGTERM: a watch), "killed"


def run_attached_gdb(cmd: list[str], limit: float, qemu_pid: int,
                     qemu_was_stopped: bool) -> AttachedGdb:
    """Run a gdb attached to a QEMU qemuinit did not start.  Past `limit`
    seconds gdb is killed (SIGKILL) and the kernel detaches QEMU: none of
    gdb's own code runs then.  Not SIGTERM: gdb's quit on it, when gdb is
    waiting on QEMU, passes a Ctrl-C on to QEMU (gdb's quit handler sends
    the inferior SIGINT while it has the terminal; seen with gdb 13: QEMU
    left with a SIGINT pending died of it once continued), and not SIGINT
    for the same reason.  A hang never resumes QEMU, so no breakpoint of
    gdb's is in it.  First QEMU gets SIGCONT, unless it was stopped before
    qemuinit came: a stop signal that attaching queued (and that the kernel
    delivers once its tracer is gone) is then no longer acted on.  What gdb
    forked dies with it: right after it attaches, gdb forks a child that
    stops itself, to test what ptrace can do, and gdb killed alone leaves
    that child stopped for ever.  The group is gdb's own (a new session);
    QEMU, attached, is not in it."""
    import subprocess
    import tempfile
    from .exits import kill_group, wait_exit
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
        how = "finished"
        if not wait_exit(proc, limit):
            if not qemu_was_stopped:
                _continue(qemu_pid)
            kill_group(proc)
            proc.wait()
            how = "killed"
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return AttachedGdb(proc.returncode, text, how != "finished", how)


def _continue(pid: int) -> bool:
    """SIGCONT to `pid`: the one signal qemuinit sends a QEMU it did not start."""
    try:
        os.kill(pid, signal.SIGCONT)
    except OSError:
        return False
    return True


def stopped(pid: int) -> bool:
    """Is `pid` stopped (a stop signal, not a tracer's stop)?"""
    return _status(pid).get("State", "").startswith("T")


def gone(pid: int) -> bool:
    """Has `pid` ended (no process, or a zombie)?"""
    return _status(pid).get("State", "Z").startswith(("Z", "X"))


def resume_if_left_stopped(pid: int, was_stopped: bool) -> bool:
    """A gdb ended in the middle of attaching can leave the QEMU stopped by
    the SIGSTOP attaching sends, with no tracer left to take it back: then
    continue it (SIGCONT undoes only that stop; a QEMU that was stopped
    before qemuinit came is left so).  True if it was continued."""
    if was_stopped or not stopped(pid) or tracer_of(pid):
        return False
    return _continue(pid)


def _status(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


def tracer_of(pid: int) -> int | None:
    """The PID tracing `pid` (0: none); None if it is gone."""
    status = _status(pid)
    return int(status.get("TracerPid", "0").strip() or 0) if status else None


def _end(proc: subprocess.Popen, grace: float) -> str:
    """End a watching gdb past its time and grace: SIGTERM (it takes its
    breakpoints out and detaches first; SIGKILL would leave them in a
    running QEMU), then SIGKILL, to it and what it forked (as hang's)."""
    from .exits import kill_group, wait_exit
    for sig in (signal.SIGCONT, signal.SIGTERM):
        try:
            proc.send_signal(sig)
        except OSError:
            pass
    if wait_exit(proc, grace):
        return "ended"
    kill_group(proc)
    proc.wait()
    return "killed"


def run_watching_gdb(cmd: list[str], limit: float, err_path: str,
                     grace: float = 30) -> AttachedGdb:
    """Run the gdb of `qemuinit watch PID`: attached to a QEMU qemuinit did
    not start, it ends the watch itself at `limit` seconds.  Ctrl-C or
    SIGTERM here asks it to end now, on a pipe whose other end it watches
    (END_FD in its environment); so does this process's death, even by
    SIGKILL, which closes the pipe: gdb then takes its breakpoints out and
    detaches rather than leaving them in a QEMU that would die of the next
    one.  A second Ctrl-C, or a gdb still there `grace` seconds after its
    time, is ended with SIGTERM (it detaches first; what it sent QEMU to
    stop it, SIGURG, is harmless if still pending then; gdb's quit may pass
    QEMU a Ctrl-C, the risk hang's SIGKILL avoids, taken here rather than
    leave breakpoints in a running QEMU).  gdb's
    line saying the watch has begun is passed on to our stderr."""
    import subprocess
    import sys
    import threading
    read_end, write_end = os.pipe()
    from .gdbcommand import END_FD
    env = dict(os.environ, **{END_FD: str(read_end)})
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True, pass_fds=(read_end,),
                                env=env)
    os.close(read_end)
    asked: list[str] = []
    done = threading.Event()

    def ask(signum, frame):
        # only noted here: what it leads to happens in the loop below
        asked.append(signal.Signals(signum).name)
    old = {s: signal.signal(s, ask) for s in (signal.SIGINT, signal.SIGTERM)}
    shown = threading.Thread(target=_pass_watching_line, args=(err_path, done, sys.stderr),
                             daemon=True)
    shown.start()
    how = "finished"
    told = False
    deadline = time.monotonic() + limit + grace
    try:
        while proc.poll() is None:
            if asked and not told:
                try:
                    os.write(write_end, asked[0].encode() + b"\n")
                except OSError:
                    pass
                told = True
            if len(asked) > 1 or time.monotonic() > deadline:
                how = _end(proc, grace)
                break
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        os.close(write_end)
        done.set()
        shown.join(timeout=5)
    with open(err_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return AttachedGdb(proc.returncode, text, how != "finished", how)


def _pass_watching_line(err_path: str, done, out) -> None:
    """Copy gdb's WATCHING line from its stderr file to `out` when it comes."""
    seen = b""
    while True:
        finished = done.is_set()
        try:
            with open(err_path, "rb") as f:
                seen = f.read()
        except OSError:
            pass
        at = seen.find(WATCHING.encode())
        if at >= 0 and b"\n" in seen[at:]:
            out.write(seen[at:seen.index(b"\n", at) + 1].decode("utf-8", "replace"))
            out.flush()
            return
        if finished:
            return
        done.wait(0.05)
