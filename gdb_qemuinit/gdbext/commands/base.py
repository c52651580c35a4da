"""What every `qinit` subcommand shares: its parser and help made from
options.py's definitions, Tab completion, user errors as one line (or, run
by the shell, handed back in the command's JSON), and how it prints."""

from __future__ import annotations

import gdb

from ... import options
from ...errors import QemuinitError
from ...gdbargs import ArgumentParser, complete_options

# --timeout's default is the setting (which starts at options.DEFAULT_TIMEOUT).
GDB_TIMEOUT = {"note": "default: 'show qinit timeout'"}


class Shell:
    """Set when the shell front end (qemuinit) runs this gdb: a user error
    then goes into the JSON file the command was to write, for qemuinit to
    say, and a trace is handed over unanalysed (the shell analyses it)."""
    running_gdb = False


def user_errors(invoke):
    """A command's invoke() with qemuinit's user errors (QemuinitError) turned
    into gdb.GdbError: one line, no Python traceback.  Run by the shell,
    the error is written where the command's JSON was to go instead."""
    def run(self, arg, from_tty):
        try:
            return invoke(self, arg, from_tty)
        except QemuinitError as exc:
            if not (Shell.running_gdb and _hand_to_shell(self, arg, str(exc))):
                raise gdb.GdbError(str(exc)) from None
    run.__doc__ = invoke.__doc__
    return run


def _hand_to_shell(command, arg: str, message: str) -> bool:
    """Write the error as the command's --json document; False if it has none."""
    import json
    from ...errors import ERROR_SCHEMA
    from ...files import write_output
    try:
        target = getattr(command.parser.parse_args(gdb.string_to_argv(arg)), "json", None)
    except QemuinitError:
        return False
    if not target:
        return False
    write_output(target, json.dumps({"schema": ERROR_SCHEMA, "error": message}) + "\n")
    return True


def parse(parser: ArgumentParser, arg: str):
    return parser.parse_args(gdb.string_to_argv(arg))


def write_or_show(output: str | None, text: str, quiet: bool = False) -> None:
    """`text` into the file `output` (whole, or a one-line error: the
    command's user_errors says it), else shown unless `quiet`."""
    from ...files import write_output
    if output:
        write_output(output, text)
    elif not quiet:
        gdb.write(text)


def show(text: str, *outputs: str | None, quiet: bool = False) -> None:
    """What a command prints, unless `quiet`: to gdb's standard error when
    one of the command's outputs is `-` (standard output), so the two do
    not mix."""
    from ...files import to_stdout
    if not quiet:
        gdb.write(text, gdb.STDERR if to_stdout(outputs) else gdb.STDOUT)


class QinitCommand(gdb.Command):
    """A qinit subcommand: its parser made from options.py's definitions,
    its help ({options} in the docstring) made from the parser, its options
    completed.  Subclasses name the command and the options it takes."""

    NAME = ""
    OPTIONS: tuple[str, ...] = ()
    EXTRAS: dict = {}           # per option, what only gdb's side knows
    PREFIX = False

    def __init__(self):
        self.parser = ArgumentParser(self.NAME)
        options.add(self.parser, *self.OPTIONS, **self.EXTRAS)
        self.__doc__ = self.parser.help_for(self.help_source())
        super().__init__(self.NAME, gdb.COMMAND_USER, prefix=self.PREFIX)

    def help_source(self) -> str:
        """The help text before {options} is filled in: the docstring."""
        return type(self).__doc__ or ""

    def complete(self, text, word):
        return complete_options(self.parser, text, word)
