"""Shared fixtures.  Integration tests run the real gdb on the project's debug
QEMU; each checks that it left no QEMU or testpmd process behind."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdb_qemuinit.model import initpath  # noqa: E402
from gdb_qemuinit.qemu import scenario  # noqa: E402
from gdb_qemuinit.qemu.binary import command_line_options, default_binary  # noqa: E402
from gdb_qemuinit.model.trace import Frame, Hit, Outcome, Trace  # noqa: E402


# ---------------------------------------------------------------- hand-made traces
def stack_hit(seq: int, *stack: str) -> Hit:
    """A hit whose stack is given outermost first, as a developer reads it."""
    frames = [Frame(fn, "f.c", 10 + i) for i, fn in enumerate(reversed(stack))]
    return Hit(seq=seq, function=stack[-1], thread=1, frames=frames)


def trace_of(hits, missing=(), debug_info=True, extra=None, state="init-complete") -> Trace:
    t = Trace(qemu={"binary": "q", "version": "7.2.0", "argv": ["q"]},
              outcome=Outcome(state=state), hits=list(hits),
              missing_symbols=list(missing), debug_info=debug_info)
    t.extra.update(extra or {})
    return t


DEVICE = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_create_cli_devices",
          "qemu_opts_foreach", "device_init_func", "qdev_device_add",
          "qdev_device_add_from_qdict", "qdev_new", "object_new", "object_new_with_type",
          "object_initialize_with_type", "object_init_with_type", "object_init_with_type",
          "virtio_net_pci_instance_init")


@pytest.fixture(scope="session")
def path() -> initpath.InitPath:
    """The documented path qemuinit ships."""
    return initpath.load()

def pids(exe_prefix: str, cmdline_has: str | None = None) -> set[int]:
    """Processes whose executable's name starts with `exe_prefix` (and whose
    command line contains `cmdline_has`), from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.path.basename(os.readlink(f"/proc/{entry}/exe"))
            if not exe.startswith(exe_prefix):
                continue
            if cmdline_has is not None:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if cmdline_has not in f.read().decode(errors="replace"):
                        continue
        except OSError:
            continue
        found.add(int(entry))
    return found


# Every process a test starts inherits this variable with the test's own
# value, so the leftover check finds exactly the processes this test started
# (even orphaned ones), never another run's on the same machine.
TAG_VARIABLE = "QEMUINIT_TEST_TAG"
# PIDs of the `qemuinit` processes run_cli started in this test: their
# backends' DPDK file prefixes are qemuinit-PID-N.
CLI_PIDS: list[int] = []


def tagged_pids(tag: str) -> set[int]:
    """Live processes whose environment carries `tag` (zombies excluded)."""
    needle = f"{TAG_VARIABLE}={tag}".encode()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
        except (OSError, IndexError):
            continue
        found.add(int(entry))
    return found


def _leftover_files(private_root: str) -> set[str]:
    """qemuinit's private directories (under this test's TMPDIR) and the DPDK
    runtime directories of this test's qemuinit runs."""
    found = set()
    for d in (private_root, "/var/run/dpdk", os.path.join(private_root, "dpdk")):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            if n.startswith("qemuinit-") and (d == private_root or any(
                    n == f"qemuinit-{pid}" or n.startswith(f"qemuinit-{pid}-")
                    for pid in CLI_PIDS)):
                found.add(os.path.join(d, n))
    return found


@pytest.fixture
def no_leftovers(tmp_path_factory, monkeypatch):
    """Fails the test if it leaves a QEMU, gdb or backend process running (and
    stops those, by PID), or a private socket directory or DPDK runtime
    directory behind.  Only what this test started is looked at."""
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    private_root = str(tmp_path_factory.mktemp("private"))
    monkeypatch.setenv(TAG_VARIABLE, tag)
    monkeypatch.setenv("TMPDIR", private_root)
    monkeypatch.setattr(tempfile, "tempdir", None)      # re-read TMPDIR
    CLI_PIDS.clear()
    yield
    # gdb and the backends get a moment to finish stopping what they started.
    deadline = time.monotonic() + 5
    left = tagged_pids(tag)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = tagged_pids(tag)
    described = {pid: _cmdline(pid) for pid in left}
    for pid in left:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert not left, f"processes left behind: {described}"
    files = _leftover_files(private_root)
    assert not files, f"files left behind: {sorted(files)}"


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "?"


@pytest.fixture(scope="session")
def qemu_binary() -> str:
    b = default_binary()
    if b is None or not os.path.exists(b):
        pytest.fail("the debug QEMU is not built: run scripts/setup.sh")
    return str(b)


@pytest.fixture(scope="session")
def qemu_argv(qemu_binary) -> list[str]:
    return [qemu_binary] + scenario.load("user-netdev").qemu_args("")


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "gdb_qemuinit.cli", *args]
    with subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, stdin=subprocess.DEVNULL) as proc:
        CLI_PIDS.append(proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


# gdb commands that print state through gdb's Python API, one JSON line
# each, so tests never depend on the wording of gdb's own listings.
BREAKPOINTS = ('python import json; print("QINIT-TEST-BREAKPOINTS", json.dumps('
               '[[b.number, b.location] for b in gdb.breakpoints()]))')
SELECTED_FRAME = ('python import json; print("QINIT-TEST-FRAME", '
                  'json.dumps(gdb.selected_frame().name()))')


def _state_line(out: str, marker: str):
    import json
    lines = [line for line in out.splitlines() if line.startswith(marker + " ")]
    assert lines, f"gdb printed no {marker} line"
    return json.loads(lines[-1][len(marker) + 1:])


def breakpoints_left(out: str) -> list[tuple[int, str]]:
    """The (number, location) of every breakpoint gdb listed for BREAKPOINTS."""
    return [tuple(b) for b in _state_line(out, "QINIT-TEST-BREAKPOINTS")]


def selected_frame(out: str) -> str:
    """The function of the frame gdb had selected at SELECTED_FRAME."""
    return _state_line(out, "QINIT-TEST-FRAME")


def run_gdb(qemu_argv: list[str], *commands: str, timeout: float = 180,
            source_twice: bool = False) -> subprocess.CompletedProcess:
    """A fresh `gdb -nx -batch` with gdbinit.py, as a user would start it."""
    cmd = ["gdb", "-nx", "-batch", "-x", str(ROOT / "gdbinit.py")]
    if source_twice:
        cmd += ["-x", str(ROOT / "gdbinit.py")]
    for c in commands:
        cmd += ["-ex", c]
    cmd += ["--args", *qemu_argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def chardev_parameters(qemu_binary: str) -> frozenset[str]:
    """The -chardev parameters this QEMU accepts (reconnect, or reconnect-ms
    from 9.2: 10.2 has only reconnect-ms)."""
    return command_line_options(qemu_binary)["chardev"]


def trace_in_gdb_with_testpmd(qemu_argv: list[str], chardevs, tmp_path, options: str = "",
                              then: tuple[str, ...] = (), command: str = "trace"):
    """`qinit trace` (or `qinit COMMAND`: where QUESTION) inside gdb (with
    `options`, then the gdb commands `then`), which starts no backend: the test starts the
    built-in testpmd for each (chardev, QEMU's role, socket, queue pairs),
    the listening ones before QEMU, and stops them by PID.  Returns gdb's
    result, the trace JSON and the backends."""
    from gdb_qemuinit.qemu.backend import Backend
    testpmd = scenario.load().backend
    backends = []
    for i, (chardev, role, sock, queues) in enumerate(chardevs):
        prefix = f"qemuinit-test-{os.getpid()}-{i}"
        backends.append(Backend(scenario.expand(scenario.builtin_backend(testpmd, role),
                                                sock, prefix, queues),
                                sock, str(tmp_path / f"b{i}.log"), dpdk_prefix=prefix,
                                chardev=chardev, qemu_role=role))
    try:
        for b in backends:
            b.start(60)
        kill = "" if then else "--kill "    # gdb -batch kills it after `then`
        r = run_gdb(qemu_argv, f"qinit {command} {kill}--timeout 60 --json {tmp_path}/t.json"
                    f"{' ' + options if options else ''}", *then)
    finally:
        for b in backends:
            b.stop()
    assert "Traceback" not in r.stdout + r.stderr
    return r, json.loads((tmp_path / "t.json").read_text()), backends

def seed_file() -> Path:
    """The seed notes the project comes from, kept unchanged in docs/seed/."""
    return ROOT / "docs" / "seed" / "qemu-init-flow.md"


# ---------------------------------------------------------------- vhost-user checks
def _numbers(spec, names):
    return [spec.number(n) for n in names]


def assert_each_connection_matches_its_backend(doc):
    """Per chardev: the requests QEMU really sent (in wire order, without
    the ones it decided not to write) are, number for number, what that
    chardev's own backend logged receiving."""
    from gdb_qemuinit.model.spec import load_spec
    from gdb_qemuinit.model.trace import Trace
    spec = load_spec().for_trace(Trace.from_json(doc))
    vu = doc["vhost_user"]
    assert doc["backends"] and len({b["chardev"] for b in doc["backends"]}) == len(doc["backends"])
    for backend in doc["backends"]:
        assert backend["started"] and backend["problem"] is None, backend
        sent = sorted((m for r in vu["rounds"] if r["chardev"] == backend["chardev"]
                       for m in r["messages"] if m.get("sent", True)), key=lambda m: m["seq"])
        assert [m["request"] for m in sent] == _numbers(spec, backend["log"]["requests"])
        assert all(m["chardev"] == backend["chardev"] for m in sent)
        check = next(c for c in vu["backend_checks"] if c["chardev"] == backend["chardev"])
        assert check["requests_agree"] and check["protocol_features_agree"], check


def assert_rounds_follow_the_command_line(doc):
    """Each round's chardev and netdev are a pair of the command line."""
    from gdb_qemuinit.qemu.cmdline import QemuCommandLine
    pairs = {(c.id, n.id) for n, c in QemuCommandLine.parse(doc["qemu"]["argv"]).vhost_user()}
    rounds = doc["vhost_user"]["rounds"]
    assert {(r["chardev"], r["netdev"]) for r in rounds} == pairs
    assert all(r["result"] == "negotiated" for r in rounds), rounds



# ---------------------------------------------------------------- output targets
AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")


def own_null(directory) -> str:
    """A character device 1:3 (what /dev/null is) of the test's own."""
    node = os.path.join(directory, "mynull")
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return node


def is_null_device(path) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


class FifoReader:
    """Reads a FIFO to its end in a thread, as `cat FIFO` would."""

    def __init__(self, path):
        self.data = b""
        self.thread = threading.Thread(target=self._read, args=(path,), daemon=True)
        self.thread.start()

    def _read(self, path):
        with open(path, "rb") as f:
            self.data = f.read()

    def result(self) -> bytes:
        self.thread.join(30)
        assert not self.thread.is_alive(), "nothing was written to the FIFO"
        return self.data


def pytest_sessionfinish(session, exitstatus):
    """The suite fails if anything it ran left the machine's /dev/null other
    than the character device 1:3 (an output renamed onto it once did)."""
    import stat
    st = os.lstat(os.devnull)
    if not (stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)):
        sys.stderr.write(f"\nFAILED: {os.devnull} is no longer the null device "
                         f"(mode {stat.filemode(st.st_mode)}): a test replaced it\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    """How many inputs each reader of user input got (test_bad_input)."""
    module = sys.modules.get("test_bad_input")
    counts = getattr(module, "INPUTS", None)
    if counts:
        terminalreporter.write_line("bad input tried: " + ", ".join(
            f"{reader} {n}" for reader, n in sorted(counts.items())))
