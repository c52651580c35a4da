"""Integration: `qemuinit` killed outright (SIGKILL) mid-trace leaves no
gdb, QEMU or backend running (the no_leftovers fixture looks for them for
5 s), and the next run removes the private and DPDK runtime directories
the killed one left."""

import os
import signal
import shutil
import subprocess
import sys
import time

import pytest

from conftest import CLI_PIDS, ROOT, run_cli, tagged_pids, TAG_VARIABLE
from gdb_qemuinit.attached_gdb import gone
from gdb_qemuinit.qemu import leftovers
from gdb_qemuinit.qemu.backend import dpdk_runtime_dirs

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]


def _exe_names(pids):
    names = set()
    for pid in pids:
        try:
            names.add(os.path.basename(os.readlink(f"/proc/{pid}/exe")))
        except OSError:
            pass
    return names


def _pid_of_an_ended_process() -> str:
    return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()


def test_sigkill_to_qemuinit_mid_trace_leaves_nothing_running(tmp_path):
    backend = ("dpdk-testpmd --no-huge -m 256 --no-pci --file-prefix={prefix} "
               "--vdev net_vhost0,iface={socket}.elsewhere,client=1 -- --no-mlockall "
               "--total-num-mbufs=2048")
    proc = subprocess.Popen([sys.executable, "-m", "gdb_qemuinit.cli", "trace",
                             "--scenario", "vhost-user-hang", "--timeout", "300",
                             "--backend", backend], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    CLI_PIDS.append(proc.pid)
    tag = os.environ[TAG_VARIABLE]
    deadline = time.monotonic() + 120
    # Until gdb, QEMU and testpmd all run (testpmd starts once QEMU listens).
    while not {"gdb", "dpdk-testpmd"} <= _exe_names(tagged_pids(tag)) or \
            not any(n.startswith("qemu-system") for n in _exe_names(tagged_pids(tag))):
        assert time.monotonic() < deadline and proc.poll() is None, "the trace never got going"
        time.sleep(0.1)
    private = [n for n in os.listdir(os.environ["TMPDIR"])
               if n.startswith(f"qemuinit-{proc.pid}-")]
    assert len(private) == 1
    running = tagged_pids(tag)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # gdb, QEMU and testpmd end by themselves within seconds (the bound the
    # leftover check uses too).  Ended (gone or a zombie), not only
    # untagged: a process whose memory is gone has no environment to read,
    # but it holds its files (testpmd: the lock on its runtime directory)
    # until it has exited.
    deadline = time.monotonic() + 5
    while not all(map(gone, running)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(map(gone, running)), _exe_names(p for p in running if not gone(p))
    assert not tagged_pids(tag), _exe_names(tagged_pids(tag))
    # What it left on disk goes with the next run.
    r = run_cli("trace", "--scenario", "user-netdev", "--timeout", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(os.path.join(os.environ["TMPDIR"], private[0]))
    left = [d for d in dpdk_runtime_dirs(f"qemuinit-{proc.pid}-0") if os.path.exists(d)]
    assert not left, {d: os.listdir(d) for d in left}


def test_only_the_directories_of_runs_that_are_gone_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    ended = _pid_of_an_ended_process()
    stale = tmp_path / f"qemuinit-{ended}-abc_1234"
    alive = tmp_path / f"qemuinit-{os.getppid()}-abc_1234"
    for d in (stale, alive):
        d.mkdir()
        (d / leftovers.LOCK).touch()
    # Look-alikes of a gone PID that qemuinit did not make: kept.
    notes = tmp_path / f"qemuinit-{ended}-notes.txt"
    notes.write_text("a user's file")
    no_lock = tmp_path / f"qemuinit-{ended}-abcd1234"
    no_lock.mkdir()
    link = tmp_path / f"qemuinit-{ended}-link1234"
    link.symlink_to(alive)
    with leftovers.private_dir() as mine:
        assert os.path.basename(mine).startswith(f"qemuinit-{os.getpid()}-")
        removed = leftovers.remove_stale()
        assert removed == [str(stale)] and os.path.isdir(mine)
    assert not stale.exists() and alive.exists()
    assert notes.read_text() == "a user's file" and no_lock.is_dir() and link.is_symlink()
    shutil.rmtree(alive)


def test_dpdk_directories_of_gone_runs_go_when_unlocked_or_empty(tmp_path, monkeypatch):
    """A backend killed before DPDK made its config file leaves its
    runtime directory empty: it goes too; one with other files is kept."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))   # one of DPDK's places
    ended = _pid_of_an_ended_process()
    base = tmp_path / "dpdk"
    empty, unlocked, no_config = (base / f"qemuinit-{ended}-{n}" for n in range(3))
    for d in (empty, unlocked, no_config):
        d.mkdir(parents=True)
    (unlocked / "config").touch()
    (no_config / "notes").write_text("not DPDK's")
    leftovers.remove_stale()
    assert not empty.exists() and not unlocked.exists()
    assert (no_config / "notes").exists()


def test_a_directory_whose_lock_is_held_is_kept_even_if_its_pid_looks_gone(
        tmp_path, monkeypatch):
    # A run in another PID namespace: its PID means nothing here, its lock does.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    ended = _pid_of_an_ended_process()
    with leftovers.private_dir() as held:
        other = tmp_path / f"qemuinit-{ended}-xyz_5678"
        os.rename(held, other)
        assert leftovers.remove_stale() == [] and other.exists()
        os.rename(other, held)
