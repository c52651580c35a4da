"""qinit hang: why a running QEMU hangs, read at once (nothing planted,
nothing run in QEMU), then detached."""

from __future__ import annotations

import gdb

from ...errors import QemuinitError
from .base import QinitCommand, parse, show, user_errors


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
        from ...analysis import hang
        from ...files import check_writable
        from ...model.trace import save
        from ...render.hang import format_hang
        from ..attach import attached, detach, proc_argv, threads
        from ..enums import read_enums
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
