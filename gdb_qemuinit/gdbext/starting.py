"""The QEMU a qinit command is to run: the program gdb was given, checked
to be QEMU, its command line, and readied for a command that watches its
init from the start (the facts of this gdb session read here, the decision
made by planning/start.py, carried out here: run, continue, or kill and run
again)."""

from __future__ import annotations

import gdb

from ..errors import QemuinitError
from ..planning.plan import MAIN_LOOP
from .attach import attached, proc_argv
from .frames import function_names, on_thread
from ..planning.start import RESTART, QemuState, how_to_start, restart_note

# The QEMU (by PID) the last qinit command left stopped, in this gdb session.
_LEFT = {"pid": 0}


def main_thread_functions(pid: int) -> list[str]:
    """The functions on QEMU's main thread's stack (read only)."""
    for t in gdb.selected_inferior().threads():
        if t.ptid[1] == pid:
            try:
                with on_thread(t):
                    return function_names()
            except gdb.error:
                return []
    return []


def ready() -> None:
    """Before a command runs QEMU: continue it, restart it (saying so), or
    refuse (StartRefused), as planning/start.py decides."""
    pid = gdb.selected_inferior().pid
    state = QemuState(pid=pid, attached=attached(),
                      left_by_qinit=bool(pid) and _LEFT["pid"] == pid,
                      past_init=bool(pid) and MAIN_LOOP in main_thread_functions(pid))
    if how_to_start(state, MAIN_LOOP) == RESTART:
        gdb.write(restart_note(state, MAIN_LOOP))
        gdb.execute("kill", to_string=True)


def left() -> None:
    """After a command: the QEMU it leaves stopped, if any, is remembered."""
    _LEFT["pid"] = gdb.selected_inferior().pid


def qemu_under_gdb() -> dict:
    """The program gdb was given, checked to be QEMU before anything runs."""
    from ..qemu.binary import check_binary, index_advice
    binary = gdb.current_progspace().filename
    if not binary:
        raise QemuinitError("no program to trace: start gdb as "
                           "'gdb --args QEMU-BINARY QEMU-ARGS...' or use 'file'")
    version = check_binary(binary)
    advice = index_advice(binary)
    if advice:
        gdb.write(advice + "\n", gdb.STDERR)
    ready()            # a QEMU whose init is over is started again
    pid = gdb.selected_inferior().pid
    # Attached (gdb -p), gdb has no program arguments: the kernel has them.
    argv = proc_argv(pid) if attached() else []
    return {"binary": binary, "version": version,
            "argv": argv or [binary] + program_args()}


def running_qemu() -> dict:
    """The QEMU gdb runs or is attached to, checked to be QEMU and taken as
    it is: nothing started or restarted (a watch)."""
    from ..qemu.binary import check_binary
    pid = gdb.selected_inferior().pid
    if not pid:
        raise QemuinitError("no running QEMU to watch: attach to it (gdb -p PID; from a "
                            "shell, qemuinit watch PID), or run it first")
    binary = gdb.current_progspace().filename
    if not binary:
        raise QemuinitError("gdb does not know the program of this process: 'file' it")
    version = check_binary(binary)
    return {"binary": binary, "version": version,
            "argv": proc_argv(pid) or [binary] + program_args()}


def program_args() -> list[str]:
    """The program's arguments as gdb shows them: only a first guess, for
    the trace of a QEMU that never started.  The recorder reads what QEMU
    really received from /proc once it exists.  gdb 13's
    gdb.parameter("args") is empty even after --args, so read them from
    'show args' (gdb quotes them for a shell)."""
    import shlex
    args = gdb.parameter("args")
    if not args:
        shown = gdb.execute("show args", to_string=True)
        start, end = shown.find('"'), shown.rfind('"')
        args = shown[start + 1:end] if 0 <= start < end else ""
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()
