"""The gdb qemuinit runs from a shell: its command line (the extension
loaded, the qinit command quoted for gdb), its environment (QEMU started
through qemuinit's launcher, which execs QEMU with its argv byte for byte).

A gdb that runs QEMU is started before the shell has decided the run
(earlygdb.py): it reads QEMU's symbols and loads the extension meanwhile,
then waits for the word to go and runs the commands of its run file.
Light to import: the shell imports it before starting gdb.
"""

from __future__ import annotations

import os
import sys

from .errors import CliError

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
GDB = os.environ.get("QEMUINIT_GDB", "gdb")


def _python_paths() -> list[str]:
    """This interpreter's paths (the venv's site-packages), for gdb's Python,
    which is the same Python the venv was made from."""
    return [PACKAGE_PARENT] + [p for p in sys.path if p.endswith("site-packages")]


LAUNCHER = os.path.join(os.path.dirname(os.path.realpath(__file__)), "qemu", "launcher.py")


def _gdb_start(guard: bool, subcommand: str, first: str = "") -> tuple[list[str], str]:
    """gdb's options before its commands, and the command that loads the
    extension with only `subcommand`'s qinit command (as 'path import');
    `first`: Python run before gdb reads the binary."""
    path = "import sys; sys.path[:0] = [p for p in %r if p not in sys.path]" % _python_paths()
    load = ("python %s; from gdb_qemuinit.gdbext import preload; preload.wait(); "
            "from gdb_qemuinit.gdbext import commands, guard; "
            "commands.register(for_the_shell=True, only=%r)" % (path, subcommand))
    if guard:
        load += "; guard.watch_parent(%d)" % os.getpid()
    debug = ["-iex", "set python print-stack full"] if os.environ.get("QEMUINIT_DEBUG") else []
    early = ["-iex", f"python {path}; {first}"] if first else []
    return [GDB, "-nx", "-q", "-batch", *debug,
            "-iex", "set pagination off",
            "-iex", "set print thread-events off",
            "-iex", "set print inferior-events off", *early], load


def qinit_command(qinit_args: list[str]) -> str:
    """The qinit command line, each argument quoted for gdb."""
    return " ".join(["qinit", qinit_args[0]] + [_quote_gdb(a) for a in qinit_args[1:]])


def gdb_command(qemu_argv: list[str], qinit_args: list[str], guard: bool = True) -> list[str]:
    """The gdb invocation.  gdb starts QEMU the way it always does (through
    its "shell", see gdb_environment), and is given QEMU's argv with --args
    so that `show args` tells the truth; what QEMU receives comes from the
    argv file, byte for byte.  `guard`: gdb ends itself and its children if
    qemuinit dies (a watch instead ends itself cleanly: its end request)."""
    start, load = _gdb_start(guard, qinit_args[0])
    return start + _profiled(["-ex", load, "-ex", qinit_command(qinit_args)]) + [
        "--args", *qemu_argv]


def waiting_gdb_command(binary: str, subcommand: str, go_fd: int, run_file: str) -> list[str]:
    """gdb on `binary` that imports `subcommand`'s modules while it reads
    the binary's symbols (gdbext/preload.py), loads the extension (only
    that command), waits for a word on `go_fd`, runs the commands of
    `run_file` (run_file_text), written before that word, and then exits
    at once if QEMU is gone (guard.exit_at_once)."""
    start, load = _gdb_start(True, subcommand, first="from gdb_qemuinit.gdbext import "
                                                    "preload; preload.start(%r)" % subcommand)
    # its own command: gdb waits for go even if loading the extension failed
    go = "python from gdb_qemuinit.gdbext import guard; guard.wait_for_go(%d)" % go_fd
    return start + _profiled(["-ex", load, "-ex", go, "-x", run_file]) + [
        "-ex", "python from gdb_qemuinit.gdbext import guard; guard.exit_at_once()", binary]


def run_file_bytes(qemu_argv: list[str], qinit_args: list[str]) -> bytes:
    """run_file_text as the file holds it: an argument that is not UTF-8
    (it reached Python as surrogate escapes) goes back to its own bytes."""
    return run_file_text(qemu_argv, qinit_args).encode("utf-8", "surrogateescape")


def run_file_text(qemu_argv: list[str], qinit_args: list[str]) -> str:
    """A waiting gdb's commands: QEMU's arguments (what `show args` says,
    and the trace's guess of QEMU's argv should it never start: what QEMU
    receives comes from the argv file), then the qinit command.  An
    argument with a line break cannot be said on a command line: then
    gdb shows none.  Nor can a qinit argument: refused."""
    import shlex
    if any("\n" in a or "\r" in a for a in qinit_args):
        raise CliError("an argument with a line break cannot be given to gdb: "
                       + repr(next(a for a in qinit_args if "\n" in a or "\r" in a)))
    args = qemu_argv[1:]
    lines = []
    if not any("\n" in a or "\r" in a for a in args):
        lines.append("set args " + shlex.join(args))
    lines.append(qinit_command(qinit_args))
    return "".join(line + "\n" for line in lines)


def _profiled(commands: list[str]) -> list[str]:
    """With QEMUINIT_PROFILE=DIR (the benchmark's --profile): gdb's Python
    profiled from loading the extension to the command's end, into
    DIR/gdb.prof."""
    where = os.environ.get("QEMUINIT_PROFILE")
    if not where:
        return commands
    return (["-ex", "python import cProfile; _qemuinit_profile = cProfile.Profile(); "
                    "_qemuinit_profile.enable()"]
            + commands
            + ["-ex", "python _qemuinit_profile.disable(); "
                      f"_qemuinit_profile.dump_stats({os.path.join(where, 'gdb.prof')!r})"])


def gdb_attach_command(pid: int, qinit_args: list[str], guard: bool = True) -> list[str]:
    """gdb attaching to a running process (-p) instead of starting one."""
    cmd = gdb_command([], qinit_args, guard)
    assert cmd[-1] == "--args"
    return cmd[:-1] + ["-p", str(pid)]


ARGV_FILE = "qemu.argv"
# gdb's environment names the descriptors the shell talks to it on: the
# one on which qemuinit asks a run or a watch to end (gdbext/watchdog.py),
# and the one on which its gdb says it is done (gdbext/guard.py).  The
# launcher drops both from QEMU's environment (it names them itself: it
# imports nothing of ours).
END_FD = "QEMUINIT_END_FD"
DONE_FD = "QEMUINIT_DONE_FD"


def write_argv(qemu_argv: list[str], private: str) -> str:
    """QEMU's argv, NUL-separated, in the run's private directory: what the
    launcher execs."""
    path = os.path.join(private, ARGV_FILE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"".join(os.fsencode(a) + b"\0" for a in qemu_argv))
    return path


def gdb_environment(argv_file: str) -> dict[str, str]:
    """gdb's environment: its "shell" is qemuinit's launcher, which execs
    QEMU with the argv in `argv_file` and never runs a shell.  (With
    startup-with-shell off instead, gdb splits the argument string on white
    space and keeps the backslashes --args adds: JSON options arrive
    mangled.)  The user's SHELL is handed back to QEMU by the launcher."""
    if not os.access(LAUNCHER, os.X_OK):
        raise CliError(f"{LAUNCHER} is not executable (chmod +x it)")
    env = dict(os.environ, SHELL=str(LAUNCHER), QEMUINIT_ARGV=argv_file)
    env.pop("QEMUINIT_SHELL", None)
    if "SHELL" in os.environ:
        env["QEMUINIT_SHELL"] = os.environ["SHELL"]
    return env


def _quote_gdb(arg: str) -> str:
    """Quote one argument for gdb.string_to_argv."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
