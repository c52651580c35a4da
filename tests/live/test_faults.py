"""Integration: every fault ends in a clear answer, a complete trace and no
process left behind (the no_leftovers fixture checks the last part)."""

import glob
import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from conftest import ROOT, pids, run_cli
from gdb_qemuinit.model import initpath
from gdb_qemuinit.qemu.backend import listening

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]

DEBIAN_QEMU = "/usr/bin/qemu-system-x86_64"


def traced(tmp_path, *args):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--json", str(out), *args)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r, json.loads(out.read_text())


def test_a_file_that_cannot_be_run_is_refused_before_anything_runs(tmp_path):
    f = tmp_path / "qemu-system-x86_64"
    f.write_text("#!/bin/sh\n")
    os.chmod(f, stat.S_IRUSR)
    r = run_cli("trace", "--", str(f))
    assert r.returncode == 2 and "is not an executable file" in r.stderr
    assert "Traceback" not in r.stderr


def test_read_only_output_directory_fails_before_qemu_starts(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
    # root may write into a mode-0500 directory; nobody may create files in /sys
    for target in ([] if os.geteuid() == 0 else [ro / "t.json"]) + ["/sys/t.json"]:
        r = run_cli("trace", "--json", str(target), "--svg", str(tmp_path / "t.svg"))
        assert r.returncode == 2 and "not writable" in r.stderr, r.stderr
        assert "QEMU 7" not in r.stdout and not (tmp_path / "t.svg").exists()


# `said`: the part of our own argument QEMU names in its error (its wording
# around it differs between releases and is not checked)
@pytest.mark.parametrize("extra, said", [
    (["-no-such-option"], "-no-such-option"),
    (["-device", "virtio-net-pci,no-such-prop=1"], "no-such-prop"),
    (["-bios", "/nonexistent/bios.bin"], "/nonexistent/bios.bin"),
    (["-netdev", "vhost-user,id=n9,chardev=nope"], "nope"),
], ids=["unknown-option", "bad-property", "missing-firmware", "missing-chardev"])
def test_qemu_exiting_during_init_gives_code_its_own_line_and_stage(tmp_path, qemu_argv,
                                                                    extra, said):
    r, doc = traced(tmp_path, "--", *qemu_argv, *extra)
    assert r.returncode == 1
    o = doc["outcome"]
    assert o["state"] == "exited" and o["exit_code"] == 1
    # QEMU's own last line on stderr, as it wrote it, and shown to the user
    assert o["error_line"] == doc["qemu_stderr"][-1]["line"]
    assert said in o["error_line"]
    assert "QEMU said first: " + o["error_line"] in r.stdout
    assert "QEMU said: " + o["error_line"] not in r.stdout       # said once
    assert o["last_stage"] in initpath.load().functions()


def test_stripped_debian_qemu_gives_a_degraded_trace_never_absent(tmp_path):
    assert os.path.exists(DEBIAN_QEMU), "Debian's qemu-system-x86 missing: run scripts/setup.sh"
    r, doc = traced(tmp_path, "--", DEBIAN_QEMU, "-machine", "q35", "-nodefaults",
                    "-display", "none", "-S", "-netdev", "user,id=n0",
                    "-device", "virtio-net-pci,netdev=n0")
    assert r.returncode == 0 and doc["outcome"]["state"] == "init-complete"
    assert doc["symbols"]["debug_info"] is False
    assert "qemu_create_late_backends" in doc["symbols"]["missing"]    # static
    statuses = {e["status"] for e in doc["edges"]}
    assert "absent" not in statuses and "not-exercised" not in statuses
    assert "observed" in statuses and "unknown" in statuses
    assert "qemu_init" in [h["function"] for h in doc["hits"]]           # exported
    assert "no debug info" in r.stdout and "scripts/build-qemu.sh" in r.stdout


def _start_hanging_trace(tmp_path, *extra):
    out = tmp_path / "t.json"
    proc = subprocess.Popen([sys.executable, "-m", "gdb_qemuinit.cli", "trace",
                             "--scenario", "vhost-user-hang", "--timeout", "120",
                             "--json", str(out), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    # Once QEMU listens on the run's socket (the kernel's socket list says
    # so, not QEMU's wording), it waits there.
    pattern = os.path.join(glob.escape(os.environ["TMPDIR"]), f"qemuinit-{proc.pid}-*",
                           "vhost-user.sock")
    deadline = time.monotonic() + 60
    while True:
        found = [s for s in glob.glob(pattern) if listening(s)]
        if found:
            return proc, out, found[0]
        assert proc.poll() is None and time.monotonic() < deadline, "QEMU never listened"
        time.sleep(0.05)


def _qemu_pid(socket_path: str) -> int:
    """The QEMU serving our private socket (its path is unique to this run)."""
    found = pids("qemu-system", socket_path)
    assert found, "no QEMU found for " + socket_path
    return found.pop()


def _finish(proc):
    try:
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in stdout + stderr, stderr
    return stdout + stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupting_qemuinit_writes_an_interrupted_trace(tmp_path, sig):
    proc, out, sock = _start_hanging_trace(tmp_path)
    proc.send_signal(sig)
    stdout = _finish(proc)
    assert proc.returncode == 1
    doc = json.loads(out.read_text())
    assert doc["outcome"]["state"] == "interrupted"
    assert sig.name in doc["outcome"]["detail"]
    assert doc["hang"]["socket"] == sock and doc["outcome"]["frames"]
    assert f"qemuinit: interrupted: qemuinit received {sig.name}" in stdout


def test_qemu_crashing_on_a_signal_is_signaled_with_its_thread_backtrace(tmp_path):
    proc, out, sock = _start_hanging_trace(tmp_path)
    os.kill(_qemu_pid(sock), signal.SIGSEGV)
    stdout = _finish(proc)
    assert proc.returncode == 1
    o = json.loads(out.read_text())["outcome"]
    assert o["state"] == "signaled" and o["signal"] == "SIGSEGV"
    assert "in thread" in o["detail"] and o["frames"]
    assert "signaled" in stdout


def test_qemu_killed_outright_is_signaled_with_the_signal(tmp_path):
    proc, out, sock = _start_hanging_trace(tmp_path)
    os.kill(_qemu_pid(sock), signal.SIGKILL)
    said = _finish(proc)
    assert out.exists(), said
    o = json.loads(out.read_text())["outcome"]
    assert o["state"] == "signaled" and o["signal"] == "SIGKILL"


def test_a_socket_directory_others_can_enter_is_warned_about(tmp_path, qemu_argv):
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o755)
    r = run_cli("trace", "--timeout", "2", "--", *qemu_argv, "-chardev",
                f"socket,id=c0,path={open_dir}/c.sock,server=on,wait=off")
    assert "is open to other users" in r.stderr


@pytest.mark.vhost
def test_interrupting_stops_the_backend_too(tmp_path):
    # testpmd runs but dials another socket: QEMU keeps waiting, both run
    backend = ("dpdk-testpmd --no-huge -m 256 --no-pci --file-prefix={prefix} "
               "--vdev net_vhost0,iface={socket}.elsewhere,client=1 -- --no-mlockall "
               "--total-num-mbufs=2048")
    proc, out, sock = _start_hanging_trace(tmp_path, "--backend", backend)
    for _ in range(100):            # until testpmd runs (it starts once QEMU listens)
        if pids("dpdk-testpmd", sock):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _finish(proc)
    doc = json.loads(out.read_text())
    assert doc["outcome"]["state"] == "interrupted"
    (backend,) = doc["backends"]
    assert backend["started"] and backend["pid"]
    assert not os.path.exists(f"/proc/{backend['pid']}")


def test_a_missing_firmware_file_is_a_finding_that_suggests_l(tmp_path):
    """--qemu-arg adds to a built-in scenario; QEMU's own error names the
    file, the finding says which -L directories Debian has."""
    r, doc = traced(tmp_path, "--scenario", "user-netdev",
                    "--qemu-arg=-bios", "--qemu-arg=no-such-bios.bin")
    assert r.returncode == 1 and doc["outcome"]["state"] == "exited"
    assert doc["qemu"]["argv"][-2:] == ["-bios", "no-such-bios.bin"]
    (f,) = [f for f in doc["findings"] if f["id"] == "firmware-not-found"]
    assert f["evidence"]["file"] == "no-such-bios.bin"
    assert "-L /usr/share/seabios" in f["change"]
    r = run_cli("trace", "--qemu-arg=-S", "--", "/bin/true")
    assert r.returncode == 2 and "--qemu-arg adds to a built-in scenario" in r.stderr
