"""The one base of qemuinit's own errors: a user error, said in one line.

Each front end catches it in one place: the shell CLI prints it and exits 2
(`cli.main`), the gdb commands turn it into a gdb.GdbError
(`gdbext.commands.user_errors`).  Anything else is a bug and keeps its
traceback."""

from __future__ import annotations


class QemuinitError(Exception):
    """A user error: a bad option, file, binary or data file."""


class CliError(QemuinitError):
    """A user error found by the shell CLI itself."""


class OutputError(QemuinitError, OSError):
    """An output file that cannot be written (checked before QEMU starts)."""


# A user error gdb hands back to the shell front end, in place of the JSON
# document it was to write: {"schema": ERROR_SCHEMA, "error": "..."}.
ERROR_SCHEMA = "qemuinit.error/1"
