"""What a function's machine code says, as gdb shows it: its instructions
as gdb disassembles them ({"addr": int, "asm": str}, in address order), its
first bytes, its compilation unit's producer.  Pure code: gdbext/ reads
them, this decides.

- Its ways through (write_points).  vhost_user_write either calls
  qemu_chr_fe_write_all (the message goes on the wire) or leaves before it
  (a per-device request on a later queue pair, or its fds refused).  When
  the instructions show every way through the function before that call,
  one breakpoint on each of those ways records each message in one stop,
  instead of a stop at the entry and another at the call.
- Whether it keeps the frame-pointer chain that gdbext/framechain.py
  follows (keeps_frame_pointer, unoptimised).
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Read for x86-64 only (what gdb prints for it, AT&T syntax): another
# architecture gets None from write_points (the recorder falls back to
# entry and call site) and False from keeps_frame_pointer (gdb unwinds).
X86_64 = "i386:x86-64"
_CALL = ("call", "callq", "bl")
_JUMP = ("jmp", "jmpq")
_RETURN = ("ret", "retq")
_TARGET = re.compile(r"0x[0-9a-f]+")
# Prefixes gdb prints before a mnemonic (`notrack jmp *%rax`, `bnd ret`).
_PREFIXES = {"notrack", "bnd", "rep", "repz", "repe", "repnz", "repne", "lock", "data16",
             "addr32", "cs", "ds"}
# Transfers this does not follow: loops, transactions, far jumps, calls and
# returns (ljmp, lcall, lret), interrupt returns.
_OTHER_BRANCHES = ("loop", "xbegin", "ljmp", "lcall", "lret", "iret", "sysret")


class WritePoints(NamedTuple):
    call: int               # the one instruction that calls the writer
    leaves: tuple[int, ...]  # unconditional jumps that leave before it


def calls_to(instructions: list[dict], callee: str) -> list[int]:
    """The instructions that call `callee` directly (`call 0x... <callee>`)."""
    target = re.compile(r"<" + re.escape(callee) + r"(@plt)?>$")
    return [i["addr"] for i in instructions
            if _mnemonic(i) in _CALL and target.search(i["asm"].strip())]


def write_points(instructions: list[dict], callee: str, arch: str) -> WritePoints | None:
    """The call of `callee` and the jumps that leave the function before
    reaching it, when these are provably every way out of the code before
    the call: one call of `callee`; before it no return, no indirect jump,
    no conditional jump out of that code, every jump out of it an
    unconditional one past the call and inside the function (a part of it
    placed elsewhere, `.cold`, is not read); and nothing after the call
    jumps back into that code or to the call (which could reach the call
    twice).  Else None."""
    if arch != X86_64:
        return None
    calls = calls_to(instructions, callee)
    if len(calls) != 1:
        return None
    start, call, end = instructions[0]["addr"], calls[0], instructions[-1]["addr"]
    leaves = []
    for ins in instructions:
        op = _mnemonic(ins)
        before = ins["addr"] < call
        if op.startswith(_OTHER_BRANCHES) or (before and op in _RETURN):
            return None
        if not op.startswith("j"):
            continue
        target = _jump_target(ins)
        if target is None or "<" + callee in ins["asm"]:
            return None     # indirect (not in the text), or a tail call of the writer
        inside = start <= target <= call
        if not before and inside:
            return None     # back into the code before the call, or to the call
        if before and not inside:
            if op not in _JUMP or not call < target <= end:
                return None
            leaves.append(ins["addr"])
    return WritePoints(call, tuple(leaves))


def return_instructions(instructions: list[dict]) -> list[int]:
    return [i["addr"] for i in instructions if _mnemonic(i) in _RETURN]


def _words(ins: dict) -> list[str]:
    words = ins["asm"].split()
    while words and words[0] in _PREFIXES:
        words = words[1:]
    return words


def _mnemonic(ins: dict) -> str:
    words = _words(ins)
    return words[0] if words else ""


def _jump_target(ins: dict) -> int | None:
    words = _words(ins)
    m = _TARGET.fullmatch(words[1]) if len(words) > 1 else None
    return int(m.group(0), 16) if m else None


# A function that keeps its frame pointer begins `push %rbp; mov %rsp,%rbp`
# (after an `endbr64` where the build has CET): from then until its return,
# its caller's %rbp is at 0(%rbp) and its return address at 8(%rbp).
_ENDBR64 = bytes.fromhex("f30f1efa")
_FRAME_SETUP = bytes.fromhex("554889e5")
PROLOGUE_BYTES = len(_ENDBR64) + len(_FRAME_SETUP)


def keeps_frame_pointer(first_bytes: bytes, arch: str) -> bool:
    """Whether a function whose first bytes are `first_bytes` sets up the
    x86-64 frame-pointer chain."""
    if arch != X86_64:
        return False
    if first_bytes.startswith(_ENDBR64):
        first_bytes = first_bytes[len(_ENDBR64):]
    return first_bytes.startswith(_FRAME_SETUP)


_OPTIMISATION = re.compile(r"(?:^|\s)-O(\S*)")


def unoptimised(producer: str | None) -> bool:
    """Whether a compilation unit was compiled without optimisation, from
    its DWARF producer (GCC records its switches there: `GNU C11 12.2.0 ...
    -g -O0 ...`); the last -O wins.  In optimised code gdb shows frames
    the frame-pointer chain does not have (tail calls, from the call-site
    information), so the chain is followed through -O0 code only.  No
    producer, or none that names -O0: False."""
    if not producer:
        return False
    levels = _OPTIMISATION.findall(producer)
    return bool(levels) and levels[-1] == "0"
