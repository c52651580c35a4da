"""`qemuinit`: the qinit commands from a shell, for scripts and CI.

Each subcommand that needs a live QEMU runs `gdb -nx -batch` with the
extension loaded, lets the gdb command write its JSON, and prints from that.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import (analysis, diff as tracediff, initpath, outputs, render_text, scenario,
               vhostuser)
from .backend import Backend
from .cmdline import positive_seconds
from .qemu import QemuError, check_binary, default_binary
from .trace import Trace, TraceError, load, save, write_atomic

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
    debug = ["-iex", "set python print-stack full"] if os.environ.get("QEMUINIT_DEBUG") else []
    return [GDB, "-nx", "-q", "-batch", *debug,
            "-iex", "set startup-with-shell off",
            "-iex", "set pagination off",
            "-iex", "set print thread-events off",
            "-iex", "set print inferior-events off",
            "-ex", load, "-ex", qinit, "--args", *qemu_argv]


def _quote_gdb(arg: str) -> str:
    """Quote one argument for gdb.string_to_argv."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_qemu(argv: list[str]) -> list[str]:
    """`argv` with its binary found on PATH and checked to be QEMU."""
    argv = list(argv)
    argv[0] = shutil.which(argv[0]) or argv[0]
    try:
        check_binary(argv[0])
    except QemuError as exc:
        raise CliError(str(exc)) from None
    return argv


@dataclass
class Run:
    """What one traced start needs: QEMU's argv and, maybe, a backend."""
    qemu_argv: list[str]
    backend: Backend | None = None
    private: str = ""                          # the run's private directory
    stderr: list[tuple[float, str, int]] = field(default_factory=list)   # QEMU's lines
    interrupted: str | None = None             # SIGINT or SIGTERM, when one arrived


def prepare_run(opts, private: str) -> Run:
    """QEMU's command line (the user's, after --, or a scenario's) and the
    backend to start once QEMU listens (the scenario's, or --backend)."""
    sock = os.path.join(private, "vhost-user.sock")
    if opts.qemu:
        if opts.scenario:
            raise CliError("--scenario and a QEMU command after -- exclude each other")
        argv = check_qemu(opts.qemu)
        _warn_open_socket_dirs(argv)
        backend_argv = shlex.split(opts.backend) if opts.backend else []
        drop_first = False
        if backend_argv:
            served = scenario.server_sockets(argv)
            if not served:
                raise CliError("--backend needs a -chardev socket,path=...,server=on "
                               "in the QEMU command line")
            sock = served[0]["path"]
    else:
        try:
            sc = scenario.load(opts.scenario)
        except scenario.ScenarioError as exc:
            raise CliError(str(exc)) from None
        binary = default_binary()
        if binary is None:
            raise CliError("no QEMU given and no debug QEMU built yet: run "
                           "scripts/setup.sh (or scripts/build-qemu.sh), or pass "
                           "'-- QEMU-BINARY ARGS...'")
        argv = check_qemu([str(binary)] + sc.qemu_args(sock))
        backend_argv = shlex.split(opts.backend) if opts.backend else list(sc.backend)
        drop_first = sc.drop_first
    if opts.no_backend or not backend_argv:
        return Run(argv, private=private)
    if not shutil.which(backend_argv[0]):
        raise CliError(f"backend {backend_argv[0]!r} not found (scripts/setup.sh "
                       f"installs dpdk-testpmd; --no-backend runs without one)")
    prefix = f"qemuinit-{os.getpid()}"
    backend_argv = [a.replace("{socket}", sock).replace("{prefix}", prefix)
                    for a in backend_argv]
    return Run(argv, Backend(backend_argv, sock, os.path.join(private, "backend.log"),
                             drop_first=drop_first, dpdk_prefix=prefix), private=private)


def _warn_open_socket_dirs(argv: list[str]) -> None:
    """A vhost-user socket others can reach lets them connect as the backend."""
    for sock in scenario.server_sockets(argv):
        d = os.path.dirname(os.path.abspath(sock["path"]))
        try:
            private = scenario.is_private(d)
        except OSError:
            continue
        if not private:
            print(f"qemuinit: warning: {d} (socket of chardev {sock['id']}) is open to "
                  f"other users, who could connect to QEMU as the backend; a directory "
                  f"only you can enter (mkdir -m 700) is safer", file=sys.stderr)


def _follow_stderr(path: str, run: Run, prefix: tuple[str, ...], done: threading.Event) -> None:
    """gdb's stderr (and QEMU's: it inherits it) goes to a file, so that the
    recorder can note at each hit how far it had got (exact, where a pipe's
    reader lags).  Copy it to our stderr as it grows; keep QEMU's own lines
    (they start with its name, or 'qemu: ' for a few board errors) with their
    byte offsets."""
    offset = 0
    pending = b""
    with open(path, "rb") as f:
        while True:
            finished = done.is_set()
            chunk = f.read()
            if chunk:
                sys.stderr.buffer.write(chunk)
                sys.stderr.flush()
                pending += chunk
                while b"\n" in pending:
                    raw, pending = pending.split(b"\n", 1)
                    line = raw.decode("utf-8", "replace")
                    if line.startswith(prefix):
                        run.stderr.append((time.monotonic(), line, offset))
                    offset += len(raw) + 1
            elif finished:
                return
            else:
                done.wait(0.05)


def _pass_stdout(stream) -> None:
    """Pass gdb's stdout (and QEMU's) through, without the banner gdb prints
    when QEMU stops on a signal (qinit's own interrupt, a SIGPIPE it passes
    on): the summary says what matters."""
    skip = 0
    for raw in iter(stream.readline, b""):
        if re.search(rb"^Thread \d+ .* received signal SIG\w+, ", raw):
            skip = 2            # the banner, then the frame line
        if skip:
            skip -= 1
            continue
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()


def run_gdb(run: Run, qinit_args: list[str], timeout: float) -> int:
    """Run gdb to completion, with the backend alongside; on Ctrl-C or
    SIGTERM, interrupt gdb (which stops QEMU and writes what it has)."""
    cmd = gdb_command(run.qemu_argv, qinit_args)
    err_path = os.path.join(run.private, "stderr.log")
    done = threading.Event()
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err, start_new_session=True)
    tees = [threading.Thread(target=_follow_stderr, daemon=True,
                             args=(err_path, run,
                                   (os.path.basename(run.qemu_argv[0]) + ": ", "qemu: "),
                                   done)),
            threading.Thread(target=_pass_stdout, daemon=True, args=(proc.stdout,))]
    for t in tees:
        t.start()

    interrupts = []

    def forward(signum, frame):
        # Ctrl-C or SIGTERM: interrupt QEMU (gdb's child), as the timeout does;
        # gdb then records "interrupted", kills QEMU and writes the trace.  A
        # second one stops gdb itself (QEMU, its tracee, dies with it).
        interrupts.append(signum)
        run.interrupted = run.interrupted or signal.Signals(signum).name
        children = child_pids(proc.pid) if len(interrupts) == 1 else []
        for pid in children:
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                pass
        if not children:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if run.backend:
            run.backend.start(timeout)
        try:
            return proc.wait(timeout=timeout + 60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise CliError("gdb did not finish; it was stopped") from None
    finally:
        if run.backend:
            run.backend.stop()
        done.set()
        for t in tees:
            t.join(timeout=5)
        for s, h in old.items():
            signal.signal(s, h)


def child_pids(pid: int) -> list[int]:
    """The processes `pid` started (gdb's inferior), from /proc."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def add_run_facts(trace: Trace, run: Run) -> None:
    """What only the shell side saw: QEMU's stderr lines (timed like the
    hits), the backend, and what the backend logged receiving."""
    start = trace.qemu.get("clock_start")
    lines = [{"t": round(t - start, 4) if start else None, "line": ln, "at": at}
             for t, ln, at in run.stderr]
    trace.extra["qemu_stderr"] = lines
    errors = [ln["line"] for ln in lines if ": info: " not in ln["line"]
              and ": warning: " not in ln["line"]]
    if run.interrupted and trace.outcome.state == "interrupted":
        trace.outcome.detail = f"interrupted: qemuinit received {run.interrupted}"
    if errors and trace.outcome.state not in ("init-complete", "answered"):
        trace.outcome.error_line = errors[-1]
    if run.backend:
        trace.extra["backend"] = run.backend.summary()
        log = run.backend.log_text()
        if log:
            trace.extra["backend_log"] = vhostuser.parse_backend_log(
                log, scenario.backend_log_patterns())


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
    outs = _checked(outputs.Outputs(json=opts.json, dot=opts.dot, svg=opts.svg,
                                    png=opts.png, report=opts.report))
    with tempfile.TemporaryDirectory(prefix="qemuinit-") as private:   # mode 0700
        run = prepare_run(opts, private)
        json_path = os.path.join(private, "trace.json")
        args = ["trace", "--kill", "--quiet", "--json", json_path,
                "--timeout", str(opts.timeout)]
        if opts.path:
            args += ["--path", os.path.abspath(opts.path)]
        run_gdb(run, args, opts.timeout)
        try:
            trace = load(json_path)
        except TraceError as exc:
            if run.interrupted:
                raise CliError("interrupted before QEMU ran: nothing was recorded") from None
            raise CliError(f"gdb wrote no trace ({exc})") from None
        add_run_facts(trace, run)      # reads the backend's log: inside `private`
    analysis.annotate(path, trace)
    try:
        outputs.write(path, trace, outs)
    except Exception as exc:
        raise CliError(f"cannot write the outputs: {exc}") from None
    if opts.full:
        print(render_text.render(path, trace, color=_color(opts)), end="")
    else:
        print(render_text.brief(trace))
    return EXIT_OK if trace.outcome.state == "init-complete" else EXIT_FAILED


def _load_trace(name: str, path: initpath.InitPath):
    """A saved trace, analysed again (verdicts, vhost-user rounds, hang) with
    this qemuinit and this documented path."""
    try:
        trace = load(name)
    except TraceError as exc:
        raise CliError(str(exc)) from None
    return analysis.annotate(path, trace)


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
    with tempfile.TemporaryDirectory(prefix="qemuinit-") as private:
        run = prepare_run(opts, private)
        json_path = os.path.join(private, "where.json")
        run_gdb(run, ["where", q.name, "--all", "--kill", "--quiet", "--json",
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
    p.add_argument("--backend", metavar="CMD",
                   help="the vhost-user backend to start once QEMU listens, instead of "
                   "the scenario's; split like a shell would, run without one; "
                   "{socket} is the socket path")
    p.add_argument("--no-backend", action="store_true",
                   help="start no backend (QEMU waits for one: see the hang report)")
    p.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="give up on init after this long, report where QEMU blocks "
                   f"and kill it (default {DEFAULT_TIMEOUT:g})")


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
    p.add_argument("--full", action="store_true",
                   help="print the whole report, not just the summary")
    p.add_argument("--no-color", action="store_true", help="never colour")
    p.add_argument("--path", metavar="FILE", help="another documented-path file")
    _run_options(p)
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
    _run_options(p)
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
