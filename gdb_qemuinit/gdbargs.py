"""Option parsing shared by the gdb commands: argparse that raises instead of
exiting, so a bad option becomes a gdb.GdbError with the usage line."""

from __future__ import annotations

import argparse

from .errors import QemuinitError
from .options import positive_seconds  # noqa: F401  (its home is options.py)


class UsageError(QemuinitError):
    """Bad arguments; the message ends with the usage line."""


class _Formatter(argparse.HelpFormatter):
    """A fixed width: gdb's help text does not depend on the terminal."""

    def __init__(self, prog: str):
        super().__init__(prog, width=79, max_help_position=24)


class ArgumentParser(argparse.ArgumentParser):
    def __init__(self, prog: str, **kw):
        super().__init__(prog=prog, add_help=False, allow_abbrev=False,
                         formatter_class=_Formatter, **kw)

    def help_text(self) -> str:
        """'Usage: ...' and every option with its help: the part of a gdb
        command's help made from its parser."""
        f = self._get_formatter()
        f.add_usage(self.usage, self._actions, self._mutually_exclusive_groups,
                    prefix="Usage: ")
        for group in self._action_groups:
            if group._group_actions:
                f.start_section((group.title or "").capitalize())
                f.add_arguments(group._group_actions)
                f.end_section()
        return f.format_help().rstrip("\n")

    def help_for(self, text: str) -> str:
        """A command's docstring with its {options} filled in from this parser."""
        return text.replace("{options}", self.help_text())

    def error(self, message):
        raise UsageError(f"{message}\n{self.format_usage().rstrip()}")

    def exit(self, status=0, message=None):
        raise UsageError(message or self.format_usage().rstrip())

    def option_strings(self) -> list[str]:
        return sorted(s for a in self._actions for s in a.option_strings)


def last_word(text: str) -> str:
    """The whitespace-separated word being completed ('' after a space)."""
    return "" if not text or text[-1].isspace() else text.split()[-1]


def complete_options(parser: ArgumentParser, text: str, word: str) -> list[str]:
    """gdb's completer: `text` is the whole argument so far, `word` its last
    word as gdb splits it ('-' breaks words, so for '--js' word is 'js')."""
    token = last_word(text)
    word = word or ""
    cut = len(token) - len(word)
    return [o[cut:] for o in parser.option_strings() if o.startswith(token)]
