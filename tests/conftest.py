"""Shared fixtures.  Integration tests run the real gdb on the project's debug
QEMU; each checks that it left no QEMU or testpmd process behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdb_qemuinit.qemu import DEFAULT_ARGS, default_binary  # noqa: E402

WATCHED = ("qemu-system", "dpdk-testpmd")


def _watched_pids() -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{entry}/exe")
        except OSError:
            continue
        if any(w in os.path.basename(exe) for w in WATCHED):
            pids.add(int(entry))
    return pids


@pytest.fixture
def no_leftovers():
    """Fails the test if it leaves a QEMU or testpmd process running (and
    stops those, by PID)."""
    before = _watched_pids()
    yield
    left = _watched_pids() - before
    for pid in left:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert not left, f"processes left behind: {sorted(left)}"


@pytest.fixture(scope="session")
def qemu_binary() -> str:
    b = default_binary()
    if b is None or not b.exists():
        pytest.fail("the debug QEMU is not built: run scripts/setup.sh")
    return str(b)


@pytest.fixture(scope="session")
def qemu_argv(qemu_binary) -> list[str]:
    return [qemu_binary] + DEFAULT_ARGS


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
