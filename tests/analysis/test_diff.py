"""Comparing two traces."""

from conftest import DEVICE, stack_hit as hit, trace_of as make
from gdb_qemuinit.analysis import diff
from gdb_qemuinit.analysis import verify


def test_diff_lists_changed_edges_and_functions(path):
    a = verify.add_verdicts(path, make([hit(1, *DEVICE)]))
    b = verify.add_verdicts(path, make([hit(1, *DEVICE), hit(2, "main", "qemu_init",
                                    "qemu_create_early_backends", "qemu_opts_foreach",
                                    "chardev_init_func")]))
    d = diff.diff(a, b)
    changed = {(e["from"], e["to"]) for e in d["edges"]}
    assert ("qemu_opts_foreach", "chardev_init_func") in changed
    assert d["only_b"] == ["chardev_init_func"] and d["only_a"] == []


def test_two_qemu_releases_compared_as_a_vhost_user_developer_reads_them(path):
    """The seed's scenario traced on QEMU 7.2 and 10.2 with testpmd (saved
    runs): the negotiation's renames, the acks 10.2 asks for, the renamed
    protocol bits; 10.2's throwaway NIC models kept apart from the chains."""
    import json
    from conftest import ROOT
    from gdb_qemuinit.analysis import annotate
    from gdb_qemuinit.model.trace import load
    from gdb_qemuinit.render.diff import format_diff
    data = ROOT / "tests" / "data" / "traces"
    a = annotate.annotate(path, load(data / "seed-qemu-7.2.json"))
    b = annotate.annotate(path, load(data / "seed-qemu-10.2.json"))
    d = diff.diff(a, b)
    (chr0,) = d["negotiation"]
    assert chr0["renamed"] == ["request 21: SET_SLAVE_REQ_FD -> SET_BACKEND_REQ_FD"]
    assert chr0["added"] == [] and chr0["removed"] == []
    assert "#12 SET_VRING_ENABLE: A no reply, B ack 0" in chr0["replies"]
    assert any("bit 5: SLAVE_REQ -> BACKEND_REQ" in f for f in chr0["features"])
    assert d["throwaway"] == {"a": [], "b": ["virtio_net_pci_instance_init"]}
    assert "virtio_net_pci_instance_init" not in {c["function"] for c in d["chains"]}
    text = format_diff(d)
    assert "through other frames" in text and "observed -> observed" not in text
    assert "renamed: request 21: SET_SLAVE_REQ_FD -> SET_BACKEND_REQ_FD" in text
    json.dumps(d)                                   # the --json form
    from gdb_qemuinit.render.html import render_diff
    html = render_diff(path, a, b, d).decode()
    assert 'id="negotiation"' in html and "SET_BACKEND_REQ_FD" in html
    assert 'id="throwaway"' in html
