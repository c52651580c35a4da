"""Two traces compared, as text."""

from conftest import stack_hit, trace_of
from gdb_qemuinit.analysis import diff
from gdb_qemuinit.render.diff import format_diff


def test_changed_edges_and_chains_and_functions_only_one_side_hit():
    a = trace_of([stack_hit(1, "main", "qemu_init", "f")])
    b = trace_of([stack_hit(1, "main", "g", "f"), stack_hit(2, "main", "h")])
    for t, status in ((a, "observed"), (b, "not-exercised")):
        t.extra["edges"] = [{"cluster": "c", "from": "qemu_init", "to": "f",
                             "status": status, "via": []}]
    d = diff.diff(a, b)
    lines = format_diff(d).splitlines()
    assert lines[lines.index(f"edges whose status changed: {len(d['edges'])}") + 1] == \
        "  [c] qemu_init -> f: observed -> not-exercised"
    i = lines.index("chains that changed: 1")
    assert lines[i + 1:i + 4] == ["  f:", "    A: main -> qemu_init -> f",
                                  "    B: main -> g -> f"]
    assert lines[-2:] == ["functions only A hit: none", "functions only B hit: h"]
