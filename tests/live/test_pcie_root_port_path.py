"""The second documented path (data/pcie-root-port.toml), written from QEMU's
source, checked against the real QEMU: behind a root port and on the root bus."""

import json

import pytest

from conftest import run_cli
from gdb_qemuinit.model import initpath
from gdb_qemuinit.datafile import data_file

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]

PATH = data_file("pcie-root-port.toml")


def trace(tmp_path, qemu_binary, nic_bus, port=("-device", "pcie-root-port,id=rp0,chassis=1")):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--path", PATH, "--json", str(out), "--", qemu_binary,
                "-machine", "q35", "-nodefaults", "-display", "none", "-S",
                "-netdev", "user,id=n0", *port,
                "-device", "virtio-net-pci,netdev=n0" + nic_bus)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    return {(e["from"], e["to"]): e for e in doc["edges"]}, doc


def test_the_file_is_a_documented_path():
    p = initpath.load(PATH)
    assert p.cluster_ids() == ["device_add", "pci_device", "root_port", "virtio_net_pci"]
    assert {e.callee: e.step for e in p.edges if e.step} == {
        "pci_bridge_initfn": 1, "pcie_cap_init": 2, "pcie_cap_slot_init": 3,
        "pcie_aer_init": 4}
    assert set(p.dispatch) == {"dc->realize", "pc->realize", "k->realize", "vdc->realize"}


def test_behind_the_root_port_every_edge_is_seen(tmp_path, qemu_binary):
    edges, doc = trace(tmp_path, qemu_binary, ",bus=rp0")
    statuses = {k: e["status"] for k, e in edges.items()}
    assert set(statuses.values()) == {"observed", "dispatch"}, statuses
    assert edges[("pci_qdev_realize", "pc->realize")]["status"] == "dispatch"
    assert edges[("virtio_pci_realize", "k->realize")]["served_by"] == "virtio_net_pci_realize"
    assert edges[("virtio_device_realize", "vdc->realize")]["served_by"] == \
        "virtio_net_device_realize"
    assert "device_set_realized" in edges[("virtio_net_pci_realize",
                                           "virtio_device_realize")]["via"]
    assert doc["steps"] == [{"caller": "rp_realize",
                             "documented": ["pci_bridge_initfn", "pcie_cap_init",
                                            "pcie_cap_slot_init", "pcie_aer_init"],
                             "observed": ["pci_bridge_initfn", "pcie_cap_init",
                                          "pcie_cap_slot_init", "pcie_aer_init"],
                             "in_order": True}]


def test_on_the_root_bus_the_nic_gets_no_pcie_capability(tmp_path, qemu_binary):
    edges, _ = trace(tmp_path, qemu_binary, "")
    e = edges[("virtio_pci_realize", "pcie_endpoint_cap_init")]
    assert e["status"] == "not-exercised" and "virtio_pci_realize ran" in e["note"]
    assert edges[("rp_realize", "pcie_cap_init")]["status"] == "observed"


def test_without_a_root_port_its_path_is_not_taken_and_the_note_says_why(tmp_path,
                                                                         qemu_binary):
    edges, doc = trace(tmp_path, qemu_binary, "", port=())
    e = edges[("rp_realize", "pcie_cap_init")]
    assert e["status"] == "not-exercised" and "no -device pcie-root-port" in e["note"]
    assert "rp_realize" not in doc["planted"]           # [needs]: no breakpoint
    assert edges[("virtio_pci_realize", "k->realize")]["status"] == "dispatch"
