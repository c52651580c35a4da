"""The `qemuinit` subcommands and their parser (cli.py is the entry point).

Each subcommand that needs a live QEMU runs `gdb -nx -batch` with the
extension loaded, lets the gdb command write its JSON, and prints from that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

# Imported once gdb has started (cli.py): the analysis and the renderers
# are imported while gdb runs QEMU (`_import_analysis`) or by the command
# that needs them.
from . import options, session
from .model import initpath, phases
from .qemu import leftovers
from .render import outputs
from .qemu import scenario
from .options import DEFAULT_TIMEOUT
from .errors import CliError, QemuinitError
from .runner import Run, add_run_facts, gdb_document, run_qinit
from .files import to_stdout, write_output
from .marks import mark
from .model.trace import SUCCEEDED, Trace, TraceError, load, save

from .cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE

def _color(opts) -> bool:
    return not opts.no_color and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _load_path(opts) -> initpath.InitPath:
    return initpath.load(getattr(opts, "path_file", None))


def _run_phase(opts, until: str | None, what: str = "") -> phases.Phase:
    """`until`'s phase, else the scenario's, else the default; the QEMU
    command line checked against it, the time limit its own unless given
    (`what` asked for the phase, for the refusal: --until, else a question)."""
    qmp_file = getattr(opts, "qmp", None)
    if qmp_file:
        # QMP commands after init: the phase made for them
        qmp_phase = next(n for n in phases.trace_names() if phases.load(n).qmp)
        if until not in (None, qmp_phase):
            raise CliError(f"--qmp goes on past init (--until {qmp_phase}), not to {until}")
        until = qmp_phase
    if until and not opts.qemu and not opts.scenario:
        # no QEMU given: the first built-in scenario made for that phase
        opts.scenario = next((n for n in scenario.names()
                              if scenario.load(n).until == until), None)
    sc = scenario.load(opts.scenario) if not opts.qemu else None
    phase = phases.load(until or (sc.until if sc else None))
    if phase.qmp and not qmp_file and not (sc and sc.qmp):
        raise CliError(f"--until {phase.name} sends QMP commands after init: give them "
                       f"with --qmp FILE (one JSON object a line)")
    session.refuse(phase, ["qemu"] + list(opts.qemu or (sc.qemu if sc else [])), what)
    if opts.timeout is None:
        opts.timeout = phase.timeout
    return phase


def cmd_trace(opts) -> int:
    outs = outputs.Outputs.asked(opts)
    phase = _run_phase(opts, opts.until)
    path = session.prepare(opts.path_file, outs, phase)
    def parse(doc: dict) -> Trace:
        try:
            return Trace.from_json(doc, checked=False)     # our gdb's, this run
        except TraceError as exc:
            raise CliError(f"gdb wrote no trace ({exc})") from None

    def read(trace: Trace, run: Run) -> Trace:
        add_run_facts(trace, run)      # reads the backend's log: inside `private`
        return trace

    args = (["trace", "--until", phase.name]
            + (["--path", os.path.abspath(opts.path_file)] if opts.path_file else []))
    trace = run_qinit(opts, args, "trace.json", "trace", read, meanwhile=_import_analysis,
                      parse=parse)
    mark("shell: trace read")
    text_out = sys.stderr if outs.to_stdout() else sys.stdout
    text = session.finish(path, trace, outs, full=opts.full,
                          color=_color(opts) and text_out is sys.stdout)
    mark("shell: analysed, outputs written")
    print(text, end="", file=text_out)
    refused = any("error" in c for c in trace.extra.get("qmp", []))
    return EXIT_OK if trace.outcome.state in SUCCEEDED and not refused else EXIT_FAILED


def _import_analysis() -> None:
    """The analysis and the text renderers, imported while gdb runs QEMU
    (on the machine's other core) rather than after it."""
    from .analysis import annotate  # noqa: F401
    from .render import text  # noqa: F401


def _load_trace(name: str, path_file: str | None):
    """A saved trace and the documented path of its phase (`path_file`
    replacing the init path), analysed again (verdicts, vhost-user rounds,
    hang) with this qemuinit."""
    from .analysis import annotate as analysis
    trace = load(name)
    path = phases.of_trace(trace.qemu).path(path_file)
    return path, analysis.annotate(path, trace)


def cmd_report(opts) -> int:
    path, trace = _load_trace(opts.trace, opts.path_file)
    try:
        data = outputs.render(path, trace, opts.format,
                              color=opts.format == "text" and not opts.output
                              and _color(opts))
    except Exception as exc:
        raise CliError(f"cannot render {opts.format}: {exc}") from None
    if opts.output:
        write_output(opts.output, data)
    elif opts.format in ("png", "svg", "sequence", "html") and sys.stdout.isatty():
        raise CliError(f"{opts.format} is binary or long: give -o FILE")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK


def cmd_diff(opts) -> int:
    pictures = outputs.Outputs(svg=opts.svg, html=opts.html)
    pictures.check()      # before anything is read
    from .analysis import diff as tracediff
    from .model.verdicts import edges_of
    from .render.diff import format_diff
    (_, a), (path, b) = _load_trace(opts.a, opts.path_file), _load_trace(opts.b, opts.path_file)
    d = tracediff.diff(a, b)
    try:
        if opts.svg:
            from .render.graph import render as render_graph
            from .render.html import changed_edges
            write_output(opts.svg, render_graph(
                path, edges_of(b), "svg",
                title=f"B ({opts.b}), with the edges whose verdict changed since A ({opts.a})",
                changed=changed_edges(d)))
        if opts.html:
            from .render.html import render_diff
            write_output(opts.html, render_diff(path, a, b, d))
    except QemuinitError:
        raise
    except Exception as exc:
        raise CliError(f"cannot write the diff's pictures: {exc}") from None
    text_out = sys.stderr if pictures.to_stdout() else sys.stdout
    if opts.json:
        print(json.dumps(d, indent=1, ensure_ascii=False), file=text_out)
    else:
        print(format_diff(d), file=text_out)
    return EXIT_OK


def cmd_path(opts) -> int:
    from .render import text as render_text
    path = _load_path(opts)
    print(render_text.path_tree(path, path.check_cluster(opts.cluster)), end="")
    return EXIT_OK


def cmd_path_import(opts) -> int:
    from .notes import importer as path_import
    from .notes import reader as notes_reader
    notes = notes_reader.read(opts.notes)
    if opts.output:
        outputs.Outputs(json=opts.output).check()
    facts = None
    if opts.qemu or opts.scenario:
        facts = run_qinit(opts, ["path import", os.path.abspath(opts.notes),
                                  "--hot", str(opts.hot)], "facts.json", "facts")
        state = facts.get("outcome", {})
        if state.get("state") != "init-complete":
            raise CliError(f"the counting run did not reach qemu_main_loop "
                           f"({state.get('state')}: {state.get('detail', '')}); nothing written")
    result = path_import.build(notes, facts, opts.hot)
    _write_or_print(opts.output, result.toml)
    # the summary goes where it does not mix with the path file
    into_file = opts.output and not to_stdout([opts.output])
    print(path_import.summary(result, opts.output if into_file else "the path file to stdout"),
          file=sys.stdout if into_file else sys.stderr)
    return EXIT_OK


def cmd_path_export(opts) -> int:
    from .notes import exporter as path_export
    path, trace = _load_trace(opts.trace, opts.path_file)
    _write_or_print(opts.output, path_export.export(path, trace, opts.format))
    return EXIT_OK


def _write_or_print(output: str | None, text: str) -> None:
    """`text` into the file `output`, else to stdout."""
    if output:
        write_output(output, text)
    else:
        sys.stdout.write(text)


def _path_parser(action: str) -> argparse.ArgumentParser:
    """`qemuinit path import|export`: separate parsers, since `path CLUSTER`
    takes any word."""
    from .notes import HOT_THRESHOLD
    if action == "import":
        p = argparse.ArgumentParser(
            prog="qemuinit path import",
            usage="qemuinit path import NOTES [-o FILE] [--hot N] [options] "
                  "[-- QEMU-BINARY ARGS...]",
            description="Turn a developer's call-graph notes (markdown with a "
            "```graphviz or ```dot block and maybe an indented '->' call listing, "
            "a .dot file, or a listing alone) into a documented-path file for "
            "--path.  With a QEMU (-- QEMU-BINARY ARGS... or --scenario NAME) it "
            "runs once under gdb to qemu_main_loop with counting breakpoints: names "
            "the binary lacks are listed; function pointers (ti->class_init, "
            "table[...], ops->x, a member the caller calls through a pointer) "
            "become dispatch points, served by what the run saw called there or "
            "marked fill_in; functions called --hot times or more are hot.")
        options.add(p, "notes", "path-output", "hot",
                    hot={"default": HOT_THRESHOLD, "note": f"default {HOT_THRESHOLD}"})
        _run_options(p)
        for a in p._actions:
            if a.dest == "scenario":
                a.help = ("run this built-in scenario for the counting run "
                               "(without it or -- QEMU ..., nothing runs)")
        p.set_defaults(func=cmd_path_import)
        return p
    p = argparse.ArgumentParser(
        prog="qemuinit path export",
        description="Write a trace's documented graph back in the notes' style "
        "(same clusters and labels), corrected by the run: frames the notes skip, "
        "what served each dispatch point, edges taken from another caller, edges "
        "not exercised; the QEMU version and command line in the title.")
    options.add(p, "trace-file", "notes-format", "output", "checked-path",
                notes_format={"choices": ("dot", "md"), "default": "dot"})
    p.set_defaults(func=cmd_path_export)
    return p


def cmd_where(opts) -> int:
    from .model import questions
    from .render import where as render_where
    if opts.list:
        print(questions.listing())
        return EXIT_OK
    if not opts.question:
        raise CliError("where needs a QUESTION or a function name (--list shows them)")
    q = questions.resolve(opts.question)
    questions.check_device(q, opts.device)
    if q.until:         # a question past init: its phase's scenario, refusals, time
        _run_phase(opts, q.until, f"where {q.name}")
    elif opts.timeout is None:
        opts.timeout = float(DEFAULT_TIMEOUT)
    if opts.json:
        outputs.Outputs(json=opts.json).check()      # before QEMU runs
    res = run_qinit(opts, ["where", q.name] + (["--all"] if opts.all else [])
                     + (["--device", opts.device] if opts.device else []),
                     "where.json", "answer")
    if opts.json:
        save(res, opts.json)
    print(render_where.format_result(res, opts.device, q),
          file=sys.stderr if to_stdout([opts.json]) else sys.stdout)
    return EXIT_OK if render_where.answers_for(res, opts.device) else EXIT_FAILED


def _check_qemu_pid(pid: int) -> None:
    """`pid` is a running QEMU: a user error (CliError) if not."""
    from .qemu.binary import check_binary
    if not os.path.exists(f"/proc/{pid}"):
        raise CliError(f"no process {pid}")
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError as exc:
        raise CliError(f"cannot read what PID {pid} runs: {exc.strerror}") from None
    try:
        check_binary(exe)
    except QemuinitError:
        raise CliError(f"PID {pid} runs {exe}, which is not QEMU") from None


def _refuse_traced(pid: int) -> None:
    """A QEMU another debugger (or qemuinit) traces cannot be attached to:
    say by whom."""
    from .attached_gdb import tracer_of
    tracer = tracer_of(pid)
    if tracer:
        try:
            with open(f"/proc/{tracer}/comm", encoding="utf-8", errors="replace") as f:
                name = f" ({f.read().strip()})"
        except OSError:
            name = ""
        raise CliError(f"PID {pid} is already traced by PID {tracer}{name}: detach that "
                       f"first (a process has one tracer at a time)")


def cmd_hang(opts) -> int:
    """Attach gdb to a running QEMU, diagnose, detach."""
    from .attached_gdb import gone, resume_if_left_stopped, run_attached_gdb, stopped, \
        tracer_of
    from .render.hang import format_hang
    from .gdbcommand import gdb_attach_command
    _check_qemu_pid(opts.pid)
    if opts.json:
        outputs.Outputs(json=opts.json).check()      # before gdb attaches
    leftovers.remove_stale()
    with leftovers.private_dir() as private:
        json_path = os.path.join(private, "hang.json")
        cmd = gdb_attach_command(opts.pid, ["hang", "--quiet", "--json", json_path])
        was_stopped = stopped(opts.pid)
        gdb = run_attached_gdb(cmd, opts.timeout, opts.pid, was_stopped)
        resumed = resume_if_left_stopped(opts.pid, was_stopped)
        if gdb.limit_hit:
            left = tracer_of(opts.pid)
            state = ("QEMU has ended" if gone(opts.pid) else
                     f"QEMU is still traced by PID {left}" if left else
                     "QEMU goes on as before"
                     + (" (gdb's attach had left it stopped: qemuinit continued it)"
                        if resumed else ""))
            raise CliError(f"gdb did not finish within {opts.timeout:g} s: it was "
                           f"{gdb.how_ended} and the kernel detached QEMU; {state}")
        doc, _ = gdb_document(json_path)
        if doc is None:
            said = [ln for ln in gdb.stderr.splitlines() if ln.strip()]
            raise CliError(f"could not diagnose PID {opts.pid}"
                           + (f": {said[-1]}" if said else "")) from None
    if opts.json:
        save(doc, opts.json)
    print(format_hang(doc), end="", file=sys.stderr if to_stdout([opts.json]) else sys.stdout)
    return EXIT_OK


def cmd_watch(opts) -> int:
    """Attach gdb to a running QEMU, record what happens to it until the
    time limit, Ctrl-C or the event, detach; then analyse as a trace."""
    from .attached_gdb import resume_if_left_stopped, run_watching_gdb, stopped, tracer_of
    from .gdbcommand import gdb_attach_command
    _check_qemu_pid(opts.pid)
    _refuse_traced(opts.pid)
    phase = phases.load("watch")
    if opts.event:
        phase.event(opts.event)
    logs = [_backend_log(spec) for spec in opts.backend_logs]
    outs = outputs.Outputs.asked(opts)
    path = session.prepare(None, outs, phase)
    leftovers.remove_stale()
    with leftovers.private_dir() as private:
        json_path = os.path.join(private, "watch.json")
        args = (["watch", "--quiet", "--json", json_path, "--timeout", str(opts.timeout)]
                + (["--until", opts.event] if opts.event else []))
        was_stopped = stopped(opts.pid)
        gdb = run_watching_gdb(gdb_attach_command(opts.pid, args, guard=False), opts.timeout,
                               os.path.join(private, "gdb.err"))
        resumed = resume_if_left_stopped(opts.pid, was_stopped)
        doc, why = gdb_document(json_path)
    if gdb.limit_hit:
        left = tracer_of(opts.pid)
        print(f"qemuinit: warning: gdb did not end the watch by itself: it was {gdb.how_ended}"
              + (f"; QEMU is still traced by PID {left}" if left else
                 "; it detached from QEMU first" if gdb.how_ended == "ended" else
                 "; breakpoints it had planted may still be in QEMU")
              + ("; gdb's attach had left QEMU stopped: qemuinit continued it" if resumed
                 else ""), file=sys.stderr)
    if doc is None:
        said = [ln for ln in gdb.stderr.splitlines() if ln.strip()]
        left = tracer_of(opts.pid)
        raise CliError(f"the watch of PID {opts.pid} ended without a record ({why})"
                       + (f": {said[-1]}" if said else "")
                       + (f"; QEMU is still traced by PID {left}" if left else ""))
    trace = Trace.from_json(doc, checked=False)
    if logs:
        from .analysis import backendlog
        patterns = scenario.backend_log_patterns()
        read = [(c, _read_log(f)) for c, f in logs]
        trace.extra["backends"] = [{"chardev": c, "log": backendlog.parse_backend_log(
            text, patterns)} for c, text in read if text is not None]
    text_out = sys.stderr if outs.to_stdout() else sys.stdout
    print(session.finish(path, trace, outs, full=opts.full,
                         color=_color(opts) and text_out is sys.stdout), end="", file=text_out)
    return EXIT_OK if trace.outcome.state in SUCCEEDED else EXIT_FAILED


def _backend_log(spec: str) -> tuple[str, str]:
    """--backend-log CHARDEV=FILE (the file may come later: a backend
    started during the watch writes it)."""
    chardev, sep, file = spec.partition("=")
    if not sep or not chardev or not file:
        raise CliError(f"--backend-log {spec!r}: give CHARDEV=FILE")
    return chardev, file


def _read_log(file: str) -> str | None:
    """A backend's log once the watch is over; None (said) if unreadable."""
    try:
        with open(file, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as exc:
        print(f"qemuinit: warning: the backend log {file} was not compared: {exc.strerror}",
              file=sys.stderr)
        return None


def _scenario_help() -> str:
    lines = ["scenarios (--scenario NAME; the default is marked *):"]
    for name in scenario.names():
        mark = "*" if name == scenario.default_name() else " "
        lines.append(f" {mark} {name:<24} {scenario.load(name).about}")
    return "\n".join(lines)


def _run_options(p: argparse.ArgumentParser) -> None:
    """Options of every subcommand that starts QEMU."""
    options.add(p, "scenario", "qemu-arg", "backend", "testpmd", "no-backend", "cut-after",
                "timeout",
                scenario={"choices": scenario.names(),
                          "note": f"default {scenario.default_name()}"},
                backend={"action": "append"}, qemu_arg={"action": "append"},
                timeout={"note": f"default {DEFAULT_TIMEOUT:g}; a trace --until a later "
                                 "phase, or a question past init, that phase's"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qemuinit",
        description="Check QEMU's documented initialization path against a live run.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("trace", help="run QEMU under gdb to its main loop and record "
                       "the documented init path",
                       description="Run QEMU under gdb to its main loop, recording a "
                       "backtrace at every documented init point.  Without a QEMU "
                       "command, runs the project's debug QEMU on a built-in scenario "
                       "(--scenario).",
                       epilog=_scenario_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add(p, "json", "svg", "png", "dot", "report", "timeline", "html", "full",
                "no-color", "path", "until", "qmp",
                until={"choices": phases.trace_names(),
                       "note": "default main-loop, or the scenario's"})
    _run_options(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("report", help="re-render a saved trace (no gdb needed)")
    options.add(p, "trace-file", "format", "output", "no-color", "path",
                format={"choices": outputs.FORMATS, "default": "text", "metavar": None})
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("diff", help="compare two traces (QEMU versions, command lines)")
    options.add(p, "a", "b", "diff-json", "diff-svg", "diff-html", "path")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("where", help="answer a question (pci-config, ...) from a live run",
                       description="Answer a question about init from a live QEMU: where "
                       "it happens, the chain from main, and the facts a developer wants.",
                       epilog=options.WHERE_DEVICES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add(p, "question", "list", "all", "device", "where-json", "no-color",
                all={"note": "default: the first answer; QEMU is killed there"})
    _run_options(p)
    p.set_defaults(func=cmd_where)
    for name in ("trace", "where"):
        sub.choices[name].usage = f"qemuinit {name} [options] [-- QEMU-BINARY ARGS...]"

    p = sub.add_parser("hang", help="why a running QEMU hangs: attach, diagnose, detach",
                       description="Attach gdb to a running QEMU (started by anyone), "
                       "say at once why it hangs (threads, stage, socket, role, peer, "
                       "request in flight, findings) and detach: QEMU goes on as before.")
    options.add(p, "pid", "hang-json", "hang-timeout", hang_timeout={"default": 120.0})
    p.set_defaults(func=cmd_hang)

    p = sub.add_parser("watch", help="follow a running QEMU through hot-plug and a "
                       "backend's restart: attach, record, detach",
                       description="Attach gdb to a running QEMU (started by anyone), "
                       "plant the documented hot-plug and reconnect paths and every "
                       "vhost-user message, record what QMP commands and backends make it "
                       "do until the time limit, Ctrl-C or --until EVENT, then take the "
                       "breakpoints out and detach: QEMU goes on as before.  The report "
                       "checks every documented edge, as a trace's does.",
                       epilog="events: " + "; ".join(
                           f"{e.name}: {e.about}" for e in phases.load("watch").events.values()))
    options.add(p, "pid", "json", "svg", "png", "dot", "report", "timeline", "html", "full",
                "no-color", "watch-timeout", "event", "backend-log",
                backend_log={"action": "append", "default": []},
                watch_timeout={"default": phases.load("watch").timeout,
                               "note": f"default {phases.load('watch').timeout:g}"},
                event={"choices": list(phases.load("watch").events)})
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("path", help="print the documented path as a call tree; "
                       "path import NOTES, path export TRACE.json",
                       usage="qemuinit path [CLUSTER] [--path FILE]\n"
                       "       qemuinit path import NOTES [-o FILE] ... [-- QEMU ...]\n"
                       "       qemuinit path export TRACE.json --format dot|md [-o FILE]")
    options.add(p, "cluster", "path")
    p.set_defaults(func=cmd_path)
    return parser


def _profiled(opts) -> int:
    """The command under cProfile, into $QEMUINIT_PROFILE/shell.prof (the
    benchmark's --profile: where the shell's time goes)."""
    import cProfile
    profile = cProfile.Profile()
    try:
        return profile.runcall(opts.func, opts)
    finally:
        profile.dump_stats(os.path.join(os.environ["QEMUINIT_PROFILE"], "shell.prof"))


def main(argv: list[str], early_gdb=None) -> int:
    """Run the command `argv` says; `early_gdb`: the gdb cli.py started for
    it (earlygdb.WaitingGdb), if any."""
    parser = build_parser()
    # Everything after the first "--" is the QEMU command line, untouched.
    qemu = []
    if "--" in argv:
        cut = argv.index("--")
        argv, qemu = argv[:cut], argv[cut + 1:]
    if argv[:1] == ["path"] and argv[1:2] in (["import"], ["export"]):
        opts = _path_parser(argv[1]).parse_args(argv[2:])
    else:
        opts = parser.parse_args(argv)
    opts.qemu = qemu
    opts.early_gdb = early_gdb
    if getattr(opts, "timeout", 0) is None and opts.func not in (cmd_trace, cmd_where):
        opts.timeout = float(DEFAULT_TIMEOUT)     # theirs depends on the phase
    try:
        if os.environ.get("QEMUINIT_PROFILE"):
            return _profiled(opts)
        return opts.func(opts)
    except QemuinitError as exc:
        print(f"qemuinit: {exc}", file=sys.stderr)
        return EXIT_USAGE

