"""`qemuinit`: the qinit commands from a shell, for scripts and CI.

Each subcommand that needs a live QEMU runs `gdb -nx -batch` with the
extension loaded, lets the gdb command write its JSON, and prints from that.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import diff as tracediff, initpath, outputs, render_text, summary, verify
from .qemu import DEFAULT_ARGS, QemuError, check_binary, default_binary
from .trace import TraceError, load, save, write_atomic

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
GDB = os.environ.get("QEMUINIT_GDB", "gdb")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


def _python_paths() -> list[str]:
    """This interpreter's paths (the venv's site-packages), for gdb's Python,
    which is the same Python the venv was made from."""
    return [str(PACKAGE_PARENT)] + [p for p in sys.path if p.endswith("site-packages")]


def gdb_command(qemu_argv: list[str], qinit_args: list[str]) -> list[str]:
    """The gdb invocation; QEMU's arguments go to gdb as an argv list
    (--args), with startup-with-shell off: nothing passes through a shell."""
    load = ("python import sys; sys.path[:0] = [p for p in %r if p not in sys.path]; "
            "from gdb_qemuinit.gdbext import commands; commands.register()"
            % _python_paths())
    qinit = " ".join(["qinit", qinit_args[0]] + [_quote_gdb(a) for a in qinit_args[1:]])
    return [GDB, "-nx", "-q", "-batch",
            "-iex", "set startup-with-shell off",
            "-iex", "set pagination off",
            "-iex", "set print thread-events off",
            "-iex", "set print inferior-events off",
            "-ex", load, "-ex", qinit, "--args", *qemu_argv]


def _quote_gdb(arg: str) -> str:
    """Quote one argument for gdb.string_to_argv."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def resolve_qemu(qemu: list[str]) -> list[str]:
    if qemu:
        argv = list(qemu)
        path = shutil.which(argv[0]) or argv[0]
        argv[0] = path
    else:
        binary = default_binary()
        if binary is None:
            raise CliError("no QEMU given and no debug QEMU built yet: run "
                           "scripts/setup.sh (or scripts/build-qemu.sh), or pass "
                           "'-- QEMU-BINARY ARGS...'")
        argv = [str(binary)] + DEFAULT_ARGS
    try:
        check_binary(argv[0])
    except QemuError as exc:
        raise CliError(str(exc)) from None
    return argv


def run_gdb(qemu_argv: list[str], qinit_args: list[str], timeout: float) -> int:
    """Run gdb to completion; on Ctrl-C or SIGTERM, stop it (and so QEMU)."""
    cmd = gdb_command(qemu_argv, qinit_args)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)

    def forward(signum, frame):
        # gdb's inferior is QEMU: interrupting gdb's session stops both.
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except OSError:
            pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            return proc.wait(timeout=timeout + 60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise CliError("gdb did not finish; it was stopped") from None
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _checked(outs: outputs.Outputs) -> outputs.Outputs:
    """Fail now, before QEMU runs, if an output cannot be written."""
    try:
        outs.check()
    except OSError as exc:
        raise CliError(str(exc)) from None
    return outs


def _color(opts) -> bool:
    return not opts.no_color and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _load_path(opts) -> initpath.InitPath:
    try:
        return initpath.load(getattr(opts, "path", None))
    except initpath.InitPathError as exc:
        raise CliError(str(exc)) from None


def cmd_trace(opts) -> int:
    path = _load_path(opts)
    qemu_argv = resolve_qemu(opts.qemu)
    outs = _checked(outputs.Outputs(json=opts.json, dot=opts.dot, svg=opts.svg,
                                    png=opts.png, report=opts.report))
    with tempfile.TemporaryDirectory(prefix="qemuinit-") as tmp:
        json_path = os.path.join(tmp, "trace.json")
        args = ["trace", "--kill", "--quiet", "--json", json_path,
                "--timeout", str(opts.timeout)]
        if opts.path:
            args += ["--path", os.path.abspath(opts.path)]
        run_gdb(qemu_argv, args, opts.timeout)
        try:
            trace = load(json_path)
        except TraceError as exc:
            raise CliError(f"gdb wrote no trace ({exc})") from None
    try:
        outputs.write(path, trace, outs)
    except Exception as exc:
        raise CliError(f"cannot write the outputs: {exc}") from None
    if opts.full:
        print(render_text.render(path, trace, color=_color(opts)), end="")
    else:
        print(summary.summarize(trace))
        print(summary.edge_counts(trace))
    return EXIT_OK if trace.outcome.state == "init-complete" else EXIT_FAILED


def _load_trace(name: str, path: initpath.InitPath):
    """A saved trace, with verdicts (computed here if it was saved without)."""
    try:
        trace = load(name)
    except TraceError as exc:
        raise CliError(str(exc)) from None
    if "edges" not in trace.extra:
        verify.annotate(path, trace)
    return trace


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
    elif opts.format in ("png", "svg") and sys.stdout.isatty():
        raise CliError(f"{opts.format} is binary or long: give -o FILE")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK


def cmd_diff(opts) -> int:
    path = _load_path(opts)
    d = tracediff.diff(_load_trace(opts.a, path), _load_trace(opts.b, path))
    if opts.json:
        print(json.dumps(d, indent=1, ensure_ascii=False))
    else:
        print(tracediff.format_diff(d))
    return EXIT_OK


def cmd_path(opts) -> int:
    path = _load_path(opts)
    try:
        path.check_cluster(opts.cluster)
    except initpath.InitPathError as exc:
        raise CliError(str(exc)) from None
    print(render_text.path_tree(path, opts.cluster), end="")
    return EXIT_OK


def cmd_where(opts) -> int:
    from . import where
    if opts.list:
        print(where.listing())
        return EXIT_OK
    if not opts.question:
        raise CliError("where needs a QUESTION or a function name (--list shows them)")
    try:
        q = where.resolve(opts.question)
    except where.QuestionError as exc:
        raise CliError(str(exc)) from None
    if opts.json:
        _checked(outputs.Outputs(json=opts.json))
    qemu_argv = resolve_qemu(opts.qemu)
    with tempfile.TemporaryDirectory(prefix="qemuinit-") as tmp:
        json_path = os.path.join(tmp, "where.json")
        run_gdb(qemu_argv, ["where", q.name, "--all", "--kill", "--quiet", "--json",
                            json_path, "--timeout", str(opts.timeout)], opts.timeout)
        try:
            with open(json_path, encoding="utf-8") as f:
                res = json.load(f)
        except (OSError, ValueError) as exc:
            raise CliError(f"gdb wrote no answer ({exc})") from None
    if opts.json:
        save(res, opts.json)
    print(where.format_result(res, opts.device))
    return EXIT_OK if res["answers"] else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qemuinit",
        description="Check QEMU's documented initialization path against a live run.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("trace", help="run QEMU under gdb to its main loop and record "
                       "the documented init path",
                       description="Run QEMU under gdb to its main loop, recording a "
                       "backtrace at every documented init point.  Without a QEMU "
                       "command, runs the project's debug QEMU on: "
                       + " ".join(DEFAULT_ARGS))
    p.add_argument("--json", metavar="FILE", help="write the trace here")
    p.add_argument("--svg", metavar="FILE", help="draw the documented graph, coloured")
    p.add_argument("--png", metavar="FILE", help="the same as PNG")
    p.add_argument("--dot", metavar="FILE", help="the same as graphviz source")
    p.add_argument("--report", metavar="FILE", help="write the text report here")
    p.add_argument("--full", action="store_true",
                   help="print the whole report, not just the summary")
    p.add_argument("--no-color", action="store_true", help="never colour")
    p.add_argument("--path", metavar="FILE", help="another documented-path file")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up on init after this long and report where QEMU "
                   "blocks (default 60)")
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("report", help="re-render a saved trace (no gdb needed)")
    p.add_argument("trace", metavar="TRACE.json")
    p.add_argument("--format", choices=("text", "json", "dot", "svg", "png"),
                   default="text")
    p.add_argument("-o", "--output", metavar="FILE")
    p.add_argument("--no-color", action="store_true")
    p.add_argument("--path", metavar="FILE", help="another documented-path file")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("diff", help="compare two traces (QEMU versions, command lines)")
    p.add_argument("a", metavar="A.json")
    p.add_argument("b", metavar="B.json")
    p.add_argument("--json", action="store_true", help="print the diff as JSON")
    p.add_argument("--path", metavar="FILE", help="another documented-path file")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("where", help="answer a question (pci-config, ...) from a live run")
    p.add_argument("question", nargs="?", metavar="QUESTION|FUNCTION")
    p.add_argument("--list", action="store_true", help="list the questions")
    p.add_argument("--device", metavar="TYPE|ID", help="only this device's answer")
    p.add_argument("--json", metavar="FILE", help="write the answers here")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS")
    p.set_defaults(func=cmd_where)
    for name in ("trace", "where"):
        sub.choices[name].usage = f"qemuinit {name} [options] [-- QEMU-BINARY ARGS...]"

    p = sub.add_parser("path", help="print the documented path as a call tree")
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
    opts = parser.parse_args(argv)
    opts.qemu = qemu
    try:
        return opts.func(opts)
    except CliError as exc:
        print(f"qemuinit: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
