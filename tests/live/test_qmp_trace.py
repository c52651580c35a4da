"""qemuinit trace --qmp FILE: QMP commands after init, as libvirt sends
them, on a QEMU qemuinit starts, and what they make it do."""

import json

import pytest

from conftest import run_cli
from gdb_qemuinit.qemu.binary import reconnect_option

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]


def verdicts(doc) -> dict:
    return {(e["from"], e["to"]): e["status"] for e in doc["edges"]}


def test_the_hot_plug_scenario_is_libvirts_attach_interface_with_testpmd(tmp_path):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--scenario", "hot-plug", "--json", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["qemu"]["phase"] == "hot-plug"
    assert doc["outcome"]["state"] == "watched"
    assert doc["outcome"]["detail"] == \
        "the run ended: qemuinit received the answer to its last QMP command"
    assert [(c["execute"], "return" in c) for c in doc["qmp"]] == \
        [("chardev-add", True), ("netdev_add", True), ("device_add", True)]
    # init first (its main loop reached), then the commands, in order
    hits = [h["function"] for h in doc["hits"]]
    assert hits.index("qemu_main_loop") < hits.index("net_vhost_user_event")
    assert doc["qmp"][0]["t"] < doc["qmp"][1]["t"] < doc["qmp"][2]["t"]
    v = verdicts(doc)
    assert v[("qmp_netdev_add", "net_client_init1")] == "observed"
    assert v[("net_vhost_user_event", "vhost_user_start")] == "observed"
    [rnd] = doc["vhost_user"]["rounds"]
    assert (rnd["chardev"], rnd["netdev"], rnd["result"]) == ("charnet1", "hostnet1",
                                                              "negotiated")
    [check] = doc["vhost_user"]["backend_checks"]
    assert check["requests_agree"] and check["values_compared"] > 0
    assert "QMP device_add at " in r.stdout and ": answered" in r.stdout


def test_your_own_line_and_commands_qemu_the_client(tmp_path, qemu_binary):
    """QEMU connects (libvirt's mode='client' with reconnect): --testpmd
    starts testpmd listening before QEMU does, from the chardev-add."""
    key, seconds = reconnect_option(qemu_binary, 1).split("=")
    commands = [
        {"execute": "chardev-add", "arguments": {"id": "charnet1", "backend": {
            "type": "socket", "data": {"addr": {"type": "unix", "data": {
                "path": "{dir}/vu.sock"}}, "server": False, key: int(seconds)}}}},
        {"execute": "netdev_add", "arguments": {"type": "vhost-user", "id": "hostnet1",
                                                "chardev": "charnet1"}},
        {"execute": "device_add", "arguments": {"driver": "virtio-net-pci",
                                                "netdev": "hostnet1", "id": "net1",
                                                "bus": "rp1"}}]
    qmp = tmp_path / "attach.jsonl"
    qmp.write_text("".join(json.dumps(c) + "\n" for c in commands))
    out = tmp_path / "t.json"
    r = run_cli("trace", "--qmp", str(qmp), "--testpmd", "--json", str(out), "--",
                qemu_binary, "-machine", "q35,memory-backend=mem0", "-m", "256M",
                "-object", "memory-backend-memfd,id=mem0,size=256M,share=on",
                "-nodefaults", "-display", "none", "-S",
                "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1")
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert all("return" in c for c in doc["qmp"])
    assert verdicts(doc)[("qmp_chardev_open_socket", "qmp_chardev_open_socket_client")] == \
        "observed"
    assert doc["vhost_user"]["rounds"][-1]["result"] == "negotiated"
    assert doc["backends"][0]["qemu_role"] == "client"


def test_a_command_qemu_refuses_ends_the_run_and_fails_it(tmp_path, qemu_binary):
    qmp = tmp_path / "bad.jsonl"
    qmp.write_text('{"execute": "device_add", "arguments": {"driver": "virtio-net-pci", '
                   '"id": "net1", "bus": "no-such-bus"}}\n'
                   '{"execute": "query-status"}\n')
    out = tmp_path / "t.json"
    r = run_cli("trace", "--qmp", str(qmp), "--json", str(out), "--", qemu_binary,
                "-machine", "q35", "-nodefaults", "-display", "none", "-S")
    assert r.returncode == 1, r.stderr
    doc = json.loads(out.read_text())
    [entry] = doc["qmp"]          # the second was never sent
    assert entry["execute"] == "device_add" and "no-such-bus" in entry["error"]
    assert doc["outcome"]["detail"] == \
        "the run ended: qemuinit received QEMU's error answer to device_add"
    assert "QMP device_add at " in r.stdout and ": error: " in r.stdout
