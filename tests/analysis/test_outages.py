"""How long a NIC was without a backend, in a watch."""

from conftest import stack_hit
from gdb_qemuinit.analysis import outages
from gdb_qemuinit.model import phases


def link(seq, t, netdev, caller, function="qmp_set_link"):
    h = stack_hit(seq, "main", caller, function)
    h.reads, h.t = {"netdev": netdev}, t
    return h


def test_from_the_link_going_down_to_the_next_time_it_goes_up_per_netdev():
    watch = phases.load("watch")
    hits = [link(1, 0.5, "n1", "net_vhost_user_event"),     # up: no outage open
            link(2, 1.0, "n1", "chr_closed_bh"),            # down
            link(3, 1.2, "n2", "chr_closed_bh"),            # another NIC down
            link(4, 2.5, "n1", "net_vhost_user_event", "net_client_set_link")]   # 10.2's
    assert outages.outages(hits, watch) == [
        {"netdev": "n1", "down": 1.0, "up": 2.5, "seconds": 1.5},
        {"netdev": "n2", "down": 1.2, "up": None, "seconds": None}]
    # a phase without [outage] says nothing
    assert outages.outages(hits, phases.load("device-start")) == []
