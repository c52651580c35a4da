"""Modules imported while gdb works in C, without Python's lock.

- The gdb that qemuinit starts from a shell knows which command it will
  run: a thread started before gdb reads QEMU's symbols (-iex, ~0.13 s)
  imports that command's modules, all of which it will need; loading the
  extension afterwards (-ex) waits for it, then registers the command on
  gdb's own thread.
- `qinit trace` at the prompt imports the analysis and the renderers it
  ends with while QEMU starts.

(A thread may import modules that define gdb classes; creating commands
and breakpoints, and calling gdb, is left to gdb's own thread.)
"""

from __future__ import annotations

import _thread
import signal

# What each command imports once it runs (its invoke()'s imports and the
# modules they need).  A module missing here is only imported later, as
# before: slower, not wrong.
_RUNS_WITH = {
    "trace": ("gdb_qemuinit.gdbext.commands", "gdb_qemuinit.session",
              "gdb_qemuinit.render.outputs", "gdb_qemuinit.planning.recording",
              "gdb_qemuinit.model.spec", "gdb_qemuinit.model.trace",
              "gdb_qemuinit.gdbext.recorder", "gdb_qemuinit.gdbext.starting",
              "gdb_qemuinit.gdbext.commands.lasttrace", "gdb_qemuinit.gdbext.guard"),
    "where": ("gdb_qemuinit.gdbext.commands", "gdb_qemuinit.session",
              "gdb_qemuinit.model.questions", "gdb_qemuinit.planning.recording",
              "gdb_qemuinit.render.summary", "gdb_qemuinit.analysis.where",
              "gdb_qemuinit.render.where", "gdb_qemuinit.files",
              "gdb_qemuinit.model.trace", "gdb_qemuinit.gdbext.recorder",
              "gdb_qemuinit.gdbext.starting", "gdb_qemuinit.gdbext.guard"),
    # what a trace at the prompt ends with (session.finish)
    "trace report": ("gdb_qemuinit.analysis.annotate", "gdb_qemuinit.render.text"),
}
_threads: list = []         # a lock each, held until its thread is done


def start(what: str) -> None:
    """Import the modules of `what` (a command, or what it ends with) in a
    thread (signals blocked in it, so that it never takes the SIGCHLD gdb
    waits for), unless they are imported already."""
    import sys
    from ..marks import mark
    mark(f"gdb: preload {what}")
    modules = [m for m in _RUNS_WITH.get(what, ()) if m not in sys.modules]
    if not modules:
        return
    done = _thread.allocate_lock()
    done.acquire()
    _threads.append(done)

    def run():
        try:
            for name in modules:
                __import__(name)
        except Exception:       # said again, with its traceback, by the import that needs it
            pass
        finally:
            done.release()

    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        _thread.start_new_thread(run, ())
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def wait() -> None:
    """Until every thread started has imported what it was given."""
    from ..marks import mark
    mark("gdb: binary read")
    for done in _threads:
        with done:
            pass
