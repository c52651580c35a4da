"""When the `qemuinit` process that started this gdb dies (even by SIGKILL,
which it cannot pass on), end what gdb started: a thread notices the parent
is gone, kills gdb's children (the QEMU it runs; a QEMU it attached to is
no child of gdb and is left alone) and then gdb itself."""

from __future__ import annotations

import _thread
import os
import signal
import time

from ..gdbcommand import DONE_FD     # the shell's gdb says it is done on it

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


def wait_for_go(fd: int) -> None:
    """A gdb the shell started before it had decided the run: wait until it
    writes to `fd` (its run file is then written); if it closes it unsaid
    (it gave the run up, or died), gdb exits at once, having run nothing.
    QEMU inherits neither this descriptor nor the one gdb says it is done
    on."""
    done = os.environ.get(DONE_FD, "")
    if done.isdigit():
        os.set_inheritable(int(done), False)
    from ..marks import mark
    mark("gdb: extension loaded")
    os.set_inheritable(fd, False)
    try:
        said = os.read(fd, 16)
    finally:
        os.close(fd)
    if not said.startswith(b"go"):
        os._exit(1)             # given up, or the shell is gone: run nothing
    mark("gdb: go")


def exit_at_once() -> None:
    """The end of the shell's gdb, its command done: with QEMU gone, say so
    to the shell (DONE_FD: it goes on meanwhile) and exit now, without
    gdb's teardown (freeing what it read of QEMU's symbols, 20-50 ms, in a
    process about to end); its output is flushed first.  With a QEMU still
    there, gdb ends as it always does."""
    import gdb
    from ..marks import mark
    if gdb.selected_inferior().pid:
        return
    mark("gdb: exits")
    gdb.flush(gdb.STDOUT)
    gdb.flush(gdb.STDERR)
    # the shell reads to the end of gdb's output: let it see the end now
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    done = os.environ.get(DONE_FD, "")
    if done.isdigit():
        try:
            os.write(int(done), b"done\n")
        except OSError:
            pass
    os._exit(0)
