"""qinit watch: a running QEMU followed through what happens to it after
init (hot-plug, a backend's close and reconnect), then left to go on."""

from __future__ import annotations

from ...model import phases
from .. import settings
from .base import QinitCommand, Shell, parse, show, user_errors

EVENT = {"choices": list(phases.load("watch").events), "note": "default: none"}


class QinitWatch(QinitCommand):
    """Watch a running QEMU: hot-plug, unplug, a vhost-user backend's close and
reconnect, recorded against their documented paths.

{options}

Meant for a QEMU gdb attached to (gdb -p PID; from a shell, 'qemuinit watch
PID').  Plants a breakpoint on each documented function of
gdb_qemuinit/data/hotplug-path.toml (QMP chardev-add, netdev_add, device_add
and their unplug; a backend's close and reconnect) and on the vhost-user
messages, records the backtrace of every hit and decodes every message, per
connection, as a trace does; until the time limit, Ctrl-C, or the --until
event.  Then every breakpoint it planted is taken out and an attached QEMU
is detached: it goes on as before.  Each breakpoint stop holds all of QEMU's
threads a moment; the summary says how many there were.

Events: nic-added (device_add's NIC is realized and handed to its slot),
negotiated (a backend connected and QEMU negotiated: the link goes up),
disconnected (a backend went away: the link goes down)."""

    NAME = "qinit watch"
    OPTIONS = ("json", "svg", "png", "dot", "report", "timeline", "html",
               "watch-timeout", "event", "quiet")
    EXTRAS = {"event": EVENT,
              "watch_timeout": {"note": f"default {phases.load('watch').timeout:g}"}}

    @user_errors
    def invoke(self, arg, from_tty):
        from ... import session
        from ...render import outputs
        from ...planning import recording
        from ...model import spec
        from ...model.trace import save
        from ..recorder import record
        from ..starting import running_qemu
        from .lasttrace import remember
        opts = parse(self.parser, arg)
        outs = outputs.Outputs.asked(opts)
        phase = phases.load("watch")
        event = phase.event(opts.event) if opts.event else None
        path = session.prepare(None, outs, phase)
        qemu = dict(running_qemu(), phase=phase.name)
        todo = recording.for_watch(path, spec.load_spec(), phase, event)
        trace = record(qemu, todo, opts.timeout or phase.timeout, kill=False,
                       lazy_libraries=settings.lazy_libraries())
        if Shell.running_gdb and opts.json:
            save(trace, opts.json)      # the shell analyses it
            return
        remember(path, trace)
        show(session.finish(path, trace, outs), *outs.paths(), quiet=opts.quiet)
