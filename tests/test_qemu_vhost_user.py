"""Integration: the seed's scenario with a real vhost-user backend
(dpdk-testpmd in client mode); QEMU waits as the server."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT

pytestmark = [pytest.mark.qemu, pytest.mark.vhost, pytest.mark.usefixtures("no_leftovers")]


def stop(proc):
    """Stop a process we started, by its PID, and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_whole_seed_path_is_observed_with_testpmd(qemu_binary, tmp_path):
    assert shutil.which("dpdk-testpmd"), "dpdk-testpmd missing: run scripts/setup.sh"
    sock_dir = tmp_path / "s"
    sock_dir.mkdir(mode=0o700)
    sock = sock_dir / "vu.sock"
    out = tmp_path / "t.json"
    qemu = [qemu_binary, "-machine", "q35,memory-backend=mem0", "-m", "256",
            "-object", "memory-backend-memfd,id=mem0,size=256M,share=on",
            "-nodefaults", "-display", "none", "-S",
            "-chardev", f"socket,id=c0,path={sock},server=on,wait=on",
            "-netdev", "vhost-user,id=n0,chardev=c0", "-device", "virtio-net-pci,netdev=n0"]
    trace = subprocess.Popen([sys.executable, "-m", "gdb_qemuinit.cli", "trace",
                              "--timeout", "60", "--json", str(out), "--", *qemu],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, text=True)
    testpmd = None
    prefix = f"qemuinit-test-{os.getpid()}"
    try:
        deadline = time.monotonic() + 30
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sock.exists(), "QEMU never listened"
        testpmd = subprocess.Popen(
            ["dpdk-testpmd", "--no-huge", "-m", "256", "--no-pci",
             f"--file-prefix={prefix}",
             "--vdev", f"net_vhost0,iface={sock},client=1", "--",
             "--no-mlockall", "--total-num-mbufs=2048"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text, _ = trace.communicate(timeout=120)
    finally:
        stop(trace)
        if testpmd:
            stop(testpmd)
        # testpmd keeps its runtime files (config, sockets) per file prefix
        for run_dir in ("/var/run/dpdk", os.path.expanduser("~/.local/share/dpdk")):
            shutil.rmtree(os.path.join(run_dir, prefix), ignore_errors=True)
    assert trace.returncode == 0, text
    doc = json.loads(out.read_text())
    status = {(e["from"], e["to"]): e for e in doc["edges"]}
    for cluster in ("chardev_init", "vhost_user_init", "vhost_user_negotiation"):
        for e in doc["edges"]:
            if e["cluster"] == cluster:
                assert e["status"] in ("observed", "dispatch"), e
    assert status[("vhost_dev_init", "vhost_backend_init")]["served_by"] == \
        "vhost_user_backend_init"
    assert status[("qemu_chr_fe_wait_connected", "vhost_dev_init")]["status"] == "observed"
    assert doc["steps"][0]["in_order"] is True
