"""The text report."""

from conftest import DEVICE, stack_hit as hit, trace_of as make
from gdb_qemuinit import render_text, verify


def test_text_report_groups_by_cluster_and_colours_only_when_asked(path):
    t = verify.annotate(path, make([hit(1, *DEVICE)]))
    plain = render_text.render(path, t, color=False)
    assert "[vhost_user_negotiation] vhost_user 协商" in plain
    assert "\x1b[" not in plain
    assert "observed      object_new -> virtio_net_pci_instance_init" in plain
    coloured = render_text.render(path, t, color=True)
    assert "\x1b[" in coloured
