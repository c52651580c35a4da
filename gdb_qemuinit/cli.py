"""`qemuinit`: the qinit commands from a shell, for scripts and CI.

The entry point.  A command that runs QEMU under gdb starts that gdb first
(earlygdb.py): gdb reads QEMU's symbols and loads the extension while this
process imports the rest of itself and prepares the run (subcommands.py),
on the machine's other core.  Nothing heavy is imported here.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    from .marks import mark
    mark("shell: main")
    from . import earlygdb
    argv = list(sys.argv[1:] if argv is None else argv)
    early = None
    try:
        early = earlygdb.start(argv)
        mark("shell: gdb started")
        from . import subcommands
        mark("shell: imported")
        return subcommands.main(argv, early)
    finally:
        mark("shell: printed")
        earlygdb.close_all()    # reaped, or given up unused (a refused command)
        backends = sys.modules.get("gdb_qemuinit.qemu.backend")
        if backends is not None:
            backends.reap_ended()     # left to end as their logs were final
        if early is not None:
            early.private.cleanup()


if __name__ == "__main__":
    sys.exit(main())
