"""Pure tests of where answers: throwaway objects (qemu_get_nic_models'
NIC models on QEMU 9.0+) are marked and listed after the user's."""

from gdb_qemuinit import analysis, initpath, render_text, where
from gdb_qemuinit.trace import Frame, Hit, Outcome, Trace

BOARD = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_init_board", "pc_q35_init",
         "pc_nic_init", "pci_init_nic_devices", "qemu_create_nic_bus_devices",
         "qemu_get_nic_models", "object_new_with_class", "object_new_with_type",
         "virtio_net_pci_instance_init")
CLI = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_create_cli_devices",
       "qdev_device_add_from_qdict", "qdev_new", "object_new", "object_new_with_type",
       "virtio_net_pci_instance_init")


def hit(seq, stack, device):
    frames = [Frame(fn, "f.c", 10) for fn in reversed(stack)]
    return Hit(seq=seq, function=stack[-1], thread=1, frames=frames,
               reads={"device": device})


def trace_of(*hits):
    return Trace(qemu={"binary": "q", "version": "10.0.0", "argv": ["q"]},
                 outcome=Outcome(state="init-complete"), hits=list(hits))


def test_throwaway_nic_models_are_marked_and_listed_after_the_users_nic():
    t = trace_of(hit(1, BOARD, "virtio-net-pci"), hit(2, BOARD, "virtio-net-pci-transitional"),
                 hit(3, CLI, "virtio-net-pci"))
    res = where.result(where.resolve("virtio-net-instance"), t)
    first, *rest = res["answers"]
    assert first["throwaway"] is None and "qemu_create_cli_devices" in [
        f["function"] for f in first["chain"]]
    assert [a["device"] for a in rest] == ["virtio-net-pci", "virtio-net-pci-transitional"]
    assert all("qemu_get_nic_models" in a["throwaway"] for a in rest)
    text = where.format_result(res)
    assert text.index("[1]") < text.index("throwaway:")


def test_the_trace_lists_its_throwaway_hits():
    t = analysis.annotate(initpath.load(), trace_of(hit(1, BOARD, "virtio-net-pci"),
                                                    hit(2, CLI, "virtio-net-pci")))
    assert [(x["hit"], x["under"]) for x in t.extra["throwaway"]] == [(1, "qemu_get_nic_models")]
    assert "hit #1 virtio_net_pci_instance_init" in render_text.render(initpath.load(), t)
    assert "throwaway" not in analysis.annotate(initpath.load(), trace_of(
        hit(1, CLI, "virtio-net-pci"))).extra
