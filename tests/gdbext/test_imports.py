"""What gdb's side imports to record a trace: none of the modules that cost
milliseconds at every start and that recording does not need (threads are
_thread's; no subprocess, socket, pathlib, tomllib, dataclasses).  Only
what the extension adds counts: gdb's own Python may import some of them
(gdb 16 imports threading).  tomllib only when a data file's parse is not
in the cache yet: the second run tells."""

import json
import subprocess

from conftest import ROOT

HEAVY = ("threading", "subprocess", "socket", "pathlib", "tomllib", "dataclasses")


def imported_in_gdb() -> list[str]:
    r = subprocess.run(
        ["gdb", "-nx", "-batch", "-iex", "python import sys; _before = set(sys.modules)",
         "-x", str(ROOT / "gdbinit.py"), "-ex",
         "python import sys, json; "
         "from gdb_qemuinit.gdbext import recorder, qemurun, starting, preload, guard; "
         "from gdb_qemuinit.gdbext.commands import trace; "
         "from gdb_qemuinit.planning import recording; "
         f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules "
         f"and m not in _before]))"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_recording_imports_none_of_the_heavy_modules():
    imported_in_gdb()           # the data files' parses cached
    assert imported_in_gdb() == []
