"""qinit trace: the documented init path, checked on a live run."""

from __future__ import annotations

import gdb

from ...gdbargs import complete_options, last_word
from .. import settings
from ...model import phases
from .base import GDB_TIMEOUT, QinitCommand, Shell, parse, show, user_errors

UNTIL = {"choices": phases.trace_names(), "note": "default main-loop"}


class QinitTrace(QinitCommand):
    """Trace QEMU's initialization and check it against the documented path.

{options}

Plants a breakpoint on the documented init path (only on functions that run a
few times; hot ones are confirmed from deeper backtraces), runs the program gdb
was given (or continues it), records the backtrace of every hit, and stops when
QEMU reaches qemu_main_loop.  With --until device-start it goes on until the
guest's driver started every NIC with a vhost backend (the VM must run: no -S,
bootindex=1 on the NIC for iPXE) and stops where the last start returned.
Then every documented edge gets a verdict (observed, dispatch, not-exercised,
not-reached, absent, unknown) and a summary is printed;
'qinit report' shows the whole report.

Every breakpoint qinit planted is removed at the end; yours are untouched."""

    NAME = "qinit trace"
    OPTIONS = ("json", "svg", "png", "dot", "report", "timeline", "html",
               "timeout", "kill", "path", "until", "quiet", "naive")
    EXTRAS = {"timeout": GDB_TIMEOUT, "until": UNTIL}

    def complete(self, text, word):
        last = last_word(text)
        if last and not last.startswith("-"):
            return gdb.COMPLETE_FILENAME
        return complete_options(self.parser, text, word)

    @user_errors
    def invoke(self, arg, from_tty):
        from ... import session
        from ...render import outputs
        from ...planning import recording
        from ...model import spec
        from ...model.trace import DEVICES_STARTED, INIT_COMPLETE, START_FAILED, save
        from ..recorder import record
        from ..starting import qemu_under_gdb
        from .lasttrace import remember
        from ...marks import mark
        from .. import preload
        opts = parse(self.parser, arg)
        outs = outputs.Outputs.asked(opts)
        phase = phases.load(opts.until)
        path = session.prepare(opts.path_file, outs, phase)
        qemu = qemu_under_gdb()
        session.refuse(phase, qemu.get("argv") or [])
        if phase.name != phases.default_name():
            qemu = dict(qemu, phase=phase.name)
        todo = recording.for_trace(path, spec.load_spec(), phase, naive=opts.naive)
        timeout = opts.timeout or settings.phase_timeout(phase)
        if not (Shell.running_gdb and opts.json):
            preload.start("trace report")       # while QEMU starts
        mark("gdb: run")
        trace = record(qemu, todo, timeout, opts.kill, settings.lazy_libraries())
        mark("gdb: trace made, QEMU ended")
        if Shell.running_gdb and opts.json:
            # The shell adds what only it saw, then analyses: once, there.
            save(trace, opts.json)
            return
        remember(path, trace)
        text = session.finish(path, trace, outs)
        show(text, *outs.paths(), quiet=opts.quiet)
        if trace.outcome.state == INIT_COMPLETE and gdb.selected_inferior().pid:
            gdb.write("QEMU is stopped at qemu_main_loop; 'continue' runs it, "
                      "'qinit report' shows every edge.\n")
        elif trace.outcome.state in (DEVICES_STARTED, START_FAILED) and \
                gdb.selected_inferior().pid:
            gdb.write("QEMU is stopped where its last vhost NIC's start returned; "
                      "'continue' runs it, 'qinit report' shows every edge.\n")


