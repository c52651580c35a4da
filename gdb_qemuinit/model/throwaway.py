"""Objects QEMU makes and frees again while it starts (QEMU 9.0+ builds one
of each NIC model to list them): [throwaway] in questions.toml names the
functions, or direct calls, they are made under.  Read by the plan (a
question's answer is no throwaway object), the recorder and the analysis."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..datafile import data_file, read_toml

QUESTIONS_FILE = data_file("questions.toml")


def throwaway_functions() -> dict[str, str]:
    """Key -> note: objects created under it are throwaway ([throwaway]).  A
    key is a function, or "CALLER -> CALLEE" for CALLER calling CALLEE
    directly."""
    return dict(read_toml(QUESTIONS_FILE).get("throwaway", {}))


def throwaway_key(stack: Sequence[str], keys: Iterable[str]) -> str | None:
    """The [throwaway] key that matches a stack (innermost first), if any."""
    for key in keys:
        caller, _, callee = key.partition(" -> ")
        if not callee:
            if caller in stack:
                return key
        elif any(stack[i] == callee and stack[i + 1] == caller
                 for i in range(len(stack) - 1)):
            return key
    return None
