"""Where the object of a `where` answer comes from, and which hit QEMU is
stopped at: read by the plan (what the recorder stops at) and the analysis
(the order of the answers).

A device answer is about a device of the command line (made under one of
[answers] command_line in questions.toml: -device, -nic), one the board
makes for itself (the host bridge, the LPC bridge, ...), or a throwaway
object ([throwaway]).  Without --all, QEMU is stopped at the first answer
about a device of the command line; `--device TYPE|ID` stops it at that
device's answer instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..datafile import data_file, read_toml
from .throwaway import throwaway_key
from .trace import Hit

QUESTIONS_FILE = data_file("questions.toml")

COMMAND_LINE, BOARD = "command line", "board"


def command_line_functions() -> tuple[str, ...]:
    """Functions a device of the command line is made under ([answers])."""
    return tuple(read_toml(QUESTIONS_FILE).get("answers", {}).get("command_line", []))


def device_reads() -> tuple[str, ...]:
    """The reads of an answer stop that name its device (type, id):
    what --device is matched against ([answers] names)."""
    return tuple(read_toml(QUESTIONS_FILE).get("answers", {}).get("names", ["device", "id"]))


def origin(stack: Sequence[str], command_line: Sequence[str]) -> str:
    """COMMAND_LINE if one of `command_line` is on the stack, else BOARD."""
    return COMMAND_LINE if any(f in stack for f in command_line) else BOARD


class StopRule(NamedTuple):
    """The hit of a question QEMU is stopped at (without --all)."""
    functions: tuple[str, ...] = ()         # the question's answer stop
    within: tuple[str, ...] = ()            # one of these on the stack (empty: any)
    throwaway: tuple[str, ...] = ()         # no throwaway object
    command_line: tuple[str, ...] = ()      # one of these on the stack (empty: any)
    device: str | None = None               # a read of `names` equals it
    names: tuple[str, ...] = ()

    def chooses(self, hit: Hit) -> bool:
        if hit.function not in self.functions:
            return False
        stack = hit.stack()
        if self.within and not any(f in stack for f in self.within):
            return False
        if throwaway_key(stack, self.throwaway) is not None:
            return False
        if self.command_line and not any(f in stack for f in self.command_line):
            return False
        if self.device is not None:
            reads = hit.reads or {}
            return any(reads.get(n) == self.device for n in self.names)
        return True
