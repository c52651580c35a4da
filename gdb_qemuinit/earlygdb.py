"""The gdb of a traced run, started before the run is decided.

gdb takes ~0.2 s to start, read QEMU's symbols and load the extension;
the shell takes ~30 ms to import itself, read the data files and prepare
the run.  Started first, gdb does its part while the shell does its own
(two cores).  gdb then waits for the word to go (gdbext/guard.py
wait_for_go): the shell writes the run's commands into the run file and
says go, or gives the gdb up (close), killing it by its PID before it ran
anything.

Imported before anything else of the shell: only light modules here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

from .errors import QemuinitError
from .exits import wait_exit
from .gdbcommand import ARGV_FILE, DONE_FD, END_FD, gdb_environment, run_file_bytes, \
    waiting_gdb_command, write_argv
from .qemu.privatedir import PrivateDir

# The subcommands that run QEMU under gdb from its start, and the words
# that make them run none.
RUNS_QEMU = ("trace", "where")
RUNS_NONE = ("-h", "--help", "--list")
RUN_FILE = "run.gdb"
STDERR_FILE = "stderr.log"


class WaitingGdb:
    """gdb on `binary`, with only the `subcommand` qinit command, in the
    run's private directory (whose argv file its launcher will read),
    waiting for go().  Its stderr goes to a file there (runner.py follows
    it), its stdout to a pipe; it has a pipe on which a QMP run asks it to
    end (END_FD): `end_write`, the write end, is the run's to keep or
    close; and one on which it says it is done, QEMU gone, as it exits
    (`done_read`: the shell goes on meanwhile)."""

    def __init__(self, binary: str, subcommand: str, private: PrivateDir):
        self.binary, self.subcommand, self.private = binary, subcommand, private
        self.err_path = os.path.join(private.name, STDERR_FILE)
        self.run_file = os.path.join(private.name, RUN_FILE)
        self.went = False
        self.said_done = False      # it said it is done (runner.py): it is exiting
        go_read, self._go = os.pipe()
        self.end_write: int | None
        end_read, self.end_write = os.pipe()
        self.done_read: int | None
        self.done_read, done_write = os.pipe()
        try:
            env = gdb_environment(os.path.join(private.name, ARGV_FILE))
            env[END_FD] = str(end_read)
            env[DONE_FD] = str(done_write)
            with open(self.err_path, "wb") as err:
                self.proc = subprocess.Popen(
                    waiting_gdb_command(binary, subcommand, go_read, self.run_file),
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                    start_new_session=True, env=env,
                    pass_fds=(go_read, end_read, done_write))
        except BaseException:
            os.close(self._go)
            os.close(self.end_write)
            os.close(self.done_read)
            raise
        finally:
            os.close(go_read)
            os.close(end_read)
            os.close(done_write)
        _STARTED.append(self)       # started: close_all() ends it

    def serves(self, qemu_argv: list[str], subcommand: str) -> bool:
        """Was it started for this run (the same binary, the same command)?"""
        return not self.went and self.proc.poll() is None and \
            qemu_argv[:1] == [self.binary] and subcommand == self.subcommand

    def go(self, qemu_argv: list[str], qinit_args: list[str]) -> subprocess.Popen:
        """Write QEMU's argv and the run file, then say go: gdb runs
        `qinit QINIT_ARGS` on QEMU_ARGV.  A gdb that is gone by then (its
        extension failed to load) is a user error, with what it said."""
        text = run_file_bytes(qemu_argv, qinit_args)
        write_argv(qemu_argv, self.private.name)
        fd = os.open(self.run_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(text)
        try:
            os.write(self._go, b"go\n")
        except BrokenPipeError:
            raise QemuinitError(f"gdb ended before the run: {self._said()}") from None
        finally:
            os.close(self._go)
            self.went = True
        return self.proc

    def _said(self) -> str:
        """gdb's last lines on its stderr (the file the run keeps)."""
        try:
            with open(self.err_path, encoding="utf-8", errors="replace") as f:
                lines = [ln.strip() for ln in f.read().splitlines() if ln.strip()]
        except OSError:
            lines = []
        return " / ".join(lines[-3:]) or "it said nothing"

    def close(self) -> None:
        """Give it up if it never went: it has run nothing, so it is killed
        (by its PID); then wait for it (one that said it is done is
        exiting).  Its private directory is the run's and stays.  Safe to
        call more than once."""
        if not self.went:
            self.went = True
            # Killed before its go pipe closes: seeing the pipe's end first,
            # it would exit by itself (code 1), as harmless but not as sure.
            self._kill()
            os.close(self._go)
        elif self.proc.poll() is None and not self.said_done:
            # the run ended without waiting for it (an error of ours): QEMU
            # first, which would outlive its tracer
            for pid in child_pids(self.proc.pid):
                self._kill(pid)
            self._kill()
        if self.end_write is not None:
            os.close(self.end_write)
            self.end_write = None
        if not wait_exit(self.proc, 10):    # one that said it is done is exiting
            self._kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if self.done_read is not None:
            os.close(self.done_read)
            self.done_read = None

    def _kill(self, pid: int | None = None) -> None:
        try:
            os.kill(pid or self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def take_end_write(self) -> int | None:
        """The end pipe's write end, now the caller's to close."""
        fd, self.end_write = self.end_write, None
        return fd


_STARTED: list[WaitingGdb] = []


def close_all() -> None:
    """Every gdb this process started, given up or reaped (WaitingGdb.close);
    one that cannot be does not keep the others from it."""
    first = None
    while _STARTED:
        try:
            _STARTED.pop().close()
        except Exception as exc:        # said once all are done
            first = first or exc
    if first is not None:
        raise first


def child_pids(pid: int) -> list[int]:
    """The processes `pid` started (gdb's inferior), from /proc."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def start(argv: list[str]) -> WaitingGdb | None:
    """The gdb for the command `argv` (qemuinit's arguments), started now,
    if the command runs QEMU under gdb and its binary is known from the
    arguments alone: after --, else the default debug build.  None when
    not (or when it cannot start: the command, run as before, then says
    why)."""
    words = argv[:argv.index("--")] if "--" in argv else argv
    if not words or words[0] not in RUNS_QEMU or any(w in RUNS_NONE for w in words):
        return None
    if "--" in argv:
        qemu = argv[argv.index("--") + 1:]
        binary = (shutil.which(qemu[0]) or qemu[0]) if qemu else None
    else:
        from .qemu.binary import default_binary
        binary = default_binary()
    if not binary or not os.path.isfile(binary):
        return None
    try:
        private = PrivateDir()
    except OSError:
        return None
    try:
        return WaitingGdb(binary, words[0], private)
    except (OSError, QemuinitError):
        private.cleanup()
        return None
