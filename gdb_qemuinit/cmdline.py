"""Option parsing shared by the gdb commands: argparse that raises instead of
exiting, so a bad option becomes a gdb.GdbError with the usage line."""

from __future__ import annotations

import argparse

from .errors import QemuinitError


class UsageError(QemuinitError):
    """Bad arguments; the message ends with the usage line."""


class ArgumentParser(argparse.ArgumentParser):
    def __init__(self, prog: str, **kw):
        super().__init__(prog=prog, add_help=False, allow_abbrev=False, **kw)

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


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the timeout must be more than 0 seconds")
    return value
