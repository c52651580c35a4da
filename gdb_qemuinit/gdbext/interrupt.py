"""How a run stops QEMU by itself (its time limit, the shell's request to
end a watch): a signal gdb takes, sent once, and never once the run is
ending.  A QEMU gdb started gets SIGINT.  A QEMU gdb attached to gets
SIGURG, whose default action QEMU keeps (ignore): gdb is told to stop on
it and not pass it on, and one still pending when gdb detaches (sent as
QEMU stopped for something else, gdb ending before it resumed QEMU) does
nothing, where a SIGINT would shut QEMU down."""

from __future__ import annotations

import _thread
import os
import signal

import gdb

# gdb's own handling of SIGURG, given back at the end
GDB_DEFAULT_SIGURG = "handle SIGURG nostop noprint pass"


class Interrupter:
    def __init__(self, attached: bool):
        self.attached = attached
        self.signal = signal.SIGURG if attached else signal.SIGINT
        self.sent = False
        self.why: str | None = None          # what asked for it
        self._lock = _thread.allocate_lock()
        self._pid = 0
        self._open = False
        self._asked: str | None = None       # asked before QEMU's PID was known

    def arm(self, pid: int) -> None:
        """QEMU is `pid` and runs under the run: interrupts may go out (one
        asked for already goes now)."""
        if self.attached:
            # "stop" (which prints: "noprint" would mean nostop), not passed on
            gdb.execute(f"handle {self.signal.name} stop print nopass", to_string=True)
        with self._lock:
            self._pid, self._open = pid, True
        if self._asked is not None:
            self.request(self._asked)

    def request(self, why: str) -> None:
        """Interrupt QEMU (from the timer's or the end request's thread)."""
        with self._lock:
            if not self._open:
                self._asked = self._asked or why
                return
            if self.sent:
                return
            try:
                os.kill(self._pid, self.signal)
            except OSError:
                return
            self.sent, self.why = True, why

    def disarm(self) -> None:
        """The run is ending: nothing is sent from now on."""
        with self._lock:
            self._open = False
            self._pid = 0
            self._asked = None

    def is_ours(self, signal_name: str) -> bool:
        """A stop by this signal is the interrupt we sent."""
        return self.sent and signal_name == self.signal.name

    def restore(self) -> None:
        """gdb's own handling of the signal, once the run is over."""
        if self.attached:
            try:
                gdb.execute(GDB_DEFAULT_SIGURG, to_string=True)
            except gdb.error:
                pass
