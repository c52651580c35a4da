"""The `qinit` commands, one module each.  Each class docstring is its
`help` text.

Registering them imports only what their parsers need: the rest (recorder,
analysis, renderers) is imported when a command runs, so sourcing gdbinit.py
stays cheap."""

from __future__ import annotations

import gdb

from .. import settings
from .base import Shell, user_errors
from .hang import QinitHang
from .path import QinitPath, QinitPathExport, QinitPathImport
from .report import QinitReport
from .trace import QinitTrace
from .watch import QinitWatch
from .where import QinitWhere


class Qinit(gdb.Command):
    """Show how QEMU initializes, from a live run, against its documented path.

Subcommands:
  qinit trace   run QEMU to its main loop, recording a backtrace at every
                point of the documented init path, and check every edge
  qinit report  the whole report of the last trace
  qinit path    the documented path as a call tree
  qinit where   answer a question (pci-config, netdev_init, ...) from a live run
  qinit hang    why a running QEMU hangs, at once (gdb -p PID), then detach
  qinit watch   follow a running QEMU (gdb -p PID) through hot-plug and a
                backend's restart, then detach

The documented path is gdb_qemuinit/data/init-path.toml.  Settings: 'set qinit
color', 'set qinit timeout', 'set qinit lazy-libraries'."""

    def __init__(self):
        super().__init__("qinit", gdb.COMMAND_USER, prefix=True)

    @user_errors
    def invoke(self, arg, from_tty):
        if arg.strip():
            raise gdb.GdbError(f"unknown qinit subcommand {arg.split()[0]!r}; "
                               f"see 'help qinit'")
        gdb.execute("help qinit")


# The registered commands by name (their parsers are what their help shows).
COMMANDS: dict[str, gdb.Command] = {}


def register(for_the_shell: bool = False, only: str | None = None) -> None:
    """Register the commands; `for_the_shell` when qemuinit runs this gdb,
    which then needs only the command it runs (`only`, as in 'path import')."""
    from .. import convenience
    Shell.running_gdb = for_the_shell
    settings.register()
    convenience.register()
    Qinit()
    for cls in (QinitTrace, QinitReport, QinitPath, QinitPathImport, QinitPathExport,
                QinitWhere, QinitHang, QinitWatch):
        if only is None or cls.NAME == f"qinit {only}" or cls.PREFIX and only.startswith(
                cls.NAME[len("qinit "):] + " "):
            cmd = cls()
            COMMANDS[cmd.parser.prog] = cmd
