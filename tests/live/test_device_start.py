"""Integration: past the main loop.  iPXE (Debian's ipxe-qemu) boots from a
vhost-user NIC (bootindex=1), its driver sets DRIVER_OK, QEMU starts the
backend (dpdk-testpmd): every start message decoded and equal, request by
request and value by value, to what each backend logged; the failures of a
start observed where they happen."""

import json

import pytest

from conftest import (assert_each_connection_matches_its_backend, run_cli,
                      trace_in_gdb_with_testpmd)
from gdb_qemuinit.qemu import scenario

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]


def traced(tmp_path, *args):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--json", str(out), *args, timeout=240)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r, json.loads(out.read_text())


def edge(doc, caller, callee):
    return next(e for e in doc["edges"] if (e["from"], e["to"]) == (caller, callee))


def sent(doc, name):
    return [m for r in doc["vhost_user"]["rounds"] for m in r["messages"]
            if m["name"] == name and m.get("sent", True)]


def test_the_seeds_nic_started_by_ipxe_every_message_as_the_backend_logged_it(tmp_path):
    r, doc = traced(tmp_path, "--scenario", "device-start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["outcome"]["state"] == "devices-started" and doc["qemu"]["phase"] == "device-start"
    (nic,) = doc["device_start"]
    assert nic["result"] == "started" and nic["ret"] == 0 and nic["netdev"] == "net0"
    # the guest's status write reached vhost_net_start, in a vCPU thread
    for caller, callee in (("virtio_pci_common_write", "virtio_set_status"),
                           ("virtio_net_vhost_status", "vhost_net_start"),
                           ("vhost_net_start_one", "vhost_dev_start"),
                           ("vhost_dev_start", "vhost_virtqueue_start")):
        assert edge(doc, caller, callee)["status"] == "observed", (caller, callee)
    start = next(h for h in doc["hits"] if h["function"] == "vhost_net_start")
    main = next(h for h in doc["hits"] if h["function"] == "main")
    assert start["thread"] != main["thread"]
    # the payloads: one shared region with its fd, the rings' addresses, DRIVER_OK
    (table,) = sent(doc, "SET_MEM_TABLE")
    (region,) = table["payload"]["regions"]
    assert region["memory_size"] == 256 << 20 and region["fd"] >= 0
    addrs = sent(doc, "SET_VRING_ADDR")
    assert [m["payload"]["vring"] for m in addrs][-2:] == [0, 1]
    assert all(m["payload"]["addr"]["desc_user_addr"] for m in addrs)
    assert "DRIVER_OK" in sent(doc, "SET_STATUS")[-1]["payload"]["bits"]
    assert sent(doc, "SET_FEATURES")[-1]["payload"]["hex"] == nic["sent_features"]["hex"]
    # the backend's log: request for request, and every value it printed
    assert_each_connection_matches_its_backend(doc)
    (check,) = doc["vhost_user"]["backend_checks"]
    assert check["values_compared"] >= 30 and check.get("values_agree", True), check
    assert "device start of net0" in r.stdout and "payload values it logged agree" in r.stdout


def test_guest_ram_without_an_fd_fails_the_start_at_the_memory_table(tmp_path):
    r, doc = traced(tmp_path, "--scenario", "device-start-unshared")
    assert r.returncode == 1 and doc["outcome"]["state"] == "start-failed"
    (nic,) = doc["device_start"]
    assert nic["result"] == "failed" and nic["ret"] == -22
    assert nic["failed_in"] == "vhost_user_fill_set_mem_table_msg"
    # QEMU never sent it, and the backend never got it
    assert not sent(doc, "SET_MEM_TABLE")
    assert "SET_MEM_TABLE" not in doc["backends"][0]["log"]["requests"]
    first = doc["first_error"]
    assert "returned -22" in first["call"] and first["stage"] == nic["failed_in"]
    assert first["first_line"] == nic["qemu_said"][0]
    memory = next(f for f in doc["findings"] if f["id"] == "memory-not-shared")
    assert memory["evidence"]["observed"]["ret"] == -22
    assert "First error" in r.stdout and "memory-not-shared" in r.stdout


def test_queue_pairs_the_guest_never_drives_are_found(tmp_path):
    r, doc = traced(tmp_path, "--scenario", "device-start-multiqueue")
    assert r.returncode == 0
    (nic,) = doc["device_start"]
    assert nic["queues"] == 4 and nic["queue_pairs"] == 1
    assert nic["pairs_not_started"] == [1, 2, 3]
    assert {m["vq_index"] for m in sent(doc, "SET_VRING_ADDR")} == {0}
    # every pair's rings were enabled or disabled, from its own vhost_dev
    assert {m["vq_index"] for m in sent(doc, "SET_VRING_ENABLE")} == {0, 2, 4, 6}
    assert any(f["id"] == "queue-pairs-not-started" for f in doc["findings"])
    assert_each_connection_matches_its_backend(doc)


def test_a_backend_cut_after_the_memory_table_is_the_first_error(tmp_path):
    r, doc = traced(tmp_path, "--scenario", "device-start", "--cut-after", "SET_MEM_TABLE")
    assert r.returncode == 1 and doc["outcome"]["state"] == "start-failed"
    first = doc["first_error"]
    assert "SET_MEM_TABLE" in first["injected"] and first["request"]["name"] == "SET_MEM_TABLE"
    (nic,) = doc["device_start"]
    assert nic["result"] == "failed" and nic["requests"][-1] == "SET_MEM_TABLE"


def test_libvirts_two_nics_in_both_socket_roles_each_started_in_turn(tmp_path, qemu_binary):
    """libvirt's JSON -netdev/-device (its net-vhostuser line's shape), one
    NIC per socket role: iPXE boots from the first, then from the second
    when the first's boot fails (about 20 s later)."""
    server, client = tmp_path / "server.sock", tmp_path / "client.sock"
    argv = [qemu_binary, "-machine", "q35,memory-backend=mem0", "-m", "256M",
            "-object", '{"qom-type":"memory-backend-memfd","id":"mem0","size":268435456,'
                       '"share":true}',
            "-nodefaults", "-display", "none"]
    for i, (sock, role) in enumerate(((server, ",server=on,wait=off"), (client, ""))):
        argv += ["-chardev", f"socket,id=charnet{i},path={sock}{role}",
                 "-netdev", json.dumps({"type": "vhost-user", "chardev": f"charnet{i}",
                                        "id": f"hostnet{i}"}),
                 "-device", json.dumps({"driver": "virtio-net-pci", "netdev": f"hostnet{i}",
                                        "id": f"net{i}", "mac": f"52:54:00:00:00:0{i + 1}",
                                        "bus": "pcie.0", "addr": f"0x{i + 3}",
                                        "bootindex": i + 1})]
    r, doc = traced(tmp_path, "--until", "device-start", "--testpmd", "--", *argv)
    assert r.returncode == 0, r.stdout + r.stderr
    starts = {n["netdev"]: n for n in doc["device_start"]}
    assert set(starts) == {"hostnet0", "hostnet1"}
    assert all(n["result"] == "started" for n in starts.values())
    assert starts["hostnet0"]["t"] < starts["hostnet1"]["t"]
    assert {n["device"] for n in starts.values()} == {"net0", "net1"}
    assert_each_connection_matches_its_backend(doc)
    for check in doc["vhost_user"]["backend_checks"]:
        assert check["values_compared"] and check.get("values_agree", True), check


def test_inside_gdb_the_trace_stops_where_the_nics_start_returned(tmp_path, qemu_binary):
    """`qinit trace --until device-start` at the prompt: QEMU is left stopped
    in vhost_net_start's return, as gdb's API says."""
    sock = str(tmp_path / "vhost-user.sock")
    argv = [qemu_binary] + scenario.load("device-start").qemu_args(sock)
    r, doc, _ = trace_in_gdb_with_testpmd(
        tuple(argv), (("chr0", "server", sock, 1),), tmp_path, "--until device-start",
        then=("python print('QINIT-FRAME', gdb.selected_frame().name())",))
    assert doc["outcome"]["state"] == "devices-started"
    assert doc["device_start"][0]["result"] == "started"
    assert "QINIT-FRAME vhost_net_start" in r.stdout, r.stdout + r.stderr
