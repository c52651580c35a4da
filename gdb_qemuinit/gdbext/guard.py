"""When the `qemuinit` process that started this gdb dies (even by SIGKILL,
which it cannot pass on), end what gdb started: a thread notices the parent
is gone, kills gdb's children (the QEMU it runs; a QEMU it attached to is
no child of gdb and is left alone) and then gdb itself."""

from __future__ import annotations

import _thread
import os
import signal
import time

POLL_SECONDS = 0.2


def _children() -> list[int]:
    pids = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/children", encoding="ascii") as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return pids


def watch_parent(parent: int) -> None:
    """Start the guard for `parent` (the qemuinit process).  Like the
    timeout watchdog, the thread starts with every signal blocked, so it
    never takes the SIGCHLD gdb waits for."""

    def watch():
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        for pid in _children():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os.kill(os.getpid(), signal.SIGKILL)

    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        _thread.start_new_thread(watch, ())
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
