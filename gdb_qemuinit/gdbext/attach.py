"""A QEMU gdb attached to (gdb -p PID) rather than started: its command line
from /proc, every thread's stack, `qinit hang`, and leaving it running as
it was (detach, never kill: qemuinit did not start it)."""

from __future__ import annotations

import gdb

from ..errors import QemuinitError
from ..qemu.peers import argv_of
from ..qemu.sources import SourceRoots
from .enums import read_enums
from .frames import read_values, walk_frames
from .commands import QinitCommand, user_errors


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
    current = gdb.selected_thread()
    out = []
    try:
        for t in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
            t.switch()
            frames = walk_frames(roots)
            got: dict = {}
            f = gdb.newest_frame()
            while f is not None:
                name = f.name()
                if name in reads and name not in got:
                    f.select()
                    got[name] = read_values(reads[name])
                try:
                    f = f.older()
                except gdb.error:
                    break
            out.append({"num": t.num, "lwp": t.ptid[1], "name": t.name,
                        "frames": frames, "reads": got})
    finally:
        if current is not None and current.is_valid():
            current.switch()
    return out


class QinitHang(QinitCommand):
    """Why this QEMU hangs, at once: its command line, every thread's chain and
what it sits in, the stage, the chardev, socket path and role, the request
in flight, who is at the other end of the socket, and the findings.

{options}

Meant for a QEMU that is already hanging (gdb -p PID, or 'qinit hang' from
the shell as 'qemuinit hang PID').  It reads, plants nothing and runs
nothing in QEMU; an attached QEMU is then detached and goes on as before,
a QEMU gdb started stays stopped where it is."""

    NAME = "qinit hang"
    OPTIONS = ("hang-json", "quiet")

    @user_errors
    def invoke(self, arg, from_tty):
        from ..analysis import hang
        from ..files import check_writable
        from ..model.trace import save
        from ..render.hang import format_hang
        from .commands import parse, show
        opts = parse(self.parser, arg)
        pid = gdb.selected_inferior().pid
        if not pid:
            raise QemuinitError("no running QEMU: attach to it (gdb -p PID) or run it first")
        if opts.json:
            check_writable(opts.json)
        was_attached = attached()
        try:
            spec = hang.load_spec()
            # the binary's own request names, as a trace reads them
            names = read_enums(spec.enums())
            doc = hang.diagnose(pid, proc_argv(pid), threads(hang.wait_reads(spec)),
                                attached=was_attached, spec=spec.with_names(names))
            if names:
                doc["enums"] = names
        finally:
            detach()
        if opts.json:
            save(doc, opts.json)
        show(format_hang(doc), opts.json, quiet=opts.quiet)
