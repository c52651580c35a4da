"""gdbext/framechain on the real debug QEMU: the frame-pointer chain gives
the frames gdb's unwinder gives, or says it cannot (a fresh gdb, QEMU run
to its main loop with breakpoints that compare both at every stop)."""

import json

import pytest

from conftest import run_gdb

pytestmark = pytest.mark.qemu

# Main-thread stops of every depth: board init, each NIC's realize, the
# machine reset's deep path to virtio_set_features_nocheck (~30 frames), and
# class_init, reached through GLib's g_hash_table_foreach (no frame pointer
# kept there: gdb walks it).
FUNCTIONS = ["qemu_init_board", "virtio_net_pci_realize", "virtio_set_features_nocheck",
             "virtio_net_pci_class_init", "type_initialize"]

_SCRIPT = """python
import json, gdb
from gdb_qemuinit.gdbext.framechain import FrameChain
from gdb_qemuinit.gdbext.frames import walk_frames
from gdb_qemuinit.qemu.sources import SourceRoots
roots = SourceRoots()
chain = FrameChain(roots)
gdb.execute("set backtrace past-main on")   # a user's setting: gdb walks past main
past_main = FrameChain(roots)
gdb.execute("set backtrace past-main off")
seen = []
class Compare(gdb.Breakpoint):
    compared = 0
    def stop(self):
        self.compared += 1
        if self.compared % 16 != 1:     # every 16th call: type_initialize has thousands
            return False
        newest = gdb.newest_frame()
        by_chain = chain.walk(newest)
        by_gdb = walk_frames(roots, frame=newest)
        seen.append({{"function": self.location, "depth": len(by_gdb),
                      "chain": None if by_chain is None else by_chain == by_gdb,
                      "past_main_declined": past_main.walk(newest) is None}})
        return False
gdb.execute("set auto-solib-add on")
for fn in {functions!r}:
    Compare(fn, internal=True)
end"""


def test_the_chain_gives_gdbs_frames_or_none(qemu_binary):
    argv = [qemu_binary, "-machine", "q35", "-nodefaults", "-display", "none", "-S"]
    for i in range(2):
        argv += ["-netdev", f"user,id=n{i}", "-device", f"virtio-net-pci,netdev=n{i}"]
    r = run_gdb(argv, "break main", "run", _SCRIPT.format(functions=FUNCTIONS),
                "break qemu_main_loop", "continue",
                "python print('SEEN', json.dumps(seen))", "kill")
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("SEEN ")), None)
    assert line, r.stdout + r.stderr
    seen = json.loads(line[5:])
    assert seen and not [s for s in seen if s["chain"] is False], seen
    assert all(s["past_main_declined"] for s in seen)
    by_function = {}
    for s in seen:
        by_function.setdefault(s["function"], []).append(s)
    assert set(by_function) == set(FUNCTIONS)
    # the deep ones and the NICs by the chain; class_init, under GLib, by gdb
    for fn in ("qemu_init_board", "virtio_net_pci_realize", "virtio_set_features_nocheck"):
        assert all(s["chain"] for s in by_function[fn]), by_function[fn]
    assert max(s["depth"] for s in by_function["virtio_set_features_nocheck"]) > 25
    assert all(s["chain"] is None for s in by_function["virtio_net_pci_class_init"])
    # type_initialize: both ways, by where it is called from
    assert {s["chain"] for s in by_function["type_initialize"]} == {True, None}
