"""The text report."""

from conftest import DEVICE, stack_hit as hit, trace_of as make
from gdb_qemuinit.render import text as render_text
from gdb_qemuinit.analysis import annotate as analysis
from gdb_qemuinit.analysis import verify
import vhost_hits as vh


def test_text_report_groups_by_cluster_and_colours_only_when_asked(path):
    t = verify.add_verdicts(path, make([hit(1, *DEVICE)]))
    plain = render_text.render(path, t, color=False)
    assert "[vhost_user_negotiation] vhost_user 协商" in plain
    assert "\x1b[" not in plain
    assert "observed      object_new -> virtio_net_pci_instance_init" in plain
    coloured = render_text.render(path, t, color=True)
    assert "\x1b[" in coloured


def test_brief_names_a_backend_that_died():
    t = vh.make([vh.hit(1, vh.WAIT)], state="timeout")
    t.extra["backends"] = [{"chardev": "chr0", "argv": ["dpdk-testpmd", "--no-huge"], "problem":
                            "the backend exited by itself with code 1 before the trace ended"}]
    assert "backend dpdk-testpmd (chardev chr0): the backend exited by itself with code 1" in \
        render_text.brief(analysis.annotate(vh.PATH, t))
