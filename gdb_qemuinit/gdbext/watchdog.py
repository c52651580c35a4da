"""The timer that ends a run taking too long (qinit trace --timeout)."""

from __future__ import annotations

import _thread


class Watchdog:
    """Calls `fire` after `seconds` unless cancelled first: a thread that
    waits on a lock while gdb runs QEMU.  (_thread, not threading: this is
    all a timer needs, and threading costs more to import than the rest of
    the recorder.)

    The thread starts with every signal blocked: gdb waits for QEMU's
    events in sigsuspend() until SIGCHLD arrives, and a SIGCHLD the kernel
    handed to this thread instead would leave gdb waiting for ever (gdb's
    own threads block signals for the same reason)."""

    def __init__(self, seconds: float, fire):
        import signal
        self._cancelled = _thread.allocate_lock()
        self._cancelled.acquire()
        self.fired = False

        def wait():
            if not self._cancelled.acquire(timeout=seconds):
                self.fired = True
                fire()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            _thread.start_new_thread(wait, ())
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def cancel(self) -> None:
        try:
            self._cancelled.release()
        except RuntimeError:       # cancelled already
            pass


class EndRequest:
    """Calls `fire(said)` once the qemuinit at the other end of pipe `fd`
    writes to it (`said`: what it received, e.g. SIGINT) or is gone, even
    by SIGKILL (end of file, `said` empty): a watch then ends as at its
    time limit, taking its breakpoints out and detaching, instead of gdb
    being killed with them in.  Signals blocked, as Watchdog's."""

    def __init__(self, fd: int, fire):
        import os
        import signal

        def wait():
            try:
                said = os.read(fd, 200)
            except OSError:
                said = b""
            fire(said.decode("ascii", "replace").strip())
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            _thread.start_new_thread(wait, ())
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

