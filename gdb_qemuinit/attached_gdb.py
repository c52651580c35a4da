"""A gdb attached from the shell to a QEMU qemuinit did not start
(`qemuinit hang PID`): run to its end within a time limit, never harming
that QEMU."""

from __future__ import annotations

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


def tracer_of(pid: int) -> int | None:
    """The PID tracing `pid` (0: none); None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return 0


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
