"""The `qinit` commands.  Each class docstring is its `help` text."""

from __future__ import annotations

import shlex

import gdb

from .. import initpath, plan as planning, summary
from ..cmdline import ArgumentParser, UsageError, complete_options, positive_seconds
from ..qemu import QemuError, check_binary
from ..trace import Trace, check_writable, save
from . import settings
from .recorder import Recorder


def parse(parser: ArgumentParser, arg: str):
    try:
        return parser.parse_args(gdb.string_to_argv(arg))
    except UsageError as exc:
        raise gdb.GdbError(str(exc)) from None


def qemu_under_gdb() -> dict:
    """The program gdb was given, checked to be QEMU before anything runs."""
    binary = gdb.current_progspace().filename
    if not binary:
        raise gdb.GdbError("no program to trace: start gdb as "
                           "'gdb --args QEMU-BINARY QEMU-ARGS...' or use 'file'")
    try:
        version = check_binary(binary)
    except QemuError as exc:
        raise gdb.GdbError(str(exc)) from None
    args = gdb.parameter("args") or ""
    return {"binary": binary, "version": version, "argv": [binary] + shlex.split(args)}


class _PendingOn:
    """`set breakpoint pending on` for the duration, then the user's value back."""

    def __enter__(self):
        self.saved = gdb.parameter("breakpoint pending")
        gdb.execute("set breakpoint pending on", to_string=True)

    def __exit__(self, *exc):
        value = {True: "on", False: "off", None: "auto"}[self.saved]
        gdb.execute(f"set breakpoint pending {value}", to_string=True)


def record(plan: planning.Plan, timeout: float | None, kill: bool,
           stop_at: tuple[str, ...] = ()) -> Trace:
    """Plant `plan`, run QEMU to its main loop, remove every breakpoint planted."""
    qemu = qemu_under_gdb()
    recorder = Recorder(plan, timeout=timeout, stop_at=stop_at)
    with _PendingOn():
        recorder.plant()
    trace = None
    try:
        trace = recorder.run(qemu)
    finally:
        recorder.remove()
        # A QEMU that timed out is blocked for good: kill it, as asked.
        over = trace is None or trace.outcome.state == "timeout"
        if (kill or over) and gdb.selected_inferior().pid:
            gdb.execute("kill", to_string=True)
    return trace


class Qinit(gdb.Command):
    """Show how QEMU initializes, from a live run, against its documented path.

Subcommands:
  qinit trace   run QEMU to its main loop, recording a backtrace at every
                point of the documented init path, and summarize it.

The documented path is gdb_qemuinit/data/init-path.toml.  Settings: 'set qinit
color', 'set qinit timeout'."""

    def __init__(self):
        super().__init__("qinit", gdb.COMMAND_USER, prefix=True)

    def invoke(self, arg, from_tty):
        if arg.strip():
            raise gdb.GdbError(f"unknown qinit subcommand {arg.split()[0]!r}; "
                               f"see 'help qinit'")
        gdb.execute("help qinit")


class QinitTrace(gdb.Command):
    """Trace QEMU's initialization against the documented path.

Usage: qinit trace [--json FILE] [--timeout SECONDS] [--kill] [--path FILE]

Plants a breakpoint on the documented init path (only on functions that run a
few times; hot ones are confirmed from deeper backtraces), runs the program gdb
was given (or continues it), records the backtrace of every hit, and stops when
QEMU reaches qemu_main_loop.  Prints a summary.

  --json FILE        write the trace (schema qemuinit.trace/1) to FILE
  --timeout SECONDS  interrupt QEMU if init takes longer and report where it
                     blocks (default: 'show qinit timeout')
  --kill             kill QEMU at the end instead of leaving it stopped at
                     qemu_main_loop
  --path FILE        use another documented-path file
  --quiet            print no summary

Every breakpoint qinit planted is removed at the end; yours are untouched."""

    def __init__(self):
        super().__init__("qinit trace", gdb.COMMAND_USER)
        self.parser = ArgumentParser("qinit trace")
        self.parser.add_argument("--json", metavar="FILE")
        self.parser.add_argument("--timeout", type=positive_seconds, metavar="SECONDS")
        self.parser.add_argument("--kill", action="store_true")
        self.parser.add_argument("--path", metavar="FILE")
        self.parser.add_argument("--quiet", action="store_true")

    def complete(self, text, word):
        if word and not word.startswith("-"):
            return gdb.COMPLETE_FILENAME
        return complete_options(self.parser, word)

    def invoke(self, arg, from_tty):
        opts = parse(self.parser, arg)
        try:
            path = initpath.load(opts.path)
            if opts.json:
                check_writable(opts.json)
        except (initpath.InitPathError, OSError) as exc:
            raise gdb.GdbError(str(exc)) from None
        plan = planning.make_plan(path)
        trace = record(plan, opts.timeout or settings.timeout(), opts.kill)
        if opts.json:
            try:
                save(trace, opts.json)
            except OSError as exc:
                raise gdb.GdbError(f"cannot write {opts.json}: {exc}") from None
        if not opts.quiet:
            gdb.write(summary.summarize(trace) + "\n")
        if trace.outcome.state == "init-complete" and gdb.selected_inferior().pid:
            gdb.write("QEMU is stopped at qemu_main_loop; 'continue' runs it.\n")


def register() -> None:
    settings.register()
    Qinit()
    QinitTrace()
