"""The `qinit` commands.  Each class docstring is its `help` text.

Registering them imports only what their parsers need: the rest (recorder,
analysis, renderers) is imported when a command runs, so sourcing gdbinit.py
stays cheap."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gdb

from .. import options
from ..gdbargs import ArgumentParser, complete_options, last_word
from ..errors import QemuinitError
from . import settings

# --timeout's default is the setting (which starts at options.DEFAULT_TIMEOUT).
GDB_TIMEOUT = {"note": "default: 'show qinit timeout'"}

if TYPE_CHECKING:
    from ..planning.recording import Recording
    from ..model.trace import Trace


# Set when the shell front end (qemuinit) runs this gdb: a user error then
# goes into the JSON file the command was to write, for qemuinit to say.
FOR_THE_SHELL = False


def user_errors(invoke):
    """A command's invoke() with qemuinit's user errors (QemuinitError) turned
    into gdb.GdbError: one line, no Python traceback.  Run by the shell,
    the error is written where the command's JSON was to go instead."""
    def run(self, arg, from_tty):
        try:
            return invoke(self, arg, from_tty)
        except QemuinitError as exc:
            if not (FOR_THE_SHELL and _hand_to_shell(self, arg, str(exc))):
                raise gdb.GdbError(str(exc)) from None
    run.__doc__ = invoke.__doc__
    return run


def _hand_to_shell(command, arg: str, message: str) -> bool:
    """Write the error as the command's --json document; False if it has none."""
    import json
    from ..errors import ERROR_SCHEMA
    from ..files import write_output
    try:
        target = getattr(command.parser.parse_args(gdb.string_to_argv(arg)), "json", None)
    except QemuinitError:
        return False
    if not target:
        return False
    write_output(target, json.dumps({"schema": ERROR_SCHEMA, "error": message}) + "\n")
    return True


def parse(parser: ArgumentParser, arg: str):
    return parser.parse_args(gdb.string_to_argv(arg))


def write_or_show(output: str | None, text: str, quiet: bool = False) -> None:
    """`text` into the file `output` (whole, or a one-line error: the
    command's user_errors says it), else shown unless `quiet`."""
    from ..files import write_output
    if output:
        write_output(output, text)
    elif not quiet:
        gdb.write(text)


def show(text: str, *outputs: str | None, quiet: bool = False) -> None:
    """What a command prints, unless `quiet`: to gdb's standard error when
    one of the command's outputs is `-` (standard output), so the two do
    not mix."""
    from ..files import to_stdout
    if not quiet:
        gdb.write(text, gdb.STDERR if to_stdout(outputs) else gdb.STDOUT)


def qemu_under_gdb() -> dict:
    """The program gdb was given, checked to be QEMU before anything runs."""
    from ..qemu.binary import check_binary, index_advice
    binary = gdb.current_progspace().filename
    if not binary:
        raise QemuinitError("no program to trace: start gdb as "
                           "'gdb --args QEMU-BINARY QEMU-ARGS...' or use 'file'")
    version = check_binary(binary)
    advice = index_advice(binary)
    if advice:
        gdb.write(advice + "\n", gdb.STDERR)
    from . import starting
    starting.ready()            # a QEMU whose init is over is started again
    from .attach import attached, proc_argv
    pid = gdb.selected_inferior().pid
    # Attached (gdb -p), gdb has no program arguments: the kernel has them.
    argv = proc_argv(pid) if attached() else []
    return {"binary": binary, "version": version,
            "argv": argv or [binary] + program_args()}


def program_args() -> list[str]:
    """The program's arguments as gdb shows them: only a first guess, for
    the trace of a QEMU that never started.  The recorder reads what QEMU
    really received from /proc once it exists.  gdb 13's
    gdb.parameter("args") is empty even after --args, so read them from
    'show args' (gdb quotes them for a shell)."""
    import shlex
    args = gdb.parameter("args")
    if not args:
        shown = gdb.execute("show args", to_string=True)
        start, end = shown.find('"'), shown.rfind('"')
        args = shown[start + 1:end] if 0 <= start < end else ""
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def record(qemu: dict, recording: Recording, timeout: float | None, kill: bool) -> Trace:
    """Execute `recording` on QEMU (`qemu_under_gdb()`): plant (its plan, or
    the one it makes at main from QEMU's real argv), run to its main loop (or
    a question's first stop), remove every breakpoint planted."""
    from ..model.trace import ERROR, INTERRUPTED, TIMEOUT
    from .attach import attached, detach
    from .recorder import Recorder
    was_attached = attached()
    recorder = Recorder(recording, timeout=timeout, lazy_libraries=settings.lazy_libraries())
    trace = None
    try:
        trace = recorder.run(qemu)
    finally:
        recorder.remove()
        # A QEMU that timed out is blocked for good, one gdb failed on is in
        # an unknown state: kill those, and any when asked.  A crashed one
        # stays stopped at the prompt, to be looked at.  One gdb attached
        # to is not ours to kill (unless asked): it is detached instead.
        over = trace is None or trace.outcome.state in (TIMEOUT, ERROR)
        if was_attached and not kill:
            if over or trace.outcome.state == INTERRUPTED:
                detach()
        elif (kill or over) and gdb.selected_inferior().pid:
            try:
                gdb.execute("kill", to_string=True)
            except gdb.error:
                pass        # already gone
        try:
            recorder.restore_libraries(qemu_alive=bool(gdb.selected_inferior().pid))
        except gdb.error:
            pass
        from . import starting
        starting.left()
    return trace


class Qinit(gdb.Command):
    """Show how QEMU initializes, from a live run, against its documented path.

Subcommands:
  qinit trace   run QEMU to its main loop, recording a backtrace at every
                point of the documented init path, and check every edge
  qinit report  the whole report of the last trace
  qinit path    the documented path as a call tree
  qinit where   answer a question (pci-config, netdev_init, ...) from a live run
  qinit hang    why a running QEMU hangs, at once (gdb -p PID), then detach

The documented path is gdb_qemuinit/data/init-path.toml.  Settings: 'set qinit
color', 'set qinit timeout', 'set qinit lazy-libraries'."""

    def __init__(self):
        super().__init__("qinit", gdb.COMMAND_USER, prefix=True)

    @user_errors
    def invoke(self, arg, from_tty):
        if arg.strip():
            raise gdb.GdbError(f"unknown qinit subcommand {arg.split()[0]!r}; "
                               f"see 'help qinit'")
        gdb.execute("help qinit")


class QinitCommand(gdb.Command):
    """A qinit subcommand: its parser made from options.py's definitions,
    its help ({options} in the docstring) made from the parser, its options
    completed.  Subclasses name the command and the options it takes."""

    NAME = ""
    OPTIONS: tuple[str, ...] = ()
    EXTRAS: dict = {}           # per option, what only gdb's side knows
    PREFIX = False

    def __init__(self):
        self.parser = ArgumentParser(self.NAME)
        options.add(self.parser, *self.OPTIONS, **self.EXTRAS)
        self.__doc__ = self.parser.help_for(type(self).__doc__).replace(
            "{devices}", options.WHERE_DEVICES)
        super().__init__(self.NAME, gdb.COMMAND_USER, prefix=self.PREFIX)

    def complete(self, text, word):
        return complete_options(self.parser, text, word)


class QinitTrace(QinitCommand):
    """Trace QEMU's initialization and check it against the documented path.

{options}

Plants a breakpoint on the documented init path (only on functions that run a
few times; hot ones are confirmed from deeper backtraces), runs the program gdb
was given (or continues it), records the backtrace of every hit, and stops when
QEMU reaches qemu_main_loop.  Then every documented edge gets a verdict
(observed, dispatch, not-exercised, not-reached, absent, unknown) and a summary
is printed;
'qinit report' shows the whole report.

Every breakpoint qinit planted is removed at the end; yours are untouched."""

    NAME = "qinit trace"
    OPTIONS = ("json", "svg", "png", "dot", "report", "timeline", "html",
               "timeout", "kill", "path", "quiet", "naive")
    EXTRAS = {"timeout": GDB_TIMEOUT}

    def complete(self, text, word):
        last = last_word(text)
        if last and not last.startswith("-"):
            return gdb.COMPLETE_FILENAME
        return complete_options(self.parser, text, word)

    @user_errors
    def invoke(self, arg, from_tty):
        from .. import session
        from ..render import outputs
        from ..planning import recording
        from ..model import spec as vhostuser
        from ..model.trace import INIT_COMPLETE
        opts = parse(self.parser, arg)
        outs = outputs.Outputs(json=opts.json, dot=opts.dot, svg=opts.svg,
                               png=opts.png, report=opts.report,
                               timeline=opts.timeline, html=opts.html)
        path = session.prepare(opts.path_file, outs)
        qemu = qemu_under_gdb()
        todo = recording.for_trace(path, vhostuser.load_spec(), naive=opts.naive)
        trace = record(qemu, todo, opts.timeout or settings.timeout(), opts.kill)
        import time
        LAST.update(trace=trace, path=path, number=LAST.get("number", 0) + 1,
                    when=time.strftime("%H:%M:%S"))
        text = session.finish(path, trace, outs)
        show(text, *outs.paths(), quiet=opts.quiet)
        if trace.outcome.state == INIT_COMPLETE and gdb.selected_inferior().pid:
            gdb.write("QEMU is stopped at qemu_main_loop; 'continue' runs it, "
                      "'qinit report' shows every edge.\n")


class QinitWhere(QinitCommand):
    """Answer a question about init from a live QEMU: where it happens, the chain
from main that led there, and the facts a developer wants.

{options}

  pci-config   where PCI config space is allocated and set up, per device:
               size and why, PCIe or not after realize, where the PCIe
               capability is added
  ...          'qinit where --list' shows every question

{devices}

At the prompt QEMU stays stopped at that answer so you can look around;
with --all every answer is collected and QEMU stops at the end of init;
--kill kills it there.  An object QEMU makes and frees again (QEMU 9.0+
builds one of each NIC model while the board is built) is marked throwaway,
listed after the others, and never the answer QEMU stops at.  Any function name
works as a question (qinit where vhost_dev_init)."""

    NAME = "qinit where"
    OPTIONS = ("question", "list", "all", "device", "where-json", "timeout", "kill", "quiet")
    EXTRAS = {"timeout": GDB_TIMEOUT}

    def complete(self, text, word):
        from ..model import questions as where
        if last_word(text).startswith("-"):
            return complete_options(self.parser, text, word)
        return [n for n in where.load_questions() if n.startswith(word or "")]

    @user_errors
    def invoke(self, arg, from_tty):
        from ..planning import recording
        from ..render import summary
        from ..analysis import where
        from ..render import where as render_where
        from ..files import check_writable
        from ..model.trace import save
        opts = parse(self.parser, arg)
        if opts.list:
            gdb.write(where.listing() + "\n")
            return
        if not opts.question:
            raise QemuinitError("usage: qinit where QUESTION|FUNCTION [--all] ... "
                               "('qinit where --list' shows the questions)")
        q = where.resolve(opts.question)
        where.check_device(q, opts.device)
        if opts.json:
            check_writable(opts.json)
        todo = recording.for_question(q, collect=opts.all, device=opts.device)
        trace = record(qemu_under_gdb(), todo, opts.timeout or settings.timeout(), opts.kill)
        missing = [fn for fn in q.stops if fn in trace.missing_symbols]
        if missing == q.stops:
            from .symbols import names_near
            near = sorted({n for fn in missing for n in names_near(fn)})
            raise QemuinitError(f"no function {', '.join(missing)} in this QEMU"
                                + (f"; did you mean {', '.join(near)}?" if near else "")
                                + ("" if trace.debug_info else
                                   "\n" + summary.NO_DEBUG_INFO_HINT))
        res = where.result(q, trace)
        if opts.json:
            save(res, opts.json)
        show(render_where.format_result(res, opts.device, q) + "\n", opts.json,
             quiet=opts.quiet)


# The last trace of this gdb session, for 'qinit report'.
LAST: dict = {}


def last_trace():
    """The documented path and the trace of this session's last 'qinit trace'."""
    if not LAST:
        raise QemuinitError("no trace yet in this session: run 'qinit trace' first")
    return LAST["path"], LAST["trace"]


class QinitReport(QinitCommand):
    """Show the report of the last 'qinit trace': every documented edge with
its verdict and evidence, grouped by the seed's clusters.

{options}

Coloured on a terminal unless 'set qinit color off' or --no-color."""

    NAME = "qinit report"
    OPTIONS = ("no-color",)

    @user_errors
    def invoke(self, arg, from_tty):
        from ..render import text as render_text
        opts = parse(self.parser, arg)
        path, trace = last_trace()
        color = settings.color_wanted() and not opts.no_color
        gdb.write(f"qinit report: trace {LAST['number']} of this gdb session, ended "
                  f"{LAST['when']} ({trace.outcome.state})\n")
        gdb.write(render_text.render(path, trace, color=color))


class QinitPath(QinitCommand):
    """Print the documented init path as a call tree: what 'qinit trace' checks.

{options}

Also 'qinit path import NOTES ...' and 'qinit path export ...': see their help.

CLUSTER is one of the seed's clusters (netdev_init, chardev_init, ...); Tab
completes them.  The questions named after a cluster have its name
(qinit where vhost_user_negotiation); - and _ are alike in both."""

    NAME = "qinit path"
    OPTIONS = ("cluster",)
    PREFIX = True

    def complete(self, text, word):
        from ..model import initpath
        return [c for c in initpath.load().cluster_ids() if c.startswith(word or "")]

    @user_errors
    def invoke(self, arg, from_tty):
        from ..model import initpath
        from ..render import text as render_text
        cluster = parse(self.parser, arg).cluster
        path = initpath.load()
        gdb.write(render_text.path_tree(path, path.check_cluster(cluster)))


class QinitPathImport(QinitCommand):
    """Turn a developer's call-graph notes into a documented-path file, checked
against the program gdb was given.

{options}

The path file (init-path.toml's format) goes to FILE, or is printed.

Unless --no-run, QEMU runs once to qemu_main_loop with counting breakpoints:
names it has no function for are listed; function pointers (ti->class_init,
net_client_init_fun[...], ops->x, a member the caller calls through a
pointer) become dispatch points, served by what the run saw called there or
marked 'fill_in'; functions called N times or more (--hot, default 10) are
hot.  --json writes what gdb found."""

    NAME = "qinit path import"
    OPTIONS = ("notes", "path-output", "hot", "facts-json", "timeout", "kill", "quiet",
               "no-run")

    def __init__(self):
        from ..notes.importer import HOT_THRESHOLD
        self.EXTRAS = {"hot": {"note": f"default {HOT_THRESHOLD}"}}
        super().__init__()

    def complete(self, text, word):
        if last_word(text).startswith("-"):
            return complete_options(self.parser, text, word)
        return gdb.COMPLETE_FILENAME

    @user_errors
    def invoke(self, arg, from_tty):
        from ..notes import importer as path_import
        from ..files import check_writable, to_stdout
        from ..model.trace import save
        opts = parse(self.parser, arg)
        hot = opts.hot or path_import.HOT_THRESHOLD
        notes = path_import.read(opts.notes)
        to_stdout((opts.output, opts.json))        # at most one '-'
        for out in (opts.output, opts.json):
            if out:
                check_writable(out)
        facts = None
        if not opts.no_run:
            from .notes_facts import collect
            facts = collect(qemu_under_gdb(), path_import.gdb_request(notes), keep=hot,
                            timeout=opts.timeout or settings.timeout(), kill=opts.kill)
            if opts.json:
                save(facts, opts.json)
        result = path_import.build(notes, facts, hot)
        write_or_show(opts.output, result.toml, opts.quiet)
        if opts.output:
            show(path_import.summary(result, opts.output) + "\n", opts.output, opts.json,
                 quiet=opts.quiet)


class QinitPathExport(QinitCommand):
    """Write the last trace's documented graph back in the notes' style,
corrected by what QEMU did.

{options}

Same clusters and labels as the documented path; an edge seen through
frames the notes skip is drawn through them, a dispatch point names what
served it, an edge QEMU took from elsewhere is drawn from there, edges the
run did not exercise are kept and marked; the QEMU version and command line
are in the title."""

    NAME = "qinit path export"
    OPTIONS = ("notes-format", "output")
    EXTRAS = {"notes_format": {"choices": ("dot", "md"), "default": "dot"}}

    @user_errors
    def invoke(self, arg, from_tty):
        from ..notes import exporter as path_export
        opts = parse(self.parser, arg)
        path, trace = last_trace()
        write_or_show(opts.output, path_export.export(path, trace, opts.format))


# The registered commands by name (their parsers are what their help shows).
COMMANDS: dict[str, gdb.Command] = {}


def register(for_the_shell: bool = False) -> None:
    """Register the commands; `for_the_shell` when qemuinit runs this gdb."""
    global FOR_THE_SHELL
    FOR_THE_SHELL = for_the_shell
    from .attach import QinitHang
    settings.register()
    Qinit()
    for cls in (QinitTrace, QinitReport, QinitPath, QinitPathImport, QinitPathExport,
                QinitWhere, QinitHang):
        cmd = cls()
        COMMANDS[cmd.parser.prog] = cmd
