"""Readying QEMU for a qinit command that watches its init from the start:
the facts of this gdb session read here, the decision made by
planning/start.py, carried out here (run, continue, or kill and run again)."""

from __future__ import annotations

import gdb

from ..planning.plan import MAIN_LOOP
from ..planning.start import RESTART, QemuState, how_to_start, restart_note

# The QEMU (by PID) the last qinit command left stopped, in this gdb session.
_LEFT = {"pid": 0}


def main_thread_functions(pid: int) -> list[str]:
    """The functions on QEMU's main thread's stack (read only)."""
    current = gdb.selected_thread()
    names: list[str] = []
    try:
        for t in gdb.selected_inferior().threads():
            if t.ptid[1] != pid:
                continue
            t.switch()
            f = gdb.newest_frame()
            while f is not None:
                names.append(f.name() or "")
                f = f.older()
    except gdb.error:
        pass
    finally:
        if current is not None and current.is_valid():
            current.switch()
    return names


def ready() -> None:
    """Before a command runs QEMU: continue it, restart it (saying so), or
    refuse (StartRefused), as planning/start.py decides."""
    from .attach import attached
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
