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
