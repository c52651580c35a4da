"""How a run ended before QEMU's main loop: an exit code or a signal."""

from __future__ import annotations

import gdb

from ..model.trace import EXITED, SIGNALED, Outcome

# Signals QEMU does not survive by default; any other stop by a signal is
# passed on and the run goes on (QEMU uses SIGUSR1, SIGPIPE, SIGCHLD...).
CRASH_SIGNALS = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGSYS"}


def ended(end: str, exit_code: int | None = None, signal_name: str | None = None,
          killed: bool = False) -> Outcome:
    """How QEMU ended before `end` ("reaching qemu_main_loop"): an exit
    code, or a signal (named if known)."""
    if killed:
        return Outcome(state=SIGNALED, signal=signal_name,
                       detail=f"QEMU was killed by {signal_name or 'a signal'} before {end}")
    return Outcome(state=EXITED, exit_code=exit_code,
                   detail=f"QEMU exited with code {exit_code} before {end}")


def exited(event, end: str) -> Outcome:
    """From gdb's exited event, which has no exit_code after a signal:
    $_exitsignal has it then."""
    code = getattr(event, "exit_code", None)
    if code is not None:
        return ended(end, exit_code=code)
    import signal
    try:
        name = signal.Signals(int(gdb.parse_and_eval("$_exitsignal"))).name
    except (gdb.error, ValueError):
        name = None
    return ended(end, signal_name=name, killed=True)


def died(pid: int, end: str) -> Outcome | None:
    """If `pid` is dead (a zombie gdb has not reaped), how it ended: the exit
    status is field 52 of /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] not in ("Z", "X") or len(fields) < 50:
        return None
    import signal
    status = int(fields[49])
    if status & 0x7F:
        return ended(end, signal_name=signal.Signals(status & 0x7F).name, killed=True)
    return ended(end, exit_code=status >> 8)
