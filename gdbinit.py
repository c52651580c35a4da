"""qemuinit's gdb loader: `source gdbinit.py` (or `gdb -x gdbinit.py`).

Checks gdb and its Python, loads once, puts this checkout and the project's
.venv (built from gdb's own Python) on sys.path, and registers `qinit`.
"""

import glob
import os
import sys

import gdb

_MIN_GDB = (10, 0)
_MIN_PY = (3, 11)


def _load():
    if getattr(gdb, "_qemuinit_loaded", False):
        return      # sourced twice: the commands are already there
    try:
        gdb_version = tuple(int(x) for x in gdb.VERSION.split(".")[:2])
    except ValueError:
        gdb_version = _MIN_GDB
    if gdb_version < _MIN_GDB or sys.version_info < _MIN_PY:
        raise gdb.GdbError(
            f"qemuinit needs gdb >= {_MIN_GDB[0]} with Python >= 3.11; this is gdb "
            f"{gdb.VERSION} with Python {sys.version.split()[0]}")
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    pyver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for site in glob.glob(os.path.join(here, ".venv", "lib", pyver, "site-packages")):
        if site not in sys.path:
            sys.path.append(site)
    from gdb_qemuinit.gdbext import commands
    commands.register()
    gdb._qemuinit_loaded = True


_load()
