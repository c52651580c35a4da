"""How a qinit command that watches QEMU's init from its start (trace,
where, path import) begins, given where QEMU is in this gdb session.
Decided here, in pure code; gdbext/starting.py reads the facts and
does what this says.

- No QEMU yet: run it.
- A QEMU gdb started, stopped by the user before its init is over (at
  `main` after `start`, at a breakpoint of their own): continue it, so the
  command sees the rest of init from there.
- A QEMU gdb started that a qinit command left stopped (at its main loop,
  at a `where` answer), or that is past init: init is over for it, so it
  is killed and started again, and the command says so.
- A QEMU gdb attached to: never killed.  Still in its init, it is continued
  (the rest of init is watched); past init, or already part-watched by a
  qinit command, there is no init left to see: a user error says so, and
  what to do instead.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import QemuinitError

RUN, CONTINUE, RESTART = "run", "continue", "restart"


class StartRefused(QemuinitError):
    """An attached QEMU whose init cannot be watched from its start."""


class QemuState(NamedTuple):
    pid: int                    # 0: no QEMU
    attached: bool = False
    left_by_qinit: bool = False  # a qinit command left it stopped where it is
    past_init: bool = False      # its main thread is in the main loop


def how_to_start(state: QemuState, main_loop: str) -> str:
    """RUN, CONTINUE or RESTART; StartRefused for an attached QEMU with no
    init left to watch."""
    if not state.pid:
        return RUN
    if state.attached:
        if state.past_init:
            raise StartRefused(
                f"QEMU (PID {state.pid}, attached) is past its init (its main thread is "
                f"in {main_loop}): there is no init left to watch, and qinit never "
                f"kills a QEMU it did not start.  Run QEMU under gdb ('gdb --args "
                f"QEMU-BINARY ARGS...') to watch its init; 'qinit hang' says where "
                f"this one is now")
        if state.left_by_qinit:
            raise StartRefused(
                f"QEMU (PID {state.pid}, attached) was stopped by the last qinit "
                f"command part of the way through its init: what came before is "
                f"gone, and qinit never restarts a QEMU it did not start.  'continue' "
                f"lets it go on; run QEMU under gdb to watch its init from the start")
        return CONTINUE
    if state.left_by_qinit or state.past_init:
        return RESTART
    return CONTINUE


def restart_note(state: QemuState, main_loop: str) -> str:
    """What a command says when it starts QEMU again."""
    where = (f"stopped in {main_loop}, its init over" if state.past_init
             else "stopped where the last qinit command left it")
    return (f"qinit: QEMU (PID {state.pid}) is {where}; killing it and starting it "
            f"again, to watch its init from the start\n")
