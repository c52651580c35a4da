"""qemuinit watch PID: a QEMU started outside qemuinit (here, by the test),
followed while a QMP client hot-plugs a vhost-user NIC as libvirt does and
while its dpdk-testpmd backend is restarted; then left running, untraced,
its QMP answering, even when qemuinit is killed outright."""

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager

import pytest

from conftest import ROOT
from gdb_qemuinit.qemu.binary import reconnect_option
from gdb_qemuinit.attached_gdb import WATCHING, tracer_of
from gdb_qemuinit.qemu import leftovers, scenario
from gdb_qemuinit.qemu.backend import Backend
from gdb_qemuinit.qemu.qmp import Qmp, QmpError

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]

QEMUINIT = [str(ROOT / ".venv" / "bin" / "qemuinit")]


@contextmanager
def qemu_by_hand(qemu_binary: str, *extra: str):
    """A QEMU as a user (or libvirt) starts it: q35, shared RAM, a root port
    to plug into, QMP on a socket; stopped by its PID at the end."""
    d = tempfile.mkdtemp(prefix="qw-", dir="/tmp")     # short: socket paths
    sock = os.path.join(d, "qmp.sock")
    argv = [qemu_binary, "-machine", "q35,memory-backend=mem0", "-m", "256M",
            "-object", "memory-backend-memfd,id=mem0,size=256M,share=on",
            "-nodefaults", "-display", "none", "-qmp", f"unix:{sock},server=on,wait=off",
            "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1",
            *[a.replace("{dir}", d) for a in extra]]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        with Qmp(sock) as qmp:
            yield proc, qmp, d
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


def backend_for(d: str, chardev: str, qemu_role: str, n: int = 0) -> Backend:
    """The project's dpdk-testpmd for `chardev`'s socket in `d` (QEMU the
    server: testpmd connects once QEMU listens)."""
    sock = os.path.join(d, f"{chardev}.sock")
    prefix = f"qemuinit-test-{os.getpid()}-w{n}"
    argv = scenario.expand(scenario.builtin_backend(scenario.load().backend, qemu_role),
                           sock, prefix, 1)
    return Backend(argv, sock, os.path.join(d, f"{chardev}-{n}.log"), dpdk_prefix=prefix,
                   chardev=chardev, qemu_role=qemu_role)


def start_watch(pid: int, *args: str) -> subprocess.Popen:
    """`qemuinit watch PID ARGS`, returned once it says it is watching."""
    proc = subprocess.Popen(QEMUINIT + ["watch", str(pid), *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    said = b""
    deadline = time.monotonic() + 60
    while WATCHING.encode() not in said:
        assert proc.poll() is None, said.decode() + proc.stderr.read().decode()
        assert time.monotonic() < deadline, said.decode()
        if select.select([proc.stderr], [], [], 0.5)[0]:
            said += os.read(proc.stderr.fileno(), 4096)
    return proc


def untraced_and_answering(proc, qmp) -> bool:
    deadline = time.monotonic() + 10
    while tracer_of(proc.pid) != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return (proc.poll() is None and tracer_of(proc.pid) == 0
            and qmp.execute("query-status")["status"] == "running")


def libvirt_hot_plug(qmp, d: str, backend: Backend, reconnect: str = "") -> None:
    """libvirt's attach-interface of a vhost-user NIC (qemu_chardev.c's
    chardev-add arguments): QEMU the server (<source mode='server'>), the
    backend started once the chardev listens; or QEMU the client with
    `reconnect` (reconnect=N or reconnect-ms=N, as the binary takes it),
    the backend listening before."""
    data: dict = {"addr": {"type": "unix", "data": {"path": os.path.join(d, "charnet1.sock")}}}
    if backend.qemu_role == "client":
        backend.start(30)
        key, value = reconnect.split("=")
        data.update({"server": False, key: int(value)})
    else:
        data.update({"server": True, "wait": False})
    qmp.execute("chardev-add", {"id": "charnet1", "backend": {"type": "socket", "data": data}})
    if backend.qemu_role == "server":
        backend.start(30)
    qmp.execute("netdev_add", {"type": "vhost-user", "id": "hostnet1", "chardev": "charnet1"})
    qmp.execute("device_add", {"driver": "virtio-net-pci", "netdev": "hostnet1", "id": "net1",
                               "mac": "52:54:00:00:00:01", "bus": "rp1"})


def end_watch(watch, how: signal.Signals, qemu, qmp) -> bytes:
    """End a watch with `how`: it exits 0 and leaves QEMU untraced,
    answering QMP.  Its stdout."""
    watch.send_signal(how)
    stdout, stderr = watch.communicate(timeout=60)
    assert watch.returncode == 0, stderr.decode()
    assert untraced_and_answering(qemu, qmp)
    return stdout


def a_hot_plug_goes_through(qemu, qmp, d: str) -> bool:
    """libvirt's hot-plug, through every function a watch had planted: does
    QEMU live on, untraced?  (A breakpoint left in would kill it.)"""
    backend = backend_for(d, "charnet1", "server")
    try:
        libvirt_hot_plug(qmp, d, backend)
    finally:
        backend.stop()
    return untraced_and_answering(qemu, qmp)


def verdicts(doc) -> dict:
    return {(e["from"], e["to"]): e["status"] for e in doc["edges"]}


@pytest.mark.parametrize("qemu_role", ["server", "client"])
def test_watch_follows_libvirts_hot_plug_and_leaves_qemu_running(qemu_binary, tmp_path,
                                                                 qemu_role):
    out = tmp_path / "w.json"
    with qemu_by_hand(qemu_binary) as (qemu, qmp, d):
        backend = backend_for(d, "charnet1", qemu_role)
        try:
            watch = start_watch(qemu.pid, "--until", "nic-added", "--timeout", "60",
                                "--json", str(out), "--backend-log",
                                f"charnet1={backend.log_path}")
            libvirt_hot_plug(qmp, d, backend, reconnect_option(qemu_binary, 1))
            stdout, stderr = watch.communicate(timeout=60)
        finally:
            backend.stop()
        assert watch.returncode == 0, stderr.decode()
        assert untraced_and_answering(qemu, qmp)
        # the NIC works: QEMU reports it, on the root port
        assert any(c.get("qdev_id") == "net1" or c.get("id") == "net1"
                   for c in _pci_devices(qmp))
    doc = json.loads(out.read_text())
    assert doc["qemu"]["phase"] == "watch"
    assert doc["outcome"]["state"] == "watched"
    assert doc["outcome"]["detail"] == "nic-added: QEMU entered hotplug_handler_plug"
    v = verdicts(doc)
    # netdev_add: QMP's own entry into the netdev's init, then the negotiation
    assert v[("qmp_netdev_add", "net_client_init1")] == "observed"
    assert v[("net_vhost_user_event", "vhost_user_start")] == "observed"
    assert v[("vhost_dev_init", "vhost_backend_init")] in ("observed", "dispatch")
    assert v[("qmp_chardev_add", "chardev_new")] == "observed"
    opened = {"server": "qmp_chardev_open_socket_server",
              "client": "qmp_chardev_open_socket_client"}[qemu_role]
    assert v[("qmp_chardev_open_socket", opened)] == "observed"
    # device_add's realize, from QMP (7.2 through qdev_device_add; later directly)
    assert "observed" in (v.get(("qmp_device_add", "qdev_device_add")),
                          v.get(("qmp_device_add", "qdev_device_add_from_qdict")))
    rounds = doc["vhost_user"]["rounds"]
    assert [(r["chardev"], r["netdev"], r["result"]) for r in rounds] == \
        [("charnet1", "hostnet1", "negotiated")]
    sent = [m["name"] for m in rounds[0]["messages"] if m.get("sent", True)]
    assert sent[:2] == ["GET_FEATURES", "GET_PROTOCOL_FEATURES"]
    # request by request, value by value, what testpmd logged receiving
    [check] = doc["vhost_user"]["backend_checks"]
    assert check["chardev"] == "charnet1" and check["requests_agree"], check
    assert check.get("values_agree", True) and check["values_compared"] > 0, check
    # how long QEMU was held is said, from the recorded stops
    assert doc["qemu"]["breakpoint_stops"] > 0
    assert "QEMU was held about" in stdout.decode() + stderr.decode()


def _pci_devices(qmp) -> list[dict]:
    out = []

    def walk(devices):
        for dev in devices:
            out.append(dev)
            walk((dev.get("pci_bridge") or {}).get("devices", []))
    for bus in qmp.execute("query-pci"):
        walk(bus["devices"])
    return out


@pytest.mark.parametrize("qemu_role", ["client", "server"])
def test_watch_sees_a_backend_restart_and_the_renegotiation(qemu_binary, tmp_path, qemu_role):
    """testpmd goes away and a new one takes its socket: QEMU the client
    reconnects (libvirt's <reconnect enabled='yes'>), QEMU the server
    accepts the new one; the watch ends once QEMU negotiated again, and the
    renegotiation is the new testpmd's log, request by request."""
    out = tmp_path / "w.json"
    with qemu_by_hand(qemu_binary) as (qemu, qmp, d):
        first = backend_for(d, "charnet1", qemu_role, 0)
        second = backend_for(d, "charnet1", qemu_role, 1)
        try:
            libvirt_hot_plug(qmp, d, first, reconnect_option(qemu_binary, 1))
            watch = start_watch(qemu.pid, "--until", "negotiated", "--timeout", "60",
                                "--json", str(out), "--backend-log",
                                f"charnet1={second.log_path}")
            first.stop()
            second.start(30)
            stdout, stderr = watch.communicate(timeout=60)
        finally:
            first.stop()
            second.stop()
        assert watch.returncode == 0, stderr.decode()
        assert untraced_and_answering(qemu, qmp)
    doc = json.loads(out.read_text())
    assert doc["outcome"]["detail"].startswith("negotiated: QEMU entered ")
    v = verdicts(doc)
    # the close (a bottom half takes the link down), the reconnect timer, the
    # negotiation again
    assert v[("tcp_chr_disconnect_locked", "qemu_chr_be_event")] == "observed"
    assert v[("net_vhost_user_event", "vhost_user_start")] == "observed"
    rounds = doc["vhost_user"]["rounds"]
    assert rounds and rounds[-1]["result"] == "negotiated"
    # the renegotiation, against the new testpmd's log
    [check] = doc["vhost_user"]["backend_checks"]
    assert check["requests_agree"] and check.get("values_agree", True), check
    assert check["values_compared"] > 0, check
    # how long the NIC was without a backend: link down to link up again
    [outage] = doc["outages"]
    assert outage["netdev"] == "hostnet1" and 0 < outage["seconds"] < 30
    assert f"hostnet1 was without a backend for {outage['seconds']:.3f} s" in stdout.decode()
    hits = [h["function"] for h in doc["hits"]]
    assert "chr_closed_bh" in hits and "vhost_dev_init" in hits
    assert hits.index("chr_closed_bh") < len(hits) - 1 - hits[::-1].index("vhost_dev_init")


def test_a_second_watch_is_refused_naming_the_tracer_and_sigkill_harms_nothing(qemu_binary,
                                                                                tmp_path):
    """While one watch holds QEMU, another is refused, saying who traces it.
    qemuinit killed outright (SIGKILL: it can pass nothing on) closes the
    pipe its gdb watches: gdb takes its breakpoints out and detaches, and the
    hot-plug that follows, through planted functions, leaves QEMU alive."""
    with qemu_by_hand(qemu_binary) as (qemu, qmp, d):
        watch = start_watch(qemu.pid, "--timeout", "120")
        try:
            again = subprocess.run(QEMUINIT + ["watch", str(qemu.pid)], capture_output=True,
                                   text=True, timeout=60, stdin=subprocess.DEVNULL)
            assert again.returncode == 2
            assert f"PID {qemu.pid} is already traced by PID " in again.stderr
            assert "(gdb)" in again.stderr
            watch.send_signal(signal.SIGKILL)
            watch.wait(timeout=10)
            watch.stdout.close()
            watch.stderr.close()
            assert untraced_and_answering(qemu, qmp)
            # its private directory is left: the next qemuinit run removes it
            assert any(f"qemuinit-{watch.pid}-" in p for p in leftovers.remove_stale())
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait()
        assert a_hot_plug_goes_through(qemu, qmp, d)


def test_ctrl_c_ends_the_watch_with_its_record(qemu_binary, tmp_path):
    out = tmp_path / "w.json"
    with qemu_by_hand(qemu_binary) as (qemu, qmp, d):
        watch = start_watch(qemu.pid, "--timeout", "120", "--json", str(out))
        qmp.execute("chardev-add", {"id": "charnet1", "backend": {"type": "socket", "data": {
            "addr": {"type": "unix", "data": {"path": os.path.join(d, "c.sock")}},
            "server": True, "wait": False}}})
        end_watch(watch, signal.SIGINT, qemu, qmp)
    doc = json.loads(out.read_text())
    assert doc["outcome"] == {**doc["outcome"], "state": "watched",
                              "detail": "the watch ended: qemuinit received SIGINT"}
    assert "qmp_chardev_open_socket_server" in [h["function"] for h in doc["hits"]]


def test_qinit_watch_at_the_gdb_prompt_detaches_with_every_breakpoint_out(qemu_binary,
                                                                           tmp_path):
    """In a gdb the user attached (gdb -p), the watch ends at its time limit
    and detaches (gdb's inferior has no process after it); the hot-plug
    that follows runs every function it had planted, and QEMU lives."""
    out = tmp_path / "w.json"
    with qemu_by_hand(qemu_binary) as (qemu, qmp, d):
        cmd = ["gdb", "-nx", "-batch", "-x", str(ROOT / "gdbinit.py"), "-p", str(qemu.pid),
               "-ex", f"qinit watch --timeout 2 --json {out}",
               "-ex", 'python print("QINIT-TEST-PID", gdb.selected_inferior().pid)']
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert "Traceback" not in r.stdout + r.stderr
        assert "QINIT-TEST-PID 0" in r.stdout and WATCHING in r.stderr
        assert "qemuinit: watched: the watch ended: its time limit (2 s)" in r.stdout
        assert a_hot_plug_goes_through(qemu, qmp, d)
    assert json.loads(out.read_text())["outcome"]["state"] == "watched"


def test_an_unplug_without_a_guest_is_shown_pending(qemu_binary, tmp_path):
    """libvirt's detach begins with device_del, a request the guest must
    eject (none runs here), and waits for DEVICE_DELETED before netdev_del
    and chardev-remove.  (Sent anyway, those kill QEMU, gdb or not: 7.2
    aborts at once in get_vhost_net, 10.x crashes when the backend goes.)
    The watch shows the request pending, naming the NIC."""
    out = tmp_path / "w.json"
    with qemu_by_hand(qemu_binary) as (qemu, qmp, d):
        backend = backend_for(d, "charnet1", "server")
        try:
            libvirt_hot_plug(qmp, d, backend)
            watch = start_watch(qemu.pid, "--timeout", "120", "--json", str(out))
            qmp.execute("device_del", {"id": "net1"})
            assert qmp.wait_event("DEVICE_DELETED", 2) is None
            stdout = end_watch(watch, signal.SIGINT, qemu, qmp)
        finally:
            backend.stop()
    doc = json.loads(out.read_text())
    v = verdicts(doc)
    assert v[("qmp_device_del", "qdev_unplug")] == "observed"
    assert v[("hotplug_handler_unplug_request", "hdc->unplug_request")] == "dispatch"
    [pending] = [f for f in doc["findings"] if f["id"] == "unplug-pending"]
    assert pending["evidence"]["device"] == "net1"
    assert pending["seen"].startswith("device_del of net1 is pending")
    assert "device_del of net1 is pending" in stdout.decode()


def test_a_sigint_from_another_process_still_ends_qemu(qemu_binary, tmp_path):
    """gdb holds every signal QEMU gets while it watches; a SIGINT it did
    not send (an admin's kill -INT) ends the watch and reaches QEMU as gdb
    detaches: QEMU quits as asked, and the watch says so."""
    out = tmp_path / "w.json"
    with qemu_by_hand(qemu_binary) as (qemu, qmp, d):
        watch = start_watch(qemu.pid, "--timeout", "120", "--json", str(out))
        os.kill(qemu.pid, signal.SIGINT)
        stdout, stderr = watch.communicate(timeout=60)
        assert watch.returncode == 0, stderr.decode()
        assert qemu.wait(timeout=30) == 0      # QEMU's own orderly exit on SIGINT
    doc = json.loads(out.read_text())
    assert doc["outcome"]["detail"] == (
        "the watch ended: QEMU received SIGINT from another process; it is passed on as "
        "gdb detaches, and QEMU quits as asked")


def test_netdev_del_and_chardev_remove_finish_without_a_guest(qemu_binary, tmp_path):
    """A vhost-user netdev no NIC uses (netdev_add only): netdev_del cleans it
    up at once, deleting its chardev with it, so the chardev-remove that
    libvirt sends next is answered "not found"; both paths verified."""
    out = tmp_path / "w.json"
    with qemu_by_hand(qemu_binary) as (qemu, qmp, d):
        backend = backend_for(d, "charnet1", "server")
        try:
            qmp.execute("chardev-add", {"id": "charnet1", "backend": {
                "type": "socket", "data": {"addr": {"type": "unix", "data": {
                    "path": backend.sock}}, "server": True, "wait": False}}})
            backend.start(30)
            qmp.execute("netdev_add", {"type": "vhost-user", "id": "hostnet1",
                                       "chardev": "charnet1"})
            watch = start_watch(qemu.pid, "--timeout", "120", "--json", str(out))
            qmp.execute("netdev_del", {"id": "hostnet1"})
            with pytest.raises(QmpError, match="'charnet1' not found"):
                qmp.execute("chardev-remove", {"id": "charnet1"})
            end_watch(watch, signal.SIGTERM, qemu, qmp)      # as SIGINT: the end asked
        finally:
            backend.stop()
    doc = json.loads(out.read_text())
    assert doc["outcome"]["detail"] == "the watch ended: qemuinit received SIGTERM"
    v = verdicts(doc)
    assert v[("qmp_netdev_del", "qemu_del_net_client")] == "observed"
    assert v[("qemu_del_net_client", "qemu_cleanup_net_client")] == "observed"
    assert v[("qemu_chr_fe_deinit", "object_unparent")] == "observed"
    assert "qmp_chardev_remove" in [h["function"] for h in doc["hits"]] or \
        v[("qmp_marshal_chardev_remove", "qmp_chardev_remove")] == "observed"
