"""`qemuinit`: the qinit commands from a shell, for scripts and CI.

Each subcommand that needs a live QEMU runs `gdb -nx -batch` with the
extension loaded, lets the gdb command write its JSON, and prints from that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import (analysis, diff as tracediff, initpath, leftovers, outputs, render_text, scenario,
               session)
from .cmdline import positive_seconds
from .errors import CliError, QemuinitError
from .runner import Run, add_run_facts, prepare_run, run_gdb
from .trace import INIT_COMPLETE, Trace, TraceError, load, save, write_atomic

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

def _color(opts) -> bool:
    return not opts.no_color and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _load_path(opts) -> initpath.InitPath:
    return initpath.load(getattr(opts, "path", None))


def _run_qinit(opts, qinit_args: list[str], json_name: str, read):
    """Run `qinit ...` under gdb on this run's QEMU (and backend), its JSON
    written in a private directory (mode 0700) and read there by `read`."""
    leftovers.remove_stale()
    with leftovers.private_dir() as private:
        run = prepare_run(opts, private)
        json_path = os.path.join(private, json_name)
        run_gdb(run, qinit_args + ["--kill", "--quiet", "--json", json_path,
                                   "--timeout", str(opts.timeout)], opts.timeout)
        return read(json_path, run)


def cmd_trace(opts) -> int:
    outs = outputs.Outputs(json=opts.json, dot=opts.dot, svg=opts.svg, png=opts.png,
                           report=opts.report, timeline=opts.timeline, html=opts.html)
    path = session.prepare(opts.path, outs)
    def read(json_path: str, run: Run) -> Trace:
        try:
            trace = load(json_path)
        except TraceError as exc:
            if run.interrupted:
                raise CliError("interrupted before QEMU ran: nothing was recorded") from None
            raise CliError(f"gdb wrote no trace ({exc})") from None
        add_run_facts(trace, run)      # reads the backend's log: inside `private`
        return trace

    args = ["trace"] + (["--path", os.path.abspath(opts.path)] if opts.path else [])
    trace = _run_qinit(opts, args, "trace.json", read)
    print(session.finish(path, trace, outs, full=opts.full, color=_color(opts)), end="")
    return EXIT_OK if trace.outcome.state == INIT_COMPLETE else EXIT_FAILED


def _load_trace(name: str, path: initpath.InitPath):
    """A saved trace, analysed again (verdicts, vhost-user rounds, hang) with
    this qemuinit and this documented path."""
    return analysis.annotate(path, load(name))


def cmd_report(opts) -> int:
    path = _load_path(opts)
    trace = _load_trace(opts.trace, path)
    try:
        data = outputs.render(path, trace, opts.format,
                              color=opts.format == "text" and not opts.output
                              and _color(opts))
    except Exception as exc:
        raise CliError(f"cannot render {opts.format}: {exc}") from None
    if opts.output:
        try:
            write_atomic(opts.output, data)
        except OSError as exc:
            raise CliError(f"cannot write {opts.output}: {exc.strerror or exc}") from None
    elif opts.format in ("png", "svg", "sequence", "html") and sys.stdout.isatty():
        raise CliError(f"{opts.format} is binary or long: give -o FILE")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK


def cmd_diff(opts) -> int:
    path = _load_path(opts)
    for target in (opts.svg, opts.html):
        if target:
            outputs.Outputs(svg=target).check()      # before anything is read
    a, b = _load_trace(opts.a, path), _load_trace(opts.b, path)
    d = tracediff.diff(a, b)
    try:
        if opts.svg:
            from .render_graph import render as render_graph
            from .render_html import changed_edges
            write_atomic(opts.svg, render_graph(
                path, b.extra.get("edges", []), "svg",
                title=f"B ({opts.b}), with the edges whose verdict changed since A ({opts.a})",
                changed=changed_edges(d)))
        if opts.html:
            from .render_html import render_diff
            write_atomic(opts.html, render_diff(path, a, b, d))
    except Exception as exc:
        raise CliError(f"cannot write the diff's pictures: {exc}") from None
    if opts.json:
        print(json.dumps(d, indent=1, ensure_ascii=False))
    else:
        print(tracediff.format_diff(d))
    return EXIT_OK


def cmd_path(opts) -> int:
    path = _load_path(opts)
    path.check_cluster(opts.cluster)
    print(render_text.path_tree(path, opts.cluster), end="")
    return EXIT_OK


def cmd_path_import(opts) -> int:
    from . import path_import
    notes = path_import.read(opts.notes)
    if opts.output:
        outputs.Outputs(json=opts.output).check()
    facts = None
    if opts.qemu or opts.scenario:
        def read(json_path: str, run: Run) -> dict:
            try:
                with open(json_path, encoding="utf-8") as f:
                    return json.load(f)
            except (OSError, ValueError) as exc:
                raise CliError(f"gdb wrote no facts ({exc})") from None

        facts = _run_qinit(opts, ["path import", os.path.abspath(opts.notes),
                                  "--hot", str(opts.hot)], "facts.json", read)
        state = facts.get("outcome", {})
        if state.get("state") != "init-complete":
            raise CliError(f"the counting run did not reach qemu_main_loop "
                           f"({state.get('state')}: {state.get('detail', '')}); nothing written")
    result = path_import.build(notes, facts, opts.hot)
    if opts.output:
        try:
            write_atomic(opts.output, result.toml)
        except OSError as exc:
            raise CliError(f"cannot write {opts.output}: {exc.strerror or exc}") from None
        print(path_import.summary(result, opts.output))
    else:
        sys.stdout.write(result.toml)
        print(path_import.summary(result, "the path file to stdout"), file=sys.stderr)
    return EXIT_OK


def cmd_path_export(opts) -> int:
    from . import path_export
    path = _load_path(opts)
    trace = _load_trace(opts.trace, path)
    text = path_export.export(path, trace, opts.format)
    if opts.output:
        try:
            write_atomic(opts.output, text)
        except OSError as exc:
            raise CliError(f"cannot write {opts.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _path_parser(action: str) -> argparse.ArgumentParser:
    """`qemuinit path import|export`: separate parsers, since `path CLUSTER`
    takes any word."""
    from .path_import import HOT_THRESHOLD
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
        p.add_argument("notes", metavar="NOTES")
        p.add_argument("-o", "--output", metavar="FILE",
                       help="write the path file here (default: print it)")
        p.add_argument("--hot", type=_positive_int, default=HOT_THRESHOLD, metavar="N",
                       help=f"a function called N times or more in the counting run "
                       f"is hot: no breakpoint, seen from deeper ones (default "
                       f"{HOT_THRESHOLD})")
        _run_options(p)
        for action in p._actions:
            if action.dest == "scenario":
                action.help = ("run this built-in scenario for the counting run "
                               "(without it or -- QEMU ..., nothing runs)")
        p.set_defaults(func=cmd_path_import)
        return p
    p = argparse.ArgumentParser(
        prog="qemuinit path export",
        description="Write a trace's documented graph back in the notes' style "
        "(same clusters and labels), corrected by the run: frames the notes skip, "
        "what served each dispatch point, edges taken from another caller, edges "
        "not exercised; the QEMU version and command line in the title.")
    p.add_argument("trace", metavar="TRACE.json")
    p.add_argument("--format", choices=("dot", "md"), default="dot")
    p.add_argument("-o", "--output", metavar="FILE")
    p.add_argument("--path", metavar="FILE", help="the documented-path file the trace "
                   "was checked with (default: the shipped one)")
    p.set_defaults(func=cmd_path_export)
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def cmd_where(opts) -> int:
    from . import where
    if opts.list:
        print(where.listing())
        return EXIT_OK
    if not opts.question:
        raise CliError("where needs a QUESTION or a function name (--list shows them)")
    q = where.resolve(opts.question)
    if opts.json:
        outputs.Outputs(json=opts.json).check()      # before QEMU runs
    def read(json_path: str, run: Run) -> dict:
        try:
            with open(json_path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError) as exc:
            raise CliError(f"gdb wrote no answer ({exc})") from None

    res = _run_qinit(opts, ["where", q.name] + (["--all"] if opts.all else []),
                     "where.json", read)
    if opts.json:
        save(res, opts.json)
    print(where.format_result(res, opts.device))
    return EXIT_OK if res["answers"] else EXIT_FAILED


def cmd_hang(opts) -> int:
    """Attach gdb to a running QEMU, diagnose, detach."""
    import subprocess
    from . import hang
    from .runner import gdb_attach_command
    if not os.path.exists(f"/proc/{opts.pid}"):
        raise CliError(f"no process {opts.pid}")
    if opts.json:
        outputs.Outputs(json=opts.json).check()      # before gdb attaches
    leftovers.remove_stale()
    with leftovers.private_dir() as private:
        json_path = os.path.join(private, "hang.json")
        cmd = gdb_attach_command(opts.pid, ["hang", "--quiet", "--json", json_path])
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise CliError("gdb did not finish attaching; it was stopped") from None
        try:
            with open(json_path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            said = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            raise CliError(f"could not diagnose PID {opts.pid}"
                           + (f": {said[-1]}" if said else "")) from None
    if opts.json:
        save(doc, opts.json)
    print(hang.format_hang(doc), end="")
    return EXIT_OK


DEFAULT_TIMEOUT = 30.0


def _scenario_help() -> str:
    lines = ["scenarios (--scenario NAME; the default is marked *):"]
    for name in scenario.names():
        mark = "*" if name == scenario.default_name() else " "
        lines.append(f" {mark} {name:<24} {scenario.load(name).about}")
    return "\n".join(lines)


def _run_options(p: argparse.ArgumentParser) -> None:
    """Options of every subcommand that starts QEMU."""
    p.add_argument("--scenario", choices=scenario.names(), metavar="NAME",
                   help=f"a built-in QEMU command line and backend (default "
                   f"{scenario.default_name()}; not with -- QEMU ...)")
    p.add_argument("--backend", metavar="[CHARDEV=]CMD", action="append",
                   help="a vhost-user backend to start instead of the built-in one, "
                   "once per vhost-user chardev: CHARDEV=CMD for that chardev, a plain "
                   "CMD for the next chardev without one, in command-line order; split "
                   "like a shell would, run without one; {socket} is that chardev's "
                   "path, {prefix} a DPDK file prefix, {queues} the netdev's queues. "
                   "Started once QEMU listens (server=on), or before QEMU starts when "
                   "QEMU is the client")
    p.add_argument("--testpmd", action="store_true",
                   help="with your own QEMU command line: start dpdk-testpmd for every "
                   "vhost-user chardev without a --backend, in the role it needs")
    p.add_argument("--no-backend", action="store_true",
                   help="start no backend (QEMU waits for one: see the hang report)")
    p.add_argument("--cut-after", metavar="REQUEST",
                   help="fault injection: the backend connects through a relay that "
                   "cuts its first connection right after QEMU sends REQUEST (SET_OWNER, "
                   "GET_FEATURES, ...), so QEMU's restart path runs")
    p.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="give up on init after this long, report where QEMU blocks "
                   f"and stop it (default {DEFAULT_TIMEOUT:g})")


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
                       epilog=_scenario_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", metavar="FILE", help="write the trace here")
    p.add_argument("--svg", metavar="FILE", help="draw the documented graph, coloured")
    p.add_argument("--png", metavar="FILE", help="the same as PNG")
    p.add_argument("--dot", metavar="FILE", help="the same as graphviz source")
    p.add_argument("--report", metavar="FILE", help="write the text report here")
    p.add_argument("--timeline", metavar="FILE", help="write the timeline here (Chrome "
                   "trace-event JSON: open it in Perfetto's UI or chrome://tracing)")
    p.add_argument("--html", metavar="FILE", help="write one self-contained HTML report "
                   "(graph, verdicts, negotiation, timeline) to attach to a bug report")
    p.add_argument("--full", action="store_true",
                   help="print the whole report, not just the summary")
    p.add_argument("--no-color", action="store_true", help="never colour")
    p.add_argument("--path", metavar="FILE", help="another documented-path file")
    _run_options(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("report", help="re-render a saved trace (no gdb needed)")
    p.add_argument("trace", metavar="TRACE.json")
    p.add_argument("--format", choices=outputs.FORMATS, default="text",
                   help="timeline: Chrome trace-event JSON; sequence: the vhost-user "
                   "negotiation as an SVG sequence diagram; html: the whole report "
                   "in one file")
    p.add_argument("-o", "--output", metavar="FILE")
    p.add_argument("--no-color", action="store_true")
    p.add_argument("--path", metavar="FILE", help="another documented-path file")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("diff", help="compare two traces (QEMU versions, command lines)")
    p.add_argument("a", metavar="A.json")
    p.add_argument("b", metavar="B.json")
    p.add_argument("--json", action="store_true", help="print the diff as JSON")
    p.add_argument("--svg", metavar="FILE", help="draw B's graph with the edges whose "
                   "verdict changed highlighted")
    p.add_argument("--html", metavar="FILE", help="the same, with the table of changes, "
                   "as one HTML file")
    p.add_argument("--path", metavar="FILE", help="another documented-path file")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("where", help="answer a question (pci-config, ...) from a live run")
    p.add_argument("question", nargs="?", metavar="QUESTION|FUNCTION")
    p.add_argument("--list", action="store_true", help="list the questions")
    p.add_argument("--all", action="store_true",
                   help="every answer, to the end of init (default: the first answer; "
                        "QEMU is killed there)")
    p.add_argument("--device", metavar="TYPE|ID", help="only this device's answer")
    p.add_argument("--json", metavar="FILE", help="write the answers here")
    _run_options(p)
    p.set_defaults(func=cmd_where)
    for name in ("trace", "where"):
        sub.choices[name].usage = f"qemuinit {name} [options] [-- QEMU-BINARY ARGS...]"

    p = sub.add_parser("hang", help="why a running QEMU hangs: attach, diagnose, detach",
                       description="Attach gdb to a running QEMU (started by anyone), "
                       "say at once why it hangs (threads, stage, socket, role, peer, "
                       "request in flight, findings) and detach: QEMU goes on as before.")
    p.add_argument("pid", type=int, metavar="PID")
    p.add_argument("--json", metavar="FILE", help="write the diagnosis here")
    p.set_defaults(func=cmd_hang)

    p = sub.add_parser("path", help="print the documented path as a call tree; "
                       "path import NOTES, path export TRACE.json",
                       usage="qemuinit path [CLUSTER] [--path FILE]\n"
                       "       qemuinit path import NOTES [-o FILE] ... [-- QEMU ...]\n"
                       "       qemuinit path export TRACE.json --format dot|md [-o FILE]")
    p.add_argument("cluster", nargs="?")
    p.add_argument("--path", metavar="FILE", help="another documented-path file")
    p.set_defaults(func=cmd_path)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
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
    try:
        return opts.func(opts)
    except QemuinitError as exc:
        print(f"qemuinit: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
