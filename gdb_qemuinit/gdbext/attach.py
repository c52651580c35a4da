"""A QEMU gdb attached to (gdb -p PID) rather than started: its command line
from /proc, every thread's stack, and leaving it running as it was
(detach, never kill: qemuinit did not start it)."""

from __future__ import annotations

import gdb

from ..qemu.peers import argv_of
from ..qemu.sources import SourceRoots
from .frames import on_thread, reads_on_stack, walk_frames


def attached() -> bool:
    """Did gdb attach to the inferior (gdb -p, 'attach') instead of starting it?"""
    inf = gdb.selected_inferior()
    return bool(inf.pid) and bool(getattr(inf, "was_attached", False))


def proc_argv(pid: int) -> list[str]:
    """An attached QEMU's argv (gdb has none of its own then)."""
    return argv_of(pid) or []


def detach() -> None:
    """Let an attached QEMU go on exactly as before."""
    if attached():
        try:
            gdb.execute("detach", to_string=True)
        except gdb.error:
            pass


def threads(reads: dict[str, dict[str, str]]) -> list[dict]:
    """Every thread's frames (innermost first) and, at the frames named in
    `reads`, those expressions (reads only)."""
    roots = SourceRoots()
    out = []
    for t in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
        with on_thread(t):
            out.append({"num": t.num, "lwp": t.ptid[1], "name": t.name,
                        "frames": walk_frames(roots), "reads": reads_on_stack(reads)})
    return out
