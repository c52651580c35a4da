"""Each vhost NIC's start by the guest, from recorded device-start traces
(iPXE booting from the NIC, dpdk-testpmd behind it)."""

import copy

from conftest import ROOT
from gdb_qemuinit.analysis import annotate
from gdb_qemuinit.model import phases
from gdb_qemuinit.model.devicestart import FAILED, NOT_STARTED, STARTED, starts_of
from gdb_qemuinit.model.trace import load

TRACES = ROOT / "tests" / "data" / "traces"


def analysed(name, change=None):
    t = load(str(TRACES / name))
    if change:
        change(t)
    return annotate.annotate(phases.of_trace(t.qemu).path(), t)


def test_a_started_nic_has_its_start_requests_features_and_queue_pairs():
    (nic,) = starts_of(analysed("device-start-qemu-7.2.json"))
    assert nic.result == STARTED and nic.ret == 0 and nic.netdev == "net0"
    assert nic.chardev == "chr0" and nic.device == "virtio-net-pci"
    assert nic.queue_pairs == nic.queues == 1 and not nic.pairs_not_started
    # what goes to the backend when the guest sets DRIVER_OK, in order
    start = [r for r in nic.requests if r != "SET_VRING_ENABLE"]
    assert start[:3] == ["SET_FEATURES", "GET_STATUS", "SET_STATUS"]
    assert start[3] == "SET_MEM_TABLE" and start[-1] == "SET_STATUS"
    assert start.count("SET_VRING_ADDR") == start.count("SET_VRING_KICK") == 2
    # iPXE acks VERSION_1 and MAC; the backend offered much more
    assert nic.guest_features.bits == ["VIRTIO_NET_F_MAC", "VIRTIO_F_VERSION_1"]
    assert "VIRTIO_F_VERSION_1" in nic.sent_features.bits
    assert "VIRTIO_NET_F_MQ" in nic.offered_not_taken
    assert not any(b.startswith("VHOST_") for b in nic.offered_not_taken)


def test_a_start_without_shared_memory_fails_before_the_memory_table_is_sent():
    (nic,) = starts_of(analysed("device-start-unshared-qemu-10.2.json"))
    assert nic.result == FAILED and nic.ret == -22 and nic.error.startswith("EINVAL")
    assert nic.failed_in == "vhost_user_fill_set_mem_table_msg"
    assert "SET_MEM_TABLE" not in nic.requests and nic.requests[-1] == "SET_STATUS"
    assert nic.qemu_said and all("vhost" in ln or "memory" in ln for ln in nic.qemu_said)


def test_queue_pairs_the_guest_does_not_drive_are_named():
    def four_pairs(t):
        t.qemu["argv"] = [a.replace("chardev=chr0", "chardev=chr0,queues=4")
                          for a in t.qemu["argv"]]
    (nic,) = starts_of(analysed("device-start-qemu-7.2.json", four_pairs))
    assert nic.queues == 4 and nic.queue_pairs == 1 and nic.pairs_not_started == [1, 2, 3]
    assert "VIRTIO_NET_F_MQ" in nic.why


def test_a_nic_whose_start_never_ran_is_not_started_and_says_why():
    def no_start(t):
        t.hits = [h for h in t.hits if h.function != "vhost_net_start"]
        t.outcome.state = "timeout"
        t.qemu["argv"] = [a.replace(",bootindex=1", "") for a in t.qemu["argv"]]
    (nic,) = starts_of(analysed("device-start-qemu-7.2.json", no_start))
    assert nic.result == NOT_STARTED and nic.hit is None
    assert "timeout" in nic.why and "bootindex" in nic.why


def test_a_trace_of_init_alone_has_no_device_start_section():
    t = analysed("seed-qemu-7.2.json")
    assert "device_start" not in t.extra and starts_of(t) == []


def test_the_section_reads_back_as_written():
    t = analysed("device-start-qemu-7.2.json")
    again = copy.deepcopy(t.extra["device_start"])
    assert [n.to_json() for n in starts_of(t)] == again
