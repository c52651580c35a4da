"""A vhost-user backend process (dpdk-testpmd, or the user's command), one
per vhost-user chardev, in the role that chardev needs: started once QEMU
listens on the socket when QEMU is the server, listening before QEMU starts
when QEMU is the client.  Stopped, by its PID, when the trace ends (reaped
then, or as the command ends once its log is final: end_when_logged).  Its
output goes to a log file in the run's private directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time

from ..exits import wait_exit

# /proc/net/unix Flags: __SO_ACCEPTCON, set on a listening socket.
_ACCEPTCON = 0x10000


def listening(path: str) -> bool:
    """Is some process listening on the unix socket `path`?  Read from
    /proc/net/unix: connecting to find out would be taken by QEMU as the
    backend connecting."""
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as f:
            next(f)
            for line in f:
                fields = line.split(None, 7)
                if len(fields) == 8 and fields[7].rstrip("\n") == path \
                        and int(fields[3], 16) & _ACCEPTCON:
                    return True
    except OSError:
        pass
    return False


def dpdk_runtime_dirs(prefix: str) -> list[str]:
    """Where DPDK keeps a file prefix's runtime files (config, mp socket)."""
    bases = ["/var/run/dpdk", os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk"),
             "/tmp/dpdk"]
    return [os.path.join(b, prefix) for b in dict.fromkeys(bases)]


def remove_dpdk_runtime(prefix: str) -> None:
    """Remove DPDK's runtime files of a file prefix."""
    for d in dpdk_runtime_dirs(prefix):
        shutil.rmtree(d, ignore_errors=True)


def stop_process(proc: subprocess.Popen, grace: float = 10, asked: bool = False) -> None:
    """Stop a process we started, by its PID: TERM (unless `asked`: it was
    sent already), then KILL if it is still there after `grace` seconds;
    reaped either way."""
    if proc.poll() is None:
        if not asked:
            proc.terminate()
        try:
            ended = wait_exit(proc, grace)
        except BaseException:       # interrupted while waiting: killed, not left
            proc.kill()
            proc.wait()
            raise
        if not ended:
            proc.kill()
            proc.wait()


def start_listening(backends: list[Backend], wait_seconds: float) -> Backend | None:
    """Start the backends QEMU connects to, all at once (a testpmd takes
    ~0.2 s to listen), and wait until each listens; the first that did not
    (its `problem` says why), else None."""
    listening = [b for b in backends if b.listens_first]
    for b in listening:
        b.start(wait_seconds, wait=False)
    for b in listening:
        b.wait_listening()
    return next((b for b in listening if b.problem), None)


def stop_backends(backends: list[Backend]) -> None:
    """Stop them all: each asked to end first, then each waited for (a
    testpmd takes ~17 ms to end: sixteen end in about that, not in 0.3 s)."""
    for b in backends:
        b.terminate()
    interrupted = None
    for b in backends:
        try:
            b.stop()
        except BaseException as exc:    # the others are still stopped, then it goes on
            interrupted = interrupted or exc
    if interrupted is not None:
        raise interrupted


# Asked to end, their logs final, reaped when the command ends (reap_ended).
_ENDING: list[Backend] = []


def end_when_logged(backends: list[Backend], patterns: dict, wait_seconds: float) -> None:
    """Backends asked to end (terminate) whose QEMU is gone: each one whose
    log says, within `wait_seconds`, that every connection it took is
    closed is left to end while the command goes on (its log is final:
    reap_ended reaps it); the others are stopped now (those that ended
    already at once), so that their logs are whole when read."""
    import re
    connection = re.compile(patterns["connection"]) if patterns.get("connection") else None
    closed = re.compile(patterns["closed"]) if patterns.get("closed") else None
    logged: list[Backend] = []
    pending = [b for b in backends if b.proc is not None] if connection and closed else []
    deadline = time.monotonic() + wait_seconds
    while pending:
        logged += [b for b in pending if b.log_says_all_closed(connection, closed)]
        pending = [b for b in pending if b not in logged and b.proc is not None
                   and b.proc.poll() is None]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.002)
    _ENDING.extend(logged)
    stop_backends([b for b in backends if b not in logged])


def reap_ended() -> None:
    """Reap the backends end_when_logged left to end (the command's end)."""
    ending = list(_ENDING)
    _ENDING.clear()
    stop_backends(ending)


def _telling_line(log: str) -> str | None:
    """The first line of a log that looks like an error, else the last one."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for ln in lines:
        if any(w in ln.lower() for w in ("error", "invalid", "unrecognized", "cannot",
                                         "failed", "no such")):
            return ln
    return lines[-1] if lines else None


def _end_with_us() -> None:
    """In the backend, before exec: SIGTERM when the thread that started it
    ends, so that a qemuinit killed outright (SIGKILL) leaves no backend."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Backend:
    """Start `argv` for the socket `sock` of chardev `chardev`.  When QEMU is
    the server (`qemu_role`), in a thread once `sock` is listening (after
    dropping one connection first when `drop_first`); when QEMU is the
    client, at once, and `start()` returns when the backend listens.
    `stop()` ends it by PID."""

    def __init__(self, argv: list[str], sock: str, log_path: str,
                 drop_first: bool = False, dpdk_prefix: str | None = None,
                 chardev: str | None = None, qemu_role: str = "server"):
        self.argv = argv
        self.sock = sock
        self.log_path = log_path
        self.drop_first = drop_first
        self.dpdk_prefix = dpdk_prefix
        self.chardev = chardev
        self.qemu_role = qemu_role
        self.proc: subprocess.Popen | None = None
        self.problem: str | None = None     # why it did not start, or died early
        self.dropped = False
        # time.monotonic() of what happened to it (the hits' clock)
        self.times: dict[str, float] = {}
        self._done = threading.Event()
        self._reaped = threading.Event()   # the starting thread lives until then
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def listens_first(self) -> bool:
        """QEMU connects: the backend must listen before QEMU starts."""
        return self.qemu_role == "client"

    def start(self, wait_seconds: float, wait: bool = True) -> None:
        """Start it (one that listens: at once; one that connects: once
        QEMU listens); with `wait`, until one that listens does."""
        self._deadline = time.monotonic() + wait_seconds
        self._thread.start()
        if self.listens_first and wait:
            self.wait_listening()

    def wait_listening(self) -> None:
        """Until the backend (started by the thread) listens on its socket."""
        while self.proc is None and self.problem is None and self._thread.is_alive():
            time.sleep(0.005)
        while self.proc is not None and not listening(self.sock):
            if self.proc.poll() is not None or time.monotonic() > self._deadline:
                said = _telling_line(self.log_text())
                self.problem = (f"the backend did not listen on {self.sock}"
                                + (f" (it exited with code {self.proc.returncode})"
                                   if self.proc.poll() is not None else "")
                                + (f"; it said: {said}" if said else ""))
                return
            time.sleep(0.01)
        if self.proc is not None:
            self.times["backend_listening"] = time.monotonic()

    def _run(self) -> None:
        if self.listens_first:
            self._launch()
            return
        while not listening(self.sock):
            if self._done.wait(0.02) or time.monotonic() > self._deadline:
                return
        self.times["listening"] = time.monotonic()
        if self.drop_first:
            self._drop_one()
        self._launch()

    def _launch(self) -> None:
        with self._lock:
            if self._done.is_set():
                return
            try:
                log = open(self.log_path, "wb")
                self.times["started"] = time.monotonic()
                # stdin stays an open pipe: testpmd quits on end of input.
                self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=log,
                                             stderr=subprocess.STDOUT,
                                             start_new_session=True,
                                             preexec_fn=_end_with_us)
                log.close()
            except OSError as exc:
                self.problem = f"cannot start the backend {self.argv[0]}: {exc.strerror}"
                return
        # The parent death signal follows this thread, not the process: it
        # waits until stop() has ended the backend.
        self._reaped.wait()

    def _drop_one(self) -> None:
        """Connect and close at once: a backend that goes away."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(self.sock)
            self.times["dropped"] = time.monotonic()
            self.dropped = True
        except OSError as exc:
            self.problem = f"could not connect to {self.sock} to drop it: {exc.strerror}"

    def terminate(self) -> None:
        """Ask the backend to end (TERM, by its PID) without waiting for it:
        stop() waits.  Noted once: when it was stopped, or found exited by
        itself (a problem then)."""
        with self._lock:
            self._done.set()      # from here on self.proc is what it will be
        proc = self.proc
        if proc is None or "stopped" in self.times or "exited" in self.times:
            return
        self.times["stopped"] = time.monotonic()
        if proc.poll() is not None:
            self.times["exited"] = self.times.pop("stopped")   # seen then
            if self.problem is None:
                said = _telling_line(self.log_text())
                self.problem = (f"the backend exited by itself with code "
                                f"{proc.returncode} before the trace ended"
                                + (f"; it said: {said}" if said else ""))
        else:
            proc.terminate()
        # The end of its input too: SIGTERM alone left testpmd waiting in
        # its prompt's read of stdin in about half of the runs where QEMU
        # had just gone (no signal pending, nothing said; 10 s then, until
        # the KILL); at the end of its input its prompt ends.
        if proc.stdin:
            proc.stdin.close()

    def stop(self) -> None:
        """Stop the backend by its PID (TERM, then KILL), reap it, and remove
        DPDK's runtime files for our prefix."""
        self.terminate()
        proc = self.proc
        if proc is not None:
            stop_process(proc, asked=True)
        self._reaped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self.dpdk_prefix:
            remove_dpdk_runtime(self.dpdk_prefix)

    def exited_early(self) -> str | None:
        """While the trace runs: if the backend has exited by itself, why
        (its exit code and the telling line of its log); else None."""
        proc = self.proc
        if proc is None or self._done.is_set() or proc.poll() is None:
            return None
        said = _telling_line(self.log_text())
        self.problem = (f"the backend of chardev {self.chardev} ({self.argv[0]}) exited "
                        f"with code {proc.returncode} before QEMU finished its init"
                        + (f"; it said: {said}" if said else ""))
        return self.problem

    def log_says_all_closed(self, connection, closed) -> bool:
        """Does its log (nothing of it yet: no) close every connection it
        took, one line matching `closed` for each matching `connection`?"""
        text = self.log_text()
        opened = len(connection.findall(text))
        return opened > 0 and len(closed.findall(text)) >= opened

    def log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def summary(self, zero: float | None = None) -> dict:
        """What the trace says of the backend; with `zero` (the trace's
        clock zero), "times": when QEMU's socket was seen listening (or the
        backend listened, QEMU being the client), the first connection
        dropped, the backend started, and stopped by us (or found exited by
        itself), in seconds on the hits' clock."""
        doc: dict = {"chardev": self.chardev, "socket": self.sock, "qemu_role": self.qemu_role,
               "argv": self.argv, "pid": self.proc.pid if self.proc else None,
               "started": self.proc is not None, "dropped_first": self.dropped,
               "problem": self.problem}
        if zero is not None:
            doc["times"] = {k: round(v - zero, 6) for k, v in self.times.items()}
        return doc
