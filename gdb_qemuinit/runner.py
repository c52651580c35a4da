"""One traced start of QEMU from the shell: its command line (the user's or
a scenario's), the backend started once QEMU listens, gdb run with the
extension loaded, QEMU's stderr kept, Ctrl-C and SIGTERM passed on to QEMU.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .qemu import scenario
from .model import spec
from .qemu.backend import Backend, end_when_logged, start_listening, stop_backends
from .qemu.backendplan import BUILTIN_BACKEND, backend_sockets, plan_backends
from .errors import ERROR_SCHEMA, CliError
from .qemu.binary import check_binary, default_binary, index_advice
from .qemu.cmdline import QemuCommandLine
from .earlygdb import WaitingGdb, child_pids
from .exits import kill_group
from .marks import mark

if TYPE_CHECKING:
    from .model.trace import Trace
    from .qemu.relay import Relay

# How long a backend's log may take to say that QEMU's connections closed,
# once gdb is done (QEMU gone), before qemuinit waits for the backend to end
# to read it: a log says so within a few ms.
LOG_CLOSE_WAIT = 0.5


def run_qinit(opts, qinit_args: list[str], json_name: str, what: str, read=None,
              meanwhile=None, parse=None):
    """Run `qinit ...` under gdb on this run's QEMU (and backend), its JSON
    written in a private directory (mode 0700) and read once there: the
    document, or `read(document, run)` (inside the private directory, the
    backends ended: their logs are whole).  `parse(document)`, if given,
    is done while the backends end, and its result is what `read` gets.
    The gdb is the one the shell started first (opts.early_gdb), when it
    was started for this run; else one started now.  Either is reaped
    when the command is over (cli.py).  `meanwhile`: what to
    do while gdb runs."""
    from .qemu import leftovers
    leftovers.remove_stale()
    gdb = getattr(opts, "early_gdb", None)
    holder = gdb.private if gdb is not None else leftovers.private_dir()
    run: Run | None = None
    document_read = False
    with holder as private:
        try:
            try:
                run = prepare_run(opts, private)
                if gdb is None or not gdb.serves(run.qemu_argv, qinit_args[0]):
                    if gdb is not None:
                        gdb.close()
                    gdb = WaitingGdb(run.qemu_argv[0], qinit_args[0], holder)
                json_path = os.path.join(private, json_name)
                run_gdb(run, gdb, qinit_args + ["--kill", "--quiet", "--json", json_path,
                                                "--timeout", str(opts.timeout)],
                        opts.timeout, meanwhile)
            except BaseException:
                if gdb is not None:         # the run failed: gdb ends now
                    gdb.close()
                raise
            # gdb is done (reaped once the command is over: earlygdb.close_all);
            # the backends, asked to end as it was, end meanwhile.
            doc, why = gdb_document(json_path)
            if doc is not None and parse is not None:
                doc = parse(doc)
            document_read = True
        finally:
            if run is not None:
                try:
                    if document_read:
                        # QEMU is gone: a backend whose log closed every
                        # connection ends while the command goes on
                        end_when_logged(run.backends, scenario.backend_log_patterns(),
                                        LOG_CLOSE_WAIT)
                    else:
                        stop_backends(run.backends)
                    mark("shell: backends ended, or their logs final")
                finally:
                    # Ctrl-C and SIGTERM were passed on to gdb's run
                    # (run_gdb) until every backend was reaped.
                    for s, h in run.handlers.items():
                        signal.signal(s, h)
        if doc is None:
            raise CliError((f"interrupted ({run.interrupted}): " if run.interrupted else "")
                           + f"gdb wrote no {what} ({why})")
        return read(doc, run) if read else doc


def gdb_document(json_path: str) -> tuple[dict | None, str]:
    """The JSON document gdb wrote, or None and why there is none; a user
    error gdb handed back in its place is said as ours (CliError)."""
    try:
        with open(json_path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None, "it wrote nothing"
    except (OSError, ValueError) as exc:
        return None, str(exc)
    if not isinstance(doc, dict):
        return None, "not a JSON object"
    if doc.get("schema") == ERROR_SCHEMA:
        raise CliError(str(doc.get("error")))
    return doc, ""


def check_qemu(argv: list[str]) -> list[str]:
    """`argv` with its binary found on PATH and checked to be QEMU."""
    argv = list(argv)
    argv[0] = shutil.which(argv[0]) or argv[0]
    check_binary(argv[0])
    advice = index_advice(argv[0])
    if advice:
        print(advice, file=sys.stderr)
    return argv


@dataclass
class Run:
    """What one traced start needs: QEMU's argv and, maybe, a backend."""
    qemu_argv: list[str]
    backends: list[Backend] = field(default_factory=list)
    private: str = ""                          # the run's private directory
    stderr: list[tuple[float, str, int]] = field(default_factory=list)   # QEMU's lines
    interrupted: str | None = None             # SIGINT or SIGTERM, when one arrived
    backend_gone: str | None = None            # a backend exited by itself: why
    relay: Relay | None = None                # relay.Relay, cutting the backend's connection
    qmp: list[dict] = field(default_factory=list)       # commands to send after init
    qmp_log: list[dict] = field(default_factory=list)   # what was sent, and answered
    # the signal handlers run_gdb replaced (Ctrl-C, SIGTERM passed on)
    handlers: dict = field(default_factory=dict)


def prepare_run(opts, private: str) -> Run:
    """QEMU's command line (the user's, after --, or a scenario's) and the
    backends to start, one per vhost-user chardev (--backend, the
    scenario's built-in one, or --testpmd)."""
    sock = os.path.join(private, "vhost-user.sock")
    drop_first = False
    extra = list(getattr(opts, "qemu_args", None) or [])
    if opts.qemu:
        if opts.scenario:
            raise CliError("--scenario and a QEMU command after -- exclude each other")
        if extra:
            raise CliError("--qemu-arg adds to a built-in scenario; with -- QEMU ..., "
                           "write the argument there")
        argv = check_qemu(opts.qemu)
        # a malformed option (bad JSON) is the user's error, said before anything runs
        command_line = QemuCommandLine.parse(argv)
        _warn_open_socket_dirs(command_line)
        builtin = BUILTIN_BACKEND if getattr(opts, "testpmd", False) else ""
    else:
        sc = scenario.load(opts.scenario)
        binary = default_binary()
        if binary is None:
            raise CliError("no QEMU given and no debug QEMU built yet: run "
                           "scripts/setup.sh (or scripts/build-qemu.sh), or pass "
                           "'-- QEMU-BINARY ARGS...'")
        argv = check_qemu([str(binary)] + sc.qemu_args(sock, private) + extra)
        command_line = QemuCommandLine.parse(argv)
        builtin = sc.backend
        drop_first = sc.drop_first
    commands = _qmp_commands(opts, private)
    if commands:
        # the QMP socket qemuinit talks on, and the chardevs the commands add
        argv = argv + ["-qmp", f"unix:{os.path.join(private, QMP_SOCKET)},server=on,wait=off"]
        command_line = QemuCommandLine.parse(argv + qmp_options(commands))
    backends = [] if opts.no_backend else plan_backends(
        command_line, list(opts.backend or []), builtin, private, drop_first)
    if not opts.no_backend:
        _say_chardevs_without_backend(command_line, backends)
    relay = None
    if getattr(opts, "cut_after", None):
        # the first backend that connects to a socket QEMU serves goes
        # through the relay
        target = next((b for b in backends if b.qemu_role == "server"), None)
        if target is None:
            raise CliError("--cut-after needs a backend to cut (one that connects to "
                           "a -chardev socket,...,server=on)")
        relay = _relay(opts, target.sock, private)
        target.argv = [a.replace(target.sock, relay.listen_path) for a in target.argv]
    return Run(argv, backends, private=private, relay=relay, qmp=commands)


QMP_SOCKET = "qmp.sock"


def _qmp_commands(opts, private: str) -> list[dict]:
    """--qmp FILE's commands, or the scenario's, with {dir} filled in."""
    from .datafile import data_file
    from .qemu import qmpfile
    path = getattr(opts, "qmp", None)
    shipped = None if opts.qemu else scenario.load(opts.scenario).qmp
    if not path and shipped:
        path = data_file(os.path.join("qmp", shipped))
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the QMP commands {path}: {exc}") from None
    return qmpfile.with_dir(qmpfile.parse(text, str(path)), private)


def qmp_options(commands: list[dict]) -> list[str]:
    """The -chardev and -netdev options the QMP commands amount to, for
    planning their backends (a vhost-user netdev_add's chardev, in the role
    its chardev-add gives QEMU)."""
    from .qemu import qmpfile
    chardevs = {c: (path, server) for c, path, server in qmpfile.socket_chardevs(commands)}
    out: list[str] = []
    for c in commands:
        args = c.get("arguments") or {}
        if c["execute"] == "netdev_add" and args.get("type") == "vhost-user" \
                and args.get("chardev") in chardevs:
            path, server = chardevs[args["chardev"]]
            out += ["-chardev", f"socket,id={args['chardev']},path={path}"
                    + (",server=on,wait=off" if server else ""),
                    "-netdev", f"vhost-user,id={args.get('id')},chardev={args['chardev']}"
                    + (f",queues={args['queues']}" if "queues" in args else "")]
    return out


def _relay(opts, sock: str, private: str):
    """--cut-after REQUEST: the backend connects through a relay that cuts
    its first connection right after that request (relay.py)."""
    from .qemu import relay
    vhost_user = spec.load_spec()
    number = relay.request_number(opts.cut_after, vhost_user.requests)
    return relay.Relay(sock, os.path.join(private, "relay.sock"), number,
                       vhost_user.name(number))


def _say_chardevs_without_backend(command_line: QemuCommandLine,
                                  backends: list[Backend]) -> None:
    """Before QEMU starts: a vhost-user chardev no backend will serve makes
    QEMU wait for one until the timeout; say so, and what would serve it."""
    served = {b.chardev for b in backends}
    for chardev, _ in backend_sockets(command_line):
        if chardev.id not in served:
            print(f"qemuinit: nothing is started for vhost-user chardev {chardev.id} "
                  f"({chardev.path}): QEMU will wait for a backend there until the "
                  f"timeout; --testpmd starts dpdk-testpmd for it, --backend "
                  f"'{chardev.id}=CMD' your own, --no-backend says you start one",
                  file=sys.stderr)


def _warn_open_socket_dirs(command_line: QemuCommandLine) -> None:
    """A vhost-user socket others can reach lets them connect as the backend."""
    for sock in command_line.server_sockets():
        if not sock.path:
            continue
        d = os.path.dirname(os.path.abspath(sock.path))
        try:
            private = scenario.is_private(d)
        except OSError:
            continue
        if not private:
            print(f"qemuinit: warning: {d} (socket of chardev {sock.id}) is open to "
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
    on) or its line on how QEMU ended: the summary says what matters."""
    skip = 0
    held = b""                  # a blank line: gdb prints one before the banner
    for raw in iter(stream.readline, b""):
        if re.search(rb"^\[Inferior \d+ \(process \d+\) (exited|killed)", raw):
            held = b""          # the summary says how QEMU ended
            continue
        if re.search(rb"^Thread \d+ .* received signal SIG\w+, ", raw):
            skip, held = 2, b""     # the banner, then the frame line
        if skip:
            skip -= 1
            continue
        if not raw.strip():
            held += raw
            continue
        sys.stdout.buffer.write(held + raw)
        held = b""
        sys.stdout.flush()
    if held:
        sys.stdout.buffer.write(held)
        sys.stdout.flush()


def run_gdb(run: Run, gdb: WaitingGdb, qinit_args: list[str], timeout: float,
            meanwhile=None) -> int | None:
    """Tell the waiting gdb to run `qinit QINIT_ARGS`, with the backends
    alongside, and wait for it; on Ctrl-C or SIGTERM, interrupt gdb (which
    stops QEMU and writes what it has).  `meanwhile`, if given, is called
    once gdb and the backends run.  The backends are asked to end as gdb
    is done; run_qinit reaps them, and then gives Ctrl-C and SIGTERM their
    handlers back (run.handlers)."""
    done = threading.Event()
    tees: list[threading.Thread] = []
    old: dict = {}
    end_write = gdb.take_end_write()      # the QMP sender ends the run on it
    try:
        if run.relay:
            run.relay.start()
        # QEMU connects to these: they listen before it starts.
        failed = start_listening(run.backends, timeout)
        if failed:          # QEMU would only fail to connect: say why now
            raise CliError(f"chardev {failed.chardev}: {failed.problem}")
        mark("shell: go")
        proc = gdb.go(run.qemu_argv, qinit_args)
        tees = [threading.Thread(target=_follow_stderr, daemon=True,
                                 args=(gdb.err_path, run,
                                       (os.path.basename(run.qemu_argv[0]) + ": ", "qemu: "),
                                       done)),
                threading.Thread(target=_pass_stdout, daemon=True, args=(proc.stdout,))]
        if run.qmp and end_write is not None:
            # the sender owns the write end from here (it closes it)
            tees.append(threading.Thread(target=_send_qmp, daemon=True,
                                         args=(run, end_write, timeout)))
            end_write = None
        for t in tees:
            t.start()

        old = _forward_interrupts(proc, run)
        # These connect to QEMU: each waits until QEMU listens.
        for b in run.backends:
            if not b.listens_first:
                b.start(timeout)
        if meanwhile is not None:
            meanwhile()
        code = _wait_for_gdb(proc, run, timeout + 60, gdb.done_read)
        gdb.said_done = code is None
        return code
    except BaseException:
        gdb.close()         # the run failed: gdb and its QEMU end now, not after the joins
        raise
    finally:
        mark("shell: gdb done")
        # Asked to end now, reaped by run_qinit once gdb's JSON is read:
        # a testpmd takes 10-30 ms to end.
        for b in run.backends:
            b.terminate()
        if run.relay:
            run.relay.stop()
        if end_write is not None:
            os.close(end_write)
        done.set()
        for t in tees:
            t.join(timeout=5)
        run.handlers = old      # given back by run_qinit, once the backends are reaped


def _send_qmp(run: Run, end_fd: int, timeout: float) -> None:
    """After init, the run's QMP commands on QEMU's socket, one at a time,
    each answer kept; then ask gdb to end the run (END_FD), saying why."""
    from .qemu.qmp import Qmp, QmpError
    sock = os.path.join(run.private, QMP_SOCKET)
    why = "the answer to its last QMP command"
    deadline = time.monotonic() + timeout
    qmp = None
    try:
        while qmp is None:      # QEMU answers once its main loop runs
            if time.monotonic() > deadline:
                why = "no QMP greeting from QEMU within the time limit"
                return
            try:
                qmp = Qmp(sock, timeout=max(1.0, deadline - time.monotonic()))
            except QmpError:
                time.sleep(0.05)
        for c in run.qmp:
            entry: dict = {"execute": c["execute"], "arguments": c.get("arguments"),
                           "t": time.monotonic()}
            run.qmp_log.append(entry)
            try:
                entry["return"] = qmp.send(c)
            except QmpError as exc:
                entry["error"] = str(exc)
                why = f"QEMU's error answer to {c['execute']}"
                return
    finally:
        if qmp is not None:
            qmp.close()
        try:
            os.write(end_fd, why.encode() + b"\n")
        except OSError:
            pass
        os.close(end_fd)


def _forward_interrupts(proc: subprocess.Popen, run: Run) -> dict:
    """Ctrl-C or SIGTERM: interrupt QEMU (gdb's child), as the timeout does;
    gdb then records "interrupted", kills QEMU and writes the trace.  A
    second one stops gdb itself (QEMU, its tracee, dies with it).  Returns
    the handlers it replaced."""
    interrupts = []

    def forward(signum, frame):
        interrupts.append(signum)
        run.interrupted = run.interrupted or signal.Signals(signum).name
        children = _interrupt_qemu(proc) if len(interrupts) == 1 else []
        if not children:
            kill_group(proc)

    return {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}


def _wait_for_gdb(proc: subprocess.Popen, run: Run, limit: float,
                  said_done: int | None = None) -> int | None:
    """gdb's exit code, as soon as gdb exits (its pidfd wakes the wait; a
    polling wait would add up to 50 ms to every run), or None as soon as it
    says on `said_done` that it is done and exits (QEMU gone: the kernel
    takes ~10 ms to end a process of gdb's size, and nothing here needs
    that).  A backend that exits
    by itself meanwhile ends the run at once: QEMU is interrupted (as
    Ctrl-C does), and the trace says why, with the backend's own line."""
    deadline = time.monotonic() + limit
    try:
        gdb_exit = os.pidfd_open(proc.pid)
    except (OSError, AttributeError):       # a kernel or Python without pidfds
        gdb_exit = None
    try:
        while True:
            if gdb_exit is None:
                try:
                    return proc.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    pass
            else:
                waiting = select.poll()
                waiting.register(gdb_exit, select.POLLIN)
                if said_done is not None:
                    waiting.register(said_done, select.POLLIN)
                woken = {fd for fd, _ in waiting.poll(100)}
                # The pipe first: a gdb that said it is done and has exited
                # by now said so all the same.
                if said_done in woken:
                    if os.read(said_done, 16):
                        return None
                    said_done = None        # closed unsaid: its exit comes
                if proc.poll() is not None:
                    return proc.returncode
            _end_if_a_backend_left(proc, run)
            if time.monotonic() > deadline:
                kill_group(proc)
                proc.wait()
                raise CliError("gdb did not finish; it was stopped")
    finally:
        if gdb_exit is not None:
            os.close(gdb_exit)


def _end_if_a_backend_left(proc: subprocess.Popen, run: Run) -> None:
    """A backend that exited by itself: interrupt QEMU (once), saying why."""
    if run.backend_gone is not None:
        return
    run.backend_gone = next((why for why in (b.exited_early() for b in run.backends) if why),
                            None)
    if run.backend_gone is not None:
        _interrupt_qemu(proc)


def _interrupt_qemu(proc: subprocess.Popen) -> list[int]:
    """SIGINT to gdb's children (QEMU): gdb stops it and writes what it has.
    The PIDs it was sent to."""
    children = child_pids(proc.pid)
    for pid in children:
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            pass
    return children


def add_run_facts(trace: Trace, run: Run) -> None:
    """What only the shell side saw: QEMU's stderr lines (timed like the
    hits), the backend, and what the backend logged receiving."""
    from .analysis import backendlog
    from .model.trace import INTERRUPTED, SUCCEEDED
    start = trace.qemu.get("clock_start")
    lines: list[dict] = [{"t": round(t - start, 6) if start else None, "line": ln, "at": at}
                         for t, ln, at in run.stderr]
    trace.extra["qemu_stderr"] = lines
    errors = [ln["line"] for ln in lines if ": info: " not in ln["line"]
              and ": warning: " not in ln["line"]]
    if run.interrupted and trace.outcome.state == INTERRUPTED:
        trace.outcome.detail = f"qemuinit received {run.interrupted}"
    elif run.backend_gone and trace.outcome.state == INTERRUPTED:
        trace.outcome.detail = run.backend_gone
    if errors and trace.outcome.state not in SUCCEEDED:
        trace.outcome.error_line = errors[-1]
    if run.relay:
        trace.extra["fault"] = run.relay.summary(start)
    if run.qmp_log:
        trace.extra["qmp"] = [dict(e, t=round(e["t"] - start, 6) if start else None)
                              for e in run.qmp_log]
    if run.backends:
        patterns = scenario.backend_log_patterns()
        backends = []
        for b in run.backends:
            doc = b.summary(start)
            log = b.log_text()
            if log:
                doc["log"] = backendlog.parse_backend_log(log, patterns)
            backends.append(doc)
        trace.extra["backends"] = backends
