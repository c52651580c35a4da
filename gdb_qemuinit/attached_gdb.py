"""A gdb attached from the shell to a QEMU qemuinit did not start
(`qemuinit hang PID`): run to its end within a time limit, never harming
that QEMU."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import NamedTuple


class AttachedGdb(NamedTuple):
    """How a gdb attached to someone else's QEMU ended."""
    returncode: int
    stderr: str
    limit_hit: bool          # it ran out of time and was interrupted
    how_ended: str           # "finished", "ended" (SIGTERM), "killed"


def run_attached_gdb(cmd: list[str], limit: float, grace: float = 10) -> AttachedGdb:
    """Run a gdb attached to a QEMU qemuinit did not start.  Past `limit`
    seconds gdb is told to end with SIGTERM (after SIGCONT, in case it was
    stopped): gdb then detaches from what it attached to and exits, killing
    nothing.  Not SIGINT: gdb passes a Ctrl-C on to its inferior, and QEMU
    would die of it.  Only if gdb does not end within `grace` is it killed:
    the kernel then detaches the QEMU and lets it run.  The QEMU itself is
    never signalled."""
    import tempfile
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
        how = "finished"
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            how = _end(proc, grace)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return AttachedGdb(proc.returncode, text, how != "finished", how)


def stopped(pid: int) -> bool:
    """Is `pid` stopped (a stop signal, not a tracer's stop)?"""
    return _status(pid).get("State", "").startswith("T")


def resume_if_left_stopped(pid: int, was_stopped: bool) -> bool:
    """A gdb ended in the middle of attaching can leave the QEMU stopped by
    the SIGSTOP attaching sends, with no tracer left to take it back: then
    continue it (SIGCONT undoes only that stop; a QEMU that was stopped
    before qemuinit came is left so).  True if it was continued."""
    if was_stopped or not stopped(pid) or tracer_of(pid):
        return False
    try:
        os.kill(pid, signal.SIGCONT)
    except OSError:
        return False
    return True


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
    """End a gdb past its time: SIGTERM (it detaches first), then SIGKILL."""
    for how, signals in (("ended", (signal.SIGCONT, signal.SIGTERM)),
                         ("killed", (signal.SIGKILL,))):
        for sig in signals:
            try:
                proc.send_signal(sig)
            except OSError:
                pass
        try:
            proc.wait(timeout=grace)
            return how
        except subprocess.TimeoutExpired:
            continue
    proc.wait()
    return "killed"
