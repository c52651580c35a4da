"""The breakpoints a recorder plants.  Each one's stop() records and returns
False: QEMU goes on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gdb

from ..qemu.instructions import WritePoints, calls_to, return_instructions, write_points

if TYPE_CHECKING:
    from .recorder import Recorder

# What a breakpoint reports to Recorder.on_hit: a function's entry, one of
# its return instructions, its finish breakpoint, or that one going out of
# scope (the frame was left without a return, by longjmp or an exit).
ENTRY, RETURN, FINISH, LOST, CALL = "entry", "return", "finish", "lost", "call"
# ... or a return instruction of a function whose entry is recorded (its
# return value goes into the entry's hit)
EXIT = "exit"
# ... or, for a function recorded on its ways through (write_points, no
# entry breakpoint): its call of the writer (the hit, written), or a jump
# that leaves before it (the hit, not written)
WRITE, LEAVE = "write", "leave"


class RecordingBreakpoint(gdb.Breakpoint):
    def __init__(self, function: str, recorder: "Recorder"):
        super().__init__(function, type=gdb.BP_BREAKPOINT, internal=True)
        self.function = function
        self.recorder = recorder
        self.silent = True

    def stop(self):
        return self.recorder.on_hit(self.function, ENTRY)


class ReplyFinish(gdb.FinishBreakpoint):
    """Where no return instruction was found: read the reply when the
    function returns (planted after a real stop at its entry)."""

    def __init__(self, recorder: "Recorder", function: str):
        super().__init__(gdb.newest_frame(), internal=True)
        self.silent = True
        self.recorder = recorder
        self.function = function

    def stop(self):
        ret = self.return_value
        return self.recorder.on_hit(self.function, FINISH,
                                    int(ret) if ret is not None else None)

    def out_of_scope(self):
        self.recorder.on_hit(self.function, LOST)


class InstructionBreakpoint(gdb.Breakpoint):
    """On one instruction of a recorded function: reports `AT` for that
    function, and QEMU goes on."""
    AT = ""

    def __init__(self, address: int, recorder: "Recorder", function: str):
        super().__init__(f"*{address:#x}", type=gdb.BP_BREAKPOINT, internal=True)
        self.silent = True
        self.recorder = recorder
        self.function = function

    def stop(self):
        return self.recorder.on_hit(self.function, self.AT)


class ReturnBreakpoint(InstructionBreakpoint):
    """On a return instruction of a reply function: the reply is filled in,
    the return value is in its register; record the hit with both and go
    on, no real stop."""

    def stop(self):
        return self.recorder.on_hit(self.function, RETURN, return_register())


class ExitBreakpoint(InstructionBreakpoint):
    """On a return instruction of a function recorded at its entry: its
    return value, for the entry's hit."""

    def stop(self):
        return self.recorder.on_hit(self.function, EXIT, return_register())


# Where an int return value is at a return instruction, per architecture.
_RETURN_REGISTER = {"i386:x86-64": "rax", "aarch64": "x0"}


def return_register() -> int | None:
    frame = gdb.newest_frame()
    reg = _RETURN_REGISTER.get(frame.architecture().name())
    if reg is None:
        return None
    value = int(frame.read_register(reg)) & 0xFFFFFFFF      # a C int
    return value - (1 << 32) if value >= 1 << 31 else value


def function_instructions(bp: gdb.Breakpoint) -> list[dict]:
    """The instructions of the function `bp` is on, as gdb disassembles
    them; [] when gdb cannot tell."""
    try:
        block = gdb.block_for_pc(bp.locations[0].address)
        while block is not None and block.function is None:
            block = block.superblock
        if block is None:
            return []
        arch = gdb.selected_inferior().architecture()
        return arch.disassemble(block.start, block.end - 1)
    except (gdb.error, AttributeError, IndexError, RuntimeError):
        return []


class CallSiteBreakpoint(InstructionBreakpoint):
    """On an instruction that calls a given function from the function
    being watched (vhost_user_write calling qemu_chr_fe_write_all): that
    call was made in this invocation."""
    AT = CALL


class WriteBreakpoint(InstructionBreakpoint):
    """On the call of the writer in a function recorded on its ways through:
    the hit, and its message written."""
    AT = WRITE


class LeaveBreakpoint(InstructionBreakpoint):
    """On a jump that leaves that function before the writer's call: the
    hit, its message not written."""
    AT = LEAVE


def call_sites(bp: gdb.Breakpoint, callee: str) -> list[int]:
    """The instructions of the function `bp` is on that call `callee`
    directly, as gdb disassembles them (`call 0x... <callee>`)."""
    return calls_to(function_instructions(bp), callee)


def ways_through(bp: gdb.Breakpoint, callee: str) -> WritePoints | None:
    """The function's call of `callee` and its jumps that leave before it,
    when its instructions show that these are all its ways (write_points)."""
    return write_points(function_instructions(bp), callee,
                        gdb.selected_inferior().architecture().name())


def return_addresses(bp: gdb.Breakpoint) -> list[int]:
    """The return instructions of the function `bp` is on."""
    return return_instructions(function_instructions(bp))


class EndBreakpoint(gdb.Breakpoint):
    def __init__(self, function: str):
        super().__init__(function, type=gdb.BP_BREAKPOINT, internal=True)
        self.silent = True
