"""Every option of the gdb commands (`qinit ...`) and of the shell CLI
(`qemuinit ...`), defined once: its name, argument and help.  Each front end
adds the ones it takes to its argparse parser, and the gdb commands' help
is made from their parsers, so help and parser cannot drift apart."""

from __future__ import annotations

import argparse
from typing import Any, NamedTuple

# Seconds QEMU may take to reach its main loop: `qemuinit --timeout` and
# gdb's `set qinit timeout` both start here.
DEFAULT_TIMEOUT = 30

# Which devices a `where` answer covers: the help of `qinit where` and of
# `qemuinit where` both say it.
WHERE_DEVICES = """\
Which devices it answers for: a question about devices (pci-config,
virtio-net-instance, device-realize) answers for the devices of the
command line (-device, -nic) first, each answer saying so (from: the
command line); the board's own devices (host bridge, LPC bridge, ...) that
QEMU made before them come after them, and every one of them with --all.
Without --all QEMU is stopped at the first answer about a device of the
command line, or with --device TYPE|ID at that device's."""


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the timeout must be more than 0 seconds")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


class Option(NamedTuple):
    flags: tuple[str, ...]          # ("--json",), ("-o", "--output"), ("question",)
    help: str
    metavar: str | None = None      # None: a flag without an argument
    type: Any = None
    nargs: str | None = None        # for a positional: "?" when optional
    dest: str | None = None         # the attribute's name, when the flag's would mislead


OPTIONS = {
    "json": Option(("--json",), "write the trace (schema qemuinit.trace/1) to FILE", "FILE"),
    "svg": Option(("--svg",), "draw the documented graph, coloured by verdict, to FILE",
                  "FILE"),
    "png": Option(("--png",), "the same as PNG", "FILE"),
    "dot": Option(("--dot",), "the same as graphviz source", "FILE"),
    "report": Option(("--report",), "write the text report to FILE", "FILE"),
    "timeline": Option(("--timeline",), "write the timeline to FILE (Chrome trace-event "
                       "JSON: open it in Perfetto's UI or chrome://tracing)", "FILE"),
    "html": Option(("--html",), "write one self-contained HTML report (graph, verdicts, "
                   "negotiation, timeline) to FILE, to attach to a bug report", "FILE"),
    # opts.path_file: a file name, not the InitPath loaded from it
    "path": Option(("--path",), "use another documented-path file", "FILE",
                   dest="path_file"),
    "until": Option(("--until",), "how far the run goes: main-loop (QEMU's init; the "
                    "default) or device-start (on until the guest started every vhost NIC: "
                    "boot from it, bootindex=1, no -S)", "PHASE"),
    "timeout": Option(("--timeout",), "give up on init after SECONDS, report where QEMU "
                      "blocks and stop it (a QEMU gdb started is killed, one attached to "
                      "is detached)", "SECONDS", type=positive_seconds),
    "full": Option(("--full",), "print the whole report, not just the summary"),
    "no-color": Option(("--no-color",), "never colour"),
    "quiet": Option(("--quiet",), "print no summary"),
    "kill": Option(("--kill",), "kill QEMU at the end instead of leaving it stopped "
                   "(at qemu_main_loop, or at the first answer); an attached one too"),
    "naive": Option(("--naive",), "a breakpoint on every documented function, hot ones "
                    "too (slow: to measure what the plan saves)"),
    "question": Option(("question",), "a question (--list shows them) or any function "
                       "name", "QUESTION|FUNCTION", nargs="?"),
    "list": Option(("--list",), "list the questions"),
    "all": Option(("--all",), "collect every answer, the board's devices too: QEMU runs "
                  "to the end of init"),
    "device": Option(("--device",), "stop at this device's answer (a device's type, e.g. "
                     "virtio-net-pci, or its id=), and show only it; questions about "
                     "devices", "TYPE|ID"),
    "where-json": Option(("--json",), "write the answers (schema qemuinit.where/1) to FILE",
                         "FILE"),
    "scenario": Option(("--scenario",), "a built-in QEMU command line and backend; not "
                       "with -- QEMU ...", "NAME"),
    "qemu-arg": Option(("--qemu-arg",), "one more argument for the built-in scenario's "
                       "QEMU, once per argument (--qemu-arg=-L --qemu-arg=/usr/share/seabios)",
                       "ARG", dest="qemu_args"),
    "backend": Option(("--backend",), "a vhost-user backend to start instead of the "
                      "built-in one, once per vhost-user chardev: CHARDEV=CMD for that "
                      "chardev, a plain CMD for the next chardev without one, in "
                      "command-line order; split like a shell would, run without one; "
                      "{socket} is that chardev's path, {prefix} a DPDK file prefix, "
                      "{queues} the netdev's queues.  Started once QEMU listens "
                      "(server=on), or before QEMU starts when QEMU is the client",
                      "[CHARDEV=]CMD"),
    "testpmd": Option(("--testpmd",), "with your own QEMU command line: start "
                      "dpdk-testpmd for every vhost-user chardev without a --backend, in "
                      "the role it needs"),
    "cut-after": Option(("--cut-after",), "fault injection: the backend connects through a "
                        "relay that cuts its first connection right after QEMU sends "
                        "REQUEST (SET_OWNER, GET_FEATURES, ...), so QEMU's restart path runs",
                        "REQUEST"),
    "qmp": Option(("--qmp",), "after init, send these QMP commands (one JSON object a line, "
                  "as libvirt sends them) on a QMP socket qemuinit adds, and record what "
                  "they make QEMU do (--until hot-plug); --testpmd serves the vhost-user "
                  "chardevs they add", "FILE"),
    "hang-json": Option(("--json",), "write the diagnosis (schema qemuinit.hang/1) to FILE",
                        "FILE"),
    "pid": Option(("pid",), "the running QEMU's process id", "PID", type=int),
    "hang-timeout": Option(("--timeout",), "give gdb SECONDS to attach, read and detach; "
                           "past them gdb is ended, detaching first: QEMU goes on "
                           "(default 120)", "SECONDS", type=positive_seconds, dest="timeout"),
    "event": Option(("--until",), "end the watch when this happens (default: at the "
                    "time limit, or Ctrl-C)", "EVENT", dest="event"),
    "backend-log": Option(("--backend-log",), "compare what QEMU sends on CHARDEV with what "
                          "its backend logged receiving, in FILE (dpdk-testpmd's output with "
                          "--log-level=lib.vhost.config:debug; read once the watch ends), once "
                          "per chardev", "CHARDEV=FILE", dest="backend_logs"),
    "watch-timeout": Option(("--timeout",), "watch for SECONDS, then take the breakpoints "
                            "out and detach: QEMU goes on", "SECONDS", type=positive_seconds,
                            dest="timeout"),
    "no-backend": Option(("--no-backend",), "start no backend (QEMU waits for one: see "
                         "the hang report)"),
    "trace-file": Option(("trace",), "a trace qemuinit wrote", "TRACE.json"),
    "format": Option(("--format",), "what to print (default text); timeline: Chrome "
                     "trace-event JSON; sequence: the vhost-user negotiation as an SVG "
                     "sequence diagram; html: the whole report in one file", "FORMAT"),
    "output": Option(("-o", "--output"), "write it to FILE instead of printing it", "FILE"),
    "a": Option(("a",), "the first trace", "A.json"),
    "b": Option(("b",), "the second trace", "B.json"),
    "diff-json": Option(("--json",), "print the diff as JSON"),
    "diff-svg": Option(("--svg",), "draw B's graph with the edges whose verdict changed "
                       "highlighted, to FILE", "FILE"),
    "diff-html": Option(("--html",), "the same, with the table of changes, as one HTML file",
                        "FILE"),
    "cluster": Option(("cluster",), "only this cluster of the documented path", "CLUSTER",
                      nargs="?"),
    "notes": Option(("notes",), "call-graph notes: markdown with a ```graphviz or ```dot "
                    "block (and maybe an indented '->' call listing), a .dot file, or a "
                    "listing alone", "NOTES"),
    "path-output": Option(("-o", "--output"), "write the path file to FILE (default: "
                          "print it)", "FILE"),
    "hot": Option(("--hot",), "a function called N times or more in the counting run is "
                  "hot: no breakpoint, seen from deeper ones", "N", type=positive_int),
    "facts-json": Option(("--json",), "write what gdb found (schema "
                         "qemuinit.notes-facts/1) to FILE", "FILE"),
    "no-run": Option(("--no-run",), "do not run QEMU: the notes alone"),
    "notes-format": Option(("--format",), "dot: a graphviz file; md: a heading, the "
                           "graphviz block and the call listing", "FORMAT"),
    "checked-path": Option(("--path",), "the documented-path file the trace was checked "
                           "with (default: the shipped one)", "FILE", dest="path_file"),
}


def add(parser: argparse.ArgumentParser, *names: str, **per_option: dict) -> None:
    """Add the options `names` to `parser`.  `per_option` gives one of them
    (by its name, '-' as '_') what only this front end knows: a default,
    choices, a note added to its help."""
    for name in names:
        opt = OPTIONS[name]
        kw: dict[str, Any] = {"help": opt.help}
        extra = dict(per_option.get(name.replace("-", "_"), {}))
        note = extra.pop("note", None)
        if note:
            kw["help"] = f"{opt.help} ({note})"
        if opt.metavar is None:
            kw["action"] = "store_true"
        else:
            kw["metavar"] = opt.metavar
            if opt.type is not None:
                kw["type"] = opt.type
        if opt.nargs:
            kw["nargs"] = opt.nargs
        if opt.dest:
            kw["dest"] = opt.dest
        kw.update(extra)
        parser.add_argument(*opt.flags, **kw)
