"""gdbext/breakpoints on the real debug QEMU (a fresh gdb each, QEMU not
run): where a message is recorded in one stop."""

import json

import pytest

from conftest import run_gdb
from gdb_qemuinit.model.spec import load_spec

pytestmark = pytest.mark.qemu

_SCRIPT = """python
import json, gdb
from gdb_qemuinit.gdbext.breakpoints import call_sites, ways_through
bp = gdb.Breakpoint({sent!r}, internal=True)
points = ways_through(bp, {writer!r})
def line(a):
    sal = gdb.find_pc_line(a)
    return [sal.symtab.fullname(), sal.line]
print("POINTS", json.dumps(None if points is None else {{
    "call": line(points.call), "leaves": [line(a) for a in points.leaves],
    "sites": [line(a) for a in call_sites(bp, {writer!r})]}}))
end"""


def test_the_sent_function_is_recorded_at_its_write_call_and_at_each_early_return(qemu_binary):
    """On the project's -O0 build every way through vhost_user_write is
    read from its instructions: its one call of qemu_chr_fe_write_all, and
    a jump at each `return` before it (the per-device skip, the refused
    fds), and no other."""
    rec = load_spec().record
    r = run_gdb([qemu_binary], _SCRIPT.format(sent=rec["sent"], writer=rec["written_by"]))
    out = next((ln for ln in r.stdout.splitlines() if ln.startswith("POINTS ")), None)
    assert out, r.stdout + r.stderr
    points = json.loads(out[7:])
    assert points is not None, "the ways through were not read on the project's build"
    assert points["sites"] == [points["call"]]
    path, call_line = points["call"]
    with open(path, encoding="utf-8") as f:
        source = f.read().splitlines()
    assert rec["written_by"] + "(" in source[call_line - 1]
    leaves = [ln for _, ln in points["leaves"]]
    assert len(leaves) == 2 and all(ln < call_line for ln in leaves)
    assert all(source[ln - 1].strip().startswith("return ") for ln in leaves), \
        [source[ln - 1] for ln in leaves]
    # every `return` of the function before the write call is one of them
    start = max(i for i in range(call_line) if source[i].startswith(f"static int {rec['sent']}("))
    returns = [i + 1 for i in range(start, call_line - 1)
               if source[i].strip().startswith("return ")]
    assert returns == leaves
