"""Shared fixtures.  Integration tests run the real gdb on the project's debug
QEMU; each checks that it left no QEMU or testpmd process behind."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdb_qemuinit import scenario  # noqa: E402
from gdb_qemuinit.qemu import default_binary  # noqa: E402

WATCHED = ("qemu-system", "dpdk-testpmd")


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


def _watched_pids() -> set[int]:
    return set().union(*(pids(w) for w in WATCHED))


def _leftover_files() -> set[str]:
    """qemuinit's private directories and DPDK runtime directories."""
    found = set()
    tmp = tempfile.gettempdir()
    for d in (tmp, "/var/run/dpdk", os.path.join(tmp, "dpdk")):
        try:
            found |= {os.path.join(d, n) for n in os.listdir(d) if n.startswith("qemuinit-")}
        except OSError:
            pass
    return found


@pytest.fixture
def no_leftovers():
    """Fails the test if it leaves a QEMU or testpmd process running (and
    stops those, by PID), or a private socket directory or DPDK runtime
    directory behind."""
    before, files_before = _watched_pids(), _leftover_files()
    yield
    left = _watched_pids() - before
    for pid in left:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert not left, f"processes left behind: {sorted(left)}"
    files = _leftover_files() - files_before
    assert not files, f"files left behind: {sorted(files)}"


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
    return subprocess.run([sys.executable, "-m", "gdb_qemuinit.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


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
