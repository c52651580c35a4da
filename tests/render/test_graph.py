"""The seed's diagram, coloured by verdict."""

from conftest import DEVICE, stack_hit as hit, trace_of as make
from gdb_qemuinit.render import graph as render_graph
from gdb_qemuinit.analysis import verify
from gdb_qemuinit.model import verdicts


def test_graph_has_seven_boxes_and_styles_by_status(path):
    t = verify.add_verdicts(path, make([hit(1, *DEVICE)]))
    src = render_graph.render(path, verdicts.edges_of(t), "dot").decode()
    boxes = [c.id for c in path.clusters if f"subgraph cluster_{c.id} " in src]
    assert len(boxes) == 7 and "qemu_init" not in boxes
    assert render_graph.STYLE["observed"]["color"] in src
    assert "初始化cpu内存" in src and "initialize CPUs and memory" in src
    svg = render_graph.render(path, verdicts.edges_of(t), "svg")     # Debian's dot
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
